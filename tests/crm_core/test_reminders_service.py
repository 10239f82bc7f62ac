"""Reminders on both stores: which callbacks and meetings are due, each sent once (also with two
senders at once), a rescheduled event again, a failed publication retried; the user's day."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from crm_core.db import Database
from crm_core.errors import InvalidInput
from crm_core.models import Interaction
from crm_core.services import clients as clients_service
from crm_core.services import interactions as interactions_service
from crm_core.services import reminders as service
from crm_core.services.interactions import InteractionInput
from crm_core.services.reminders import Reminder
from tests.crm_core.crm_world import World, build_world, mtz, romashka

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, 16:00 in Novosibirsk


async def _event(db: Database, actor, client_id: int, type_code: str, at: datetime, subject: str,  # type: ignore[no-untyped-def]
                 details: dict[str, Any] | None = None, status: str | None = None) -> int:
    event = await interactions_service.create_interaction(
        db, actor, client_id, InteractionInput(type_code=type_code, subject=subject, planned_at=at, status_code=status))
    if details:
        async with db.transaction() as s:
            await s.execute(update(Interaction).where(Interaction.id == event.id).values(details=details))
    return event.id


class Outbox:
    """The edge a real publisher sits at: what was published, and a switch to fail."""

    def __init__(self) -> None:
        self.sent: list[Reminder] = []
        self.failing = False

    async def __call__(self, reminder: Reminder) -> None:
        if self.failing:
            raise ConnectionError("bus unreachable")
        self.sent.append(reminder)


async def _day(db: Database) -> tuple[World, int, dict[str, int]]:
    world = await build_world(db)
    client_id = await romashka(db, world.ivanova)
    ev = {
        "callback_soon": await _event(db, world.ivanova, client_id, "outgoing_call", NOW + timedelta(minutes=3),
                                      "Перезвонить Кузнецовой"),
        "callback_later": await _event(db, world.ivanova, client_id, "outgoing_call", NOW + timedelta(minutes=30),
                                       "Уточнить реквизиты"),
        "meeting_own_lead": await _event(db, world.ivanova, client_id, "meeting", NOW + timedelta(minutes=50),
                                         "Демонстрация Звонарь CRM", {"reminder_minutes": 60}),
        "meeting_default": await _event(db, world.ivanova, client_id, "meeting", NOW + timedelta(minutes=50),
                                        "Подписание договора"),
        "done_call": await _event(db, world.ivanova, client_id, "outgoing_call", NOW + timedelta(minutes=1),
                                  "Уже позвонили", status="done"),
        "stale_call": await _event(db, world.ivanova, client_id, "outgoing_call", NOW - timedelta(hours=3),
                                   "Забытый звонок"),
        "task": await _event(db, world.ivanova, client_id, "task", NOW + timedelta(minutes=1), "Подготовить счёт"),
    }
    return world, client_id, ev


async def test_due_reminders_go_out_once_with_the_client_and_its_time(db: Database) -> None:
    world, client_id, ev = await _day(db)
    out = Outbox()
    sent = await service.send_due(db, out, NOW)
    assert sorted(r.interaction_id for r in sent) == sorted([ev["callback_soon"], ev["meeting_own_lead"]])
    assert out.sent == sent
    call = next(r for r in sent if r.interaction_id == ev["callback_soon"])
    payload = call.payload()
    assert payload["user_id"] == world.ivanova.user_id and payload["client_name"] == "ООО «Ромашка»"
    assert (payload["type"], payload["status"], payload["minutes_before"]) == ("outgoing_call", "planned", 5)
    assert payload["client_timezone"] == "Europe/Moscow" and payload["client_local_time"] == "2026-12-04T12:03:00+03:00"
    assert payload["phone"] == "+74951234567" and payload["id"] == ev["callback_soon"]
    meeting = next(r for r in sent if r.interaction_id == ev["meeting_own_lead"])
    assert meeting.minutes_before == 60
    # Once only.
    assert await service.send_due(db, out, NOW + timedelta(seconds=15)) == []
    # Later the rest come due in turn: the half-hour callback 5 minutes before, the meeting 15 minutes before.
    later = await service.send_due(db, out, NOW + timedelta(minutes=36))
    assert sorted(r.interaction_id for r in later) == sorted([ev["callback_later"], ev["meeting_default"]])
    assert {r.interaction_id for r in out.sent}.isdisjoint({ev["done_call"], ev["stale_call"], ev["task"]})


async def test_a_rescheduled_event_is_reminded_again(db: Database) -> None:
    world, _, ev = await _day(db)
    out = Outbox()
    await service.send_due(db, out, NOW)
    await interactions_service.update_interaction(db, world.ivanova, ev["callback_soon"],
                                                  {"planned_at": NOW + timedelta(hours=1)})
    assert [r.interaction_id for r in await service.send_due(db, out, NOW + timedelta(minutes=1))] == []
    again = await service.send_due(db, out, NOW + timedelta(minutes=56))
    assert ev["callback_soon"] in [r.interaction_id for r in again]
    # Done before its time: no reminder at all.
    await interactions_service.update_interaction(db, world.ivanova, ev["callback_later"], {"status_code": "done"})
    assert ev["callback_later"] not in [r.interaction_id for r in await service.send_due(db, out, NOW + timedelta(minutes=29))]


async def test_a_failed_publication_is_retried_and_not_lost(db: Database) -> None:
    _, _, ev = await _day(db)
    out = Outbox()
    out.failing = True
    with pytest.raises(ConnectionError):
        await service.send_due(db, out, NOW)
    out.failing = False
    sent = await service.send_due(db, out, NOW + timedelta(seconds=15))
    assert ev["callback_soon"] in [r.interaction_id for r in sent]


async def test_two_senders_at_once_send_each_reminder_once(db: Database) -> None:
    world = await build_world(db)
    client_id = await mtz(db, world.petrov)
    ids = [await _event(db, world.petrov, client_id, "outgoing_call", NOW + timedelta(minutes=i % 4), f"Звонок {i}")
           for i in range(12)]
    # A second process: its own engine and connections on the same store.
    other = Database(db.url.render_as_string(hide_password=False))
    try:
        first, second = Outbox(), Outbox()
        await asyncio.gather(service.send_due(db, first, NOW), service.send_due(other, second, NOW))
    finally:
        await other.dispose()
    got = [r.interaction_id for r in first.sent + second.sent]
    assert sorted(got) == sorted(ids)


async def test_today_lists_the_users_own_open_events_of_their_day(db: Database) -> None:
    world, client_id, ev = await _day(db)
    late = await _event(db, world.ivanova, client_id, "outgoing_call", datetime(2026, 12, 4, 20, 30, tzinfo=UTC),
                        "Поздний звонок")  # 23:30 in Moscow, 03:30 tomorrow in Novosibirsk
    tomorrow = await _event(db, world.ivanova, client_id, "meeting", NOW + timedelta(days=1), "Завтрашняя встреча")
    petrovs = await _event(db, world.petrov, await mtz(db, world.petrov), "outgoing_call", NOW, "Звонок Петрова")
    await service.send_due(db, Outbox(), NOW)

    items = await service.today(db, world.ivanova, zone="Europe/Moscow", now=NOW)
    ids = [i.id for i in items]
    assert ids == [ev["stale_call"], ev["callback_soon"], ev["callback_later"], ev["meeting_own_lead"],
                   ev["meeting_default"], late]
    assert tomorrow not in ids and petrovs not in ids and ev["done_call"] not in ids and ev["task"] not in ids
    first = items[0]
    assert first.overdue and not first.reminded and first.client_name == "ООО «Ромашка»"
    soon = items[1]
    assert soon.reminded and not soon.overdue and soon.local_time.isoformat() == "2026-12-04T12:03:00+03:00"
    assert soon.client_local_time is not None and soon.client_local_time.isoformat() == "2026-12-04T12:03:00+03:00"
    novosibirsk = await service.today(db, world.ivanova, zone="Asia/Novosibirsk", now=NOW)
    assert late not in [i.id for i in novosibirsk]
    # Own events only: a supervisor's day is theirs, not the team's.
    assert await service.today(db, world.sales_sup, zone="Europe/Moscow", now=NOW) == []
    # A client handed to a colleague takes its open events along (переадресация): they leave
    # Ivanova's day and are reminded to Petrov.
    await clients_service.reassign_clients(db, world.sales_sup, [client_id], world.petrov.user_id, "Отпуск")
    assert await service.today(db, world.ivanova, zone="Europe/Moscow", now=NOW) == []
    assert ev["callback_later"] in [i.id for i in await service.today(db, world.petrov, zone="Europe/Moscow", now=NOW)]
    later = await service.send_due(db, Outbox(), NOW + timedelta(minutes=36))
    assert {r.user_id for r in later} == {world.petrov.user_id} and ev["callback_later"] in [r.interaction_id for r in later]


async def test_an_event_of_someone_who_does_not_see_the_client_is_not_reminded(db: Database) -> None:
    world = await build_world(db)
    client_id = await romashka(db, world.ivanova)
    # An admin planned a call for Kovalenko (Kyiv) on a Moscow client he cannot open.
    event = await interactions_service.create_interaction(db, world.admin, client_id, InteractionInput(
        type_code="outgoing_call", subject="Позвонить", planned_at=NOW, user_id=world.kovalenko.user_id))
    visible = await _event(db, world.ivanova, client_id, "outgoing_call", NOW, "Позвонить самой")
    sent = await service.send_due(db, Outbox(), NOW)
    assert [r.interaction_id for r in sent] == [visible] and event.id != visible
    assert await service.today(db, world.kovalenko, zone="Europe/Moscow", now=NOW) == []


def test_user_zone() -> None:
    assert service.user_zone(None, "RU") == "Europe/Moscow"
    assert service.user_zone(None, "UA") == "Europe/Kyiv"
    assert service.user_zone("Asia/Novosibirsk", "RU") == "Asia/Novosibirsk"
    assert service.user_zone("МСК+4", "RU") == "Etc/GMT-7"  # UTC+7, as parse_timezone reads it
    with pytest.raises(InvalidInput, match="tz"):
        service.user_zone("Марс/Олимп", "RU")
