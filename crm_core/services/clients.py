"""Clients (клиенты): create, change, the card with its history, lists, search, reassignment.

The client is the aggregate root: its contact persons and phones are written through
the helpers here, which the contacts, interactions, appeals and calls services reuse.
Every read and write filters through ``crm_core.rights`` (``client_scope``): a client
the actor may not see is reported as not found, never as someone else's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.db import Database
from crm_core.errors import (
    ClientNotFound,
    Conflict,
    DuplicatePhone,
    Forbidden,
    InvalidInput,
    UserNotFound,
)
from crm_core.models import (
    LEAD_FINAL_STATES,
    Appeal,
    Call,
    Client,
    ClientKind,
    ClientReassignment,
    Contact,
    Interaction,
    InteractionStatus,
    Lead,
    MarketingChannel,
    Phone,
    PhoneKind,
    Proposal,
    Role,
    User,
    utcnow,
)
from crm_core.phones import digits_for_suffix_search, parse_phone, search_variants
from crm_core.regions import client_timezone, parse_timezone
from crm_core.rights import Actor, client_scope, one_client_scope, require_role

log = logging.getLogger(__name__)

# Ids are INTEGER columns: a larger number can name no row, and PostgreSQL would refuse it.
MAX_ID = 2_147_483_647

# Status codes of a client; the UI shows them as первичный, новый, потенциальный, клиент,
# партнёр, неактивный, потерян. "primary" is what an appeal creates (the Bitrix24 flow).
CLIENT_STATUSES = ("primary", "new", "prospect", "client", "partner", "inactive", "lost")
ABC_CLASSES = ("A", "B", "C")
MAX_PHONES = 20
MAX_CONTACTS = 50
MAX_EMAILS = 10
MAX_BULK = 1000
HISTORY_LIMIT = 100

_TAX_ID = re.compile(r"[0-9]{8,12}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_PHONE_QUERY = re.compile(r"[0-9+()\-.\s]+")

T = TypeVar("T")


@dataclass(frozen=True)
class PhoneInput:
    number: str
    kind: PhoneKind | None = None


@dataclass(frozen=True)
class ContactInput:
    first_name: str
    last_name: str | None = None
    middle_name: str | None = None
    position: str | None = None
    emails: Sequence[str] = ()
    phones: Sequence[PhoneInput] = ()
    comment: str | None = None


@dataclass(frozen=True)
class ClientInput:
    name: str
    kind: ClientKind = ClientKind.company
    tax_id: str | None = None
    region: str | None = None
    industry: str | None = None
    status: str = "new"
    segment: str | None = None
    abc_class: str | None = None
    timezone: str | None = None
    comment: str | None = None
    responsible_id: int | None = None
    source_channel: str | None = None
    phones: Sequence[PhoneInput] = ()
    contacts: Sequence[ContactInput] = ()


@dataclass(frozen=True)
class ClientFilters:
    status: str | None = None
    region: str | None = None
    industry: str | None = None
    responsible_id: int | None = None
    abc_class: str | None = None
    kind: ClientKind | None = None
    source_channel: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class PageResult(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the relationship history (история взаимоотношений)."""

    kind: str  # interaction | call | appeal | reassignment | proposal
    id: int
    at: datetime
    title: str
    status: str | None
    user_id: int | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClientCard:
    client: Client
    contacts: list[Contact]
    history: list[HistoryEntry]
    responsible: User | None
    timezone: str | None
    local_time: datetime | None


@dataclass(frozen=True)
class ReassignResult:
    to_user_id: int
    reassigned: list[int]
    unchanged: list[int]


@dataclass(frozen=True)
class ClientSummary:
    """What a screen pop shows before the agent answers."""

    client_id: int
    name: str
    kind: str
    status: str
    region: str | None
    responsible_id: int | None
    responsible_name: str | None
    contact_id: int | None
    contact_name: str | None
    phone_kind: str
    e164: str


# --- checks shared by the CRM services -------------------------------------------------


def fits_id(value: int | None) -> bool:
    """True if ``value`` can be a row id (a positive 32-bit integer)."""
    return isinstance(value, int) and 0 < value <= MAX_ID


