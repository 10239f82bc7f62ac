"""OriginateResponse Reason codes (Asterisk control frames), as seen in the recordings."""

from __future__ import annotations

import pytest

from ami_bridge.calls.model import Outcome
from ami_bridge.calls.originate_reasons import outcome_for_reason, parse_reason
from tests.ami_bridge.trace_files import expected, records


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (0, Outcome.FAILED),  # nothing came back: no such channel
        (1, Outcome.NO_ANSWER),  # AST_CONTROL_HANGUP: hung up before answering
        (3, Outcome.NO_ANSWER),  # AST_CONTROL_RINGING: Originate Timeout while ringing
        (4, Outcome.ANSWERED),  # AST_CONTROL_ANSWER
        (5, Outcome.BUSY),  # AST_CONTROL_BUSY
        (8, Outcome.CONGESTION),  # AST_CONTROL_CONGESTION
        (16, Outcome.FAILED),  # a hangup cause number is not a Reason: unknown -> failed
        (None, Outcome.FAILED),
    ],
)
def test_reason_outcomes(reason: int | None, outcome: Outcome) -> None:
    assert outcome_for_reason(reason) == outcome


@pytest.mark.parametrize(("text", "value"), [("5", 5), (" 8 ", 8), ("", None), ("<unknown>", None), (None, None), (4, 4)])
def test_parse_reason(text: object, value: int | None) -> None:
    assert parse_reason(text) == value


def test_recorded_predictive_failures_match_their_designed_outcomes() -> None:
    designed = {c["action_id"]: c["outcome"] for c in expected("predictive_batch")}
    responses = [
        r["msg"] for r in records("predictive_batch") if r["dir"] == "in" and r["msg"].get("Event") == "OriginateResponse"
    ]
    failures = [m for m in responses if m["Response"] == "Failure"]
    assert {m["Reason"] for m in failures} == {"3", "5", "8"}
    for msg in failures:
        assert outcome_for_reason(parse_reason(msg["Reason"])) == designed[msg["ActionID"]]
    assert {m["Reason"] for m in responses if m["Response"] == "Success"} == {"4"}
