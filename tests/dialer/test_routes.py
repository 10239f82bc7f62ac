"""The dialer's HTTP routes on the real app with the PBX simulator: preview cards, dispositions, pacing, stats."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour, SimConfig
from ami_bridge.routes import BRIDGE_KEY
from crm_core.db import Database
from crm_core.models import Attempt, Lead, Role
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import users
from crm_core.services.clients import ClientInput, PhoneInput, create_client
from dialer import campaign_reads
from dialer.routes import DIALER_KEY
from tests.dialer.runner_rig import REPO, campaign_queue, utcnow, wait_for
from zvonar.app import init_app
from zvonar.bus import InProcessBus
from zvonar.settings import load_settings
from tests.password_cost import TEST_PASSWORDS

ALL_DAY = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}
CLIENTS = {"+79161234501": "ООО «Ромашка»", "+380671234502": "ТОВ «Карпати»", "+375291234503": "ОАО «Криница»"}
SIM = SimConfig(
    port=0, time_scale=0.05, queues=campaign_queue(), random_clients=None,
    default_client=ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=2.0),
    agents={"101": AgentBehaviour(answer_after=0.5, talk_seconds=None)}, default_agent=AgentBehaviour(answer_after=None),
)


@dataclass
class Desk:
    db: Database
    bus: InProcessBus
    app: object
    campaign_id: int
    script_id: int | None
    ivanova: int
    supervisor: Actor
    http: dict[str, TestClient]


async def _login(server: TestServer, login: str) -> TestClient:
    client = TestClient(server)
    await client.start_server()
    resp = await client.post("/api/auth/login", json={"login": login, "password": "correct horse battery"})
    assert resp.status == 200, await resp.text()
    client.session.headers["Authorization"] = "Bearer " + (await resp.json())["token"]
    return client


@pytest.fixture
async def desk(db: Database) -> AsyncIterator[Desk]:
    from scripts_engine.protocol_store import ProtocolStore

    settings = load_settings(database_url=db.url.render_as_string(hide_password=False), dialer={"tick_seconds": 0.1})
    sales = await users.ensure_team(db, "Отдел продаж")
    kyiv = await users.ensure_team(db, "Киевский филиал")
    made = {}
    # Few users: each password costs an Argon2 hash here and another at login.
    for login, role, team, endpoint in (("smirnova", Role.supervisor, sales, None), ("ivanova", Role.operator, sales, "101"),
                                        ("shevchenko", Role.supervisor, kyiv, None)):
        made[login] = await users.create_user(db, login=login, full_name=login.title(), role=role,
                                              password="correct horse battery", passwords=TEST_PASSWORDS, team_id=team, phone_endpoint=endpoint)
    for phone, name in CLIENTS.items():
        await create_client(db, Actor.of(made["ivanova"]), ClientInput(name=name, phones=[PhoneInput(phone)]))
    sup = Actor.of(made["smirnova"])
    source = (REPO / "scripts_engine" / "examples" / "cold_call_b2b.yaml").read_text(encoding="utf-8")
    await ProtocolStore(db).publish(sup, "cold_call", source)
    campaign = await campaigns_service.create_campaign(
        db, sup, {"name": "Предпросмотр: тёплые клиенты", "mode": "preview", "hours": ALL_DAY, "script_code": "cold_call"})
    await campaigns_service.set_agents(db, sup, campaign.id, [made["ivanova"].id])
    await campaigns_service.add_list_from_filter(db, sup, campaign.id, "Клиенты Ивановой", None)
    launched = await campaigns_service.launch(db, sup, campaign.id)

    bus = InProcessBus()
    app = init_app(settings, db=db, bus=bus, telephony=True, sim_override=SIM)
    server = TestServer(app)
    await server.start_server()
    await wait_for(lambda: app[BRIDGE_KEY].conn.connected, 5.0, "the bridge")
    http = {login: await _login(server, login) for login in made}
    yield Desk(db, bus, app, campaign.id, launched.script_id, made["ivanova"].id, sup, http)
    for client in http.values():
        await client.close()
    await server.close()


async def _finished(desk: Desk, action_id: str, lead_id: int) -> tuple[Attempt, Lead]:
    """Wait for the attempt's outcome; the attempt and its lead then."""
    async def ended() -> bool:
        async with desk.db.reading() as s:
            attempt = await s.scalar(select(Attempt).where(Attempt.action_id == action_id))
        return attempt is not None and attempt.outcome is not None

    await wait_for(ended, 15.0, "the preview call's outcome")
    async with desk.db.reading() as s:
        attempt = await s.scalar(select(Attempt).where(Attempt.action_id == action_id))
        lead = await s.get(Lead, lead_id)
    assert attempt is not None and lead is not None
    return attempt, lead


