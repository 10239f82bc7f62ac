"""Commercial proposals on both stores: items and exact sums, the seeded approval workflow,
rights, an administrator's own statuses and moves, and the client card's history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from crm_core.db import Database
from crm_core.errors import (
    ClientNotFound,
    Conflict,
    ContactNotFound,
    Forbidden,
    InvalidInput,
    ProposalNotFound,
    ProposalTransitionRefused,
)
from crm_core.models import Proposal, ProposalStatus, ProposalTransition
from crm_core.services import clients as clients_service
from crm_core.services import contacts as contacts_service
from crm_core.services import proposals as service
from crm_core.services.clients import ContactInput
from crm_core.services.proposals import ItemInput, ProposalInput, StatusInput, TransitionInput
from tests.crm_core.crm_world import World, build_world, kovalenko_fop, romashka

ITEMS = [
    ItemInput("Звонарь CRM, тариф «Бизнес»", quantity=12, price="1490.00", unit="мес.", product_code="crm"),
    ItemInput("Внедрение и обучение", quantity="1.5", price="12500.50", unit="день"),
    ItemInput("Запись звонков", quantity=3, price="0.33", unit="мес."),
]


@asynccontextmanager
async def workflow_restored(db: Database) -> AsyncIterator[None]:
    """Undo statuses and moves a test adds or removes: the fixtures keep reference tables."""
    async with db.reading() as s:
        last_status = await s.scalar(select(func.coalesce(func.max(ProposalStatus.id), 0)))
        moves = [(t.from_status_id, t.to_status_id, t.name, t.approval, t.comment_required)
                 for t in (await s.scalars(select(ProposalTransition)))]
    try:
        yield
    finally:
        async with db.transaction() as s:
            await s.execute(delete(Proposal))
            await s.execute(delete(ProposalTransition))
            await s.execute(delete(ProposalStatus).where(ProposalStatus.id > last_status))
            s.add_all([ProposalTransition(from_status_id=a, to_status_id=b, name=n, approval=ap, comment_required=cr)
                       for a, b, n, ap, cr in moves])


async def _setup(db: Database) -> tuple[World, int]:
    world = await build_world(db)
    return world, await romashka(db, world.ivanova)


async def test_a_draft_keeps_exact_sums_and_its_creation_in_the_history(db: Database) -> None:
    world, client_id = await _setup(db)
    [contact] = await contacts_service.list_contacts(db, world.ivanova, client_id)
    view = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(
        subject="КП на внедрение Звонарь CRM", items=ITEMS, comment="Скидка 5% при оплате за год",
        contact_id=contact.id))
    assert (view.status, view.status_name, view.editable, view.author_id) == ("draft", "Черновик", True,
                                                                              world.ivanova.user_id)
    assert view.client_name == "ООО «Ромашка»" and view.author_name == "Ирина Иванова"
    assert [(i.position, i.quantity, i.price, i.amount) for i in view.items] == [
        (1, Decimal("12"), Decimal("1490.00"), Decimal("17880.00")),
        (2, Decimal("1.5"), Decimal("12500.50"), Decimal("18750.75")),
        (3, Decimal("3"), Decimal("0.33"), Decimal("0.99")),
    ]
    assert view.total == Decimal("36631.74") and view.currency == "RUB"
    assert [(h.from_status, h.to_status, h.user_id) for h in view.history] == [(None, "draft", world.ivanova.user_id)]
    # An operator may only submit: approving is not among her moves.
    assert [(a.to_status, a.name) for a in view.actions] == [("on_approval", "Отправить на согласование")]
    again = await service.get_proposal(db, world.sales_sup, view.id)
    assert again.total == Decimal("36631.74") and again.items == view.items


async def test_the_whole_lifecycle_with_a_return_to_draft(db: Database) -> None:
    world, client_id = await _setup(db)
    draft = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП", items=ITEMS[:1]))
    pid = draft.id
    submitted = await service.move_proposal(db, world.ivanova, pid, "on_approval")
    assert submitted.status == "on_approval" and not submitted.editable and submitted.actions == []
    # Nobody edits it under approval; the operator cannot approve it herself.
    with pytest.raises(ProposalTransitionRefused):
        await service.update_proposal(db, world.ivanova, pid, {"subject": "Другое"})
    with pytest.raises(Forbidden):
        await service.move_proposal(db, world.ivanova, pid, "approved")
    sup_view = await service.get_proposal(db, world.sales_sup, pid)
    assert {a.to_status for a in sup_view.actions} == {"approved", "draft"}
    with pytest.raises(InvalidInput, match="comment is required"):
        await service.move_proposal(db, world.sales_sup, pid, "draft")
    back = await service.move_proposal(db, world.sales_sup, pid, "draft", "Цена внедрения завышена, пересчитайте")
    assert back.status == "draft" and back.approver_id == world.sales_sup.user_id
    fixed = await service.update_proposal(db, world.ivanova, pid, {"items": [ItemInput("Внедрение", 1, "9900")]})
    assert fixed.total == Decimal("9900.00") and [i.product for i in fixed.items] == ["Внедрение"]
    await service.move_proposal(db, world.ivanova, pid, "on_approval")
    approved = await service.move_proposal(db, world.admin, pid, "approved")
    assert approved.approver_id == world.admin.user_id and approved.approver_name == "Администратор"
    with pytest.raises(ProposalTransitionRefused, match="can become: sent"):
        await service.move_proposal(db, world.ivanova, pid, "accepted")
    await service.move_proposal(db, world.ivanova, pid, "sent")
    with pytest.raises(InvalidInput, match="comment is required"):
        await service.move_proposal(db, world.ivanova, pid, "rejected")
    done = await service.move_proposal(db, world.ivanova, pid, "rejected", "Выбрали Битрикс24")
    assert done.is_final and done.actions == []
    assert [(h.from_status, h.to_status, h.comment) for h in done.history] == [
        (None, "draft", None),
        ("draft", "on_approval", None),
        ("on_approval", "draft", "Цена внедрения завышена, пересчитайте"),
        ("draft", "on_approval", None),
        ("on_approval", "approved", None),
        ("approved", "sent", None),
        ("sent", "rejected", "Выбрали Битрикс24"),
    ]
    assert done.history[2].user_name == "Анна Смирнова"
    with pytest.raises(ProposalTransitionRefused, match="nothing"):
        await service.move_proposal(db, world.ivanova, pid, "draft", "Ещё раз")


async def test_a_draft_without_items_does_not_go_on_approval(db: Database) -> None:
    world, client_id = await _setup(db)
    draft = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="Пустое КП"))
    with pytest.raises(InvalidInput, match="items"):
        await service.move_proposal(db, world.ivanova, draft.id, "on_approval")
    assert (await service.get_proposal(db, world.ivanova, draft.id)).status == "draft"


@pytest.mark.parametrize(("item", "word"), [
    (ItemInput("Лицензия", quantity=0, price=100), "quantity"),
    (ItemInput("Лицензия", quantity="0.0001", price=100), "quantity"),
    (ItemInput("Лицензия", quantity=1, price="-5"), "price"),
    (ItemInput("Лицензия", quantity=1, price="10.005"), "price"),
    (ItemInput("Лицензия", quantity=1, price="NaN"), "price"),
    (ItemInput("Лицензия", quantity=1, price="десять"), "price"),
    (ItemInput("", quantity=1, price=1), "product"),
    (ItemInput("Лицензия\x00", quantity=1, price=1), "product"),
])
async def test_bad_items_are_refused_naming_the_field_and_nothing_is_stored(db: Database, item: ItemInput,
                                                                             word: str) -> None:
    world, client_id = await _setup(db)
    with pytest.raises(InvalidInput, match=rf"items\[1\]\.{word}"):
        await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП", items=[ITEMS[0], item]))
    async with db.reading() as s:
        assert await s.scalar(select(func.count(Proposal.id))) == 0


async def test_other_bad_input(db: Database) -> None:
    world, client_id = await _setup(db)
    other = await kovalenko_fop(db, world.kovalenko)
    foreign_contact = await contacts_service.add_contact(db, world.kovalenko, other, ContactInput(first_name="Олег"))
    with pytest.raises(InvalidInput, match="currency"):
        await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП", currency="XXX"))
    with pytest.raises(InvalidInput, match="subject"):
        await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="  "))
    with pytest.raises(ContactNotFound):
        await service.create_proposal(db, world.ivanova, client_id,
                                      ProposalInput(subject="КП", contact_id=foreign_contact.id))
    draft = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП", items=ITEMS))
    with pytest.raises(InvalidInput, match="cannot be changed"):
        await service.update_proposal(db, world.ivanova, draft.id, {"status": "approved"})
    with pytest.raises(InvalidInput, match="unknown proposal status"):
        await service.move_proposal(db, world.ivanova, draft.id, "signed")


async def test_rights_follow_the_client(db: Database) -> None:
    world, client_id = await _setup(db)
    draft = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП", items=ITEMS))
    for outsider in (world.petrov, world.kovalenko, world.kyiv_sup):
        with pytest.raises(ProposalNotFound):
            await service.get_proposal(db, outsider, draft.id)
        with pytest.raises(ProposalNotFound):
            await service.move_proposal(db, outsider, draft.id, "on_approval")
        with pytest.raises(ProposalNotFound):
            await service.update_proposal(db, outsider, draft.id, {"comment": "чужое"})
        assert (await service.list_proposals(db, outsider)).total == 0
    with pytest.raises(ClientNotFound):
        await service.create_proposal(db, world.petrov, client_id, ProposalInput(subject="КП"))
    with pytest.raises(ProposalNotFound):
        await service.get_proposal(db, world.ivanova, 2_147_483_648)
    # The Kyiv supervisor cannot approve a Moscow proposal: it is not even visible to them.
    await service.move_proposal(db, world.ivanova, draft.id, "on_approval")
    with pytest.raises(ProposalNotFound):
        await service.move_proposal(db, world.kyiv_sup, draft.id, "approved")
    waiting = await service.list_proposals(db, world.sales_sup, status="on_approval")
    assert [p.id for p in waiting.items] == [draft.id] and waiting.items[0].client_name == "ООО «Ромашка»"
    assert [p.id for p in (await service.list_proposals(db, world.admin, client_id=client_id)).items] == [draft.id]
    with pytest.raises(ClientNotFound):
        await service.list_proposals(db, world.petrov, client_id=client_id)


async def test_the_client_card_shows_proposals_in_its_history(db: Database) -> None:
    world, client_id = await _setup(db)
    draft = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП на 12 месяцев",
                                                                                       items=ITEMS[:1]))
    await service.move_proposal(db, world.ivanova, draft.id, "on_approval")
    card = await clients_service.get_card(db, world.ivanova, client_id)
    [line] = [h for h in card.history if h.kind == "proposal"]
    assert (line.id, line.title, line.status, line.user_id) == (draft.id, "КП на 12 месяцев", "on_approval",
                                                                world.ivanova.user_id)
    assert line.details["total"] == "17880.00" and line.details["status_name"] == "На согласовании"


async def test_an_administrator_configures_the_workflow(db: Database) -> None:
    world, client_id = await _setup(db)
    async with workflow_restored(db):
        with pytest.raises(Forbidden):
            await service.create_status(db, world.sales_sup, StatusInput("contract", "Договор подписан"))
        flow = await service.create_status(db, world.admin, StatusInput("contract", "Договор подписан", position=55,
                                                                          is_final=True))
        assert [s.code for s in flow.statuses] == ["draft", "on_approval", "approved", "sent", "accepted", "contract",
                                                   "rejected"]
        with pytest.raises(Conflict):
            await service.create_status(db, world.admin, StatusInput("contract", "Ещё раз"))
        flow = await service.create_transition(db, world.admin, TransitionInput("accepted", "contract",
                                                                                "Подписали договор"))
        with pytest.raises(Conflict):
            await service.create_transition(db, world.admin, TransitionInput("accepted", "contract", "Дубль"))
        with pytest.raises(InvalidInput, match="unknown proposal to status"):
            await service.create_transition(db, world.admin, TransitionInput("accepted", "paid", "Оплатили"))
        # Direct sending without approval, for small deals: remove the approval step for drafts.
        [submit] = [t for t in flow.transitions if (t.from_status, t.to_status) == ("draft", "on_approval")]
        await service.delete_transition(db, world.admin, submit.id)
        await service.create_transition(db, world.admin, TransitionInput("draft", "sent", "Отправить сразу"))
        draft = await service.create_proposal(db, world.ivanova, client_id, ProposalInput(subject="КП", items=ITEMS))
        assert [a.to_status for a in draft.actions] == ["sent"]
        with pytest.raises(ProposalTransitionRefused):
            await service.move_proposal(db, world.ivanova, draft.id, "on_approval")
        for to in ("sent", "accepted", "contract"):
            view = await service.move_proposal(db, world.ivanova, draft.id, to)
        assert view.status == "contract" and view.status_name == "Договор подписан" and view.is_final
    flow = await service.workflow(db)
    assert len(flow.statuses) == 6 and len(flow.transitions) == 6