def clean_text(value: str | None, name: str, max_length: int, *, required: bool = False) -> str | None:
    """Stripped text, or None when empty; refuses control characters and overlong values."""
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    text = value.strip()
    if not text:
        if required:
            raise InvalidInput(f"{name} must not be empty")
        return None
    if len(text) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise InvalidInput(f"{name} contains control characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"{name} is not valid Unicode text") from exc
    return text


def check_aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} must carry its time zone (e.g. 2026-11-24T10:00:00+03:00)")
    return value


def check_period(start: datetime | None, end: datetime | None, names: tuple[str, str] = ("created_from", "created_to")) -> None:
    """Both ends aware, and the end not before the start: a reversed range is a typo, not a wish for nothing."""
    check_aware(start, names[0])
    check_aware(end, names[1])
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"{names[1]} must not be before {names[0]}")


def clean_timezone(value: str | None) -> str | None:
    """An IANA zone from "Europe/Moscow", "UTC+5", "МСК+4" or a region name; InvalidInput otherwise."""
    text = clean_text(value, "timezone", 64)
    if text is None:
        return None
    zone = parse_timezone(text)
    try:
        if zone is None:
            raise KeyError(text)
        ZoneInfo(zone)
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"timezone {text!r} is not a known time zone (e.g. Europe/Moscow)") from exc
    return zone


def clean_emails(values: Iterable[str]) -> list[str]:
    """Validated, de-duplicated e-mail addresses with the domain lower-cased."""
    result: list[str] = []
    for raw in values:
        text = clean_text(raw, "email", 254)
        if text is None:
            continue
        if not _EMAIL.fullmatch(text):
            raise InvalidInput(f"{text!r} is not an e-mail address")
        local, domain = text.rsplit("@", 1)
        address = f"{local}@{domain.lower()}"
        if address not in result:
            result.append(address)
    if len(result) > MAX_EMAILS:
        raise InvalidInput(f"at most {MAX_EMAILS} e-mail addresses")
    return result


def _clean_tax_id(value: str | None) -> str | None:
    text = clean_text(value, "tax_id", 20)
    if text is None:
        return None
    digits = text.replace(" ", "")
    if not _TAX_ID.fullmatch(digits):
        raise InvalidInput("tax_id must be 8 to 12 digits (ИНН, УНП, ЄДРПОУ, БИН)")
    return digits


