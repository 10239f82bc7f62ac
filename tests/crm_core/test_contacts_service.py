"""Contact persons: e-mails and phones checked, rights through the client, phones leave with the person."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.errors import ClientNotFound, ContactNotFound, DuplicatePhone, InvalidInput
from crm_core.models import Phone, PhoneKind
from crm_core.services import clients as clients_service
from crm_core.services import contacts as contacts_service
from crm_core.services.clients import ContactInput, PhoneInput
from tests.crm_core.crm_world import build_world, mtz, romashka


async def test_add_update_delete_a_contact_person(db) -> None:
    w = await build_world(db)
    plant = await mtz(db, w.ivanova)
    engineer = await contacts_service.add_contact(
        db, w.ivanova, plant,
        ContactInput(first_name="Александр", last_name="Лукашевич", middle_name="Николаевич", position="Главный инженер",
                     emails=["A.Lukashevich@MTZ.BY", "snab@mtz.by", " snab@MTZ.by "],
                     phones=[PhoneInput("+375 17 330-06-00", PhoneKind.work), PhoneInput("8 029 612 00 11")]),
        default_region="BY",
    )
    # The domain is folded; the same address twice is kept once.
    assert engineer.emails == ["A.Lukashevich@mtz.by", "snab@mtz.by"]
    assert [(p.e164, p.kind) for p in engineer.phones] == [("+375173300600", PhoneKind.work), ("+375296120011", PhoneKind.mobile)]
    assert [c.id for c in await contacts_service.list_contacts(db, w.ivanova, plant)] == [engineer.id]

    changed = await contacts_service.update_contact(
        db, w.ivanova, engineer.id, {"position": "Технический директор", "phones": [PhoneInput("+375296120011", PhoneKind.mobile)]}
    )
    assert changed.position == "Технический директор" and changed.last_name == "Лукашевич"
    assert [p.e164 for p in changed.phones] == ["+375296120011"]
    assert (await contacts_service.get_contact(db, w.sales_sup, engineer.id)).position == "Технический директор"

    await contacts_service.delete_contact(db, w.ivanova, engineer.id)
    with pytest.raises(ContactNotFound):
        await contacts_service.get_contact(db, w.ivanova, engineer.id)
    async with db.reading() as s:
        left = (await s.execute(select(Phone.e164).where(Phone.client_id == plant))).scalars().all()
    assert left == ["+375296123456"]


async def test_contact_rights_follow_the_client(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    [director] = await contacts_service.list_contacts(db, w.ivanova, client_id)
    for outsider in (w.petrov, w.kovalenko, w.kyiv_sup):
        with pytest.raises(ContactNotFound):
            await contacts_service.get_contact(db, outsider, director.id)
        with pytest.raises(ContactNotFound):
            await contacts_service.update_contact(db, outsider, director.id, {"position": "Бухгалтер"})
        with pytest.raises(ContactNotFound):
            await contacts_service.delete_contact(db, outsider, director.id)
        with pytest.raises(ClientNotFound):
            await contacts_service.add_contact(db, outsider, client_id, ContactInput(first_name="Пётр"))
        with pytest.raises(ClientNotFound):
            await contacts_service.list_contacts(db, outsider, client_id)
    assert (await contacts_service.get_contact(db, w.admin, director.id)).last_name == "Кузнецова"


async def test_contact_checks(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    bad = [
        ContactInput(first_name=""),
        ContactInput(first_name="Ольга", emails=["olga@"]),
        ContactInput(first_name="Ольга", emails=["olga at romashka.ru"]),
        ContactInput(first_name="Ольга", emails=[f"o{i}@romashka.ru" for i in range(11)]),
        ContactInput(first_name="Ольга", last_name="К" * 101),
    ]
    for data in bad:
        with pytest.raises(InvalidInput):
            await contacts_service.add_contact(db, w.ivanova, client_id, data)
    with pytest.raises(DuplicatePhone):
        await contacts_service.add_contact(db, w.ivanova, client_id, ContactInput(first_name="Ольга", phones=[PhoneInput("84951234567")]))
    with pytest.raises(InvalidInput):
        await contacts_service.update_contact(db, w.ivanova, 1, {"client_id": 2})
    # A failed write leaves nothing behind.
    assert len(await contacts_service.list_contacts(db, w.ivanova, client_id)) == 1
    assert len((await clients_service.get_card(db, w.ivanova, client_id)).client.phones) == 2
