"""Predictive pacing specifications: a campaign snapshot in, calls to place out."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from dialer.pacing import Estimate, PacingConfig, PacingStats, _fitted, _Forecast, allowed_risk, decide

# What the client model measures after a warm hour: 30 % human answers, ring to a
# human ~11 s, talk ~120 s, wrap-up ~15 s; failures resolve at 25 s (no answer), 3 s
# (busy), 1 s (congestion) and ~14 s (answering machine detected).
FAILURES = tuple(sorted([25.0] * 45 + [3.0] * 10 + [1.0] * 5 + [14.0] * 10))


def snapshot(agents: list[tuple[str, float]], ringing=(), **overrides) -> PacingStats:
    fields = {
        "time": 3600.0,
        "agents": tuple(agents),
        "ringing": tuple(ringing),
        "day_dials": 1400,
        "day_answered": 400,
        "day_abandoned": 6,
        "window_answered": 400,
        "window_abandoned": 6,
        "recent_dials": 1000,
        "recent_humans": 300,
        "answer_time": Estimate(11.0, 5.0, 500),
        "talk_time": Estimate(120.0, 90.0, 500),
        "wrap_time": Estimate(15.0, 10.0, 500),
        "non_human_durations": FAILURES,
    }
    fields.update(overrides)
    return PacingStats(**fields)


def team(agents: int, free: int, wrapping: int = 0) -> list[tuple[str, float]]:
    """A team mid-campaign: ``free`` waiting, ``wrapping`` in wrap-up, the rest talking."""
    busy = [("talk", float((i * 37) % 240)) for i in range(agents - free - wrapping)]
    return [("free", 1.0)] * free + [("wrap", float(3 + i % 10)) for i in range(wrapping)] + busy


COLD_CASES = [
    # (what is missing, overrides)
    ("no dials yet", {"recent_dials": 0, "recent_humans": 0}),
    ("few dials", {"recent_dials": 12, "recent_humans": 4}),
    ("few talks", {"talk_time": Estimate(120.0, 90.0, 3)}),
    ("few wrap-ups", {"wrap_time": Estimate(15.0, 10.0, 2)}),
    ("no answers measured", {"answer_time": Estimate(0.0, 0.0, 0)}),
]


@pytest.mark.parametrize("label, overrides", COLD_CASES, ids=[c[0] for c in COLD_CASES])
def test_cold_start_dials_one_call_per_free_agent_not_ringing(label: str, overrides: dict) -> None:
    # 25 agents, 6 free, 2 calls already ringing: progressive places 4.
    decision = decide(snapshot(team(25, 6), ringing=(3.0, 8.0), **overrides))
    assert decision.dials == 4
    assert "cold start" in decision.reason


def test_warm_large_team_dials_ahead_of_free_agents() -> None:
    decision = decide(snapshot(team(25, 5, wrapping=3)))
    assert decision.reason == "predictive"
    assert decision.dials > 5
    assert 0 < decision.risk <= decision.details["theta"]


LINE_CASES = [
    # (agents, free, ringing elapsed times)
    (10, 10, [1.0] * 28),
    (10, 10, [1.0] * 30),
    (25, 25, []),
    (3, 3, [0.5] * 8),
    (50, 40, [2.0] * 100),
    (20, 0, [5.0] * 30),
]


@pytest.mark.parametrize("agents, free, ringing", LINE_CASES)
def test_never_more_calls_in_progress_than_lines_allow(agents: int, free: int, ringing: list[float]) -> None:
    staff = team(agents, free)
    talking = sum(1 for state, _ in staff if state == "talk")
    for lines_per_agent in (1, 2, 3):
        decision = decide(snapshot(staff, ringing=ringing, lines_per_agent=lines_per_agent))
        in_progress = len(ringing) + talking
        assert in_progress + decision.dials <= max(agents * lines_per_agent, in_progress)
        if in_progress >= agents * lines_per_agent:
            assert decision.dials == 0


def test_paused_agents_are_neither_dialed_for_nor_give_lines() -> None:
    everyone_paused = snapshot([("paused", 60.0)] * 4)
    assert decide(everyone_paused).dials == 0
    # 2 free, 8 paused: the line allowance is 2 agents' (6 lines), 5 already ringing.
    stats = snapshot([("free", 1.0)] * 2 + [("paused", 30.0)] * 8, ringing=[1.0] * 5)
    assert decide(stats).dials <= 1
    # Paused agents change nothing a busy team would be dialed.
    busy = team(20, 2, wrapping=4)
    assert decide(snapshot(busy)).dials == decide(snapshot(busy + [("paused", 5.0)] * 10)).dials


def test_backs_off_as_the_measured_rate_nears_the_cap() -> None:
    dials = []
    for abandoned in (0, 4, 8, 11):  # of 400 human answers today and in the window
        stats = snapshot(team(25, 4, wrapping=3), day_abandoned=abandoned, window_abandoned=abandoned)
        dials.append(decide(stats).dials)
    assert dials == sorted(dials, reverse=True)
    assert dials[0] > dials[-1]


def test_a_bad_window_alone_also_holds_it_back() -> None:
    # The day is at 2 %, the last 800 answers ran at 4 %.
    calm = snapshot(team(25, 4, wrapping=3), day_answered=1500, day_abandoned=30,
                    window_answered=800, window_abandoned=16)
    stormy = replace(calm, window_abandoned=32)
    assert allowed_risk(stormy) < allowed_risk(calm)
    assert decide(stormy).dials < decide(calm).dials


def test_no_room_left_under_the_cap_today_is_progressive() -> None:
    # 400 answered, 12 abandoned: 3 % exactly, not one abandon of room left.
    decision = decide(snapshot(team(25, 5), day_abandoned=12, window_abandoned=0))
    assert decision.dials == 5
    assert "cap" in decision.reason


def test_early_in_the_day_it_spends_only_the_room_its_first_hundred_answers_will_make() -> None:
    # 5 agents, 20 human answers so far: the cap is the day's, so the room is counted on
    # 100 answers (20 per agent): 3 abandons, one kept as the guard.
    def morning(abandoned: int, agents: int = 5) -> PacingStats:
        who = team(agents, 2, wrapping=1) if agents > 1 else [("free", 1.0)]
        return snapshot(who, day_answered=20, day_abandoned=abandoned,
                        window_answered=20, window_abandoned=abandoned)

    # Not held progressive by the cap (the forecast decides), with none or 2 abandons spent:
    # 3 % of 100, less the guard, leaves 2.
    assert "cap" not in decide(morning(0)).reason
    assert "cap" not in decide(morning(2)).reason
    third = decide(morning(3))
    assert third.dials == 2 and "cap" in third.reason  # progressive until the answers make room
    # One agent: 20 answers of floor leave no abandon above the guard.
    alone = decide(morning(0, agents=1))
    assert alone.dials == 1 and "cap" in alone.reason
    # 25 agents: the floor stops at 100 answers, whatever the team.
    big = decide(morning(3, agents=25))
    assert big.dials == 2 and "cap" in big.reason


def test_near_the_edge_of_the_cap_it_slows_down_instead_of_stopping() -> None:
    # 100 agents, 1500 human answers today: 45 abandons allowed, one kept as the guard.
    big = team(100, 8, wrapping=12)
    hard_only = replace(PacingConfig(), soft_guard_per_sqrt_agent=0.0)

    def day(abandoned: int) -> PacingStats:
        return snapshot(big, day_answered=1500, day_abandoned=abandoned, window_answered=1500,
                        window_abandoned=abandoned)

    # Plenty of room (14 abandons above the guard, more than sqrt(100)): no change.
    assert decide(day(30)).dials == decide(day(30), hard_only).dials
    # 3 abandons above the guard: the risk is cut to 0.3 of itself, the dialer stays predictive.
    near = decide(day(41))
    assert near.details["theta"] == pytest.approx(0.3 * decide(day(41), hard_only).details["theta"])
    assert 8 < near.dials < decide(day(41), hard_only).dials
    # No room left: progressive, with or without the taper.
    assert decide(day(45)).dials == decide(day(45), hard_only).dials == 8


ONE_AGENT_STATES = [
    # (agent state, ringing elapsed)
    (("free", 1.0), []),
    (("free", 1.0), [0.5]),
    (("talk", 5.0), []),
    (("talk", 110.0), []),
    (("talk", 600.0), []),
    (("wrap", 2.0), []),
]


@pytest.mark.parametrize("agent, ringing", ONE_AGENT_STATES)
def test_one_agent_never_gets_a_pile_of_calls(agent: tuple[str, float], ringing: list[float]) -> None:
    decision = decide(snapshot([agent], ringing=ringing))
    assert len(ringing) + decision.dials <= 2


def test_one_agent_just_starting_a_talk_gets_no_call() -> None:
    assert decide(snapshot([("talk", 5.0)])).dials == 0


def test_one_free_agent_gets_its_call() -> None:
    assert decide(snapshot([("free", 0.0)])).dials >= 1


def test_more_agents_dial_a_higher_ratio() -> None:
    ratios = []
    for agents in (5, 10, 25, 50, 100):
        staff = team(agents, agents // 10, wrapping=agents // 10)
        ratios.append(decide(snapshot(staff)).dials / agents)
    assert ratios == sorted(ratios)
    assert ratios[-1] > ratios[0]


@pytest.mark.parametrize("agents", [3, 10, 40])
def test_a_stricter_risk_never_dials_more(agents: int) -> None:
    stats = snapshot(team(agents, max(1, agents // 8), wrapping=agents // 8), ringing=[2.0, 6.0])
    dials = [decide(stats, PacingConfig(theta0=theta)).dials for theta in (0.005, 0.02, 0.05, 0.1)]
    assert dials == sorted(dials)


def test_talk_times_biased_short_are_not_counted_on_in_the_morning() -> None:
    # Early in the day only short talks have ended (measured mean 40 s) while every agent
    # has been talking for 90-130 s: the talking agents must not be counted on to free up.
    staff = [("talk", 90.0 + i) for i in range(40)] + [("free", 1.0)] * 2
    morning = snapshot(staff, talk_time=Estimate(40.0, 10.0, 30), day_answered=300, day_abandoned=2)
    decision = decide(morning)
    assert decision.dials <= 3
    trusted = decide(morning, PacingConfig(talk_outliers_share=1.0, talk_outliers_slack=1000))
    assert trusted.dials > decision.dials + 5
    # Later in the day the check is off: talk times then come from talks that started any time.
    afternoon = replace(morning, day_answered=3000, day_abandoned=60)
    assert decide(afternoon).dials > decision.dials + 5


def test_a_big_team_that_started_together_is_not_counted_on_from_a_handful_of_short_talks() -> None:
    # 45 s into the day of a thousand agents: 560 talks, all young, so none looks too old for the
    # 40 short ones that have ended (mean 20 s). Counting on them placed 2014 calls at once.
    staff = [("talk", 5.0 + i % 30) for i in range(560)] + [("free", 1.0)] * 424 + [("wrap", 4.0)] * 16
    start = snapshot(staff, ringing=[float(i % 20) for i in range(300)], time=45.0, day_dials=2600, day_answered=700,
                     day_abandoned=0, window_answered=700, window_abandoned=0, talk_time=Estimate(20.0, 8.0, 40))
    decision = decide(start)
    assert decision.reason.startswith("predictive on wrap-ups"), decision
    assert decision.dials <= (424 + 16) / 0.3, "no more calls than the free and wrapping agents can take"
    # Once as many talks have ended as a quarter of those in progress, the measured time counts again.
    assert decide(replace(start, talk_time=Estimate(20.0, 8.0, 150))).dials > decision.dials


def test_the_same_snapshot_gives_the_same_decision() -> None:
    stats = snapshot(team(30, 3, wrapping=5), ringing=[1.0, 4.0, 9.0, 17.0])
    assert decide(stats) == decide(stats)


def test_bad_agent_state_is_refused() -> None:
    with pytest.raises(ValueError, match="agent state"):
        snapshot([("ringing", 3.0)])


def _monte_carlo_abandons(stats: PacingStats, new_calls: int, samples: int, seed: int) -> float:
    """Expected abandons by brute force: draw every agent's and call's future, match FIFO."""
    rng = random.Random(seed)
    answer, talk, wrap = _fitted(stats.answer_time), _fitted(stats.talk_time), _fitted(stats.wrap_time)
    p = stats.recent_humans / stats.recent_dials

    def draw(dist, above: float = 0.0) -> float:  # a lognormal draw, conditioned on > above
        low = dist.cdf_exact(above)
        u = low + (1.0 - low) * rng.random()
        from statistics import NormalDist
        return math.exp(dist.mu + dist.sigma * NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))

    total = 0
    failures = stats.non_human_durations
    for _ in range(samples):
        frees = []
        for state, seconds in stats.agents:
            if state == "free":
                frees.append(-1e9)
            elif state == "wrap":
                frees.append(draw(wrap, seconds) - seconds)
            elif state == "talk":
                frees.append(draw(talk, seconds) - seconds + draw(wrap))
        frees.sort()
        humans = []
        for r in stats.ringing:
            human_left = p * (1.0 - answer.cdf_exact(r))
            other_left = (1.0 - p) * sum(1 for f in failures if f > r) / len(failures)
            if rng.random() < human_left / (human_left + other_left):
                humans.append(draw(answer, r) - r)
        humans += [draw(answer) for _ in range(new_calls) if rng.random() < p]
        humans.sort()
        j = 0
        for at in humans:
            if j < len(frees) and frees[j] <= at + stats.abandon_after:
                j += 1
            else:
                total += 1
    return total / samples


@pytest.mark.parametrize("agents, free, wrapping, ringing, new_calls", [
    (30, 2, 5, [1.0, 3.0, 3.0, 6.0, 9.0, 12.0, 15.0, 20.0], 4),
    (5, 1, 1, [2.0, 8.0], 2),
])
def test_forecast_abandons_agree_with_brute_force(agents, free, wrapping, ringing, new_calls) -> None:
    stats = snapshot(team(agents, free, wrapping), ringing=ringing)
    forecast = _Forecast(stats, 0.3, free, 0, True, PacingConfig())
    for n in (0, new_calls):
        brute = _monte_carlo_abandons(stats, n, samples=4000, seed=7)
        assert forecast.abandons(n) == pytest.approx(brute, rel=0.5, abs=0.03)
    assert forecast.abandons(new_calls) > forecast.abandons(0)


# Hanging up calls that rang too long (off by default: the live runner does not hang up yet).
HANG_UP = PacingConfig(hang_up_after=15.0, hang_up_factor=2.0)


def test_a_call_rung_past_the_legal_minimum_is_hung_up_when_its_human_would_find_no_agent() -> None:
    # Twenty agents all in young talks, a dozen calls just placed and four that rang 16-22 s:
    # a late human of those four would answer when the young calls' humans hold every agent.
    stats = snapshot(team(20, 0), ringing=[1.0] * 12 + [16.0, 18.0, 20.0, 22.0])
    decision = decide(stats, HANG_UP)
    assert decision.dials == 0
    assert 1 <= decision.hang_up <= 4
    assert decide(stats).hang_up == decision.hang_up  # the default
    assert decide(stats, PacingConfig(hang_up_after=0)).hang_up == 0  # 0: never


def test_no_call_is_hung_up_before_it_rang_fifteen_seconds_whatever_the_config() -> None:
    stats = snapshot(team(20, 0), ringing=[1.0] * 12 + [10.0, 12.0, 14.9])
    assert decide(stats, PacingConfig(hang_up_after=5.0, hang_up_factor=0.0)).hang_up == 0
    assert decide(stats, PacingConfig(hang_up_after=5.0, hang_up_factor=0.0)).dials == 0


def test_old_calls_are_kept_while_free_agents_wait_for_their_humans() -> None:
    stats = snapshot(team(20, 6), ringing=[2.0, 3.0, 16.0, 19.0])
    decision = decide(stats, HANG_UP)
    assert decision.hang_up == 0
    assert decision.dials >= 2


def test_taking_a_ringing_call_out_of_the_forecast_is_the_forecast_without_it() -> None:
    agents = team(20, 1, 4)
    ringing = [1.0, 2.0, 6.0, 9.0, 16.5, 18.0]
    forecast = _Forecast(snapshot(agents, ringing=ringing), 0.3, 1, 0, True, PacingConfig())
    forecast.drop_ringing(18.0)
    without = _Forecast(snapshot(agents, ringing=ringing[:-1]), 0.3, 1, 0, True, PacingConfig())
    assert forecast.abandons(0) == pytest.approx(without.abandons(0), rel=1e-9, abs=1e-12)
    assert forecast.abandons(3) == pytest.approx(without.abandons(3), rel=1e-9, abs=1e-12)


def test_a_call_rung_long_is_less_likely_a_human() -> None:
    forecast = _Forecast(snapshot(team(5, 1), ringing=[2.0]), 0.3, 1, 0, True, PacingConfig())
    chances = [forecast.human_chance(r) for r in (0.0, 5.0, 10.0, 15.0, 20.0)]
    assert chances[0] == pytest.approx(0.3)
    assert chances[1] > chances[0]  # busy and congestion are known within 3 s: what still rings is likelier a human
    assert chances[1:] == sorted(chances[1:], reverse=True)  # then the humans have mostly answered
    assert chances[3] < 0.15
