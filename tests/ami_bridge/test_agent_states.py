"""Agent states from the recorded queue sessions, their Asterisk 11 cousins, and junk.

The recordings decide: which agent rang, who answered and how long they talked is in the
``*.expected.json`` of every session (written from the dialplan, not from the events).
Events the recordings do not contain (pause, dynamic login, DeviceStateChange) are the
recorded member events with the fields app_queue changes for them.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_bridge.agent_states import AgentStateChanged, AgentStates, AgentStatus
from ami_bridge.protocol import AmiParser
from tests.ami_bridge.trace_files import MISSING, events, expected, require, third_party_dir, trace_names

READY, RINGING, ON_CALL = AgentStatus.READY, AgentStatus.RINGING, AgentStatus.ON_CALL
WRAP_UP, PAUSED, LOGGED_OUT = AgentStatus.WRAP_UP, AgentStatus.PAUSED, AgentStatus.LOGGED_OUT
UNAVAILABLE = AgentStatus.UNAVAILABLE


class _InternalErrors(logging.Handler):
    """Catches the reducer's own "event skipped" tracebacks: it swallows them to keep going."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def replay(stream: Iterable[tuple[float, Any]], states: AgentStates | None = None,
           ) -> tuple[AgentStates, list[AgentStateChanged]]:
    states = states or AgentStates()
    handler = _InternalErrors()
    logger = logging.getLogger("ami_bridge.agent_states")
    logger.addHandler(handler)
    try:
        changes = [change for t, event in stream for change in states.feed(event, t)]
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]
    return states, changes


def of(changes: list[AgentStateChanged], agent: str) -> list[AgentStateChanged]:
    return [c for c in changes if c.agent == agent]


def states_of(changes: list[AgentStateChanged], agent: str) -> list[AgentStatus]:
    return [c.state for c in of(changes, agent)]


def first_event(name: str, event: str, **fields: str) -> dict[str, Any]:
    return next(dict(m) for _, m in events(name)
                if m.get("Event") == event and all(m.get(k) == v for k, v in fields.items()))


def linkedid(name: str) -> str:
    return first_event(name, "QueueCallerJoin")["Linkedid"]


def panoramisk_messages(name: str) -> list[dict[str, Any]]:
    path = require(third_party_dir() / "panoramisk" / "fixtures" / name)
    parser = AmiParser()
    return parser.feed(path.read_bytes()) + parser.feed(b"\r\n\r\n")


# ---------------------------------------------------------------- the recorded sessions


def test_inbound_answered_ringall_winner_and_loser() -> None:
    name = "inbound_queue_answered"
    [call] = expected(name)
    states, changes = replay(events(name))
    winner = of(changes, call["agent"])
    assert [c.state for c in winner] == [RINGING, ON_CALL, WRAP_UP]
    assert {c.call_id for c in winner} == {linkedid(name)}
    assert [c.previous_state for c in winner] == [None, RINGING, ON_CALL]
    talk = winner[2].since - winner[1].since
    assert call["talk_seconds"] <= talk <= call["talk_seconds"] + 1.5
    # The loser gets no AgentRingNoAnswer: its "not in use" status ends its ringing.
    assert states_of(changes, "202") == [RINGING, READY]
    assert of(changes, "202")[1].call_id is None
    assert all(c.queues == ("support",) for c in changes)

    assert states.next_deadline() == pytest.approx(winner[2].since + 15.0)
    assert states.tick(winner[2].since + 14.9) == []
    [ready] = states.tick(winner[2].since + 60.0)
    assert (ready.agent, ready.state, ready.previous_state) == ("201", READY, WRAP_UP)
    # "Ready for 2:35" counts from when the wrap-up ended, not from when tick ran.
    assert ready.since == pytest.approx(winner[2].since + 15.0)
    assert states.next_deadline() is None
    snap = {s.agent: s for s in states.snapshot()}
    assert snap["201"].name == "Оператор 201"
    assert snap["201"].interfaces == ("Local/201@queue-agents",)
    assert (snap["202"].state, snap["202"].since) == (READY, of(changes, "202")[1].since)


