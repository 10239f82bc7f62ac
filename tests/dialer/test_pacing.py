"""Predictive pacing specifications: a campaign snapshot in, calls to place out."""

from __future__ import annotations

import pytest

from dialer.pacing import BusyAgent, Estimate, PacingConfig, PacingStats, decide

# What the client model measures after a warm hour: 30 % human answers, ring to a
# human ~11 s, talk ~120 s, wrap-up ~15 s; failures resolve at 25 s (no answer), 3 s
# (busy), 1 s (congestion) and ~14 s (answering machine detected).
FAILURES = tuple([25.0] * 45 + [3.0] * 10 + [1.0] * 5 + [14.0] * 10)


def snapshot(agents: int, free: int, busy=(), ringing=(), **overrides) -> PacingStats:
    fields = {
        "agents_logged_in": agents,
        "agents_free": free,
        "busy_agents": tuple(BusyAgent(phase, elapsed) for phase, elapsed in busy),
        "ringing": tuple(ringing),
        "recent_dials": 300,
        "recent_humans": 90,
        "answer_time": Estimate(11.0, 5.0, 200),
        "talk_time": Estimate(120.0, 90.0, 200),
        "wrap_time": Estimate(15.0, 10.0, 200),
        "non_human_durations": FAILURES,
        "window_answered": 100,
        "day_answered": 400,
    }
    fields.update(overrides)
    return PacingStats(**fields)


def team(agents: int, free: int) -> list[tuple[str, float]]:
    """The busy agents of a team mid-campaign: talking, spread over elapsed times."""
    return [("talk", float((i * 37) % 240)) for i in range(agents - free)]


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
    stats = snapshot(25, 6, busy=team(25, 6), ringing=(3.0, 8.0), **overrides)
    decision = decide(stats)
    assert decision.dials == 4
    assert "cold start" in decision.reason


def test_warm_large_team_dials_ahead_of_free_agents() -> None:
    decision = decide(snapshot(25, 5, busy=team(25, 5)))
    assert decision.reason == "predictive"
    assert decision.dials > 5


LINE_CASES = [
    # (agents, free, ringing elapsed times)
    (10, 10, [1.0] * 28),
    (10, 10, [1.0] * 30),
    (25, 25, []),
    (3, 3, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
    (50, 40, [2.0] * 100),
]


@pytest.mark.parametrize("agents, free, ringing", LINE_CASES)
def test_never_more_lines_than_lines_per_agent_allows(agents: int, free: int, ringing: list[float]) -> None:
    for lines_per_agent in (1, 2, 3):
        stats = snapshot(agents, free, busy=team(agents, free), ringing=ringing, lines_per_agent=lines_per_agent)
        decision = decide(stats)
        assert len(ringing) + decision.dials <= max(agents * lines_per_agent, len(ringing))
        if len(ringing) >= agents * lines_per_agent:
            assert decision.dials == 0


def test_backs_off_as_the_rolling_abandon_rate_nears_the_cap() -> None:
    dials = []
    for abandoned in (0, 1, 2, 3):  # of 100 human-answered calls in the window
        stats = snapshot(25, 5, busy=team(25, 5), window_abandoned=abandoned)
        dials.append(decide(stats).dials)
    assert dials == sorted(dials, reverse=True)
    assert dials[0] > dials[-1]
    # At 3 % it is pure progressive: one call per free agent.
    assert dials[-1] == 5


def test_a_bad_day_rate_also_holds_it_progressive() -> None:
    stats = snapshot(25, 5, busy=team(25, 5), day_answered=400, day_abandoned=12, window_abandoned=0)
    decision = decide(stats)
    assert decision.dials == 5
    assert "cap" in decision.reason


ONE_AGENT_STATES = [
    # (free, busy, ringing elapsed)
    (1, [], []),
    (1, [], [0.5]),
    (1, [], [20.0]),
    (0, [("talk", 5.0)], []),
    (0, [("talk", 110.0)], []),
    (0, [("talk", 600.0)], []),
    (0, [("wrap", 2.0)], []),
    (0, [("wrap", 14.0)], []),
    (0, [("wrap", 40.0)], [24.0]),
]


@pytest.mark.parametrize("free, busy, ringing", ONE_AGENT_STATES)
def test_one_agent_in_these_states_gets_at_most_one_line(free: int, busy: list, ringing: list[float]) -> None:
    decision = decide(snapshot(1, free, busy=busy, ringing=ringing))
    assert len(ringing) + decision.dials <= 1


def test_one_agent_talking_gets_no_call() -> None:
    assert decide(snapshot(1, 0, busy=[("talk", 30.0)])).dials == 0


def test_small_team_with_few_talks_stays_progressive() -> None:
    stats = snapshot(4, 1, busy=team(4, 1), talk_time=Estimate(120.0, 90.0, 15))
    decision = decide(stats)
    assert decision.dials == 1
    assert "small team" in decision.reason


def test_more_agents_dial_a_higher_ratio() -> None:
    ratios = []
    for agents in (5, 10, 25, 50, 100):
        free = agents // 5
        ratios.append(decide(snapshot(agents, free, busy=team(agents, free))).dials / agents)
    assert ratios == sorted(ratios)
    assert ratios[-1] > ratios[0]


def test_a_stricter_margin_never_dials_more() -> None:
    stats = snapshot(25, 5, busy=team(25, 5))
    loose = decide(stats, PacingConfig(margin=0.5)).dials
    strict = decide(stats, PacingConfig(margin=0.1)).dials
    assert strict <= loose


def test_no_agents_no_calls() -> None:
    assert decide(snapshot(0, 0)).dials == 0


def test_exact_and_normal_projections_agree_on_direction() -> None:
    stats = snapshot(10, 2, busy=team(10, 2))
    exact = decide(stats, PacingConfig(exact_team=10)).dials
    normal = decide(stats, PacingConfig(exact_team=0)).dials
    assert abs(exact - normal) <= 2
