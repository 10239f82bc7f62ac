"""Do-not-call lists (не звонить): global, or for one campaign; numbers in E.164.

Anyone may put a number on a list (an operator who hears "do not call me again" must be
able to); taking one off, listing and importing are for supervisors (their team's
campaigns; the global list: add and import) and admins. A number put on a list stops its
waiting (``ready``) leads at once: they become ``dnc``; the dialer checks again at the moment of
dialing (crm_core.services.leads.start_attempt) and never leases a listed number.
Taking a number off does not bring those leads back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.db import Database
from crm_core.errors import DncNotFound, Forbidden, ImportFileError, InvalidInput, InvalidPhone
from crm_core.import_parsing import decode_csv, detect_delimiter, iter_csv_records
from crm_core.models import DncNumber, Lead, Role, utcnow
from crm_core.phones import normalize_phone
from crm_core.rights import Actor
from crm_core.services.campaigns import load_campaign
from crm_core.services.clients import PageResult, clean_text

log = logging.getLogger(__name__)

DNC_SOURCES = ("manual", "import", "script", "disposition")
MAX_IMPORT_ROWS = 1_000_000
CHUNK = 1000
# Header words of the number and reason columns (RU/UA/EN), case and punctuation folded.
_PHONE_HEADERS = {"phone", "phone number", "number", "телефон", "номер", "номер телефона", "телефон номер", "tel"}
_REASON_HEADERS = {"reason", "причина", "комментарий", "comment", "примечание"}


@dataclass(frozen=True)
class DncEntry:
    id: int
    phone_e164: str
    campaign_id: int | None
    reason: str | None
    source: str
    added_by_id: int | None
    added_at: datetime


@dataclass(frozen=True)
class DncImportReport:
    """Numbers added, those already on the list, and each refused line with its reason."""

    added: int = 0
    already: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _entry(row: DncNumber) -> DncEntry:
    return DncEntry(row.id, row.phone_e164, row.campaign_id, row.reason, row.source, row.added_by_id, row.added_at)


def normalise(phone: str, default_region: str = "RU") -> str:
    """The E.164 form of a written number; InvalidPhone (with the reason) if it is not one."""
    if not isinstance(phone, str):
        raise InvalidPhone(str(phone)[:30], "not a number")
    return normalize_phone(phone, default_region)


async def _check_scope(s: AsyncSession, actor: Actor | None, campaign_id: int | None, *, manage: bool) -> None:
    """May ``actor`` act on this list? Adding needs only to see the campaign; the rest to manage it."""
    if actor is None:
        if campaign_id is not None:
            await load_campaign(s, None, campaign_id)
        return
    if campaign_id is not None:
        await load_campaign(s, actor, campaign_id, manage=manage)
    elif manage and actor.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only supervisors and admins manage the global do-not-call list")


def _scope(campaign_id: int | None):  # type: ignore[no-untyped-def]
    return DncNumber.campaign_id.is_(None) if campaign_id is None else DncNumber.campaign_id == campaign_id


async def add_many_in(
    s: AsyncSession, actor_id: int | None, numbers: Sequence[tuple[str, str | None]], campaign_id: int | None,
    source: str, now: datetime,
) -> set[str]:
    """Put E.164 numbers (with their reasons) on one list inside the caller's transaction; the newly listed ones."""
    wanted = dict(numbers)
    if not wanted:
        return set()
    listed = set((await s.execute(
        select(DncNumber.phone_e164).where(DncNumber.phone_e164.in_(list(wanted)), _scope(campaign_id)))).scalars())
    rows = [dict(phone_e164=p, campaign_id=campaign_id, reason=r, source=source, added_by_id=actor_id, added_at=now)
            for p, r in wanted.items() if p not in listed]
    new: set[str] = set()
    if rows:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        # One entry per number and scope (an expression index): a number listed at the same moment by someone else stays theirs.
        stmt = insert(DncNumber).on_conflict_do_nothing().returning(DncNumber.phone_e164)
        new = set((await s.execute(stmt, rows)).scalars())
    stops = update(Lead).where(Lead.phone_e164.in_(list(wanted)), Lead.state == "ready")
    if campaign_id is not None:
        stops = stops.where(Lead.campaign_id == campaign_id)
    await s.execute(stops.values(state="dnc", updated_at=now, next_try_at=None).execution_options(synchronize_session=False))
    return new


