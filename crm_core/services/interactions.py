"""Events (события) on a client: typed, with the type's own statuses; and the calendar.

Types and statuses are data: an administrator adds them. An event is visible exactly
when its client is (``crm_core.rights.client_scope``); the calendar is the actor's own,
a supervisor's team's, or anyone's for an admin (``user_scope``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.db import Database
from crm_core.errors import (
    Conflict,
    ContactNotFound,
    Forbidden,
    InteractionNotFound,
    InteractionTypeNotFound,
    InvalidInput,
)
from crm_core.models import Client, Contact, Interaction, InteractionStatus, InteractionType, Role, User, utcnow
from crm_core.rights import Actor, client_scope, require_role, user_scope
from crm_core.services.clients import (
    PageResult,
    check_assignee,
    check_aware,
    clean_text,
    fits_id,
    load_visible_client,
    period_days,
)

log = logging.getLogger(__name__)

CALENDAR_MAX_DAYS = 366
CALENDAR_MAX_ITEMS = 2000
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")




@dataclass(frozen=True)
class StatusInput:
    code: str
    name: str
    is_final: bool = False


@dataclass(frozen=True)
class InteractionInput:
    type_code: str
    subject: str
    status_code: str | None = None
    body: str | None = None
    planned_at: datetime | None = None
    done_at: datetime | None = None
    contact_id: int | None = None
    user_id: int | None = None


def _clean_code(value: str, name: str) -> str:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidInput(f"{name} must be lower-case latin letters, digits and '_' (e.g. meeting)")
    return value


# --- types and statuses -------------------------------------------------------------------


async def list_types(db: Database) -> list[InteractionType]:
    """Every event type with its statuses, in the order they were added."""
    async with db.reading() as s:
        stmt = select(InteractionType).options(selectinload(InteractionType.statuses)).order_by(InteractionType.id)
        rows = await s.execute(stmt)
        return list(rows.scalars())


async def _reload_type(s: AsyncSession, type_id: int) -> InteractionType:
    stmt = (
        select(InteractionType)
        .where(InteractionType.id == type_id)
        .options(selectinload(InteractionType.statuses))
        .execution_options(populate_existing=True)
    )
    return (await s.execute(stmt)).scalar_one()


async def create_type(
    db: Database, actor: Actor, *, code: str, name: str, color: str = "#808080", statuses: Sequence[StatusInput] = ()
) -> InteractionType:
    """Add an event type with its statuses (admin only)."""
    require_role(actor, Role.admin)
    code = _clean_code(code, "code")
    title = clean_text(name, "name", 120, required=True)
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise InvalidInput("color must be #RRGGBB")
    if not statuses:
        raise InvalidInput("an event type needs at least one status")
    if len({st.code for st in statuses}) != len(statuses):
        raise InvalidInput("status codes of a type must differ")
    try:
        async with db.transaction() as s:
            kind = InteractionType(code=code, name=title, color=color)
            s.add(kind)
            await s.flush()
            for st in statuses:
                s.add(InteractionStatus(type_id=kind.id, code=_clean_code(st.code, "status code"),
                                        name=clean_text(st.name, "status name", 120, required=True), is_final=bool(st.is_final)))
            await s.flush()
            kind = await _reload_type(s, kind.id)
    except IntegrityError as exc:
        raise Conflict(f"event type {code!r} already exists") from exc
    log.info("interaction_type.created code=%s by=%s", code, actor.login)
    return kind


async def add_status(db: Database, actor: Actor, type_id: int, status: StatusInput) -> InteractionType:
    """Add a status to an event type (admin only)."""
    require_role(actor, Role.admin)
    code = _clean_code(status.code, "status code")
    title = clean_text(status.name, "status name", 120, required=True)
    try:
        async with db.transaction() as s:
            kind = await s.get(InteractionType, type_id) if fits_id(type_id) else None
            if kind is None:
                raise InteractionTypeNotFound()
            s.add(InteractionStatus(type_id=kind.id, code=code, name=title, is_final=bool(status.is_final)))
            await s.flush()
            kind = await _reload_type(s, kind.id)
    except IntegrityError as exc:
        raise Conflict(f"status {code!r} already exists for this type") from exc
    log.info("interaction_status.created type=%s code=%s by=%s", type_id, code, actor.login)
    return kind



async def update_type(
    db: Database, actor: Actor, type_id: int, *, name: str | None = None, color: str | None = None,
) -> InteractionType:
    """Rename or recolour an event type (admin only); its code, which data and integrations name, stays."""
    require_role(actor, Role.admin)
    if name is None and color is None:
        raise InvalidInput("give a name or a color")
    title = clean_text(name, "name", 120, required=True) if name is not None else None
    if color is not None and (not isinstance(color, str) or not _COLOR.fullmatch(color)):
        raise InvalidInput("color must be #RRGGBB")
    async with db.transaction() as s:
        kind = await s.get(InteractionType, type_id) if fits_id(type_id) else None
        if kind is None:
            raise InteractionTypeNotFound()
        kind.name = title if title is not None else kind.name
        kind.color = color if color is not None else kind.color
        await s.flush()
        kind = await _reload_type(s, kind.id)
    log.info("interaction_type.updated id=%s by=%s", type_id, actor.login)
    return kind


async def rename_status(db: Database, actor: Actor, type_id: int, status_id: int, name: str) -> InteractionType:
    """Rename a status of an event type (admin only).

    Its code and whether it is final stay: the events already in it keep their meaning.
    """
    require_role(actor, Role.admin)
    title = clean_text(name, "name", 120, required=True)
    async with db.transaction() as s:
        status = await s.get(InteractionStatus, status_id) if fits_id(status_id) else None
        if status is None or status.type_id != type_id:
            raise InteractionTypeNotFound("no such status of this event type")
        status.name = title
        await s.flush()
        kind = await _reload_type(s, type_id)
    log.info("interaction_status.renamed type=%s status=%s by=%s", type_id, status_id, actor.login)
    return kind

async def resolve_status(
    s: AsyncSession, type_code: str, status_code: str | None, *, planned: bool
) -> tuple[InteractionType, InteractionStatus]:
    """The type ``type_code`` and its status ``status_code``; without a code, the type's
    first open status for a planned event, else its first final one."""
    kind = (
        await s.execute(
            select(InteractionType).where(InteractionType.code == type_code).options(selectinload(InteractionType.statuses))
        )
    ).scalar_one_or_none()
    if kind is None:
        raise InvalidInput(f"unknown event type {type_code!r}")
    if status_code is not None:
        for st in kind.statuses:
            if st.code == status_code:
                return kind, st
        raise InvalidInput(f"status {status_code!r} does not belong to the type {type_code!r}: "
                           f"{', '.join(st.code for st in kind.statuses)}")
    ordered = sorted(kind.statuses, key=lambda st: st.is_final == planned)
    if not ordered:
        raise InvalidInput(f"event type {type_code!r} has no statuses")
    return kind, ordered[0]


# --- events --------------------------------------------------------------------------------


async def _reload(s: AsyncSession, interaction_id: int) -> Interaction:
    stmt = select(Interaction).where(Interaction.id == interaction_id).execution_options(populate_existing=True)
    return (await s.execute(stmt)).unique().scalar_one()


async def load_visible_interaction(s: AsyncSession, actor: Actor, interaction_id: int) -> Interaction:
    if not fits_id(interaction_id):
        raise InteractionNotFound()
    stmt = (
        select(Interaction)
        .join(Client, Client.id == Interaction.client_id)
        .where(Interaction.id == interaction_id, client_scope(actor))
    )
    found = (await s.execute(stmt)).unique().scalar_one_or_none()
    if found is None:
        raise InteractionNotFound()
    return found


async def _check_contact(s: AsyncSession, client_id: int, contact_id: int | None) -> None:
    if contact_id is None:
        return
    owner = await s.scalar(select(Contact.client_id).where(Contact.id == contact_id)) if fits_id(contact_id) else None
    if owner != client_id:
        raise ContactNotFound(f"contact {contact_id} is not a contact of this client")


async def create_interaction(db: Database, actor: Actor, client_id: int, data: InteractionInput) -> Interaction:
    """Record or plan an event on a visible client; the actor owns it unless ``user_id`` says who."""
    _clean_code(data.type_code, "type")
    if data.status_code is not None:
        _clean_code(data.status_code, "status")
    subject = clean_text(data.subject, "subject", 300, required=True)
    body = clean_text(data.body, "body", 20_000)
    check_aware(data.planned_at, "planned_at")
    check_aware(data.done_at, "done_at")
    async with db.transaction() as s:
        client = await load_visible_client(s, actor, client_id)
        await _check_contact(s, client.id, data.contact_id)
        owner = await check_assignee(s, actor, data.user_id if data.user_id is not None else actor.user_id)
        _, status = await resolve_status(s, data.type_code, data.status_code, planned=data.planned_at is not None)
        done_at = data.done_at or (utcnow() if status.is_final else None)
        event = Interaction(
            client_id=client.id, contact_id=data.contact_id, type_id=status.type_id, status_id=status.id, user_id=owner.id,
            subject=subject, body=body, planned_at=data.planned_at, done_at=done_at, details={},
        )
        s.add(event)
        await s.flush()
        event = await _reload(s, event.id)
    log.info("interaction.created id=%s client=%s type=%s by=%s", event.id, client_id, data.type_code, actor.login)
    return event


_UPDATABLE = {"status_code", "subject", "body", "planned_at", "done_at", "contact_id", "user_id"}


async def update_interaction(db: Database, actor: Actor, interaction_id: int, changes: Mapping[str, Any]) -> Interaction:
    """Change an event (PATCH): its status (of the same type), text, times, contact, owner."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    for name in ("planned_at", "done_at"):
        if name in changes:
            check_aware(changes[name], name)
    async with db.transaction() as s:
        event = await load_visible_interaction(s, actor, interaction_id)
        if "status_code" in changes:
            code = _clean_code(changes["status_code"], "status")
            _, status = await resolve_status(s, event.type.code, code, planned=False)
            event.status_id = status.id
            if status.is_final and event.done_at is None and "done_at" not in changes:
                event.done_at = utcnow()
        if "subject" in changes:
            event.subject = clean_text(changes["subject"], "subject", 300, required=True)
        if "body" in changes:
            event.body = clean_text(changes["body"], "body", 20_000)
        if "planned_at" in changes:
            event.planned_at = changes["planned_at"]
        if "done_at" in changes:
            event.done_at = changes["done_at"]
        if "contact_id" in changes:
            await _check_contact(s, event.client_id, changes["contact_id"])
            event.contact_id = changes["contact_id"]
        if "user_id" in changes:
            if changes["user_id"] is None:
                raise InvalidInput("user_id cannot be empty")
            event.user_id = (await check_assignee(s, actor, changes["user_id"])).id
        await s.flush()
        event = await _reload(s, event.id)
    log.info("interaction.updated id=%s by=%s fields=%s", interaction_id, actor.login, ",".join(sorted(changes)))
    return event


