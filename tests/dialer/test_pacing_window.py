"""The pacing snapshot accumulator: plain facts in, the documented PacingStats out."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from dialer.pacing import Estimate, PacingStats, decide
from dialer.pacing_window import OUTCOMES, PacingWindow, amd_misread

DOC = Path(__file__).resolve().parents[2] / "docs" / "dialer_pacing.md"


def test_a_fresh_window_is_an_empty_day() -> None:
    stats = PacingWindow().snapshot(0.0, agents=[("free", 0.0)] * 3)
    assert stats == PacingStats(time=0.0, agents=(("free", 0.0),) * 3)
    assert decide(stats).dials == 3  # cold start: one call per free agent


def test_day_counters_follow_the_facts() -> None:
    window = PacingWindow()
    for _ in range(7):
        window.dial_placed()
    for outcome, seconds in [("human", 9.0), ("busy", 3.0), ("human", 12.0), ("machine", 15.0),
                             ("no_answer", 25.0), ("congestion", 1.0), ("failed", 0.2)]:
        window.dial_resolved(outcome, seconds)
    window.abandoned()
    stats = window.snapshot(60.0, agents=[("talk", 40.0)], ringing=[2.5], waiting=[1.5])
    assert (stats.day_dials, stats.day_answered, stats.day_abandoned) == (7, 2, 1)
    assert (stats.recent_dials, stats.recent_humans) == (7, 2)
    assert (stats.window_answered, stats.window_abandoned) == (2, 1)
    assert stats.answer_time == Estimate(10.5, statistics.stdev([9.0, 12.0]), 2)
    assert stats.non_human_durations == (0.2, 1.0, 3.0, 15.0, 25.0)
    assert stats.time == 60.0
    assert stats.agents == (("talk", 40.0),)
    assert (stats.ringing, stats.waiting) == ((2.5,), (1.5,))


def test_people_estimated_among_dropped_machines_count_as_abandons_in_the_day() -> None:
    """FTC and Ofcom: a person AMD took for a machine was an abandoned call; the cap is held with the estimate."""
    window = PacingWindow(amd_misread_share=0.05)
    for outcome in ["human"] * 60 + ["machine"] * 30 + ["busy"] * 10:
        window.dial_placed()
        window.dial_resolved(outcome, 5.0)
    window.abandoned()
    stats = window.snapshot(600.0, agents=[("free", 3.0)])
    assert window.day_machines == 30, "busy is no machine"
    assert (stats.day_dials, stats.day_answered, stats.day_abandoned) == (100, 62, 3), "30 x 5 % = 1.5: two people"
    assert (stats.recent_dials, stats.recent_humans) == (100, 60), "what the pacing learns of answers stays measured"
    window.amd_misread_share = 0.0
    assert window.snapshot(600.0, agents=[]).day_abandoned == 1, "no estimate: the measured abandons alone"


@pytest.mark.parametrize(("machines", "share", "people"), [(0, 0.1, 0), (4, 0.1, 0), (5, 0.1, 1), (14, 0.1, 1),
                                                          (15, 0.1, 2), (1, 0.5, 1), (200, 0.0, 0), (7, 0.03, 0)])
def test_the_estimate_rounds_half_up(machines: int, share: float, people: int) -> None:
    assert amd_misread(machines, share) == people


def test_the_outcome_window_keeps_the_last_dials_only() -> None:
    window = PacingWindow(outcome_window=4)
    for outcome, seconds in [("human", 10.0), ("busy", 3.0), ("no_answer", 25.0), ("human", 8.0),
                             ("congestion", 1.0), ("busy", 2.5)]:
        window.dial_resolved(outcome, seconds)
    stats = window.snapshot(0.0, agents=[])
    # The first two (a human, a busy) fell out; the day still counts both humans.
    assert (stats.recent_dials, stats.recent_humans) == (4, 1)
    assert stats.non_human_durations == (1.0, 2.5, 25.0)
    assert stats.day_answered == 2


def test_durations_are_the_last_samples() -> None:
    window = PacingWindow(duration_window=3)
    for seconds in (100.0, 200.0, 30.0, 60.0, 90.0):
        window.talk_ended(seconds)
        window.wrap_ended(seconds / 10)
    stats = window.snapshot(0.0, agents=[])
    assert stats.talk_time == Estimate(60.0, 30.0, 3)
    assert stats.wrap_time.mean == pytest.approx(6.0)
    assert stats.wrap_time.samples == 3


def test_a_long_day_of_samples_does_not_drift() -> None:
    window = PacingWindow(duration_window=50)
    for i in range(20000):
        window.talk_ended(100.0 + (i % 50))
    assert window.snapshot(0.0, agents=[]).talk_time.mean == pytest.approx(124.5, abs=1e-9)


def test_the_rate_window_is_the_last_answers_and_their_abandons() -> None:
    window = PacingWindow(rate_window=3)
    window.dial_resolved("human", 10.0)
    window.abandoned()
    window.dial_resolved("human", 10.0)
    window.dial_resolved("human", 10.0)
    stats = window.snapshot(0.0, agents=[])
    assert (stats.window_answered, stats.window_abandoned) == (3, 1)
    window.dial_resolved("human", 10.0)  # the first answer, and its abandon, leave the window
    stats = window.snapshot(0.0, agents=[])
    assert (stats.window_answered, stats.window_abandoned) == (3, 0)
    assert (stats.day_answered, stats.day_abandoned) == (4, 1)


def test_limits_go_into_the_snapshot_and_can_change_live() -> None:
    window = PacingWindow(cap=0.05, lines_per_agent=2, abandon_after=3.0)
    stats = window.snapshot(0.0, agents=[])
    assert (stats.cap, stats.lines_per_agent, stats.abandon_after) == (0.05, 2, 3.0)
    window.lines_per_agent = 1
    assert window.snapshot(0.0, agents=[]).lines_per_agent == 1


@pytest.mark.parametrize("outcome, seconds, field", [
    ("answered", 5.0, "outcome"),
    ("", 5.0, "outcome"),
    ("busy", -1.0, "seconds"),
    ("human", float("nan"), "seconds"),
])
def test_bad_facts_are_refused_naming_the_field(outcome: str, seconds: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PacingWindow().dial_resolved(outcome, seconds)


@pytest.mark.parametrize("agents, field", [
    ([("on_call", 3.0)], "agent state"),
    ([("free", -1.0)], "seconds in state"),
])
def test_bad_agent_states_are_refused(agents: list, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PacingWindow().snapshot(0.0, agents=agents)


def test_window_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate_window"):
        PacingWindow(rate_window=0)


def test_every_outcome_the_tracker_reports_is_accepted() -> None:
    window = PacingWindow()
    for outcome in OUTCOMES:
        window.dial_resolved(outcome, 5.0)
    assert window.snapshot(0.0, agents=[]).recent_dials == len(OUTCOMES)


def test_the_same_facts_give_the_same_snapshot() -> None:
    def replay() -> PacingStats:
        window = PacingWindow()
        for i in range(500):
            window.dial_placed()
            window.dial_resolved(OUTCOMES[i % len(OUTCOMES)], 1.0 + i % 23)
            if i % 3 == 0:
                window.talk_ended(60.0 + i % 97)
                window.wrap_ended(5.0 + i % 11)
            if i % 41 == 0:
                window.abandoned()
        return window.snapshot(1800.0, agents=[("talk", 30.0), ("wrap", 4.0), ("free", 1.0)], ringing=[3.0])

    assert replay() == replay()


def test_the_documented_example_runs_and_prints_what_the_doc_says() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", text, re.S)
    assert example, "docs/dialer_pacing.md has no python example"
    printed: list[str] = []
    exec(example.group(1), {"print": lambda *args: printed.append(" ".join(map(str, args)))})  # noqa: S102
    expected = re.search(r"prints `([^`]*)`", text)
    assert expected, "docs/dialer_pacing.md does not say what the example prints"
    assert printed == [expected.group(1)]
