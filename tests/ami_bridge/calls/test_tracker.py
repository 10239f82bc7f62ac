"""The call tracker, driven by the recorded Asterisk sessions (and cuts of them)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from ami_bridge.calls.model import (
    AgentRinging,
    CallAnswered,
    CallBridged,
    CallEnded,
    CallStarted,
    Direction,
    FinishedCall,
    Outcome,
)
from ami_bridge.calls.tracker import CallTracker
from ami_bridge.replay import replay_records
from tests.ami_bridge.trace_files import (
    expected as expected_calls,
    events,
    records,
    require,
    third_party_dir,
    trace_names,
)

KEY_FIELDS = ("call_id", "action_id", "direction", "number", "caller_name", "did", "queue", "agent", "outcome", "talk_seconds")


def drive(name: str, *, announce_originates: bool = True, tracker: CallTracker | None = None) -> list[tuple[int, dict, Any]]:
    """Feed a scenario record by record; return ``(record index, message, update)`` per update."""
    tracker = tracker or CallTracker()
    produced: list[tuple[int, dict, Any]] = []
    for index, record in enumerate(records(name)):
        msg = record["msg"]
        if record["dir"] == "in" and "Event" in msg:
            updates = tracker.feed(msg, record["t"])
        elif record["dir"] == "out" and msg.get("Action") == "Originate" and announce_originates:
            updates = tracker.originate_sent(msg, record["t"])
        else:
            continue
        produced += [(index, msg, update) for update in updates]
    produced += [(len(records(name)), {}, update) for update in tracker.drain()]
    return produced


def of_type(produced: list[tuple[int, dict, Any]], kind: type) -> list[tuple[int, dict, Any]]:
    return [item for item in produced if isinstance(item[2], kind)]


def finished(produced: list[tuple[int, dict, Any]]) -> list[FinishedCall]:
    return [update.call for _, _, update in of_type(produced, CallEnded)]


def first_index(name: str, predicate) -> int:
    return next(i for i, r in enumerate(records(name)) if r["dir"] == "in" and predicate(r["msg"]))


# ------------------------------------------------------------------ screen pop


def test_click_to_call_pops_the_screen_when_the_agent_phone_starts_ringing() -> None:
    produced = drive("click_to_call_answered")
    [(index, cause, ringing)] = of_type(produced, AgentRinging)
    # The Originate's own Dial of the agent leg (no calling channel) caused it...
    assert cause["Event"] == "DialBegin" and "Channel" not in cause
    # ...long before the agent picked up.
    agent_answer = first_index(
        "click_to_call_answered", lambda m: m.get("Event") == "DialEnd" and "Channel" not in m and m["DialStatus"] == "ANSWER"
    )
    assert index < agent_answer
    assert ringing == AgentRinging(
        call_id="1795441645.0",
        agent="101",
        agent_channel="Local/101@agents",
        channel="Local/101@agents-00000000;1",
        uniqueid="1795441645.0",
        number="79161234567",
        caller_name="Иван Петров",
        direction=Direction.OUTBOUND,
        queue=None,
        action_id="zv-3237e177bb",
        t=ringing.t,
    )
    [(answered_at, _, answered)] = of_type(produced, CallAnswered)
    assert answered_at > agent_answer and answered.agent == "101"


def test_click_to_call_on_a_pjsip_phone_pops_for_the_endpoint() -> None:
    produced = drive("pjsip/click_to_call_pjsip_answered")
    [(index, cause, ringing)] = of_type(produced, AgentRinging)
    assert cause["Event"] == "DialBegin"
    assert (ringing.agent, ringing.agent_channel, ringing.channel) == ("202", "PJSIP/202", "PJSIP/202-00000000")
    assert (ringing.number, ringing.caller_name) == ("380501234567", "Олена Коваль")
    assert index < first_index("pjsip/click_to_call_pjsip_answered", lambda m: m.get("Event") == "OriginateResponse")


def test_queue_pops_the_screen_for_every_member_rung_before_anyone_answers() -> None:
    name = "inbound_queue_answered"
    produced = drive(name)
    pops = of_type(produced, AgentRinging)
    assert [p[2].agent for p in pops] == ["201", "202"]
    connect = first_index(name, lambda m: m.get("Event") == "AgentConnect")
    for index, cause, ringing in pops:
        assert cause["Event"] == "AgentCalled"
        assert index < connect
        assert ringing.queue == "support"
        assert ringing.direction == Direction.INBOUND
        assert (ringing.number, ringing.caller_name) == ("79031234567", "Мария Сидорова")
        assert ringing.action_id == "zv-0ada7e274c"
        assert ringing.agent_channel == f"Local/{ringing.agent}@queue-agents"


def test_pjsip_queue_pops_for_each_phone() -> None:
    pops = [p[2] for p in of_type(drive("pjsip/inbound_pjsip_queue_answered"), AgentRinging)]
    assert [(p.agent, p.agent_channel) for p in pops] == [("201", "PJSIP/201"), ("202", "PJSIP/202"), ("203", "PJSIP/203")]
    assert {(p.queue, p.number, p.caller_name, p.action_id) for p in pops} == {
        ("support-sip", "375291234567", "Андрей Ковалёв", None)
    }


def test_every_ring_round_pops_again_and_an_abandoned_call_is_never_answered() -> None:
    produced = drive("inbound_queue_abandon")
    assert [p[2].agent for p in of_type(produced, AgentRinging)] == ["203", "204", "203", "204"]
    assert not of_type(produced, CallAnswered)
    [call] = finished(produced)
    assert call.outcome == Outcome.ABANDONED and call.agent is None and call.queue == "sales"


def test_predictive_pops_only_for_clients_who_reached_the_queue() -> None:
    name = "predictive_batch"
    produced = drive(name)
    pops = [p[2] for p in of_type(produced, AgentRinging)]
    called = [r["msg"] for r in records(name) if r["dir"] == "in" and r["msg"].get("Event") == "AgentCalled"]
    assert len(pops) == len(called)
    numbers = {c.call_id: c.number for c in finished(produced)}
    for pop in pops:
        assert pop.queue == "campaign" and pop.direction == Direction.OUTBOUND
        assert pop.number == numbers[pop.call_id]
        assert pop.action_id and pop.action_id.startswith("zv-")


# ------------------------------------------------------------------ the update stream


@pytest.mark.parametrize("name", trace_names())
def test_each_call_starts_once_and_ends_once(name: str) -> None:
    produced = drive(name)
    by_call: dict[str, list[Any]] = {}
    for _, _, update in produced:
        by_call.setdefault(update.call_id, []).append(update)
    assert by_call
    for call_id, updates in by_call.items():
        assert isinstance(updates[0], CallStarted), call_id
        assert isinstance(updates[-1], CallEnded), call_id
        assert sum(isinstance(u, CallStarted) for u in updates) == 1
        assert sum(isinstance(u, CallEnded) for u in updates) == 1
        answered = [u for u in updates if isinstance(u, CallAnswered)]
        bridged = [u for u in updates if isinstance(u, CallBridged)]
        outcome = updates[-1].call.outcome
        assert len(answered) == (1 if outcome == Outcome.ANSWERED else 0)
        assert bool(bridged) == (outcome == Outcome.ANSWERED)
        assert updates[0].direction == updates[-1].call.direction


@pytest.mark.parametrize("name", trace_names())
def test_events_alone_give_the_same_calls_as_with_originates_announced(name: str) -> None:
    with_sent = finished(drive(name))
    events_only = finished(drive(name, announce_originates=False))
    key = lambda call: call.call_id
    assert [
        {f: getattr(c, f) for f in KEY_FIELDS} for c in sorted(events_only, key=key)
    ] == [{f: getattr(c, f) for f in KEY_FIELDS} for c in sorted(with_sent, key=key)]


@pytest.mark.parametrize("name", trace_names())
def test_every_event_delivered_twice_changes_nothing(name: str) -> None:
    tracker = CallTracker()
    twice: list[FinishedCall] = []
    for t, msg in events(name):
        twice += [u.call for u in tracker.feed(msg, t) + tracker.feed(dict(msg), t) if isinstance(u, CallEnded)]
    once = finished(drive(name, announce_originates=False))
    assert [{f: getattr(c, f) for f in KEY_FIELDS} for c in twice] == [{f: getattr(c, f) for f in KEY_FIELDS} for c in once]


def test_queue_member_channels_belong_to_the_call() -> None:
    [call] = finished(drive("inbound_queue_answered"))
    # caller ;1/;2 and both members' ;1/;2 halves (201 answered, 202 was cancelled)
    assert len(call.uniqueids) == 6
    assert call.call_id == "1795441670.12"


def test_talk_time_is_measured_not_taken_from_answeredtime() -> None:
    # ANSWEREDTIME on the agent leg says 5 s (it counts from the agent's own answer);
    # the client talked from bridge entry (3.509) to the client's hangup (7.014).
    [call] = finished(drive("click_to_call_answered"))
    assert call.answered_at == pytest.approx(3.509, abs=0.01)
    assert call.ended_at == pytest.approx(7.015, abs=0.01)
    assert call.talk_seconds == 3


def test_finished_call_json_is_plain_data() -> None:
    [call] = finished(drive("pjsip/inbound_pjsip_queue_answered"))
    data = call.to_json()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["direction"] == "inbound" and type(data["direction"]) is str
    assert data["outcome"] == "answered" and type(data["outcome"]) is str
    assert {"action_id", "direction", "number", "outcome", "agent", "talk_seconds", "uniqueids"} <= data.keys()
    assert data["agent_channel"] == "PJSIP/203" and data["hangup_cause"] == 16


# ------------------------------------------------------------------ originates


def _predictive(action_id: str) -> tuple[dict, dict]:
    """The recorded Originate action and its OriginateResponse."""
    rows = records("predictive_batch")
    action = next(r for r in rows if r["dir"] == "out" and r["msg"].get("ActionID") == action_id)
    response = next(r for r in rows if r["dir"] == "in" and r["msg"].get("Event") == "OriginateResponse" and r["msg"]["ActionID"] == action_id)
    return action, response


@pytest.mark.parametrize("announce", [True, False])
def test_failed_originate_that_never_produced_a_channel_is_still_reported(announce: bool) -> None:
    action, response = _predictive("zv-ce23f1116e")
    tracker = CallTracker()
    if announce:
        assert tracker.originate_sent(action["msg"], action["t"]) == []
    assert tracker.feed(response["msg"], response["t"]) == []  # its channels may still come
    assert tracker.feed({"Event": "FullyBooted", "Status": "Fully Booted"}, response["t"] + 1.0) == []
    updates = tracker.feed({"Event": "FullyBooted", "Status": "Fully Booted"}, response["t"] + 6.0)
    assert [type(u) for u in updates] == [CallStarted, CallEnded]
    call = updates[1].call
    assert (call.call_id, call.action_id) == ("zv-ce23f1116e", "zv-ce23f1116e")
    assert (call.outcome, call.number, call.caller_name) == (Outcome.BUSY, "380670000007", "Микола Ткачук")
    assert call.uniqueids == () and call.hangup_cause is None
    assert call.ended_at == response["t"]
    assert tracker.live_calls == 0


def test_failed_originate_response_before_its_channels_is_matched_to_them() -> None:
    # In the recording the busy response of zv-ce23f1116e overtakes its own Newchannel.
    calls = {c.action_id: c for c in finished(drive("predictive_batch", announce_originates=False))}
    call = calls["zv-ce23f1116e"]
    assert call.outcome == Outcome.BUSY and len(call.uniqueids) == 2 and call.hangup_cause == 17


def test_tick_closes_a_parked_failure_on_a_quiet_link() -> None:
    _, response = _predictive("zv-b9b1a0965f")
    tracker = CallTracker()
    tracker.feed(response["msg"], response["t"])
    assert tracker.next_deadline() == pytest.approx(response["t"] + 5.0)
    assert tracker.tick(response["t"] + 4.9) == []
    [started, ended] = tracker.tick(response["t"] + 5.0)
    assert isinstance(started, CallStarted) and ended.call.outcome == Outcome.CONGESTION
    assert tracker.next_deadline() is None


def test_originate_that_never_gets_a_response_is_given_up_after_its_timeout() -> None:
    action, _ = _predictive("zv-043d49c326")
    tracker = CallTracker()
    tracker.originate_sent(action["msg"], 100.0)
    assert tracker.feed({"Event": "FullyBooted"}, 100.0 + 20 + 29) == []  # Timeout 20000 ms + margin
    updates = tracker.feed({"Event": "FullyBooted"}, 100.0 + 20 + 31)
    call = updates[-1].call
    assert call.outcome == Outcome.FAILED and call.end_observed is False and call.number == "375290000008"


def test_originate_hints_name_the_agent_and_client_when_exten_does_not() -> None:
    name = "click_to_call_answered"
    action = next(r for r in records(name) if r["dir"] == "out" and r["msg"].get("Action") == "Originate")
    # A dialplan that takes the client from a variable: Exten says nothing.
    disguised = dict(action["msg"], Exten="s")
    tracker = CallTracker()
    tracker.originate_sent(disguised, action["t"], agent="101", number="79161234567")
    produced = []
    for t, msg in events(name):
        produced += tracker.feed(msg, t)
    [ringing] = [u for u in produced if isinstance(u, AgentRinging)]
    assert (ringing.agent, ringing.number) == ("101", "79161234567")
    [ended] = [u for u in produced if isinstance(u, CallEnded)]
    assert (ended.call.outcome, ended.call.agent, ended.call.talk_seconds) == (Outcome.ANSWERED, "101", 3)


def test_click_to_call_whose_agent_never_answers_says_the_client_was_not_dialled() -> None:
    """The agent leg rings out (a cut of click_to_call_no_answer before the agent answers): no client leg ever existed.

    A preview card's call is the same Originate; the dialer must not count it as a dial of the client.
    """
    name = "click_to_call_no_answer"
    recs = records(name)
    response_at = first_index(name, lambda m: m.get("Event") == "OriginateResponse")
    real_response = recs[response_at]
    tracker = CallTracker()
    produced = []
    for record in recs[:response_at]:
        msg = record["msg"]
        if record["dir"] == "out" and msg.get("Action") == "Originate":
            produced += tracker.originate_sent(msg, record["t"])
        elif record["dir"] == "in" and "Event" in msg:
            produced += tracker.feed(msg, record["t"])
    t = real_response["t"]
    for leg in (";2", ";1"):
        produced += tracker.feed({"Event": "Hangup", "Channel": f"Local/101@agents-00000004{leg}", "Cause": "19",
                                  "Uniqueid": "1795441661.9" if leg == ";2" else "1795441661.8"}, t)
    produced += tracker.feed({**real_response["msg"], "Response": "Failure", "Reason": "3", "Uniqueid": "<unknown>"}, t)
    produced += tracker.drain()
    [ended] = [u.call for u in produced if isinstance(u, CallEnded)]
    assert (ended.client_dialled, ended.outcome, ended.agent) == (False, Outcome.FAILED, "101")
    whole = {c.action_id: c for c in finished(drive(name))}
    assert all(c.client_dialled for c in whole.values()), "the recorded call did dial its client"


# ------------------------------------------------------------------ bad input


GARBAGE: list[Any] = [
    {},
    {"Response": "Success", "ActionID": "zv-1", "Message": "Originate successfully queued"},
    {"Event": "Hangup", "Uniqueid": "1795441645.999", "Cause": "16"},
    {"Event": "DialEnd", "DestUniqueid": "nope", "DialStatus": "ANSWER"},
    {"Event": "BridgeEnter", "Uniqueid": "nope", "BridgeUniqueid": "b-1"},
    {"Event": "BridgeLeave"},
    {"Event": "Newchannel"},
    {"Event": "OriginateResponse", "Response": "Failure"},
    {"Event": "OriginateResponse", "ActionID": ["a", "b"], "Response": "Success"},
    {"Event": ["Hangup", "Hangup"], "Uniqueid": "x"},
    {"Event": "Newchannel", "Uniqueid": ["1.1", "1.2"], "Channel": "PJSIP/201-00000001"},
    {"Event": "AgentComplete", "Uniqueid": "zzz", "TalkTime": "abc"},
    {"Event": "VarSet", "Variable": "ANSWEREDTIME_MS", "Value": "", "Uniqueid": "zzz"},
    {"Event": "QueueCallerJoin", "Uniqueid": "zzz", "Queue": "support"},
    {"Event": "AgentCalled", "DestUniqueid": "zzz"},
    {"Event": "LocalBridge", "LocalOneUniqueid": "a"},
    {"Event": "SomeFutureEvent", "Uniqueid": "zzz"},
    {"Event": "Dial", "SubEvent": "Begin", "UniqueID": "q", "DestUniqueID": "r"},
    {"Event": "Bridge", "Bridgestate": "Link", "Uniqueid1": "q", "Uniqueid2": "r"},
    {"Event": "UserEvent", "UserEvent": "ZvonarMachine", "Uniqueid": ["1.1"]},
    {"Event": "UserEvent", "UserEvent": "ZvonarMachine", "Uniqueid": "zzz"},
]


def test_a_machine_the_dialplan_dropped_is_a_machine_not_an_abandon() -> None:
    """predictive_batch with the dialplan's AMD verdict added for one of its answered clients."""
    rows = [r for r in records("predictive_batch") if r["dir"] == "in" and "Event" in r["msg"]]
    answer = next(i for i, r in enumerate(rows)
                  if r["msg"].get("Event") == "OriginateResponse" and r["msg"]["ActionID"] == "zv-0c5ec16327")
    uniqueid = rows[answer]["msg"]["Uniqueid"]
    verdict = {"Event": "UserEvent", "UserEvent": "ZvonarMachine", "Channel": "PJSIP/trunk-00000004",
               "Uniqueid": uniqueid, "Linkedid": uniqueid, "Campaign": "7", "Cause": "MAXWORDLENGTH-5000-5000"}
    rows.insert(answer + 1, {"t": rows[answer]["t"] + 3.0, "msg": verdict})
    tracker = CallTracker()
    produced = [u for r in rows for u in tracker.feed(r["msg"], r["t"])] + tracker.drain()
    outcomes = {u.call.action_id: u.call.outcome for u in produced if isinstance(u, CallEnded)}
    expected = {c["action_id"]: c["outcome"] for c in expected_calls("predictive_batch")}
    assert outcomes == {**expected, "zv-0c5ec16327": Outcome.MACHINE}