def _clean_choice(value: str | None, name: str, allowed: Sequence[str], *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
    return value


async def _clean_channel(s: AsyncSession, code: str | None) -> str | None:
    if code is None:
        return None
    if not await s.scalar(select(MarketingChannel.id).where(MarketingChannel.code == code)):
        raise InvalidInput(f"unknown marketing channel {code!r}")
    return code


def _clean_kind(value: Any) -> ClientKind:
    try:
        return ClientKind(value)
    except ValueError as exc:
        raise InvalidInput("kind must be company or person") from exc


# --- rights helpers ----------------------------------------------------------------------


async def load_visible_client(s: AsyncSession, actor: Actor, client_id: int, *, with_phones: bool = False) -> Client:
    """The client if ``actor`` may see it, else ClientNotFound (no hint that it exists)."""
    if not fits_id(client_id):
        raise ClientNotFound()
    stmt = select(Client).where(Client.id == client_id, one_client_scope(actor))
    if with_phones:
        stmt = stmt.options(selectinload(Client.phones))
    client = (await s.execute(stmt)).scalar_one_or_none()
    if client is None:
        raise ClientNotFound()
    return client


async def check_assignee(s: AsyncSession, actor: Actor, user_id: int) -> User:
    """The user ``actor`` may make responsible (or the owner of a task).

    An operator or a manager: only themselves; a supervisor: users of their team; an
    admin: anyone active.
    """
    if actor.role in (Role.operator, Role.manager) and user_id != actor.user_id:
        raise Forbidden("an operator or a manager may assign only to themselves")
    user = await s.get(User, user_id) if fits_id(user_id) else None
    if user is None:
        raise UserNotFound(f"no user with id {user_id}")
    if not user.is_active:
        raise InvalidInput(f"user {user.login} is not active")
    if actor.is_supervisor and user.id != actor.user_id and (actor.team_id is None or user.team_id != actor.team_id):
        raise Forbidden("a supervisor may assign only to users of their team")
    return user


async def client_ids_visible(s: AsyncSession, actor: Actor, ids: Iterable[int]) -> set[int]:
    wanted = {i for i in ids if fits_id(i)}
    if not wanted:
        return set()
    rows = await s.execute(select(Client.id).where(Client.id.in_(wanted), client_scope(actor)))
    return set(rows.scalars())


# --- phones and contacts (written through the aggregate root) ---------------------------


async def sync_phones(
    s: AsyncSession,
    actor: Actor,
    client_id: int,
    contact_id: int | None,
    inputs: Sequence[PhoneInput],
    default_region: str,
    *,
    replace: bool,
) -> list[Phone]:
    """Give the client (or its contact) these numbers in E.164.

    With ``replace`` the owner's other numbers are removed. A number already in the base
    elsewhere is a DuplicatePhone naming the client only if ``actor`` may see it.
    """
    if len(inputs) > MAX_PHONES:
        raise InvalidInput(f"at most {MAX_PHONES} phone numbers")
    wanted: dict[str, PhoneInput] = {}
    raws: dict[str, str] = {}
    for item in inputs:
        raw = clean_text(item.number, "phone number", 64, required=True)
        assert raw is not None
        parsed = parse_phone(raw, default_region)
        if parsed.e164 in wanted:
            raise InvalidInput(f"phone {parsed.e164} is given twice")
        kind = item.kind or (PhoneKind.mobile if parsed.is_mobile else PhoneKind.work)
        wanted[parsed.e164] = PhoneInput(parsed.e164, kind)
        raws[parsed.e164] = raw
    owned_stmt = select(Phone).where(Phone.client_id == client_id)
    owned_stmt = owned_stmt.where(Phone.contact_id.is_(None) if contact_id is None else Phone.contact_id == contact_id)
    owned = {p.e164: p for p in (await s.execute(owned_stmt)).scalars()}
    others = [e for e in wanted if e not in owned]
    if others:
        taken = (await s.execute(select(Phone.e164, Phone.client_id).where(Phone.e164.in_(others)))).first()
        if taken is not None:
            e164, owner = taken
            visible = await client_ids_visible(s, actor, [owner])
            where = f"client {owner}" if owner in visible else "another client"
            raise DuplicatePhone(f"phone {e164} already belongs to {where}")
    if replace:
        for e164, phone in owned.items():
            if e164 not in wanted:
                await s.delete(phone)
        await s.flush()
    result = []
    for e164, item in wanted.items():
        phone = owned.get(e164)
        if phone is None:
            phone = Phone(client_id=client_id, contact_id=contact_id, e164=e164, kind=item.kind, raw=raws[e164])
            s.add(phone)
        else:
            phone.kind = item.kind or phone.kind
            phone.raw = raws[e164]
        result.append(phone)
    await s.flush()
    return result


def contact_fields(data: ContactInput | Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The columns of a contact person, checked; ``partial`` keeps only the keys given."""
    values = data if isinstance(data, Mapping) else {
        "first_name": data.first_name, "last_name": data.last_name, "middle_name": data.middle_name,
        "position": data.position, "emails": data.emails, "comment": data.comment,
    }
    limits = {"first_name": 100, "last_name": 100, "middle_name": 100, "position": 120, "comment": 10_000}
    out: dict[str, Any] = {}
    for name, limit in limits.items():
        if name in values:
            out[name] = clean_text(values[name], name, limit, required=name == "first_name")
        elif not partial and name == "first_name":
            raise InvalidInput("first_name is required")
    if "emails" in values:
        out["emails"] = clean_emails(values["emails"] or ())
    elif not partial:
        out["emails"] = []
    return out


async def add_contact_row(
    s: AsyncSession, actor: Actor, client_id: int, data: ContactInput, default_region: str
) -> Contact:
    contact = Contact(client_id=client_id, **contact_fields(data))
    s.add(contact)
    await s.flush()
    await sync_phones(s, actor, client_id, contact.id, data.phones, default_region, replace=False)
    return contact


def translate_integrity(exc: IntegrityError) -> Conflict:
    """The domain error for a constraint the database caught (a race between two writers)."""
    text = str(exc.orig).lower()
    if "e164" in text or "phones" in text:
        return DuplicatePhone("a phone number was taken by another client at the same moment")
    return Conflict("the change conflicts with what is stored")


# --- use cases ---------------------------------------------------------------------------


async def _reload(s: AsyncSession, client_id: int) -> Client:
    stmt = (
        select(Client)
        .where(Client.id == client_id)
        .options(selectinload(Client.phones))
        .execution_options(populate_existing=True)
    )
    return (await s.execute(stmt)).scalar_one()


async def insert_client(s: AsyncSession, actor: Actor, data: ClientInput, default_region: str) -> Client:
    """Create the client, its phones and contacts inside the caller's transaction."""
    name = clean_text(data.name, "name", 300, required=True)
    assert name is not None
    if len(data.contacts) > MAX_CONTACTS:
        raise InvalidInput(f"at most {MAX_CONTACTS} contacts")
    values = dict(
        kind=_clean_kind(data.kind),
        name=name,
        name_search=name.casefold()[:300],
        tax_id=_clean_tax_id(data.tax_id),
        region=clean_text(data.region, "region", 120),
        industry=clean_text(data.industry, "industry", 120),
        status=_clean_choice(data.status, "status", CLIENT_STATUSES, required=True),
        segment=clean_text(data.segment, "segment", 60),
        abc_class=_clean_choice(data.abc_class, "abc_class", ABC_CLASSES),
        timezone=clean_timezone(data.timezone),
        comment=clean_text(data.comment, "comment", 10_000),
    )
    values["source_channel"] = await _clean_channel(s, data.source_channel)
    responsible = await check_assignee(s, actor, data.responsible_id or actor.user_id)
    client = Client(responsible_id=responsible.id, **values)
    s.add(client)
    await s.flush()
    await sync_phones(s, actor, client.id, None, data.phones, default_region, replace=False)
    for contact in data.contacts:
        await add_contact_row(s, actor, client.id, contact, default_region)
    return await _reload(s, client.id)


async def create_client(db: Database, actor: Actor, data: ClientInput, *, default_region: str = "RU") -> Client:
    """Create a company or a person with phones and contacts; the actor is responsible by default."""
    try:
        async with db.transaction() as s:
            client = await insert_client(s, actor, data, default_region)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    log.info("client.created id=%s by=%s responsible=%s", client.id, actor.login, client.responsible_id)
    return client


_UPDATABLE = {
    "name", "kind", "tax_id", "region", "industry", "status", "segment", "abc_class", "timezone", "comment",
    "source_channel", "phones",
}


async def update_client(
    db: Database, actor: Actor, client_id: int, changes: Mapping[str, Any], *, default_region: str = "RU"
) -> Client:
    """Change the given fields only (PATCH); ``phones`` replaces the client's own numbers.

    The responsible user changes through ``reassign_clients``, which keeps the history.
    A new region or time zone moves the client's leads still to dial into the new zone in
    the same transaction (``refresh_lead_zones``).
    """
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "name":
            text = clean_text(value, "name", 300, required=True)
            values.update(name=text, name_search=text.casefold()[:300] if text else "")
        elif name == "kind":
            values["kind"] = _clean_kind(value)
        elif name == "tax_id":
            values["tax_id"] = _clean_tax_id(value)
        elif name == "status":
            values["status"] = _clean_choice(value, "status", CLIENT_STATUSES, required=True)
        elif name == "abc_class":
            values["abc_class"] = _clean_choice(value, "abc_class", ABC_CLASSES)
        elif name == "timezone":
            values["timezone"] = clean_timezone(value)
        elif name in ("region", "industry"):
            values[name] = clean_text(value, name, 120)
        elif name == "segment":
            values["segment"] = clean_text(value, "segment", 60)
        elif name == "comment":
            values["comment"] = clean_text(value, "comment", 10_000)
    try:
        async with db.transaction() as s:
            client = await load_visible_client(s, actor, client_id)
            for name, value in values.items():
                setattr(client, name, value)
            if "source_channel" in changes:
                client.source_channel = await _clean_channel(s, changes["source_channel"])
            if "phones" in changes:
                phones = [p if isinstance(p, PhoneInput) else PhoneInput(**p) for p in changes["phones"] or ()]
                await sync_phones(s, actor, client.id, None, phones, default_region, replace=True)
            client.updated_at = utcnow()
            await s.flush()
            if ZONE_FIELDS & set(changes):
                await refresh_lead_zones(s, [client.id])
            client = await _reload(s, client.id)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    log.info("client.updated id=%s by=%s fields=%s", client_id, actor.login, ",".join(sorted(changes)))
    return client


# What a lead's zone is made of, besides its own number (crm_core.regions.client_timezone).
ZONE_FIELDS = frozenset({"region", "timezone"})


async def refresh_lead_zones(conn: AsyncSession | AsyncConnection, client_ids: Iterable[int]) -> int:
    """Work out again the zones of the clients' leads still to dial, in the caller's transaction.

    A lead keeps the zone it was loaded with and the dialer leases by it, so a region
    corrected later would have the client called at night in its real zone. Each zone is
    worked out as at loading, from the lead's own number; only leads still to dial move:
    a finished one keeps the zone it was called in. Returns how many leads moved.
    """
    ids = sorted({i for i in client_ids if fits_id(i)})
    if not ids:
        return 0
    # Locked (PostgreSQL) so a lead finishing meanwhile is re-checked, not moved after it ended.
    rows = await conn.execute(
        select(Lead.id, Lead.phone_e164, Lead.timezone, Client.region, Client.timezone)
        .join(Client, Client.id == Lead.client_id)
        .where(Lead.client_id.in_(ids), Lead.state.not_in(LEAD_FINAL_STATES))
        .order_by(Lead.id)
        .with_for_update(of=Lead)
    )
    moves: dict[str | None, list[int]] = {}
    for lead_id, phone, zone, region, explicit_tz in rows:
        new_zone = client_timezone(region, explicit_tz, phone)
        if new_zone != zone:
            moves.setdefault(new_zone, []).append(lead_id)
    for new_zone, lead_ids in moves.items():
        await conn.execute(
            update(Lead).where(Lead.id.in_(lead_ids)).values(timezone=new_zone)
            .execution_options(synchronize_session=False)
        )
    moved = sum(map(len, moves.values()))
    if moved:
        log.info("client.lead_zones clients=%s moved=%s", ",".join(map(str, ids[:20])), moved)
    return moved


async def get_card(
    db: Database, actor: Actor, client_id: int, *, history_limit: int = HISTORY_LIMIT, now: datetime | None = None
) -> ClientCard:
    """The client card: the client, contacts, phones, the merged history (newest first), local time."""
    limit = max(1, min(history_limit, 500))
    async with db.reading() as s:
        client = await load_visible_client(s, actor, client_id, with_phones=True)
        contacts_stmt = (
            select(Contact).where(Contact.client_id == client.id).options(selectinload(Contact.phones)).order_by(Contact.id)
        )
        contacts = list((await s.execute(contacts_stmt)).scalars())
        responsible = await s.get(User, client.responsible_id) if client.responsible_id else None
        history = await _history(s, client.id, limit)
    first_phone = client.phones[0].e164 if client.phones else None
    zone = client_timezone(client.region, client.timezone, first_phone)
    local = (now or utcnow()).astimezone(ZoneInfo(zone)) if zone else None
    return ClientCard(client, contacts, history, responsible, zone, local)


async def _history(s: AsyncSession, client_id: int, limit: int) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    when = func.coalesce(Interaction.done_at, Interaction.planned_at, Interaction.created_at)
    interactions = await s.execute(
        select(Interaction).where(Interaction.client_id == client_id).order_by(when.desc(), Interaction.id.desc()).limit(limit)
    )
    for i in interactions.scalars():
        entries.append(
            HistoryEntry(
                kind="interaction", id=i.id, at=i.done_at or i.planned_at or i.created_at, title=i.subject,
                status=i.status.code, user_id=i.user_id,
                details={
                    "type": i.type.code, "type_name": i.type.name, "color": i.type.color, "status_name": i.status.name,
                    "contact_id": i.contact_id, "call_id": i.call_id, "planned_at": i.planned_at, "done_at": i.done_at,
                    "body": i.body,
                },
            )
        )
    # A call the bridge recorded has its own interaction line; only calls without one show here.
    has_line = select(Interaction.id).where(Interaction.call_id == Call.id).exists()
    calls = await s.execute(
        select(Call).where(Call.client_id == client_id, ~has_line).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)
    )
    for c in calls.scalars():
        entries.append(
            HistoryEntry(
                kind="call", id=c.id, at=c.started_at, title=f"{c.direction} {c.client_number or ''}".strip(),
                status=c.outcome, user_id=c.agent_id,
                details={"direction": c.direction, "number": c.client_number, "talk_seconds": c.talk_seconds,
                         "queue": c.queue, "ended_at": c.ended_at},
            )
        )
    appeals = await s.execute(
        select(Appeal).where(Appeal.client_id == client_id).order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(limit)
    )
    for a in appeals.scalars():
        entries.append(
            HistoryEntry(
                kind="appeal", id=a.id, at=a.created_at, title=a.purpose, status=a.status, user_id=a.created_by_id,
                details={"channel": a.channel.code if a.channel else None, "products": list(a.products or []),
                         "callback_due_at": a.callback_due_at},
            )
        )
    moves = await s.execute(
        select(ClientReassignment)
        .where(ClientReassignment.client_id == client_id)
        .order_by(ClientReassignment.at.desc(), ClientReassignment.id.desc())
        .limit(limit)
    )
    for r in moves.scalars():
        entries.append(
            HistoryEntry(
                kind="reassignment", id=r.id, at=r.at, title=r.reason or "", status=None, user_id=r.by_user_id,
                details={"from_user_id": r.from_user_id, "to_user_id": r.to_user_id},
            )
        )
    proposals = await s.execute(
        select(Proposal).where(Proposal.client_id == client_id)
        .order_by(Proposal.status_changed_at.desc(), Proposal.id.desc()).limit(limit)
    )
    for p in proposals.unique().scalars():
        entries.append(
            HistoryEntry(
                kind="proposal", id=p.id, at=p.status_changed_at, title=p.subject, status=p.status.code,
                user_id=p.author_id,
                details={"status_name": p.status.name, "total": str(p.total), "currency": p.currency,
                         "created_at": p.created_at},
            )
        )
    entries.sort(key=lambda e: (e.at, e.id), reverse=True)
    return entries[:limit]


_SORTS = {
    "name": (Client.name_search.asc(), Client.id.asc()),
    "-name": (Client.name_search.desc(), Client.id.desc()),
    "created_at": (Client.created_at.asc(), Client.id.asc()),
    "-created_at": (Client.created_at.desc(), Client.id.desc()),
    "updated_at": (Client.updated_at.asc(), Client.id.asc()),
    "-updated_at": (Client.updated_at.desc(), Client.id.desc()),
    "id": (Client.id.asc(),),
    "-id": (Client.id.desc(),),
}
SORT_KEYS = tuple(_SORTS)


async def _page(s: AsyncSession, stmt: Select, sort: str, limit: int, offset: int) -> PageResult[Client]:
    total = (await s.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))).scalar_one()
    rows = await s.execute(stmt.order_by(*_SORTS[sort]).limit(limit).offset(offset).options(selectinload(Client.phones)))
    return PageResult(list(rows.scalars()), total, limit, offset)


