"""Predictive pacing: campaign statistics in, how many calls to place now out.

Pure: ``decide(stats, config)`` reads a :class:`PacingStats` snapshot and returns a
:class:`PacingDecision`; no clock, no I/O, no state between calls (the caller re-asks
every second and on every call event).

What it estimates
  * answer rate ``p``: human-answered share of the recently completed dials;
  * ring time to a human answer, talk time and wrap-up time: lognormal distributions
    fitted (method of moments) to the measured means and standard deviations;
  * agents about to free up: each agent in wrap-up with elapsed ``e`` frees within the
    horizon with the conditional lognormal probability ``P(W <= e+h | W > e)``; an agent
    still talking must finish the talk and then a whole wrap-up (three wrap-up quantiles
    averaged);
  * humans still to come from calls ringing now: a call ringing for ``r`` seconds is a
    human with ``p*S_A(r) / (p*S_A(r) + (1-p)*Q(r))``, where ``S_A`` is the answer-time
    survival and ``Q`` the measured share of non-human outcomes (busy, no answer,
    congestion, machine) still unresolved after ``r`` seconds.

How it chooses
  For checkpoints ``tau`` at the 25/50/75/95th percentiles of answer time: demand
  ``D(tau)`` = humans from ringing calls answering by ``tau`` (Bernoulli each) +
  ``Binomial(n, p*F_A(tau))`` from ``n`` new dials; supply ``S(tau)`` = free agents +
  busy agents freeing by ``tau`` + 2 s (the time a human may wait). The projected abandon
  share is the worst checkpoint's ``E[(D - S)+]`` over the humans expected from all calls
  in flight; the largest ``n`` keeping it under a target is dialed, and never fewer than
  progressive would (``free - ringing``: those calls cannot abandon). With
  ``agents <= exact_team`` the sums are convolved exactly (few agents is where the normal
  approximation is wrong); larger teams use a normal approximation of ``D - S`` with its
  own, smaller margin (it underestimates the right tail).

How it holds the cap (FTC 16 CFR 310.4(b)(4)(i) and Ofcom both: 3 % of live answered
calls, per campaign)
  The measured rate is the worse of the rolling-window and day rates (abandons over
  human-answered, with the denominator floored at ``rate_floor_answered`` so one early
  abandon does not read as 0 %). The target is ``cap * margin * (1 - measured/(cap*aim))``:
  (``margin`` 0.2 / 0.3 / 0.04 for small, exact and normal) it tightens as the measured
  rate rises and reaches zero (pure progressive) at
  ``aim`` (70 %) of the cap. The projection is a per-snapshot figure and the dialer tops it
  up every second, so the realised rate runs several times the target; ``margin`` and
  ``aim`` were tuned on the simulator (benchmarks/bench_dialer.py) so the day lands near
  2 % with room for noise. Lines are never above ``lines_per_agent * agents``.

Small teams (1-5 agents)
  One extra human with one agent is an abandon for sure, so small teams use a smaller
  margin, exact distributions, and stay progressive until ``small_team_min_talks`` talk
  samples are measured (the estimate is too uncertain to run ahead of the agents).
  Cold start, for every team: progressive until ``min_dials`` dials and
  ``min_samples`` talks, wrap-ups and answers are measured.

See docs/dialer_pacing.md.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from statistics import NormalDist

_STD_NORMAL = NormalDist()
_SQRT2 = math.sqrt(2.0)
# Wrap-up quantiles averaged when asking whether a talking agent frees within the horizon.
_WRAP_QUANTILES = (1 / 6, 1 / 2, 5 / 6)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A measured duration: mean and standard deviation in seconds, and the sample count."""

    mean: float
    sd: float
    samples: int


@dataclass(frozen=True, slots=True)
class BusyAgent:
    """An agent not free: ``phase`` is "talk" or "wrap", ``elapsed`` seconds in it."""

    phase: str
    elapsed: float


@dataclass(frozen=True)
class PacingStats:
    """A snapshot of one campaign, as the pacing sees it."""

    agents_logged_in: int
    agents_free: int
    busy_agents: tuple[BusyAgent, ...]
    ringing: tuple[float, ...]  # elapsed seconds of each call dialed and not yet resolved
    recent_dials: int  # completed dials in the outcome window
    recent_humans: int  # of which answered by a human
    answer_time: Estimate  # dial to human answer
    talk_time: Estimate
    wrap_time: Estimate
    non_human_durations: tuple[float, ...] = ()  # dial to resolution of recent non-human outcomes
    window_answered: int = 0
    window_abandoned: int = 0
    day_answered: int = 0
    day_abandoned: int = 0
    cap: float = 0.03
    lines_per_agent: int = 3
    abandon_after: float = 2.0


