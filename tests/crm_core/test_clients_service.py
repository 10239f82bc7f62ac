"""Clients: creation with phones and contacts, rights on every path, the card, search, reassignment."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite

from crm_core.errors import ClientNotFound, DuplicatePhone, Forbidden, InvalidInput, InvalidPhone, UserNotFound
from crm_core.models import Call, ClientKind, ClientReassignment, PhoneKind
from crm_core.services import appeals as appeals_service
from crm_core.services import clients as clients_service
from crm_core.services import interactions as interactions_service
from crm_core.services.appeals import AppealInput
from crm_core.services.clients import ClientFilters, ClientInput, PhoneInput
from crm_core.services.interactions import InteractionInput
from tests.crm_core.crm_world import build_world, kovalenko_fop, mtz, romashka


async def test_create_normalises_phones_and_makes_the_actor_responsible(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    card = await clients_service.get_card(db, w.ivanova, client_id)
    assert card.client.name == "ООО «Ромашка»" and card.client.name_search == "ооо «ромашка»"
    assert card.client.responsible_id == w.ivanova.user_id and card.responsible.full_name == "Ирина Иванова"
    phones = {p.e164: p for p in card.client.phones}
    assert set(phones) == {"+74951234567", "+79161234567"}
    # Kinds are guessed from the number when not given: 495 is a Moscow landline, 916 a mobile.
    assert phones["+74951234567"].kind is PhoneKind.work and phones["+74951234567"].contact_id is None
    assert phones["+79161234567"].kind is PhoneKind.mobile
    assert phones["+79161234567"].raw == "+7 916 123-45-67"
    [contact] = card.contacts
    assert (contact.last_name, contact.first_name, contact.middle_name) == ("Кузнецова", "Мария", "Ивановна")
    assert contact.emails == ["m.kuznetsova@romashka.ru"]
    assert [p.e164 for p in contact.phones] == ["+79161234567"]


async def test_duplicate_phone_names_the_client_only_to_whom_may_see_it(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    with pytest.raises(DuplicatePhone) as own:
        await clients_service.create_client(db, w.ivanova, ClientInput(name="ООО «Ромашка-2»", phones=[PhoneInput("89161234567")]))
    assert f"client {client_id}" in own.value.message
    with pytest.raises(DuplicatePhone) as foreign:
        await clients_service.create_client(db, w.kovalenko, ClientInput(name="ТОВ «Ромашка»", phones=[PhoneInput("+7 (916) 123 45 67")]))
    assert foreign.value.message == "phone +79161234567 already belongs to another client"
    with pytest.raises(InvalidInput, match="given twice"):
        await clients_service.create_client(
            db, w.ivanova, ClientInput(name="ООО «Лютик»", phones=[PhoneInput("+79031112233"), PhoneInput("8 903 111-22-33")])
        )
    with pytest.raises(InvalidPhone):
        await clients_service.create_client(db, w.ivanova, ClientInput(name="ООО «Лютик»", phones=[PhoneInput("12")]))


async def test_who_may_be_made_responsible(db) -> None:
    w = await build_world(db)
    data = ClientInput(name="ООО «Вектор»", responsible_id=w.petrov.user_id)
    with pytest.raises(Forbidden):
        await clients_service.create_client(db, w.ivanova, data)
    assert (await clients_service.create_client(db, w.sales_sup, data)).responsible_id == w.petrov.user_id
    with pytest.raises(Forbidden):
        await clients_service.create_client(db, w.kyiv_sup, ClientInput(name="ТОВ «Вектор»", responsible_id=w.petrov.user_id))
    assert (await clients_service.create_client(
        db, w.admin, ClientInput(name="ТОВ «Вектор»", responsible_id=w.kovalenko.user_id)
    )).responsible_id == w.kovalenko.user_id
    with pytest.raises(UserNotFound):
        await clients_service.create_client(db, w.admin, ClientInput(name="ООО «Никто»", responsible_id=99999))


async def test_field_checks(db) -> None:
    w = await build_world(db)
    made = await clients_service.create_client(db, w.ivanova, ClientInput(name="  ИП Сидоров  ", kind=ClientKind.person, timezone="МСК+4"))
    assert made.name == "ИП Сидоров" and made.timezone == "Etc/GMT-7"
    bad = [
        ClientInput(name="ООО «Марс»", timezone="Mars/Olympus"),
        ClientInput(name="ООО «Марс»", tax_id="77-01"),
        ClientInput(name="ООО «Марс»", status="vip"),
        ClientInput(name="ООО «Марс»", abc_class="D"),
        ClientInput(name="ООО «Марс»", source_channel="tv"),
        ClientInput(name="   "),
        ClientInput(name="ООО «Ма\x00рс»"),
        ClientInput(name="x" * 301),
    ]
    for data in bad:
        with pytest.raises(InvalidInput):
            await clients_service.create_client(db, w.ivanova, data)


async def test_update_changes_only_given_fields_and_replaces_own_phones(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    changed = await clients_service.update_client(
        db, w.ivanova, client_id, {"name": "ООО «Ромашка Плюс»", "segment": "Опт", "phones": [PhoneInput("+7 495 765-43-21")]}
    )
    assert changed.name_search == "ооо «ромашка плюс»" and changed.segment == "Опт" and changed.industry == "Торговля"
    # The client's own number is replaced; the contact's mobile stays.
    assert sorted(p.e164 for p in changed.phones) == ["+74957654321", "+79161234567"]
    with pytest.raises(InvalidInput):
        await clients_service.update_client(db, w.ivanova, client_id, {"responsible_id": w.petrov.user_id})
    with pytest.raises(InvalidInput):
        await clients_service.update_client(db, w.ivanova, client_id, {"name": None})
    with pytest.raises(ClientNotFound):
        await clients_service.update_client(db, w.petrov, client_id, {"segment": "Розница"})
    with pytest.raises(ClientNotFound):
        await clients_service.update_client(db, w.ivanova, 10**12, {"segment": "Розница"})


async def test_card_history_is_merged_newest_first_with_local_time(db) -> None:
    w = await build_world(db)
    client_id = await mtz(db, w.ivanova)
    t0 = datetime(2026, 11, 2, 7, 0, tzinfo=timezone.utc)
    await appeals_service.create_appeal(db, w.ivanova, AppealInput(purpose="Запрос цены на МТЗ-82", client_id=client_id,
                                                                    channel_code="website"), now=t0)
    await interactions_service.create_interaction(
        db, w.ivanova, client_id,
        InteractionInput(type_code="meeting", status_code="planned", subject="Встреча с главным инженером",
                         planned_at=t0 + timedelta(days=3)),
    )
    async with db.transaction() as s:
        s.add(Call(direction="outbound", client_number="+375296123456", client_id=client_id, agent_id=w.ivanova.user_id,
                   started_at=t0 + timedelta(days=1), outcome="busy"))
    await clients_service.reassign_clients(db, w.sales_sup, [client_id], w.petrov.user_id, "Иванова в отпуске")
    card = await clients_service.get_card(db, w.admin, client_id, now=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc))
    kinds = [e.kind for e in card.history]
    assert kinds == ["reassignment", "interaction", "call", "appeal"]
    assert card.history[0].details == {"from_user_id": w.ivanova.user_id, "to_user_id": w.petrov.user_id}
    assert card.history[0].title == "Иванова в отпуске"
    assert card.history[1].status == "planned" and card.history[1].details["type"] == "meeting"
    # Minsk: UTC+3 all year.
    assert card.timezone == "Europe/Minsk" and card.local_time.hour == 12
    short = await clients_service.get_card(db, w.admin, client_id, history_limit=2)
    assert [e.kind for e in short.history] == ["reassignment", "interaction"]


async def test_lists_are_scoped_filtered_sorted_and_counted(db) -> None:
    w = await build_world(db)
    mine = [await romashka(db, w.ivanova), await mtz(db, w.ivanova)]
    petrovs = await kovalenko_fop(db, w.petrov)
    kyivs = await clients_service.create_client(db, w.kovalenko, ClientInput(name="ТОВ «Дніпро-Агро»", region="Дніпро"))

    async def ids(actor, filters=ClientFilters(), **kw) -> list[int]:
        return [c.id for c in (await clients_service.list_clients(db, actor, filters, **kw)).items]

    assert sorted(await ids(w.ivanova)) == sorted(mine)
    assert sorted(await ids(w.sales_sup)) == sorted([*mine, petrovs])
    assert await ids(w.kyiv_sup) == [kyivs.id]
    assert len(await ids(w.admin)) == 4
    assert await ids(w.ivanova, ClientFilters(status="client")) == [mine[0]]
    await clients_service.update_client(db, w.ivanova, mine[1], {"source_channel": "exhibition"})
    assert await ids(w.admin, ClientFilters(source_channel="exhibition")) == [mine[1]]
    assert await ids(w.ivanova, ClientFilters(abc_class="B", kind=ClientKind.company)) == [mine[1]]
    assert await ids(w.sales_sup, ClientFilters(responsible_id=w.petrov.user_id)) == [petrovs]
    assert await ids(w.ivanova, ClientFilters(responsible_id=w.petrov.user_id)) == []
    assert await ids(w.admin, ClientFilters(region="Минск")) == [mine[1]]
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert await ids(w.admin, ClientFilters(created_from=future)) == []
    # Sorted by the folded name: «ИП Коваленко» < «ОАО «Минский...»» < «ООО «Ромашка»» < «ТОВ...».
    assert await ids(w.admin, sort="name") == [petrovs, mine[1], mine[0], kyivs.id]
    assert await ids(w.admin, sort="-name") == [kyivs.id, mine[0], mine[1], petrovs]
    page = await clients_service.list_clients(db, w.admin, limit=2, offset=1, sort="name")
    assert [c.id for c in page.items] == [mine[1], mine[0]] and page.total == 4
    with pytest.raises(InvalidInput):
        await clients_service.list_clients(db, w.admin, sort="responsible")


SEARCHES = ["ромашка", "РОМАШКА", "«Ромашка»", "7701234567", "7701", "кузнецова", "Кузнецова",
            "8 (916) 123-45-67", "+7 916 1234567", "9161234567", "4567", "45-67", "+7 (495) 123-45-67"]


async def test_search_finds_by_name_tax_id_surname_and_any_phone_form(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    await mtz(db, w.ivanova)
    for query in SEARCHES:
        assert [c.id for c in (await clients_service.search_clients(db, w.ivanova, query)).items] == [client_id], query
        # Another operator's client is never found, whatever is typed.
        assert (await clients_service.search_clients(db, w.petrov, query)).items == [], query
        assert (await clients_service.search_clients(db, w.kyiv_sup, query)).items == [], query
        assert [c.id for c in (await clients_service.search_clients(db, w.sales_sup, query)).items] == [client_id], query


async def test_search_foreign_numbers_and_like_wildcards(db) -> None:
    w = await build_world(db)
    fop = await kovalenko_fop(db, w.admin)
    plant = await mtz(db, w.admin)
    search = clients_service.search_clients
    assert [c.id for c in (await search(db, w.admin, "+380 67 123 45 67")).items] == [fop]
    assert [c.id for c in (await search(db, w.admin, "380671234567")).items] == [fop]
    assert [c.id for c in (await search(db, w.admin, "+375 29 612 34 56")).items] == [plant]
    assert [c.id for c in (await search(db, w.admin, "минский")).items] == [plant]
    assert [c.id for c in (await search(db, w.admin, "Олег")).items] == [fop]
    # LIKE wildcards typed into the box are literal characters.
    assert (await search(db, w.admin, "%")).items == [] and (await search(db, w.admin, "_")).items == []
    with pytest.raises(InvalidInput):
        await search(db, w.admin, "   ")


async def test_reassign_rules_history_and_planned_events(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    other = await mtz(db, w.ivanova)
    planned = await interactions_service.create_interaction(
        db, w.ivanova, client_id,
        InteractionInput(type_code="outgoing_call", subject="Перезвонить по счёту",
                         planned_at=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)),
    )
    done = await interactions_service.create_interaction(
        db, w.ivanova, client_id, InteractionInput(type_code="note", subject="Клиент доволен поставкой")
    )
    with pytest.raises(Forbidden):
        await clients_service.reassign_clients(db, w.ivanova, [client_id], w.petrov.user_id)
    with pytest.raises(Forbidden):
        await clients_service.reassign_clients(db, w.sales_sup, [client_id], w.kovalenko.user_id)
    with pytest.raises(ClientNotFound):
        await clients_service.reassign_clients(db, w.kyiv_sup, [client_id], w.kovalenko.user_id)
    result = await clients_service.reassign_clients(db, w.sales_sup, [client_id, other], w.petrov.user_id, "Больничный")
    assert result.reassigned == [client_id, other] and result.unchanged == []
    assert (await clients_service.get_card(db, w.petrov, client_id)).client.responsible_id == w.petrov.user_id
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(db, w.ivanova, client_id)
    # The planned call moves with the client; the written note stays Ivanova's.
    assert (await interactions_service.get_interaction(db, w.petrov, planned.id)).user_id == w.petrov.user_id
    assert (await interactions_service.get_interaction(db, w.petrov, done.id)).user_id == w.ivanova.user_id
    again = await clients_service.reassign_clients(db, w.admin, [client_id], w.petrov.user_id)
    assert again.reassigned == [] and again.unchanged == [client_id]
    to_kyiv = await clients_service.reassign_clients(db, w.admin, [client_id], w.kovalenko.user_id, "Передан в Киев")
    assert to_kyiv.reassigned == [client_id]
    async with db.reading() as s:
        rows = (await s.execute(select(ClientReassignment).where(ClientReassignment.client_id == client_id)
                                .order_by(ClientReassignment.id))).scalars().all()
    assert [(r.from_user_id, r.to_user_id, r.by_user_id, r.reason) for r in rows] == [
        (w.ivanova.user_id, w.petrov.user_id, w.sales_sup.user_id, "Больничный"),
        (w.petrov.user_id, w.kovalenko.user_id, w.admin.user_id, "Передан в Киев"),
    ]
    with pytest.raises(InvalidInput):
        await clients_service.reassign_clients(db, w.admin, [], w.petrov.user_id)


async def test_lookup_by_phone_for_the_screen_pop(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    pop = await clients_service.lookup_by_phone(db, "+79161234567")
    assert pop is not None and pop.client_id == client_id and pop.name == "ООО «Ромашка»"
    assert pop.contact_name == "Кузнецова Мария Ивановна" and pop.phone_kind == "mobile"
    assert pop.responsible_name == "Ирина Иванова"
    office = await clients_service.lookup_by_phone(db, "+74951234567")
    assert office is not None and office.contact_id is None
    assert await clients_service.lookup_by_phone(db, "+79990000000") is None
    assert await clients_service.lookup_by_phone(db, "8 916 123-45-67") is None
    assert await clients_service.lookup_by_phone(db, "anonymous") is None


async def test_the_screen_pop_lookup_uses_the_e164_index(sqlite_db) -> None:
    compiled = clients_service.lookup_statement("+79161234567").compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    async with sqlite_db.reading() as s:
        plan = " ".join(str(row[-1]) for row in await s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "SEARCH phones USING INDEX uq_phones_e164" in plan, plan
