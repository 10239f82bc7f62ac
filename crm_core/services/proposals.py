"""Commercial proposals (коммерческие предложения): drafting, items, the approval workflow, history.

The workflow is data (``proposal_statuses``, ``proposal_transitions``): a move is allowed
when a transition row says so; an "approval" transition is a supervisor's or an admin's
decision; some need a comment (sending back to draft, a client's refusal). Items and
text change only in an editable status (the draft). Every move is a history row.

Who sees a proposal: whoever sees its client (``crm_core.rights.client_scope``); anyone
else is told it does not exist.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from crm_core.db import Database
from crm_core.errors import (
    Conflict,
    ContactNotFound,
    Forbidden,
    InvalidInput,
    NotFound,
    ProposalNotFound,
    ProposalTransitionRefused,
)
from crm_core.models import (
    Client,
    Contact,
    Proposal,
    ProposalHistory,
    ProposalItem,
    ProposalStatus,
    ProposalTransition,
    Role,
    User,
    utcnow,
)
from crm_core.rights import Actor, client_scope, require_role
from crm_core.services.clients import PageResult, clean_text, fits_id, load_visible_client

log = logging.getLogger(__name__)

CURRENCIES = ("RUB", "UAH", "BYN", "KZT", "USD", "EUR")
MAX_ITEMS = 200
MAX_QUANTITY = Decimal("1000000000")
MAX_PRICE = Decimal("100000000000")
_CENT = Decimal("0.01")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class ItemInput:
    product: str
    quantity: Decimal | int | str = 1
    price: Decimal | int | str = 0
    unit: str | None = None
    product_code: str | None = None


@dataclass(frozen=True)
class ProposalInput:
    subject: str
    items: Sequence[ItemInput] = ()
    comment: str | None = None
    currency: str = "RUB"
    contact_id: int | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class StatusInput:
    code: str
    name: str
    color: str = "#808080"
    position: int = 100
    is_final: bool = False
    editable: bool = False


@dataclass(frozen=True)
class TransitionInput:
    from_status: str
    to_status: str
    name: str
    approval: bool = False
    comment_required: bool = False


@dataclass(frozen=True)
class TransitionView:
    id: int
    from_status: str
    to_status: str
    name: str
    approval: bool
    comment_required: bool


@dataclass(frozen=True)
class Workflow:
    statuses: list[ProposalStatus]
    transitions: list[TransitionView]


@dataclass(frozen=True)
class ItemView:
    position: int
    product: str
    product_code: str | None
    unit: str | None
    quantity: Decimal
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class HistoryView:
    from_status: str | None
    to_status: str
    to_status_name: str
    user_id: int | None
    user_name: str | None
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class ProposalView:
    """A proposal as its reader sees it, with the moves this reader may make now (``actions``)."""

    id: int
    client_id: int
    client_name: str
    contact_id: int | None
    author_id: int | None
    author_name: str | None
    approver_id: int | None
    approver_name: str | None
    status: str
    status_name: str
    is_final: bool
    editable: bool
    subject: str
    comment: str | None
    currency: str
    total: Decimal
    valid_until: date | None
    script_protocol_id: int | None
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime
    items: list[ItemView] = field(default_factory=list)
    history: list[HistoryView] = field(default_factory=list)
    actions: list[TransitionView] = field(default_factory=list)


@dataclass(frozen=True)
class ProposalSummary:
    id: int
    client_id: int
    client_name: str
    author_id: int | None
    status: str
    status_name: str
    subject: str
    currency: str
    total: Decimal
    created_at: datetime
    status_changed_at: datetime


# --- checks ----------------------------------------------------------------------------------


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise InvalidInput(f"{name} must be a number")
    try:
        number = Decimal(str(value).strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation as exc:
        raise InvalidInput(f"{name} must be a number, not {str(value)[:30]!r}") from exc
    if not number.is_finite():
        raise InvalidInput(f"{name} must be a finite number")
    return number


def _places(number: Decimal) -> int:
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def clean_item(item: ItemInput, index: int) -> dict[str, Any]:
    """One line's columns, checked: quantity > 0 with at most 3 places, price >= 0 in kopecks."""
    where = f"items[{index}]"
    product = clean_text(item.product, f"{where}.product", 300, required=True)
    quantity = _decimal(item.quantity, f"{where}.quantity")
    if quantity <= 0 or quantity > MAX_QUANTITY or _places(quantity) > 3:
        raise InvalidInput(f"{where}.quantity must be above 0, at most {MAX_QUANTITY}, with at most 3 decimal places")
    price = _decimal(item.price, f"{where}.price")
    if price < 0 or price > MAX_PRICE or _places(price) > 2:
        raise InvalidInput(f"{where}.price must be 0 or more, at most {MAX_PRICE}, with at most 2 decimal places")
    amount = (quantity * price).quantize(_CENT, rounding=ROUND_HALF_UP)
    return {
        "product": product, "product_code": clean_text(item.product_code, f"{where}.product_code", 64),
        "unit": clean_text(item.unit, f"{where}.unit", 20), "quantity": quantity, "price": price, "amount": amount,
    }