async def test_preview_card_skip_accept_and_disposition(desk: Desk) -> None:
    ivanova, base = desk.http["ivanova"], f"/api/campaigns/{desk.campaign_id}"
    pops = await desk.bus.subscribe(["screen.pop"])
    resp = await ivanova.post(f"{base}/preview/next")
    assert resp.status == 200, await resp.text()
    card = (await resp.json())["card"]
    assert card["phone"] in CLIENTS and card["client_name"] == CLIENTS[card["phone"]]
    assert card["script_id"] == desk.script_id is not None and card["attempts"] == 0
    assert card["client"]["client_id"] == card["client_id"] and card["client"]["name"] == CLIENTS[card["phone"]]
    again = (await (await ivanova.post(f"{base}/preview/next")).json())["card"]
    assert again["lead_id"] == card["lead_id"], "the same card until it is accepted or skipped"

    resp = await ivanova.post(f"{base}/preview/{card['lead_id']}/skip", json={"reason": "Уже наш клиент"})
    assert resp.status == 204, await resp.text()
    async with desk.db.reading() as s:
        skipped = await s.get(Lead, card["lead_id"])
        note = (await s.execute(select(Attempt).where(Attempt.lead_id == card["lead_id"]))).scalar_one()
    assert skipped.state == "ready" and skipped.next_try_at > utcnow() + timedelta(hours=23)
    assert (note.outcome, note.comment, note.agent_id) == ("skipped", "Уже наш клиент", desk.ivanova)

    card = (await (await ivanova.post(f"{base}/preview/next")).json())["card"]
    assert card["lead_id"] != skipped.id
    resp = await ivanova.post(f"{base}/preview/{skipped.id}/accept")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "lead_not_found", "only the card you hold"
    resp = await ivanova.post(f"{base}/preview/{card['lead_id']}/accept")
    assert resp.status == 202, await resp.text()
    placed = await resp.json()
    assert placed["endpoint"] == "101" and placed["number"] == card["phone"] and placed["lead_id"] == card["lead_id"]

    attempt, lead = await _finished(desk, placed["action_id"], card["lead_id"])
    assert attempt.outcome == "answered" and attempt.mode == "preview" and attempt.agent_id == desk.ivanova
    assert attempt.talk_seconds is not None and lead.state == "done"
    pop = (await pops.get(timeout=1.0)).payload
    assert (pop["user_id"], pop["campaign_id"], pop["lead_id"], pop["script_id"]) == (
        desk.ivanova, desk.campaign_id, card["lead_id"], desk.script_id)

    resp = await ivanova.post(f"{base}/leads/{card['lead_id']}/disposition", json={"code": "nope"})
    assert resp.status == 422 and (await resp.json())["error"]["code"] == "unknown_disposition"
    resp = await ivanova.post(f"{base}/leads/{card['lead_id']}/disposition",
                              json={"code": "callback", "comment": "Перезвонить после обеда",
                                    "callback_at": (utcnow() + timedelta(hours=3)).isoformat()})
    assert resp.status == 200, await resp.text()
    disposed = await resp.json()
    assert disposed["state"] == "ready" and disposed["disposition_code"] == "callback"
    assert disposed["agent_id"] == desk.ivanova, "a personal callback stays with her"
    resp = await desk.http["shevchenko"].post(f"{base}/leads/{card['lead_id']}/disposition", json={"code": "agreed"})
    assert resp.status == 404, "not his team's campaign"

    stats = await (await desk.http["smirnova"].get(f"{base}/stats")).json()
    assert stats["live"] is True and stats["mode"] == "preview" and stats["state"] == "running"
    assert (stats["day_dials"], stats["day_answered"], stats["day_abandoned"]) == (1, 1, 0), "a skipped card is no dial"


