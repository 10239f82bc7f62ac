"""Zvonar's dialplan (asterisk-config) in the simulator, driven on its own clock without sockets.

Each test builds a Pbx with the production defaults (the asterisk-config mirror),
lets a few simulated minutes pass and reads the events it emitted.
"""

from __future__ import annotations

from typing import Any

import pytest

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour, Pbx, RandomClients, SimConfig
from ami_bridge.pbx_sim.config import DialplanConfig, QueueConfig, QueueMemberConfig
from ami_bridge.pbx_sim.dialplan import OriginateRequest

EPOCH = 1795441640.0
CLIENT = "79161234567"
COMPANY = ("74952223344", "ООО Звонарь")


class Run:
    """A Pbx and everything it emitted, with the simulated time of each event."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("random_clients", None)
        config.setdefault("epoch_start", EPOCH)
        self.pbx = Pbx(SimConfig(**config))
        self.events: list[tuple[float, dict[str, str]]] = []
        self.pbx.listeners.append(lambda event: self.events.append((self.pbx.scheduler.now, event)))

    def until(self, seconds: float) -> Run:
        self.pbx.scheduler.run_until(seconds)
        return self

    def named(self, *names: str) -> list[dict[str, str]]:
        return [e for _, e in self.events if e["Event"] in names]

    def first(self, name: str, **fields: str) -> dict[str, str]:
        for _, event in self.events:
            if event["Event"] == name and all(event.get(k) == v for k, v in fields.items()):
                return event
        raise AssertionError(f"no {name} {fields} among {[e['Event'] for _, e in self.events]}")

    def at(self, name: str, **fields: str) -> float:
        event = self.first(name, **fields)
        return next(t for t, e in self.events if e is event)

    def campaign_call(self, number: str = CLIENT, queue: str | None = "campaign", **variables: str) -> None:
        values = {"ZVONAR_CAMPAIGN": "42", **variables}
        if queue is not None:
            values["ZVONAR_QUEUE"] = queue
        self.pbx.originate(OriginateRequest(
            channel=f"PJSIP/{number}@trunk", context="zvonar-campaign", exten="s", caller_id=COMPANY,
            variables=values, action_id="camp-1", timeout=30.0))


def _abandon_reasons(run: Run) -> list[str]:
    return [e["Reason"] for e in run.named("UserEvent") if e["UserEvent"] == "ZvonarAbandon"]


def test_campaign_call_taken_by_a_free_agent() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=1.0, talk_seconds=30.0)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=2.0, talk_seconds=None)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call(ZVONAR_CLIENT_NUM=CLIENT, ZVONAR_CLIENT_NAME="Иван Петров")
    run.until(120)
    join = run.first("QueueCallerJoin")
    # The agent's phone shows the client (ExecIf Set(CALLERID) from ZVONAR_CLIENT_*), not the company.
    assert (join["Queue"], join["CallerIDNum"], join["CallerIDName"]) == ("campaign", CLIENT, "Иван Петров")
    assert join["Channel"].startswith("PJSIP/trunk-") and join["Context"] == "zvonar-campaign"
    connect = run.first("AgentConnect")
    assert connect["Interface"] == "PJSIP/101" and connect["DestChannel"].startswith("PJSIP/101-")
    complete = run.first("AgentComplete")
    assert (complete["Reason"], complete["TalkTime"]) == ("agent", "30")
    assert _abandon_reasons(run) == []
    assert run.pbx.idle()


def test_campaign_timeout_is_reported_with_zvonar_abandon_then_an_apology() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=None)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call()
    run.until(60)
    assert run.at("QueueCallerAbandon") - run.at("QueueCallerJoin") == 2.0
    assert run.first("VarSet", Variable="QUEUESTATUS")["Value"] == "TIMEOUT"
    event = run.first("UserEvent")
    assert (event["UserEvent"], event["Campaign"], event["Queue"], event["Reason"]) == (
        "ZvonarAbandon", "42", "campaign", "TIMEOUT")
    assert run.at("QueueCallerAbandon") <= run.at("UserEvent") < run.at("Hangup", Channel=event["Channel"])
    # autopause=yes: the member who let it ring out is paused in that queue.
    pause = run.first("QueueMemberPause")
    assert (pause["Queue"], pause["Paused"], pause["PausedReason"]) == ("campaign", "1", "Auto-Pause")
    assert _abandon_reasons(run) == ["TIMEOUT"]


def test_an_abandoned_client_hears_the_campaigns_recording_of_who_called() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=None)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call(ZVONAR_ABANDON_MESSAGE="zvonar/romashka-abandon")
    run.until(60)
    assert _abandon_reasons(run) == ["TIMEOUT"]
    played = [e["AppData"] for e in run.named("Newexten") if e["Application"] == "Playback"]
    assert played == ["zvonar/romashka-abandon"], "the recording, and no apology after it"
    assert run.first("VarSet", Variable="PLAYBACKSTATUS")["Value"] == "SUCCESS"
    # Reported before the message is heard: a client who hangs up on it is still counted.
    leg = run.first("UserEvent")["Channel"]
    assert run.at("UserEvent") <= run.at("Newexten", Application="Playback") < run.at("Hangup", Channel=leg)
    assert run.pbx.idle()


def test_a_recording_missing_on_the_pbx_falls_back_to_the_stock_apology() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=None)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)},
              dialplan=DialplanConfig(missing_sounds={"zvonar/romashka-abandon"}))
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call(ZVONAR_ABANDON_MESSAGE="zvonar/romashka-abandon")
    run.until(60)
    played = [e["AppData"] for e in run.named("Newexten") if e["Application"] == "Playback"]
    assert played == ["zvonar/romashka-abandon", "all-circuits-busy-now&pls-try-call-later"]
    assert run.first("VarSet", Variable="PLAYBACKSTATUS")["Value"] == "FAILED"
    assert run.pbx.idle()


def test_campaign_queue_without_members_cannot_be_joined() -> None:
    run = Run(clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})
    run.campaign_call()
    run.until(60)
    assert run.named("QueueCallerJoin") == []
    assert _abandon_reasons(run) == ["JOINEMPTY"]


def test_campaign_originated_without_a_queue_is_an_abandon_too() -> None:
    run = Run(clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})
    run.campaign_call(queue=None)
    run.until(60)
    assert _abandon_reasons(run) == ["NOQUEUE"]


def test_with_amd_a_machine_is_hung_up_on_and_never_queued() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=0.0, talk_seconds=30.0)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=2.0, talk_seconds=25.0, machine=True)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call(ZVONAR_AMD="1")
    run.until(60)
    verdict = run.first("UserEvent")
    assert (verdict["UserEvent"], verdict["Campaign"]) == ("ZvonarMachine", "42")
    assert verdict["Linkedid"] == run.first("OriginateResponse")["Uniqueid"], "the dialer finds its call by Linkedid"
    assert run.at("UserEvent") - run.at("OriginateResponse") == pytest.approx(3.0)
    assert run.named("QueueCallerJoin", "AgentCalled") == [] and _abandon_reasons(run) == []
    # The same message as an abandon (here the stock apology: the campaign named no recording).
    assert run.first("Newexten", Application="Gosub")["AppData"] == "zvonar-sub-who-called,s,1"
    assert run.first("Newexten", Application="Playback")["AppData"] == "all-circuits-busy-now&pls-try-call-later"
    assert run.at("Hangup", Channel=verdict["Channel"]) - run.at("UserEvent") == pytest.approx(3.5)
    assert run.pbx.idle()


def test_with_amd_a_person_is_queued_after_the_verdict_with_the_rest_of_two_seconds() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=None)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=2.0, talk_seconds=None)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call(ZVONAR_AMD="1")
    run.until(60)
    verdict = run.first("UserEvent")
    assert (verdict["UserEvent"], verdict["Status"]) == ("ZvonarHuman", "HUMAN")
    assert run.at("UserEvent") - run.at("OriginateResponse") == pytest.approx(1.6)
    assert run.at("UserEvent") <= run.at("QueueCallerJoin")
    assert run.first("Newexten", Application="Queue")["AppData"].endswith(",,,1")
    # Nobody picked up: the same abandon report as without AMD, a second after the join.
    assert run.at("QueueCallerAbandon") - run.at("QueueCallerJoin") == pytest.approx(1.0)
    assert _abandon_reasons(run) == ["TIMEOUT"]


def test_without_amd_a_machine_is_just_another_answer() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=0.0, talk_seconds=None)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=2.0, talk_seconds=25.0, machine=True)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call()
    run.until(60)
    assert run.named("UserEvent") == [] and run.first("AgentConnect")["Interface"] == "PJSIP/101"


def test_client_hanging_up_while_queued_is_reported_by_the_h_extension() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=None)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=1.0)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call()
    run.until(60)
    assert run.first("HangupRequest", Cause="16")["Channel"].startswith("PJSIP/trunk-")
    assert run.first("VarSet", Variable="ABANDONED")["Value"] == "TRUE"
    assert _abandon_reasons(run) == ["CALLERHANGUP"]
    assert run.first("Newexten", Exten="h", Priority="2")["Application"] == "UserEvent"


def test_predictive_failures_report_asterisks_reasons_and_causes() -> None:
    run = Run(clients={"380670000006": ClientBehaviour("busy", ring_seconds=1.0),
                       "375290000009": ClientBehaviour("congestion", ring_seconds=0.0),
                       "375290000008": ClientBehaviour("no_answer")})
    for number in ("380670000006", "375290000009", "375290000008"):
        run.pbx.originate(OriginateRequest(channel=f"PJSIP/{number}@trunk", context="zvonar-campaign", exten="s",
                                           caller_id=COMPANY, variables={"ZVONAR_QUEUE": "campaign"},
                                           action_id=number, timeout=20.0))
    run.until(60)
    responses = {e["ActionID"]: e for e in run.named("OriginateResponse")}
    assert {a: (e["Response"], e["Reason"], e["Uniqueid"]) for a, e in responses.items()} == {
        "380670000006": ("Failure", "5", "<unknown>"),
        "375290000009": ("Failure", "8", "<unknown>"),
        "375290000008": ("Failure", "3", "<unknown>"),
    }
    assert responses["380670000006"]["Channel"] == "PJSIP/380670000006@trunk"
    causes = sorted((e["Cause"], e.get("TechCause")) for e in run.named("Hangup"))
    assert causes == [("17", "486"), ("19", None), ("34", "503")]
    assert at_timeout(run) == 20.0
    assert run.pbx.idle()


def at_timeout(run: Run) -> float:
    return run.at("OriginateResponse", Reason="3")


def test_click_to_call_with_a_pjsip_agent_and_the_client_through_the_trunk() -> None:
    run = Run(agents={"102": AgentBehaviour(answer_after=1.5)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=2.0, talk_seconds=4.0, early_media=True)})
    run.pbx.originate(OriginateRequest(channel="PJSIP/102", context="zvonar-outbound", exten=CLIENT,
                                       caller_id=(CLIENT, "Иван Петров"), action_id="c2c"))
    run.until(60)
    agent = run.first("Newchannel")
    assert (agent["Channel"][:10], agent["CallerIDNum"], agent["CallerIDName"], agent["Context"]) == (
        "PJSIP/102-", "102", "Оператор 102", "zvonar-agents")
    dial = run.first("DialBegin", DialString=f"{CLIENT}@trunk")
    assert dial["Channel"] == agent["Channel"] and dial["CallerIDNum"] == COMPANY[0]
    assert run.first("DialState", Channel=agent["Channel"])["DialStatus"] == "PROGRESS"
    assert run.at("DialEnd", DialStatus="ANSWER", Channel=agent["Channel"]) == 3.5
    assert [e["Cause"] for e in run.named("Hangup")] == ["16", "16"]
    assert run.first("HangupRequest")["Channel"].startswith("PJSIP/trunk-")
    statuses = [e["Status"] for e in run.named("QueueMemberStatus") if e["Queue"] == "support"]
    assert statuses == ["6", "2", "1"]


def test_click_to_call_to_an_invalid_number_plays_a_message_and_hangs_up_with_cause_28() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=1.0)})
    run.pbx.originate(OriginateRequest(channel="PJSIP/101", context="zvonar-outbound", exten="12345&PJSIP/666",
                                       caller_id=("12345", "x"), action_id="bad"))
    run.until(60)
    assert run.first("Newexten", Exten="s", Priority="2")["AppData"] == "ss-noservice"
    assert run.first("Hangup")["Cause"] == "28"
    assert run.named("DialBegin") == [run.first("DialBegin")]  # only the agent leg was ever dialled


def test_unknown_did_is_refused_with_unallocated_number() -> None:
    run = Run()
    run.pbx.inject_inbound_call("79031234567", "Мария Сидорова", "74950000000", 30.0)
    run.until(10)
    hangup = run.first("Hangup")
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("1", "Unallocated (unassigned) number")
    assert run.named("QueueCallerJoin") == []


def _second_caller_rings(wrapuptime: float) -> list[str]:
    # linear: without wrap-up the first member would always be rung first.
    queue = QueueConfig("support", strategy="linear", timeout=15, retry=2, wrapuptime=wrapuptime,
                        members=(QueueMemberConfig("PJSIP/101", "Оператор 101"),
                                 QueueMemberConfig("PJSIP/102", "Оператор 102")))
    agents = {"101": AgentBehaviour(answer_after=1.0, talk_seconds=3.0),
              "102": AgentBehaviour(answer_after=1.0, talk_seconds=3.0)}
    run = Run(queues=(queue,), agents=agents)
    run.pbx.inject_inbound_call("79031234567", "Мария Сидорова", "74951234567", 60.0)
    run.until(6.0)
    assert run.first("AgentComplete")["Interface"] == "PJSIP/101"
    run.pbx.inject_inbound_call("380671112233", "Тарас Шевчук", "74951234568", 60.0)
    run.until(60)
    return [e["Interface"] for e in run.named("AgentCalled")]


def test_wrapup_keeps_the_agent_who_just_finished_out_of_the_next_call() -> None:
    assert _second_caller_rings(wrapuptime=5) == ["PJSIP/101", "PJSIP/102"]
    assert _second_caller_rings(wrapuptime=0) == ["PJSIP/101", "PJSIP/101"]


def test_hangup_from_outside_ends_a_bridged_click_to_call() -> None:
    run = Run(agents={"101": AgentBehaviour(answer_after=1.0)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})
    run.pbx.originate(OriginateRequest(channel="PJSIP/101", context="zvonar-outbound", exten=CLIENT,
                                       caller_id=(CLIENT, "Иван Петров"), action_id="c2c"))
    run.until(5)
    agent = next(c for c in run.pbx.live_channels() if c.name.startswith("PJSIP/101-"))
    run.pbx.request_hangup(agent, None)
    run.until(6)
    assert run.pbx.idle()
    soft = run.first("SoftHangupRequest")
    assert soft["Channel"] == agent.name
    assert sorted(e["Channel"][:8] for e in run.named("Hangup")) == ["PJSIP/10", "PJSIP/tr"]
    assert len(run.named("BridgeDestroy")) == 1


def test_unknown_endpoint_cannot_be_originated() -> None:
    run = Run()
    run.pbx.originate(OriginateRequest(channel="PJSIP/999", context="zvonar-outbound", exten=CLIENT,
                                       action_id="ghost"))
    run.until(1)
    response = run.first("OriginateResponse")
    assert (response["Response"], response["Reason"], response["Channel"]) == ("Failure", "0", "PJSIP/999")
    assert run.named("Newchannel") == []


def _outcomes(seed: int) -> list[tuple[str, float]]:
    odds = RandomClients(answer=0.5, busy=0.2, no_answer=0.2, congestion=0.1)
    pbx = Pbx(SimConfig(seed=seed, random_clients=odds, epoch_start=EPOCH))
    return [(b.outcome, b.ring_seconds) for b in (pbx.book.client(f"7916000{n:04d}") for n in range(40))]


def test_random_clients_follow_the_seed() -> None:
    assert _outcomes(7) == _outcomes(7)
    assert _outcomes(7) != _outcomes(8)
    assert {outcome for outcome, _ in _outcomes(7)} == {"answer", "busy", "no_answer", "congestion"}


def test_dialplan_settings_come_from_the_config() -> None:
    dialplan = DialplanConfig(dial_timeout=7, company_cid_num="74950000001", company_cid_name="ИП Звонарёв")
    run = Run(dialplan=dialplan, agents={"101": AgentBehaviour(answer_after=1.0)},
              clients={CLIENT: ClientBehaviour("no_answer")})
    run.pbx.originate(OriginateRequest(channel="PJSIP/101", context="zvonar-outbound", exten=CLIENT,
                                       action_id="c2c"))
    run.until(60)
    dial = run.first("Newexten", Application="Dial")
    assert dial["AppData"] == f"PJSIP/{CLIENT}@trunk,7"
    assert run.first("DialBegin", DialString=f"{CLIENT}@trunk")["CallerIDName"] == "ИП Звонарёв"
    assert run.at("DialEnd", DialStatus="NOANSWER") - run.at("DialBegin", DialString=f"{CLIENT}@trunk") == 7.0


def test_a_busy_member_with_retry_zero_is_retried_without_freezing_the_clock() -> None:
    run = Run(agents={"101": AgentBehaviour(busy=True)},
              clients={CLIENT: ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})
    run.pbx.queues.add("campaign", "PJSIP/101", "Оператор 101")
    run.campaign_call()
    run.until(60)
    attempts = run.named("AgentRingNoAnswer")
    assert len(attempts) > 1 and all(e["RingTime"] == "0" for e in attempts)
    assert _abandon_reasons(run) == ["TIMEOUT"]
    assert run.pbx.idle()
