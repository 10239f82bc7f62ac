"""AMI recorded by other projects (other Asterisk versions, other dialplans, chan_sip).

cacofonisk (Asterisk 13, chan_sip + Local): every file must read without an error
and every call must end; where the fixture's name says how the call went, the
outcome must say the same. panoramisk (mostly Asterisk 11, AMI v1): every capture
parses and goes through the tracker without an error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ami_bridge.calls.model import CallEnded, FinishedCall, Outcome
from ami_bridge.calls.tracker import CallTracker
from ami_bridge.protocol import AmiParser
from tests.ami_bridge.trace_files import MISSING, require, third_party_dir

NOT_ANSWERED = {Outcome.ABANDONED, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED, Outcome.CONGESTION}

# What the fixture names say (cacofonisk's own test suite describes the same calls).
CACOFONISK_OUTCOMES: dict[str, set[Outcome]] = {
    "simple/ab_success_a_hangup.json": {Outcome.ANSWERED},
    "simple/ab_success_b_hangup.json": {Outcome.ANSWERED},
    "simple/ab_success_o3.json": {Outcome.ANSWERED},
    "simple/ab_success_twoclients.json": {Outcome.ANSWERED},
    "simple/ab_callgroup.json": {Outcome.ANSWERED},
    "simple/ab_reject.json": {Outcome.BUSY},
    "simple/ab_dnd.json": {Outcome.BUSY},
    "simple/ab_a_cancel.json": {Outcome.ABANDONED},  # A hung up while B rang
    "simple/ab_callgroup_no_answer.json": {Outcome.NO_ANSWER},
    "simple/a_created_no_answer.json": NOT_ANSWERED,
    "queue/queue_simple.json": {Outcome.ANSWERED},
    "queue/queue_group.json": {Outcome.ANSWERED},
    "queue/queue_a_cancel.json": NOT_ANSWERED,
    "mobile/acceptance_simple.json": {Outcome.ANSWERED},
    "mobile/acceptance_reject.json": NOT_ANSWERED,
    "mobile/acceptance_timeout.json": NOT_ANSWERED,
    "originate/ctd-account-world.json": {Outcome.ANSWERED},
    "originate/ctd-account-account.json": {Outcome.ANSWERED},
    "originate/ctd-account-world-no-ringing.json": {Outcome.ANSWERED},
    "originate/cmn-world-world.json": {Outcome.ANSWERED},
    "originate/ctd-account-world-deny-b.json": {Outcome.BUSY},  # the world number was busy
    "originate/ctd-account-world-deny-a.json": NOT_ANSWERED,  # the account never took the call
    "originate/cmn-world-world-unaccepted.json": NOT_ANSWERED,
}


def _cacofonisk_root() -> Path:
    return third_party_dir() / "cacofonisk" / "fixtures"


def _cacofonisk_files() -> list[str]:
    root = _cacofonisk_root()
    if not root.is_dir():
        return [MISSING]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.json"))


def _run_cacofonisk(name: str) -> tuple[list[FinishedCall], CallTracker]:
    path = require(_cacofonisk_root() / name) if name != MISSING else require(_cacofonisk_root())
    fixture = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(fixture, list) and fixture
    tracker = CallTracker()
    updates = []
    for event in fixture:
        updates += tracker.feed(event)  # no timestamps in these recordings
    updates += tracker.drain()
    return [u.call for u in updates if isinstance(u, CallEnded)], tracker


def test_the_clear_cases_are_all_present() -> None:
    assert set(CACOFONISK_OUTCOMES) <= set(_cacofonisk_files())
    assert len(_cacofonisk_files()) == 51


@pytest.mark.parametrize("name", _cacofonisk_files())
def test_cacofonisk_fixture_reads_and_every_call_ends(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ami_bridge")
    calls, tracker = _run_cacofonisk(name)
    assert calls, name
    assert tracker.live_calls == 0
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    for call in calls:
        assert call.outcome in Outcome
        assert call.uniqueids
        assert (call.talk_seconds is not None) <= (call.outcome == Outcome.ANSWERED)
        if call.outcome != Outcome.ANSWERED:
            assert call.agent is None or call.direction == "outbound"
    wanted = CACOFONISK_OUTCOMES.get(name)
    if wanted is not None:
        assert {c.outcome for c in calls} <= wanted, [(c.number, c.outcome) for c in calls]


def test_cacofonisk_answered_call_names_caller_and_callee() -> None:
    [call] = _run_cacofonisk("simple/ab_success_a_hangup.json")[0]
    assert (call.direction, call.number, call.agent, call.hangup_cause) == ("inbound", "201", "150010002", 16)
    assert call.call_id == "195176c06ab8-1529936170.42"


def _panoramisk_files() -> list[str]:
    root = third_party_dir() / "panoramisk" / "fixtures"
    if not root.is_dir():
        return [MISSING]
    return sorted(p.name for p in root.iterdir() if p.is_file())


@pytest.mark.parametrize("name", _panoramisk_files())
def test_panoramisk_capture_goes_through_parser_and_tracker(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ami_bridge")
    path = require(third_party_dir() / "panoramisk" / "fixtures" / name) if name != MISSING else require(Path(MISSING))
    parser = AmiParser()
    messages = parser.feed(path.read_bytes()) + parser.feed(b"\r\n\r\n")
    assert messages
    tracker = CallTracker()
    for message in messages:
        assert isinstance(tracker.feed(message, None), list)
    tracker.drain()
    assert not caplog.records, [r.getMessage() for r in caplog.records]


def test_panoramisk_asterisk_11_originate_is_followed_to_its_end() -> None:
    path = require(third_party_dir() / "panoramisk" / "fixtures" / "originate_with_events.yaml")
    tracker = CallTracker()
    ended = []
    for message in AmiParser().feed(path.read_bytes()):
        ended += [u.call for u in tracker.feed(message) if isinstance(u, CallEnded)]
    ended += [u.call for u in tracker.drain() if isinstance(u, CallEnded)]
    # AMI v1: no Linkedid, "Dial"/"Bridge" events; the Local pair and what it dialled are one call.
    [call] = ended
    assert call.outcome == Outcome.ANSWERED
    assert len(call.uniqueids) >= 3
