"""The whole phone path on the real app: HTTP -> bridge -> PBX simulator over AMI -> bus -> store.

Nothing is faked but the telephone network: the simulator is a real AMI server on
loopback and the bridge talks to it through the real connection and tracker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, text

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour, SimConfig
from ami_bridge.routes import BRIDGE_KEY
from crm_core.db import Database
from crm_core.models import Call, Interaction, Role
from crm_core.rights import Actor
from crm_core.services import users
from crm_core.services.clients import ClientInput, PhoneInput, create_client
from zvonar.app import init_app
from zvonar.bus import InProcessBus
from zvonar.settings import load_settings
from zvonar.telephony import SIM_KEY
from tests.password_cost import TEST_PASSWORDS

ROMASHKA = "+79161234567"
BONDAR = "+380671234567"
OTHERS = "+375291234567"

SIM = SimConfig(
    port=0,
    time_scale=0.05,
    clients={
        "79161234567": ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=3.0),
        "380671234567": ClientBehaviour("busy", ring_seconds=1.0),
    },
    # A person takes seconds to pick up (within the queue's 15 s ring); 10 simulated seconds are 0.5 s here.
    agents={"101": AgentBehaviour(answer_after=10.0, talk_seconds=None), "102": AgentBehaviour(answer_after=None)},
    default_agent=AgentBehaviour(answer_after=None),
)


class Phones:
    def __init__(self, db: Database, bus: InProcessBus, server: TestServer) -> None:
        self.db, self.bus, self.server = db, bus, server
        self.clients: list[TestClient] = []

    async def login(self, login: str, role: Role, endpoint: str | None, team_id: int) -> tuple[int, TestClient]:
        user = await users.create_user(self.db, login=login, full_name=login.title(), role=role, password="correct horse battery", passwords=TEST_PASSWORDS,
                                       team_id=team_id, phone_endpoint=endpoint)
        client = TestClient(self.server)
        await client.start_server()
        self.clients.append(client)
        resp = await client.post("/api/auth/login", json={"login": login, "password": "correct horse battery"})
        client.session.headers["Authorization"] = "Bearer " + (await resp.json())["token"]
        return user.id, client


@pytest.fixture
async def phones(db: Database) -> AsyncIterator[Phones]:
    settings = load_settings(database_url=db.url.render_as_string(hide_password=False))
    bus = InProcessBus()
    app = init_app(settings, db=db, bus=bus, telephony=True, sim_override=SIM)
    server = TestServer(app)
    await server.start_server()
    for _ in range(200):
        if app[BRIDGE_KEY].conn.connected:
            break
        await asyncio.sleep(0.01)
    assert app[BRIDGE_KEY].conn.connected
    harness = Phones(db, bus, server)
    harness.app = app  # type: ignore[attr-defined]
    yield harness
    for c in harness.clients:
        await c.close()
    await server.close()


async def _client_of(db: Database, user_id: int, name: str, phone: str) -> int:
    actor = Actor(user_id=user_id, role=Role.operator, team_id=None)
    client = await create_client(db, actor, ClientInput(name=name, region="Москва", phones=[PhoneInput(phone)]))
    return client.id


async def _wait_for(sub, topic: str, timeout: float = 10.0, **match):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = []
    while True:
        event = await sub.get(timeout=max(deadline - loop.time(), 0.01))
        seen.append(event.topic)
        if event.topic == topic and all(event.payload.get(k) == v for k, v in match.items()):
            return event, seen


async def test_click_to_call_rings_the_agent_then_the_client_and_lands_in_history(phones: Phones) -> None:
    team = await users.ensure_team(phones.db, "Отдел продаж")
    uid, http = await phones.login("ivanova", Role.operator, "101", team)
    client_id = await _client_of(phones.db, uid, "ООО «Ромашка»", ROMASHKA)
    sub = await phones.bus.subscribe(["call.*"])
    resp = await http.post("/api/calls", json={"phone": "8 (916) 123-45-67"})
    assert resp.status == 202, await resp.text()
    placed = await resp.json()
    assert placed["client_id"] == client_id and placed["endpoint"] == "101" and placed["number"] == ROMASHKA
    ended, seen = await _wait_for(sub, "call.ended", action_id=placed["action_id"])
    assert seen.index("call.started") < seen.index("call.ended")
    assert ended.payload["outcome"] == "answered"
    assert ended.payload["number"] == "79161234567"
    assert ended.payload["client_id"] == client_id and ended.payload["user_id"] == uid
    async with phones.db.reading() as s:
        calls = list((await s.execute(select(Call).where(Call.client_id == client_id))).scalars())
        history = list((await s.execute(select(Interaction).where(Interaction.client_id == client_id))).scalars())
    assert len(calls) == 1, "the click's row is updated, never a second call"
    assert calls[0].outcome == "answered" and calls[0].agent_id == uid and calls[0].talk_seconds is not None
    assert calls[0].answered_at is not None and calls[0].ended_at >= calls[0].answered_at
    assert [h.type.code for h in history] == ["outgoing_call"]



@asynccontextmanager
async def _call_rows_held(db: Database, table: str = "calls") -> AsyncIterator[None]:
    """Another transaction keeps every insert into ``table`` waiting: SQLite's write lock, a SHARE lock on PostgreSQL."""
    taken, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.transaction() as s:
            if db.is_sqlite:
                await db.write_lock(s)
            else:
                await s.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
            taken.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await taken.wait()
    try:
        yield
    finally:
        release.set()
        await holder