def _check_page(limit: int, offset: int, sort: str) -> None:
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    if sort not in _SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(_SORTS)}")


def filtered_clients(
    actor: Actor, filters: ClientFilters = ClientFilters(), *, query: str | None = None, default_region: str = "RU"
) -> Select:
    """The SELECT of visible clients matching the filters and the search text (unordered, unpaged)."""
    check_period(filters.created_from, filters.created_to)
    stmt = select(Client).where(client_scope(actor))
    if filters.status is not None:
        stmt = stmt.where(Client.status == filters.status)
    if filters.region is not None:
        stmt = stmt.where(Client.region == filters.region)
    if filters.industry is not None:
        stmt = stmt.where(Client.industry == filters.industry)
    if filters.responsible_id is not None:
        stmt = stmt.where(Client.responsible_id == (filters.responsible_id if fits_id(filters.responsible_id) else -1))
    if filters.abc_class is not None:
        stmt = stmt.where(Client.abc_class == filters.abc_class)
    if filters.kind is not None:
        stmt = stmt.where(Client.kind == _clean_kind(filters.kind))
    if filters.source_channel is not None:
        stmt = stmt.where(Client.source_channel == filters.source_channel)
    if filters.created_from is not None:
        stmt = stmt.where(Client.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Client.created_at < filters.created_to)
    text = clean_text(query, "q", 100)
    if text is not None:
        stmt = stmt.where(search_condition(text, default_region))
    return stmt


