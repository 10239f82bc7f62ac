"""Schemathesis against /api/openapi.json: no 500, no response outside the schema.

A live server (a real port, SQLite store, realistic clients) is fuzzed as a logged-in
supervisor; examples per operation are bounded so the suite stays quick.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from crm_core.models import Role
from crm_core.rights import Actor
from crm_core.services import users
from crm_core.services.clients import ClientInput, ContactInput, PhoneInput, create_client
from tests.password_cost import TEST_PASSWORDS

EXAMPLES_PER_OPERATION = 12


@dataclass
class LiveApi:
    url: str
    token: str


def _serve(db_path: Path, ready: threading.Event, stop: list, box: dict) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    from crm_core.db import Database
    from crm_core.migrate import ensure_schema
    from zvonar.app import init_app
    from zvonar.bus import InProcessBus
    from zvonar.settings import load_settings

    async def main() -> None:
        url = f"sqlite+aiosqlite:///{db_path}"
        db = Database(url)
        await ensure_schema(db)
        team = await users.ensure_team(db, "Отдел продаж")
        sup = await users.create_user(db, login="smirnova", full_name="Елена Смирнова", role=Role.supervisor,
                                      password="correct horse battery", passwords=TEST_PASSWORDS, team_id=team, phone_endpoint="100")
        op = await users.create_user(db, login="ivanova", full_name="Ольга Иванова", role=Role.operator,
                                     password="correct horse battery", passwords=TEST_PASSWORDS, team_id=team, phone_endpoint="101")
        for i, (name, phone) in enumerate([("ООО «Ромашка»", "+7 916 123-45-67"), ("ФОП Коваленко О.П.", "+380 67 123 45 67"),
                                           ("ОАО «Гомельстекло»", "+375 (29) 123-45-67")]):
            await create_client(db, Actor(op.id, Role.operator, team), ClientInput(
                name=name, region="Москва", phones=[PhoneInput(phone)],
                contacts=[ContactInput(first_name="Иван", last_name=f"Петров{i}", emails=[f"ivan{i}@mail.ru"])]))
        settings_ = load_settings(database_url=url)
        app = init_app(settings_, db=db, bus=InProcessBus())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        box["url"] = f"http://127.0.0.1:{port}"
        box["sup"] = sup.login
        stopped = asyncio.Event()
        stop.append((asyncio.get_running_loop(), stopped))
        ready.set()
        await stopped.wait()
        await runner.cleanup()

    asyncio.run(main())


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    ready, stop, box = threading.Event(), [], {}
    thread = threading.Thread(target=_serve, args=(tmp_path_factory.mktemp("fuzz") / "z.sqlite3", ready, stop, box), daemon=True)
    thread.start()
    assert ready.wait(60), "the live API did not start"
    resp = requests.post(f"{box['url']}/api/auth/login", json={"login": box["sup"], "password": "correct horse battery"}, timeout=10)
    resp.raise_for_status()
    yield LiveApi(box["url"], resp.json()["token"])
    loop, stopped = stop[0]
    loop.call_soon_threadsafe(stopped.set)
    thread.join(10)


@pytest.fixture(scope="session")
def api_schema(live_api: LiveApi):  # type: ignore[no-untyped-def]
    spec = requests.get(f"{live_api.url}/api/openapi.json", timeout=10).json()
    # Logging out would end the session the rest of the run depends on.
    return schemathesis.openapi.from_dict(spec).exclude(path="/api/auth/logout")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_500_and_responses_match_the_schema(case, live_api: LiveApi) -> None:  # type: ignore[no-untyped-def]
    # Valid-looking input may still name ids that do not exist (404) or be refused by
    # rights (403): "accepted" is not a promise the API makes, so that check is off.
    case.call_and_validate(
        base_url=live_api.url,
        headers={"Authorization": f"Bearer {live_api.token}"},
        excluded_checks=[positive_data_acceptance],
    )
