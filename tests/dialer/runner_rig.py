"""What the live-dialer tests share: a campaign in the store, the PBX simulator's record of client calls.

Nothing is faked but the telephone network: the simulator is a real AMI server on
loopback; the bridge and the dialer talk to it through the real connection.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour, PbxSimulator, QueueConfig, SimConfig
from crm_core.db import Database
from crm_core.models import Attempt, Lead, Role
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import users
from crm_core.services.clients import ClientInput, PhoneInput, create_client
from scripts_engine.protocol_store import ProtocolStore
from tests.password_cost import TEST_PASSWORDS

REPO = Path(__file__).resolve().parents[2]
# Zones of Russia from UTC+2 to UTC+12: at any moment one of them is in the middle of its day.
ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Irkutsk",
         "Asia/Vladivostok", "Asia/Kamchatka")


def hours_open_in_one_zone(now: datetime) -> tuple[str, str, dict]:
    """(a zone inside the window now, a zone outside it, the campaign hours): a 3-hour window around now."""
    for open_zone in ZONES:
        local = now.astimezone(ZoneInfo(open_zone))
        if 2 <= local.hour <= 20:
            start, end = local.hour - 1, local.hour + 2
            for closed in ZONES:
                hour = now.astimezone(ZoneInfo(closed)).hour
                if not start <= hour < end:
                    return open_zone, closed, {"days": [1, 2, 3, 4, 5, 6, 7], "start": f"{start:02d}:00", "end": f"{end:02d}:00"}
    raise AssertionError("no zone pair found")  # pragma: no cover - the zones span ten hours


def campaign_queue(wrapup: float = 0.0) -> tuple[QueueConfig, ...]:
    """The production queues, the campaign one without wrap-up (simulated seconds are not the bridge's)."""
    empty = frozenset({"paused", "invalid", "unavailable"})
    return (QueueConfig("campaign", strategy="leastrecent", timeout=2.0, retry=1.0, wrapuptime=wrapup, autopause=True,
                        joinempty=empty, leavewhenempty=empty),)


def sim_config(clients: dict[str, ClientBehaviour], agents: dict[str, AgentBehaviour], time_scale: float = 0.1,
               port: int = 0) -> SimConfig:
    return SimConfig(port=port, time_scale=time_scale, clients=clients, agents=agents, queues=campaign_queue(),
                     random_clients=None, default_client=ClientBehaviour("no_answer"),
                     default_agent=AgentBehaviour(answer_after=None))


@dataclass
class ClientCall:
    number: str
    uniqueid: str
    began: float
    ended: float | None = None
    shown: str = ""  # the number the client's phone shows (the leg's connected line)


@dataclass
class SimRecord:
    """Every client leg the simulator dialled (DialBegin to Hangup, simulated seconds), and the dialplan's UserEvents."""

    sim: PbxSimulator
    calls: list[ClientCall] = field(default_factory=list)
    abandons: list[dict[str, str]] = field(default_factory=list)
    verdicts: list[dict[str, str]] = field(default_factory=list)  # the AMD's ZvonarHuman / ZvonarMachine
    played: list[str] = field(default_factory=list)  # what the campaign context played to clients (Playback's data)
    _open: dict[str, ClientCall] = field(default_factory=dict)

    def listen(self, event: dict[str, str]) -> None:
        now = self.sim.pbx.scheduler.now
        name = event.get("Event")
        if name == "DialBegin" and event.get("DialString", "").endswith("@trunk"):
            call = ClientCall(event["DialString"].split("@")[0], event.get("DestUniqueid", ""), now,
                              shown=event.get("DestConnectedLineNum", ""))
            self.calls.append(call)
            self._open[call.uniqueid] = call
        elif name == "Hangup" and event.get("Uniqueid") in self._open:
            self._open.pop(event["Uniqueid"]).ended = now
        elif name == "UserEvent" and event.get("UserEvent") == "ZvonarAbandon":
            self.abandons.append(dict(event))
        elif name == "UserEvent" and event.get("UserEvent") in ("ZvonarHuman", "ZvonarMachine"):
            self.verdicts.append(dict(event))
        elif name == "Newexten" and event.get("Application") == "Playback" and event.get("Uniqueid") in self._open:
            self.played.append(event.get("AppData", ""))

    def numbers(self) -> list[str]:
        return [c.number for c in self.calls]

    def overlaps(self) -> list[tuple[str, float, float]]:
        """Numbers rung again while an earlier call to them was still up."""
        by_number: dict[str, list[ClientCall]] = defaultdict(list)
        for c in self.calls:
            by_number[c.number].append(c)
        bad = []
        for number, calls in by_number.items():
            calls.sort(key=lambda c: c.began)
            for a, b in zip(calls, calls[1:]):
                if a.ended is None or b.began < a.ended:
                    bad.append((number, a.began, b.began))
        return bad


async def start_sim(config: SimConfig) -> tuple[PbxSimulator, SimRecord]:
    sim = PbxSimulator(config)
    await sim.start()
    record = SimRecord(sim)
    sim.add_listener(record.listen)
    return sim, record


@dataclass
class CampaignSetup:
    campaign_id: int
    supervisor: Actor
    operators: dict[str, int]  # endpoint -> user id
    leads: dict[str, int]  # phone e164 -> lead id
    script_id: int | None = None


async def make_campaign(
    db: Database, *, mode: str, hours: dict, clients: Iterable[tuple[str, str, str | None]],
    endpoints: Iterable[str] = ("101", "102"), pacing: dict | None = None, script: bool = True, launch: bool = True,
    **settings: Any,
) -> CampaignSetup:
    """A campaign of the sales team: ``clients`` are (name, phone, time zone); operators on ``endpoints``; more ``settings``."""
    team = await users.ensure_team(db, "Отдел продаж")
    sup = await users.create_user(db, login="smirnova", full_name="Елена Викторовна Смирнова", role=Role.supervisor,
                                  password="correct horse battery", passwords=TEST_PASSWORDS, team_id=team)
    names = {"101": "Ольга Андреевна Иванова", "102": "Олег Петрович Коваленко", "103": "Святлана Міхайлаўна Жук"}
    operators = {}
    for i, endpoint in enumerate(endpoints):
        user = await users.create_user(db, login=f"op{endpoint}", full_name=names.get(endpoint, f"Оператор {endpoint}"),
                                       role=Role.operator, password="correct horse battery", passwords=TEST_PASSWORDS, team_id=team,
                                       phone_endpoint=endpoint)
        operators[endpoint] = user.id
    owner = Actor(user_id=next(iter(operators.values())), role=Role.operator, team_id=team)
    for name, phone, zone in clients:
        await create_client(db, owner, ClientInput(name=name, timezone=zone, phones=[PhoneInput(phone)]))
    actor = Actor.of(sup)
    if script:
        source = (REPO / "scripts_engine" / "examples" / "cold_call_b2b.yaml").read_text(encoding="utf-8")
        await ProtocolStore(db).publish(actor, "cold_call", source)
    campaign = await campaigns_service.create_campaign(db, actor, {
        "name": "Обзвон: тест", "mode": mode, "queue": "campaign", "hours": hours, "pacing": pacing or {"ring_timeout": 10},
        "script_code": "cold_call" if script else None, **settings,
    })
    await campaigns_service.set_agents(db, actor, campaign.id, list(operators.values()))
    await campaigns_service.add_list_from_filter(db, actor, campaign.id, "Все клиенты отдела", None)
    view = await campaigns_service.launch(db, actor, campaign.id) if launch else campaign
    async with db.reading() as s:
        leads = dict((await s.execute(select(Lead.phone_e164, Lead.id).where(Lead.campaign_id == campaign.id))).all())
    return CampaignSetup(campaign.id, actor, operators, leads, view.script_id)


async def leads_of(db: Database, campaign_id: int) -> dict[str, Lead]:
    async with db.reading() as s:
        return {lead.phone_e164: lead for lead in (await s.execute(select(Lead).where(Lead.campaign_id == campaign_id))).scalars()}


async def attempts_of(db: Database, campaign_id: int) -> list[Attempt]:
    async with db.reading() as s:
        return list((await s.execute(select(Attempt).where(Attempt.campaign_id == campaign_id).order_by(Attempt.id))).scalars())


def settled(leads: Iterable[Lead], now: datetime) -> bool:
    """Every lead final, or waiting for a later try (none leased or being dialled, none due now)."""
    return all(lead.state in ("done", "failed", "dnc") or (lead.state == "ready" and lead.next_try_at is not None
                                                          and lead.next_try_at > now) for lead in leads)


async def wait_for(check: Callable[[], object], timeout: float, what: str, poll: float = 0.05) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(poll)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
