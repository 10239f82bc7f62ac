"""A real Zvonar server for the desk to talk to: the aiohttp app, the store, the bus, the PBX simulator.

``zvonar`` serves it on a loopback port in the test's own event loop (for Pilot tests);
``threaded_zvonar`` serves it from a thread of its own (for snapshot tests, whose app
runs its own event loop). The desk reaches either only over HTTP and WebSocket.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour, PbxSimulator, SimConfig
from ami_bridge.routes import BRIDGE_KEY
from crm_core.db import Database
from crm_core.migrate import upgrade
from crm_core.models import Role
from crm_core.rights import Actor
from crm_core.services import users
from crm_core.services.clients import (
    ClientInput,
    ContactInput,
    PhoneInput,
    create_client,
)
from crm_core.services.interactions import InteractionInput, create_interaction
from operator_tui.api_client import ApiClient
from operator_tui.app import ZvonarTui, create_app
from operator_tui.clock import FrozenClock
from operator_tui.context import DeskConfig
from zvonar.app import init_app
from zvonar.bus import InProcessBus
from zvonar.settings import load_settings
from zvonar.telephony import SIM_KEY
from tests.password_cost import TEST_PASSWORDS

PASSWORD = "correct horse battery"
SUPPORT_DID = "74951234567"
SUPPORT_MEMBERS = ("101", "102", "103", "104", "105")
MOSCOW = ZoneInfo("Europe/Moscow")
# Every clock-dependent text on the desk comes from this moment in the snapshots.
FROZEN_AT = datetime(2027, 3, 15, 10, 30, tzinfo=MOSCOW)

# 101 picks up after 10 simulated seconds (0.5 s here) and stays on the line until the other
# side hangs up; the other agents' phones let it ring.
SIM = SimConfig(
    port=0,
    time_scale=0.05,
    agents={"101": AgentBehaviour(answer_after=10.0, talk_seconds=None)},
    default_agent=AgentBehaviour(answer_after=None),
    # Every client picks up after a second and talks until someone hangs up.
    random_clients=None,
    default_client=ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None),
)
# The desk's waits, shortened so a test sees a retry within a second.
FAST = DeskConfig(login_retry_base=0.2, login_retry_cap=0.5, ws_backoff_base=0.1, ws_backoff_cap=0.5,
                  outbox_retry_base=0.2, outbox_retry_cap=0.5)


class Zvonar:
    """The running server and what a test needs to set the scene (users, clients, calls)."""

    def __init__(self, db: Database, bus: InProcessBus, app: web.Application, server: TestServer) -> None:
        self.db, self.bus, self.app, self.server = db, bus, app, server
        self.base_url = str(server.make_url("")).rstrip("/")

    @property
    def sim(self) -> PbxSimulator:
        return self.app[SIM_KEY]

    async def user(self, login: str, role: str = "operator", endpoint: str | None = None,
                   full_name: str | None = None, team: str = "Отдел продаж") -> Any:
        team_id = await users.ensure_team(self.db, team)
        return await users.create_user(self.db, login=login, full_name=full_name or login.title(), role=Role(role),
                                       password=PASSWORD, passwords=TEST_PASSWORDS, team_id=team_id, phone_endpoint=endpoint)

    async def client(self, owner_id: int, name: str, phone: str, *, region: str = "Москва",
                     contact: tuple[str, str] | None = None, status: str = "client") -> int:
        actor = Actor(user_id=owner_id, role=Role.operator, team_id=None)
        contacts = [ContactInput(first_name=contact[0], last_name=contact[1], position="директор")] if contact else []
        created = await create_client(self.db, actor, ClientInput(name=name, region=region, status=status,
                                                                   phones=[PhoneInput(phone)], contacts=contacts))
        return created.id

    async def event(self, owner_id: int, client_id: int, type_code: str, subject: str, *,
                    planned_at: datetime | None = None, done_at: datetime | None = None, status: str | None = None) -> int:
        actor = Actor(user_id=owner_id, role=Role.operator, team_id=None)
        made = await create_interaction(self.db, actor, client_id, InteractionInput(
            type_code=type_code, status_code=status, subject=subject, body=None, planned_at=planned_at,
            done_at=done_at, contact_id=None, user_id=None))
        return made.id

    async def publish_scripts(self, admin_login: str = "admin") -> dict[str, int]:
        """Publish the two example scripts through the API, as an administrator would."""
        await self.user(admin_login, role="admin")
        api = ApiClient(self.base_url)
        try:
            await api.login(admin_login, PASSWORD)
            ids = {}
            for path in sorted((Path(__file__).resolve().parents[2] / "scripts_engine" / "examples").glob("*.yaml")):
                out = await api.request("POST", "/api/scripts", body={"code": path.stem, "yaml": path.read_text("utf-8")})
                ids[path.stem] = out["id"]
            return ids
        finally:
            await api.close()

    def ring(self, caller: str, name: str, patience: float | None = 2000.0) -> str:
        """A carrier call to the support line; returns the caller's channel."""
        return self.sim.inject_inbound_call(caller, name, SUPPORT_DID, patience_seconds=patience)

    async def hang_up(self, channel: str) -> None:
        """The caller hangs up (an AMI Hangup on their channel)."""
        await self.app[BRIDGE_KEY].conn.send_action({"Action": "Hangup", "Channel": channel})


