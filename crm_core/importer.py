"""Client import: a CSV/XLSX export in, clients with contacts and phones written, a summary out.

Each good row goes in whole (client, contact, phones) or not at all; each bad row is
reported with its line and reason. Rows are read, checked and written batch by batch,
one transaction per batch: the plan (crm_core.import_plan) decides every row before any
write, then the batch is written at once in a savepoint; if the store refuses it, the
batch is written again one client per savepoint, so one refused row loses nothing else.
The simple path parses in this process and writes with executemany; the fast path (big
files) parses on a process pool and, on PostgreSQL, writes with COPY. Both carry out the
same plan, so they give the same summary for the same file.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_core.db import Database
from crm_core.errors import Forbidden, ImportFileError, InvalidInput, UserNotFound
from crm_core.import_drafts import Draft
from crm_core.import_lookup import load_channels, load_users, lookup
from crm_core.import_parsing import RejectedRow
from crm_core.import_plan import (
    ClientUnit,
    OnDuplicate,
    PlanContext,
    UserDirectory,
    draft_rules,
    may_assign,
    plan_batch,
    settle,
)
from crm_core.import_reading import (
    Parsed,
    batches_inline,
    batches_on_pool,
    estimated_rows,
    fewer_collections,
    open_file,
)
from crm_core.import_writer_pg import copy_units
from crm_core.import_writer_sql import Assigned, WriteRefused, write_units
from crm_core.models import Role, utcnow
from crm_core.rights import Actor, require_role

log = logging.getLogger(__name__)

# From this many rows on, a file takes the fast path (pool parsing, batch writes).
FAST_PATH_ROWS = 20_000
FAST_BATCH_ROWS = 10_000
SIMPLE_BATCH_ROWS = 1000
POOL_WORKERS = 2
ON_DUPLICATE = ("merge", "report")

Writer = Callable[[AsyncConnection, Sequence[ClientUnit], datetime], Awaitable[Assigned]]


@dataclass
class ImportSummary:
    """How many rows made new clients, merged into existing ones, were duplicates; the rejected rows."""

    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    fast_path: bool = False
    # New clients whose row named a responsible who is no user the importer may assign to:
    # they went to the default responsible instead (``given_to``, a login).
    reassigned: list[Reassigned] = field(default_factory=list)
    # The XLSX sheet the clients were read from: the first with a header, which a cover sheet may precede.
    sheet: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected],
            "reassigned": [asdict(r) for r in self.reassigned],
            "sheet": self.sheet,
        }


@dataclass(frozen=True)
class Reassigned:
    """Rows that named ``responsible``, who is no user the importer may assign to (unknown, inactive, another team)."""

    responsible: str
    rows: int
    first_line: int
    given_to: str


async def import_clients(
    db: Database,
    actor: Actor,
    data: bytes,
    filename: str,
    *,
    default_region: str = "RU",
    on_duplicate: OnDuplicate = "report",
    responsible_login: str | None = None,
    mapping: Mapping[str, str | None] | None = None,
    fast_path_rows: int = FAST_PATH_ROWS,
    workers: int = POOL_WORKERS,
    batch_rows: int | None = None,
    on_drafts: Callable[[Sequence[Draft]], None] | None = None,
) -> ImportSummary:
    """Import clients from a CSV or XLSX file; supervisors and admins only.

    A row whose phone or tax id is already known (in the store or earlier in the file) is
    merged into that client (``merge``) or reported as a duplicate (``report``). Rows name
    their responsible user by login or name; one the actor may not assign to, or none, gets
    ``responsible_login``'s user, else the actor. Raises ImportFileError when the file as a
    whole cannot be read (nothing is written then). ``fast_path_rows``, ``workers`` and
    ``batch_rows`` tune the paths (tests and benchmarks); the defaults suit production.
    ``on_drafts`` sees each batch's readable rows before they are written (the campaign
    list import takes every row's number from them rather than reading the file again).
    """
    check_may_import(actor)
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidInput(f"on_duplicate must be merge or report, not {on_duplicate!r}")
    region = (default_region or "").strip().upper()
    if len(region) != 2 or not region.isalpha():
        raise InvalidInput("default_region must be a two-letter country code such as RU, UA, BY")
    opened = open_file(data, filename, mapping)
    async with db.engine.connect() as conn:
        users = UserDirectory(await load_users(conn))
        rules = draft_rules(await load_channels(conn))
        await conn.rollback()
    ctx = PlanContext(actor, users, _default_responsible(actor, users, responsible_login), on_duplicate)
    fast = estimated_rows(data, opened) >= fast_path_rows
    started = time.perf_counter()
    log.info(
        "import.started file=%s by=%s fast=%s on_duplicate=%s encoding=%s delimiter=%r",
        filename, actor.login, fast, on_duplicate, opened.encoding, opened.delimiter,
    )
    if fast:
        batches = batches_on_pool(opened, region, rules, batch_rows or FAST_BATCH_ROWS, workers)
        writer: Writer = copy_units if db.is_postgres else write_units
    else:
        batches = batches_inline(opened, region, rules, batch_rows or SIMPLE_BATCH_ROWS)
        writer = write_units
    summary = ImportSummary(fast_path=fast, sheet=opened.sheet)
    with fewer_collections() if fast else nullcontext():
        seen = await _run(db, ctx, batches, writer, summary, on_drafts)
    given_to = users.by_id[ctx.default_responsible_id].login  # _default_responsible chose it from users
    summary.reassigned = [Reassigned(text[:255], rows, line, given_to)
                          for text, (line, rows) in sorted(ctx.not_assignable.items(), key=lambda item: item[1][0])]
    if opened.stream_error is not None:
        summary.rejected.append(opened.stream_error)
        seen += 1
    if not seen:
        raise ImportFileError("the file has a header but no client rows")
    log.info(
        "import.finished file=%s inserted=%d updated=%d duplicates=%d rejected=%d seconds=%.2f",
        filename, summary.inserted, summary.updated, summary.duplicates, len(summary.rejected),
        time.perf_counter() - started,
    )
    return summary


def check_may_import(actor: Actor) -> None:
    """Only supervisors and admins import (Forbidden otherwise)."""
    require_role(actor, Role.supervisor, Role.admin)


def _default_responsible(actor: Actor, users: UserDirectory, login: str | None) -> int:
    """The user for rows that name none (or one the actor may not assign to)."""
    if login and login.strip():
        user = users.find(login)
        if user is None:
            raise UserNotFound(f"no active user {login!r} to make responsible")
        if not may_assign(actor, user):
            raise Forbidden(f"you may not make {user.login} responsible (not in your team)")
        return user.id
    me = users.by_id.get(actor.user_id)
    if me is None or not me.is_active:
        raise InvalidInput("no responsible user for rows that name none: give the login of one")
    return me.id


async def _run(
    db: Database, ctx: PlanContext, batches: AsyncIterator[list[Parsed]], writer: Writer,
    summary: ImportSummary, on_drafts: Callable[[Sequence[Draft]], None] | None = None,
) -> int:
    """Plan and write every batch, each in its own transaction; returns the rows seen."""
    seen = 0
    async with db.engine.connect() as conn:
        try:
            async for batch in batches:
                seen += len(batch)
                drafts = [item for item in batch if isinstance(item, Draft)]
                rejected = [item for item in batch if isinstance(item, RejectedRow)]
                if on_drafts is not None:
                    on_drafts(drafts)
                async with conn.begin():
                    if db.is_sqlite:
                        # Take the write lock now, so nobody writes between the lookups and the writes.
                        await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    view = await lookup(conn, drafts, ctx, postgres=db.is_postgres)
                    plan = plan_batch(drafts, view, ctx)
                    await _write(conn, plan.units, writer)
                settled: list[RejectedRow] = list(rejected)
                for outcome in plan.outcomes:
                    kind, reason = settle(outcome, ctx.on_duplicate, ctx.made)
                    if kind == "inserted":
                        summary.inserted += 1
                        if outcome.unit is not None:
                            ctx.remember_made(outcome.unit)
                    elif kind == "updated":
                        summary.updated += 1
                    else:
                        summary.duplicates += kind == "duplicate"
                        settled.append(RejectedRow(outcome.line, reason or ""))
                settled.sort(key=lambda r: r.line)
                summary.rejected.extend(settled)
        finally:
            await batches.aclose()  # type: ignore[attr-defined]
    return seen


async def _write(conn: AsyncConnection, units: Sequence[ClientUnit], writer: Writer) -> None:
    """Write the batch at once with ``writer``; if the store refuses it, client by client in savepoints.

    The second pass finds the clients the store refuses and keeps all the others.
    """
    now = utcnow()
    todo = []
    for unit in units:
        if unit.has_changes:
            todo.append(unit)
        else:
            unit.written = True  # a merge that brought nothing new
    if len(todo) > 1:
        try:
            async with conn.begin_nested():
                assigned = await writer(conn, todo, now)
        except (DBAPIError, WriteRefused) as exc:
            log.warning("import.batch_refused units=%d error=%s; writing one by one", len(todo), _first_line(exc))
        else:
            assigned.apply()
            for unit in todo:
                unit.written = True
            return
    for unit in todo:
        try:
            async with conn.begin_nested():
                assigned = await write_units(conn, [unit], now)
        except DBAPIError as exc:
            unit.error = _refusal(exc)
            log.info("import.row_refused line=%d error=%s", unit.first_line, _first_line(exc))
        else:
            assigned.apply()
            unit.written = True


_DRIVER_PREFIX = re.compile(r"^<class '[\w.]+'>:\s*")


def _first_line(exc: Exception) -> str:
    """The store's own message, first line, without the driver's class prefix."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines() or [type(orig).__name__]
    return _DRIVER_PREFIX.sub("", lines[0])[:300]


def _refusal(exc: Exception) -> str:
    """Why the store refused a client, in words for the report."""
    text = _first_line(exc)
    if "e164" in text.lower() or "uq_phones" in text.lower():
        return "one of its phone numbers was added to the base by someone else during the import"
    return f"the store refused it: {text}"
