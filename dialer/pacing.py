"""Predictive pacing: one campaign snapshot in, how many calls to place now out.

Pure: ``decide(stats, config)`` reads a :class:`PacingStats` snapshot and returns a
:class:`PacingDecision`; no clock, no I/O, no state between calls. The caller re-asks every
second and after every call or agent event. Snapshots are built by
:class:`dialer.pacing_window.PacingWindow`, the same way in the simulator and in the live
campaign runner.

What it estimates
  * answer rate ``p``: human answers among the recently resolved dials;
  * time to a human answer, talk and wrap-up: lognormals fitted (method of moments) to
    the measured mean and standard deviation;
  * agents about to free up: an agent ``e`` s into wrap-up frees within ``h`` with
    ``P(W <= e+h | W > e)``; an agent ``e`` s into a talk must end it and then wrap up:
    ``hazard_T(e) * integral_0^h F_W``;
  * humans still to come from calls ringing now: a call ringing for ``r`` s is a human
    with ``p*S_A(r) / (p*S_A(r) + (1-p)*Q(r))``, ``S_A`` the answer-time survival and ``Q``
    the share of recent non-human outcomes still unresolved after ``r`` s.

How it chooses
  :class:`_Forecast` cuts the next ~20 s at answer-time quantiles; humans answered by
  ``t`` less agents free by ``t + 2 s`` moves slice by slice as a normal random walk, and
  the expected abandons are how far it rises above zero at its highest (Clark's moments
  for the maximum of correlated normals). The n-th new call is placed if the abandons it
  adds, per human it brings, are at most ``theta``. Never fewer calls than progressive
  (``free - ringing - waiting``: those cannot abandon), never more calls in progress
  (ringing, waiting, talking) than ``lines_per_agent`` per available agent.

Hanging up calls that rang long: with no call to add, the
longest-ringing calls that rang the legal minimum (``MIN_RING_SECONDS``) are hung up while
each brings more than ``hang_up_factor * theta`` abandons per human it may bring.

How it holds the cap (FTC 16 CFR 310.4(b)(4)(i) and Ofcom: 3 % of live answered calls)
  ``theta = theta0 * exp(gain * (1 - rate/aim))``, ``rate`` the day's abandons over human
  answers shrunk towards the cap by ``prior_answered`` pseudo-answers (the morning starts
  cautious): integral control that settles the day near ``aim`` (a share of the cap).
  While the rolling window (the last N human answers) runs above the cap, ``theta`` is cut
  further; over the day's first ``ramp_answers_per_agent`` answers per agent it ramps up
  from 0. Hard stop: with less than ``guard_abandons`` abandon of room left under the cap
  today, the dialer is progressive (which cannot abandon); approaching it, ``theta`` is
  cut in proportion to the room left (the soft guard), so a large team slows down rather
  than stops.

Small teams (1-5 agents): the same forecast (its normal approximation is coarse there and
errs cautious). The room is counted on at least ``room_floor_answers_per_agent`` answers
per agent (at most ``room_floor_answers``), so the first abandons may come before the 34th
answer, and the day is back under the cap by the 100th; past the floor the dialer is
progressive whenever one more abandon would breach the cap.
Cold start, any team: progressive until ``min_dials`` dials are resolved and
``min_samples`` answers, talks and wrap-ups are measured; in the morning, while the talks
in progress contradict the measured talk time (biased short: only short talks have ended),
talking agents are not counted on to free up, nor while fewer talks have ended than a
quarter of those in progress (a big team that started together). See docs/dialer_pacing.md.
"""

from __future__ import annotations

import bisect
import functools
import math
from dataclasses import dataclass, field
from statistics import NormalDist

_STD_NORMAL = NormalDist()
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