async def _refuse_call_rows(db: Database, refuse: bool) -> None:
    """A store that refuses new call rows (as a full disk would), or takes them again."""
    async with db.transaction() as s:
        if db.is_sqlite:
            await s.execute(text(
                "CREATE TRIGGER refuse_call_rows BEFORE INSERT ON calls BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
                if refuse else "DROP TRIGGER refuse_call_rows"))
        elif refuse:
            await s.execute(text("CREATE FUNCTION refuse_call_rows() RETURNS trigger AS $$ BEGIN "
                                 "RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END $$ LANGUAGE plpgsql"))
            await s.execute(text("CREATE TRIGGER refuse_call_rows BEFORE INSERT ON calls "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_call_rows()"))
        else:
            await s.execute(text("DROP TRIGGER refuse_call_rows ON calls"))


async def _agent_channel_up(phones: Phones, endpoint: str, timeout: float = 5.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if any(c["channel"].startswith(f"PJSIP/{endpoint}-") for c in phones.app[SIM_KEY].live_channels()):  # type: ignore[attr-defined]
            return True
        await asyncio.sleep(0.01)
    return False


async def test_the_agents_phone_rings_while_the_store_is_busy_writing(phones: Phones) -> None:
    """Only the read that checks the client stands before the Originate; the call row is written after it."""
    team = await users.ensure_team(phones.db, "Отдел продаж")
    uid, http = await phones.login("ivanova", Role.operator, "101", team)
    client_id = await _client_of(phones.db, uid, "ООО «Ромашка»", ROMASHKA)
    sub = await phones.bus.subscribe(["call.ended"])
    async with _call_rows_held(phones.db):
        click = asyncio.create_task(http.post("/api/calls", json={"phone": "8 (916) 123-45-67"}))
        assert await _agent_channel_up(phones, "101"), "the Originate waited for the store's writer"
        assert not click.done(), "the answer carries the call's row, so it waits for the write"
    resp = await click
    assert resp.status == 202, await resp.text()
    placed = await resp.json()
    async with phones.db.reading() as s:
        row = await s.get(Call, placed["call_id"])
    assert row is not None
    assert (row.action_id, row.client_id, row.requested_by_id, row.agent_extension) == (
        placed["action_id"], client_id, uid, "101")
    ended, _ = await _wait_for(sub, "call.ended", action_id=placed["action_id"])
    assert ended.payload["call_db_id"] == row.id and ended.payload["outcome"] == "answered"


async def test_a_call_row_the_store_refuses_after_the_originate_does_not_fail_the_click(
    phones: Phones, caplog: pytest.LogCaptureFixture,
) -> None:
    """The phone is already ringing: an error would only make the operator click again and ring twice."""
    team = await users.ensure_team(phones.db, "Отдел продаж")
    uid, http = await phones.login("ivanova", Role.operator, "101", team)
    client_id = await _client_of(phones.db, uid, "ООО «Ромашка»", ROMASHKA)
    sub = await phones.bus.subscribe(["call.ended"])
    caplog.set_level(logging.WARNING, logger="ami_bridge.click_to_call")
    await _refuse_call_rows(phones.db, True)
    resp = await http.post("/api/calls", json={"phone": "8 (916) 123-45-67"})
    await _refuse_call_rows(phones.db, False)
    assert resp.status == 202, await resp.text()
    placed = await resp.json()
    assert placed["call_id"] is None and placed["client_id"] == client_id and placed["number"] == ROMASHKA
    [warning] = [r.getMessage() for r in caplog.records if "click_to_call.row_not_written" in r.getMessage()]
    assert placed["action_id"] in warning
    # The bridge records the call when it ends, with the click's client and user.
    ended, _ = await _wait_for(sub, "call.ended", action_id=placed["action_id"])
    assert ended.payload["outcome"] == "answered" and ended.payload["client_id"] == client_id
    async with phones.db.reading() as s:
        [row] = (await s.execute(select(Call).where(Call.action_id == placed["action_id"]))).scalars()
    assert (row.id, row.outcome, row.client_id, row.requested_by_id) == (
        ended.payload["call_db_id"], "answered", client_id, uid)

async def test_busy_client_is_recorded_busy(phones: Phones) -> None:
    team = await users.ensure_team(phones.db, "Отдел продаж")
    uid, http = await phones.login("kovalenko", Role.operator, "101", team)
    await _client_of(phones.db, uid, "ФОП Бондар Ганна Іванівна", BONDAR)
    sub = await phones.bus.subscribe(["call.ended"])
    resp = await http.post("/api/calls", json={"phone": "+380 67 123 45 67"})
    assert resp.status == 202
    ended, _ = await _wait_for(sub, "call.ended", action_id=(await resp.json())["action_id"])
    assert ended.payload["outcome"] == "busy"


async def test_no_call_to_another_operators_client(phones: Phones) -> None:
    team = await users.ensure_team(phones.db, "Отдел продаж")
    owner, _ = await phones.login("zhuk", Role.operator, "102", team)
    _, intruder = await phones.login("ivanova", Role.operator, "101", team)
    client_id = await _client_of(phones.db, owner, "ОАО «Минский тракторный завод»", OTHERS)
    for body in ({"phone": "+375 (29) 123-45-67"}, {"client_id": client_id}):
        resp = await intruder.post("/api/calls", json=body)
        assert resp.status == 404, body
    assert phones.app[SIM_KEY].live_channels() == []  # type: ignore[attr-defined]
    async with phones.db.reading() as s:
        assert (await s.execute(select(Call))).first() is None


async def test_inbound_call_pops_the_card_on_the_agents_websocket_before_answer(phones: Phones) -> None:
    team = await users.ensure_team(phones.db, "Отдел продаж")
    uid, http = await phones.login("ivanova", Role.operator, "101", team)
    other_uid, other_http = await phones.login("kovalenko", Role.operator, "102", team)
    client_id = await _client_of(phones.db, uid, "ООО «Ромашка»", ROMASHKA)
    ws = await http.ws_connect("/api/ws")
    assert (await ws.receive_json(timeout=2))["topic"] == "ws.ready"
    phones.app[SIM_KEY].inject_inbound_call("79161234567", "Иван Петров", "74951234567", patience_seconds=120)  # type: ignore[attr-defined]
    topics = []
    pop = None
    while True:
        msg = await ws.receive_json(timeout=10)
        topics.append(msg["topic"])
        if msg["topic"] == "screen.pop":
            pop = msg["payload"]
        if msg["topic"] == "call.answered":
            break
    assert pop is not None, topics
    assert topics.index("screen.pop") < topics.index("call.answered"), "the card must be up before the agent answers"
    assert pop["known"] is True and pop["client"]["client_id"] == client_id
    assert pop["client"]["name"] == "ООО «Ромашка»" and pop["client"]["local_time"] is not None
    assert pop["number"] == ROMASHKA and pop["caller_name"] == "Иван Петров"
    await ws.close()



async def test_the_agent_rung_for_a_colleagues_client_may_open_the_card(phones: Phones) -> None:
    """A queue rings whoever is free: the card the pop shows must open for them, and only for them."""
    team = await users.ensure_team(phones.db, "Отдел продаж")
    uid, http = await phones.login("ivanova", Role.operator, "101", team)
    owner_uid, _ = await phones.login("kovalenko", Role.operator, "102", team)
    _, bystander = await phones.login("zhuk", Role.operator, None, team)
    client_id = await _client_of(phones.db, owner_uid, "ООО «Ромашка»", ROMASHKA)
    assert (await http.get(f"/api/clients/{client_id}")).status == 404, "not hers before the call"
    ws = await http.ws_connect("/api/ws")
    assert (await ws.receive_json(timeout=2))["topic"] == "ws.ready"
    phones.app[SIM_KEY].inject_inbound_call("79161234567", "Иван Петров", "74951234567", patience_seconds=120)  # type: ignore[attr-defined]
    while (msg := await ws.receive_json(timeout=10))["topic"] != "screen.pop":
        pass
    assert msg["payload"]["client"]["client_id"] == client_id
    # As the desk does: the full card is asked for the moment the pop shows.
    card = await http.get(f"/api/clients/{client_id}")
    assert card.status == 200, await card.text()
    assert (await card.json())["client"]["name"] == "ООО «Ромашка»"
    note = await http.post(f"/api/clients/{client_id}/interactions", json={
        "type": "note", "subject": "Просит перезвонить бухгалтеру после обеда"})
    assert note.status == 201, await note.text()
    assert (await bystander.get(f"/api/clients/{client_id}")).status == 404, "nobody else gains anything"
    await ws.close()


async def test_stopping_the_bridge_waits_for_the_screen_pops_it_cancels(phones: Phones) -> None:
    """The app closes the store right after the bridge: no pop may still be writing to it by then."""
    team = await users.ensure_team(phones.db, "Отдел продаж")
    await phones.login("ivanova", Role.operator, "101", team)
    owner_uid, _ = await phones.login("kovalenko", Role.operator, "102", team)
    await _client_of(phones.db, owner_uid, "ООО «Ромашка»", ROMASHKA)
    bridge = phones.app[BRIDGE_KEY]
    async with _call_rows_held(phones.db, "client_access"):
        phones.app[SIM_KEY].inject_inbound_call("79161234567", "Иван Петров", "74951234567", patience_seconds=120)  # type: ignore[attr-defined]
        for _ in range(500):
            if bridge._pops:
                break
            await asyncio.sleep(0.01)
        pops = set(bridge._pops)
        assert pops, "a pop waiting on the store"
        stopping = asyncio.create_task(bridge.stop())
        pops_done_when_stopped: list[bool] = []
        stopping.add_done_callback(lambda _: pops_done_when_stopped.append(all(task.done() for task in pops)))
        await asyncio.sleep(0.3)
    await stopping
    assert pops_done_when_stopped == [True]

async def test_unknown_number_pops_a_new_client_form(phones: Phones) -> None:
    team = await users.ensure_team(phones.db, "Отдел продаж")
    _, http = await phones.login("ivanova", Role.operator, "101", team)
    ws = await http.ws_connect("/api/ws")
    await ws.receive_json(timeout=2)
    phones.app[SIM_KEY].inject_inbound_call("375297654321", "Алесь Лукашевич", "74951234567", patience_seconds=3)  # type: ignore[attr-defined]
    while True:
        msg = await ws.receive_json(timeout=10)
        if msg["topic"] == "screen.pop":
            break
    assert msg["payload"]["known"] is False
    assert msg["payload"]["new_client"] == {"phone": "+375297654321", "name": "Алесь Лукашевич"}
    await ws.close()