def test_inbound_abandon_ring_rounds_and_the_busy_member() -> None:
    name = "inbound_queue_abandon"
    [call] = expected(name)
    assert call["outcome"] == "abandoned" and call["agent"] is None
    states, changes = replay(events(name))
    assert ON_CALL not in {c.state for c in changes}
    # Two ring rounds (member timeout 4 s, retry 1 s) for both members.
    assert states_of(changes, "203") == [RINGING, READY, RINGING, READY]
    assert states_of(changes, "204") == [RINGING, READY, RINGING, READY]
    # 204 answers Busy(): rung and released in the same instant (RingTime 0), and its
    # Local channel's "in use" meanwhile never shows as a call.
    busy = of(changes, "204")
    assert busy[1].since - busy[0].since < 0.01 and busy[3].since - busy[2].since < 0.01
    never_answers = of(changes, "203")
    assert 3.5 < never_answers[1].since - never_answers[0].since < 4.5
    assert {s.state for s in states.snapshot()} == {READY}


def test_predictive_campaign_members_take_the_answered_clients() -> None:
    name = "predictive_batch"
    states, changes = replay(events(name), AgentStates(wrapup_seconds=0))
    answered = [c for c in expected(name) if c["outcome"] == "answered"]
    connects = [c for c in changes if c.state == ON_CALL]
    assert sorted(c.agent for c in connects) == sorted(c["agent"] for c in answered)
    assert {c.queues for c in changes} == {("campaign",)}
    # Each talk, from on_call to the next state, lasts what the dialplan designed.
    for agent in ("301", "302", "303"):
        history = of(changes, agent)
        for i, change in enumerate(history):
            if change.state == ON_CALL:
                talk = history[i + 1].since - change.since
                assert 10 <= talk <= 11.5, (agent, talk)
    # 301 takes the late-answering client as soon as it is free again.
    assert states_of(changes, "301") == [RINGING, ON_CALL, READY, RINGING, ON_CALL, READY]
    assert {s.state for s in states.snapshot()} == {READY}


def test_predictive_wrap_up_is_cut_short_when_asterisk_rings_the_agent_again() -> None:
    states, changes = replay(events("predictive_batch"), AgentStates(wrapup_seconds=15))
    assert states_of(changes, "301") == [RINGING, ON_CALL, WRAP_UP, RINGING, ON_CALL, WRAP_UP]
    wraps = [c for c in of(changes, "302") if c.state in (WRAP_UP, READY)]
    assert [c.state for c in wraps] == [WRAP_UP, READY]
    # Expired while the next event was fed: the ready time is the deadline itself.
    assert wraps[1].since == pytest.approx(wraps[0].since + 15)


def test_pjsip_members_ring_for_real_and_the_caller_hangs_up() -> None:
    name = "pjsip/inbound_pjsip_queue_answered"
    [call] = expected(name)
    states, changes = replay(events(name))
    assert states_of(changes, call["agent"]) == [RINGING, ON_CALL, WRAP_UP]
    talk = of(changes, "203")[2].since - of(changes, "203")[1].since
    assert call["talk_seconds"] <= talk <= call["talk_seconds"] + 1.5
    assert of(changes, "203")[1].call_id == linkedid(name)
    for loser in ("201", "202"):
        assert states_of(changes, loser) == [RINGING, READY]
    assert {s.interfaces for s in states.snapshot()} == {("PJSIP/201",), ("PJSIP/202",), ("PJSIP/203",)}


def test_one_agent_under_two_interfaces_is_one_agent() -> None:
    local = events("inbound_queue_answered")
    pjsip = [(t + 100.0, m) for t, m in events("pjsip/inbound_pjsip_queue_answered")]
    states, changes = replay(local + pjsip, AgentStates(wrapup_seconds=5))
    agent = states.get("201")
    assert agent is not None
    assert agent.queues == ("support", "support-sip")
    assert agent.interfaces == ("Local/201@queue-agents", "PJSIP/201")
    assert states_of(changes, "201")[-2:] == [RINGING, READY]