async def get_interaction(db: Database, actor: Actor, interaction_id: int) -> Interaction:
    async with db.reading() as s:
        return await load_visible_interaction(s, actor, interaction_id)


async def list_for_client(
    db: Database, actor: Actor, client_id: int, *, limit: int = 50, offset: int = 0
) -> PageResult[Interaction]:
    """The events of a visible client, newest first."""
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    async with db.reading() as s:
        client = await load_visible_client(s, actor, client_id)
        total = await s.scalar(select(func.count(Interaction.id)).where(Interaction.client_id == client.id))
        when = func.coalesce(Interaction.done_at, Interaction.planned_at, Interaction.created_at)
        rows = await s.execute(
            select(Interaction)
            .where(Interaction.client_id == client.id)
            .order_by(when.desc(), Interaction.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return PageResult(list(rows.unique().scalars()), int(total or 0), limit, offset)


async def calendar(
    db: Database, actor: Actor, start: datetime, end: datetime, *, user_id: int | None = None
) -> list[Interaction]:
    """Events planned in [start, end): the actor's own; a supervisor's team's; an admin's anyone's.

    ``user_id`` narrows to one user the actor may look at (a supervisor's team member).
    """
    period_days(start, end, CALENDAR_MAX_DAYS)
    stmt = (
        select(Interaction)
        .join(Client, Client.id == Interaction.client_id)
        .join(User, User.id == Interaction.user_id)
        .where(Interaction.planned_at >= start, Interaction.planned_at < end, client_scope(actor), user_scope(actor))
    )
    if user_id is not None:
        if not fits_id(user_id):
            raise Forbidden("you may not look at this user's calendar")
        async with db.reading() as s:
            allowed = await s.scalar(select(User.id).where(User.id == user_id, user_scope(actor)))
        if allowed is None:
            raise Forbidden("you may not look at this user's calendar")
        stmt = stmt.where(Interaction.user_id == user_id)
    async with db.reading() as s:
        rows = await s.execute(stmt.order_by(Interaction.planned_at, Interaction.id).limit(CALENDAR_MAX_ITEMS))
        return list(rows.unique().scalars())