async def add_in(
    s: AsyncSession, actor_id: int | None, phone: str, campaign_id: int | None, reason: str | None, source: str,
    now: datetime,
) -> tuple[DncNumber, bool]:
    """Put an E.164 number on a list inside the caller's transaction; (row, newly added)."""
    new = await add_many_in(s, actor_id, [(phone, reason)], campaign_id, source, now)
    row = (await s.execute(select(DncNumber).where(DncNumber.phone_e164 == phone, _scope(campaign_id)))).scalar_one()
    return row, phone in new


def _clean_reason_source(reason: str | None, source: str) -> tuple[str | None, str]:
    if source not in DNC_SOURCES:
        raise InvalidInput(f"source must be one of {', '.join(DNC_SOURCES)}")
    return clean_text(reason, "reason", 300), source


async def add_dnc(
    db: Database, actor: Actor | None, phone: str, campaign_id: int | None = None, reason: str | None = None,
    source: str = "manual", *, default_region: str = "RU", now: datetime | None = None,
) -> DncEntry:
    """Put a number on the global list (``campaign_id`` None) or a campaign's; idempotent.

    ``actor`` None is the system (a disposition, a script outcome). A bad number is an
    InvalidPhone naming the reason.
    """
    e164 = normalise(phone, default_region)
    why, source = _clean_reason_source(reason, source)
    moment = now or utcnow()
    async with db.transaction() as s:
        await _check_scope(s, actor, campaign_id, manage=False)
        row, new = await add_in(s, actor.user_id if actor else None, e164, campaign_id, why, source, moment)
        entry = _entry(row)
    if new:
        log.info("dnc.added phone=%s campaign=%s source=%s by=%s", e164, campaign_id, source,
                 actor.login if actor else "system")
    return entry


async def remove_dnc(
    db: Database, actor: Actor, phone: str, campaign_id: int | None = None, *, default_region: str = "RU",
) -> None:
    """Take a number off a list: a campaign's (its supervisors, admins) or the global one (admins only)."""
    e164 = normalise(phone, default_region)
    async with db.transaction() as s:
        if campaign_id is None:
            if not actor.is_admin:
                raise Forbidden("only an admin takes a number off the global do-not-call list")
        else:
            await _check_scope(s, actor, campaign_id, manage=True)
        row = (await s.execute(select(DncNumber).where(DncNumber.phone_e164 == e164, _scope(campaign_id)))).scalar_one_or_none()
        if row is None:
            raise DncNotFound(f"{e164} is not on the {'global' if campaign_id is None else 'campaign'} do-not-call list")
        await s.delete(row)
    log.info("dnc.removed phone=%s campaign=%s by=%s", e164, campaign_id, actor.login)


async def is_dnc(db: Database, phone_e164: str, campaign_id: int | None = None) -> bool:
    """True if the number is on the global list or on this campaign's."""
    async with db.reading() as s:
        return await is_dnc_in(s, phone_e164, campaign_id)


async def is_dnc_in(s: AsyncSession, phone_e164: str, campaign_id: int | None) -> bool:
    scope = DncNumber.campaign_id.is_(None)
    if campaign_id is not None:
        scope = or_(scope, DncNumber.campaign_id == campaign_id)
    return await s.scalar(select(DncNumber.id).where(DncNumber.phone_e164 == phone_e164, scope).limit(1)) is not None