def _clean_items(items: Sequence[ItemInput]) -> list[dict[str, Any]]:
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"a proposal has at most {MAX_ITEMS} items")
    return [clean_item(item, i) for i, item in enumerate(items)]


def _clean_currency(value: str) -> str:
    if value not in CURRENCIES:
        raise InvalidInput(f"currency must be one of {', '.join(CURRENCIES)}")
    return value


def _clean_code(value: str, name: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidInput(f"{name} must be lower-case latin letters, digits and '_' (e.g. on_approval)")
    return value


async def _check_contact(s: AsyncSession, client_id: int, contact_id: int | None) -> None:
    if contact_id is None:
        return
    owner = await s.scalar(select(Contact.client_id).where(Contact.id == contact_id)) if fits_id(contact_id) else None
    if owner != client_id:
        raise ContactNotFound(f"contact {contact_id} is not a contact of this client")


def _may_approve(actor: Actor) -> bool:
    return actor.role in (Role.supervisor, Role.admin)


# --- the workflow ----------------------------------------------------------------------------


async def _transition_views(s: AsyncSession, from_status_id: int | None = None) -> list[TransitionView]:
    src, dst = aliased(ProposalStatus), aliased(ProposalStatus)
    stmt = (select(ProposalTransition, src.code, dst.code)
            .join(src, src.id == ProposalTransition.from_status_id)
            .join(dst, dst.id == ProposalTransition.to_status_id)
            .order_by(src.position, dst.position, ProposalTransition.id))
    if from_status_id is not None:
        stmt = stmt.where(ProposalTransition.from_status_id == from_status_id)
    return [TransitionView(t.id, a, b, t.name, t.approval, t.comment_required)
            for t, a, b in (await s.execute(stmt)).all()]


async def workflow(db: Database) -> Workflow:
    """Every status (in funnel order) and every allowed move."""
    async with db.reading() as s:
        statuses = list((await s.scalars(select(ProposalStatus).order_by(ProposalStatus.position, ProposalStatus.id))))
        return Workflow(statuses, await _transition_views(s))


async def _status(s: AsyncSession, code: str, name: str = "status") -> ProposalStatus:
    found = (await s.execute(select(ProposalStatus).where(ProposalStatus.code == _clean_code(code, name)))).scalar_one_or_none()
    if found is None:
        known = ", ".join((await s.scalars(select(ProposalStatus.code).order_by(ProposalStatus.position))).all())
        raise InvalidInput(f"unknown proposal {name} {code!r}; known: {known}")
    return found


async def create_status(db: Database, actor: Actor, data: StatusInput) -> Workflow:
    """Add a proposal status (admin only)."""
    require_role(actor, Role.admin)
    code = _clean_code(data.code, "code")
    name = clean_text(data.name, "name", 120, required=True)
    if not isinstance(data.color, str) or not _COLOR.fullmatch(data.color):
        raise InvalidInput("color must be #RRGGBB")
    try:
        async with db.transaction() as s:
            s.add(ProposalStatus(code=code, name=name, color=data.color, position=int(data.position), is_initial=False,
                                 is_final=bool(data.is_final), editable=bool(data.editable)))
    except IntegrityError as exc:
        raise Conflict(f"proposal status {code!r} already exists") from exc
    log.info("proposal_status.created code=%s by=%s", code, actor.login)
    return await workflow(db)


async def create_transition(db: Database, actor: Actor, data: TransitionInput) -> Workflow:
    """Allow a move between two statuses (admin only)."""
    require_role(actor, Role.admin)
    name = clean_text(data.name, "name", 120, required=True)
    try:
        async with db.transaction() as s:
            src = await _status(s, data.from_status, "from status")
            dst = await _status(s, data.to_status, "to status")
            if src.id == dst.id:
                raise InvalidInput("a transition must lead to another status")
            s.add(ProposalTransition(from_status_id=src.id, to_status_id=dst.id, name=name, approval=bool(data.approval),
                                     comment_required=bool(data.comment_required)))
    except IntegrityError as exc:
        raise Conflict(f"the move {data.from_status} → {data.to_status} already exists") from exc
    log.info("proposal_transition.created %s->%s by=%s", data.from_status, data.to_status, actor.login)
    return await workflow(db)


async def delete_transition(db: Database, actor: Actor, transition_id: int) -> Workflow:
    """Forbid a move again (admin only); proposals already moved keep their history."""
    require_role(actor, Role.admin)
    async with db.transaction() as s:
        gone = await s.execute(delete(ProposalTransition).where(ProposalTransition.id == transition_id)) \
            if fits_id(transition_id) else None
        if gone is None or gone.rowcount == 0:
            raise NotFound(f"no proposal transition {transition_id}")
    log.info("proposal_transition.deleted id=%s by=%s", transition_id, actor.login)
    return await workflow(db)


# --- proposals -------------------------------------------------------------------------------


def _set_items(proposal: Proposal, rows: list[dict[str, Any]]) -> None:
    proposal.items = [ProposalItem(position=i + 1, **row) for i, row in enumerate(rows)]
    proposal.total = sum((row["amount"] for row in rows), Decimal(0)).quantize(_CENT)


async def insert_proposal(
    s: AsyncSession, *, client_id: int, author_id: int | None, data: ProposalInput, script_protocol_id: int | None = None,
) -> Proposal:
    """A new proposal in the initial status, inside the caller's transaction (rights are the caller's)."""
    subject = clean_text(data.subject, "subject", 300, required=True)
    comment = clean_text(data.comment, "comment", 20_000)
    currency = _clean_currency(data.currency)
    rows = _clean_items(data.items)
    await _check_contact(s, client_id, data.contact_id)
    initial = (await s.execute(select(ProposalStatus).where(ProposalStatus.is_initial.is_(True))
                               .order_by(ProposalStatus.position).limit(1))).scalar_one_or_none()
    if initial is None:
        raise Conflict("no initial proposal status is configured")
    now = utcnow()
    proposal = Proposal(client_id=client_id, contact_id=data.contact_id, author_id=author_id, status_id=initial.id,
                        subject=subject, comment=comment, currency=currency, valid_until=data.valid_until,
                        script_protocol_id=script_protocol_id, created_at=now, updated_at=now, status_changed_at=now)
    _set_items(proposal, rows)
    s.add(proposal)
    await s.flush()
    s.add(ProposalHistory(proposal_id=proposal.id, from_status_id=None, to_status_id=initial.id, user_id=author_id,
                          comment=None, at=now))
    await s.flush()
    return proposal


async def create_proposal(db: Database, actor: Actor, client_id: int, data: ProposalInput) -> ProposalView:
    """Draft a proposal for a visible client; the actor is its author."""
    async with db.transaction() as s:
        client = await load_visible_client(s, actor, client_id)
        proposal = await insert_proposal(s, client_id=client.id, author_id=actor.user_id, data=data)
        view = await _view(s, actor, proposal.id)
    log.info("proposal.created id=%s client=%s items=%s by=%s", view.id, client_id, len(view.items), actor.login)
    return view


async def _visible(s: AsyncSession, actor: Actor, proposal_id: int, *, lock: bool = False) -> Proposal:
    if not fits_id(proposal_id):
        raise ProposalNotFound()
    stmt = (select(Proposal).join(Client, Client.id == Proposal.client_id)
            .where(Proposal.id == proposal_id, client_scope(actor)).options(selectinload(Proposal.items)))
    if lock:
        # Two moves at once must not both start from the same status.
        stmt = stmt.with_for_update(of=Proposal)
    found = (await s.execute(stmt.execution_options(populate_existing=True))).unique().scalar_one_or_none()
    if found is None:
        raise ProposalNotFound()
    return found


async def _view(s: AsyncSession, actor: Actor, proposal_id: int) -> ProposalView:
    p = await _visible(s, actor, proposal_id)
    client_name = await s.scalar(select(Client.name).where(Client.id == p.client_id))
    user_ids = {i for i in (p.author_id, p.approver_id) if i is not None}
    src, dst = aliased(ProposalStatus), aliased(ProposalStatus)
    moves = (await s.execute(
        select(ProposalHistory, src.code, dst.code, dst.name)
        .outerjoin(src, src.id == ProposalHistory.from_status_id)
        .join(dst, dst.id == ProposalHistory.to_status_id)
        .where(ProposalHistory.proposal_id == p.id)
        .order_by(ProposalHistory.at, ProposalHistory.id))).all()
    user_ids |= {h.user_id for h, *_ in moves if h.user_id is not None}
    names = dict((await s.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))).all()) if user_ids else {}
    actions = [t for t in await _transition_views(s, p.status_id) if not t.approval or _may_approve(actor)]
    return ProposalView(
        id=p.id, client_id=p.client_id, client_name=client_name or "", contact_id=p.contact_id,
        author_id=p.author_id, author_name=names.get(p.author_id), approver_id=p.approver_id,
        approver_name=names.get(p.approver_id), status=p.status.code, status_name=p.status.name,
        is_final=p.status.is_final, editable=p.status.editable, subject=p.subject, comment=p.comment,
        currency=p.currency, total=p.total, valid_until=p.valid_until, script_protocol_id=p.script_protocol_id,
        created_at=p.created_at, updated_at=p.updated_at, status_changed_at=p.status_changed_at,
        items=[ItemView(i.position, i.product, i.product_code, i.unit, i.quantity, i.price, i.amount) for i in p.items],
        history=[HistoryView(a, b, name, h.user_id, names.get(h.user_id), h.comment, h.at) for h, a, b, name in moves],
        actions=actions,
    )


