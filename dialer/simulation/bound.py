"""The clairvoyant bound: occupancy a dialer that knew every outcome in advance would reach.

Definition (on the same client draws as the modes): walk the sequence in order; non-human
clients (busy, no answer, congestion, machine) cost nothing, since the clairvoyant knows
them and need not hold an agent for them; each human client goes to the agent that frees
first, dialed early enough that it answers the moment that agent frees, but not before the
day starts (so an agent's first call still waits out that client's ring time). Agents then
talk and wrap up back to back; the bound is that busy time, up to the end of the day, over
logged-in agent time. No real dialer can beat it: every real one connects a subset of the
same humans with gaps, and the line limit is ignored here.
"""

from __future__ import annotations

import heapq

from dialer.simulation.model import ClientDraws, Outcome


def bound_occupancy(draws: ClientDraws, agents: int, hours: float) -> float:
    """Occupancy of the clairvoyant dialer over ``hours`` with ``agents`` on ``draws``."""
    if agents < 1 or hours <= 0:
        raise ValueError("bound_occupancy needs agents >= 1 and hours > 0")
    end = hours * 3600.0
    free_at = [0.0] * agents
    heapq.heapify(free_at)
    busy = 0.0
    index = 0
    while free_at[0] < end:
        draw = draws[index]
        index += 1
        if draw.outcome is not Outcome.HUMAN:
            continue
        start = max(heapq.heappop(free_at), draw.result_after)
        finish = start + draw.talk + draw.wrap
        busy += min(finish, end) - min(start, end)
        heapq.heappush(free_at, finish)
    return busy / (agents * end)
