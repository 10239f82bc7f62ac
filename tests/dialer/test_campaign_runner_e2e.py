"""The live dialer against the PBX simulator over real AMI, on SQLite and PostgreSQL.

A small campaign runs to its end: every lead final or rescheduled, every attempt with the
tracker's real outcome, nothing dialled outside its calling hours or on a DNC list, no
lead dialled twice, the abandon counted from the dialplan's ZvonarAbandon; pause, resume
and stop are honoured within a second; campaign.stats arrives once a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ami_bridge.bridge import AmiBridge, BridgeConfig
from ami_bridge.connection import AmiConnection
from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour, PbxSimulator
from ami_bridge.pbx_sim.queues import QueueState
from ami_bridge.queue_actions import QueueOutcome, send_queue_pause
from crm_core.db import Database
from crm_core.models import Attempt, Call
from crm_core.services import campaign_dialers
from crm_core.services import campaigns as campaigns_service
from crm_core.services import dnc as dnc_service
from dialer import campaign_reads
from dialer.campaign_runner import Dialer
from dialer.runner_config import DialerConfig
from dialer.runner_state import day_start
from tests.dialer.runner_rig import (
    SimRecord,
    attempts_of,
    hours_open_in_one_zone,
    leads_of,
    make_campaign,
    settled,
    sim_config,
    start_sim,
    utcnow,
    wait_for,
)
from zvonar.bus import InProcessBus

# 101 answers at once; 102's phone rings and is never picked up (its first queue call is an abandon).
AGENTS = {"101": AgentBehaviour(answer_after=0.3, talk_seconds=None), "102": AgentBehaviour(answer_after=None)}
TALK = ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=3.0)


@dataclass
class Rig:
    db: Database
    bus: InProcessBus
    sim: PbxSimulator
    record: SimRecord
    bridge: AmiBridge
    dialer: Dialer


@pytest.fixture
async def make_rig(db: Database) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    """Start the simulator (with these client numbers), the bridge and a dialer (not yet started)."""
    started: list[Rig] = []

    async def make(clients: dict[str, ClientBehaviour], time_scale: float = 0.1,
                   agents: dict[str, AgentBehaviour] = AGENTS, more_queues: tuple[str, ...] = (), **dialer: Any) -> Rig:
        config = sim_config(clients, agents, time_scale=time_scale)
        [queue] = config.queues
        config = replace(config, queues=(queue, *(replace(queue, name=name) for name in more_queues)))
        sim, record = await start_sim(config)
        host, port = sim.address  # type: ignore[misc]
        bus = InProcessBus()
        conn = AmiConnection(host, port, "zvonar", "zvonar", ping_interval=5.0, action_timeout=5.0)
        # The simulator's wrap-up is in simulated seconds; the bridge's would be wall-clock ones.
        bridge = AmiBridge(conn, db, bus, BridgeConfig(wrapup_seconds=0.0))
        await bridge.start()
        runner = Dialer(db, bus, bridge, DialerConfig(tick_seconds=0.05, stats_seconds=0.2, lease_seconds=30, **dialer))
        rig = Rig(db, bus, sim, record, bridge, runner)
        started.append(rig)
        return rig

    yield make
    for rig in started:
        await rig.dialer.stop()
        await rig.bridge.stop()
        await rig.sim.stop()


@pytest.mark.parametrize("mode", ["progressive", "predictive"])
async def test_a_small_campaign_runs_to_its_end(make_rig, db: Database, mode: str) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    open_zone, closed_zone, hours = hours_open_in_one_zone(now)
    numbers = {
        "+79161110001": ("ООО «Ромашка»", open_zone, TALK),
        "+79161110002": ("АО «Вектор»", open_zone, TALK),
        "+79161110003": ("ИП Смирнов А.В.", open_zone, TALK),
        "+380671110004": ("ТОВ «Карпати»", open_zone, TALK),
        "+375291110005": ("ОАО «Криница»", open_zone, ClientBehaviour("busy", ring_seconds=1.0)),
        "+79031110006": ("Петрова Ирина Сергеевна", open_zone, ClientBehaviour("no_answer")),
        "+79851110007": ("ЗАО «Меридиан»", open_zone, ClientBehaviour("congestion", ring_seconds=0.5)),
        "+79121110008": ("ООО «Горизонт»", open_zone, TALK),  # put on the DNC list after loading
        "+79501110009": ("ООО «Балтика-Трейд»", closed_zone, TALK),  # outside its calling hours now
    }
    rig = await make_rig({phone.lstrip("+"): b for phone, (_, _, b) in numbers.items()})
    setup = await make_campaign(db, mode=mode, hours=hours, clients=[(n, p, z) for p, (n, z, _) in numbers.items()])
    dnc_phone, closed_phone = "+79121110008", "+79501110009"
    await dnc_service.add_dnc(db, setup.supervisor, dnc_phone, setup.campaign_id, "Просил не звонить")
    sub = await rig.bus.subscribe(["campaign.*", "screen.pop"])
    await rig.dialer.start()

    async def done() -> bool:
        leads = await leads_of(db, setup.campaign_id)
        dialable = [lead for phone, lead in leads.items() if phone != closed_phone]
        return settled(dialable, utcnow()) and not rig.dialer.runs[setup.campaign_id].live.calls

    await wait_for(done, 40.0, "every lead final or rescheduled")
    await rig.sim.wait_until_idle()
    leads, attempts = await leads_of(db, setup.campaign_id), await attempts_of(db, setup.campaign_id)

    # Dialled: each dialable lead exactly once, never the DNC or the closed-hours one.
    assert sorted(a.phone_e164 for a in attempts) == sorted(p for p in numbers if p not in (dnc_phone, closed_phone))
    assert sorted("+" + n for n in rig.record.numbers()) == sorted(a.phone_e164 for a in attempts), \
        "one Originate per attempt, and no other"
    assert not rig.record.overlaps()
    assert leads[dnc_phone].state == "dnc" and leads[dnc_phone].attempts == 0
    assert leads[closed_phone].state == "ready" and leads[closed_phone].attempts == 0
    # Every attempt has the tracker's real outcome, and its lead moved by the retry rules.
    outcome = {a.phone_e164: a.outcome for a in attempts}
    assert outcome["+375291110005"] == "busy" and outcome["+79031110006"] == "no_answer"
    assert outcome["+79851110007"] == "congestion"
    talked = [p for p, (_, _, b) in numbers.items() if b is TALK and p not in (dnc_phone, closed_phone)]
    assert sorted(outcome[p] for p in talked) == ["abandoned", "answered", "answered", "answered"], \
        "102 never picks up: the one call it is offered is an abandon, then it is paused"
    for a in attempts:
        assert a.ended_at is not None and a.dialer_id == rig.dialer.owner and a.mode == mode
        assert a.ring_seconds is not None and a.ring_seconds >= 0
    later = utcnow()
    assert leads["+375291110005"].state == "ready" and leads["+375291110005"].next_try_at > later + timedelta(minutes=8)
    assert leads["+79031110006"].next_try_at > later + timedelta(minutes=110)
    abandoned = next(leads[p] for p in talked if outcome[p] == "abandoned")
    assert abandoned.abandon_hold_until > later + timedelta(hours=71)
    for p in talked:
        if outcome[p] == "answered":
            a = next(x for x in attempts if x.phone_e164 == p)
            assert leads[p].state == "done" and a.talk_seconds is not None and a.call_id is not None
            assert a.agent_id == setup.operators["101"]
    # The abandon came from the dialplan's UserEvent, and the live figures count it once.
    assert len(rig.record.abandons) == 1 and rig.record.abandons[0]["Campaign"] == str(setup.campaign_id)
    stats = rig.dialer.stats(setup.campaign_id)
    assert stats is not None
    assert (stats["day_dials"], stats["day_answered"], stats["day_abandoned"]) == (len(attempts), 4, 1)
    assert stats["abandon_rate"] == 0.25 and stats["agents"]["paused"] == 1

    events = []
    while True:
        try:
            events.append(await sub.get(timeout=0.01))
        except TimeoutError:
            break
    [taken] = [e.payload for e in events if e.topic == "campaign.state"]
    assert (taken["state"], taken["previous_state"], taken["campaign_id"]) == ("running", None, setup.campaign_id)
    stat_events = [e.payload for e in events if e.topic == "campaign.stats"]
    assert len(stat_events) >= 3
    assert {"dials", "answered", "abandoned", "abandon_rate", "occupancy", "agents", "ringing", "waiting"} <= set(stat_events[-1])
    assert stat_events[-1]["campaign_id"] == setup.campaign_id and stat_events[-1]["day_abandoned"] == 1
    assert max(s["ringing"] for s in stat_events) >= 1
    pops = [e.payload for e in events if e.topic == "screen.pop"]
    assert pops, "the agent got the client's card"
    for pop in pops:
        assert pop["campaign_id"] == setup.campaign_id and pop["lead_id"] == leads["+" + pop["number"].lstrip("+")].id
        assert pop["script_id"] == setup.script_id and setup.script_id is not None


async def test_pause_resume_and_stop_are_honoured_within_a_second(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    open_zone, _, hours = hours_open_in_one_zone(now)
    phones = [f"+7916222{i:04d}" for i in range(40)]
    # Nobody answers: each call rings to the 10 s (1 s here) timeout, two at a time (two free agents).
    rig = await make_rig({})
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False,
                                clients=[(f"ООО «Клиент {i}»", p, open_zone) for i, p in enumerate(phones)])
    sub = await rig.bus.subscribe(["campaign.*"])
    await rig.dialer.start()
    await wait_for(lambda: len(rig.record.calls) >= 4, 15.0, "the first dials")

    await campaigns_service.pause(db, setup.supervisor, setup.campaign_id)
    await asyncio.sleep(1.0)
    paused_at = len(rig.record.calls)
    await asyncio.sleep(1.5)
    assert len(rig.record.calls) == paused_at, "no call placed while paused"
    assert rig.dialer.runs[setup.campaign_id].info.state == "paused"

    await campaigns_service.resume(db, setup.supervisor, setup.campaign_id)
    await wait_for(lambda: len(rig.record.calls) > paused_at, 3.0, "dialing again after resume")

    await campaigns_service.stop(db, setup.supervisor, setup.campaign_id)
    await asyncio.sleep(1.0)
    stopped_at = len(rig.record.calls)
    await asyncio.sleep(1.5)
    assert len(rig.record.calls) == stopped_at, "no call placed after stop"
    await wait_for(lambda: setup.campaign_id not in rig.dialer.runs, 5.0, "the stopped campaign's calls to end")
    assert rig.sim.queue_members("campaign") == [], "a stopped campaign's operators leave its queue"

    leads = await leads_of(db, setup.campaign_id)
    attempts = await attempts_of(db, setup.campaign_id)
    assert not [lead for lead in leads.values() if lead.state in ("leased", "dialing")]
    assert len(attempts) == stopped_at and all(a.outcome == "no_answer" for a in attempts)
    assert not rig.record.overlaps() and len(set(rig.record.numbers())) == len(rig.record.numbers())

    states, stats = [], []
    while True:
        try:
            event = await sub.get(timeout=0.01)
        except TimeoutError:
            break
        (states if event.topic == "campaign.state" else stats).append(event.payload)
    assert [s["state"] for s in states] == ["running", "paused", "running", "stopped"]
    assert [s["previous_state"] for s in states] == [None, "running", "paused", "running"]
    # The day's figures count from midnight in the dialer's zone (a run across it counts today's dials only).
    midnight = day_start(utcnow(), rig.dialer.config.day_timezone)[1]
    today = [a for a in attempts if a.started_at >= midnight]
    assert len(stats) >= 10 and stats[-1]["state"] == "stopped" and stats[-1]["day_dials"] == len(today)


async def test_a_client_who_answers_after_the_stop_still_reaches_an_operator(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """Stop places nothing more, but the call already ringing is answered by an operator, not an empty queue.

    Emptying the queue at once would turn that answer into an abandon: counted against the
    cap, an apology for the client, and the number held for 72 hours.
    """
    phone = "+79161115555"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    # The client's phone rings 6 simulated seconds (3 s here) before the answer.
    rig = await make_rig({phone.lstrip("+"): ClientBehaviour("answer", ring_seconds=6.0, talk_seconds=3.0)},
                         time_scale=0.5, agents={"101": AgentBehaviour(answer_after=0.3, talk_seconds=None)})
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", phone, open_zone)])
    await rig.dialer.start()
    await wait_for(lambda: len(rig.record.calls) == 1, 10.0, "the call")
    await campaigns_service.stop(db, setup.supervisor, setup.campaign_id)
    await asyncio.sleep(0.5)  # the dialer has seen the stop (it polls every 0.05 s)
    assert rig.dialer.runs[setup.campaign_id].info.state == "stopped"
    assert [m["Interface"] for m in rig.sim.queue_members("campaign")] == ["PJSIP/101"], "the operator stays while it rings"

    await wait_for(lambda: setup.campaign_id not in rig.dialer.runs, 20.0, "the stopped campaign's call to end")

    async def settled_attempt() -> bool:
        return all(a.outcome is not None for a in await attempts_of(db, setup.campaign_id))

    await wait_for(settled_attempt, 5.0, "the call's outcome")
    [attempt] = await attempts_of(db, setup.campaign_id)
    lead = (await leads_of(db, setup.campaign_id))[phone]
    assert attempt.outcome == "answered" and attempt.agent_id == setup.operators["101"]
    assert rig.record.abandons == [] and lead.abandon_hold_until is None
    async with db.reading() as s:
        call = await s.get(Call, attempt.call_id)
    assert call is not None and call.campaign_id == setup.campaign_id, "the call is filed under its campaign"
    assert rig.sim.queue_members("campaign") == [], "then the operator leaves the stopped campaign's queue"


async def test_a_queue_changed_while_paused_is_joined_on_resume_and_the_old_one_left_after_its_calls(
        make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """The supervisor pauses, moves the campaign to another queue and resumes while a call still rings in the old one.

    On resume the operators join the new queue and dialing goes on there; they stay in the
    old queue until the call placed into it has ended, so its client reaches an operator.
    """
    answering = "+79161116601"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({answering.lstrip("+"): ClientBehaviour("answer", ring_seconds=6.0, talk_seconds=3.0)},
                         time_scale=0.5, agents={"101": AgentBehaviour(answer_after=0.3, talk_seconds=None)},
                         more_queues=("sales2",))
    later = [f"+7916111660{i}" for i in range(2, 6)]  # nobody answers these
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", answering, open_zone),
                                         *((f"ИП Коваленко {i}", p, open_zone) for i, p in enumerate(later))])
    await rig.dialer.start()
    await wait_for(lambda: len(rig.record.calls) == 1, 10.0, "the first call")

    def members(queue: str) -> list[str]:
        return [m["Interface"] for m in rig.sim.queue_members(queue)]

    await campaigns_service.pause(db, setup.supervisor, setup.campaign_id)
    await campaigns_service.update_campaign(db, setup.supervisor, setup.campaign_id, {"queue": "sales2"})
    await campaigns_service.resume(db, setup.supervisor, setup.campaign_id)
    await wait_for(lambda: members("sales2") == ["PJSIP/101"], 2.0, "the operator in the new queue")
    assert members("campaign") == ["PJSIP/101"], "still in the old queue while its call rings"

    await wait_for(lambda: len(rig.record.calls) >= 2, 15.0, "dialing on in the new queue")

    async def first_attempt() -> Attempt | None:
        first = min(await attempts_of(db, setup.campaign_id), key=lambda a: a.id)
        return first if first.outcome is not None else None

    await wait_for(first_attempt, 5.0, "the first call's outcome")
    first = await first_attempt()
    assert first is not None and first.phone_e164 == answering
    assert first.outcome == "answered" and first.agent_id == setup.operators["101"]
    assert rig.record.abandons == []
    await wait_for(lambda: members("campaign") == [], 2.0, "the operator out of the old queue")
    assert members("sales2") == ["PJSIP/101"]


async def test_a_campaign_call_gone_before_the_operator_picked_up_is_told_to_the_operator_it_rang(
        make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """Nobody took the call and nobody asked for it: its end goes to the operator whose phone rang (and their team),
    so the desk stops ringing; while it is nobody's call yet it carries the campaign's team only."""
    from crm_core.services import users

    phone = "+79161117701"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    # The client answers after 1 s and gives up 3 s later; 102's phone rings and is never picked up.
    rig = await make_rig({phone.lstrip("+"): ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=3.0)},
                         time_scale=0.5, agents={"102": AgentBehaviour(answer_after=None)})
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("102",),
                                clients=[("ООО «Ромашка»", phone, open_zone)])
    events = await rig.bus.subscribe(["call.started", "call.ringing", "call.ended"])
    await rig.dialer.start()
    seen: dict[str, dict] = {}
    while "call.ended" not in seen:
        event = await events.get(timeout=20.0)
        seen.setdefault(event.topic, event.payload)
    team = await users.ensure_team(db, "Отдел продаж")
    assert seen["call.ringing"]["user_id"] == setup.operators["102"]
    ended = seen["call.ended"]
    assert ended["outcome"] == "abandoned"
    assert (ended["user_id"], ended["team_id"]) == (setup.operators["102"], team)
    assert "user_id" not in seen["call.started"] and seen["call.started"]["team_id"] == team


async def test_the_operator_a_queue_call_reaches_is_on_its_attempt_while_they_talk(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """Written when they answer, not when the call ends: a colleague cannot wrap up the call meanwhile."""
    phone = "+79161118801"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    # Time runs at a tenth: the client talks 30 simulated seconds, 3 s here.
    rig = await make_rig({phone.lstrip("+"): ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=30.0)},
                         agents={"101": AgentBehaviour(answer_after=0.3, talk_seconds=None)})
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", phone, open_zone)])
    await rig.dialer.start()

    async def talking() -> bool:
        attempts = await attempts_of(db, setup.campaign_id)
        return bool(attempts) and attempts[0].agent_id is not None

    await wait_for(talking, 10.0, "the operator on the attempt")
    [attempt] = await attempts_of(db, setup.campaign_id)
    assert attempt.outcome is None, "still talking"
    assert attempt.agent_id == setup.operators["101"]


async def test_a_lead_pinned_to_an_operator_rings_that_operator_first(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from crm_core.models import Campaign, Lead

    _, _, hours = hours_open_in_one_zone(utcnow())
    pinned, other = "+79161110021", "+79161110022"
    rig = await make_rig({pinned.lstrip("+"): TALK, other.lstrip("+"): TALK})
    setup = await make_campaign(db, mode="progressive", hours={**hours, "start": "00:00", "end": "24:00"},
                                endpoints=("101",), clients=[("ООО «Ромашка»", pinned, None), ("АО «Вектор»", other, None)])
    # A personal callback (set_disposition with callback_at pins the lead and raises its priority).
    async with db.transaction() as s:
        await s.execute(update(Lead).where(Lead.id == setup.leads[pinned]).values(agent_id=setup.operators["101"], priority=50))
        await s.execute(update(Campaign).where(Campaign.id == setup.campaign_id)
                        .values(caller_id='"Отдел продаж" <74957778899>'))
    await rig.dialer.start()

    async def done() -> bool:
        return settled((await leads_of(db, setup.campaign_id)).values(), utcnow())

    await wait_for(done, 20.0, "both leads called")
    attempts = {a.phone_e164: a for a in await attempts_of(db, setup.campaign_id)}
    assert attempts[pinned].mode == "preview", "dialled operator first, like a preview card"
    assert attempts[pinned].outcome == "answered" and attempts[pinned].agent_id == setup.operators["101"]
    assert attempts[other].mode == "progressive" and attempts[other].outcome == "answered"
    assert attempts[pinned].started_at < attempts[other].started_at, "the callback goes first"
    assert not rig.record.overlaps()
    # Both show the client the campaign's own number, the callback (operator first) too.
    assert {c.number: c.shown for c in rig.record.calls} == {pinned.lstrip("+"): "74957778899",
                                                             other.lstrip("+"): "74957778899"}


async def test_an_abandon_is_counted_when_the_dialplan_reports_it(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """The only agent pauses while the client's phone rings: Queue() refuses the call at once (JOINEMPTY).

    The dialplan sends UserEvent ZvonarAbandon, then plays the campaign's recording of who
    called and hangs up: the abandon counts against the cap from the UserEvent, before the
    call ends.
    """
    phone = "+79161110031"
    rig = await make_rig({phone.lstrip("+"): ClientBehaviour("answer", ring_seconds=6.0, talk_seconds=3.0)}, time_scale=0.5)
    setup = await make_campaign(db, mode="progressive", hours={"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
                                endpoints=("101",), script=False, clients=[("ООО «Ромашка»", phone, None)],
                                abandon_message="zvonar/zvonar-abandon")
    await rig.dialer.start()
    await wait_for(lambda: len(rig.record.calls) == 1, 10.0, "the call")
    await send_queue_pause(rig.bridge.conn, "PJSIP/101", True, "Обед")
    live = rig.dialer.runs[setup.campaign_id].live
    await wait_for(lambda: live.day_abandoned == 1, 10.0, "the abandon to be counted")
    [attempt] = await attempts_of(db, setup.campaign_id)
    assert attempt.outcome is None and len(live.calls) == 1, "counted while the client still hears the apology"
    assert [e["Reason"] for e in rig.record.abandons] == ["JOINEMPTY"]
    await wait_for(lambda: rig.record.played, 10.0, "the message")
    assert rig.record.played == ["zvonar/zvonar-abandon"], "the client hears who called"

    async def done() -> bool:
        return settled((await leads_of(db, setup.campaign_id)).values(), utcnow())

    await wait_for(done, 10.0, "the call's outcome")
    [attempt] = await attempts_of(db, setup.campaign_id)
    lead = (await leads_of(db, setup.campaign_id))[phone]
    assert attempt.outcome == "abandoned" and lead.abandon_hold_until is not None
    stats = rig.dialer.stats(setup.campaign_id)
    assert stats is not None and (stats["day_answered"], stats["day_abandoned"]) == (1, 1), "counted once"


async def test_an_operator_paused_for_the_desk_wrap_up_counts_as_wrapping_up(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """The desk pauses its agent with reason "wrap-up" until the form is saved: busy, about to free, not a break."""
    now = utcnow()
    open_zone, _, hours = hours_open_in_one_zone(now)
    phones = [f"+7916333{i:04d}" for i in range(40)]
    rig = await make_rig({})  # nobody answers: the agents stay in the queue, free
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False,
                                clients=[(f"ООО «Клиент {i}»", p, open_zone) for i, p in enumerate(phones)])
    sub = await rig.bus.subscribe(["campaign.stats"])
    await rig.dialer.start()
    await wait_for(lambda: len(rig.sim.queue_members("campaign")) == 2, 10.0, "the operators in the campaign queue")

    assert await send_queue_pause(rig.bridge.conn, "PJSIP/101", True, "wrap-up") is QueueOutcome.PAUSED
    assert await send_queue_pause(rig.bridge.conn, "PJSIP/102", True, "обед") is QueueOutcome.PAUSED
    agents: dict = {}
    deadline = asyncio.get_running_loop().time() + 5.0
    while asyncio.get_running_loop().time() < deadline:
        event = await sub.get(timeout=5.0)
        assert event.payload["campaign_id"] == setup.campaign_id
        agents = event.payload["agents"]
        if agents.get("wrap") == 1 and agents.get("paused") == 1:
            break
    assert agents.get("wrap") == 1 and agents.get("paused") == 1 and agents.get("free") == 0, agents


async def test_two_dialers_never_pace_one_campaign_and_the_second_takes_over(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """Two servers (two dialers on one store): one paces the campaign; when it stops, the other carries on."""
    now = utcnow()
    open_zone, _, hours = hours_open_in_one_zone(now)
    phones = [f"+7916444{i:04d}" for i in range(60)]
    rig = await make_rig({})  # nobody answers: each call rings to its timeout
    setup = await make_campaign(db, mode="predictive", hours=hours, script=False,
                                clients=[(f"ООО «Клиент {i}»", p, open_zone) for i, p in enumerate(phones)])
    # Two servers' dialers: owners of other hosts, so neither takes the other for a dead process of its own
    # (in one process, a second dialer would rightly take the first for its own earlier incarnation).
    one, other = (Dialer(db, rig.bus, rig.bridge, DialerConfig(owner=f"zvonar-{name}:4242:0123456789ab", tick_seconds=0.05,
                                                               stats_seconds=0.2, lease_seconds=30, campaign_lease_seconds=3.0))
                  for name in ("a", "b"))
    await asyncio.gather(one.start(), other.start())
    try:
        await wait_for(lambda: len(rig.record.calls) >= 6, 15.0, "the first dials")
        await asyncio.sleep(1.0)
        pacers = [d for d in (one, other) if setup.campaign_id in d.runs]
        assert len(pacers) == 1, "exactly one dialer paces the campaign"
        first, second = pacers[0], other if pacers[0] is one else one
        assert {a.dialer_id for a in await attempts_of(db, setup.campaign_id)} == {first.owner}

        await first.stop()  # a server shut down: it gives the campaign back
        await wait_for(lambda: setup.campaign_id in second.runs, 5.0, "the other dialer to take the campaign")
        placed = len(rig.record.calls)
        await wait_for(lambda: len(rig.record.calls) > placed + 3, 15.0, "dialing to go on")
        owners = [a.dialer_id for a in await attempts_of(db, setup.campaign_id)]
        assert set(owners) == {first.owner, second.owner}
        assert not rig.record.overlaps(), "no number rung twice at once"
    finally:
        await asyncio.gather(one.stop(), other.stop())


async def test_two_dialers_of_one_preview_campaign_publish_one_merged_view(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """Two servers hand cards of one preview campaign to their own operators (no lease): campaign.stats is one view.

    Each dialer knows its own call; the stream (and either server's API answer) shows both
    calls, both dials and the store's day, once a period, never one server's part then the
    other's; the queue's two agents, seen by both servers through one Asterisk, count once.
    """
    from crm_core.models import User
    from crm_core.rights import Actor
    from dialer import preview

    phones = ["+79161115551", "+79161115552"]
    talk = ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=80.0)  # 8 s of wall time
    rig = await make_rig({p.lstrip("+"): talk for p in phones},
                         agents={e: AgentBehaviour(answer_after=0.3, talk_seconds=None) for e in ("101", "102")})
    setup = await make_campaign(db, mode="preview", hours={"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
                                script=False, clients=[(f"ООО «Клиент {i}»", p, None) for i, p in enumerate(phones)])
    cid = setup.campaign_id
    one, other = (Dialer(db, rig.bus, rig.bridge, DialerConfig(owner=f"zvonar-{name}:4242:0123456789ab", tick_seconds=0.05,
                                                               stats_seconds=0.2, lease_seconds=30))
                  for name in ("a", "b"))
    sub = await rig.bus.subscribe(["campaign.stats"])
    await asyncio.gather(one.start(), other.start())
    try:
        await wait_for(lambda: cid in one.runs and cid in other.runs, 5.0, "both dialers to take the preview campaign")
        await wait_for(lambda: len(rig.sim.queue_members("campaign")) == 2, 5.0, "the operators in the campaign's queue")
        # Each server's own operator takes a card from it and calls.
        for dialer, endpoint in ((one, "101"), (other, "102")):
            async with db.reading() as s:
                operator = Actor.of(await s.get(User, setup.operators[endpoint]))
            card = await preview.next_card(db, dialer, operator, cid)
            assert card is not None
            await preview.accept(db, dialer, operator, cid, card.lead_id)
        await wait_for(lambda: all(c.connected_at is not None for d in (one, other) for c in d.runs[cid].live.calls.values())
                       and all(d.runs[cid].live.calls for d in (one, other)), 15.0, "both operators talking")
        await asyncio.sleep(0.6)  # a stats period or two: each dialer has heard the other's part
        while True:  # what was published before
            try:
                await sub.get(timeout=0.001)
            except TimeoutError:
                break
        seen = []
        deadline = asyncio.get_running_loop().time() + 1.2
        while asyncio.get_running_loop().time() < deadline:
            seen.append((await sub.get(timeout=2.0)).payload)
        assert len(seen) >= 3, seen
        figures = [(s["in_flight"], s["dials"], s["day_dials"], sum(s["agents"].values())) for s in seen]
        assert set(figures) == {(2, 2, 2, 2)}, "both servers' calls and dials, the day's from the store, agents once"
        assert len(seen) <= 1.2 / 0.2 + 2, "one publisher, not one per server"
        for dialer in (one, other):  # either server's API answers the same
            mine = dialer.stats(cid)
            assert mine is not None and (mine["in_flight"], mine["dials"], mine["day_dials"]) == (2, 2, 2)
            assert mine["agents"]["talk"] == 2 and sum(mine["agents"].values()) == 2

        async def ended() -> bool:
            attempts = await attempts_of(db, cid)
            return len(attempts) == 2 and all(a.outcome == "answered" for a in attempts)

        await wait_for(ended, 20.0, "both calls to end")
        # The other server's part is at most a stats period old.
        await wait_for(lambda: all((d.stats(cid) or {}).get("day_answered") == 2 and (d.stats(cid) or {}).get("in_flight") == 0
                                   for d in (one, other)), 3.0, "the answers counted, the calls gone")
        for dialer in (one, other):
            mine = dialer.stats(cid)
            assert mine is not None
            assert (mine["in_flight"], mine["dials"], mine["answered"], mine["day_dials"], mine["day_abandoned"]) == (
                0, 2, 2, 2, 0)
    finally:
        await asyncio.gather(one.stop(), other.stop())


async def test_a_preview_campaign_counts_its_operators_reading_talking_and_wrapping_up(  # type: ignore[no-untyped-def]
        make_rig, db: Database) -> None:
    """A preview campaign puts its operators in its queue (which gets no calls) so its figures count them.

    Free while reading a card, talking on the card's call (the phone in use), wrapping up
    while the desk pauses for the form; out of the queue when the campaign stops.
    """
    from crm_core.models import User
    from crm_core.rights import Actor
    from dialer import preview

    phone = "+375291117001"
    rig = await make_rig({phone.lstrip("+"): ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=30.0)},
                         agents={e: AgentBehaviour(answer_after=0.3, talk_seconds=None) for e in ("101", "102")})
    setup = await make_campaign(db, mode="preview", hours={"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
                                script=False, clients=[("Алесь Янушкевич", phone, None)])
    cid = setup.campaign_id
    await rig.dialer.start()
    await wait_for(lambda: len(rig.sim.queue_members("campaign")) == 2, 10.0, "the operators in the campaign's queue")

    def agents() -> dict[str, int]:
        stats = rig.dialer.stats(cid)
        return stats["agents"] if stats is not None else {}

    await wait_for(lambda: agents().get("free") == 2, 5.0, "both operators free")
    async with db.reading() as s:
        operator = Actor.of(await s.get(User, setup.operators["101"]))
    card = await preview.next_card(db, rig.dialer, operator, cid)
    assert card is not None and card.phone == phone
    assert agents()["free"] == 2, "reading a card is waiting for a call"
    await preview.accept(db, rig.dialer, operator, cid, card.lead_id)
    await wait_for(lambda: any(c.connected_at is not None for c in rig.dialer.runs[cid].live.calls.values()),
                   10.0, "the client talking to the operator")
    await wait_for(lambda: agents().get("talk") == 1, 3.0, "the operator counted as talking")
    assert agents()["free"] == 1 and sum(agents().values()) == 2

    await wait_for(lambda: not rig.dialer.runs[cid].live.calls, 10.0, "the call to end")
    assert await send_queue_pause(rig.bridge.conn, "PJSIP/101", True, "wrap-up") is QueueOutcome.PAUSED
    await wait_for(lambda: agents().get("wrap") == 1, 3.0, "the operator counted as wrapping up")
    stats = rig.dialer.stats(cid)
    assert stats is not None and 0.0 < stats["occupancy"] < 1.0, "the talk and the wrap-up over the team's time"

    await campaigns_service.stop(db, setup.supervisor, cid)
    await wait_for(lambda: rig.sim.queue_members("campaign") == [], 10.0, "the operators out of the stopped campaign's queue")


async def test_preview_operators_stay_out_of_a_queue_a_dialing_campaign_uses(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """Every campaign's queue is "campaign" unless the supervisor picks another: while a predictive campaign runs on
    it, a preview campaign's operator stays out (its calls would ring someone reading a card, and its pacing would
    count them free); paused, nobody dials into it and the preview operator joins; resumed, they leave again."""
    from crm_core.models import Role
    from crm_core.services import users
    from tests.password_cost import TEST_PASSWORDS

    open_zone, closed_zone, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({}, agents={e: AgentBehaviour(answer_after=0.3, talk_seconds=None) for e in ("101", "102")})
    setup = await make_campaign(db, mode="preview", hours={"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
                                endpoints=("102",), script=False, clients=[("Алесь Янушкевич", "+375291117002", closed_zone)])
    boss = setup.supervisor
    operator = await users.create_user(db, login="op101", full_name="Ольга Андреевна Иванова", role=Role.operator,
                                       password="correct horse battery", passwords=TEST_PASSWORDS, team_id=boss.team_id,
                                       phone_endpoint="101")
    # Its one client is outside its hours: it runs and dials nobody.
    dialing = await campaigns_service.create_campaign(db, boss, {"name": "Обзвон: прогноз", "mode": "predictive",
                                                                 "queue": "campaign", "hours": hours})
    await campaigns_service.set_agents(db, boss, dialing.id, [operator.id])
    await campaigns_service.add_list_from_filter(db, boss, dialing.id, "Все клиенты отдела", None)
    await campaigns_service.launch(db, boss, dialing.id)

    def members() -> list[str]:
        return sorted(m["Interface"] for m in rig.sim.queue_members("campaign"))

    await rig.dialer.start()
    await wait_for(lambda: members() == ["PJSIP/101"], 10.0, "the predictive campaign's operator in the queue")
    await asyncio.sleep(1.5)  # a poll and a tick of each campaign, and more
    assert members() == ["PJSIP/101"], "the preview operator stays out"
    # Both supervisors see why: one campaign's operators are kept out, the other's clients are all outside their hours.
    assert rig.dialer.stats(setup.campaign_id)["problems"] == [  # type: ignore[index]
        {"code": "kept_out_of_queue", "queue": "campaign"}]
    assert rig.dialer.stats(dialing.id)["problems"] == [{"code": "outside_hours"}]  # type: ignore[index]

    await campaigns_service.pause(db, boss, dialing.id)
    await wait_for(lambda: members() == ["PJSIP/101", "PJSIP/102"], 5.0, "the preview operator in a queue nobody dials into")
    assert rig.dialer.stats(setup.campaign_id)["problems"] == []  # type: ignore[index]
    await campaigns_service.resume(db, boss, dialing.id)
    await wait_for(lambda: members() == ["PJSIP/101"], 5.0, "the preview operator out again")
    assert not rig.record.calls


async def test_an_answering_machine_is_dropped_and_retried_and_a_person_reaches_the_operator(  # type: ignore[no-untyped-def]
        make_rig, db: Database) -> None:
    """A campaign with AMD: the machine is hung up on by the dialplan, the person is queued to operator 101.

    The machine is no human answer and no abandon (not in the cap's figures), its lead is
    retried in 4 hours (``machine_minutes``), and the pacing learns it as a machine.
    """
    machine, person = "+79161110041", "+375291110042"
    rig = await make_rig({
        machine.lstrip("+"): ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=20.0, machine=True),
        person.lstrip("+"): TALK,
    })
    setup = await make_campaign(db, mode="progressive", hours={"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
                                endpoints=("101",), script=False, pacing={"ring_timeout": 10, "amd": True},
                                clients=[("ИП Автоответчиков", machine, None), ("Алесь Янушкевич", person, None)])
    await rig.dialer.start()
    run = await _wait_for_run(rig, setup.campaign_id)

    async def done() -> bool:
        return settled((await leads_of(db, setup.campaign_id)).values(), utcnow())

    await wait_for(done, 20.0, "both calls' outcomes")
    outcomes = {a.lead_id: a.outcome for a in await attempts_of(db, setup.campaign_id)}
    leads = await leads_of(db, setup.campaign_id)
    assert outcomes == {leads[machine].id: "machine", leads[person].id: "answered"}
    assert sorted(e["UserEvent"] for e in rig.record.verdicts) == ["ZvonarHuman", "ZvonarMachine"]
    assert rig.record.abandons == []
    retry_in = leads[machine].next_try_at - utcnow()
    assert leads[machine].state == "ready" and timedelta(hours=3, minutes=55) < retry_in <= timedelta(hours=4)
    held = leads[machine].abandon_hold_until - utcnow()
    assert timedelta(hours=23, minutes=55) < held <= timedelta(hours=24), "a day only with an agent guaranteed"
    assert leads[person].abandon_hold_until is None
    assert leads[person].state == "done"
    async with db.reading() as s:
        calls = {c.client_number: c.outcome for c in (await s.execute(select(Call))).scalars()}
    assert calls.get(machine) == "machine", calls
    stats = rig.dialer.stats(setup.campaign_id)
    assert stats is not None and (stats["day_dials"], stats["day_answered"], stats["day_abandoned"]) == (2, 1, 0)
    assert (stats["dials"], stats["answered"], stats["machines"]) == (2, 1, 1), "the supervisor sees the machine"
    assert stats["day_machines"] == 1, "and the day's count of them"
    since = utcnow() - timedelta(hours=1)
    assert await campaign_reads.day_counts(db, setup.campaign_id, since) == (2, 1, 0, 1), "as a restarted dialer reads it"
    snapshot = run.window.snapshot(0.0, agents=[("free", 1.0)])
    assert (snapshot.recent_dials, snapshot.recent_humans) == (2, 1), "the machine is a resolved dial, not a human"
    assert snapshot.abandon_after == 0.0, "after the verdict only an agent free at once takes the call"


async def _one_client_campaign(make_rig, db: Database, name: str, phone: str, behaviour: ClientBehaviour,  # type: ignore[no-untyped-def]
                               time_scale: float = 0.1, **dialer_config: float):
    """A progressive campaign of one client in its calling hours, operator 101, taken by a started dialer."""
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({phone.lstrip("+"): behaviour}, time_scale=time_scale)
    rig.dialer.config = replace(rig.dialer.config, **dialer_config)
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[(name, phone, open_zone)])
    await rig.dialer.start()
    return rig, setup, await _wait_for_run(rig, setup.campaign_id)


async def test_a_dialer_stopped_mid_conversation_does_not_ring_that_client_again(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """A server shut down while an operator talks to a campaign's client: the attempt is answered, the lead done."""
    phone = "+79161117777"
    rig, setup, run = await _one_client_campaign(make_rig, db, "ООО «Долгий разговор»", phone,
                                                 ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=600.0))
    await wait_for(lambda: any(c.connected_at is not None for c in run.live.calls.values()), 15.0,
                   "operator 101 talking to the client")
    await rig.dialer.stop()
    [attempt] = await attempts_of(db, setup.campaign_id)
    lead = (await leads_of(db, setup.campaign_id))[phone]
    assert attempt.outcome == "answered"
    assert lead.state == "done" and lead.next_try_at is None


