"""A colleague's client the PBX or the dialer hands to a user is theirs to see for a while, and only that one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.errors import ClientNotFound, InvalidInput
from crm_core.models import Client, ClientAccess, utcnow
from crm_core.rights import client_scope, one_client_scope
from crm_core.services import clients as clients_service
from crm_core.services.client_access import grant_client_access, hand_client_to, hand_number_to
from crm_core.services.interactions import InteractionInput, create_interaction, update_interaction
from tests.crm_core.crm_world import build_world, kovalenko_fop, mtz, romashka

FORTNIGHT = 14 * 24 * 3600.0


async def _visible(db, actor) -> set[int]:
    return {c.id for c in (await clients_service.list_clients(db, actor, limit=500)).items}


async def test_an_operator_handed_a_colleagues_client_sees_and_works_on_it_and_on_nothing_else(db) -> None:
    w = await build_world(db)
    handed = await romashka(db, w.petrov)
    kept = await mtz(db, w.petrov)
    assert await _visible(db, w.ivanova) == set()
    given = await hand_client_to(db, w.ivanova.user_id, handed, seconds=FORTNIGHT, reason="call",
                                 now=utcnow())
    assert given
    assert await _visible(db, w.ivanova) == {handed}
    assert [c.id for c in (await clients_service.search_clients(db, w.ivanova, "+7 (916) 123-45-67")).items] == [handed]
    card = await clients_service.get_card(db, w.ivanova, handed)
    assert card.client.responsible_id == w.petrov.user_id, "still Petrov's client"
    note = await create_interaction(db, w.ivanova, handed, InteractionInput(
        type_code="note", status_code=None, subject="Просит КП на поставку до пятницы", body=None, planned_at=None,
        done_at=None, contact_id=None, user_id=None))
    assert note.client_id == handed
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(db, w.ivanova, kept)
    assert await _visible(db, w.petrov) == {handed, kept}, "the responsible keeps both"


async def test_the_access_lapses(db) -> None:
    w = await build_world(db)
    handed = await romashka(db, w.petrov)
    now = utcnow()
    await grant_client_access(db, w.ivanova.user_id, handed, until=now - timedelta(seconds=1), reason="call",
                              now=now - timedelta(days=14))
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(db, w.ivanova, handed)
    assert await _visible(db, w.ivanova) == set()


async def test_a_later_call_extends_the_access_and_an_earlier_end_never_shortens_it(db) -> None:
    w = await build_world(db)
    handed = await kovalenko_fop(db, w.kovalenko)
    now = utcnow()
    await grant_client_access(db, w.petrov.user_id, handed, until=now + timedelta(days=14), reason="call", now=now)
    await grant_client_access(db, w.petrov.user_id, handed, until=now + timedelta(hours=1), reason="preview", now=now)
    async with db.reading() as s:
        [row] = (await s.execute(select(ClientAccess))).scalars()
    assert (row.until, row.reason) == (now + timedelta(days=14), "call")
    await grant_client_access(db, w.petrov.user_id, handed, until=now + timedelta(days=20), reason="preview",
                              now=now + timedelta(days=6))
    async with db.reading() as s:
        [row] = (await s.execute(select(ClientAccess))).scalars()
    assert (row.until, row.reason, row.granted_at) == (now + timedelta(days=20), "preview", now + timedelta(days=6))


async def test_nothing_is_written_for_ones_own_client_or_with_access_off(db) -> None:
    w = await build_world(db)
    own = await romashka(db, w.ivanova)
    other = await mtz(db, w.petrov)
    now = utcnow()
    await hand_client_to(db, w.ivanova.user_id, own, seconds=FORTNIGHT, reason="call", now=now)
    await hand_number_to(db, w.ivanova.user_id, "8 916 123-45-67", "RU", seconds=FORTNIGHT, reason="call", now=now)
    assert not await hand_client_to(db, w.ivanova.user_id, other, seconds=0, reason="call", now=now)
    async with db.reading() as s:
        assert (await s.execute(select(ClientAccess))).first() is None
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(db, w.ivanova, other)


async def test_a_ring_hands_the_client_of_the_number_as_written_on_the_call(db) -> None:
    w = await build_world(db)
    handed = await kovalenko_fop(db, w.kovalenko)
    now = utcnow()
    for number in ("", "анонимный", "+74950000000"):  # none, unreadable, nobody's
        await hand_number_to(db, w.ivanova.user_id, number, "RU", seconds=FORTNIGHT, reason="call", now=now)
    assert await _visible(db, w.ivanova) == set()
    assert await hand_number_to(db, w.ivanova.user_id, "0671234567", "UA", seconds=FORTNIGHT, reason="call", now=now)
    assert await _visible(db, w.ivanova) == {handed}
    async with db.reading() as s:
        [row] = (await s.execute(select(ClientAccess))).scalars()
    assert (row.user_id, row.client_id, row.until, row.reason) == (
        w.ivanova.user_id, handed, now + timedelta(days=14), "call")


async def test_a_supervisor_handed_another_teams_client_sees_it_too(db) -> None:
    w = await build_world(db)
    kyiv_client = await kovalenko_fop(db, w.kovalenko)
    assert kyiv_client not in await _visible(db, w.sales_sup)
    await hand_client_to(db, w.sales_sup.user_id, kyiv_client, seconds=FORTNIGHT, reason="call",
                         now=utcnow())
    assert kyiv_client in await _visible(db, w.sales_sup)


async def test_bad_grants_are_refused(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.petrov)
    now = utcnow()
    with pytest.raises(InvalidInput, match="reason"):
        await grant_client_access(db, w.ivanova.user_id, client_id, until=now, reason="curiosity", now=now)
    with pytest.raises(InvalidInput, match="client_id"):
        await grant_client_access(db, w.ivanova.user_id, 2**40, until=now, reason="call", now=now)


async def test_the_list_rule_and_the_one_client_rule_are_the_same_rule(db) -> None:
    """client_scope (lists) and one_client_scope (a card, a click) are shaped differently for speed only."""
    w = await build_world(db)
    now = utcnow()
    own = await romashka(db, w.ivanova)
    handed = await mtz(db, w.petrov)
    lapsed = await kovalenko_fop(db, w.kovalenko)
    planned = await clients_service.create_client(db, w.kovalenko, clients_service.ClientInput(
        name="ТОВ «Карпати»", region="Львівська область", phones=[clients_service.PhoneInput("+380 32 123 45 67")]))
    done = await clients_service.create_client(db, w.petrov, clients_service.ClientInput(
        name="ЧУП «Белсад»", region="Минск", phones=[clients_service.PhoneInput("+375 17 123-45-67")]))
    await hand_client_to(db, w.ivanova.user_id, handed, seconds=FORTNIGHT, reason="call", now=now)
    await grant_client_access(db, w.ivanova.user_id, lapsed, until=now - timedelta(minutes=1), reason="preview",
                              now=now - timedelta(days=14))
    await create_interaction(db, w.admin, planned.id, InteractionInput(
        type_code="outgoing_call", subject="Передзвонити", planned_at=now + timedelta(days=2), user_id=w.ivanova.user_id))
    closed = await create_interaction(db, w.sales_sup, done.id, InteractionInput(
        type_code="outgoing_call", subject="Перезвонить", planned_at=now - timedelta(days=1), user_id=w.ivanova.user_id))
    await update_interaction(db, w.sales_sup, closed.id, {"status_code": "done"})
    seen = {}
    for name in ("ivanova", "petrov", "kovalenko", "sales_sup", "kyiv_sup", "admin"):
        actor = getattr(w, name)
        async with db.reading() as s:
            listed = set((await s.scalars(select(Client.id).where(client_scope(actor)))).all())
            one_by_one = {cid for cid in (own, handed, lapsed, planned.id, done.id)
                          if await s.scalar(select(Client.id).where(Client.id == cid, one_client_scope(actor)))}
        assert listed == one_by_one, name
        seen[name] = listed
    assert seen["ivanova"] == {own, handed, planned.id}
    assert seen["kyiv_sup"] == {lapsed, planned.id} and seen["admin"] == {own, handed, lapsed, planned.id, done.id}