FREE, TALK, WRAP, PAUSED = "free", "talk", "wrap", "paused"
# FTC 16 CFR 310.4(b)(4)(iii) and Ofcom's statement on persistent misuse: an unanswered call
# rings at least 15 seconds before the caller hangs up.
MIN_RING_SECONDS = 15.0
AGENT_STATES = (FREE, TALK, WRAP, PAUSED)
_STATE_SET = frozenset(AGENT_STATES)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A measured duration: mean and standard deviation in seconds, and the sample count."""

    mean: float
    sd: float
    samples: int


@dataclass(frozen=True)
class PacingStats:
    """One snapshot of a campaign, everything the pacing reads (times in seconds).

    ``agents`` lists every logged-in agent as ``(state, seconds in that state)``, state one
    of "free" (waiting for a call), "talk", "wrap" (wrap-up after a call) or "paused"
    (logged in, taking no calls: neither an agent to dial for nor a line allowance).
    ``ringing`` is the seconds each placed, unresolved call has been ringing; ``waiting``
    the seconds each human-answered call has waited for an agent so far.
    """

    time: float  # seconds since the campaign day started (for the record and for modes that taper)
    agents: tuple[tuple[str, float], ...]
    ringing: tuple[float, ...] = ()
    waiting: tuple[float, ...] = ()
    day_dials: int = 0  # calls placed today
    day_answered: int = 0  # of which answered by a human (connected or abandoned; with people AMD misread)
    day_abandoned: int = 0  # human-answered calls no agent took within abandon_after (and people AMD misread)
    window_answered: int = 0  # human answers in the rolling window (the last N of them)
    window_abandoned: int = 0  # abandons among them
    recent_dials: int = 0  # resolved dials in the outcome window (the last N resolved)
    recent_humans: int = 0  # of which answered by a human
    answer_time: Estimate = Estimate(0.0, 0.0, 0)  # dial to human answer, recent answers
    talk_time: Estimate = Estimate(0.0, 0.0, 0)  # recent talks
    wrap_time: Estimate = Estimate(0.0, 0.0, 0)  # recent wrap-ups
    non_human_durations: tuple[float, ...] = ()  # dial to resolution of recent non-human outcomes, sorted
    cap: float = 0.03  # abandons / human answers allowed
    lines_per_agent: int = 3  # calls in progress (ringing, waiting, talking) per available agent
    abandon_after: float = 2.0  # seconds an answered human waits for an agent before it is an abandon

    def __post_init__(self) -> None:
        if not {state for state, _ in self.agents} <= _STATE_SET:
            bad = next(state for state, _ in self.agents if state not in _STATE_SET)
            raise ValueError(f"agent state must be one of {', '.join(AGENT_STATES)}, got {bad!r}")
        if not all(seconds >= 0 for _, seconds in self.agents):  # also refuses NaN
            bad_seconds = next(sec for _, sec in self.agents if not sec >= 0)
            raise ValueError(f"seconds in state must be >= 0, got {bad_seconds!r}")

    def count(self, state: str) -> int:
        """Agents in ``state``."""
        return sum(1 for s, _ in self.agents if s == state)


@dataclass(frozen=True)
class PacingConfig:
    """Tuning of the predictive pacing; the defaults are what the simulator was tuned with."""

    min_dials: int = 30
    min_samples: int = 5
    aim: float = 0.85  # share of the cap the day's rate is steered to
    theta0: float = 0.037  # marginal abandon risk allowed when the measured rate is at aim
    gain: float = 3.0  # 1.5 let a list of few humans ride the guard and end days above the cap
    theta_max: float = 0.3
    prior_answered: int = 200
    guard_abandons: float = 1.0
    room_floor_answers_per_agent: float = 20.0  # the room is counted on at least this many answers per agent,
    room_floor_answers: float = 100.0  # but on no more than this many (the day's rate is over the cap only before them)
    soft_guard_per_sqrt_agent: float = 1.0  # theta tapers while room < guard + this * sqrt(agents)
    soft_guard_floor: float = 0.3  # the share of theta left just above the hard guard
    window_floor: int = 500  # the window's rate is read over at least this many answers
    window_gain: float = 5.0
    ramp_answers_per_agent: float = 8.0  # theta ramps up over the day's first 8 answers per agent
    morning_answers_per_agent: float = 10.0  # talk times are checked for the morning's bias until then
    grid: tuple[float, ...] = (0.03, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.98)  # answer-time quantiles
    talk_hazard_ahead: float = 5.0  # the talk-end hazard is read this many seconds ahead
    talk_outliers_share: float = 0.1
    talk_outliers_slack: int = 2
    # Hanging up calls that rang long (see _hang_ups): a call may be hung up unanswered once it
    # rang ``hang_up_after`` s (never under MIN_RING_SECONDS; 0: never), when the abandons it
    # brings, per human, exceed ``hang_up_factor`` theta.
    hang_up_after: float = MIN_RING_SECONDS
    hang_up_factor: float = 2.0  # 4 hung up fewer and kept agents less busy (docs/dialer_pacing.md)


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """How many calls to place now, how many ringing ones to hang up, and why (one short phrase for logs).

    ``hang_up``: the longest-ringing calls to hang up unanswered now, all of them rung at
    least ``PacingConfig.hang_up_after`` (never less than ``MIN_RING_SECONDS``).
    """

    dials: int
    reason: str
    risk: float = 0.0  # marginal abandon risk of the last call placed
    details: dict[str, float] = field(default_factory=dict)
    hang_up: int = 0


class _Lognormal:
    """A lognormal duration with its CDF and hazard tabulated as they are asked for.

    Built through :func:`_fitted`, which rounds the measured mean and standard deviation
    to 1 % steps and caches one instance per rounded pair: the estimates move a little
    with every call, far less than 1 % of the sampling noise matters, and the tables make
    a decision for a hundred agents cost a fraction of a millisecond. The tables hold the
    CDF on a 0.05 s grid below ``_CDF_SPAN`` s and the hazard on a 1 s grid below
    ``_HAZARD_SPAN`` s; beyond them the values are computed directly.
    """

    __slots__ = ("_hazard", "k", "mean", "mu", "sigma", "table")

    def __init__(self, mean: float, sd: float) -> None:
        self.mean = mean
        self.sigma = math.sqrt(math.log1p((sd / mean) ** 2))
        self.mu = math.log(mean) - self.sigma**2 / 2
        self.k = 1.0 / (self.sigma * _SQRT2)
        self.table = [-1.0] * int(_CDF_SPAN * _CDF_STEPS)  # the CDF, filled as asked for
        self._hazard = [-1.0] * _HAZARD_SPAN

    def cdf_exact(self, x: float) -> float:
        if x <= 0:
            return 0.0
        return 0.5 * math.erfc((self.mu - math.log(x)) * self.k)

    def cdf(self, x: float) -> float:
        """F(x), from the table (nearest 0.05 s)."""
        i = int(x * _CDF_STEPS + 0.5)
        table = self.table
        if i >= len(table):
            return self.cdf_exact(x)
        value = table[i]
        if value < 0.0:
            value = table[i] = self.cdf_exact(i / _CDF_STEPS)
        return value

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * _STD_NORMAL.inv_cdf(q))

    def hazard_exact(self, x: float) -> float:
        """Density over survival at ``x``: the rate at which it ends, per second."""
        if x <= 0:
            return 0.0
        z = (math.log(x) - self.mu) / self.sigma
        surv = 0.5 * math.erfc(z / _SQRT2)
        if surv < 1e-300:
            return z / (x * self.sigma)  # Mills-ratio limit far in the tail
        return math.exp(-0.5 * z * z) * _INV_SQRT_2PI / (x * self.sigma) / surv

    def hazard(self, x: float) -> float:
        """The hazard at ``x``, from the table (nearest second)."""
        i = int(x + 0.5)
        table = self._hazard
        if i >= len(table):
            return self.hazard_exact(x)
        value = table[i]
        if value < 0.0:
            value = table[i] = self.hazard_exact(float(i))
        return value

    def integral_cdf(self, h: float) -> float:
        """The integral of the CDF from 0 to ``h``: h*F(h) - E[X; X <= h]."""
        if h <= 0:
            return 0.0
        partial = self.mean * 0.5 * math.erfc((self.mu + self.sigma**2 - math.log(h)) * self.k)
        return max(0.0, h * self.cdf_exact(h) - partial)


_CDF_SPAN = 120.0  # seconds tabulated for the CDF
_CDF_STEPS = 20  # per second
_HAZARD_SPAN = 3600  # seconds tabulated for the hazard


def _fitted(est: Estimate) -> _Lognormal:
    """The lognormal with ``est``'s mean and standard deviation, each rounded to 1 %."""
    mean = max(est.mean, 1e-3)
    sd = max(est.sd, 1e-3 * mean)
    return _fitted_rounded(round(100.0 * math.log(mean)), round(100.0 * math.log(sd)))