async def dnc_numbers(
    db: Database, actor: Actor, *, campaign_id: int | None = None, scope: str = "all", phone: str | None = None,
    default_region: str = "RU", limit: int = 50, offset: int = 0,
) -> PageResult[DncEntry]:
    """Listed numbers, newest first: ``scope`` global, campaign (needs ``campaign_id``) or all (both)."""
    if scope not in ("all", "global", "campaign"):
        raise InvalidInput("scope must be all, global or campaign")
    if scope == "campaign" and campaign_id is None:
        raise InvalidInput("scope=campaign needs campaign_id")
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    async with db.reading() as s:
        await _check_scope(s, actor, campaign_id, manage=True)
        if campaign_id is None and actor.role not in (Role.supervisor, Role.admin):
            raise Forbidden("only supervisors and admins see do-not-call lists")
        stmt = select(DncNumber)
        if scope == "global" or (scope == "all" and campaign_id is None):
            stmt = stmt.where(DncNumber.campaign_id.is_(None))
        elif scope == "campaign":
            stmt = stmt.where(DncNumber.campaign_id == campaign_id)
        else:
            stmt = stmt.where(or_(DncNumber.campaign_id.is_(None), DncNumber.campaign_id == campaign_id))
        if phone is not None and phone.strip():
            stmt = stmt.where(DncNumber.phone_e164 == normalise(phone, default_region))
        total = await s.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await s.execute(stmt.order_by(DncNumber.added_at.desc(), DncNumber.id.desc()).limit(limit).offset(offset))
        return PageResult([_entry(r) for r in rows.scalars()], int(total or 0), limit, offset)


def _header_index(cells: list[str], wanted: set[str]) -> int | None:
    for i, cell in enumerate(cells):
        if " ".join(cell.replace("\ufeff", "").casefold().replace("_", " ").replace(".", " ").split()) in wanted:
            return i
    return None


def parse_dnc_csv(data: bytes, default_region: str = "RU") -> tuple[list[tuple[int, str, str | None]], list[tuple[int, str]]]:
    """(line, E.164, reason) of every good row, and (line, why) of every bad one.

    A file is one number a line, or has a header naming a phone column (телефон, номер,
    phone) and optionally a reason column (причина, reason). UTF-8 or Windows-1251.
    """
    if not data or not data.strip():
        raise ImportFileError("the file is empty")
    text, _encoding = decode_csv(data)
    delimiter = detect_delimiter(text)
    if len(delimiter) != 1:
        delimiter = ","
    good: list[tuple[int, str, str | None]] = []
    bad: list[tuple[int, str]] = []
    phone_col, reason_col = 0, None
    # Lines of the file, not records: a quoted reason may span lines, and the report must
    # name the line the supervisor finds in the file (as the campaign list import does).
    for line, cells in iter_csv_records(text, delimiter):
        if line == 1:
            found = _header_index(cells, _PHONE_HEADERS)
            if found is not None:
                phone_col, reason_col = found, _header_index(cells, _REASON_HEADERS)
                continue
        if len(good) + len(bad) >= MAX_IMPORT_ROWS:
            raise ImportFileError(f"at most {MAX_IMPORT_ROWS} numbers in one file")
        raw = cells[phone_col].strip() if phone_col < len(cells) else ""
        try:
            e164 = normalise(raw, default_region)
        except InvalidPhone as exc:
            bad.append((line, f"phone {raw[:40]!r}: {exc.reason}"))
            continue
        reason = cells[reason_col].strip()[:300] or None if reason_col is not None and reason_col < len(cells) else None
        if reason is not None and any(ord(c) < 32 for c in reason):
            reason = None
        good.append((line, e164, reason))
    return good, bad


def check_may_import(actor: Actor) -> None:
    if actor.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only supervisors and admins import do-not-call lists")


async def import_dnc_csv(
    db: Database, actor: Actor, data: bytes, *, campaign_id: int | None = None, reason: str | None = None,
    default_region: str = "RU", now: datetime | None = None,
) -> DncImportReport:
    """Put every number of a CSV on a list; bad lines are reported with their line and reason."""
    check_may_import(actor)
    async with db.reading() as s:
        await _check_scope(s, actor, campaign_id, manage=True)  # before reading what may be megabytes
    why = clean_text(reason, "reason", 300)
    good, bad = parse_dnc_csv(data, default_region)
    moment = now or utcnow()
    added = already = 0
    async with db.transaction() as s:
        await _check_scope(s, actor, campaign_id, manage=True)
        numbers: dict[str, str | None] = {}
        for _line, e164, row_reason in good:
            numbers.setdefault(e164, row_reason or why)
        items = list(numbers.items())
        for start in range(0, len(items), CHUNK):
            added += len(await add_many_in(s, actor.user_id, items[start:start + CHUNK], campaign_id, "import", moment))
        already = len(good) - added
    log.info("dnc.imported campaign=%s added=%s already=%s rejected=%s by=%s",
             campaign_id, added, already, len(bad), actor.login)
    return DncImportReport(added, already, bad)
