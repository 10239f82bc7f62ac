"""The simulator against real Asterisk: every recorded session, replayed against it, looks the same.

For each scenario of ../shared/ami-traces (Local channels and chan_pjsip), the
simulator is configured with the recording lab's behaviours (lab.py), receives the
same actions at the same simulated times over real TCP (contexts mapped to
Zvonar's), and what it sends back is normalised the same way as the trace
(shapes.py explains how) and must not differ. Then the simulator's recording is
fed through the real call tracker, which must find the calls the lab designed
(``*.expected.json``), with the tolerances of tests/ami_bridge/test_replay_traces.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from ami_bridge.pbx_sim import PbxSimulator
from ami_bridge.pbx_sim import server as server_module
from ami_bridge.replay import replay_records
from tests.ami_bridge.pbx_sim.lab import (
    CONTEXT_MAP,
    RecordingClient,
    lab_config,
    pjsip_inbound_session,
    pjsip_lab_config,
    read_trace,
    replay_lab_session,
)
from tests.ami_bridge.pbx_sim.shapes import differences, shapes
from tests.ami_bridge.trace_files import expected, require, traces_dir

# 0.03: the 130 simulated seconds of the ten sessions take about 4 s.
TIME_SCALE = 0.03
LOCAL_SCENARIOS = [
    "click_to_call_answered",
    "click_to_call_busy",
    "click_to_call_no_answer",
    "inbound_queue_answered",
    "inbound_queue_abandon",
    "predictive_batch",
    "reconnect_resync",
]
PJSIP_SCENARIOS = [
    "pjsip/click_to_call_pjsip_answered",
    "pjsip/click_to_call_pjsip_busy",
    "pjsip/inbound_pjsip_queue_answered",
]
TALK_TOLERANCE = 1

_recordings: dict[str, list[dict[str, Any]]] = {}


def _trace(name: str) -> list[dict[str, Any]]:
    return read_trace(require(traces_dir() / f"{name}.jsonl"))


async def _recording(name: str) -> list[dict[str, Any]]:
    """The simulator's own recording of the scenario (made once per test session)."""
    if name not in _recordings:
        trace = _trace(name)
        if name.startswith("pjsip/"):
            sim = PbxSimulator(pjsip_lab_config(name.split("/", 1)[1], TIME_SCALE))
        else:
            sim = PbxSimulator(lab_config(TIME_SCALE))
        await sim.start()
        try:
            if name == "pjsip/inbound_pjsip_queue_answered":
                _recordings[name] = await pjsip_inbound_session(sim, trace)
            else:
                _recordings[name] = await replay_lab_session(sim, trace)
        finally:
            await sim.stop()
    return _recordings[name]


@pytest.mark.parametrize("name", LOCAL_SCENARIOS + PJSIP_SCENARIOS)
async def test_simulator_emits_the_recorded_call_shapes(name: str) -> None:
    real = shapes(_trace(name), CONTEXT_MAP)
    simulated = shapes(await _recording(name), CONTEXT_MAP)
    assert real.steps, "the normalisation found no call events in the trace"
    problems = differences(real, simulated)
    assert not problems, f"{name}: the simulator differs from Asterisk:\n" + "\n".join(problems)


