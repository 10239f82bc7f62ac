"""The bridge after its AMI link drops: it reconnects by itself, re-reads the live channels
(CoreShowChannels) and keeps its call records right; nothing is sent on a dead link.

Between the bridge and the simulator sits ``Relay``, a small TCP relay the test can cut
like a pulled cable: the simulator's calls go on while the bridge is blind. The calls
end when the test hangs them up over its own AMI session to the simulator (as a
supervisor's console would), so nothing here waits on a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from ami_bridge.bridge import AmiBridge
from ami_bridge.connection import AmiConnection
from ami_bridge.pbx_sim import (
    AgentBehaviour,
    AmiUser,
    ClientBehaviour,
    PbxSimulator,
    SimConfig,
)
from ami_bridge.routes import BRIDGE_KEY
from crm_core.db import Database
from crm_core.models import Call, Interaction, Role
from crm_core.rights import Actor
from crm_core.services.clients import ClientInput, PhoneInput, create_client
from tests.conftest import ApiHarness
from zvonar.app import init_app
from zvonar.bus import InProcessBus
from zvonar.settings import load_settings

SECRET = "relay-test-secret"
SUPPORT_MEMBERS = ("101", "102", "103", "104", "105")
WAIT = 10.0
ROMASHKA = "+79161234567"
BONDAR = "+380671234567"
MINSK = "+375291234567"

# Every phone answers at once and stays on the line until someone hangs up.
SIM = SimConfig(
    port=0,
    time_scale=0.05,
    users=(AmiUser("zvonar", SECRET),),
    clients={
        "79161234567": ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None),
        "380671234567": ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None),
        "375291234567": ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None),
    },
    default_agent=AgentBehaviour(answer_after=1.0, talk_seconds=None),
)


@dataclass(eq=False)
class RelayedSession:
    """One bridge connection through the relay; ``sent`` is every byte the bridge wrote."""

    downstream: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    sent: bytearray = field(default_factory=bytearray)

    def abort(self) -> None:
        for writer in (self.downstream, self.upstream):
            writer.transport.abort()


class Relay:
    """A TCP relay to the simulator. ``cut()`` drops every session and refuses new ones
    (a connection is accepted and closed at once, before any AMI greeting) until ``restore()``."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.up = True
        self.sessions: list[RelayedSession] = []
        self.refused = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    def cut(self) -> None:
        self.up = False
        for session in self.sessions:
            session.abort()

    def restore(self) -> None:
        self.up = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        session = RelayedSession(writer, up_writer)
        self.sessions.append(session)
        await asyncio.gather(self._pipe(reader, up_writer, session.sent), self._pipe(up_reader, writer, None))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bytearray | None) -> None:
        try:
            while data := await reader.read(65536):
                if record is not None:
                    record.extend(data)
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


class Line(ApiHarness):
    """The real app whose bridge reaches the simulator only through the relay."""

    sim: PbxSimulator
    relay: Relay
    app: web.Application
    console: AmiConnection
    sim_events: list[dict[str, str]]

    @property
    def bridge(self) -> AmiBridge:
        return self.app[BRIDGE_KEY]