def test_sessions_without_queues_report_nothing() -> None:
    for name in ("click_to_call_answered", "click_to_call_busy", "reconnect_resync"):
        states, changes = replay(events(name))
        assert changes == [] and states.snapshot() == []


# ---------------------------------------------------------------- pause, login, devices


def _member_event(event: str, **changes: str) -> dict[str, Any]:
    """A recorded QueueMemberStatus of 202 (support, not in use) made into another member event."""
    base = first_event("inbound_queue_answered", "QueueMemberStatus", Interface="Local/202@queue-agents",
                       Status="1")
    base.update(Event=event, **changes)
    return base


def test_pause_with_reason_and_resume() -> None:
    states, changes = replay([
        (10.0, _member_event("QueueMemberStatus", Status="1")),
        (20.0, _member_event("QueueMemberPause", Paused="1", PausedReason="Обед")),
        (80.0, _member_event("QueueMemberPause", Paused="1", PausedReason="Обучение")),
        (95.0, _member_event("QueueMemberPause", Paused="0", PausedReason="")),
    ])
    assert [(c.state, c.reason, c.since) for c in changes] == [
        (READY, None, 10.0), (PAUSED, "Обед", 20.0), (PAUSED, "Обучение", 80.0), (READY, None, 95.0)]
    assert states.get("202").paused_queues == ()  # type: ignore[union-attr]


def test_pause_reason_of_asterisk_12_and_of_asterisk_11() -> None:
    states, changes = replay([
        (1.0, _member_event("QueueMemberPause", Paused="1", Reason="Перерыв")),
    ])
    assert (changes[0].state, changes[0].reason) == (PAUSED, "Перерыв")
    old = {"Event": "QueueMemberPaused", "Privilege": "agent,all", "Queue": "support",
           "Location": "Local/202@queue-agents", "MemberName": "Оператор 202", "Paused": "0"}
    _, changes = replay([(2.0, old)], states)
    assert (changes[0].state, changes[0].reason) == (READY, None)


def test_paused_in_one_queue_of_two() -> None:
    campaign = _member_event("QueueMemberAdded", Queue="campaign", Membership="dynamic", Status="1")
    states, changes = replay([
        (1.0, _member_event("QueueMemberStatus", Status="1")),
        (2.0, campaign),
        (3.0, {**campaign, "Event": "QueueMemberPause", "Paused": "1", "PausedReason": "Auto-Pause"}),
    ])
    assert [(c.state, c.queues, c.since) for c in changes] == [
        (READY, ("support",), 1.0), (READY, ("campaign", "support"), 1.0), (PAUSED, ("campaign", "support"), 3.0)]
    assert states.get("202").paused_queues == ("campaign",)  # type: ignore[union-attr]


def test_a_paused_agent_can_be_on_a_call_and_is_paused_after_it() -> None:
    name = "inbound_queue_answered"
    stream = list(events(name))
    # Paused while its Local channel is being rung: the event reports it "in use" (2).
    pause = (1.5, _member_event("QueueMemberPause", Interface="Local/201@queue-agents", Status="2",
                                MemberName="Оператор 201", Paused="1", PausedReason="После звонка"))
    stream.insert(next(i for i, (t, _) in enumerate(stream) if t > 1.5), pause)
    # From then on Asterisk reports the member paused in every member event.
    stream = [(t, {**m, "Paused": "1", "PausedReason": "После звонка"}
               if t > 1.5 and m.get("Interface") == "Local/201@queue-agents" and "Paused" in m else m)
              for t, m in stream]
    _, changes = replay(stream)
    assert [(c.state, c.reason) for c in of(changes, "201")] == [
        (RINGING, None), (ON_CALL, None), (PAUSED, "После звонка")]