async def test_a_stall_after_the_originate_does_not_end_the_session_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process stalls (descheduled under load) right after writing the Originate, until past the Logoff's time.

    The replay then never yields before the Logoff: the simulator has not read the
    Originate, so it is idle, and the session used to end as the agent's phone rang.
    """
    name = "pjsip/click_to_call_pjsip_busy"
    trace = _trace(name)
    logoff_at = next(r["t"] for r in trace if r["msg"].get("Action") == "Logoff")
    send = RecordingClient.send

    async def send_then_stall(self: RecordingClient, action: dict[str, Any]) -> None:
        await send(self, action)
        if action.get("Action") == "Originate":
            # Blocks the event loop, as a stall does: the Originate stays unread in the simulator's socket.
            time.sleep((logoff_at - self.sim.now()) * TIME_SCALE + 0.05)

    monkeypatch.setattr(RecordingClient, "send", send_then_stall)
    sim = PbxSimulator(pjsip_lab_config("click_to_call_pjsip_busy", TIME_SCALE))
    await sim.start()
    try:
        recording = await replay_lab_session(sim, trace)
    finally:
        await sim.stop()
    received = [r["msg"] for r in recording if r["dir"] == "in"]
    assert received[-1].get("Response") == "Goodbye"
    hangups = [m["Channel"] for m in received if m.get("Event") == "Hangup"]
    assert any(c.startswith("PJSIP/203-") for c in hangups), f"the call was cut short: {received[-4:]}"
    assert not differences(shapes(trace, CONTEXT_MAP), shapes(recording, CONTEXT_MAP))


async def test_actions_read_together_are_handled_at_one_simulated_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dialer's batch of Originates arrives in one read; handling each takes the PBX (here) 5 ms.

    At the tests' time scale 5 ms is 0.17 simulated seconds: had the clock run on between
    them, the batch would be spread over half a simulated second instead of taken in at
    once, as Asterisk did in the traces (where the lab's designed ties then broke).
    """
    handle = server_module.dispatch
    handled_at: list[float] = []

    async def slow_dispatch(port: Any, message: dict[str, Any]) -> None:
        if message.get("Action") == "Originate":
            handled_at.append(port.pbx.scheduler.now)
            time.sleep(0.005)  # blocks, as a loaded machine does
        await handle(port, message)

    monkeypatch.setattr(server_module, "dispatch", slow_dispatch)
    sim = PbxSimulator(lab_config(TIME_SCALE))
    await sim.start()
    try:
        records: list[dict[str, Any]] = []
        client = RecordingClient(sim, 1, records)
        await client.connect()
        await client.login()
        batch = [{"Action": "Originate", "ActionID": f"zv-batch-{n}", "Channel": f"Local/7916000000{n}@pstn",
                  "Context": CONTEXT_MAP["campaign"], "Exten": "s", "Priority": "1", "Timeout": "20000",
                  "Async": "true", "Variable": "ZVONAR_QUEUE=campaign"} for n in range(1, 4)]
        await client.send_together(batch)
        await client.answered()
    finally:
        await sim.stop()
    assert len(handled_at) == 3
    assert max(handled_at) - min(handled_at) < 0.01, [round(t, 3) for t in handled_at]


def _match(calls: list[dict[str, Any]], want: dict[str, Any]) -> dict[str, Any]:
    if want["direction"] == "outbound":
        found = [c for c in calls if c["action_id"] == want["action_id"]]
    else:
        found = [c for c in calls if c["direction"] == "inbound" and c["number"] == want["caller"]]
    assert len(found) == 1, f"no single call for {want}: {calls}"
    return found[0]


@pytest.mark.parametrize("name", LOCAL_SCENARIOS + PJSIP_SCENARIOS)
async def test_tracker_finds_the_designed_calls_in_the_simulators_recording(name: str) -> None:
    calls = replay_records(await _recording(name))
    designed = expected(name)
    assert len(calls) == len(designed), calls
    for want in designed:
        got = _match(calls, want)
        want_action = want["action_id"] if want["direction"] == "outbound" else want["injected_by_action_id"]
        assert got["action_id"] == want_action
        assert (got["direction"], got["number"], got["outcome"], got["agent"]) == (
            want["direction"], want["number"], want["outcome"], want["agent"]), got
        if want.get("agent_channel"):
            assert got["agent_channel"] == want["agent_channel"]
        if want["direction"] == "inbound":
            assert (got["caller_name"], got["did"], got["queue"]) == (want["caller_name"], want["did"], want["queue"])
        else:
            assert got["caller_name"] == want["client_name"]
        if want["talk_seconds"] is None:
            assert got["talk_seconds"] is None
        else:
            assert abs(got["talk_seconds"] - want["talk_seconds"]) <= TALK_TOLERANCE, got


async def test_reconnect_session_lists_the_live_channels_like_asterisk() -> None:
    """After the drop, CoreShowChannels and Status list all 12 Local halves, as recorded."""
    recording = await _recording("reconnect_resync")
    conn2 = [r["msg"] for r in recording if r["conn"] == 2 and r["dir"] == "in"]
    assert conn2[0] == {"Banner": "Asterisk Call Manager/13.0.0"}
    assert [m.get("Event") for m in conn2[2:4]] == ["FullyBooted", "SuccessfulAuth"]
    complete = {m["Event"]: m for m in conn2 if m.get("Event", "").endswith("Complete")}
    assert complete["CoreShowChannelsComplete"]["ListItems"] == "12"
    assert complete["StatusComplete"]["Items"] == "12"
    # Events of the calls while the client was away are lost, not replayed.
    drop = next(r["t"] for r in recording if r["dir"] == "meta")
    relogin = next(r["t"] for r in recording if r["conn"] == 2 and r["dir"] == "out")
    assert not [r for r in recording if r["dir"] == "in" and drop < r["t"] < relogin]