async def list_clients(
    db: Database,
    actor: Actor,
    filters: ClientFilters = ClientFilters(),
    *,
    query: str | None = None,
    default_region: str = "RU",
    limit: int = 50,
    offset: int = 0,
    sort: str = "name",
) -> PageResult[Client]:
    """Visible clients matching the filters (and the search text, if any), one page and the total."""
    _check_page(limit, offset, sort)
    stmt = filtered_clients(actor, filters, query=query, default_region=default_region)
    async with db.reading() as s:
        return await _page(s, stmt, sort, limit, offset)


async def search_clients(
    db: Database, actor: Actor, query: str, *, default_region: str = "RU", limit: int = 50, offset: int = 0
) -> PageResult[Client]:
    """Visible clients by name, code, tax id, contact surname or any phone in any written form."""
    if clean_text(query, "q", 100) is None:
        raise InvalidInput("q must not be empty")
    return await list_clients(db, actor, query=query, default_region=default_region, limit=limit, offset=offset)


def _surname_variants(text: str) -> set[str]:
    # Surnames are stored as typed (almost always "Коваленко"); SQLite's lower() folds
    # ASCII only, so the usual spellings of the query are matched instead of folding.
    return {text, text.lower(), text.upper(), text.capitalize(), text.title()}


def search_condition(text: str, default_region: str):  # type: ignore[no-untyped-def]
    """The WHERE clause for a search box: name, contact surname, and for numbers phone, tax id, code."""
    folded = text.casefold()
    conditions = [
        Client.name_search.contains(folded, autoescape=True),
        Client.id.in_(
            select(Contact.client_id).where(
                or_(*(Contact.last_name.startswith(v, autoescape=True) for v in _surname_variants(text)))
            )
        ),
    ]
    if _PHONE_QUERY.fullmatch(text):
        digits = re.sub(r"[^0-9]", "", text)
        e164 = search_variants(text, default_region)
        if e164 is not None:
            conditions.append(Client.id.in_(select(Phone.client_id).where(Phone.e164 == e164)))
        else:
            suffix = digits_for_suffix_search(text)
            if suffix is not None:
                conditions.append(Client.id.in_(select(Phone.client_id).where(Phone.e164.endswith(suffix, autoescape=True))))
        if digits and digits == text.strip():
            conditions.append(Client.tax_id.startswith(digits, autoescape=True))
            if fits_id(int(digits[:10])) and len(digits) <= 10:
                conditions.append(Client.id == int(digits))
    return or_(*conditions)


