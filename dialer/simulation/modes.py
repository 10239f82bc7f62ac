"""Dialing modes the simulator compares; each turns a pacing snapshot into calls to place."""

from __future__ import annotations

import math

from dialer.pacing import FREE, PAUSED, TALK, PacingConfig, PacingStats, decide
from dialer.simulation.engine import Order

MODES = ("preview", "progressive", "ratio", "adaptive-baseline", "predictive")


def _not_ringing_for(stats: PacingStats, lines: int) -> int:
    """``lines`` less the calls already placed and not yet with an agent."""
    return max(0, lines - len(stats.ringing) - len(stats.waiting))


class Progressive:
    """One call per free agent: never more calls ringing than agents waiting, so no abandons."""

    preview_seconds = 0.0

    def decide(self, stats: PacingStats) -> int:
        return _not_ringing_for(stats, stats.count(FREE))


class Preview(Progressive):
    """The agent reads the client card first (``preview_seconds``), then one call is placed."""

    def __init__(self, preview_seconds: float) -> None:
        self.preview_seconds = preview_seconds


class FixedRatio:
    """``ratio`` lines per free agent (a power dialer), less the calls already ringing."""

    preview_seconds = 0.0

    def __init__(self, ratio: float) -> None:
        if not (ratio >= 1.0 and math.isfinite(ratio)):
            raise ValueError(f"ratio must be a number >= 1, got {ratio}")
        self.ratio = ratio

    def decide(self, stats: PacingStats) -> int:
        return _not_ringing_for(stats, math.floor(stats.count(FREE) * self.ratio + 1e-9))


class AdaptiveTapered:
    """A VICIdial ADAPT_TAPERED-like controller, the yardstick for ``predictive``.

    Written from VICIdial's public campaign documentation (Admin manual, "Dial Method":
    "ADAPT_TAPERED allows for running over the dropped percentage in the first half of the
    shift -as defined by call_time selected for campaign- and gets more strict as the shift
    goes on"; "Auto Dial Level"; "Adaptive Maximum Dial Level"; "Adaptive Intensity
    Modifier"; "Adaptive DL Diff Target", and the adapt process AST_VDadapt.pl that
    recalculates the dial level every 15 seconds). Our reading: every 15 s the dial level
    steps down when the day's drop rate is above the allowed rate and up when agents are
    waiting; the allowed rate tapers from 1.5x the target at the start of the shift to the
    target at half-shift and stays there. Lines wanted = agents not in wrap-up x dial level,
    less the calls already in progress (ringing and talking), as VICIdial counts them.
    """

    preview_seconds = 0.0

    def __init__(
        self,
        shift_seconds: float,
        drop_target: float = 0.03,
        max_level: float = 3.0,
        interval: float = 15.0,
        step: float = 0.1,
    ) -> None:
        self.shift_seconds = shift_seconds
        self.drop_target = drop_target
        self.max_level = max_level
        self.interval = interval
        self.step = step
        self.level = 1.0
        self._next_adjust = interval

    def allowed_drop(self, now: float) -> float:
        """The drop rate tolerated at ``now``: over target early in the shift, the target later."""
        half_left = max(0.0, 1.0 - 2.0 * now / self.shift_seconds)
        return self.drop_target * (1.0 + 0.5 * half_left)

    def decide(self, stats: PacingStats) -> int:
        now = stats.time
        free = stats.count(FREE)
        if now >= self._next_adjust:
            self._next_adjust = now + self.interval
            drop = stats.day_abandoned / stats.day_answered if stats.day_answered else 0.0
            allowed = self.allowed_drop(now)
            if drop > allowed:
                # The further over, the harder the step down (the intensity modifier's role).
                self.level = max(1.0, self.level - self.step * (1.0 + (drop - allowed) / allowed))
            elif free > 0:
                logged_in = len(stats.agents) - stats.count(PAUSED)
                self.level = min(self.max_level, self.level + self.step * free / logged_in)
        talking = stats.count(TALK)
        active_agents = free + talking
        wanted = math.floor(active_agents * self.level + 1e-9) - len(stats.ringing) - len(stats.waiting) - talking
        return max(0, wanted)


class Predictive:
    """Ours: dialer.pacing.decide on every snapshot."""

    preview_seconds = 0.0

    def __init__(self, config: PacingConfig | None = None) -> None:
        self.config = config or PacingConfig()

    def decide(self, stats: PacingStats) -> Order:
        decision = decide(stats, self.config)
        return Order(decision.dials, decision.hang_up)


def make_controller(
    mode: str, shift_seconds: float, ratio: float = 2.0, cap: float = 0.03, preview_seconds: float = 10.0
) -> Progressive | Preview | FixedRatio | AdaptiveTapered | Predictive:
    """The controller for ``mode`` (one of MODES)."""
    if mode == "preview":
        return Preview(preview_seconds)
    if mode == "progressive":
        return Progressive()
    if mode == "ratio":
        return FixedRatio(ratio)
    if mode == "adaptive-baseline":
        return AdaptiveTapered(shift_seconds, drop_target=cap)
    if mode == "predictive":
        return Predictive()
    raise ValueError(f"unknown dialing mode {mode!r}; expected one of {', '.join(MODES)}")