def test_autopause_after_ring_no_answer() -> None:
    name = "inbound_queue_abandon"
    called = first_event(name, "AgentCalled", Interface="Local/203@queue-agents")
    no_answer = first_event(name, "AgentRingNoAnswer", Interface="Local/203@queue-agents")
    status = first_event(name, "QueueMemberStatus", Interface="Local/203@queue-agents")
    autopause = {**status, "Event": "QueueMemberPause", "Status": "1", "Paused": "1", "PausedReason": "Auto-Pause"}
    _, changes = replay([(1.0, called), (5.0, no_answer), (5.0, autopause)])
    assert [(c.state, c.reason) for c in changes] == [(RINGING, None), (READY, None), (PAUSED, "Auto-Pause")]


def test_dynamic_login_and_logout() -> None:
    added = _member_event("QueueMemberAdded", Queue="campaign", Interface="PJSIP/101", StateInterface="PJSIP/101",
                          MemberName="Оператор 101", Membership="dynamic", Status="1")
    states, changes = replay([
        (1.0, added),
        (2.0, {**added, "Queue": "campaign-spring"}),
        (3.0, {**added, "Event": "QueueMemberRemoved"}),
        (4.0, {**added, "Event": "QueueMemberRemoved", "Queue": "campaign-spring"}),
    ])
    assert [(c.state, c.queues, c.since) for c in changes] == [
        (READY, ("campaign",), 1.0),
        (READY, ("campaign", "campaign-spring"), 1.0),
        (READY, ("campaign-spring",), 1.0),
        (LOGGED_OUT, (), 4.0),
    ]
    assert states.get("101").state == LOGGED_OUT  # type: ignore[union-attr]


def test_device_state_change_and_extension_status() -> None:
    added = _member_event("QueueMemberAdded", Queue="support", Interface="PJSIP/104", StateInterface="PJSIP/104",
                          MemberName="Оператор 104", Status="1")
    device = {"Event": "DeviceStateChange", "Privilege": "call,all", "Device": "PJSIP/104"}
    hint = {"Event": "ExtensionStatus", "Privilege": "call,all", "Exten": "104", "Context": "zvonar-agents",
            "Hint": "PJSIP/104", "StatusText": ""}
    _, changes = replay([
        (1.0, added),
        (2.0, {**device, "State": "RINGING"}),
        (3.0, {**device, "State": "INUSE"}),
        (4.0, {**hint, "Status": "16"}),  # on hold: still on the call
        (5.0, {**hint, "Status": "0"}),
        (6.0, {**device, "State": "UNAVAILABLE"}),
        (7.0, {**device, "Device": "PJSIP/105", "State": "INUSE"}),  # not a member
        (8.0, {**hint, "Hint": "PJSIP/104&Custom:DND104", "Status": "2"}),  # combined hint: no one device
    ])
    assert [(c.state, c.since) for c in changes] == [
        (READY, 1.0), (RINGING, 2.0), (ON_CALL, 3.0), (READY, 5.0), (UNAVAILABLE, 6.0)]


def test_member_wrapuptime_and_queue_wrapup_seconds() -> None:
    name = "inbound_queue_answered"
    stream = events(name)
    _, changes = replay(stream, AgentStates(wrapup_seconds=15, queue_wrapup_seconds={"support": 0}))
    assert states_of(changes, "201") == [RINGING, ON_CALL, READY]
    with_own = [(t, {**m, "Wrapuptime": "30"} if m.get("Event") == "QueueMemberStatus" else m) for t, m in stream]
    states, changes = replay(with_own, AgentStates(wrapup_seconds=15, queue_wrapup_seconds={"support": 0}))
    wrap = of(changes, "201")[-1]
    assert wrap.state == WRAP_UP and states.next_deadline() == pytest.approx(wrap.since + 30)


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), True, "15"])
def test_wrapup_seconds_are_checked(bad: object) -> None:
    with pytest.raises(ValueError, match="wrapup_seconds"):
        AgentStates(wrapup_seconds=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="support"):
        AgentStates(queue_wrapup_seconds={"support": bad})  # type: ignore[dict-item]


