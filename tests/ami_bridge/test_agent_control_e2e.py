"""Agent control end to end: HTTP API -> AMI bridge -> PBX simulator, on both stores.

Pause with a reason and ready again, campaign queue login/logout, who may change whose
state, and the live wallboard (``GET /api/agents``) per role. The simulator runs the
production queues: ``support`` with the static members PJSIP/101..105, ``campaign``
with dynamic members only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from ami_bridge.pbx_sim import AgentBehaviour, PbxSimulator, SimConfig
from ami_bridge.routes import BRIDGE_KEY
from crm_core.db import Database
from crm_core.models import Role, User
from crm_core.services import users
from tests.conftest import ApiHarness
from zvonar.app import init_app
from zvonar.bus import InProcessBus
from zvonar.settings import load_settings
from zvonar.telephony import SIM_KEY
from tests.password_cost import TEST_PASSWORDS

SUPPORT_MEMBERS = ("101", "102", "103", "104", "105")
# 101 picks up an inbound call after 10 simulated seconds (0.5 s here) and stays on the
# line; everyone else lets it ring.
SIM = SimConfig(
    port=0,
    time_scale=0.05,
    agents={"101": AgentBehaviour(answer_after=10.0, talk_seconds=None)},
    default_agent=AgentBehaviour(answer_after=None),
)
WAIT = 10.0


class Pbx(ApiHarness):
    """The real app with telephony on, its simulator and its bridge."""

    sim: PbxSimulator


@pytest.fixture
async def pbx(db: Database) -> AsyncIterator[Pbx]:
    settings = load_settings(database_url=db.url.render_as_string(hide_password=False))
    bus = InProcessBus()
    app = init_app(settings, db=db, bus=bus, telephony=True, sim_override=SIM)
    server = TestServer(app)
    await server.start_server()
    harness = Pbx(db, bus, server, settings)
    harness.sim = app[SIM_KEY]
    bridge = app[BRIDGE_KEY]
    # Connected, and the QueueStatus resync after login has been read: every static member is known.
    def ready() -> bool:
        return bridge.conn.connected and {a.agent for a in bridge.agents.snapshot()} >= set(SUPPORT_MEMBERS)

    for _ in range(1000):
        if ready():
            break
        await asyncio.sleep(0.01)
    assert ready(), "the bridge did not connect to the simulator and read its queues"
    yield harness
    await harness.close()
    await server.close()


async def _agent(pbx: Pbx, login: str, endpoint: str, team: str) -> User:
    """An operator who is only acted upon (never logs in: an Argon2 check saved)."""
    return await users.create_user(pbx.db, login=login, full_name=login.title(), role=Role.operator,
                                   password="correct horse battery", passwords=TEST_PASSWORDS, team_id=await users.ensure_team(pbx.db, team),
                                   phone_endpoint=endpoint)


def _member(sim: PbxSimulator, queue: str, endpoint: str) -> dict[str, str] | None:
    found = [m for m in sim.queue_members(queue) if m["Interface"] == f"PJSIP/{endpoint}"]
    return found[0] if found else None


async def _ws(http: Any) -> Any:
    ws = await http.ws_connect("/api/ws")
    assert (await ws.receive_json(timeout=WAIT))["topic"] == "ws.ready"
    return ws


async def _ws_until(ws: Any, topic: str, **match: Any) -> dict[str, Any]:
    """The first message on ``ws`` with ``topic`` whose payload has every ``match`` item."""
    while True:
        msg = await ws.receive_json(timeout=WAIT)
        if msg["topic"] == topic and all(msg["payload"].get(k) == v for k, v in match.items()):
            return msg["payload"]


async def _bus_until(sub: Any, topic: str, **match: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        event = await sub.get(timeout=max(deadline - loop.time(), 0.01))
        if event.topic == topic and all(event.payload.get(k) == v for k, v in match.items()):
            return event.payload


async def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body["error"]) >= {"code", "message"} and body["error"]["message"], body
    return body["error"]


async def test_pause_with_a_reason_reaches_the_pbx_and_both_websockets_then_ready(pbx: Pbx) -> None:
    op, op_http = await pbx.user("operator", team="Отдел продаж", endpoint="101", login="ivanova", full_name="Ольга Иванова")
    _, sup_http = await pbx.user("supervisor", team="Отдел продаж", login="smirnova", full_name="Елена Смирнова")
    op_ws, sup_ws = await _ws(op_http), await _ws(sup_http)

    resp = await op_http.post("/api/agents/pause", json={"paused": True, "reason": "обед"})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"outcome": "paused"}
    member = _member(pbx.sim, "support", "101")
    assert member is not None and member["Paused"] == "1" and member["PausedReason"] == "обед"
    for ws in (op_ws, sup_ws):
        state = await _ws_until(ws, "agent.state", agent="101", state="paused")
        assert state["reason"] == "обед"
        assert state["user_id"] == op.id and state["team_id"] == op.team_id
        assert state["queues"] == ["support"]

    resp = await op_http.get("/api/agents")
    assert resp.status == 200
    [me] = await resp.json()
    assert (me["login"], me["endpoint"], me["state"], me["reason"]) == ("ivanova", "101", "paused", "обед")

    resp = await op_http.post("/api/agents/pause", json={"paused": False})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"outcome": "unpaused"}
    member = _member(pbx.sim, "support", "101")
    assert member is not None and member["Paused"] == "0" and member["PausedReason"] == ""
    for ws in (op_ws, sup_ws):
        state = await _ws_until(ws, "agent.state", agent="101", state="ready")
        assert state["reason"] is None and state["previous_state"] == "paused"
    [me] = await (await op_http.get("/api/agents")).json()
    assert (me["state"], me["reason"]) == ("ready", None)
    await op_ws.close()
    await sup_ws.close()


async def test_campaign_queue_login_adds_a_dynamic_member_and_logout_removes_it(pbx: Pbx) -> None:
    op, http = await pbx.user("operator", endpoint="102", login="kovalenko", full_name="Оксана Коваленко")
    sub = await pbx.bus.subscribe(["agent.state"])
    assert pbx.sim.queue_members("campaign") == []

    resp = await http.post("/api/agents/queue-login", json={"queue": "campaign"})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"outcome": "added"}
    [member] = pbx.sim.queue_members("campaign")
    assert member["Interface"] == "PJSIP/102" and member["Membership"] == "dynamic"
    assert member["MemberName"] == "Оксана Коваленко"
    state = await _bus_until(sub, "agent.state", agent="102", queues=["campaign", "support"])
    assert state["user_id"] == op.id and state["state"] == "ready"
    [me] = await (await http.get("/api/agents")).json()
    assert me["queues"] == ["campaign", "support"]

    # A second login finds the agent there already (persistentmembers): not an error.
    resp = await http.post("/api/agents/queue-login", json={"queue": "campaign"})
    assert (resp.status, await resp.json()) == (200, {"outcome": "already_member"})
    assert len(pbx.sim.queue_members("campaign")) == 1

    resp = await http.post("/api/agents/queue-logout", json={"queue": "campaign"})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"outcome": "removed"}
    assert pbx.sim.queue_members("campaign") == []
    await _bus_until(sub, "agent.state", agent="102", queues=["support"])
    resp = await http.post("/api/agents/queue-logout", json={"queue": "campaign"})
    assert (resp.status, await resp.json()) == (200, {"outcome": "not_member"})

    # A queue Asterisk does not have is 404, naming it; nothing is created.
    error = await _error(await http.post("/api/agents/queue-login", json={"queue": "vip-clients"}), 404)
    assert "vip-clients" in error["message"]
    error = await _error(await http.post("/api/agents/queue-logout", json={"queue": "vip-clients"}), 404)
    assert "vip-clients" in error["message"]
    with pytest.raises(KeyError):
        pbx.sim.queue_members("vip-clients")
    # A static member of queues.conf cannot log out over AMI: said so, and it stays.
    error = await _error(await http.post("/api/agents/queue-logout", json={"queue": "support"}), 422)
    assert "static" in error["message"]
    assert _member(pbx.sim, "support", "102") is not None
    await sub.close()


async def test_who_may_pause_whom(pbx: Pbx) -> None:
    sales = "Отдел продаж"
    _, ivanova = await pbx.user("operator", team=sales, endpoint="101", login="ivanova")
    kovalenko = await _agent(pbx, "kovalenko", "102", sales)
    smirnova_user, smirnova = await pbx.user("supervisor", team=sales, login="smirnova")  # no phone of her own
    _, lukashevich = await pbx.user("supervisor", team="Отдел возврата долгов", login="lukashevich")

    # An operator changes only their own state.
    await _error(await ivanova.post("/api/agents/pause", json={"paused": True, "reason": "обед", "user_id": kovalenko.id}), 403)
    await _error(await ivanova.post("/api/agents/queue-login", json={"queue": "campaign", "user_id": kovalenko.id}), 403)
    assert _member(pbx.sim, "support", "102")["Paused"] == "0"  # type: ignore[index]
    assert pbx.sim.queue_members("campaign") == []

    # The team's supervisor may.
    resp = await smirnova.post("/api/agents/pause", json={"paused": True, "reason": "обучение", "user_id": kovalenko.id})
    assert (resp.status, await resp.json()) == (200, {"outcome": "paused"})
    member = _member(pbx.sim, "support", "102")
    assert member is not None and (member["Paused"], member["PausedReason"]) == ("1", "обучение")
    resp = await smirnova.post("/api/agents/queue-login", json={"queue": "campaign", "user_id": kovalenko.id})
    assert (resp.status, await resp.json()) == (200, {"outcome": "added"})
    assert [m["Interface"] for m in pbx.sim.queue_members("campaign")] == ["PJSIP/102"]

    # Another team's supervisor does not even learn the agent exists; nothing changes.
    await _error(await lukashevich.post("/api/agents/pause", json={"paused": False, "user_id": kovalenko.id}), 404)
    await _error(await lukashevich.post("/api/agents/queue-logout", json={"queue": "campaign", "user_id": kovalenko.id}), 404)
    assert _member(pbx.sim, "support", "102")["Paused"] == "1"  # type: ignore[index]
    assert [m["Interface"] for m in pbx.sim.queue_members("campaign")] == ["PJSIP/102"]

    # No phone endpoint: nothing to pause or log in, said clearly.
    error = await _error(await smirnova.post("/api/agents/pause", json={"paused": True, "reason": "обед"}), 422)
    assert "smirnova" in error["message"] and "endpoint" in error["message"]
    await _error(await smirnova.post("/api/agents/queue-login", json={"queue": "campaign"}), 422)
    await _error(await smirnova.post("/api/agents/pause", json={"paused": True, "user_id": smirnova_user.id}), 422)
    assert [m["Interface"] for m in pbx.sim.queue_members("campaign")] == ["PJSIP/102"]


async def test_agents_list_per_role_with_live_states(pbx: Pbx) -> None:
    sales = "Отдел продаж"
    ivanova, ivanova_http = await pbx.user("operator", team=sales, endpoint="101", login="ivanova", full_name="Ольга Иванова")
    await _agent(pbx, "kovalenko", "102", sales)
    await _agent(pbx, "zhuk", "103", "Отдел возврата долгов")
    _, smirnova = await pbx.user("supervisor", team=sales, login="smirnova", full_name="Елена Смирнова")
    _, admin = await pbx.user("admin", team=None, login="root", full_name="Администратор")

    mine = await (await ivanova_http.get("/api/agents")).json()
    assert [(a["login"], a["state"]) for a in mine] == [("ivanova", "ready")]

    # An inbound call to support rings 101 first (leastrecent, everyone equal), who answers.
    sub = await pbx.bus.subscribe(["agent.state"])
    pbx.sim.inject_inbound_call("79161234567", "Иван Петров", "74951234567", patience_seconds=120)
    ringing = await _bus_until(sub, "agent.state", agent="101", state="ringing")
    assert ringing["user_id"] == ivanova.id and ringing["call_id"]
    on_call = await _bus_until(sub, "agent.state", agent="101", state="on_call")
    assert on_call["call_id"] == ringing["call_id"]
    await sub.close()

    resp = await smirnova.get("/api/agents")
    assert resp.status == 200
    team = {a["login"]: a for a in await resp.json()}
    assert set(team) == {"ivanova", "kovalenko"}, "only the supervisor's own team"
    assert team["ivanova"]["state"] == "on_call" and team["ivanova"]["call_id"] == ringing["call_id"]
    assert team["ivanova"]["queues"] == ["support"] and team["ivanova"]["since"] is not None
    assert team["kovalenko"]["state"] == "ready" and team["kovalenko"]["call_id"] is None

    everyone = {a["login"]: a["state"] for a in await (await admin.get("/api/agents")).json()}
    assert everyone == {"ivanova": "on_call", "kovalenko": "ready", "zhuk": "ready"}
    mine = await (await ivanova_http.get("/api/agents")).json()
    assert [(a["login"], a["state"]) for a in mine] == [("ivanova", "on_call")]


@pytest.fixture
async def no_pbx(sqlite_db: Database) -> AsyncIterator[ApiHarness]:
    """The app without telephony; the store does not matter here, so SQLite only."""
    settings = load_settings(database_url=sqlite_db.url.render_as_string(hide_password=False))
    server = TestServer(init_app(settings, db=sqlite_db, bus=InProcessBus()))
    await server.start_server()
    harness = ApiHarness(sqlite_db, InProcessBus(), server, settings)
    yield harness
    await harness.close()
    await server.close()


async def test_without_a_pbx_agent_control_answers_503_json(no_pbx: ApiHarness) -> None:
    """No bridge at all: a clear 503 JSON error, never a 500 and never made-up states."""
    _, http = await no_pbx.user("operator", endpoint="101", login="ivanova")
    for method, path, body in (
        ("POST", "/api/agents/pause", {"paused": True, "reason": "обед"}),
        ("POST", "/api/agents/pause", {"paused": False}),
        ("POST", "/api/agents/queue-login", {"queue": "campaign"}),
        ("POST", "/api/agents/queue-logout", {"queue": "campaign"}),
        ("GET", "/api/agents", None),
    ):
        error = await _error(await http.request(method, path, json=body), 503)
        assert error["code"] == "service_unavailable", (path, error)
        assert "PBX" in error["message"], (path, error)