@functools.lru_cache(maxsize=64)
def _fitted_rounded(log_mean: int, log_sd: int) -> _Lognormal:
    return _Lognormal(math.exp(log_mean / 100.0), math.exp(log_sd / 100.0))


def measured_rate(abandoned: int, answered: int, prior_rate: float, prior_answered: int) -> float:
    """Abandons over human answers, shrunk towards ``prior_rate`` by ``prior_answered`` pseudo-answers."""
    return (abandoned + prior_rate * prior_answered) / (answered + prior_answered)


def allowed_risk(stats: PacingStats, config: PacingConfig = PacingConfig()) -> float:
    """``theta``: the marginal abandon risk a new call may carry, from the measured rates.

    Integral control on the day's rate (shrunk towards the cap itself, so the morning
    starts cautious), and a cut while the rolling window runs above the cap.
    """
    aim = stats.cap * config.aim
    if aim <= 0:
        return 0.0
    rate = measured_rate(stats.day_abandoned, stats.day_answered, stats.cap, config.prior_answered)
    theta = config.theta0 * math.exp(config.gain * (1.0 - rate / aim))
    window = stats.window_abandoned / max(stats.window_answered, config.window_floor)
    if window > stats.cap:
        theta *= math.exp(-config.window_gain * (window / stats.cap - 1.0))
    return min(config.theta_max, theta)


