"""The campaign simulator: same clients for every mode, the cap held, the bound above all."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from dialer.cli_commands import add_simulate_arguments, simulate_command
from dialer.simulation.bound import bound_occupancy
from dialer.simulation.engine import run_day
from dialer.simulation.model import ClientDraws, ClientModel, Outcome
from dialer.simulation.modes import MODES, make_controller
from dialer.simulation.runner import simulate


def test_same_seed_same_clients_whatever_the_mode() -> None:
    model = ClientModel()
    reference = ClientDraws(7, model)
    for mode in MODES:
        draws = ClientDraws(7, model)
        figures = run_day(draws, 5, 0.5, make_controller(mode, 1800.0))
        assert figures.dials > 0
        assert draws.drawn() >= figures.dials
        assert [draws[k] for k in range(figures.dials)] == [reference[k] for k in range(figures.dials)]


def test_client_sequence_follows_the_issue_model() -> None:
    draws = ClientDraws(11, ClientModel())
    sample = [draws[k] for k in range(20000)]
    share = {kind: sum(d.outcome is kind for d in sample) / len(sample) for kind in Outcome}
    # A human or machine who would pick up after the 25 s timeout counts as no answer.
    assert 0.28 < share[Outcome.HUMAN] <= 0.31
    assert 0.09 < share[Outcome.BUSY] < 0.11
    assert 0.45 <= share[Outcome.NO_ANSWER] < 0.48
    humans = [d for d in sample if d.outcome is Outcome.HUMAN]
    assert 105 < sum(d.talk for d in humans) / len(humans) < 135
    assert all(d.result_after < 25.0 for d in humans)
    assert {d.result_after for d in sample if d.outcome is Outcome.BUSY} == {3.0}


def test_changing_a_probability_keeps_the_later_clients() -> None:
    a = ClientDraws(3, ClientModel())
    b = ClientDraws(3, ClientModel(p_human=0.40, p_no_answer=0.35))
    assert [a[k].outcome for k in range(500)] != [b[k].outcome for k in range(500)]
    same_talk = [a[k].talk == b[k].talk for k in range(500) if a[k].outcome is b[k].outcome is Outcome.HUMAN]
    assert same_talk and all(same_talk)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_predictive_ten_agents_one_hour_holds_the_cap_and_beats_progressive(seed: int) -> None:
    predictive = simulate("predictive", 10, 1.0, seed)
    progressive = simulate("progressive", 10, 1.0, seed)
    assert predictive["abandon_rate"] <= 0.03
    assert predictive["occupancy"] > progressive["occupancy"]
    assert predictive["talk_minutes_per_agent_hour"] > progressive["talk_minutes_per_agent_hour"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_predictive_three_agents_holds_the_cap(seed: int) -> None:
    result = simulate("predictive", 3, 2.0, seed)
    assert result["answered"] > 50
    assert result["abandon_rate"] <= 0.03


def test_one_agent_never_has_more_than_two_lines() -> None:
    result = simulate("predictive", 1, 3.0, 1)
    assert result["max_lines"] <= 2
    assert result["abandon_rate"] <= 0.03


@pytest.mark.parametrize("mode", MODES)
def test_bound_is_above_every_mode(mode: str) -> None:
    result = simulate(mode, 5, 1.0, 9)
    assert result["bound_occupancy"] >= result["occupancy"]
    assert result["bound_occupancy"] <= 1.0


def test_progressive_and_preview_never_abandon_and_preview_is_slower() -> None:
    progressive = simulate("progressive", 5, 1.0, 4)
    preview = simulate("preview", 5, 1.0, 4)
    assert progressive["abandoned"] == preview["abandoned"] == 0
    assert preview["occupancy"] < progressive["occupancy"]


def test_a_high_fixed_ratio_breaks_the_cap_that_predictive_holds() -> None:
    ratio = simulate("ratio", 10, 1.0, 2, ratio=3.0)
    predictive = simulate("predictive", 10, 1.0, 2)
    assert ratio["abandon_rate"] > 0.03 >= predictive["abandon_rate"]


def test_output_is_deterministic_for_a_seed() -> None:
    assert simulate("adaptive-baseline", 4, 0.5, 21) == simulate("adaptive-baseline", 4, 0.5, 21)
    assert simulate("predictive", 4, 0.5, 21) == simulate("predictive", 4, 0.5, 21)
    assert simulate("predictive", 4, 0.5, 21) != simulate("predictive", 4, 0.5, 22)


def test_bound_walks_only_human_clients() -> None:
    model = ClientModel(p_human=1.0, p_busy=0.0, p_no_answer=0.0, p_congestion=0.0, p_machine=0.0,
                        answer_sd=0.0, answer_mean=10.0, talk_sd=0.0, talk_mean=80.0, wrap_sd=0.0, wrap_mean=10.0)
    # Every agent waits 10 s for its first client, then is busy: (3600 - 10) / 3600.
    assert bound_occupancy(ClientDraws(1, model), 2, 1.0) == pytest.approx(3590 / 3600)


def run_cli(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = simulate_command(parser.parse_args(list(argv)), out, err)
    return code, out.getvalue(), err.getvalue()


def test_cli_prints_one_json_object_with_the_figures() -> None:
    code, out, _ = run_cli("--mode", "predictive", "--agents", "4", "--hours", "0.5", "--seed", "8", "--json")
    assert code == 0
    result = json.loads(out)
    for key in ("occupancy", "abandon_rate", "answered", "abandoned", "dials",
                "talk_minutes_per_agent_hour", "bound_occupancy"):
        assert key in result
    assert result == simulate("predictive", 4, 0.5, 8)


def test_cli_table_and_client_model_options() -> None:
    code, out, _ = run_cli("--mode", "ratio", "--ratio", "1.5", "--agents", "2", "--hours", "0.25",
                           "--p-human", "0.5", "--p-no-answer", "0.25")
    assert code == 0
    assert "occupancy" in out and "bound_occupancy" in out


@pytest.mark.parametrize("argv, message", [
    (("--p-human", "0.9"), "sum to 1"),
    (("--agents", "0"), "--agents"),
    (("--hours", "-1"), "--hours"),
    (("--mode", "ratio", "--ratio", "0.5"), "ratio"),
    (("--talk-mean", "0"), "talk_mean"),
    (("--lines-per-agent", "0"), "lines_per_agent"),
])
def test_cli_refuses_bad_options_naming_them(argv: tuple[str, ...], message: str) -> None:
    code, out, err = run_cli(*argv)
    assert code == 2
    assert out == ""
    assert message in err