async def test_a_dialer_stopped_while_a_call_rings_records_how_it_ended(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """A graceful stop lets a ringing call end: a client who turns out busy is busy (retried in 10 min), not lost."""
    phone = "+79161118888"
    rig, setup, run = await _one_client_campaign(make_rig, db, "ООО «Занятая линия»", phone,
                                                 ClientBehaviour("busy", ring_seconds=8.0))  # 0.8 s of wall time
    await wait_for(lambda: any(c.ringing for c in run.live.calls.values()), 15.0, "the client's phone ringing")
    await rig.dialer.stop()
    [attempt] = await attempts_of(db, setup.campaign_id)
    lead = (await leads_of(db, setup.campaign_id))[phone]
    assert attempt.outcome == "busy" and attempt.ended_at is not None
    assert lead.state == "ready" and lead.next_try_at is not None
    assert timedelta(minutes=8) < lead.next_try_at - utcnow() <= timedelta(minutes=10)


async def test_a_call_still_ringing_when_the_drain_runs_out_is_lost(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """The drain is bounded: a call that rings on past ``stop_drain_seconds`` is finished as lost and retried."""
    rig, setup, run = await _one_client_campaign(make_rig, db, "ТОВ «Тиша»", "+380671118888",
                                                 ClientBehaviour("no_answer"), stop_drain_seconds=0.3)
    await wait_for(lambda: any(c.ringing for c in run.live.calls.values()), 15.0, "the client's phone ringing")
    started = asyncio.get_running_loop().time()
    await rig.dialer.stop()
    assert asyncio.get_running_loop().time() - started < 2.0, "the stop did not wait for the 25 s ring timeout"
    [attempt] = await attempts_of(db, setup.campaign_id)
    assert attempt.outcome == "lost"


async def test_a_dialer_draining_its_calls_keeps_the_campaign_lease(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """A drain longer than the campaign lease: no other dialer takes the campaign while our call still rings."""
    # Real time: the client's phone rings for the campaign's 10 s ring timeout, past the 3 s drain.
    rig, setup, run = await _one_client_campaign(make_rig, db, "ООО «Долгий гудок»", "+79161119999",
                                                 ClientBehaviour("no_answer"), time_scale=1.0,
                                                 campaign_lease_seconds=1.0, stop_drain_seconds=3.0)
    await wait_for(lambda: any(c.ringing for c in run.live.calls.values()), 15.0, "the client's phone ringing")
    loop = asyncio.get_running_loop()
    stopping = asyncio.create_task(rig.dialer.stop())
    other = "zvonar-b:4242:0123456789ab"  # a dialer of another server
    until = loop.time() + 2.2  # over twice the lease, within the drain
    try:
        while loop.time() < until:
            assert not await campaign_dialers.claim(db, setup.campaign_id, other, utcnow(), timedelta(seconds=1)), \
                "another dialer took the campaign while our call still rang"
            await asyncio.sleep(0.2)
        assert not stopping.done(), "the checks ran during the drain"
        held = await campaign_dialers.holder(db, setup.campaign_id)
        assert held is not None and held[0] == rig.dialer.owner, held
    finally:
        await stopping
    assert await campaign_dialers.holder(db, setup.campaign_id) is None, "given back once the drain is over"
    [attempt] = await attempts_of(db, setup.campaign_id)
    assert attempt.outcome == "lost"


async def _wait_for_run(rig: Rig, campaign_id: int):  # type: ignore[no-untyped-def]
    await wait_for(lambda: campaign_id in rig.dialer.runs, 10.0, "the dialer to take the campaign")
    return rig.dialer.runs[campaign_id]


async def test_stop_lets_the_poll_finish_its_round_instead_of_cutting_a_write(make_rig, db: Database,  # type: ignore[no-untyped-def]
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A task cancelled inside a store transaction can leave SQLite locked for everyone: stop() waits for the round."""
    now = utcnow()
    open_zone, _, hours = hours_open_in_one_zone(now)
    rig = await make_rig({})
    setup = await make_campaign(db, mode="predictive", hours=hours, script=False,
                                clients=[("ООО «Ромашка»", "+79161115555", open_zone)])
    entered, finished = asyncio.Event(), []
    real_claim = campaign_dialers.claim

    async def slow_claim(*args, **kwargs):  # type: ignore[no-untyped-def]
        entered.set()
        await asyncio.sleep(0.5)  # a store slow to answer, the poll's round in the middle
        finished.append(await real_claim(*args, **kwargs))
        return finished[-1]

    monkeypatch.setattr(campaign_dialers, "claim", slow_claim)
    await rig.dialer.start()
    await asyncio.wait_for(entered.wait(), 10.0)
    await rig.dialer.stop()
    assert finished == [True], "the round in progress was finished, not cut"
    assert await campaign_dialers.holder(db, setup.campaign_id) is None, "and the campaign given back after it"


async def test_a_queue_the_pbx_lacks_is_told_to_the_supervisor_and_joined_once_it_is_there(  # type: ignore[no-untyped-def]
        make_rig, db: Database) -> None:
    """A campaign on «sales», which queues.conf lacks: nobody can take its calls, so none is placed, and
    campaign.stats says why. Once the queue exists (queues.conf fixed, reloaded) the operator joins by
    himself and the campaign dials."""
    phone = "+79161119911"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({phone.lstrip("+"): TALK}, login_retry_seconds=0.3)
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", phone, open_zone)], queue="sales")
    await rig.dialer.start()
    await wait_for(lambda: (rig.dialer.stats(setup.campaign_id) or {}).get("problems"), 5.0, "a problem")
    assert rig.dialer.stats(setup.campaign_id)["problems"] == [{"code": "queue_missing", "queue": "sales"}]  # type: ignore[index]
    await asyncio.sleep(0.5)  # retried, still missing: no call, the lead untouched
    assert rig.record.numbers() == []
    [lead] = (await leads_of(db, setup.campaign_id)).values()
    assert (lead.state, lead.attempts) == ("ready", 0)

    queues = rig.sim.pbx.queues
    queues.queues["sales"] = QueueState(replace(queues.queues["campaign"].config, name="sales"), 0)  # a reload
    await wait_for(lambda: rig.record.numbers() == [phone.lstrip("+")], 10.0, "the call, once 101 is in «sales»")
    assert rig.dialer.stats(setup.campaign_id)["problems"] == []  # type: ignore[index]


async def test_an_operator_given_a_phone_while_the_campaign_runs_joins_its_queue(  # type: ignore[no-untyped-def]
        make_rig, db: Database) -> None:
    from sqlalchemy import update

    from crm_core.models import User

    phone = "+79161119913"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({phone.lstrip("+"): TALK}, login_retry_seconds=0.3)
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", phone, open_zone)])
    async with db.transaction() as s:
        await s.execute(update(User).where(User.id == setup.operators["101"]).values(phone_endpoint=None))
    await rig.dialer.start()
    await wait_for(lambda: (rig.dialer.stats(setup.campaign_id) or {}).get("problems"), 5.0, "a problem")
    assert rig.dialer.stats(setup.campaign_id)["problems"] == [{"code": "no_phones"}]  # type: ignore[index]
    async with db.transaction() as s:
        await s.execute(update(User).where(User.id == setup.operators["101"]).values(phone_endpoint="101"))
    await wait_for(lambda: rig.record.numbers() == [phone.lstrip("+")], 10.0, "the call, once 101 is in the queue")
    assert rig.dialer.stats(setup.campaign_id)["problems"] == []  # type: ignore[index]


async def test_an_operator_the_pbx_paused_after_a_call_rang_out_is_told_to_the_supervisor(  # type: ignore[no-untyped-def]
        make_rig, db: Database) -> None:
    """102's phone never picks up: the client abandons, app_queue (autopause=yes) pauses 102, and nobody else
    is there to take calls. The campaign says why it stopped dialing; 102's resume clears it."""
    phone = "+79161119914"
    rig = await make_rig({phone.lstrip("+"): ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=3.0)})
    setup = await make_campaign(db, mode="progressive", hours={"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
                                endpoints=("102",), script=False, clients=[("ООО «Ромашка»", phone, None)])
    await rig.dialer.start()
    await wait_for(lambda: {"code": "agents_auto_paused", "count": "1"} in (
        rig.dialer.stats(setup.campaign_id) or {}).get("problems", []), 10.0, "the auto-pause told")
    assert [e["Reason"] for e in rig.record.abandons] == ["TIMEOUT"]
    await send_queue_pause(rig.bridge.conn, "PJSIP/102", False, None)
    await wait_for(lambda: not any(p["code"] == "agents_auto_paused"
                                   for p in rig.dialer.stats(setup.campaign_id)["problems"]),  # type: ignore[index]
                   10.0, "the problem gone once 102 resumes")


async def test_a_campaign_with_no_lead_in_its_calling_hours_says_so(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    phone = "+79161119912"
    _, closed_zone, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({phone.lstrip("+"): TALK})
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", phone, closed_zone)])
    await rig.dialer.start()
    await wait_for(lambda: (rig.dialer.stats(setup.campaign_id) or {}).get("problems"), 5.0, "a problem")
    assert rig.dialer.stats(setup.campaign_id)["problems"] == [{"code": "outside_hours"}]  # type: ignore[index]
    assert rig.record.numbers() == []
    await campaigns_service.pause(db, setup.supervisor, setup.campaign_id)
    await wait_for(lambda: rig.dialer.stats(setup.campaign_id)["problems"] == [], 5.0,  # type: ignore[index]
                   "nothing to say of a campaign at rest")


async def test_a_caller_id_that_cannot_be_sent_spends_no_lead(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """A line break in the campaign's caller ID (stored before it was refused) is the campaign's fault: no lead fails."""
    from crm_core.models import Campaign

    phone = "+79161119901"
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    rig = await make_rig({phone.lstrip("+"): TALK})
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[("ООО «Ромашка»", phone, open_zone)])
    async with db.transaction() as s:
        campaign = await s.get(Campaign, setup.campaign_id)
        assert campaign is not None
        campaign.caller_id = "Отдел продаж\r\nAction: Hangup"
    await rig.dialer.start()
    await asyncio.sleep(1.0)  # twenty ticks
    [lead] = (await leads_of(db, setup.campaign_id)).values()
    assert (lead.state, lead.attempts) == ("ready", 0)
    assert rig.record.numbers() == [] and await attempts_of(db, setup.campaign_id) == []
    assert rig.dialer.stats(setup.campaign_id)["problems"] == [{"code": "caller_id_unusable"}]  # type: ignore[index]
    # The PBX goes away too: the supervisor is told that first.
    await rig.sim.stop()
    await wait_for(lambda: rig.dialer.stats(setup.campaign_id)["problems"][0] == {"code": "pbx_disconnected"},  # type: ignore[index]
                   10.0, "the PBX gone")


async def test_a_dialer_taking_a_campaign_over_starts_from_the_last_half_hours_figures(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    """After a restart the wallboard's «last 30 minutes» still holds the dials, answers and abandons made in them."""
    from sqlalchemy import update

    from crm_core.models import Lead

    phones = ["+79161117001", "+79161117002", "+79161117003", "+79161117004", "+79161117005"]
    rig = await make_rig({p.lstrip("+"): TALK for p in phones})
    open_zone, _, hours = hours_open_in_one_zone(utcnow())
    setup = await make_campaign(db, mode="progressive", hours=hours, script=False, endpoints=("101",),
                                clients=[(f"ООО «Клиент {n}»", p, open_zone) for n, p in enumerate(phones)])
    now = utcnow()
    # (minutes ago, outcome): an hour-old dial is out of the window; a skipped card is no dial.
    history = [(50, "answered"), (20, "answered"), (12, "abandoned"), (6, "busy"), (3, "skipped")]
    async with db.transaction() as s:
        for n, ((ago, outcome), phone) in enumerate(zip(history, phones)):
            started = now - timedelta(minutes=ago)
            human = outcome in ("answered", "abandoned")
            s.add(Attempt(campaign_id=setup.campaign_id, lead_id=setup.leads[phone], action_id=f"zv-before-{n}",
                          phone_e164=phone, mode="progressive", started_at=started, outcome=outcome,
                          answered_at=started + timedelta(seconds=9) if human else None,
                          ended_at=started + timedelta(minutes=1)))
        await s.execute(update(Lead).where(Lead.campaign_id == setup.campaign_id).values(state="done"))
    await rig.dialer.start()
    await wait_for(lambda: setup.campaign_id in rig.dialer.runs, 5.0, "the campaign taken")
    figures = rig.dialer.stats(setup.campaign_id)
    assert figures is not None
    assert (figures["window_dials"], figures["window_answered"], figures["window_abandoned"]) == (3, 2, 1)


async def test_a_call_the_pacing_hangs_up_after_it_rang_long_is_a_no_answer_retried_as_one(  # type: ignore[no-untyped-def]
        make_rig, db: Database) -> None:
    """The pacing may hang up a call rung past 15 s: the trunk channel is hung up over AMI, the client never picks up.

    Real time: the client would answer after 20 s; the call's clock is moved back so it has rung past
    the legal minimum by the dialer's count, and it is hung up long before that answer.
    """
    phone = "+375291234567"
    rig, setup, run = await _one_client_campaign(make_rig, db, "ОДО «Поздний ответ»", phone,
                                                 ClientBehaviour("answer", ring_seconds=20.0, talk_seconds=3.0),
                                                 time_scale=1.0)
    await wait_for(lambda: any(c.ringing for c in run.live.calls.values()), 15.0, "the client's phone ringing")
    await wait_for(lambda: rig.record.calls, 5.0, "the client's leg in the simulator")
    [call] = run.live.calls.values()
    now = asyncio.get_running_loop().time()
    assert await rig.dialer.hang_up_rung_long(run, 1, now) == 0, "rung a moment: the law's 15 s are not up"
    call.dialed_at -= 17.5  # rung past 15 s and the 2 s margin for the ring to start
    assert await rig.dialer.hang_up_rung_long(run, 5, asyncio.get_running_loop().time()) == 1
    await wait_for(lambda: not run.live.calls, 5.0, "the hung-up call ended")
    [attempt] = await attempts_of(db, setup.campaign_id)
    assert attempt.outcome == "no_answer"
    assert asyncio.get_running_loop().time() - now < 10.0, "hung up, not answered after 20 s"
    [leg] = rig.record.calls
    assert leg.ended is not None
    lead = (await leads_of(db, setup.campaign_id))[phone]
    assert lead.state == "ready"
    assert timedelta(minutes=110) < lead.next_try_at - utcnow() <= timedelta(minutes=120)  # the no-answer rule


async def test_a_call_already_picked_up_is_never_hung_up_as_ringing(make_rig, db: Database) -> None:  # type: ignore[no-untyped-def]
    phone = "+380501234567"
    rig, setup, run = await _one_client_campaign(make_rig, db, "ТОВ «Швидка відповідь»", phone,
                                                 ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=600.0))
    await wait_for(lambda: any(c.connected_at is not None for c in run.live.calls.values()), 15.0,
                   "operator 101 talking to the client")
    [call] = run.live.calls.values()
    call.dialed_at -= 60.0
    assert await rig.bridge.hang_up_ringing(call.action_id) is False
    assert await rig.dialer.hang_up_rung_long(run, 1, asyncio.get_running_loop().time()) == 0
    await asyncio.sleep(0.3)
    assert call.action_id in run.live.calls and rig.record.calls[0].ended is None