def decide(stats: PacingStats, config: PacingConfig = PacingConfig()) -> PacingDecision:
    """How many calls to place now for ``stats`` (see the module docstring for the method)."""
    free = talking = active = 0
    for state, _ in stats.agents:
        if state == FREE:
            free += 1
        elif state == TALK:
            talking += 1
        if state != PAUSED:
            active += 1
    if active == 0:
        return PacingDecision(0, "no agents available")
    ringing = len(stats.ringing)
    waiting = len(stats.waiting)
    line_room = active * stats.lines_per_agent - ringing - waiting - talking
    if line_room <= 0:
        return PacingDecision(0, "line limit")
    progressive = min(max(0, free - ringing - waiting), line_room)

    warm = (
        stats.recent_dials >= config.min_dials
        and stats.recent_humans > 0
        and min(stats.talk_time.samples, stats.wrap_time.samples, stats.answer_time.samples) >= config.min_samples
    )
    if not warm:
        return PacingDecision(progressive, "cold start: progressive")
    # Early in the day the measured talk time is biased short (only short talks have
    # ended); until it is not, agents still talking are not counted on to free up. A team
    # that started together shows no old talk to contradict it, so also while fewer talks
    # have ended than a quarter of those in progress (a thousand agents starting at once
    # had two thousand calls placed on forty short talks).
    morning = stats.day_answered < config.morning_answers_per_agent * active
    in_talk = [s for state, s in stats.agents if state == TALK]
    talk_known = not (
        morning and (4 * stats.talk_time.samples < len(in_talk) or _contradicted(_fitted(stats.talk_time), in_talk, config))
    )
    # The cap is the day's (Ofcom: 24 h; FTC: 30 days): the morning may spend the room its first
    # answers will make, and the day is back under the cap by the time they are in (the 100th at most).
    floor = min(config.room_floor_answers_per_agent * active, config.room_floor_answers)
    counted = max(float(stats.day_answered), floor)
    room = stats.cap * counted - stats.day_abandoned - config.guard_abandons  # abandons above the guard
    if room < 0:
        return PacingDecision(progressive, "no room under the cap today: progressive")
    theta = allowed_risk(stats, config) * _soft_guard(room, active, config)
    if config.ramp_answers_per_agent > 0:  # the morning's estimates are the least sure
        theta *= min(1.0, stats.day_answered / (config.ramp_answers_per_agent * active))

    p = stats.recent_humans / stats.recent_dials
    forecast = _Forecast(stats, p, free, waiting, talk_known, config)
    n, risk = forecast.most_calls(line_room, theta)
    if n <= progressive:
        hang_up = _hang_ups(stats, forecast, theta, config)
        if hang_up:
            return PacingDecision(progressive, "hanging up calls rung too long", risk, {"theta": theta}, hang_up=hang_up)
        return PacingDecision(progressive, "progressive floor", risk, {"theta": theta})
    reason = "predictive" if talk_known else "predictive on wrap-ups (talk times still being learned)"
    return PacingDecision(n, reason, risk, {"theta": theta, "answer_rate": p})


def _hang_ups(stats: PacingStats, forecast: _Forecast, theta: float, config: PacingConfig) -> int:
    """How many of the longest-ringing calls to hang up unanswered: those whose human would likely find no agent.

    A call that has rung past the legal minimum is still a human with a small chance, and
    that human answers late, when the humans of the calls placed after it have taken the
    agents. Hanging it up loses that chance; keeping it risks an abandon. The oldest calls
    go first while the abandons each brings, per human it may bring, exceed
    ``hang_up_factor * theta``.
    """
    if config.hang_up_after <= 0 or theta <= 0:
        return 0
    after = max(config.hang_up_after, MIN_RING_SECONDS)
    old = sorted((r for r in stats.ringing if r >= after), reverse=True)
    if not old:
        return 0
    limit = config.hang_up_factor * theta
    count = 0
    level = forecast.abandons(0)
    for r in old:
        human = forecast.human_chance(r)
        forecast.drop_ringing(r)
        without = forecast.abandons(0)
        if human <= 0.0 or (level - without) / human <= limit:
            break
        count += 1
        level = without
    return count


