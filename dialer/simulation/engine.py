"""Discrete-event simulation of one campaign day: a heap of timed events, agents and lines.

The engine owns the world (agents, ringing calls, humans waiting for an agent); what a
real dialer would measure goes into a :class:`dialer.pacing_window.PacingWindow`, fed
with the same facts the live campaign runner feeds it, and a controller
(dialer/simulation/modes.py) sees only the snapshot that window builds and says how many
calls to place. Decisions are asked after every instant with events, and every second.

Lines: at most ``lines_per_agent`` calls in progress (ringing, answered and waiting, or
talking) per agent; an agent in wrap-up holds no line.

A controller may also hang up calls still ringing (an :class:`Order`): the longest-ringing
first, and only those that rang at least ``MIN_RING_SECONDS``. Such a call ends unanswered
there: its client, whatever they would have done, is a no answer.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from dialer.pacing import FREE, MIN_RING_SECONDS, PAUSED, TALK, WRAP, PacingStats
from dialer.pacing_window import PacingWindow
from dialer.simulation.model import ClientDraws, Outcome

_TICK = 1.0

# Event kinds, ordered so that at equal times agents free up before calls are resolved.
_WRAP_END, _PREVIEW_END, _TALK_END, _RESULT, _ABANDON, _TICK_EVENT = range(6)


class Order(NamedTuple):
    """Calls to place now, and how many of the longest-ringing calls to hang up first."""

    dials: int
    hang_up: int = 0


class Controller(Protocol):
    """A dialing mode: calls to place now for a snapshot; ``preview_seconds`` > 0 for preview."""

    preview_seconds: float

    def decide(self, stats: PacingStats) -> int | Order: ...


@dataclass(frozen=True)
class DayFigures:
    """What one simulated day measured."""

    dials: int
    answered: int  # human-answered: connected + abandoned
    connected: int
    abandoned: int
    machines: int
    occupancy: float
    abandon_rate: float
    talk_minutes_per_agent_hour: float
    max_lines: int
    hung_up: int = 0  # calls the dialer hung up while they rang


def run_day(
    draws: ClientDraws,
    agents: int,
    hours: float,
    controller: Controller,
    cap: float = 0.03,
) -> DayFigures:
    """Simulate ``hours`` of a campaign with ``agents`` logged in; dial the draws in order."""
    if agents < 1:
        raise ValueError(f"agents must be at least 1, got {agents}")
    if not (hours > 0 and math.isfinite(hours)):
        raise ValueError(f"hours must be a positive number, got {hours}")
    model = draws.model
    end = hours * 3600.0
    preview = controller.preview_seconds
    lines_cap = agents * model.lines_per_agent
    window = PacingWindow(cap=cap, lines_per_agent=model.lines_per_agent, abandon_after=model.abandon_after)

    # An agent reading a preview card is logged in but takes no call: "paused" to the pacing.
    phase = [FREE] * agents
    since = [0.0] * agents
    talk_of = [0.0] * agents
    wrap_of = [0.0] * agents
    free: list[int] = []
    ringing: dict[int, float] = {}
    waiting: dict[int, float] = {}  # call -> answered at, in answer order
    events: list[tuple[float, int, int, int]] = []
    seq = 0
    talking = 0

    dials = answered = connected = abandoned = machines = max_lines = hung_up = 0
    hung_up_calls: set[int] = set()
    busy_seconds = talk_seconds = 0.0

    def push(at: float, kind: int, who: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, kind, seq, who))

    def connect(agent: int, call: int, now: float) -> None:
        nonlocal connected, talking
        draw = draws[call]
        connected += 1
        talking += 1
        phase[agent], since[agent] = TALK, now
        talk_of[agent], wrap_of[agent] = draw.talk, draw.wrap
        push(now + draw.talk, _TALK_END, agent)

    def available(agent: int, now: float) -> None:
        if waiting:
            call = next(iter(waiting))
            del waiting[call]
            connect(agent, call, now)
        else:
            phase[agent], since[agent] = FREE, now
            free.append(agent)

    def done_with_call(agent: int, now: float) -> None:
        if preview > 0:
            phase[agent], since[agent] = PAUSED, now
            push(now + preview, _PREVIEW_END, agent)
        else:
            available(agent, now)

    for agent in range(agents):
        done_with_call(agent, 0.0)
    push(0.0, _TICK_EVENT, -1)

    while events and events[0][0] <= end:
        now, kind, _, who = heapq.heappop(events)
        if kind == _TICK_EVENT:
            push(now + _TICK, _TICK_EVENT, -1)
        elif kind == _RESULT and who in hung_up_calls:
            hung_up_calls.discard(who)
        elif kind == _RESULT:
            started = ringing.pop(who)
            draw = draws[who]
            window.dial_resolved(draw.outcome.value, now - started)
            if draw.outcome is Outcome.HUMAN:
                answered += 1
                if free:
                    connect(free.pop(), who, now)
                else:
                    waiting[who] = now
                    push(now + model.abandon_after, _ABANDON, who)
            else:
                machines += draw.outcome is Outcome.MACHINE
        elif kind == _ABANDON:
            if who in waiting:
                del waiting[who]
                abandoned += 1
                window.abandoned()
        elif kind == _TALK_END:
            talking -= 1
            busy_seconds += talk_of[who]
            talk_seconds += talk_of[who]
            window.talk_ended(talk_of[who])
            phase[who], since[who] = WRAP, now
            push(now + wrap_of[who], _WRAP_END, who)
        elif kind == _WRAP_END:
            busy_seconds += wrap_of[who]
            window.wrap_ended(wrap_of[who])
            done_with_call(who, now)
        elif kind == _PREVIEW_END:
            available(who, now)

        # Several events at one instant: decide once, after the last of them.
        if events and events[0][0] == now:
            continue
        stats = window.snapshot(
            now,
            agents=[(phase[a], now - since[a]) for a in range(agents)],
            ringing=[now - t for t in ringing.values()],
            waiting=[now - t for t in waiting.values()],
        )
        order = controller.decide(stats)
        wanted, hang_up = (order, 0) if isinstance(order, int) else order
        if hang_up > 0:
            # The oldest first; never one that has rung less than the law's minimum.
            old = sorted((t, call) for call, t in ringing.items() if now - t >= MIN_RING_SECONDS)
            for started, call in old[:hang_up]:
                del ringing[call]
                hung_up_calls.add(call)
                hung_up += 1
                window.dial_resolved(Outcome.NO_ANSWER.value, now - started)
        in_progress = len(ringing) + len(waiting) + talking
        wanted = min(wanted, lines_cap - in_progress)
        for _ in range(max(0, wanted)):
            call = dials
            dials += 1
            window.dial_placed()
            ringing[call] = now
            push(now + draws[call].result_after, _RESULT, call)
        max_lines = max(max_lines, len(ringing) + len(waiting) + talking)
    # Phases still running at the end count up to the end only.
    for agent in range(agents):
        if phase[agent] == TALK:
            busy_seconds += end - since[agent]
            talk_seconds += end - since[agent]
        elif phase[agent] == WRAP:
            busy_seconds += end - since[agent]

    agent_seconds = agents * end
    return DayFigures(
        dials=dials,
        answered=answered,
        connected=connected,
        abandoned=abandoned,
        machines=machines,
        occupancy=busy_seconds / agent_seconds,
        abandon_rate=abandoned / answered if answered else 0.0,
        talk_minutes_per_agent_hour=(talk_seconds / 60.0) / (agents * hours),
        max_lines=max_lines,
        hung_up=hung_up,
    )