async def get_proposal(db: Database, actor: Actor, proposal_id: int) -> ProposalView:
    """One proposal with its items, history and the moves the actor may make."""
    async with db.reading() as s:
        return await _view(s, actor, proposal_id)


_UPDATABLE = {"subject", "comment", "currency", "contact_id", "valid_until", "items"}


async def update_proposal(db: Database, actor: Actor, proposal_id: int, changes: Mapping[str, Any]) -> ProposalView:
    """Change a proposal's text, contact, currency, validity or items (all replaced), in an editable status only."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    async with db.transaction() as s:
        p = await _visible(s, actor, proposal_id, lock=True)
        if not p.status.editable:
            raise ProposalTransitionRefused(
                f"a proposal in the status {p.status.name!r} does not change; send it back to draft first")
        if "subject" in changes:
            p.subject = clean_text(changes["subject"], "subject", 300, required=True)
        if "comment" in changes:
            p.comment = clean_text(changes["comment"], "comment", 20_000)
        if "currency" in changes:
            p.currency = _clean_currency(changes["currency"])
        if "contact_id" in changes:
            await _check_contact(s, p.client_id, changes["contact_id"])
            p.contact_id = changes["contact_id"]
        if "valid_until" in changes:
            p.valid_until = changes["valid_until"]
        if "items" in changes:
            rows = _clean_items(changes["items"] or ())
            p.items.clear()
            await s.flush()
            _set_items(p, rows)
        p.updated_at = utcnow()
        await s.flush()
        view = await _view(s, actor, p.id)
    log.info("proposal.updated id=%s by=%s fields=%s", proposal_id, actor.login, ",".join(sorted(changes)))
    return view


async def move_proposal(db: Database, actor: Actor, proposal_id: int, to_status: str,
                        comment: str | None = None) -> ProposalView:
    """Move a proposal along an allowed transition; approvals need a supervisor or an admin."""
    text = clean_text(comment, "comment", 5000)
    async with db.transaction() as s:
        p = await _visible(s, actor, proposal_id, lock=True)
        target = await _status(s, to_status, "status")
        move = (await s.execute(select(ProposalTransition).where(ProposalTransition.from_status_id == p.status_id,
                                                                ProposalTransition.to_status_id == target.id))
                ).scalar_one_or_none()
        if move is None:
            can = [t.to_status for t in await _transition_views(s, p.status_id)]
            raise ProposalTransitionRefused(
                f"a proposal in the status {p.status.code!r} cannot become {target.code!r}; "
                f"it can become: {', '.join(can) or 'nothing (final)'}")
        if move.approval and not _may_approve(actor):
            raise Forbidden(f"«{move.name}» is a supervisor's or an admin's decision")
        if move.comment_required and text is None:
            raise InvalidInput(f"comment is required to «{move.name}»")
        if p.status.editable and not target.editable and not p.items:
            raise InvalidInput("items: add at least one item before the proposal leaves the draft")
        now = utcnow()
        s.add(ProposalHistory(proposal_id=p.id, from_status_id=p.status_id, to_status_id=target.id,
                              user_id=actor.user_id, comment=text, at=now))
        if move.approval:
            p.approver_id = actor.user_id
        p.status_id = target.id
        p.status_changed_at = now
        p.updated_at = now
        await s.flush()
        view = await _view(s, actor, p.id)
    log.info("proposal.moved id=%s to=%s by=%s", proposal_id, view.status, actor.login)
    return view


async def list_proposals(
    db: Database, actor: Actor, *, status: str | None = None, client_id: int | None = None,
    author_id: int | None = None, limit: int = 50, offset: int = 0,
) -> PageResult[ProposalSummary]:
    """Visible proposals, newest move first; narrowed by status, client or author."""
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    where = [client_scope(actor)]
    async with db.reading() as s:
        if client_id is not None:
            client = await load_visible_client(s, actor, client_id)
            where.append(Proposal.client_id == client.id)
        if status is not None:
            where.append(Proposal.status_id == (await _status(s, status)).id)
        if author_id is not None:
            where.append(Proposal.author_id == author_id)
        base = (select(Proposal, Client.name).join(Client, Client.id == Proposal.client_id).where(*where))
        total = await s.scalar(select(func.count()).select_from(base.with_only_columns(Proposal.id).subquery()))
        rows = (await s.execute(base.order_by(Proposal.status_changed_at.desc(), Proposal.id.desc())
                                .limit(limit).offset(offset))).unique().all()
    items = [ProposalSummary(p.id, p.client_id, name, p.author_id, p.status.code, p.status.name, p.subject, p.currency,
                             p.total, p.created_at, p.status_changed_at) for p, name in rows]
    return PageResult(items, int(total or 0), limit, offset)