def _soft_guard(room: float, active: int, config: PacingConfig) -> float:
    """The share of ``theta`` kept while little ``room`` (abandons above the guard) is left today.

    A run of abandons that leaves less than one abandon of room makes the dialer
    progressive until answers make room again: minutes of idle agents for a large team.
    Approaching that edge, the risk is cut instead: in proportion to the room left above
    the guard over ``k*sqrt(agents)`` abandons (abandons per minute grow with the team,
    their runs with its square root), never below ``soft_guard_floor``.
    """
    span = config.soft_guard_per_sqrt_agent * math.sqrt(active)
    if span <= 0:
        return 1.0
    return min(1.0, max(config.soft_guard_floor, room / span))


def _contradicted(talk: _Lognormal, elapsed: list[float], config: PacingConfig) -> bool:
    """Whether the talks in progress run longer than the measured talk times allow.

    Early in the day only the short talks have ended, so the measured talk time is too
    short; the long ones are still in progress. In a steady state about 5 % of the talks in
    progress are past the 95th percentile of talk time; many more means the estimate is
    biased short and would have the dialer count on agents who are not about to free up.
    """
    limit = talk.quantile(0.95)
    old = sum(1 for e in elapsed if e > limit)
    return old > config.talk_outliers_share * len(elapsed) + config.talk_outliers_slack


