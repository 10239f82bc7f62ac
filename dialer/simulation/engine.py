"""Discrete-event simulation of one campaign day: a heap of timed events, agents and lines.

The engine owns the world (agents, ringing calls, humans waiting for an agent) and the
measurements a real dialer would have (outcomes, durations, abandons); a controller
(dialer/simulation/modes.py) sees only the :class:`dialer.pacing.PacingStats` snapshot and
says how many calls to place. Decisions are asked after every event and every second.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from dialer.pacing import BusyAgent, Estimate, PacingStats
from dialer.simulation.model import ClientDraws, Outcome

_TICK = 1.0
_OUTCOME_WINDOW = 300  # completed dials the answer rate is measured over
_FAILURE_SAMPLES = 200

# Event kinds, ordered so that at equal times agents free up before calls are resolved.
_WRAP_END, _PREVIEW_END, _TALK_END, _RESULT, _ABANDON, _TICK_EVENT = range(6)


class Controller(Protocol):
    """A dialing mode: calls to place now for a snapshot; ``preview_seconds`` > 0 for preview."""

    preview_seconds: float

    def decide(self, stats: PacingStats, now: float) -> int: ...


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


class _Running:
    """Mean and standard deviation, updated one sample at a time (Welford)."""

    __slots__ = ("m2", "mean", "n")

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def estimate(self) -> Estimate:
        sd = math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0
        return Estimate(self.mean, sd, self.n)


def run_day(
    draws: ClientDraws,
    agents: int,
    hours: float,
    controller: Controller,
    cap: float = 0.03,
    window_seconds: float = 1800.0,
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

    phase = ["free"] * agents
    since = [0.0] * agents
    talk_of = [0.0] * agents
    wrap_of = [0.0] * agents
    free: list[int] = []
    ringing: dict[int, float] = {}
    waiting: deque[int] = deque()
    waiting_set: set[int] = set()
    events: list[tuple[float, int, int, int]] = []
    seq = 0

    talk_est, wrap_est, answer_est = _Running(), _Running(), _Running()
    outcomes: deque[bool] = deque()
    recent_humans = 0
    failures: deque[float] = deque(maxlen=_FAILURE_SAMPLES)
    win_answered: deque[float] = deque()
    win_abandoned: deque[float] = deque()
    dials = answered = connected = abandoned = machines = max_lines = 0
    busy_seconds = talk_seconds = 0.0

    def push(at: float, kind: int, who: int) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, kind, seq, who))

    def connect(agent: int, call: int, now: float) -> None:
        nonlocal connected
        draw = draws[call]
        connected += 1
        phase[agent], since[agent] = "talk", now
        talk_of[agent], wrap_of[agent] = draw.talk, draw.wrap
        push(now + draw.talk, _TALK_END, agent)

    def available(agent: int, now: float) -> None:
        if waiting:
            call = waiting.popleft()
            waiting_set.discard(call)
            connect(agent, call, now)
        else:
            phase[agent], since[agent] = "free", now
            free.append(agent)

    def done_with_call(agent: int, now: float) -> None:
        if preview > 0:
            phase[agent], since[agent] = "preview", now
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
        elif kind == _RESULT:
            started = ringing.pop(who)
            draw = draws[who]
            human = draw.outcome is Outcome.HUMAN
            outcomes.append(human)
            recent_humans += human
            if len(outcomes) > _OUTCOME_WINDOW:
                recent_humans -= outcomes.popleft()
            if human:
                answered += 1
                win_answered.append(now)
                answer_est.add(now - started)
                if free:
                    connect(free.pop(), who, now)
                else:
                    waiting.append(who)
                    waiting_set.add(who)
                    push(now + model.abandon_after, _ABANDON, who)
            else:
                machines += draw.outcome is Outcome.MACHINE
                failures.append(now - started)
        elif kind == _ABANDON:
            if who in waiting_set:
                waiting_set.discard(who)
                waiting.remove(who)
                abandoned += 1
                win_abandoned.append(now)
        elif kind == _TALK_END:
            busy_seconds += talk_of[who]
            talk_seconds += talk_of[who]
            talk_est.add(talk_of[who])
            phase[who], since[who] = "wrap", now
            push(now + wrap_of[who], _WRAP_END, who)
        elif kind == _WRAP_END:
            busy_seconds += wrap_of[who]
            wrap_est.add(wrap_of[who])
            done_with_call(who, now)
        elif kind == _PREVIEW_END:
            available(who, now)

        while win_answered and win_answered[0] < now - window_seconds:
            win_answered.popleft()
        while win_abandoned and win_abandoned[0] < now - window_seconds:
            win_abandoned.popleft()

        # Several events at one instant: decide once, after the last of them.
        if events and events[0][0] == now:
            continue
        stats = PacingStats(
            agents_logged_in=agents,
            agents_free=len(free),
            busy_agents=tuple(
                BusyAgent(phase[a], now - since[a]) for a in range(agents) if phase[a] in ("talk", "wrap")
            ),
            ringing=tuple(now - t for t in ringing.values()),
            recent_dials=len(outcomes),
            recent_humans=recent_humans,
            answer_time=answer_est.estimate(),
            talk_time=talk_est.estimate(),
            wrap_time=wrap_est.estimate(),
            non_human_durations=tuple(failures),
            window_answered=len(win_answered),
            window_abandoned=len(win_abandoned),
            day_answered=answered,
            day_abandoned=abandoned,
            cap=cap,
            lines_per_agent=model.lines_per_agent,
            abandon_after=model.abandon_after,
        )
        wanted = min(controller.decide(stats, now), lines_cap - len(ringing))
        for _ in range(max(0, wanted)):
            call = dials
            dials += 1
            ringing[call] = now
            push(now + draws[call].result_after, _RESULT, call)
        max_lines = max(max_lines, len(ringing))

    # Phases still running at the end count up to the end only.
    for agent in range(agents):
        if phase[agent] == "talk":
            busy_seconds += end - since[agent]
            talk_seconds += end - since[agent]
        elif phase[agent] == "wrap":
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
    )
