"""Simulated clients: one pre-determined draw per dial, the same sequence for every mode.

The k-th call any mode places reaches the k-th client of the sequence, so modes differ only
in their decisions. Every draw takes exactly four uniforms from ``random.Random(seed)``
whatever the outcome, so changing a probability does not reshuffle the later clients.

The outcome shares are exactly the model's (human 0.30 is 0.30 of dials): a human or a
machine answers before the ring timeout by definition, so its time to answer is drawn
from the answer-time lognormal cut at ``ring_timeout``. 1.7 % of the default lognormal
(mean 11 s, sd 5 s) lies beyond 25 s, so answers come at mean 10.7 s, sd 4.3 s; the
dialer hangs up at 25 s, so nobody answers later.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields
from enum import StrEnum
from statistics import NormalDist

_STD_NORMAL = NormalDist()


class Outcome(StrEnum):
    HUMAN = "human"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    MACHINE = "machine"


_DAY = 86400.0
_MIN_RESOLVE = 0.1


@dataclass(frozen=True)
class ClientModel:
    """What happens to a dial, in seconds; the defaults are the issue's client model."""

    p_human: float = 0.30
    p_busy: float = 0.10
    p_no_answer: float = 0.45
    p_congestion: float = 0.05
    p_machine: float = 0.10
    busy_after: float = 3.0
    congestion_after: float = 1.0
    ring_timeout: float = 25.0
    machine_detect: float = 3.0
    answer_mean: float = 11.0
    answer_sd: float = 5.0
    talk_mean: float = 120.0
    talk_sd: float = 90.0
    wrap_mean: float = 15.0
    wrap_sd: float = 10.0
    lines_per_agent: int = 3
    abandon_after: float = 2.0
    preview_seconds: float = 10.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ValueError(f"client model: {f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"client model: {f.name} must not be negative, got {value}")
        for name in ("answer_mean", "talk_mean", "wrap_mean", "ring_timeout"):
            if getattr(self, name) < _MIN_RESOLVE:
                raise ValueError(f"client model: {name} must be at least {_MIN_RESOLVE} s, got {getattr(self, name)}")
        # Durations and spreads past a day mean nothing for a campaign day and overflow the lognormal fits.
        for f in fields(self):
            if f.name != "lines_per_agent" and not f.name.startswith("p_") and getattr(self, f.name) > _DAY:
                raise ValueError(f"client model: {f.name} must be at most {_DAY:.0f} s (a day), got {getattr(self, f.name)}")
        for name in ("busy_after", "congestion_after"):
            # An outcome at the very instant of the dial would have the next dial placed at that instant, forever.
            if getattr(self, name) < _MIN_RESOLVE:
                raise ValueError(f"client model: {name} must be at least {_MIN_RESOLVE} s, got {getattr(self, name)}")
        if self.answer_mean >= self.ring_timeout:
            raise ValueError(f"client model: answer_mean ({self.answer_mean}) must be below ring_timeout "
                             f"({self.ring_timeout}): the dialer hangs up before such clients answer")
        if self.lines_per_agent > 50:
            raise ValueError(f"client model: lines_per_agent must be at most 50, got {self.lines_per_agent}")
        if self.lines_per_agent < 1:
            raise ValueError("client model: lines_per_agent must be at least 1")
        total = self.p_human + self.p_busy + self.p_no_answer + self.p_congestion + self.p_machine
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"client model: outcome probabilities must sum to 1, they sum to {total:.6f}")


@dataclass(frozen=True, slots=True)
class ClientDraw:
    """One client: the outcome, seconds from dial to that outcome, and talk/wrap-up if human."""

    outcome: Outcome
    result_after: float
    talk: float = 0.0
    wrap: float = 0.0


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with this mean and standard deviation."""
    sigma = math.sqrt(math.log1p((sd / mean) ** 2)) if sd > 0 else 0.0
    return math.log(mean) - sigma**2 / 2, sigma


class ClientDraws:
    """The client sequence of one seed, drawn lazily and kept: ``draws[k]`` is the k-th dial."""

    def __init__(self, seed: int, model: ClientModel) -> None:
        self.model = model
        self._rng = random.Random(seed)
        self._draws: list[ClientDraw] = []
        self._answer = lognormal_params(model.answer_mean, model.answer_sd)
        self._talk = lognormal_params(model.talk_mean, model.talk_sd)
        self._wrap = lognormal_params(model.wrap_mean, model.wrap_sd)
        self._answer_by_timeout = _lognormal_cdf(self._answer, model.ring_timeout)

    def __getitem__(self, index: int) -> ClientDraw:
        while len(self._draws) <= index:
            self._draws.append(self._next())
        return self._draws[index]

    def drawn(self) -> int:
        """How many clients have been drawn so far."""
        return len(self._draws)

    def _next(self) -> ClientDraw:
        m = self.model
        u = self._rng.random()
        answer = _lognormal(self._answer, self._rng.random() * self._answer_by_timeout)
        talk = _lognormal(self._talk, self._rng.random())
        wrap = _lognormal(self._wrap, self._rng.random())
        edges = (
            (m.p_human, Outcome.HUMAN),
            (m.p_busy, Outcome.BUSY),
            (m.p_no_answer, Outcome.NO_ANSWER),
            (m.p_congestion, Outcome.CONGESTION),
        )
        acc = 0.0
        outcome = Outcome.MACHINE
        for p, kind in edges:
            acc += p
            if u < acc:
                outcome = kind
                break
        if outcome is Outcome.HUMAN:
            return ClientDraw(outcome, answer, talk, wrap)
        if outcome is Outcome.MACHINE:
            return ClientDraw(outcome, answer + m.machine_detect)
        if outcome is Outcome.BUSY:
            return ClientDraw(outcome, m.busy_after)
        if outcome is Outcome.CONGESTION:
            return ClientDraw(outcome, m.congestion_after)
        return ClientDraw(outcome, m.ring_timeout)


def _lognormal(params: tuple[float, float], u: float) -> float:
    mu, sigma = params
    u = min(max(u, 1e-12), 1 - 1e-12)
    return math.exp(mu + sigma * _STD_NORMAL.inv_cdf(u))


def _lognormal_cdf(params: tuple[float, float], x: float) -> float:
    mu, sigma = params
    if sigma == 0:
        return 1.0 if x > math.exp(mu) else 0.0
    return _STD_NORMAL.cdf((math.log(x) - mu) / sigma)