# ---------------------------------------------------------------- resync after a reconnect


def _queue_status_reply(action_id: str, queues: dict[str, list[dict[str, str]]]) -> list[dict[str, str]]:
    """A QueueStatus answer as app_queue writes it (QueueMember keeps the Name/Location names)."""
    reply = [{"Response": "Success", "ActionID": action_id, "EventList": "start",
              "Message": "Queue status will follow"}]
    count = 0
    for queue, members in queues.items():
        reply.append({"Event": "QueueParams", "Queue": queue, "Max": "0", "Strategy": "leastrecent", "Calls": "0",
                      "Holdtime": "0", "TalkTime": "0", "Completed": "0", "Abandoned": "0", "ServiceLevel": "20",
                      "ServicelevelPerf": "0.0", "ServicelevelPerf2": "0.0", "Weight": "0", "ActionID": action_id})
        for member in members:
            reply.append({"Event": "QueueMember", "Queue": queue, "Name": member["name"],
                          "Location": member["interface"], "StateInterface": member["interface"],
                          "Membership": member.get("membership", "dynamic"), "Penalty": "0", "CallsTaken": "3",
                          "LastCall": "1795441700", "LastPause": "0", "LoginTime": "1795441600",
                          "InCall": member.get("in_call", "0"), "Status": member.get("status", "1"),
                          "Paused": member.get("paused", "0"), "PausedReason": member.get("reason", ""),
                          "Wrapuptime": "0", "ActionID": action_id})
        count += 1 + len(members)
    reply.append({"Event": "QueueStatusComplete", "ActionID": action_id, "EventList": "Complete",
                  "ListItems": str(count)})
    return reply


def test_resync_after_reconnect_replaces_the_covered_queues() -> None:
    stream = [(t, m) for t, m in events("predictive_batch") if t < 10.0]
    states, changes = replay(stream)
    assert {s.agent: s.state for s in states.snapshot()} == {"301": ON_CALL, "302": ON_CALL, "303": ON_CALL}
    reply = _queue_status_reply("zv-5f2c0e9a1b7d3c44", {
        "campaign": [
            {"name": "Оператор 301", "interface": "Local/301@queue-agents", "in_call": "1", "status": "2"},
            {"name": "Оператор 302", "interface": "Local/302@queue-agents", "paused": "1", "reason": "Перерыв"},
        ],
        "support": [{"name": "Оператор 101", "interface": "PJSIP/101", "membership": "static", "status": "5"}],
    })
    changes = states.resync(reply, 40.0)
    assert {c.agent: (c.state, c.reason, c.queues, c.call_id) for c in changes} == {
        "302": (PAUSED, "Перерыв", ("campaign",), None),
        "303": (LOGGED_OUT, None, (), None),
        "101": (UNAVAILABLE, None, ("support",), None),
    }
    # 301 is still on the call the events showed; its call id is kept.
    agent = states.get("301")
    assert agent is not None and (agent.state, agent.call_id) == (ON_CALL, "1795441693.28")
    # The rest of the session goes on from there: 301's call ends in a wrap-up.
    rest = [(t + 30.0, m) for t, m in events("predictive_batch") if 10.0 <= t < 14.0]
    _, changes = replay(rest, states)
    assert [(c.agent, c.state) for c in changes] == [("301", WRAP_UP)]


def test_resync_of_one_queue_leaves_the_others_alone() -> None:
    states, _ = replay(events("inbound_queue_answered"), AgentStates(wrapup_seconds=0))
    reply = _queue_status_reply("zv-0000000000000001", {"campaign": [
        {"name": "Оператор 201", "interface": "Local/201@queue-agents"}]})
    [change] = states.resync(reply, 30.0)
    assert (change.agent, change.state, change.queues) == ("201", READY, ("campaign", "support"))
    assert states.get("202").queues == ("support",)  # type: ignore[union-attr]
    # An empty queue in the answer: its members are all gone.
    [gone] = states.resync(_queue_status_reply("zv-0000000000000002", {"campaign": []}), 31.0)
    assert (gone.agent, gone.queues) == ("201", ("support",))