async def _until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` on the event loop until it holds (or fail naming ``what``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def _line(db: Database, relay_up: bool) -> AsyncIterator[Line]:
    """Simulator, relay (up or cut from the start), the app pointed at the relay, a console session."""
    sim = PbxSimulator(SIM)
    host, port = await sim.start()
    relay = Relay((host, port))
    relay.up = relay_up
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(sim.stop)
        relay_port = await relay.start()
        stack.push_async_callback(relay.close)
        settings = load_settings(
            database_url=db.url.render_as_string(hide_password=False),
            # The connection's own backoff, capped low so a retry comes within half a second.
            ami={"host": "127.0.0.1", "port": relay_port, "username": "zvonar", "secret": SECRET,
                 "reconnect_backoff_max": 0.5},
        )
        bus = InProcessBus()
        app = init_app(settings, db=db, bus=bus, telephony=True)
        server = TestServer(app)
        await server.start_server()
        stack.push_async_callback(server.close)
        line = Line(db, bus, server, settings)
        stack.push_async_callback(line.close)
        line.sim, line.relay, line.app, line.sim_events = sim, relay, app, []
        sim.add_listener(line.sim_events.append)
        line.console = AmiConnection(host, port, "zvonar", SECRET)
        await line.console.connect()
        stack.push_async_callback(line.console.close)
        yield line


@pytest.fixture
async def line(db: Database) -> AsyncIterator[Line]:
    async with _line(db, relay_up=True) as harness:
        await _until(lambda: harness.bridge.conn.connected, "the bridge to connect through the relay")
        yield harness


async def _client(db: Database, owner_id: int, name: str, phone: str) -> int:
    actor = Actor(user_id=owner_id, role=Role.operator, team_id=None)
    return (await create_client(db, actor, ClientInput(name=name, region="Москва", phones=[PhoneInput(phone)]))).id


async def _bus_until(sub: Any, seen: list[Any], topic: str, **match: Any) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        event = await sub.get(timeout=max(deadline - loop.time(), 0.01))
        seen.append(event)
        if event.topic == topic and all(event.payload.get(k) == v for k, v in match.items()):
            return event.payload


async def _hang_up_agent(line: Line, linkedid: str, endpoint: str) -> None:
    """The agent hangs up: the console sends Hangup for their channel of that call."""
    [agent] = [c["channel"] for c in line.sim.live_channels()
               if c["linkedid"] == linkedid and c["channel"].startswith(f"PJSIP/{endpoint}-")]
    answer = await line.console.send_action({"Action": "Hangup", "Channel": agent})
    assert answer["Response"] == "Success", answer  # type: ignore[index]
    await _until(lambda: not any(c["linkedid"] == linkedid for c in line.sim.live_channels()), f"call {linkedid} to end")


async def test_link_drop_resyncs_and_every_call_gets_one_proper_record(line: Line) -> None:
    ivanova_user, ivanova = await line.user("operator", endpoint="101", login="ivanova")
    kovalenko_user, kovalenko = await line.user("operator", endpoint="102", login="kovalenko")
    zhuk_user, zhuk = await line.user("operator", endpoint="103", login="zhuk")
    long_client = await _client(line.db, ivanova_user.id, "ООО «Ромашка»", ROMASHKA)
    short_client = await _client(line.db, kovalenko_user.id, "ФОП Бондар Ганна Іванівна", BONDAR)
    await _client(line.db, zhuk_user.id, "ОАО «Минский тракторный завод»", MINSK)
    sub = await line.bus.subscribe(["call.*"])
    seen: list[Any] = []

    long_call = await (await ivanova.post("/api/calls", json={"phone": ROMASHKA})).json()
    short_call = await (await kovalenko.post("/api/calls", json={"phone": BONDAR})).json()
    long_answered = await _bus_until(sub, seen, "call.answered", action_id=long_call["action_id"])
    short_answered = await _bus_until(sub, seen, "call.answered", action_id=short_call["action_id"])

    # The cable is pulled; the calls go on in the PBX, and one of them ends unseen.
    relay = line.relay
    relay.cut()
    await _until(lambda: not line.bridge.conn.connected, "the bridge to notice the drop")
    await _hang_up_agent(line, short_answered["call_id"], "102")

    # A click while the link is down is refused at once, never held for the next session:
    # the cable goes back in at the bridge's next retry even if the click is still waiting.
    refused_before = relay.refused
    click = asyncio.create_task(zhuk.post("/api/calls", json={"phone": MINSK}))
    await _until(lambda: click.done() or relay.refused > refused_before, "the click to be answered")
    # The bridge keeps trying on its own (refused while the cable is out), then gets back in.
    await _until(lambda: relay.refused >= 1, "a reconnect attempt while the link is down")
    relay.restore()
    resp = await click
    assert resp.status == 503, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "service_unavailable" and "not sent" in error["message"], error
    await _until(lambda: line.bridge.conn.connected, "the bridge to reconnect by itself")
    reconnected_at = datetime.now(UTC)
    assert len(relay.sessions) == 2
    # After the login, unasked: the channels are re-read, then the queue members.
    await _until(lambda: b"Action: QueueStatus\r\n" in relay.sessions[1].sent, "the resync actions")
    resync = bytes(relay.sessions[1].sent)
    assert resync.index(b"Action: Login\r\n") < resync.index(b"Action: CoreShowChannels\r\n") < resync.index(b"Action: QueueStatus\r\n")

    # The call that ended in the dark is closed with what is known.
    short_ended = await _bus_until(sub, seen, "call.ended", action_id=short_call["action_id"])
    assert short_ended["end_observed"] is False
    assert short_ended["outcome"] == "answered" and short_ended["client_id"] == short_client

    # The long call is still the same call after the resync and ends properly when the agent hangs up.
    assert line.bridge.tracker.live_calls == 1
    await _hang_up_agent(line, long_answered["call_id"], "101")
    long_ended = await _bus_until(sub, seen, "call.ended", action_id=long_call["action_id"])
    assert long_ended["end_observed"] is True
    assert long_ended["outcome"] == "answered" and long_ended["client_id"] == long_client
    assert long_ended["call_id"] == long_answered["call_id"]
    started = [e.payload["call_id"] for e in seen if e.topic == "call.started"]
    assert sorted(started) == sorted([long_answered["call_id"], short_answered["call_id"]]), "no call announced twice"
    await sub.close()

    async with line.db.reading() as s:
        rows = list((await s.execute(select(Call).order_by(Call.id))).scalars())
        history = list((await s.execute(select(Interaction))).scalars())
    assert [r.id for r in rows] == [long_call["call_id"], short_call["call_id"], rows[-1].id], "each click's own row, none added"
    long_row, short_row, refused = rows
    assert (long_row.action_id, short_row.action_id, refused.agent_extension) == (
        long_call["action_id"], short_call["action_id"], "103")
    assert long_row.outcome == "answered" and long_row.talk_seconds is not None
    assert long_row.answered_at is not None and long_row.ended_at >= reconnected_at
    assert short_row.outcome == "answered" and short_row.answered_at is not None
    assert short_row.answered_at <= short_row.ended_at <= reconnected_at, "ended when the link dropped"
    assert sorted((h.client_id, h.type.code) for h in history) == sorted(
        [(long_client, "outgoing_call"), (short_client, "outgoing_call")])

    # The refused click: its row says failed, and the PBX never heard of it.
    assert refused.outcome == "failed" and refused.action_id
    assert not any(e.payload.get("action_id") == refused.action_id for e in seen)
    assert not any(refused.action_id.encode() in bytes(s.sent) for s in relay.sessions)
    assert not any(e.get("Channel", "").startswith("PJSIP/103-") for e in line.sim_events)
    assert b"Action: Originate\r\n" not in bytes(relay.sessions[1].sent), "nothing is resent after a reconnect"


async def test_bridge_started_while_the_pbx_is_away_connects_once_it_is_up(sqlite_db: Database) -> None:
    """Asterisk down when Zvonar starts: the API serves, and the bridge gets in by itself later."""
    async with _line(sqlite_db, relay_up=False) as line:
        await _until(lambda: line.relay.refused >= 2, "two refused connection attempts")
        assert not line.bridge.conn.connected
        line.relay.restore()
        await _until(lambda: line.bridge.conn.connected, "the bridge to connect once the PBX is up")
        # The late first login runs the same resync as any other: the queue members are known.
        await _until(lambda: {a.agent for a in line.bridge.agents.snapshot()} >= set(SUPPORT_MEMBERS),
                     "the queue members to be read after the late login")
