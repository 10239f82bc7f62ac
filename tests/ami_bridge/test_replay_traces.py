"""Every recorded Asterisk session, replayed, gives the calls it was designed to have.

How calls are matched to ``*.expected.json``:

* outbound calls by ``action_id`` (the ActionID of the Originate that placed them);
* inbound calls by the caller's number. The local-channel traces inject their
  caller with a test Originate (``injected_by_action_id``): the tracker reports
  the ActionID of the Originate that created a call, so for those calls
  ``action_id`` must equal ``injected_by_action_id``; a real inbound call
  (the pjsip trunk) has none and ``action_id`` is null.

Talk time: the designed talk time is what the dialplan waits; Answer() on a Local
channel adds ~0.5 s and Asterisk's own counters run 0.5-1 s above the design
(README). The tracker truncates the measured answer->end interval to whole
seconds, like Asterisk's TalkTime, so the documented tolerance is
``|actual - designed| <= 1``.

``.raw`` captures have no clock, so talk time there is what Asterisk reported:
AgentComplete TalkTime for queue calls (same tolerance), else the ANSWEREDTIME of
the Dial that reached the client. ANSWEREDTIME counts from when the *dialling*
channel was answered; in click-to-call that is the agent leg, answered before the
client was even dialled, so it includes the client's ring time: an upper bound.
Every click-to-call scenario here is designed with the client ringing 2 s
(README: ``client-answer,s,1(2,...)``, "183 ... answers after 2 s"), hence for
those ``designed - 1 <= actual <= designed + 2 + 1``.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from ami_bridge.replay import connection_files, replay_jsonl, replay_raw, run_replay
from tests.ami_bridge.trace_files import expected, trace_names, trace_path

TALK_TOLERANCE = 1
DESIGNED_CLIENT_RING_SECONDS = 2
COMPARED = ("action_id", "direction", "number", "outcome", "agent", "talk_seconds")


def _match(calls: list[dict], want: dict) -> dict:
    if want["direction"] == "outbound":
        found = [c for c in calls if c["action_id"] == want["action_id"]]
    else:
        found = [c for c in calls if c["direction"] == "inbound" and c["number"] == want["caller"]]
    assert len(found) == 1, f"no single call for {want}: {calls}"
    return found[0]


def _check(calls: list[dict], name: str, raw: bool) -> None:
    designed = expected(name)
    assert len(calls) == len(designed), calls
    for want in designed:
        got = _match(calls, want)
        want_action = want["action_id"] if want["direction"] == "outbound" else want["injected_by_action_id"]
        assert got["action_id"] == want_action
        assert got["direction"] == want["direction"]
        assert got["number"] == want["number"]
        assert got["outcome"] == want["outcome"], got
        assert got["agent"] == want["agent"]
        if want.get("agent_channel"):
            assert got["agent_channel"] == want["agent_channel"]
        if want["direction"] == "inbound":
            assert got["caller_name"] == want["caller_name"]
            assert got["did"] == want["did"]
            assert got["queue"] == want["queue"]
        else:
            assert got["caller_name"] == want["client_name"]
        if want["talk_seconds"] is None:
            assert got["talk_seconds"] is None
            continue
        assert isinstance(got["talk_seconds"], int)
        upper = TALK_TOLERANCE
        if raw and got["queue"] is None:
            upper += DESIGNED_CLIENT_RING_SECONDS
        assert -TALK_TOLERANCE <= got["talk_seconds"] - want["talk_seconds"] <= upper, got


@pytest.mark.parametrize("name", trace_names())
def test_jsonl_replay_gives_the_designed_calls(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ami_bridge")
    calls = replay_jsonl(trace_path(name, ".jsonl"))
    _check(calls, name, raw=False)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    for call in calls:
        assert call["ended_at"] is not None and call["started_at"] is not None
        assert call["started_at"] <= call["ended_at"]
        assert call["end_observed"] is True
        if call["outcome"] == "answered":
            assert call["started_at"] <= call["answered_at"] <= call["ended_at"]
        else:
            assert call["answered_at"] is None


@pytest.mark.parametrize("name", trace_names())
def test_raw_replay_gives_the_designed_calls(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ami_bridge")
    calls = replay_raw(trace_path(name, ".raw"))
    _check(calls, name, raw=True)
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    for call in calls:
        assert call["started_at"] is None and call["ended_at"] is None


def test_raw_replay_follows_the_second_connection() -> None:
    path = trace_path("reconnect_resync", ".raw")
    assert [p.name for p in connection_files(path)] == ["reconnect_resync.raw", "reconnect_resync.conn2.raw"]


def test_second_connection_alone_adopts_the_calls_from_its_listing() -> None:
    """Started with the calls already up (a bridge restart): the listing is all there is."""
    calls = replay_raw(trace_path("reconnect_resync.conn2", ".raw"))
    by_number = {c["number"]: c for c in calls}
    for want in expected("reconnect_resync"):
        got = by_number[want["number"]]
        assert got["direction"] == "outbound"
        assert got["outcome"] == "answered"
        assert got["agent"] == want["agent"]
        assert got["caller_name"] == want["client_name"]
        assert got["action_id"] is None  # the Originate was sent before we were listening
        assert len(got["uniqueids"]) == 4
        # ANSWEREDTIME of the agent leg: an upper bound, as for every raw click-to-call.
        assert want["talk_seconds"] <= got["talk_seconds"] <= want["talk_seconds"] + DESIGNED_CLIENT_RING_SECONDS + 1


def test_hangup_causes_are_reported_for_the_client_leg() -> None:
    calls = {c["number"]: c for c in replay_jsonl(trace_path("predictive_batch", ".jsonl"))}
    assert calls["380670000006"]["hangup_cause"] == 17
    assert calls["375290000009"]["hangup_cause"] == 34
    assert calls["79160000010"]["hangup_cause"] == 19
    assert calls["79160000001"]["hangup_cause"] == 16


def test_run_replay_prints_one_json_object_per_call() -> None:
    out = io.StringIO()
    assert run_replay(str(trace_path("predictive_batch", ".jsonl")), raw=False, out=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 12
    parsed = [json.loads(line) for line in lines]
    assert {c["action_id"] for c in parsed} == {c["action_id"] for c in expected("predictive_batch")}
    # ensure_ascii=False: names stay readable.
    assert "Алексей Смирнов" in out.getvalue()


def test_run_replay_raw_flag() -> None:
    out = io.StringIO()
    assert run_replay(str(trace_path("inbound_queue_answered", ".raw")), raw=True, out=out) == 0
    (call,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert call["caller_name"] == "Мария Сидорова"
    assert call["talk_seconds"] == 4


def test_run_replay_missing_file_is_a_clear_error(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no_such_trace.jsonl"
    assert run_replay(str(missing), raw=False, out=io.StringIO()) == 2
    assert "no_such_trace.jsonl" in capsys.readouterr().err


def test_run_replay_raw_file_without_raw_flag_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert run_replay(str(trace_path("click_to_call_busy", ".raw")), raw=False, out=out) == 2
    assert out.getvalue() == ""
    assert "needs --raw" in capsys.readouterr().err


def test_bad_lines_in_a_trace_are_skipped(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    lines = trace_path("click_to_call_busy", ".jsonl").read_text(encoding="utf-8").splitlines()
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text("\n".join([lines[0], "{not json", "[1, 2]", *lines[1:]]) + "\n", encoding="utf-8")
    [call] = replay_jsonl(damaged)
    assert call["outcome"] == "busy" and call["action_id"] == "zv-37fdeb23d7"
    assert [r.getMessage().split(" error=")[1] for r in caplog.records] == ["Expecting property name enclosed in double quotes at column 2", "not an object"]