def test_resync_ignores_a_refused_status() -> None:
    states, _ = replay(events("inbound_queue_answered"))
    states.tick(30.0)
    before = states.snapshot()
    refused = [{"Response": "Error", "ActionID": "zv-1", "Message": "Permission denied"}]
    assert states.resync(refused, 31.0) == []
    assert states.snapshot() == before


def test_panoramisk_asterisk_11_queue_status() -> None:
    reply = [m for m in panoramisk_messages("queue_status.yaml") if "Event" in m or "Response" in m]
    states = AgentStates()
    changes = states.resync(reply, 1.0)
    assert {c.agent: c.state for c in changes} == {
        "id-9": READY, "id-3": READY, "id-7": READY, "id-4": READY, "id-10": READY,
        "id-12": PAUSED,  # paused, and its phone unavailable: the pause is what matters
    }
    assert states.get("id-12").name == "Agent/999"  # type: ignore[union-attr]


def test_panoramisk_asterisk_11_pause_off_and_hint_states() -> None:
    # QueueMemberStatus with Location, QueueMemberPaused, ExtensionStatus on the state interface.
    stream = list(enumerate(panoramisk_messages("agent_not_in_pause.yaml")))
    _, changes = replay((float(t), m) for t, m in stream)
    history = [(c.state, c.queues) for c in of(changes, "id-12")]
    assert history[0] == (ON_CALL, ("maisonvoyance-tous",))  # on the phone to unpause itself
    assert history[-1] == (READY, ("maisonvoyance-tous", "xxxxxxxxxxxx-tous"))
    assert PAUSED not in [s for s, _ in history]


def test_panoramisk_asterisk_11_dynamic_login() -> None:
    stream = list(enumerate(panoramisk_messages("agent_loggued_in.yaml")))
    states, changes = replay((float(t), m) for t, m in stream)
    assert states_of(changes, "id-3") == [ON_CALL, READY]  # logged in from its phone, then hung up
    assert states.get("id-1").state == READY  # type: ignore[union-attr]


def _cacofonisk_queue_files() -> list[str]:
    root = third_party_dir() / "cacofonisk" / "fixtures" / "queue"
    return sorted(p.name for p in root.glob("*.json")) if root.is_dir() else [MISSING]


@pytest.mark.parametrize("name", _cacofonisk_queue_files())
def test_cacofonisk_queue_fixtures_read_without_error(name: str) -> None:
    path = require(third_party_dir() / "cacofonisk" / "fixtures" / "queue" / name)
    stream = list(enumerate(json.loads(path.read_text(encoding="utf-8"))))
    # Filtered upstream to call events; only a QueueCallerAbandon of the queue family is left.
    _, changes = replay((float(t), m) for t, m in stream)
    assert changes == []


# ---------------------------------------------------------------- junk and disorder


@pytest.mark.parametrize("junk", [None, 42, "Event: QueueMemberStatus", [("Event", "AgentCalled")], {},
                                  {"Event": ["AgentConnect", "AgentConnect"]}, {"Event": None},
                                  {"Event": "QueueMemberStatus", "Queue": "support", "Interface": 101},
                                  {"Event": "QueueMemberStatus", "Queue": "", "Interface": "PJSIP/101"},
                                  {"Event": "QueueMemberStatus", "Queue": "support", "Interface": "101"},
                                  {"Event": "QueueMemberStatus", "Queue": "support", "Interface": "PJSIP/"},
                                  {"Event": "AgentComplete", "Queue": "support", "Interface": "PJSIP/109"},
                                  {"Event": "DeviceStateChange", "Device": "PJSIP/101", "State": "BLUE"}])
def test_junk_is_ignored(junk: object) -> None:
    states = AgentStates()
    _, changes = replay([(1.0, junk)], states)
    assert changes == [] and states.snapshot() == []


