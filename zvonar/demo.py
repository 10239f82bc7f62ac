"""``zvonar demo``: the embedded default with data to play with.

Creates the SQLite store, demo users (passwords printed), a few hundred RU/UA/BY
clients loaded through the real importer and a running predictive campaign over them,
then serves the API with the PBX simulator: the dialer places real Originates, the
simulator's phones 101-103 (the demo operators) answer the campaign queue's calls, its
clients answer, are busy or do not pick up, and ``campaign.stats`` moves once a second.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from dataclasses import dataclass

from pathlib import Path

from sqlalchemy import func, select

import scripts_engine
from crm_core.db import Database
from crm_core.importer import import_clients
from crm_core.migrate import ensure_schema
from crm_core.models import CallScript, Campaign, Client, Role, User
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import users as users_service
from scripts_engine.protocol_store import ProtocolStore
from zvonar.demo_data import (
    CSV_HEADER,
    DEMO_ABANDON_MESSAGE,
    DEMO_CALLER_ID,
    DEMO_CAMPAIGN,
    DEMO_DISPOSITIONS,
    DEMO_SCRIPT_CODE,
    csv_row,
    generate_clients,
)
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
                    passwords=settings.passwords.hashing(),
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
        campaign = await ensure_demo_campaign(db)
        if campaign is not None:
            summary["campaign"] = campaign
        return summary
    finally:
        await db.dispose()


async def ensure_demo_campaign(db: Database) -> dict[str, object] | None:
    """The demo campaign, created and launched once: predictive, over every client, the demo operators on it.

    Its calling hours are the whole day, every day (see DEMO_CAMPAIGN): a demo must call
    whatever the hour it is started at, while a real campaign keeps to its clients' hours.
    Returns what was created, None if it exists already (or there are no clients to call).
    """
    async with db.reading() as s:
        if await s.scalar(select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGN).limit(1)) is not None:
            return None
        if not await s.scalar(select(func.count(Client.id))):
            return None
        people = {u.login: u for u in (await s.execute(select(User))).scalars()}
        has_script = await s.scalar(select(CallScript.id).where(CallScript.code == DEMO_SCRIPT_CODE).limit(1))
    supervisor = Actor.of(people["supervisor"])
    if has_script is None:
        source = (Path(scripts_engine.__file__).parent / "examples" / "cold_call_b2b.yaml").read_text(encoding="utf-8")
        await ProtocolStore(db).publish(Actor.of(people["admin"]), DEMO_SCRIPT_CODE, source)
    campaign = await campaigns_service.create_campaign(db, supervisor, {
        "name": DEMO_CAMPAIGN, "mode": "predictive", "queue": "campaign", "script_code": DEMO_SCRIPT_CODE,
        "hours": {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}, "dispositions": DEMO_DISPOSITIONS,
        # The simulator's clients include answering machines: the dialplan drops them before the queue.
        "pacing": {"amd": True},
        # What a real campaign sets up: the company's number on the client's phone, and the recording an
        # abandoned client hears (a PBX without the file plays the stock apology instead).
        "caller_id": DEMO_CALLER_ID, "abandon_message": DEMO_ABANDON_MESSAGE,
    })
    operators = [people[u.login].id for u in DEMO_USERS if u.role is Role.operator]
    await campaigns_service.set_agents(db, supervisor, campaign.id, operators)
    report = await campaigns_service.add_list_from_filter(db, supervisor, campaign.id, "Вся база отдела продаж", None)
    await campaigns_service.launch(db, supervisor, campaign.id)
    return {"campaign_id": campaign.id, "leads": report.leads_added, "operators": len(operators)}


def banner(settings: Settings, host: str, port: int) -> str:
    url = f"http://{host}:{port}"
    users = "\n".join(f"    {u.role.value:<11} {u.login:<11} password {u.password:<14}" + (f" phone {u.endpoint}" if u.endpoint else "")
                      for u in DEMO_USERS)
    return f"""
Zvonar demo is running at {url}  (store: {settings.effective_database_url})
Telephony: {"the built-in PBX simulator (phones 101-105 answer by themselves)" if settings.uses_pbx_simulator else "Asterisk at " + settings.ami.host}
Campaign:  «{DEMO_CAMPAIGN}» is running: predictive, over every demo client, operators ivanova, kovalenko, zhuk
           (phones 101-103) take its calls; its live figures are `campaign.stats` on /api/ws, once a second.

  Users:
{users}

  The operators' desk and the supervisor's screens (the terminal app), from another terminal here:
    .venv/bin/zvonar tui --server {url} --user ivanova       # operator: password zvonar-op-101; campaign calls pop here
    .venv/bin/zvonar tui --server {url} --user supervisor    # supervisor: password zvonar-super; F11 for campaigns and the wallboard

  Try:
    TOKEN=$(curl -s -X POST {url}/api/auth/login -H 'Content-Type: application/json' \\
        -d '{{"login": "ivanova", "password": "zvonar-op-101"}}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
    curl -s {url}/api/auth/me -H "Authorization: Bearer $TOKEN"
    curl -s '{url}/api/clients?limit=5' -H "Authorization: Bearer $TOKEN"
    curl -s -G {url}/api/clients/search --data-urlencode 'q=Иванов' -H "Authorization: Bearer $TOKEN"
    curl -s -X POST {url}/api/calls -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{{"client_id": 1}}'
    curl -s {url}/api/clients/1/calls -H "Authorization: Bearer $TOKEN"   # the outcome lands when the call ends
    curl -s {url}/api/openapi.json | head -c 300
    SUP=$(curl -s -X POST {url}/api/auth/login -H 'Content-Type: application/json' \\
        -d '{{"login": "supervisor", "password": "zvonar-super"}}' | python3 -c 'import sys, json; print(json.load(sys.stdin)["token"])')
    curl -s {url}/api/campaigns/1/stats -H "Authorization: Bearer $SUP"   # dials, answered, abandon rate, agents...

  Stop: Ctrl-C (the data stays in var/; `make clean` removes it).
"""


def run_demo(settings: Settings, host: str | None, port: int | None, clients: int, serve: bool) -> int:
    summary = asyncio.run(load_demo(settings, clients))
    log.info("demo.loaded %s", summary)
    if "import" in summary:
        imported = summary["import"]
        assert isinstance(imported, dict)
        print(f"demo data: {imported['inserted']} clients imported, {len(imported['rejected'])} rows rejected")
    if "campaign" in summary:
        campaign = summary["campaign"]
        assert isinstance(campaign, dict)
        print(f"demo campaign {campaign['campaign_id']}: {campaign['leads']} leads, {campaign['operators']} operators, running")
    if not serve:
        return 0
    from zvonar.runtime import serve as serve_api

    host = host or settings.http.host
    port = port or settings.http.port
    print(banner(settings, host, port), flush=True)
    return serve_api(settings, host=host, port=port)