@dataclass(frozen=True)
class PacingConfig:
    """Tuning of the predictive pacing; the defaults are what the simulator was tuned with."""

    min_dials: int = 40
    min_samples: int = 10
    small_team: int = 5
    small_team_min_talks: int = 30
    exact_team: int = 10
    margin: float = 0.3
    small_team_margin: float = 0.2
    # The normal approximation misses the right tail of a skewed Bernoulli sum, so its
    # projections run low; this margin is tuned on the simulator for teams above exact_team.
    normal_margin: float = 0.04
    aim: float = 0.7
    rate_floor_answered: int = 30
    checkpoint_quantiles: tuple[float, ...] = (0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """How many calls to place now, and why (one short phrase for logs)."""

    dials: int
    reason: str
    projected_abandon: float = 0.0
    details: dict[str, float] = field(default_factory=dict)


class _Lognormal:
    __slots__ = ("mu", "sigma")

    def __init__(self, est: Estimate) -> None:
        mean = max(est.mean, 1e-3)
        sd = max(est.sd, 1e-3 * mean)
        self.sigma = math.sqrt(math.log1p((sd / mean) ** 2))
        self.mu = math.log(mean) - self.sigma**2 / 2

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        return 0.5 * math.erfc(-(math.log(x) - self.mu) / (self.sigma * _SQRT2))

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * _STD_NORMAL.inv_cdf(q))

    def cond_done_by(self, elapsed: float, extra: float) -> float:
        """P(X <= elapsed + extra | X > elapsed)."""
        if extra <= 0:
            return 0.0
        f0 = self.cdf(elapsed)
        surv = 1.0 - f0
        if surv <= 1e-12:
            return 1.0  # far past any plausible length: it is about to end
        return (self.cdf(elapsed + extra) - f0) / surv


def measured_rate(abandoned: int, answered: int, floor_answered: int) -> float:
    """Abandons as a share of human-answered calls, the denominator floored against noise."""
    return abandoned / max(answered, floor_answered, 1)


def decide(stats: PacingStats, config: PacingConfig = PacingConfig()) -> PacingDecision:
    """How many calls to place now for ``stats`` (see the module docstring for the method)."""
    if stats.agents_logged_in <= 0:
        return PacingDecision(0, "no agents logged in")
    ringing = len(stats.ringing)
    line_room = stats.agents_logged_in * stats.lines_per_agent - ringing
    if line_room <= 0:
        return PacingDecision(0, "line limit")
    progressive = min(max(0, stats.agents_free - ringing), line_room)

    warm = (
        stats.recent_dials >= config.min_dials
        and stats.recent_humans > 0
        and min(stats.talk_time.samples, stats.wrap_time.samples, stats.answer_time.samples) >= config.min_samples
    )
    if not warm:
        return PacingDecision(progressive, "cold start: progressive")
    small = stats.agents_logged_in <= config.small_team
    if small and stats.talk_time.samples < config.small_team_min_talks:
        return PacingDecision(progressive, "small team, few samples: progressive")

    rate = max(
        measured_rate(stats.window_abandoned, stats.window_answered, config.rate_floor_answered),
        measured_rate(stats.day_abandoned, stats.day_answered, config.rate_floor_answered),
    )
    headroom = 1.0 - rate / (stats.cap * config.aim)
    if headroom <= 0:
        return PacingDecision(progressive, "abandon rate at the cap: progressive")
    exact = stats.agents_logged_in <= config.exact_team
    margin = config.small_team_margin if small else config.margin if exact else config.normal_margin
    target = stats.cap * margin * headroom

    p = stats.recent_humans / stats.recent_dials
    answer = _Lognormal(stats.answer_time)
    checkpoints = [answer.quantile(q) for q in config.checkpoint_quantiles]
    eventual = _human_probabilities(stats, answer, p)
    grace = stats.abandon_after
    views = []
    for tau in checkpoints:
        supply = _freeing_probabilities(stats, tau + grace)
        demand = [q * answer.cond_done_by(r, tau) for q, r in zip(eventual, stats.ringing)]
        views.append((supply, demand, p * answer.cdf(tau)))
    search = _search_exact if exact else _search_normal
    n, projected = search(stats.agents_free, views, sum(eventual), p, line_room, target)
    if n <= progressive:
        return PacingDecision(progressive, "progressive floor", projected, {"target": target, "rate": rate})
    return PacingDecision(n, "predictive", projected, {"target": target, "rate": rate, "answer_rate": p})