@pytest.mark.parametrize("t", [None, float("nan"), "1.0", True])
def test_a_bad_clock_is_refused_without_raising(t: object) -> None:
    states = AgentStates()
    assert states.feed(_member_event("QueueMemberStatus"), t) == []  # type: ignore[arg-type]
    assert states.tick(t) == [] and states.resync([], t) == []  # type: ignore[arg-type]


QUEUE_TRACES = ["inbound_queue_answered", "inbound_queue_abandon", "predictive_batch",
                "pjsip/inbound_pjsip_queue_answered"]
STREAMS = {name: events(name) for name in trace_names() if name != MISSING}
_JUNK = st.one_of(st.none(), st.text(max_size=6), st.lists(st.text(max_size=3), max_size=2), st.integers(),
                  st.sampled_from(["", "-1", "7", "99999999999999999999", "PJSIP/", "Local/@x", "1", "0"]))


@st.composite
def disordered(draw: st.DrawFn) -> list[tuple[float, Any]]:
    """Real sessions' events, mixed, shuffled in windows, cut, repeated and mangled."""
    names = draw(st.lists(st.sampled_from(sorted(STREAMS)), min_size=1, max_size=3, unique=True))
    stream = [item for name in names for item in STREAMS[name]]
    start = draw(st.integers(0, len(stream) // 2))
    stream = stream[start:start + draw(st.integers(1, len(stream)))]
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    window = draw(st.integers(1, 15))
    chunks = [stream[i:i + window] for i in range(0, len(stream), window)]
    for chunk in chunks:
        rng.shuffle(chunk)
    out: list[tuple[float, Any]] = []
    for t, msg in (item for chunk in chunks for item in chunk):
        msg = dict(msg)
        roll = rng.random()
        if roll < 0.1 and msg:
            key = rng.choice(sorted(msg))
            if rng.random() < 0.5:
                del msg[key]
            else:
                msg[key] = draw(_JUNK)
        out.append((t, msg))
        if roll > 0.97:
            out.append((t, msg))
    return out


def _check(changes: list[AgentStateChanged], t: float, last: dict[str, AgentStateChanged]) -> None:
    for change in changes:
        assert change.state in AgentStatus
        assert (change.state == LOGGED_OUT) == (change.queues == ())
        assert list(change.queues) == sorted(set(change.queues))
        assert change.reason is None or change.state == PAUSED
        assert change.call_id is None or change.state in (RINGING, ON_CALL, WRAP_UP)
        assert change.since <= t
        before = last.get(change.agent)
        assert change.previous_state == (before.state if before else None)
        if before is not None:
            assert (change.state, change.reason, change.queues, change.call_id) != (
                before.state, before.reason, before.queues, before.call_id)
        last[change.agent] = change


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(disordered(), st.sampled_from([0.0, 2.0, 15.0]))
def test_disordered_real_events_keep_the_states_coherent(stream: list[tuple[float, Any]], wrapup: float) -> None:
    states = AgentStates(wrapup_seconds=wrapup)
    handler = _InternalErrors()
    logger = logging.getLogger("ami_bridge.agent_states")
    logger.addHandler(handler)
    last: dict[str, AgentStateChanged] = {}
    clock = 0.0
    try:
        for t, msg in stream:
            clock = max(clock, t)
            _check(states.feed(msg, clock), clock, last)
        _check(states.tick(clock + 1000.0), clock + 1000.0, last)
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]
    assert states.next_deadline() is None
    assert {s.agent: (s.state, s.reason, s.queues, s.call_id, s.since) for s in states.snapshot()} == {
        a: (c.state, c.reason, c.queues, c.call_id, c.since) for a, c in last.items()}
    assert WRAP_UP not in {s.state for s in states.snapshot()}
    # Whatever the junk left, a QueueStatus answer brings every agent back to the truth.
    changes = states.resync(_queue_status_reply("zv-9", {q: [] for s in states.snapshot() for q in s.queues}),
                            clock + 2000.0)
    _check(changes, clock + 2000.0, last)
    assert {s.state for s in states.snapshot()} <= {LOGGED_OUT}
