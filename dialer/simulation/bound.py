"""The clairvoyant bound: occupancy a dialer that knew every outcome in advance would reach.

It dials the same client sequence as the modes, in the same order (the k-th dial reaches
the k-th client), and keeps the same rules: a dial rings for its real time to answer or to
its busy, congestion, machine or no-answer outcome; at most ``lines_per_agent`` calls per
agent are in progress (ringing, or answered and talking); a human must reach an agent
within ``abandon_after`` seconds. What it knows is the future: each client's outcome, ring
time, talk and wrap-up. It never abandons.

Construction, one client at a time in sequence order, with dial times never going back:
  * a non-human client is dialed as soon as a line is free: it only costs line time;
  * a human client goes to the agent that frees first, at ``F``; it is dialed at
    ``F - answer - abandon_after`` (it answers and waits at most the allowed seconds, so the
    agent takes it the moment it frees), or later if the previous dial was later or no line
    was free; if it then answers after ``F``, the agent waits for it;
  * the agent talks and wraps up that client; occupancy is that busy time, up to the end
    of the day, over logged-in agent time.
It is a schedule a clairvoyant dialer can run, so it is what foresight buys on these draws,
not a proof that no schedule does better (choosing which agent gets which client is a hard
scheduling problem); the tests check it stays above every mode.
"""

from __future__ import annotations

import heapq

from dialer.simulation.model import ClientDraws, Outcome


def bound_occupancy(draws: ClientDraws, agents: int, hours: float) -> float:
    """Occupancy of the clairvoyant dialer over ``hours`` with ``agents`` on ``draws``."""
    if agents < 1 or hours <= 0:
        raise ValueError("bound_occupancy needs agents >= 1 and hours > 0")
    model = draws.model
    end = hours * 3600.0
    grace = model.abandon_after
    lines = agents * model.lines_per_agent
    free_at = [0.0] * agents  # when each agent is next free (a heap)
    released: list[float] = []  # when each line in use is released (a heap)
    cursor = 0.0  # the last dial's time: dials go out in sequence order
    busy = 0.0
    index = 0
    while cursor < end:
        draw = draws[index]
        index += 1
        human = draw.outcome is Outcome.HUMAN
        at = max(cursor, free_at[0] - draw.result_after - grace) if human else cursor
        while released and released[0] <= at:
            heapq.heappop(released)
        if len(released) >= lines:
            at = heapq.heappop(released)  # wait for the first line to free
            while released and released[0] <= at:
                heapq.heappop(released)
        cursor = at
        if at >= end:
            break
        if not human:
            heapq.heappush(released, at + draw.result_after)
            continue
        start = max(heapq.heappop(free_at), at + draw.result_after)
        finish = start + draw.talk + draw.wrap
        busy += min(finish, end) - min(start, end)
        heapq.heappush(free_at, finish)
        heapq.heappush(released, start + draw.talk)  # the line is held until the talk ends
    return busy / (agents * end)