def _freeing_probabilities(stats: PacingStats, horizon: float) -> list[float]:
    talk = _Lognormal(stats.talk_time)
    wrap = _Lognormal(stats.wrap_time)
    wrap_points = [wrap.quantile(q) for q in _WRAP_QUANTILES]
    probs = []
    for agent in stats.busy_agents:
        if agent.phase == "wrap":
            probs.append(wrap.cond_done_by(agent.elapsed, horizon))
        else:
            probs.append(
                sum(talk.cond_done_by(agent.elapsed, horizon - w) for w in wrap_points) / len(wrap_points)
            )
    return probs


def _human_probabilities(stats: PacingStats, answer: _Lognormal, p: float) -> list[float]:
    failures = sorted(stats.non_human_durations)
    probs = []
    for r in stats.ringing:
        human_left = p * (1.0 - answer.cdf(r))
        if failures:
            unresolved = (len(failures) - bisect.bisect_right(failures, r)) / len(failures)
        else:
            unresolved = 1.0
        other_left = (1.0 - p) * unresolved
        total = human_left + other_left
        probs.append(human_left / total if total > 1e-12 else 0.0)
    return probs


def _bernoulli_sum(probs: list[float]) -> list[float]:
    dist = [1.0]
    for q in probs:
        dist = _add_bernoulli(dist, q)
    return dist


def _add_bernoulli(dist: list[float], q: float) -> list[float]:
    out = [0.0] * (len(dist) + 1)
    for k, mass in enumerate(dist):
        out[k] += mass * (1.0 - q)
        out[k + 1] += mass * q
    return out


# A view is one checkpoint tau: (P(agent j frees by tau + grace), P(ringing call i brings
# a human by tau), P(a new dial brings a human by tau)). The projected abandon share of n
# new dials is the worst checkpoint's E[(humans - agents)+] over the humans expected in all.
_View = tuple[list[float], list[float], float]


def _search_exact(
    free: int, views: list[_View], ringing_humans: float, p: float, line_room: int, target: float
) -> tuple[int, float]:
    prepared = []
    for supply_probs, demand_probs, q_new in views:
        supply = _bernoulli_sum(supply_probs)
        # g[d] = E[(d - free - S)+]: what d humans by tau leave without an agent.
        excess_of = [
            sum(m * (d - free - s) for s, m in enumerate(supply) if d - free - s > 0)
            for d in range(line_room + len(demand_probs) + 1)
        ]
        prepared.append([_bernoulli_sum(demand_probs), q_new, excess_of])
    best_n, best_proj = 0, 0.0
    for n in range(line_room + 1):
        worst = 0.0
        for item in prepared:
            if n:
                item[0] = _add_bernoulli(item[0], item[1])
            excess_of = item[2]
            worst = max(worst, sum(m * excess_of[d] for d, m in enumerate(item[0]) if m))
        expected = ringing_humans + n * p
        projected = worst / expected if expected > 0 else 0.0
        if projected > target:
            break
        best_n, best_proj = n, projected
    return best_n, best_proj


def _search_normal(
    free: int, views: list[_View], ringing_humans: float, p: float, line_room: int, target: float
) -> tuple[int, float]:
    moments = []
    for supply_probs, demand_probs, q_new in views:
        mean = sum(demand_probs) - free - sum(supply_probs)
        var = sum(q * (1 - q) for q in demand_probs) + sum(q * (1 - q) for q in supply_probs)
        moments.append((mean, var, q_new))
    best_n, best_proj = 0, 0.0
    for n in range(line_room + 1):
        worst = 0.0
        for mean, var, q_new in moments:
            m = mean + n * q_new - 0.5  # continuity: D - S is an integer, an abandon needs >= 1
            v = var + n * q_new * (1 - q_new)
            sd = math.sqrt(v) if v > 1e-12 else 1e-6
            z = m / sd
            excess = sd * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) + m * 0.5 * math.erfc(-z / _SQRT2)
            worst = max(worst, excess)
        expected = ringing_humans + n * p
        projected = worst / expected if expected > 0 else 0.0
        if projected > target:
            break
        best_n, best_proj = n, projected
    return best_n, best_proj