async def test_a_card_read_until_the_calling_hours_ended_is_given_back_not_dialled(desk: Desk) -> None:
    """Accept checks the window again, as it checks the DNC list: a card may be read for minutes."""
    ivanova, supervisor, base = desk.http["ivanova"], desk.http["smirnova"], f"/api/campaigns/{desk.campaign_id}"
    card = (await (await ivanova.post(f"{base}/preview/next")).json())["card"]
    assert card is not None
    today = utcnow().date()
    # Today (and the days either side, for every zone's today) becomes a holiday while she reads.
    shut = {**ALL_DAY, "holidays": [(today + timedelta(days=d)).isoformat() for d in (-1, 0, 1)]}
    resp = await supervisor.patch(base, json={"hours": shut})
    assert resp.status == 200, await resp.text()

    resp = await ivanova.post(f"{base}/preview/{card['lead_id']}/accept")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "outside_calling_hours"
    async with desk.db.reading() as s:
        lead = await s.get(Lead, card["lead_id"])
        attempts = (await s.execute(select(Attempt).where(Attempt.lead_id == card["lead_id"]))).scalars().all()
    assert attempts == [] and (lead.state, lead.attempts, lead.lease_owner) == ("ready", 0, None)
    assert (await (await ivanova.post(f"{base}/preview/next")).json())["card"] is None

    resp = await supervisor.patch(base, json={"hours": {"holidays": []}})
    assert resp.status == 200, await resp.text()
    again = (await (await ivanova.post(f"{base}/preview/next")).json())["card"]
    assert again is not None and again["attempts"] == 0, "the lead waits for the hours, nothing spent"


async def test_a_pause_gives_the_cards_being_read_back_so_no_two_operators_hold_one_client(desk: Desk) -> None:
    """A card read when the supervisor pauses goes back with its lead; after the resume each operator gets their own."""
    bondarenko = await users.create_user(desk.db, login="bondarenko", full_name="Бондаренко Игорь", role=Role.operator,
                                         password="correct horse battery", passwords=TEST_PASSWORDS,
                                         team_id=desk.supervisor.team_id, phone_endpoint="102")
    await campaigns_service.set_agents(desk.db, desk.supervisor, desk.campaign_id, [desk.ivanova, bondarenko.id])
    server = desk.http["ivanova"].server
    second = await _login(server, "bondarenko")
    try:
        ivanova, base = desk.http["ivanova"], f"/api/campaigns/{desk.campaign_id}"
        held = (await (await ivanova.post(f"{base}/preview/next")).json())["card"]
        assert held is not None
        await campaigns_service.pause(desk.db, desk.supervisor, desk.campaign_id)
        dialer = desk.app[DIALER_KEY]
        await wait_for(lambda: dialer.runs[desk.campaign_id].info.state == "paused", 3.0, "the dialer to see the pause")
        await campaigns_service.resume(desk.db, desk.supervisor, desk.campaign_id)
        await wait_for(lambda: dialer.runs[desk.campaign_id].info.state == "running", 3.0, "the dialer to see the resume")

        his = (await (await second.post(f"{base}/preview/next")).json())["card"]
        hers = (await (await ivanova.post(f"{base}/preview/next")).json())["card"]
        assert his is not None and hers is not None
        assert his["lead_id"] != hers["lead_id"], "one client on two operators' screens"
        resp = await ivanova.post(f"{base}/preview/{hers['lead_id']}/accept")
        assert resp.status == 202, await resp.text()
    finally:
        await second.close()