class _Forecast:
    """The next seconds of the campaign as a random walk, and the abandons it implies.

    Time is cut at answer-time quantiles ``t_1 < ... < t_K``. In each slice, ``X`` (humans
    answered by ``t`` less agents free by ``t + grace``, counting the agents free now)
    moves by the humans answering in it less the agents freeing in it, a sum of
    independent Bernoullis taken as normal. Abandons are what ``X`` rises above zero at its
    highest: E[max(0, max_k X_k - 1/2)], with the maximum of the correlated normals carried
    slice by slice (Clark, 1961). A new call adds to each slice the chance its human
    answers in it.
    """

    __slots__ = ("_answer", "_failures", "_steps", "means", "p", "slices", "vars")

    def __init__(
        self, stats: PacingStats, p: float, free: int, waiting: int, talk_known: bool, config: PacingConfig
    ) -> None:
        answer = _fitted(stats.answer_time)
        talk = _fitted(stats.talk_time)
        wrap = _fitted(stats.wrap_time)
        grace = stats.abandon_after
        times = [answer.quantile(q) for q in config.grid]
        horizons = [t + grace for t in times]
        k = len(times)
        self.p = p
        # A new call: the chance its human answers in each slice.
        answered = [answer.cdf(t) for t in times]
        self.slices = [p * (b - a) for a, b in zip([0.0] + answered[:-1], answered)]

        means = [0.0] * k
        varis = [0.0] * k
        means[0] = waiting - free

        # Agents in wrap-up: the conditional wrap-up left; talking agents: the talk-end
        # hazard times the integral of the wrap-up CDF, summed in closed form.
        wrap_cdf = wrap.cdf
        r1 = r2 = 0.0
        ahead = config.talk_hazard_ahead
        talk_hazard = talk.hazard
        for state, seconds in stats.agents:
            if state == TALK:
                if talk_known:
                    rate = talk_hazard(seconds + ahead)
                    r1 += rate
                    r2 += rate * rate
            elif state == WRAP:
                f0 = wrap_cdf(seconds)
                surv = 1.0 - f0
                before = 0.0
                for j, h in enumerate(horizons):
                    c = 1.0 if surv <= 1e-9 else (wrap_cdf(seconds + h) - f0) / surv
                    x = c - before
                    if x > 0.0:
                        means[j] -= x
                        varis[j] += x * (1.0 - x)
                        before = c
        before = 0.0
        for j, h in enumerate(horizons):
            fill = wrap.integral_cdf(h)
            g = fill - before
            before = fill
            means[j] -= g * r1
            varis[j] += g * r1 - g * g * r2

        self.means = means
        self.vars = varis
        self._answer = answer
        self._failures = stats.non_human_durations
        self._steps = [(t, t * _CDF_STEPS + 0.5) for t in times]
        # Ringing calls: the chance each is a human, then that it answers in each slice.
        # Calls placed together ring equally long: computed once per half second of ringing.
        buckets: dict[int, int] = {}
        for r in stats.ringing:
            key = int(r * 2.0)
            buckets[key] = buckets.get(key, 0) + 1
        for key, count in buckets.items():
            self._add_ringing((key + 0.5) / 2.0, count)

    def human_chance(self, r: float) -> float:
        """The chance that a call still ringing after ``r`` s is a human who will answer."""
        _, human_left, total = self._odds(r)
        return human_left / total if total > 0.0 else 0.0

    def _odds(self, r: float) -> tuple[float, float, float]:
        """After ``r`` s of ringing: F_A(r), P(a human still to answer), P(still unresolved at all)."""
        fa = self._answer.cdf(r)
        human_left = self.p * (1.0 - fa)
        failures = self._failures
        nf = len(failures)
        unresolved = (nf - bisect.bisect_right(failures, r)) / nf if nf else 1.0
        return fa, human_left, human_left + (1.0 - self.p) * unresolved

    def drop_ringing(self, r: float) -> None:
        """Take one call ringing for ``r`` s out of the forecast (it is hung up)."""
        self._add_ringing((int(r * 2.0) + 0.5) / 2.0, -1)

    def _add_ringing(self, r: float, count: int) -> None:
        """Add ``count`` calls ringing for ``r`` s (negative: take them out)."""
        fa, human_left, total = self._odds(r)
        if total <= 0.0 or human_left <= 1e-3 * total:
            return  # rung so long it is almost surely not a human
        scale = self.p / total  # P(human | ringing at r) / S_A(r)
        answer_cdf = self._answer.cdf
        table = self._answer.table
        span = len(table)
        means, varis = self.means, self.vars
        before = 0.0
        offset = r * _CDF_STEPS
        for j, (t, step) in enumerate(self._steps):
            i = int(offset + step)  # answer_cdf(r + t), the table read inline
            f = table[i] if i < span else -1.0
            if f < 0.0:
                f = answer_cdf(r + t)
            c = scale * (f - fa)
            x = c - before
            if x > 0.0:
                means[j] += count * x
                varis[j] += count * x * (1.0 - x)
                before = c

    def abandons(self, n: int) -> float:
        """Expected abandons among the humans answering within the horizon, with ``n`` new calls."""
        mx = vx = 0.0
        mm = vm = cov = 0.0
        first = True
        for mean, var, x in zip(self.means, self.vars, self.slices):
            mx += mean + n * x
            vx += var + n * x * (1.0 - x)
            if first:
                mm, vm, cov = mx, vx, vx
                first = False
                continue
            # M' = max(M, X): Clark's moments; cov(M, X) is cov(M, X before this slice).
            a2 = vm + vx - 2.0 * cov
            if a2 <= 1e-12:
                if mx >= mm:
                    mm, vm, cov = mx, vx, vx
                continue
            a = math.sqrt(a2)
            alpha = (mm - mx) / a
            p1 = 0.5 * math.erfc(-alpha / _SQRT2)
            p2 = 1.0 - p1
            dens = math.exp(-0.5 * alpha * alpha) * _INV_SQRT_2PI
            new_mean = mm * p1 + mx * p2 + a * dens
            second = (mm * mm + vm) * p1 + (mx * mx + vx) * p2 + (mm + mx) * a * dens
            cov = cov * p1 + vx * p2
            mm, vm = new_mean, max(second - new_mean * new_mean, 1e-12)
        m = mm - 0.5  # X counts whole humans: an abandon needs X >= 1, so the normal is read above 1/2
        sd = math.sqrt(vm)
        if sd < 1e-9:
            return max(m, 0.0)
        z = m / sd
        return m * 0.5 * math.erfc(-z / _SQRT2) + sd * math.exp(-0.5 * z * z) * _INV_SQRT_2PI

    def risk(self, n: int, before: float) -> tuple[float, float]:
        """The n-th new call's marginal abandon risk per human, and E[abandons] with n calls."""
        after = self.abandons(n)
        return (after - before) / self.p, after

    def most_calls(self, line_room: int, theta: float) -> tuple[int, float]:
        """The most new calls (up to ``line_room``) whose last one's risk is at most ``theta``."""
        base = self.abandons(0)
        best, best_risk, level = 0, 0.0, base
        while best < line_room:
            risk, level_next = self.risk(best + 1, level)
            if risk > theta:
                break
            best, best_risk, level = best + 1, risk, level_next
        return best, best_risk