async def reassign_clients(
    db: Database, actor: Actor, client_ids: Sequence[int], to_user_id: int, reason: str | None = None
) -> ReassignResult:
    """Hand clients to another user (переадресация), with a history row for each.

    A supervisor within their team, an admin anyone; operators and managers may not. The
    old responsible's planned (not final) events on those clients move with them.
    """
    require_role(actor, Role.supervisor, Role.admin)
    ids = list(dict.fromkeys(client_ids))
    if not ids:
        raise InvalidInput("give at least one client id")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"at most {MAX_BULK} clients at once")
    why = clean_text(reason, "reason", 500)
    reassigned: list[int] = []
    unchanged: list[int] = []
    async with db.transaction() as s:
        target = await check_assignee(s, actor, to_user_id)
        wanted = [i for i in ids if fits_id(i)]
        rows = await s.execute(select(Client).where(Client.id.in_(wanted), client_scope(actor)).with_for_update())
        clients = {c.id: c for c in rows.scalars()}
        missing = [i for i in ids if i not in clients]
        if missing:
            raise ClientNotFound(f"no such client (or not one of yours): {', '.join(map(str, missing[:20]))}")
        by_old_owner: dict[int | None, list[int]] = {}
        for client_id in ids:
            client = clients[client_id]
            if client.responsible_id == target.id:
                unchanged.append(client_id)
                continue
            s.add(ClientReassignment(client_id=client_id, from_user_id=client.responsible_id, to_user_id=target.id,
                                     by_user_id=actor.user_id, reason=why))
            by_old_owner.setdefault(client.responsible_id, []).append(client_id)
            client.responsible_id = target.id
            client.updated_at = utcnow()
            reassigned.append(client_id)
        open_statuses = select(InteractionStatus.id).where(InteractionStatus.is_final.is_(False))
        for old_owner, moved in by_old_owner.items():
            if old_owner is None:
                continue
            await s.execute(
                update(Interaction)
                .where(Interaction.client_id.in_(moved), Interaction.user_id == old_owner,
                       Interaction.status_id.in_(open_statuses))
                .values(user_id=target.id)
                .execution_options(synchronize_session=False)
            )
    log.info("client.reassigned count=%s to=%s by=%s", len(reassigned), target.id, actor.login)
    return ReassignResult(target.id, reassigned, unchanged)


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def lookup_statement(e164: str) -> Select:
    """The screen pop's query: one row by the unique index on phones.e164."""
    return (
        select(Phone, Client, User.full_name, Contact)
        .join(Client, Client.id == Phone.client_id)
        .outerjoin(User, User.id == Client.responsible_id)
        .outerjoin(Contact, Contact.id == Phone.contact_id)
        .where(Phone.e164 == e164)
    )