async def test_a_card_whose_operator_does_not_pick_up_their_phone_spends_none_of_the_clients_attempts(desk: Desk) -> None:
    """Accept rings the operator's own phone first; nobody answers it, so the client's phone never rang.

    The attempt says so (operator_missed), the lead keeps its count and comes back in 5 minutes.
    """
    # Endpoint 104 is nobody's desk phone in the simulator: it rings out.
    tkachenko = await users.create_user(desk.db, login="tkachenko", full_name="Ткаченко Олег", role=Role.operator,
                                        password="correct horse battery", passwords=TEST_PASSWORDS,
                                        team_id=desk.supervisor.team_id, phone_endpoint="104")
    await campaigns_service.set_agents(desk.db, desk.supervisor, desk.campaign_id, [desk.ivanova, tkachenko.id])
    away = await _login(desk.http["ivanova"].server, "tkachenko")
    try:
        base = f"/api/campaigns/{desk.campaign_id}"
        card = (await (await away.post(f"{base}/preview/next")).json())["card"]
        resp = await away.post(f"{base}/preview/{card['lead_id']}/accept")
        assert resp.status == 202, await resp.text()
        placed = await resp.json()

        attempt, lead = await _finished(desk, placed["action_id"], card["lead_id"])
        assert attempt.outcome == "operator_missed"
        assert (lead.state, lead.attempts) == ("ready", 0)
        assert utcnow() + timedelta(minutes=4) < lead.next_try_at <= utcnow() + timedelta(minutes=5)
        stats = await (await desk.http["smirnova"].get(f"{base}/stats")).json()
        assert (stats["day_dials"], stats["dials"]) == (0, 0), "no dial in the supervisor's figures either"
        since = utcnow() - timedelta(hours=1)
        assert await campaign_reads.day_counts(desk.db, desk.campaign_id, since) == (0, 0, 0, 0), "nor after a restart"
    finally:
        await away.close()


async def test_pacing_limits_and_preview_cards_only_for_whom_they_are(desk: Desk) -> None:
    url = f"/api/campaigns/{desk.campaign_id}/pacing"
    resp = await desk.http["smirnova"].patch(url, json={"lines_per_agent": 2, "max_lines": 10, "amd": True,
                                                         "amd_misread_share": 0.05})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"campaign_id": desk.campaign_id, "abandon_cap": 0.03, "lines_per_agent": 2,
                                 "ring_timeout": 25, "max_lines": 10, "amd": True, "amd_misread_share": 0.05}
    dialer = desk.app[DIALER_KEY]  # type: ignore[index]
    await wait_for(lambda: dialer.runs[desk.campaign_id].info.max_lines == 10, 3.0, "the runner to see the new limits")
    assert dialer.runs[desk.campaign_id].info.amd, "the next calls ask the dialplan for answering-machine detection"
    assert dialer.runs[desk.campaign_id].window.amd_misread_share == 0.05, "the pacing holds the cap with the estimate"
    resp = await desk.http["smirnova"].patch(url, json={"abandon_cap": 0.05})
    assert resp.status == 422 and "abandon_cap" in str((await resp.json())["error"])
    for share in (0.6, -0.1, "много"):
        resp = await desk.http["smirnova"].patch(url, json={"amd_misread_share": share})
        assert resp.status == 422 and "amd_misread_share" in str((await resp.json())["error"]), share
    resp = await desk.http["smirnova"].patch(url, json={"lines": 2})
    assert resp.status == 422
    assert (await desk.http["ivanova"].patch(url, json={"lines_per_agent": 1})).status == 403
    assert (await desk.http["shevchenko"].patch(url, json={"lines_per_agent": 1})).status == 404
    assert (await desk.http["shevchenko"].get(f"/api/campaigns/{desk.campaign_id}/stats")).status == 404

    # Preview cards are for the campaign's operators, of a running preview campaign.
    base = f"/api/campaigns/{desk.campaign_id}"
    assert (await desk.http["shevchenko"].post(f"{base}/preview/next")).status == 404
    resp = await desk.http["smirnova"].post(f"{base}/preview/next")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    states = await desk.bus.subscribe(["campaign.state"])
    assert (await desk.http["smirnova"].post(f"{base}/pause")).status == 200
    # The runner acts on the route's announcement at once, and does not announce it a second time.
    await wait_for(lambda: dialer.runs[desk.campaign_id].info.state == "paused", 0.5, "the runner to see the pause")
    resp = await desk.http["ivanova"].post(f"{base}/preview/next")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "campaign_state_conflict"
    await asyncio.sleep(0.5)
    said = []
    while True:
        try:
            said.append((await states.get(timeout=0.01)).payload["state"])
        except TimeoutError:
            break
    assert said == ["paused"]


