"""What the store already holds for an import: users, channels, and the owners of a batch's keys."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.import_drafts import Draft
from crm_core.import_plan import (
    FILLABLE,
    ClientUnit,
    ContactState,
    PlanContext,
    StoreView,
    UserInfo,
    may_see,
)
from crm_core.models import Client, Contact, MarketingChannel, Phone, User

clients = Client.__table__
contacts = Contact.__table__
phones = Phone.__table__

# SQLite allows 32766 bound values in a statement, asyncpg 32767; IN lists stay well below.
_IN_CHUNK = 5000


async def load_users(conn: AsyncConnection) -> list[UserInfo]:
    rows = await conn.execute(
        select(User.id, User.login, User.full_name, User.role, User.team_id, User.is_active).order_by(User.id)
    )
    return [UserInfo(*row) for row in rows]


async def load_channels(conn: AsyncConnection) -> list[tuple[str, str]]:
    rows = await conn.execute(select(MarketingChannel.code, MarketingChannel.name).order_by(MarketingChannel.id))
    return [(code, name) for code, name in rows]


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _member_of(column: Any, values: Sequence[str], postgres: bool) -> Any:
    if postgres:
        # One array parameter instead of thousands of scalars: one plan, one round trip.
        return column == any_(bindparam(None, list(values), type_=ARRAY(String())))
    return column.in_(values)


async def lookup(
    conn: AsyncConnection, drafts: Sequence[Draft], ctx: PlanContext, *, postgres: bool
) -> StoreView:
    """Who owns the batch's phones and tax ids; in merge mode also the visible owners' contents.

    The owners to merge into are read FOR UPDATE on PostgreSQL so a concurrent edit cannot
    be overwritten (SQLite's import transaction holds the write lock from its start).
    """
    view = StoreView()
    numbers = sorted({p.e164 for d in drafts for p in d.phones})
    tax_ids = sorted({d.tax_id for d in drafts if d.tax_id})
    for chunk in _chunks(numbers, max(len(numbers), 1) if postgres else _IN_CHUNK):
        rows = await conn.execute(
            select(phones.c.e164, phones.c.client_id, clients.c.responsible_id)
            .join(clients, clients.c.id == phones.c.client_id)
            .where(_member_of(phones.c.e164, chunk, postgres))
        )
        for e164, client_id, responsible_id in rows:
            view.phone_owner[e164] = client_id
            view.responsible_of[client_id] = responsible_id
    for chunk in _chunks(tax_ids, max(len(tax_ids), 1) if postgres else _IN_CHUNK):
        rows = await conn.execute(
            select(clients.c.id, clients.c.tax_id, clients.c.responsible_id)
            .where(_member_of(clients.c.tax_id, chunk, postgres))
            .order_by(clients.c.id)
        )
        for client_id, tax_id, responsible_id in rows:
            view.tax_owner.setdefault(tax_id, client_id)  # several share it: the oldest client
            view.responsible_of[client_id] = responsible_id
    if ctx.on_duplicate == "merge":
        owners = set(view.phone_owner.values()) | set(view.tax_owner.values())
        mergeable = sorted(c for c in owners if may_see(ctx.actor, view.responsible_of.get(c), ctx.users))
        if mergeable:
            view.clients = await load_clients(conn, mergeable, postgres=postgres)
    return view


async def load_clients(conn: AsyncConnection, ids: Sequence[int], *, postgres: bool) -> dict[int, ClientUnit]:
    """The clients as merge targets: their fillable columns, contacts and phone numbers."""
    units: dict[int, ClientUnit] = {}
    for chunk in _chunks(list(ids), _IN_CHUNK):
        stmt = select(clients.c.id, *(clients.c[name] for name in FILLABLE)).where(clients.c.id.in_(chunk))
        if postgres:
            stmt = stmt.with_for_update()
        for row in await conn.execute(stmt):
            units[row[0]] = ClientUnit(
                id=row[0], is_new=False, values=dict(zip(FILLABLE, row[1:])), contacts=[], phones=set(),
                new_phones=[], first_line=0,
            )
        rows = await conn.execute(
            select(contacts.c.id, contacts.c.client_id, contacts.c.last_name, contacts.c.first_name,
                   contacts.c.middle_name, contacts.c.position, contacts.c.emails)
            .where(contacts.c.client_id.in_(chunk))
            .order_by(contacts.c.id)
        )
        for contact_id, client_id, last, first, middle, position, emails in rows:
            units[client_id].contacts.append(ContactState(contact_id, last, first, middle, position, list(emails or [])))
        rows = await conn.execute(select(phones.c.e164, phones.c.client_id).where(phones.c.client_id.in_(chunk)))
        for e164, client_id in rows:
            units[client_id].phones.add(e164)
    return units
