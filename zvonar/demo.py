"""``zvonar demo``: the embedded default with data to play with.

Creates the SQLite store, demo users (passwords printed), a few hundred RU/UA/BY
clients loaded through the real importer, then serves the API with the PBX simulator.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from crm_core.db import Database
from crm_core.importer import import_clients
from crm_core.migrate import ensure_schema
from crm_core.models import Client, Role, User
from crm_core.rights import Actor
from crm_core.services import users as users_service
from zvonar.demo_data import CSV_HEADER, csv_row, generate_clients
from zvonar.settings import Settings

log = logging.getLogger(__name__)

TEAM = "Отдел продаж"


@dataclass(frozen=True)
class DemoUser:
    login: str
    full_name: str
    role: Role
    password: str
    endpoint: str | None


DEMO_USERS = [
    DemoUser("admin", "Администратор Системы", Role.admin, "zvonar-admin", None),
    DemoUser("supervisor", "Елена Викторовна Смирнова", Role.supervisor, "zvonar-super", None),
    DemoUser("ivanova", "Ольга Андреевна Иванова", Role.operator, "zvonar-op-101", "101"),
    DemoUser("kovalenko", "Олег Петрович Коваленко", Role.operator, "zvonar-op-102", "102"),
    DemoUser("zhuk", "Святлана Міхайлаўна Жук", Role.operator, "zvonar-op-103", "103"),
]


def demo_csv(count: int, operators: list[str]) -> bytes:
    """The demo clients as a 1C-style cp1251 export, responsible operators round-robin."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([*CSV_HEADER, "Ответственный"])
    for i, client in enumerate(generate_clients(count, seed=2026)):
        writer.writerow([*csv_row(client), operators[i % len(operators)]])
    return out.getvalue().encode("cp1251", errors="replace")


async def load_demo(settings: Settings, clients: int) -> dict[str, object]:
    """Create users and clients unless the store already has them; returns what was done."""
    db = Database(settings.effective_database_url)
    try:
        await ensure_schema(db)
        team_id = await users_service.ensure_team(db, TEAM)
        async with db.reading() as s:
            existing = set((await s.execute(select(User.login))).scalars())
        for u in DEMO_USERS:
            if u.login not in existing:
                await users_service.create_user(
                    db, login=u.login, full_name=u.full_name, role=u.role, password=u.password,
                    team_id=None if u.role is Role.admin else team_id, phone_endpoint=u.endpoint,
                )
        async with db.reading() as s:
            admin = (await s.execute(select(User).where(User.login == "admin"))).scalar_one()
            have = (await s.execute(select(func.count(Client.id)))).scalar_one()
        summary: dict[str, object] = {"clients_before": have}
        if have == 0 and clients > 0:
            operators = [u.login for u in DEMO_USERS if u.role is Role.operator]
            result = await import_clients(
                db, Actor.of(admin), demo_csv(clients, operators), "demo-clients.csv",
                default_region=settings.default_region, on_duplicate="merge",
            )
            summary["import"] = result.to_json()
        return summary
    finally:
        await db.dispose()


def banner(settings: Settings, host: str, port: int) -> str:
    url = f"http://{host}:{port}"
    users = "\n".join(f"    {u.role.value:<11} {u.login:<11} password {u.password:<14}" + (f" phone {u.endpoint}" if u.endpoint else "")
                      for u in DEMO_USERS)
    return f"""
Zvonar demo is running at {url}  (store: {settings.effective_database_url})
Telephony: {"the built-in PBX simulator (phones 101-105 answer by themselves)" if settings.uses_pbx_simulator else "Asterisk at " + settings.ami.host}

  Users:
{users}

  Try:
    TOKEN=$(curl -s -X POST {url}/api/auth/login -H 'Content-Type: application/json' \\
        -d '{{"login": "ivanova", "password": "zvonar-op-101"}}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
    curl -s {url}/api/auth/me -H "Authorization: Bearer $TOKEN"
    curl -s '{url}/api/clients?limit=5' -H "Authorization: Bearer $TOKEN"
    curl -s -G {url}/api/clients/search --data-urlencode 'q=Иванов' -H "Authorization: Bearer $TOKEN"
    curl -s -X POST {url}/api/calls -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{{"client_id": 1}}'
    curl -s {url}/api/clients/1/calls -H "Authorization: Bearer $TOKEN"   # the outcome lands when the call ends
    curl -s {url}/api/openapi.json | head -c 300

  Stop: Ctrl-C (the data stays in var/; `make clean` removes it).
"""


def run_demo(settings: Settings, host: str | None, port: int | None, clients: int, serve: bool) -> int:
    summary = asyncio.run(load_demo(settings, clients))
    log.info("demo.loaded %s", summary)
    if "import" in summary:
        imported = summary["import"]
        assert isinstance(imported, dict)
        print(f"demo data: {imported['inserted']} clients imported, {len(imported['rejected'])} rows rejected")
    if not serve:
        return 0
    from zvonar.runtime import serve as serve_api

    host = host or settings.http.host
    port = port or settings.http.port
    print(banner(settings, host, port), flush=True)
    return serve_api(settings, host=host, port=port)
