"""Snapshots of the campaigns list and the wallboard at 120×40 and 80×24, against a real server in a thread.

The same every run: a frozen clock (FROZEN_AT, Moscow), the same seeded team, clients and
campaigns, and the server's dialer stopped before any campaign runs, so the live figures,
agent states and calls on the pictures are exactly the events this test publishes on the
server's bus (in the shapes the dialer and the AMI bridge publish them).
Update them with ``pytest tests/operator_tui/test_supervisor_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from crm_core.models import Lead, Role
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from dialer.routes import DIALER_KEY
from operator_tui.clock import FrozenClock
from dialer.routes import HEARD_STATS_KEY
from operator_tui.screens.campaigns import CampaignsScreen
from operator_tui.screens.wallboard import WallboardScreen
from tests.operator_tui.conftest import FROZEN_AT, ThreadedZvonar, Zvonar, desk, wait_for
from tests.operator_tui.supervisor_helpers import (
    ALL_WEEK,
    a_day_of_stats,
    agent_event,
    open_supervisor_screen,
    stats_event,
)

SIZES = [(120, 40), (80, 24)]
OPERATORS = (("ivanova", "201", "Иванова Ольга Андреевна"), ("petrov", "202", "Петров Сергей Викторович"),
             ("sidorenko", "203", "Сидоренко Мария Ивановна"), ("bondar", "204", "Бондарь Андрей Петрович"))
CLIENTS = (("ООО «Ромашка»", "+79161234567", "Москва"), ("АО «Северсталь-Сервис»", "+79161234501", "Москва"),
           ("ИП Кузнецов Андрей Петрович", "+79031234502", "Москва"), ("ООО «Вектор»", "+79261234503", "Московская область"),
           ("ЗАО «Уральские самоцветы»", "+73432123456", "Свердловская область"),
           ("ТОВ «Карпати»", "+380671234502", "Львовская область"), ("ОАО «Минский тракторный завод»", "+375296124567", "Минск"),
           ("ООО «Лютик»", "+79161234504", "Москва"), ("ООО «Гранит»", "+79161234505", "Москва"),
           ("ООО «Берёзка»", "+79161234506", "Москва"))


async def _seed(z: Zvonar) -> dict[str, Any]:
    # Stopped first: a running campaign here is dialled by nobody, its figures are only what the tests publish.
    await z.app[DIALER_KEY].stop()
    ops = [await z.user(login, endpoint=ext, full_name=name) for login, ext, name in OPERATORS]
    sup_user = await z.user("smirnova", role="supervisor", full_name="Смирнова Анна Сергеевна")
    for index, (name, number, region) in enumerate(CLIENTS):
        await z.client(ops[index % 2].id, name, number, region=region)
    await z.publish_scripts()
    sup = Actor(user_id=sup_user.id, role=Role.supervisor, team_id=sup_user.team_id)
    db = z.db

    async def campaign(name: str, mode: str, script: str | None, agents: list[int], region: str | None) -> Any:
        made = await campaigns_service.create_campaign(db, sup, {"name": name, "mode": mode, "hours": ALL_WEEK,
                                                                  "script_code": script})
        await campaigns_service.set_agents(db, sup, made.id, agents)
        if region is not None:
            await campaigns_service.add_list_from_filter(db, sup, made.id, f"Клиенты: {region}", {"region": region})
        return made

    spring = await campaign("Весенний обзвон: Москва", "predictive", "cold_call_b2b", [o.id for o in ops[:3]], "Москва")
    nps = await campaign("Опрос NPS после внедрения", "progressive", "nps_feedback", [ops[3].id], "Свердловская область")
    await campaign("Повторный обзвон: Минск", "preview", None, [], None)
    winter = await campaign("Зимняя акция", "progressive", "cold_call_b2b", [ops[0].id], "Московская область")
    for made in (spring, nps, winter):
        await campaigns_service.launch(db, sup, made.id)
    await campaigns_service.pause(db, sup, nps.id)
    await campaigns_service.stop(db, sup, winter.id)
    # Some of the spring leads already worked through (as the dialer would have left them).
    async with db.transaction() as s:
        ids = list((await s.execute(Lead.__table__.select().with_only_columns(Lead.id)
                                    .where(Lead.campaign_id == spring.id).order_by(Lead.id))).scalars())
        await s.execute(update(Lead).where(Lead.id.in_(ids[:2])).values(state="done"))
        await s.execute(update(Lead).where(Lead.id == ids[2]).values(state="failed"))
    view = await campaigns_service.get_campaign(db, sup, spring.id)
    return {"spring": {"id": view.id, "name": view.name, "team_id": view.team_id, "state": "running",
                       "mode": "predictive"}, "ops": ops}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    threaded = ThreadedZvonar(tmp_path_factory.mktemp("supervisor-snapshots") / "zvonar.sqlite3")
    zvonar = threaded.start()
    # The screens get their figures from the events each test publishes; GET /stats must not hand
    # one test the figures the previous one published (relayed while fresh, dialer/heard_stats.py).
    zvonar.app[HEARD_STATS_KEY].fresh_seconds = 0.0
    threaded.seeded = threaded.run(_seed(zvonar))  # type: ignore[attr-defined]
    yield threaded
    threaded.stop()


def _publish(server: ThreadedZvonar, topic: str, payload: dict[str, Any]) -> None:
    server.run(server.zvonar.bus.publish(topic, payload))  # type: ignore[union-attr]


def _idle(screen: Any, group: str) -> bool:
    return not any(w.group == group and not w.is_finished for w in screen.app.workers)


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """No toasts: only what the screen itself shows."""
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_campaigns_list(snap_compare, server: ThreadedZvonar, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = desk(server.zvonar.base_url, tmp_path, clock=FrozenClock(FROZEN_AT))  # type: ignore[union-attr]
    spring = server.seeded["spring"]  # type: ignore[attr-defined]
    figures = stats_event(spring, FROZEN_AT, dials=236, answered=112, abandoned=2, occupancy=0.84)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await open_supervisor_screen(pilot, "smirnova", "campaigns", CampaignsScreen)
        await wait_for(pilot, lambda: screen.loaded and screen.link_state == "online" and len(screen.campaigns) == 4
                       and _idle(screen, "campaigns-load"), what="the list, online")
        _publish(server, "campaign.stats", figures)
        await wait_for(pilot, lambda: screen.stats.get(spring["id"]) == figures, what="the live figures")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_wallboard(snap_compare, server: ThreadedZvonar, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = desk(server.zvonar.base_url, tmp_path, clock=FrozenClock(FROZEN_AT))  # type: ignore[union-attr]
    spring, ops = server.seeded["spring"], server.seeded["ops"]  # type: ignore[attr-defined]
    ticks = a_day_of_stats(spring, FROZEN_AT - timedelta(seconds=30))
    agents = [agent_event(ops[0], "on_call", FROZEN_AT - timedelta(minutes=2, seconds=15), call_id="1773559800.17"),
              agent_event(ops[1], "wrap_up", FROZEN_AT - timedelta(seconds=12)),
              agent_event(ops[2], "ready", FROZEN_AT - timedelta(seconds=40)),
              agent_event(ops[3], "paused", FROZEN_AT - timedelta(minutes=14, seconds=5), reason="обед")]
    # The dialer's calls carry its campaign's team (ami_bridge/bridge.py): no other team's board shows them.
    team = ops[0].team_id
    calls = [("call.started", {"call_id": "1773559800.17", "direction": "outbound", "number": "+79161234567",
                               "team_id": team}),
             ("call.answered", {"call_id": "1773559800.17", "agent": "201", "number": "+79161234567", "queue": "campaign",
                                "user_id": ops[0].id, "team_id": team}),
             ("call.started", {"call_id": "1773559801.18", "direction": "outbound", "number": "+79031234502",
                               "team_id": team})]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await open_supervisor_screen(pilot, "smirnova", "wallboard", WallboardScreen)
        board = screen.board
        await wait_for(pilot, lambda: screen.loaded and screen.link_state == "online" and board.campaign is not None
                       and _idle(screen, "wallboard-load"), what="the wallboard, online")
        for payload in agents:
            _publish(server, "agent.state", payload)
        for topic, payload in calls:
            _publish(server, topic, payload)
        for payload in ticks:
            _publish(server, "campaign.stats", payload)
        await wait_for(pilot, lambda: (board.stats or {}).get("at") == ticks[-1]["at"] and len(board.calls) == 2
                       and board.agents[f"u{ops[3].id}"].state == "paused", what="the published events")
        screen.render_all()
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
