"""The runner's pure core as plain data: agents, how many to dial, a call's life, figures, Originates, owners."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from ami_bridge.protocol import UnsafeAmiValue
from dialer.campaign_runner import abandon_after
from dialer.originates import abandon_sound, campaign_originate, company_caller_id, display_name, preview_originate
from dialer.owners import dead_here, new_owner_id
from dialer.runner_state import (
    AgentSeen,
    CampaignInfo,
    CampaignLive,
    LiveCall,
    WrapUpClock,
    agents_by_phase,
    agents_in_queue,
    attempt_outcome,
    dials_wanted,
    effective_status,
    outcome_at_shutdown,
    pacing_agents,
    stats_payload,
)

AT = datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)
INFO = CampaignInfo(id=7, name="Обзвон: Москва", team_id=2, state="running", mode="predictive", queue="campaign",
                    pacing={"abandon_cap": 0.03, "lines_per_agent": 2, "ring_timeout": 25, "max_lines": None})


def call(action_id: str, lead_id: int, t: float, mode: str = "predictive") -> LiveCall:
    return LiveCall(action_id=action_id, campaign_id=7, lead_id=lead_id, attempt_id=lead_id * 10, client_id=lead_id,
                    phone=f"+7916000000{lead_id}", attempts=1, mode=mode, dialed_at=t)


# ------------------------------------------------------------------ agents


def test_agents_of_the_campaign_queue_by_phase() -> None:
    seen = [
        AgentSeen("101", "ready", 4.0, ("campaign",)),
        AgentSeen("102", "on_call", 30.0, ("campaign", "support")),
        AgentSeen("103", "wrap_up", 2.0, ("campaign",)),
        AgentSeen("104", "paused", 60.0, ("campaign",)),
        AgentSeen("105", "ready", 1.0, ("support",)),
        AgentSeen("106", "unavailable", 9.0, ("campaign",)),
        AgentSeen("107", "ringing", 0.5, ("campaign",)),
    ]
    mine = agents_in_queue(seen, "campaign")
    assert [a.agent for a in mine] == ["101", "102", "103", "104", "106", "107"]
    assert agents_by_phase(mine) == {"free": 1, "talk": 2, "wrap": 1, "paused": 1, "unavailable": 1}
    # Only agents who can take a call count for the pacing; a ringing one is about to talk.
    assert pacing_agents(mine) == [("free", 4.0), ("talk", 30.0), ("wrap", 2.0), ("talk", 0.5)]


WRAPUP_REASONS = ("wrap-up",)


def test_an_agent_paused_for_the_desk_wrap_up_is_wrapping_up_not_on_a_break() -> None:
    assert effective_status("paused", "wrap-up", WRAPUP_REASONS) == "wrap_up"
    assert effective_status("paused", "обед", WRAPUP_REASONS) == "paused"
    assert effective_status("paused", None, WRAPUP_REASONS) == "paused"
    assert effective_status("ready", "wrap-up", WRAPUP_REASONS) == "ready"
    seen = [AgentSeen("101", effective_status("paused", "wrap-up", WRAPUP_REASONS), 4.0, ("campaign",)),
            AgentSeen("102", effective_status("paused", "обед", WRAPUP_REASONS), 300.0, ("campaign",))]
    # The wrap-up agent frees soon (the pacing counts on it) and is busy for occupancy.
    assert pacing_agents(seen) == [("wrap", 4.0)]
    assert agents_by_phase(seen)["wrap"] == 1 and agents_by_phase(seen)["paused"] == 1


def at(seconds: float) -> datetime:
    return datetime(2026, 12, 3, 10, 0, tzinfo=timezone.utc) + timedelta(seconds=seconds)


def test_wrap_up_is_timed_from_the_call_end_through_the_desk_pause_to_ready() -> None:
    clock = WrapUpClock()
    assert clock.observe("101", "on_call", at(0)) is None
    assert clock.observe("101", "wrap_up", at(95)) is None  # Asterisk's wrap-up after the call
    assert clock.observe("101", effective_status("paused", "wrap-up", WRAPUP_REASONS), at(95.4)) is None
    assert clock.observe("101", "ready", at(117)) == pytest.approx(22.0)
    assert clock.observe("101", "ready", at(200)) is None  # nothing was being wrapped up


def test_a_wrap_up_cut_short_by_the_next_call_ends_there_and_a_forgotten_pause_is_no_wrap_up() -> None:
    clock = WrapUpClock()
    clock.observe("102", "wrap_up", at(0))
    assert clock.observe("102", "ringing", at(3)) == pytest.approx(3.0)
    clock.observe("103", "wrap_up", at(0))
    assert clock.observe("103", "paused", at(2 * 3600)) is None  # two hours: a forgotten pause


def test_a_dialer_stopping_mid_call_keeps_what_it_knows_of_each_call() -> None:
    talking = replace(call("a-1", 1, 0.0), answered_at=9.0, connected_at=9.4, agent_id=3)
    dropped = replace(call("a-2", 2, 0.0), answered_at=8.0, abandoned=True)
    ringing = call("a-3", 3, 0.0)
    machine = replace(call("a-4", 4, 0.0), amd=True, picked_up_at=7.0, resolved_at=10.0, machine=True)
    # The client talking to an operator was reached: not rung again an hour later as "lost".
    assert [outcome_at_shutdown(c) for c in (talking, dropped, ringing, machine)] == [
        "answered", "abandoned", "lost", "machine"]


# ------------------------------------------------------------------ how many to dial


def wanted(mode: str, **kw: int | None) -> int:
    args = dict(free=2, logged_in=3, unconnected=0, in_flight=1, lines_per_agent=3, max_lines=None, max_per_tick=20)
    args.update(kw)
    return dials_wanted(mode, **args)  # type: ignore[arg-type]


def test_preview_never_dials_by_itself() -> None:
    assert wanted("preview", free=5) == 0


def test_progressive_places_one_call_per_free_agent_not_yet_covered() -> None:
    assert wanted("progressive", free=2, unconnected=0) == 2
    assert wanted("progressive", free=2, unconnected=1) == 1
    assert wanted("progressive", free=2, unconnected=3) == 0
    assert wanted("progressive", free=0) == 0
    assert wanted("progressive", free=2, logged_in=0) == 0


def test_predictive_is_the_pacings_answer_within_the_line_limits() -> None:
    assert wanted("predictive", free=2, predictive=5) == 5
    assert wanted("predictive", free=2, predictive=0) == 2, "never fewer than progressive"
    assert wanted("predictive", free=2, predictive=None) == 2
    assert wanted("predictive", free=1, logged_in=2, lines_per_agent=2, unconnected=1, predictive=9) == 3
    assert wanted("predictive", free=2, max_lines=4, in_flight=3, predictive=9) == 1, "every live call holds a trunk line"
    assert wanted("predictive", free=2, max_per_tick=2, predictive=9) == 2


# ------------------------------------------------------------------ a call's life


def test_a_call_is_ringing_then_waiting_then_talking_and_its_answer_is_counted_once() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(call("zv-a", 1, 100.0))
    assert [c.action_id for c in live.ringing] == ["zv-a"] and live.unconnected == 1
    resolution = live.originate_response("zv-a", True, 111.5, linkedid="1733220000.10")
    assert resolution is not None and resolution.human and resolution.seconds == 11.5
    assert live.originate_response("zv-a", True, 112.0) is None, "a repeated response counts nothing"
    assert not live.ringing and live.waiting == 1
    assert live.connected("zv-a", 112.3)
    assert live.waiting == 0 and live.unconnected == 0
    result = live.ended("zv-a", {"outcome": "answered", "talk_seconds": 95, "call_db_id": 42, "call_id": "1733220000.10",
                                 "answered_at": "2026-12-03T09:31:00+00:00"}, 210.0)
    assert result is not None
    assert (result.outcome, result.ring_seconds, result.talk_seconds, result.call_db_id) == ("answered", 11.5, 95, 42)
    assert result.answered_at == datetime(2026, 12, 3, 9, 31, tzinfo=timezone.utc)
    assert (live.run_dials, live.run_answered, live.run_abandoned) == (1, 1, 0)
    assert live.ended("zv-a", {"outcome": "answered"}, 211.0) is None, "ended once"


def test_a_failed_originate_resolves_the_call_as_not_human() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(call("zv-b", 2, 10.0))
    resolution = live.originate_response("zv-b", False, 13.0)
    assert resolution is not None and not resolution.human and resolution.seconds == 3.0
    result = live.ended("zv-b", {"outcome": "busy"}, 13.2)
    assert result is not None and result.outcome == "busy" and result.ring_seconds == 3.0
    assert live.run_answered == 0


def test_zvonar_abandon_is_counted_once_even_when_it_overtakes_the_originate_response() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(call("zv-c", 3, 0.0))
    # The UserEvent names the call by Linkedid, which we learn only from the OriginateResponse.
    assert not live.abandon_reported(14.0, linkedid="1733220000.20")
    live.originate_response("zv-c", True, 12.0, linkedid="1733220000.20")
    assert not live.abandon_reported(14.1, linkedid="1733220000.20")
    result = live.ended("zv-c", {"outcome": "no_answer", "call_id": "1733220000.20"}, 19.0)
    assert result is not None and result.outcome == "abandoned", "the dialplan's word wins over the tracker's guess"
    assert (live.run_answered, live.run_abandoned, live.day_abandoned) == (1, 1, 1)


def test_an_abandon_reported_for_a_known_call_and_by_the_tracker_is_counted_once() -> None:
    live = CampaignLive(7, date(2026, 12, 3), day_dials=10, day_answered=4, day_abandoned=0)
    live.dialed(call("zv-d", 4, 0.0))
    live.originate_response("zv-d", True, 9.0, linkedid="L4")
    assert live.abandon_reported(11.0, linkedid="L4")
    assert not live.abandon_reported(11.5, linkedid="L4")
    result = live.ended("zv-d", {"outcome": "abandoned", "call_id": "L4"}, 15.0)
    assert result is not None and result.outcome == "abandoned"
    assert (live.day_dials, live.day_answered, live.day_abandoned) == (11, 5, 1)
    live.dialed(call("zv-e", 5, 20.0))
    result = live.ended("zv-e", {"outcome": "abandoned", "call_id": "L5"}, 30.0)
    assert result is not None and live.day_abandoned == 2, "the tracker alone (no UserEvent seen) still counts"


def test_with_amd_a_picked_up_call_waits_for_the_dialplans_verdict() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(replace(call("zv-h", 8, 100.0), amd=True))
    live.dialed(replace(call("zv-m", 9, 100.0), amd=True))
    # Picked up: still a call that may bring a human, to the pacing; no answer counted yet.
    assert live.originate_response("zv-h", True, 108.0, linkedid="L8") is None
    assert [c.action_id for c in live.ringing] == ["zv-h", "zv-m"] and live.waiting == 0 and live.run_answered == 0
    human = live.amd_verdict(109.6, True, linkedid="L8")
    assert human is not None and human.human and not human.machine and human.seconds == 9.6, "answer time runs to the verdict"
    assert live.waiting == 1 and live.run_answered == 1
    assert live.amd_verdict(109.7, True, linkedid="L8") is None, "one verdict per call"
    # A verdict may overtake the OriginateResponse that tells us the Linkedid.
    assert live.amd_verdict(113.0, False, linkedid="L9") is None
    machine = live.originate_response("zv-m", True, 110.0, linkedid="L9")
    assert machine is not None and machine.machine and not machine.human and machine.seconds == 13.0
    assert not live.ringing and live.waiting == 1 and live.run_answered == 1, "a machine is no human answer"
    assert (live.run_machines, live.day_machines, live.day_answered) == (1, 1, 1), "counted for the run and the day"
    result = live.ended("zv-m", {"outcome": "abandoned", "call_id": "L9"}, 113.5)
    assert result is not None and result.outcome == "machine" and result.ring_seconds == 10.0, "rang until picked up"
    assert (live.run_answered, live.run_abandoned) == (1, 0)


def test_with_amd_a_client_who_hangs_up_during_the_greeting_was_not_abandoned() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(replace(call("zv-g", 10, 0.0), amd=True))
    live.originate_response("zv-g", True, 9.0, linkedid="L10")
    # No verdict came: the tracker sees a pickup that never met an agent.
    result = live.ended("zv-g", {"outcome": "abandoned", "call_id": "L10"}, 9.6)
    assert result is not None and result.outcome == "no_answer" and result.ring_seconds == 9.0
    assert (live.run_answered, live.run_abandoned, live.day_abandoned) == (0, 0, 0)
    # The dialplan's own ZvonarAbandon (a human no agent took in time) still is one.
    live.dialed(replace(call("zv-q", 11, 0.0), amd=True))
    live.originate_response("zv-q", True, 8.0, linkedid="L11")
    live.amd_verdict(9.5, True, linkedid="L11")
    assert live.abandon_reported(10.6, linkedid="L11")
    result = live.ended("zv-q", {"outcome": "abandoned", "call_id": "L11"}, 14.0)
    assert result is not None and result.outcome == "abandoned" and live.run_abandoned == 1


def test_a_preview_call_is_answered_only_when_the_client_talks() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(call("zv-p", 6, 0.0, mode="preview"))
    assert live.originate_response("zv-p", True, 2.0) is None, "the operator's phone answered, not the client"
    assert live.run_answered == 0
    live.connected("zv-p", 8.0)
    assert live.run_answered == 1


def test_an_originate_that_never_went_out_is_not_a_dial() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.dialed(call("zv-f", 7, 0.0))
    assert live.undialed("zv-f") is not None
    assert (live.run_dials, live.day_dials, live.calls) == (0, 0, {})


def test_attempt_outcome() -> None:
    assert attempt_outcome("answered", True) == "answered", "an agent took it: no abandon whatever else was said"
    assert attempt_outcome("busy", False) == "busy"
    assert attempt_outcome(None, False) == "failed"
    assert attempt_outcome("weird", False) == "failed"
    assert attempt_outcome("no_answer", True) == "abandoned"
    assert attempt_outcome("abandoned", False, machine_seen=True) == "machine", "the dialplan dropped a machine"
    assert attempt_outcome("answered", False, machine_seen=True) == "answered"


# ------------------------------------------------------------------ figures


def test_occupancy_is_talk_and_wrap_over_logged_in_time() -> None:
    live = CampaignLive(7, date(2026, 12, 3))
    live.observe_agents({"free": 1, "talk": 1, "wrap": 0, "paused": 1}, 0.0)
    live.observe_agents({"free": 0, "talk": 1, "wrap": 1, "paused": 1}, 10.0)  # 10 s: 1 of 2 busy
    live.observe_agents({"free": 2, "talk": 0, "wrap": 0, "paused": 0}, 20.0)  # 10 s: 2 of 2 busy
    assert live.occupancy == pytest.approx(30 / 40)
    assert live.agents == {"free": 2, "talk": 0, "wrap": 0, "paused": 0, "unavailable": 0}


def test_day_figures_restart_at_midnight_and_the_window_rolls() -> None:
    live = CampaignLive(7, date(2026, 12, 3), window_seconds=60.0, day_dials=50, day_answered=20, day_abandoned=1)
    live.dialed(call("zv-g", 8, 0.0))
    live.originate_response("zv-g", True, 5.0)
    assert live.window_counts(10.0) == (1, 1, 0)
    assert live.window_counts(70.0) == (0, 0, 0)
    live.roll_day(date(2026, 12, 3))
    assert live.day_dials == 51
    live.roll_day(date(2026, 12, 4))
    assert (live.day_dials, live.day_answered, live.day_abandoned) == (0, 0, 0)


def test_a_call_dialled_before_midnight_counts_in_its_own_day() -> None:
    """As the store counts it (by the dial's start): answered or dropped after midnight, it is yesterday's."""
    live = CampaignLive(7, date(2026, 12, 3), day_dials=50, day_answered=20, day_abandoned=1)
    live.dialed(call("zv-late", 9, 0.0))  # 23:59:55
    live.dialed(call("zv-later", 10, 1.0))
    live.roll_day(date(2026, 12, 4))
    live.dialed(call("zv-new", 11, 6.0))  # 00:00:01
    live.originate_response("zv-late", True, 12.0, linkedid="L9")
    live.abandon_reported(15.0, linkedid="L9")
    live.originate_response("zv-new", True, 16.0)
    assert (live.day_dials, live.day_answered, live.day_abandoned) == (1, 1, 0)
    assert live.undialed("zv-later") is not None and live.day_dials == 1
    assert (live.run_dials, live.run_answered, live.run_abandoned) == (2, 2, 1)  # this runner's own figures: all


def test_stats_payload() -> None:
    live = CampaignLive(7, date(2026, 12, 3), day_dials=40, day_answered=12, day_abandoned=0)
    live.observe_agents({"free": 1, "talk": 2, "wrap": 0, "paused": 0}, 0.0)
    for i in range(4):
        live.dialed(call(f"zv-{i}", i, 0.0))
    live.originate_response("zv-0", True, 3.0, linkedid="L0")
    live.abandon_reported(5.0, linkedid="L0")
    live.originate_response("zv-1", True, 4.0)
    live.originate_response("zv-2", False, 4.0)
    payload = stats_payload(INFO, live, 6.0, AT)
    assert payload["campaign_id"] == 7 and payload["team_id"] == 2 and payload["at"] == "2026-12-03T09:30:00+00:00"
    assert (payload["dials"], payload["answered"], payload["abandoned"], payload["abandon_rate"]) == (4, 2, 1, 0.5)
    assert (payload["day_dials"], payload["day_answered"], payload["day_abandoned"]) == (44, 14, 1)
    assert payload["day_abandon_rate"] == round(1 / 14, 4)
    assert payload["agents"] == {"free": 1, "talk": 2, "wrap": 0, "paused": 0, "unavailable": 0}
    # zv-3 rings; zv-1 picked up and waits for an agent; zv-0 was dropped; zv-2 failed and ends soon.
    assert (payload["ringing"], payload["waiting"], payload["in_flight"]) == (1, 1, 4)
    assert payload["abandon_cap"] == 0.03


# ------------------------------------------------------------------ Originates


def test_campaign_originate_follows_the_dialplan_contract() -> None:
    action = campaign_originate(
        action_id="zv-0123456789abcdef", digits="79161234567", campaign_id=7, lead_id=42, queue="campaign",
        client_name='ООО "Ромашка", Москва', trunk_dial_template="PJSIP/{number}@trunk", context="zvonar-campaign",
        timeout_ms=25000, caller_id='"ООО Звонарь" <74952223344>',
    )
    assert action == {
        "ActionID": "zv-0123456789abcdef", "Channel": "PJSIP/79161234567@trunk", "Context": "zvonar-campaign",
        "Exten": "s", "Priority": "1", "Timeout": "25000", "Async": "true",
        "Variable": ["ZVONAR_QUEUE=campaign", "ZVONAR_CAMPAIGN=7", "ZVONAR_LEAD_ID=42", "ZVONAR_CLIENT_NUM=79161234567",
                     "ZVONAR_CLIENT_NAME=ООО Ромашка Москва"],
        "CallerID": '"ООО Звонарь" <74952223344>',
    }


def test_a_campaign_with_amd_asks_the_dialplan_for_it() -> None:
    action = campaign_originate(
        action_id="zv-0123456789abcdef", digits="375291234567", campaign_id=7, lead_id=42, queue="campaign",
        client_name=None, trunk_dial_template="PJSIP/{number}@trunk", context="zvonar-campaign",
        timeout_ms=25000, caller_id=None, amd=True,
    )
    assert action["Variable"][-1] == "ZVONAR_AMD=1"
    with_amd = replace(INFO, pacing={**INFO.pacing, "amd": True})
    assert with_amd.amd and not INFO.amd
    # Queue(...,1) after the verdict: only an agent free at once takes the call (pacing's grace).
    assert (abandon_after(with_amd), abandon_after(INFO)) == (0.0, 1.0)


def test_a_campaigns_recording_of_who_called_goes_to_the_dialplan() -> None:
    base = dict(action_id="zv-1", digits="380441234567", campaign_id=7, lead_id=1, queue="campaign", client_name=None,
                trunk_dial_template="PJSIP/{number}@trunk", context="zvonar-campaign", timeout_ms=25000, caller_id=None)
    action = campaign_originate(**base, abandon_message="zvonar/karpaty-abandon")  # type: ignore[arg-type]
    assert action["Variable"][-1] == "ZVONAR_ABANDON_MESSAGE=zvonar/karpaty-abandon"
    assert not any(v.startswith("ZVONAR_ABANDON_MESSAGE=") for v in campaign_originate(**base)["Variable"])  # type: ignore[arg-type]
    # A comma would start another variable, a path would leave the sounds directory, CR/LF another action.
    for bad in ("zvonar/a,ZVONAR_QUEUE=support", "../../etc/passwd", "/etc/passwd", "zvonar/a\r\nAction: Hangup",
                "zvonar/a&zvonar/b", "zvonar/abandon.wav"):
        with pytest.raises(ValueError, match="abandon_message"):
            campaign_originate(**base, abandon_message=bad)  # type: ignore[arg-type]


def test_the_campaigns_recording_comes_before_the_companys() -> None:
    assert abandon_sound("zvonar/karpaty-abandon", "zvonar/company-abandon") == "zvonar/karpaty-abandon"
    assert abandon_sound(None, "zvonar/company-abandon") == "zvonar/company-abandon"
    assert abandon_sound("", "") is None, "neither: the dialplan's stock apology"
    with pytest.raises(ValueError, match="abandon_message"):
        abandon_sound("zvonar/a\nAction: Hangup", "zvonar/company-abandon")


def test_campaign_originate_refuses_what_could_reach_ami_wrongly() -> None:
    base = dict(action_id="zv-1", digits="79161234567", campaign_id=7, lead_id=1, queue="campaign", client_name="Иванов",
                trunk_dial_template="PJSIP/{number}@trunk", context="zvonar-campaign", timeout_ms=25000, caller_id=None)
    with pytest.raises(ValueError, match="number"):
        campaign_originate(**{**base, "digits": "7916&1234567"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="queue"):
        campaign_originate(**{**base, "queue": "campaign,support"})  # type: ignore[arg-type]
    with pytest.raises(UnsafeAmiValue):
        campaign_originate(**{**base, "caller_id": "Звонарь\r\nAction: Hangup"})  # type: ignore[arg-type]
    assert "CallerID" not in campaign_originate(**base)  # type: ignore[arg-type]
    assert display_name("Жук\r\nСвятлана|Міхайлаўна;") == "Жук Святлана Міхайлаўна"


def test_preview_originate_rings_the_operator_first() -> None:
    action = preview_originate(
        action_id="zv-2", endpoint="101", digits="380671234567", client_name="ТОВ «Карпати»", client_id=5, user_id=3,
        campaign_id=7, lead_id=9, agent_channel_template="PJSIP/{endpoint}", context="zvonar-outbound", timeout_ms=30000,
    )
    assert (action["Channel"], action["Context"], action["Exten"]) == ("PJSIP/101", "zvonar-outbound", "380671234567")
    assert action["Variable"] == ["ZVONAR_CLIENT_ID=5", "ZVONAR_USER_ID=3", "ZVONAR_CAMPAIGN=7", "ZVONAR_LEAD_ID=9"]
    assert action["ActionID"] == "zv-2"
    # The campaign's own number for the client's phone; none: zvonar-outbound shows the company's.
    base = dict(action_id="zv-3", endpoint="101", digits="380671234567", client_name=None, client_id=5, user_id=3,
                campaign_id=7, lead_id=9, agent_channel_template="PJSIP/{endpoint}", context="zvonar-outbound",
                timeout_ms=30000)
    own = preview_originate(**base, caller_id='"Відділ продажів" <380442351234>')  # type: ignore[arg-type]
    assert own["Variable"][-1] == 'ZVONAR_CALLER_ID="Відділ продажів" <380442351234>'
    with pytest.raises(ValueError):
        preview_originate(**base, caller_id="Звонарь\r\nAction: Hangup")  # type: ignore[arg-type]


def test_company_caller_id() -> None:
    assert company_caller_id(None, "") is None
    assert company_caller_id(None, '"ООО Звонарь" <74952223344>') == '"ООО Звонарь" <74952223344>'
    assert company_caller_id("74950001122", '"ООО Звонарь" <74952223344>') == "74950001122"


# ------------------------------------------------------------------ owners


def test_a_dialer_of_this_host_whose_process_is_gone_is_dead() -> None:
    me = new_owner_id(host="vm", pid=100)
    assert len(me) <= 64 and me.startswith("vm:100:")
    alive = {100, 200}.__contains__
    assert not dead_here(me, me, host="vm", alive=alive)
    assert not dead_here("vm:200:abc", me, host="vm", alive=alive)
    assert dead_here("vm:300:abc", me, host="vm", alive=alive)
    assert not dead_here("other:300:abc", me, host="vm", alive=alive), "another host's dialer: only its age tells"
    assert not dead_here("garbage", me, host="vm", alive=alive)