async def lookup_by_phone(db: Database, e164: str) -> ClientSummary | None:
    """The client owning a number, for the screen pop; None if the number is unknown.

    A system path without an actor: the AMI bridge calls it for a call that Asterisk is
    already routing to an agent, and shows the summary to that agent only. It uses the
    unique index on phones.e164.
    """
    if not isinstance(e164, str) or not _E164.fullmatch(e164):
        log.warning("client.lookup_skipped reason=not_e164 value=%r", str(e164)[:32])
        return None
    async with db.reading() as s:
        row = (await s.execute(lookup_statement(e164))).first()
    if row is None:
        return None
    phone, client, responsible_name, contact = row
    contact_name = None
    if contact is not None:
        contact_name = " ".join(p for p in (contact.last_name, contact.first_name, contact.middle_name) if p)
    return ClientSummary(
        client_id=client.id, name=client.name, kind=client.kind.value, status=client.status, region=client.region,
        responsible_id=client.responsible_id, responsible_name=responsible_name,
        contact_id=contact.id if contact else None, contact_name=contact_name, phone_kind=phone.kind.value,
        e164=phone.e164,
    )


def period_days(start: datetime, end: datetime, max_days: int) -> timedelta:
    """Check a [start, end) period: aware, ordered, at most ``max_days`` long."""
    check_aware(start, "from")
    check_aware(end, "to")
    if end <= start:
        raise InvalidInput("'to' must be after 'from'")
    span = end - start
    if span > timedelta(days=max_days):
        raise InvalidInput(f"the period may be at most {max_days} days")
    return span
