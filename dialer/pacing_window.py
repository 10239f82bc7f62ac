"""The campaign facts the pacing needs, accumulated: plain events in, a PacingStats out.

:class:`PacingWindow` keeps no clock and does no I/O: its caller (the simulator's engine
and the live campaign runner alike) tells it what happened, in order, and asks for a
snapshot with the current time and the agents and calls as they are now. Both callers
build the snapshot the same way, so the pacing sees the same thing in both.

What it keeps: the day's counters (dials, human answers, abandons); the rolling abandon
window (the last ``rate_window`` human answers and the abandons among them); the outcome
window (the last ``outcome_window`` resolved dials: how many were human, and how long the
non-human ones took to resolve); and the last ``duration_window`` answer, talk and
wrap-up times, as mean and standard deviation.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterable

from dialer.pacing import Estimate, PacingStats

# Outcomes of a dial, as the call tracker reports them. Only "human" is a live answer;
# a machine that is detected and dropped is not one (and never an abandon).
HUMAN = "human"
MACHINE = "machine"
OUTCOMES = (HUMAN, "busy", "no_answer", "congestion", MACHINE, "failed")


def amd_misread(machines: int, share: float) -> int:
    """People estimated among ``machines`` AMD dropped: ``share`` of them, rounded half up.

    FTC and Ofcom count such a person as an abandoned call; the day's rate is held and
    shown with them added to the answers and the abandons.
    """
    return math.floor(machines * share + 0.5) if share > 0 else 0


class _RollingMoments:
    """Mean and standard deviation of the last ``size`` samples."""

    __slots__ = ("_adds", "_samples", "_sum", "_sumsq")

    def __init__(self, size: int) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._sum = self._sumsq = 0.0
        self._adds = 0

    def add(self, x: float) -> None:
        if len(self._samples) == self._samples.maxlen:
            old = self._samples[0]
            self._sum -= old
            self._sumsq -= old * old
        self._samples.append(x)
        self._sum += x
        self._sumsq += x * x
        self._adds += 1
        if self._adds % 4096 == 0:  # re-add from scratch now and then: no drift over a long day
            self._sum = math.fsum(self._samples)
            self._sumsq = math.fsum(s * s for s in self._samples)

    def estimate(self) -> Estimate:
        n = len(self._samples)
        if n == 0:
            return Estimate(0.0, 0.0, 0)
        mean = self._sum / n
        var = (self._sumsq - n * mean * mean) / (n - 1) if n > 1 else 0.0
        return Estimate(mean, math.sqrt(max(var, 0.0)), n)


class PacingWindow:
    """Facts of one campaign day in, :class:`PacingStats` snapshots out (no clock, no I/O).

    Tell it, in the order they happen: ``dial_placed()`` per call placed;
    ``dial_resolved(outcome, seconds)`` when a call's outcome is known (``seconds`` from
    dialing to the answer, busy, congestion, machine detection or ring timeout);
    ``abandoned()`` when an answered human gets no agent in time; ``talk_ended(seconds)``
    and ``wrap_ended(seconds)`` when an agent ends a talk or a wrap-up. ``cap``,
    ``lines_per_agent``, ``abandon_after`` and ``amd_misread_share`` are the campaign's
    limits, and may be changed between snapshots; the snapshot's day figures count the
    people estimated among the dropped machines (:func:`amd_misread`) as answered and
    abandoned.
    """

    def __init__(
        self,
        cap: float = 0.03,
        lines_per_agent: int = 3,
        abandon_after: float = 2.0,
        outcome_window: int = 2000,
        duration_window: int = 400,
        rate_window: int = 2000,
        amd_misread_share: float = 0.0,
    ) -> None:
        for name, value in (("outcome_window", outcome_window), ("duration_window", duration_window),
                            ("rate_window", rate_window)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.cap = cap
        self.lines_per_agent = lines_per_agent
        self.abandon_after = abandon_after
        self.amd_misread_share = amd_misread_share
        self.rate_window = rate_window
        self.day_dials = self.day_answered = self.day_abandoned = 0
        self.day_machines = 0  # answering machines dropped today
        self._outcomes: deque[tuple[bool, float]] = deque()  # (human?, seconds to resolve), oldest first
        self._outcome_window = outcome_window
        self._humans = 0
        self._non_human: list[float] = []  # seconds to resolve of the non-human outcomes in the window, sorted
        self._answer = _RollingMoments(duration_window)
        self._talk = _RollingMoments(duration_window)
        self._wrap = _RollingMoments(duration_window)
        self._rate_events: deque[bool] = deque()  # True = a human answer, False = an abandon
        self._window_answered = self._window_abandoned = 0
        self._failure_cache: tuple[float, ...] | None = ()

    def dial_placed(self) -> None:
        """One call placed."""
        self.day_dials += 1

    def dial_resolved(self, outcome: str, seconds: float) -> None:
        """A placed call's outcome is known, ``seconds`` after it was dialed."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        if not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        human = outcome == HUMAN
        if len(self._outcomes) == self._outcome_window:
            was_human, took = self._outcomes.popleft()
            if was_human:
                self._humans -= 1
            else:
                del self._non_human[bisect.bisect_left(self._non_human, took)]
                self._failure_cache = None
        self._outcomes.append((human, seconds))
        if human:
            self._humans += 1
        else:
            bisect.insort(self._non_human, seconds)
            self._failure_cache = None
            self.day_machines += outcome == MACHINE
        if human:
            self.day_answered += 1
            self._answer.add(seconds)
            self._rate_events.append(True)
            self._window_answered += 1
            while self._window_answered > self.rate_window:
                self._window_answered -= 1
                self._rate_events.popleft()  # the oldest answer
                while self._rate_events and not self._rate_events[0]:
                    self._rate_events.popleft()  # and the abandons that came with it
                    self._window_abandoned -= 1

    def abandoned(self) -> None:
        """An answered human got no agent within ``abandon_after`` seconds."""
        self.day_abandoned += 1
        self._rate_events.append(False)
        self._window_abandoned += 1

    def talk_ended(self, seconds: float) -> None:
        """An agent ended a talk of ``seconds``."""
        self._talk.add(seconds)

    def wrap_ended(self, seconds: float) -> None:
        """An agent ended a wrap-up of ``seconds``."""
        self._wrap.add(seconds)

    def snapshot(
        self,
        now: float,
        agents: Iterable[tuple[str, float]],
        ringing: Iterable[float] = (),
        waiting: Iterable[float] = (),
    ) -> PacingStats:
        """The pacing snapshot at ``now`` (seconds since the day started).

        ``agents``: ``(state, seconds in it)`` per logged-in agent, state "free", "talk",
        "wrap" or "paused"; ``ringing``: seconds each unresolved call has rung;
        ``waiting``: seconds each answered human has waited for an agent.
        """
        if self._failure_cache is None:
            self._failure_cache = tuple(self._non_human)
        misread = amd_misread(self.day_machines, self.amd_misread_share)
        return PacingStats(
            time=now,
            agents=tuple(agents),
            ringing=tuple(ringing),
            waiting=tuple(waiting),
            day_dials=self.day_dials,
            day_answered=self.day_answered + misread,
            day_abandoned=self.day_abandoned + misread,
            window_answered=self._window_answered,
            window_abandoned=self._window_abandoned,
            recent_dials=len(self._outcomes),
            recent_humans=self._humans,
            answer_time=self._answer.estimate(),
            talk_time=self._talk.estimate(),
            wrap_time=self._wrap.estimate(),
            non_human_durations=self._failure_cache,
            cap=self.cap,
            lines_per_agent=self.lines_per_agent,
            abandon_after=self.abandon_after,
        )
