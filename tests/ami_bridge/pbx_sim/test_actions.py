"""The simulator's AMI actions over real TCP: answers and events worded as Asterisk's manager.c/app_queue.c."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from ami_bridge.pbx_sim import AgentBehaviour, AmiUser, ClientBehaviour, PbxSimulator, SimConfig
from tests.ami_bridge.pbx_sim.lab import EPOCH, SECRET, USER, RecordingClient

TIME_SCALE = 0.02
AGENT = "PJSIP/101"


def _config(**overrides: object) -> SimConfig:
    """The production mirror (asterisk-config) with known people on the line."""
    base: dict[str, object] = dict(
        port=0,
        time_scale=TIME_SCALE,
        epoch_start=EPOCH,
        users=(AmiUser(USER, SECRET), AmiUser("reader", "r-secret", read="agent", write="originate")),
        agents={"101": AgentBehaviour(answer_after=1.0)},
        clients={"79161234567": ClientBehaviour("answer", ring_seconds=2.0, talk_seconds=None)},
        random_clients=None,
    )
    base.update(overrides)
    return SimConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(_config())
    await simulator.start()
    yield simulator
    await simulator.stop()


async def _client(sim: PbxSimulator, conn: int = 1, login: bool = True, **login_args: str) -> RecordingClient:
    client = RecordingClient(sim, conn, [])
    await client.connect()
    if login:
        answer = await client.login(**login_args)
        assert answer["Response"] == "Success", answer
    return client


def _click_to_call(action_id: str, agent: str = AGENT, number: str = "79161234567") -> dict[str, str]:
    return {"Action": "Originate", "ActionID": action_id, "Channel": agent, "Context": "zvonar-outbound",
            "Exten": number, "Priority": "1", "CallerID": f'"Иван Петров" <{number}>', "Timeout": "30000",
            "Async": "true"}


async def test_greeting_then_login_then_fully_booted_and_successful_auth(sim: PbxSimulator) -> None:
    client = await _client(sim)
    first = client.received[:4]
    assert first[0] == {"Banner": "Asterisk Call Manager/13.0.0"}
    assert first[1] == {"Response": "Success", "ActionID": "login-1", "Message": "Authentication accepted"}
    assert first[2]["Event"] == "FullyBooted" and first[2]["Status"] == "Fully Booted"
    assert first[3]["Event"] == "SuccessfulAuth"
    assert (first[3]["AccountID"], first[3]["Service"], first[3]["Privilege"]) == (USER, "AMI", "security,all")


async def test_wrong_secret_is_refused_after_the_delay_and_the_connection_closed(sim: PbxSimulator) -> None:
    watcher = await _client(sim)
    intruder = await _client(sim, conn=2, login=False)
    await intruder.send({"Action": "Login", "ActionID": "bad", "Username": USER, "Secret": "guess", "Events": "on"})
    answer = await intruder.response("bad")
    assert answer == {"Response": "Error", "ActionID": "bad", "Message": "Authentication failed"}
    await intruder.closed()
    alarm = await watcher.wait_for(lambda m: m.get("Event") == "InvalidPassword")
    assert (alarm["AccountID"], alarm["Severity"]) == (USER, "Error")
    # Asterisk sleeps a second before refusing: the refusal comes a simulated second later.
    sent = next(r["t"] for r in intruder.records if r["dir"] == "out")
    refused = next(r["t"] for r in intruder.records if r["msg"] is answer)
    assert refused - sent >= 1.0


async def test_unknown_user_is_refused_and_reported_as_invalid_account(sim: PbxSimulator) -> None:
    watcher = await _client(sim)
    stranger = await _client(sim, conn=2, login=False)
    await stranger.send({"Action": "Login", "ActionID": "who", "Username": "mallory", "Secret": "x"})
    assert (await stranger.response("who"))["Message"] == "Authentication failed"
    alarm = await watcher.wait_for(lambda m: m.get("Event") == "InvalidAccountID")
    assert alarm["AccountID"] == "mallory"


async def test_md5_challenge_login(sim: PbxSimulator) -> None:
    client = await _client(sim, login=False)
    await client.send({"Action": "Challenge", "ActionID": "c", "AuthType": "MD5"})
    challenge = (await client.response("c"))["Challenge"]
    key = hashlib.md5(f"{challenge}{SECRET}".encode()).hexdigest()
    await client.send({"Action": "Login", "ActionID": "l", "AuthType": "MD5", "Username": USER, "Key": key})
    assert (await client.response("l"))["Message"] == "Authentication accepted"


async def test_actions_before_login_are_denied_and_unknown_ones_refused(sim: PbxSimulator) -> None:
    client = await _client(sim, login=False)
    await client.send({"Action": "Ping", "ActionID": "early"})
    assert (await client.response("early"))["Message"] == "Permission denied"
    await client.login()
    await client.send({"Action": "FlyToTheMoon", "ActionID": "odd"})
    assert await client.response("odd") == {"Response": "Error", "ActionID": "odd",
                                            "Message": "Invalid/unknown command"}
    await client.send({"ActionID": "none"})
    assert (await client.response("none"))["Message"] == "Missing action in request"


async def test_ping_pong_and_logoff_goodbye(sim: PbxSimulator) -> None:
    client = await _client(sim)
    await client.send({"Action": "Ping", "ActionID": "p"})
    pong = await client.response("p")
    assert list(pong) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong["Ping"] == "Pong" and float(pong["Timestamp"]) >= EPOCH
    await client.logoff("bye")
    assert client.received[-1] == {"Response": "Goodbye", "ActionID": "bye", "Message": "Thanks for all the fish."}


async def test_write_classes_of_the_user_limit_the_actions(sim: PbxSimulator) -> None:
    client = await _client(sim, username="reader", secret="r-secret")
    await client.send({"Action": "QueueAdd", "ActionID": "qa", "Queue": "campaign", "Interface": AGENT})
    assert (await client.response("qa"))["Message"] == "Permission denied"


async def test_queue_add_pause_remove_answers_and_member_events(sim: PbxSimulator) -> None:
    client = await _client(sim)
    add = {"Action": "QueueAdd", "Queue": "campaign", "Interface": AGENT, "MemberName": "Оператор 101"}
    await client.send({**add, "ActionID": "a1"})
    assert await client.response("a1") == {"Response": "Success", "ActionID": "a1",
                                           "Message": "Added interface to queue"}
    added = await client.wait_for(lambda m: m.get("Event") == "QueueMemberAdded")
    assert (added["Queue"], added["Interface"], added["MemberName"], added["Membership"], added["Status"],
            added["Paused"]) == ("campaign", AGENT, "Оператор 101", "dynamic", "1", "0")
    await client.send({**add, "ActionID": "a2"})
    assert (await client.response("a2"))["Message"] == "Unable to add interface: Already there"
    await client.send({**add, "Queue": "nosuch", "ActionID": "a3"})
    assert (await client.response("a3"))["Message"] == "Unable to add interface to queue: No such queue"
    await client.send({"Action": "QueueAdd", "ActionID": "a4", "Queue": "campaign"})
    assert (await client.response("a4"))["Message"] == "'Interface' not specified."

    pause = {"Action": "QueuePause", "Queue": "campaign", "Interface": AGENT, "Paused": "true", "Reason": "обед"}
    await client.send({**pause, "ActionID": "p1"})
    assert (await client.response("p1"))["Message"] == "Interface paused successfully"
    paused = await client.wait_for(lambda m: m.get("Event") == "QueueMemberPause")
    assert (paused["Paused"], paused["PausedReason"]) == ("1", "обед")
    await client.send({**pause, "Paused": "false", "ActionID": "p2"})
    assert (await client.response("p2"))["Message"] == "Interface unpaused successfully"
    await client.send({**pause, "Interface": "PJSIP/999", "ActionID": "p3"})
    assert (await client.response("p3"))["Message"] == "Interface not found"

    await client.send({"Action": "QueueRemove", "ActionID": "r1", "Queue": "campaign", "Interface": AGENT})
    assert (await client.response("r1"))["Message"] == "Removed interface from queue"
    removed = await client.wait_for(lambda m: m.get("Event") == "QueueMemberRemoved")
    assert removed["Interface"] == AGENT
    await client.send({"Action": "QueueRemove", "ActionID": "r2", "Queue": "campaign", "Interface": AGENT})
    assert (await client.response("r2"))["Message"] == "Unable to remove interface: Not there"
    # Members from queues.conf cannot be removed by the AMI.
    await client.send({"Action": "QueueRemove", "ActionID": "r3", "Queue": "support", "Interface": "PJSIP/102"})
    assert (await client.response("r3"))["Message"] == "Member not dynamic"


async def test_queue_status_lists_params_members_and_the_waiting_caller() -> None:
    nobody_answers = {ext: AgentBehaviour(answer_after=None) for ext in ("101", "102", "103", "104", "105")}
    sim = PbxSimulator(_config(agents=nobody_answers))
    await sim.start()
    try:
        client = await _client(sim)
        sim.inject_inbound_call("79031234567", "Мария Сидорова", "74951234567", patience_seconds=60)
        await client.wait_for(lambda m: m.get("Event") == "QueueCallerJoin")
        await client.send({"Action": "QueueStatus", "ActionID": "qs", "Queue": "support"})
        complete = await client.wait_for(lambda m: m.get("Event") == "QueueStatusComplete")
        listed = [m for m in client.received if m.get("ActionID") == "qs"]
        assert listed[0] == {"Response": "Success", "ActionID": "qs", "EventList": "start",
                             "Message": "Queue status will follow"}
        kinds = [m.get("Event") for m in listed[1:]]
        assert kinds == ["QueueParams"] + ["QueueMember"] * 5 + ["QueueEntry", "QueueStatusComplete"]
        params = listed[1]
        assert (params["Queue"], params["Strategy"], params["Calls"]) == ("support", "leastrecent", "1")
        entry = listed[-2]
        assert (entry["Position"], entry["CallerIDNum"], entry["CallerIDName"]) == ("1", "79031234567", "Мария Сидорова")
        assert entry["Channel"].startswith("PJSIP/trunk-")
        assert complete["ListItems"] == "7"
    finally:
        await sim.stop()


async def test_core_show_channels_and_status_during_a_bridged_call(sim: PbxSimulator) -> None:
    client = await _client(sim)
    await client.send(_click_to_call("c2c-1"))
    await client.wait_for(lambda m: m.get("Event") == "BridgeEnter" and m["BridgeNumChannels"] == "2")
    await client.send({"Action": "CoreShowChannels", "ActionID": "csc"})
    done = await client.wait_for(lambda m: m.get("Event") == "CoreShowChannelsComplete")
    items = {m["Channel"]: m for m in client.received if m.get("Event") == "CoreShowChannel"}
    assert done["ListItems"] == "2" and len(items) == 2
    agent = next(m for name, m in items.items() if name.startswith("PJSIP/101-"))
    trunk = next(m for name, m in items.items() if name.startswith("PJSIP/trunk-"))
    assert list(agent)[:3] == ["Event", "ActionID", "Channel"]
    assert (agent["Application"], agent["ApplicationData"]) == ("Dial", "PJSIP/79161234567@trunk,40")
    assert (agent["Context"], agent["Exten"], agent["CallerIDNum"]) == ("zvonar-outbound", "79161234567", "74952223344")
    assert trunk["Application"] == "AppDial" and trunk["BridgeId"] == agent["BridgeId"] != ""
    assert agent["Duration"].count(":") == 2
    await client.send({"Action": "Status", "ActionID": "st", "Channel": agent["Channel"]})
    status_done = await client.wait_for(lambda m: m.get("Event") == "StatusComplete")
    status = next(m for m in client.received if m.get("Event") == "Status")
    assert status_done["Items"] == "1"
    assert (status["Privilege"], status["Type"], status["BridgeID"], status["Data"]) == (
        "Call", "PJSIP", agent["BridgeId"], "PJSIP/79161234567@trunk,40")
    assert list(status)[-1] == "ActionID"
    await client.send({"Action": "Status", "ActionID": "st2", "Channel": "PJSIP/999-00000000"})
    assert (await client.response("st2"))["Message"] == "No such channel"


async def test_hangup_action_ends_a_bridged_call_from_either_side(sim: PbxSimulator) -> None:
    client = await _client(sim)
    await client.send(_click_to_call("c2c-2"))
    await client.wait_for(lambda m: m.get("Event") == "BridgeEnter" and m["BridgeNumChannels"] == "2")
    trunk = next(c["channel"] for c in sim.live_channels() if c["channel"].startswith("PJSIP/trunk-"))
    await client.send({"Action": "Hangup", "ActionID": "h1", "Channel": trunk, "Cause": "16"})
    assert (await client.response("h1"))["Message"] == "Channel Hungup"
    await sim.wait_until_idle()
    hangups = {m["Channel"]: m["Cause"] for m in client.events("Hangup")}
    assert hangups[trunk] == "16" and len(hangups) == 2
    soft = client.events("SoftHangupRequest")
    assert soft[0]["Channel"] == trunk
    assert [m["Channel"] for m in client.events("BridgeLeave")][0] == trunk
    await client.send({"Action": "Hangup", "ActionID": "h2", "Channel": trunk})
    assert (await client.response("h2"))["Message"] == "No such channel"


async def test_hangup_by_regex_lists_the_channels_it_hung_up(sim: PbxSimulator) -> None:
    client = await _client(sim)
    await client.send(_click_to_call("c2c-3"))
    await client.wait_for(lambda m: m.get("Event") == "BridgeEnter" and m["BridgeNumChannels"] == "2")
    await client.send({"Action": "Hangup", "ActionID": "hr", "Channel": "/^PJSIP/101-/"})
    done = await client.wait_for(lambda m: m.get("Event") == "ChannelsHungupListComplete")
    hung = [m["Channel"] for m in client.events("ChannelHungup")]
    assert done["ListItems"] == "1" and hung[0].startswith("PJSIP/101-")
    await sim.wait_until_idle()
    await client.send({"Action": "Hangup", "ActionID": "hx", "Channel": "/[/"})
    assert (await client.response("hx"))["Message"].startswith("Regex compile failed")


async def test_synchronous_originate_answers_once_the_agent_is_up_without_originate_response(
        sim: PbxSimulator) -> None:
    client = await _client(sim)
    action = _click_to_call("sync-1")
    action.pop("Async")
    await client.send(action)
    answer = await client.response("sync-1")
    assert answer["Message"] == "Originate successfully queued"
    up = next(m for m in client.received if m.get("Event") == "Newstate" and m["ChannelStateDesc"] == "Up")
    assert client.received.index(up) < client.received.index(answer)
    await client.send({**_click_to_call("sync-2", agent="PJSIP/999"), "Async": "false"})
    assert (await client.response("sync-2"))["Message"] == "Originate failed"
    assert not client.events("OriginateResponse")
    await client.send({"Action": "Originate", "ActionID": "bad", "Exten": "1"})
    assert (await client.response("bad"))["Message"] == "Channel not specified"


async def test_events_reach_every_session_that_may_and_wants_to_read_them(sim: PbxSimulator) -> None:
    everything = await _client(sim, conn=1)
    quiet = await _client(sim, conn=2, events="off")
    agent_class_only = await _client(sim, conn=3, username="reader", secret="r-secret")
    await everything.send({"Action": "QueueAdd", "ActionID": "qa", "Queue": "campaign", "Interface": AGENT})
    await everything.send(_click_to_call("c2c-4"))
    await everything.wait_for(lambda m: m.get("Event") == "BridgeEnter" and m["BridgeNumChannels"] == "2")
    # The agent's phone rang and is in use: device state events for both its queues.
    await agent_class_only.wait_for(lambda m: m.get("Event") == "QueueMemberStatus" and m["Queue"] == "campaign"
                                    and m["Status"] == "2")
    await quiet.send({"Action": "Ping", "ActionID": "still-there"})
    await quiet.response("still-there")
    assert not [m for m in quiet.received if "Event" in m]
    seen_by_reader = {m["Event"] for m in agent_class_only.received if "Event" in m}
    assert seen_by_reader == {"QueueMemberAdded", "QueueMemberStatus"}
    assert {"Newchannel", "DialBegin", "BridgeEnter", "FullyBooted"} <= {
        m["Event"] for m in everything.received if "Event" in m}


async def test_garbage_on_the_socket_gets_an_error_and_the_session_goes_on(sim: PbxSimulator) -> None:
    client = await _client(sim)
    assert client._writer is not None
    client._writer.write(b"\x00\xff\xfe not an action at all\r\n\r\nAction: Ping\r\nActionID: after\r\n\r\n")
    await client.response("after")
    refusal = next(m for m in client.received if m.get("Message") == "Missing action in request")
    assert refusal["Response"] == "Error"


async def test_events_action_switches_the_event_stream_off_and_on(sim: PbxSimulator) -> None:
    client = await _client(sim)
    await client.send({"Action": "Events", "ActionID": "off", "EventMask": "off"})
    assert (await client.response("off"))["Events"] == "Off"
    await client.send({"Action": "QueueAdd", "ActionID": "silent", "Queue": "campaign", "Interface": AGENT})
    await client.response("silent")
    await client.send({"Action": "Events", "ActionID": "on", "EventMask": "agent"})
    assert (await client.response("on"))["Events"] == "On"
    await client.send({"Action": "QueuePause", "ActionID": "loud", "Interface": AGENT, "Paused": "1"})
    await client.wait_for(lambda m: m.get("Event") == "QueueMemberPause")
    assert not client.events("QueueMemberAdded")
