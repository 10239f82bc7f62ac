"""Appeals: for a client or a new "primary" caller, the 10-minute callback, scope, channel statistics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_core.errors import ClientNotFound, ContactNotFound, DuplicatePhone, InvalidInput
from crm_core.services import appeals as appeals_service
from crm_core.services import clients as clients_service
from crm_core.errors import AppealNotFound
from crm_core.services.appeals import AppealInput, NewClientInput
from tests.crm_core.crm_world import build_world, kovalenko_fop, mtz, romashka

T0 = datetime(2026, 11, 23, 9, 15, tzinfo=timezone.utc)


async def test_appeal_for_an_existing_client(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    appeal = await appeals_service.create_appeal(
        db, w.ivanova,
        AppealInput(purpose="Запрос коммерческого предложения", client_id=client_id, channel_code="website",
                    products=["Стеллажи складские", "Погрузчики", "Стеллажи складские"], callback_requested=True),
        now=T0,
    )
    assert appeal.channel.code == "website" and appeal.status == "new" and appeal.created_by_id == w.ivanova.user_id
    assert appeal.products == ["Стеллажи складские", "Погрузчики"]
    assert appeal.callback_due_at == T0 + timedelta(minutes=10)
    quiet = await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="Уточнить сроки", client_id=client_id), now=T0)
    assert quiet.callback_due_at is None and quiet.channel is None
    with pytest.raises(ClientNotFound):
        await appeals_service.create_appeal(db, w.petrov, AppealInput(purpose="x", client_id=client_id))
    with pytest.raises(InvalidInput, match="unknown marketing channel"):
        await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="x", client_id=client_id, channel_code="tv"))
    with pytest.raises(InvalidInput, match="either"):
        await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="x"))
    with pytest.raises(InvalidInput, match="either"):
        await appeals_service.create_appeal(
            db, w.ivanova, AppealInput(purpose="x", client_id=client_id, new_client=NewClientInput("Пётр", "+79031234567")))
    plant = await mtz(db, w.ivanova)
    [director] = (await clients_service.get_card(db, w.ivanova, client_id)).contacts
    with pytest.raises(ContactNotFound):
        await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="x", client_id=plant, contact_id=director.id))


async def test_appeal_from_a_new_caller_creates_a_primary_card(db) -> None:
    w = await build_world(db)
    appeal = await appeals_service.create_appeal(
        db, w.kovalenko,
        AppealInput(purpose="Хочу подключить телефонию", new_client=NewClientInput("Ганна Бондаренко", "067 765 43 21"),
                    channel_code="social", callback_requested=True),
        default_region="UA", now=T0,
    )
    card = await clients_service.get_card(db, w.kovalenko, appeal.client_id)
    assert card.client.status == "primary" and card.client.kind.value == "person" and card.client.source_channel == "social"
    assert card.client.responsible_id == w.kovalenko.user_id
    assert [p.e164 for p in card.client.phones] == ["+380677654321"]
    assert [e.kind for e in card.history] == ["appeal"]
    with pytest.raises(DuplicatePhone):
        await appeals_service.create_appeal(
            db, w.kovalenko, AppealInput(purpose="Ещё раз", new_client=NewClientInput("Ганна", "+380677654321")), default_region="UA")
    # The failed appeal made no card.
    assert (await clients_service.list_clients(db, w.admin)).total == 1


async def test_list_update_and_overdue_callbacks(db) -> None:
    w = await build_world(db)
    mine = await romashka(db, w.ivanova)
    theirs = await kovalenko_fop(db, w.kovalenko)
    late = await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="Перезвонить", client_id=mine, callback_requested=True), now=T0)
    fresh = await appeals_service.create_appeal(
        db, w.ivanova, AppealInput(purpose="Перезвонить позже", client_id=mine, callback_requested=True), now=T0 + timedelta(minutes=8))
    other = await appeals_service.create_appeal(db, w.kovalenko, AppealInput(purpose="Дзвінок", client_id=theirs), now=T0)

    async def ids(actor, **kw) -> list[int]:
        return [a.id for a in (await appeals_service.list_appeals(db, actor, **kw)).items]

    assert await ids(w.ivanova) == [fresh.id, late.id]
    assert await ids(w.petrov) == []
    assert await ids(w.kyiv_sup) == [other.id]
    assert await ids(w.admin) == [fresh.id, other.id, late.id]  # same time: newest id first
    assert await ids(w.ivanova, callback_overdue=True, now=T0 + timedelta(minutes=12)) == [late.id]
    assert await ids(w.ivanova, client_id=theirs) == []
    taken = await appeals_service.update_appeal(db, w.ivanova, late.id, {"status": "in_work", "comment": "Перезвонила в 9:27"})
    assert taken.status == "in_work" and taken.comment == "Перезвонила в 9:27"
    assert await ids(w.ivanova, callback_overdue=True, now=T0 + timedelta(minutes=30)) == [fresh.id]
    assert await ids(w.ivanova, status="in_work") == [late.id]
    with pytest.raises(InvalidInput):
        await appeals_service.update_appeal(db, w.ivanova, late.id, {"status": "won"})
    with pytest.raises(AppealNotFound):
        await appeals_service.update_appeal(db, w.petrov, late.id, {"status": "lost"})
    with pytest.raises(AppealNotFound):
        await appeals_service.get_appeal(db, w.kyiv_sup, late.id)


async def test_channel_statistics_over_visible_appeals(db) -> None:
    w = await build_world(db)
    mine = await romashka(db, w.ivanova)
    theirs = await kovalenko_fop(db, w.kovalenko)
    plan = [("website", "done"), ("website", "lost"), ("website", "done"), ("phone", "new"), (None, "done")]
    for i, (channel, status) in enumerate(plan):
        appeal = await appeals_service.create_appeal(
            db, w.ivanova, AppealInput(purpose=f"Обращение {i}", client_id=mine, channel_code=channel), now=T0 + timedelta(hours=i))
        await appeals_service.update_appeal(db, w.ivanova, appeal.id, {"status": status})
    await appeals_service.create_appeal(db, w.kovalenko, AppealInput(purpose="Дзвінок", client_id=theirs, channel_code="website"), now=T0)
    await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="В декабре", client_id=mine, channel_code="phone"),
                                        now=datetime(2026, 12, 2, tzinfo=timezone.utc))
    november = (datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 12, 1, tzinfo=timezone.utc))
    report = await appeals_service.channel_stats(db, w.ivanova, *november)
    rows = {r.code: (r.total, r.done, r.conversion) for r in report.channels}
    assert rows["website"] == (3, 2, 0.6667) and rows["phone"] == (1, 0, 0.0) and rows[None] == (1, 1, 1.0)
    assert rows["referral"] == (0, 0, 0.0)
    assert (report.total, report.done) == (5, 3)
    everyone = await appeals_service.channel_stats(db, w.admin, *november)
    assert {r.code: r.total for r in everyone.channels}["website"] == 4
    with pytest.raises(InvalidInput):
        await appeals_service.channel_stats(db, w.admin, november[1], november[0])
