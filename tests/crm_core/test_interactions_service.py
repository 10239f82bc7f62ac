"""Events: types and statuses as data, events on visible clients only, the calendar's scope."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_core.errors import ClientNotFound, Conflict, ContactNotFound, Forbidden, InvalidInput
from crm_core.services import clients as clients_service
from crm_core.services import contacts as contacts_service
from crm_core.services import interactions as interactions_service
from crm_core.errors import InteractionNotFound
from crm_core.services.interactions import InteractionInput, StatusInput
from tests.crm_core.crm_world import build_world, kovalenko_fop, mtz, reference_data_restored, romashka

MONDAY = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


async def test_types_are_data_an_admin_edits(db) -> None:
    async with reference_data_restored(db):
        await _types_are_data_an_admin_edits(db)


async def _types_are_data_an_admin_edits(db) -> None:
    w = await build_world(db)
    types = {t.code: t for t in await interactions_service.list_types(db)}
    assert {"incoming_call", "outgoing_call", "meeting", "email", "task", "note"} <= set(types)
    assert [s.code for s in types["outgoing_call"].statuses] == ["planned", "done", "no_answer", "cancelled"]
    statuses = [StatusInput("planned", "Запланирована"), StatusInput("done", "Проведена", True)]
    with pytest.raises(Forbidden):
        await interactions_service.create_type(db, w.sales_sup, code="demo", name="Демонстрация", statuses=statuses)
    demo = await interactions_service.create_type(db, w.admin, code="demo", name="Демонстрация", color="#00897b", statuses=statuses)
    assert demo.name == "Демонстрация" and [s.code for s in demo.statuses] == ["planned", "done"]
    with pytest.raises(Conflict):
        await interactions_service.create_type(db, w.admin, code="demo", name="Ещё раз", statuses=statuses)
    with pytest.raises(InvalidInput):
        await interactions_service.create_type(db, w.admin, code="Demo!", name="x", statuses=statuses)
    with pytest.raises(InvalidInput):
        await interactions_service.create_type(db, w.admin, code="webinar", name="Вебинар", color="red", statuses=statuses)
    with_moved = await interactions_service.add_status(db, w.admin, demo.id, StatusInput("moved", "Перенесена"))
    assert [s.code for s in with_moved.statuses] == ["planned", "done", "moved"]
    with pytest.raises(Conflict):
        await interactions_service.add_status(db, w.admin, demo.id, StatusInput("moved", "Перенесена"))


async def test_events_on_a_client(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    plant = await mtz(db, w.ivanova)
    [director] = await contacts_service.list_contacts(db, w.ivanova, client_id)
    meeting = await interactions_service.create_interaction(
        db, w.ivanova, client_id,
        InteractionInput(type_code="meeting", subject="Презентация новой линейки", planned_at=MONDAY, contact_id=director.id),
    )
    # Planned without a status: the type's first open one; the owner is the actor.
    assert (meeting.type.code, meeting.status.code, meeting.user_id, meeting.done_at) == ("meeting", "planned", w.ivanova.user_id, None)
    note = await interactions_service.create_interaction(db, w.ivanova, client_id, InteractionInput(type_code="note", subject="Просили прайс"))
    assert note.status.code == "done" and note.done_at is not None
    with pytest.raises(InvalidInput, match="does not belong"):
        await interactions_service.create_interaction(
            db, w.ivanova, client_id, InteractionInput(type_code="meeting", status_code="no_answer", subject="x"))
    with pytest.raises(InvalidInput, match="unknown event type"):
        await interactions_service.create_interaction(db, w.ivanova, client_id, InteractionInput(type_code="fax", subject="x"))
    with pytest.raises(ContactNotFound):
        await interactions_service.create_interaction(
            db, w.ivanova, plant, InteractionInput(type_code="meeting", subject="x", contact_id=director.id))
    with pytest.raises(InvalidInput):
        await interactions_service.create_interaction(
            db, w.ivanova, client_id, InteractionInput(type_code="meeting", subject="x", planned_at=datetime(2026, 12, 1, 10, 0)))
    with pytest.raises(Forbidden):
        await interactions_service.create_interaction(
            db, w.ivanova, client_id, InteractionInput(type_code="task", subject="x", user_id=w.petrov.user_id))
    held = await interactions_service.update_interaction(db, w.ivanova, meeting.id, {"status_code": "done", "body": "Договорились о пилоте"})
    assert held.status.code == "done" and held.status.is_final and held.done_at is not None and held.body == "Договорились о пилоте"
    with pytest.raises(InvalidInput):
        await interactions_service.update_interaction(db, w.ivanova, meeting.id, {"status_code": "sent"})
    page = await interactions_service.list_for_client(db, w.ivanova, client_id)
    assert page.total == 2 and [i.id for i in page.items] == [meeting.id, note.id]
    for outsider in (w.petrov, w.kyiv_sup):
        with pytest.raises(InteractionNotFound):
            await interactions_service.get_interaction(db, outsider, meeting.id)
        with pytest.raises(InteractionNotFound):
            await interactions_service.update_interaction(db, outsider, meeting.id, {"subject": "взлом"})
        with pytest.raises(ClientNotFound):
            await interactions_service.list_for_client(db, outsider, client_id)
        with pytest.raises(ClientNotFound):
            await interactions_service.create_interaction(db, outsider, client_id, InteractionInput(type_code="note", subject="x"))


async def test_calendar_own_team_and_admin(db) -> None:
    w = await build_world(db)
    ivanova_client = await romashka(db, w.ivanova)
    petrov_client = await mtz(db, w.petrov)
    kyiv_client = await kovalenko_fop(db, w.kovalenko)

    async def plan(actor, client_id, hours: int, subject: str) -> int:
        event = await interactions_service.create_interaction(
            db, actor, client_id, InteractionInput(type_code="outgoing_call", subject=subject, planned_at=MONDAY + timedelta(hours=hours)))
        return event.id

    a = await plan(w.ivanova, ivanova_client, 1, "Позвонить Кузнецовой")
    b = await plan(w.petrov, petrov_client, 2, "Позвонить в МТЗ")
    c = await plan(w.kovalenko, kyiv_client, 3, "Подзвонити Коваленку")
    await plan(w.ivanova, ivanova_client, 24 * 8, "Через неделю")
    week = (MONDAY, MONDAY + timedelta(days=7))

    async def ids(actor, **kw) -> list[int]:
        return [i.id for i in await interactions_service.calendar(db, actor, *week, **kw)]

    assert await ids(w.ivanova) == [a]
    assert await ids(w.petrov) == [b]
    assert await ids(w.sales_sup) == [a, b]
    assert await ids(w.sales_sup, user_id=w.petrov.user_id) == [b]
    assert await ids(w.kyiv_sup) == [c]
    assert await ids(w.admin) == [a, b, c]
    with pytest.raises(Forbidden):
        await ids(w.ivanova, user_id=w.petrov.user_id)
    with pytest.raises(Forbidden):
        await ids(w.kyiv_sup, user_id=w.petrov.user_id)
    with pytest.raises(InvalidInput):
        await interactions_service.calendar(db, w.ivanova, MONDAY, MONDAY)
    with pytest.raises(InvalidInput):
        await interactions_service.calendar(db, w.ivanova, MONDAY, MONDAY + timedelta(days=400))


async def test_a_planned_contact_handed_to_a_colleague_comes_with_its_client_until_it_is_done(db) -> None:
    """Переадресация: Petrov is ill; the supervisor hands his planned call to Ivanova."""
    w = await build_world(db)
    client_id = await mtz(db, w.petrov)
    untouched = await romashka(db, w.petrov)
    call = await interactions_service.create_interaction(db, w.petrov, client_id, InteractionInput(
        type_code="outgoing_call", subject="Уточнить объём поставки", planned_at=MONDAY + timedelta(hours=3)))
    with pytest.raises(InteractionNotFound):
        await interactions_service.get_interaction(db, w.ivanova, call.id)
    await interactions_service.update_interaction(db, w.sales_sup, call.id, {"user_id": w.ivanova.user_id})

    week = (MONDAY, MONDAY + timedelta(days=7))
    assert [e.id for e in await interactions_service.calendar(db, w.ivanova, *week)] == [call.id]
    assert (await clients_service.get_card(db, w.ivanova, client_id)).client.name == "ОАО «Минский тракторный завод»"
    history = await interactions_service.list_for_client(db, w.ivanova, client_id)
    assert [e.subject for e in history.items] == ["Уточнить объём поставки"], "with its history"
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(db, w.ivanova, untouched)

    await interactions_service.update_interaction(db, w.ivanova, call.id, {"status_code": "done", "body": "Объём 40 т, КП до пятницы"})
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(db, w.ivanova, client_id)
    assert (await interactions_service.get_interaction(db, w.petrov, call.id)).body == "Объём 40 т, КП до пятницы"