async def _serve(db: Database, sim: SimConfig, port: int | None = None) -> tuple[TestServer, web.Application, InProcessBus]:
    settings = load_settings(database_url=db.url.render_as_string(hide_password=False))
    bus = InProcessBus()
    app = init_app(settings, db=db, bus=bus, telephony=True, sim_override=sim)
    # Open event streams are cut after a second when the server stops (as a crash or restart would).
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server(shutdown_timeout=1.0)
    bridge = app[BRIDGE_KEY]

    def ready() -> bool:
        return bridge.conn.connected and {a.agent for a in bridge.agents.snapshot()} >= set(SUPPORT_MEMBERS)

    for _ in range(1000):
        if ready():
            break
        await asyncio.sleep(0.01)
    assert ready(), "the bridge did not connect to the simulator and read its queues"
    return server, app, bus


@pytest.fixture
async def zvonar(sqlite_db: Database) -> AsyncIterator[Zvonar]:
    server, app, bus = await _serve(sqlite_db, SIM)
    yield Zvonar(sqlite_db, bus, app, server)
    await server.close()


def desk(zvonar_url: str, state_dir: Path, *, clock: Any = None, lang: str = "ru", login: str = "",
         config: DeskConfig = FAST) -> ZvonarTui:
    """The real app, pointed at a server by URL only."""
    return create_app(ApiClient(zvonar_url), lang=lang, clock=clock, config=config, state_dir=state_dir, login=login)


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds (fails after ``timeout`` seconds).

    Steps take a second or two here; the timeout is generous because CI's two cores also
    run the simulator, the server and the store, and a slow step is not a wrong one.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def type_text(pilot: Any, text: str) -> None:
    """Type into the focused field as the operator would paste it (key by key is ``press_keys``)."""
    from textual.widgets import Input, TextArea

    focused = pilot.app.focused
    if isinstance(focused, Input):
        focused.insert_text_at_cursor(text)
    elif isinstance(focused, TextArea):
        focused.insert(text)
    else:
        raise AssertionError(f"nothing to type into: the focus is on {focused!r}")
    await pilot.pause()


async def press_keys(pilot: Any, text: str) -> None:
    """Type ``text`` one key at a time (slower: the pilot waits for the app after each key)."""
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def log_in(pilot: Any, login: str, password: str = PASSWORD) -> None:
    """Type the user and password on the login screen and press Enter."""
    from textual.widgets import Input

    app = pilot.app
    user = app.screen.query_one("#login-user", Input)
    user.value = ""
    user.focus()
    await pilot.pause()
    await type_text(pilot, login)
    await pilot.press("enter")
    await type_text(pilot, password)
    await pilot.press("enter")


# ---------------------------------------------------------------------- a server in its own thread


class ThreadedZvonar:
    """The same server run by a thread's own event loop (snapshot tests run the app in theirs)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="zvonar-server")
        self.server: TestServer | None = None
        self.zvonar: Zvonar | None = None

    def run(self, coro: Awaitable[Any], timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def start(self) -> Zvonar:
        self.thread.start()

        async def up() -> Zvonar:
            db = Database(f"sqlite+aiosqlite:///{self.db_path}")
            await upgrade(db)
            server, app, bus = await _serve(db, SIM)
            self.server = server
            return Zvonar(db, bus, app, server)

        self.zvonar = self.run(up())
        return self.zvonar

    def stop(self) -> None:
        async def down() -> None:
            if self.server is not None:
                await self.server.close()
            if self.zvonar is not None:
                await self.zvonar.db.dispose()

        self.run(down())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def threaded_zvonar(tmp_path: Path) -> Iterator[ThreadedZvonar]:
    server = ThreadedZvonar(tmp_path / "zvonar.sqlite3")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def frozen_clock() -> FrozenClock:
    return FrozenClock(FROZEN_AT)