def test_garbage_and_unknown_channels_are_skipped_without_harm(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ami_bridge.calls.tracker")
    tracker = CallTracker()
    for junk in GARBAGE:
        assert tracker.feed(junk, 1.0) == []
    assert any("ami.tracker.unknown_channel" in r.getMessage() for r in caplog.records)
    # ...and it still tracks a real call correctly afterwards.
    produced = []
    for t, msg in events("click_to_call_busy"):
        produced += tracker.feed(msg, t)
    [ended] = [u for u in produced if isinstance(u, CallEnded)]
    assert (ended.call.outcome, ended.call.number, ended.call.agent) == (Outcome.BUSY, "380671234567", "102")


def test_a_non_mapping_event_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ami_bridge.calls.tracker")
    assert CallTracker().feed("Event: Hangup", 1.0) == []  # type: ignore[arg-type]
    assert any("ami.tracker.malformed_event" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ reconnects


def _without_call(rows: list[dict], linkedid: str, conns: set[int], *, drop_listing: bool) -> list[dict]:
    """The session with every message of one call removed from the connections ``conns``."""
    uids = {r["msg"]["Uniqueid"] for r in rows if r["msg"].get("Linkedid") == linkedid and "Uniqueid" in r["msg"]}
    kept = []
    for r in rows:
        msg = r["msg"]
        listing = msg.get("Event") in ("CoreShowChannel", "Status")
        mentions = msg.get("Uniqueid") in uids or msg.get("DestUniqueid") in uids
        if r["dir"] == "in" and r["conn"] in conns and mentions and (drop_listing or not listing):
            continue
        kept.append(r)
    return kept


def test_call_that_ended_while_the_link_was_down_is_closed_at_resync() -> None:
    rows = records("reconnect_resync")
    dropped_at = next(r["t"] for r in rows if r["dir"] == "meta")
    linkedid = "1795441726.62"  # agent 105 <-> 375447654321
    calls = replay_records(_without_call(rows, linkedid, {2}, drop_listing=True))
    by_id = {c["call_id"]: c for c in calls}
    assert calls[0]["call_id"] == linkedid  # closed at resync, before the others hang up
    lost = by_id[linkedid]
    assert lost["outcome"] == "answered" and lost["agent"] == "105" and lost["number"] == "375447654321"
    assert lost["end_observed"] is False
    assert lost["ended_at"] == dropped_at
    assert lost["talk_seconds"] == int(dropped_at - lost["answered_at"])  # what is known: at least that
    assert lost["hangup_cause"] is None
    for other in calls[1:]:
        assert other["end_observed"] is True and other["talk_seconds"] == 20


def test_calls_still_listed_after_reconnect_go_on_and_a_second_listing_changes_nothing() -> None:
    rows = records("reconnect_resync")
    tracker = CallTracker()
    conn1 = [r for r in rows if r.get("conn") == 1 and r["dir"] != "meta"]
    for r in conn1:
        if r["dir"] == "in":
            tracker.feed(r["msg"], r["t"])
        elif r["msg"].get("Action") == "Originate":
            tracker.originate_sent(r["msg"], r["t"])
    assert tracker.live_calls == 3
    assert tracker.connection_lost(8.0) == []
    listing = [r["msg"] for r in rows if r["msg"].get("Event") == "CoreShowChannel"]
    status = [r["msg"] for r in rows if r["msg"].get("Event") == "Status"]
    assert tracker.resync(listing, 10.2) == []
    assert tracker.resync(status, 10.21) == []
    assert tracker.live_calls == 3
    ended = []
    for r in rows:
        if r.get("conn") == 2 and r["dir"] == "in" and r["t"] > 10.3:
            ended += [u.call for u in tracker.feed(r["msg"], r["t"]) if isinstance(u, CallEnded)]
    assert sorted(c.agent for c in ended) == ["103", "104", "105"]
    assert {c.outcome for c in ended} == {Outcome.ANSWERED} and {c.talk_seconds for c in ended} == {20}


def test_calls_started_while_the_link_was_down_are_adopted_from_the_listing() -> None:
    rows = records("reconnect_resync")
    linkedid = "1795441726.60"  # agent 103 <-> 79167654321, dropped from connection 1 entirely
    calls = replay_records(_without_call(rows, linkedid, {1}, drop_listing=False))
    adopted = next(c for c in calls if c["call_id"] == linkedid)
    assert (adopted["direction"], adopted["number"], adopted["agent"]) == ("outbound", "79167654321", "103")
    assert adopted["outcome"] == "answered"
    # The Originate was announced before the drop: its ActionID and client name carry over.
    assert (adopted["action_id"], adopted["caller_name"]) == ("zv-1cfdcdd3fa", "Пётр Иванов")
    # First seen at the listing (t=10.209), ended at 24.031: at least 13 s of talk known.
    assert adopted["talk_seconds"] == 13
    assert adopted["started_at"] == pytest.approx(10.209 - 9, abs=0.01)  # Duration 00:00:09


# ------------------------------------------------------------------ agents dialling out


def test_a_known_agent_phone_dialling_out_is_an_outbound_call() -> None:
    path = require(third_party_dir() / "cacofonisk" / "fixtures" / "simple" / "ab_success_a_hangup.json")
    fixture = json.loads(path.read_text(encoding="utf-8"))

    def run(tracker: CallTracker) -> FinishedCall:
        produced = []
        for event in fixture:
            produced += tracker.feed(event)
        produced += tracker.drain()
        [ended] = [u for u in produced if isinstance(u, CallEnded)]
        return ended.call

    as_inbound = run(CallTracker())
    assert (as_inbound.direction, as_inbound.number, as_inbound.outcome) == (Direction.INBOUND, "201", Outcome.ANSWERED)
    as_outbound = run(CallTracker(agent_interfaces=["SIP/150010001"]))
    assert (as_outbound.direction, as_outbound.number, as_outbound.outcome) == (Direction.OUTBOUND, "202", Outcome.ANSWERED)
    assert as_outbound.agent == "150010001"