async def test_the_day_figures_follow_the_deployments_day_where_no_dialer_runs(db: Database) -> None:
    """An API-only process counts «today» from midnight in dialer.day_timezone, as the dialer does, not Moscow's."""
    from dialer.runner_state import day_start

    zone = "Asia/Vladivostok"
    settings = load_settings(database_url=db.url.render_as_string(hide_password=False), dialer={"day_timezone": zone})
    team = await users.ensure_team(db, "Отдел продаж")
    sup = await users.create_user(db, login="kuznetsova", full_name="Кузнецова Ольга Петровна", role=Role.supervisor,
                                  password="correct horse battery", passwords=TEST_PASSWORDS, team_id=team)
    await create_client(db, Actor.of(sup), ClientInput(name="ООО «Приморье»", phones=[PhoneInput("+74232123456")]))
    campaign = await campaigns_service.create_campaign(db, Actor.of(sup), {"name": "Владивосток",
                                                                            "pacing": {"amd_misread_share": 0.5}})
    await campaigns_service.add_list_from_filter(db, Actor.of(sup), campaign.id, "Все", None)
    # One dial between the two midnights: «today» in exactly one of the two zones.
    now = utcnow()
    vladivostok, moscow = day_start(now, zone)[1], day_start(now, "Europe/Moscow")[1]
    at = min(vladivostok, moscow) + abs(vladivostok - moscow) / 2
    async with db.transaction() as s:
        lead = (await s.execute(select(Lead).where(Lead.campaign_id == campaign.id))).scalar_one()
        s.add(Attempt(campaign_id=campaign.id, lead_id=lead.id, action_id="zv-day-1", phone_e164=lead.phone_e164,
                      mode="progressive", started_at=at, ended_at=at + timedelta(seconds=40), outcome="answered"))
        s.add(Attempt(campaign_id=campaign.id, lead_id=lead.id, action_id="zv-day-2", phone_e164=lead.phone_e164,
                      mode="progressive", started_at=at, ended_at=at + timedelta(seconds=14), outcome="machine"))
    server = TestServer(init_app(settings, db=db, bus=InProcessBus()))
    await server.start_server()
    http = TestClient(server)
    await http.start_server()
    try:
        login = await http.post("/api/auth/login", json={"login": "kuznetsova", "password": "correct horse battery"})
        http.session.headers["Authorization"] = "Bearer " + (await login.json())["token"]
        stats = await (await http.get(f"/api/campaigns/{campaign.id}/stats")).json()
    finally:
        await http.close()
        await server.close()
    assert stats["live"] is False
    today = at >= vladivostok
    assert (stats["day_dials"], stats["day_answered"], stats["day_machines"]) == ((2, 1, 1) if today else (0, 0, 0))
    # Half the machines estimated to be people: the one machine counts as answered and abandoned in the rate.
    assert (stats["day_amd_misread"], stats["day_abandon_rate"]) == ((1, 0.5) if today else (0, 0.0))
