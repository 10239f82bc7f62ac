"""Retry rules as plain data: an outcome and the attempts so far in, the lead's next state out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.errors import InvalidInput
from dialer.retries import NOT_DIALS, OUTCOMES, RetryDecision, RetryRules, after_outcome

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
DEFAULT = RetryRules()


@pytest.mark.parametrize("outcome, delay", [
    ("busy", timedelta(minutes=10)), ("no_answer", timedelta(hours=2)), ("congestion", timedelta(minutes=5)),
    ("failed", timedelta(minutes=30)), ("machine", timedelta(hours=4)), ("lost", timedelta(hours=1)),
    ("skipped", timedelta(days=1)), ("operator_missed", timedelta(minutes=5)),
])
def test_each_outcome_has_its_delay(outcome: str, delay: timedelta) -> None:
    assert after_outcome(DEFAULT, outcome, 1, NOW)[:2] == RetryDecision("ready", NOW + delay, None)[:2]


def test_answered_is_done_and_the_disposition_decides_the_rest() -> None:
    assert after_outcome(DEFAULT, "answered", 1, NOW) == ("done", None, None)


def test_an_abandon_holds_the_number_for_72_hours() -> None:
    state, retry, hold = after_outcome(DEFAULT, "abandoned", 1, NOW)
    assert (state, hold) == ("ready", NOW + timedelta(hours=72))
    assert retry == NOW + timedelta(hours=1)  # sooner only with an agent guaranteed (lease_leads)
    with pytest.raises(InvalidInput):
        RetryRules.from_json({"abandon_hold_hours": 24})  # the rule of issue 6 is a floor


def test_a_machine_is_called_again_later_and_for_a_day_only_with_an_agent_guaranteed() -> None:
    # Ofcom: a number AMD took for a machine may be a person it misread.
    state, retry, hold = after_outcome(DEFAULT, "machine", 1, NOW)
    assert (state, retry, hold) == ("ready", NOW + timedelta(hours=4), NOW + timedelta(hours=24))


def test_max_attempts_fail_the_lead_and_recycling_rests_it_first() -> None:
    assert after_outcome(DEFAULT, "no_answer", 4, NOW).lead_state == "ready"
    assert after_outcome(DEFAULT, "no_answer", 5, NOW) == ("failed", None, None)
    recycled = RetryRules(max_attempts=3, recycles=1, recycle_hours=24)
    assert recycled.attempts_allowed == 6
    assert after_outcome(recycled, "busy", 3, NOW) == ("ready", NOW + timedelta(hours=24), None)
    assert after_outcome(recycled, "busy", 4, NOW) == ("ready", NOW + timedelta(minutes=10), None)
    assert after_outcome(recycled, "busy", 6, NOW).lead_state == "failed"
    assert after_outcome(recycled, "skipped", 6, NOW).lead_state == "ready"  # a skip is no dial
    assert after_outcome(recycled, "operator_missed", 6, NOW).lead_state == "ready"  # nor a call the operator missed


def test_rules_from_json() -> None:
    rules = RetryRules.from_json({"busy_minutes": 15, "max_attempts": 8})
    assert (rules.busy_minutes, rules.max_attempts, rules.no_answer_minutes) == (15, 8, 120)
    assert RetryRules.from_json(rules.to_json()) == rules
    for bad, field in (({"busy_minutes": 0}, "busy_minutes"), ({"max_attempts": "5"}, "max_attempts"),
                       ({"max_attempts": True}, "max_attempts"), ({"retry_after": 5}, "retry_after")):
        with pytest.raises(InvalidInput) as caught:
            RetryRules.from_json(bad)
        assert field in caught.value.message
    with pytest.raises(ValueError):
        after_outcome(DEFAULT, "exploded", 1, NOW)


@settings(max_examples=300, deadline=None)
@given(outcome=st.sampled_from(OUTCOMES), attempts=st.integers(0, 60), max_attempts=st.integers(1, 10),
       recycles=st.integers(0, 3))
def test_a_lead_is_never_retried_past_its_allowance_nor_at_once(outcome: str, attempts: int, max_attempts: int,
                                                                recycles: int) -> None:
    rules = RetryRules(max_attempts=max_attempts, recycles=recycles)
    state, retry, hold = after_outcome(rules, outcome, attempts, NOW)
    assert state in ("ready", "done", "failed")
    if state == "ready":
        assert retry is not None and retry > NOW
        assert outcome in NOT_DIALS or attempts < rules.attempts_allowed
    else:
        assert retry is None
    assert (hold is not None) == (outcome in ("abandoned", "machine"))
