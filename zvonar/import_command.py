"""``zvonar import clients FILE``: the client import from the command line.

The CLI is an administrator's tool: it acts as the first active admin user (who is also
responsible for rows that name nobody), or, on a store without one, as the system with
admin rights, which then needs --responsible. Exit codes: 0 the import ran (rejected rows
included), 1 the file cannot be read as a client list, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from sqlalchemy import select

from crm_core.db import Database
from crm_core.errors import DomainError, Forbidden, ImportFileError, InvalidInput, UserNotFound
from crm_core.importer import ImportSummary, import_clients
from crm_core.migrate import ensure_schema
from crm_core.models import Role, User
from crm_core.rights import Actor
from zvonar.settings import Settings

# The system acting with admin rights when the store has no admin user; id 0 names no user.
SYSTEM_ACTOR = Actor(user_id=0, role=Role.admin, team_id=None, login="zvonar-cli")
SHOWN_REJECTED = 50


class _BadArguments(Exception):
    """Arguments the command cannot run with; exit code 2."""


def parse_mapping(items: list[str]) -> dict[str, str | None]:
    """['Тел. 2=phone_work', 'Код=ignore'] -> {header: field}; _BadArguments on a malformed item."""
    mapping: dict[str, str | None] = {}
    for item in items:
        header, sep, target = item.partition("=")
        if not sep or not header.strip():
            raise _BadArguments(f"--map expects HEADER=FIELD (e.g. 'Телефон 2=phone_work'), got {item!r}")
        mapping[header.strip()] = target.strip() or None
    return mapping


async def _cli_actor(db: Database) -> Actor:
    """The first active admin user, or the system (admin rights, no user) if there is none."""
    async with db.reading() as s:
        admin = (
            await s.execute(select(User).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id).limit(1))
        ).scalar_one_or_none()
    return Actor.of(admin) if admin is not None else SYSTEM_ACTOR


async def _run(args: argparse.Namespace, settings: Settings, data: bytes, mapping: dict[str, str | None]) -> ImportSummary:
    db = Database(settings.effective_database_url)
    try:
        await ensure_schema(db)
        actor = await _cli_actor(db)
        if actor is SYSTEM_ACTOR and not args.responsible:
            raise _BadArguments(
                "there is no admin user to be responsible for the imported clients: give --responsible LOGIN, "
                "or create one first (zvonar user create LOGIN --role admin)"
            )
        return await import_clients(
            db, actor, data, Path(args.file).name,
            default_region=settings.default_region,
            on_duplicate=args.on_duplicate,
            responsible_login=args.responsible,
            mapping=mapping or None,
        )
    finally:
        await db.dispose()


def import_clients_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the import and print its summary (one JSON line with --json)."""
    path = Path(args.file)
    try:
        mapping = parse_mapping(args.map or [])
        if not path.is_file():
            raise _BadArguments(f"{path}: no such file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _BadArguments(f"{path}: cannot read it ({exc.strerror or exc})") from None
        summary = asyncio.run(_run(args, settings, data, mapping))
    except _BadArguments as exc:
        print(f"zvonar: {exc}", file=sys.stderr)
        return 2
    except ImportFileError as exc:
        print(f"zvonar: {path.name}: {exc.message}", file=sys.stderr)
        return 1
    except (UserNotFound, Forbidden, InvalidInput) as exc:
        # What the import refuses before reading a row: --responsible, the region setting.
        print(f"zvonar: {exc.message}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"zvonar: {exc.message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        print(_human(path.name, summary))
    return 0


def _human(name: str, summary: ImportSummary) -> str:
    source = f"{name}, sheet {summary.sheet!r}" if summary.sheet is not None else name  # XLSX lines are that sheet's rows
    lines = [
        f"{source}: {summary.inserted} new clients, {summary.updated} updated, {summary.duplicates} duplicates, "
        f"{len(summary.rejected)} rows not imported"
    ]
    for row in summary.rejected[:SHOWN_REJECTED]:
        lines.append(f"  line {row.line}: {row.reason}")
    if len(summary.rejected) > SHOWN_REJECTED:
        lines.append(f"  ... and {len(summary.rejected) - SHOWN_REJECTED} more (--json lists them all)")
    for moved in summary.reassigned[:SHOWN_REJECTED]:
        lines.append(f"  responsible {moved.responsible!r} (from line {moved.first_line}, {moved.rows} new clients) "
                     f"is no user you may assign to: given to {moved.given_to}")
    if len(summary.reassigned) > SHOWN_REJECTED:
        lines.append(f"  ... and {len(summary.reassigned) - SHOWN_REJECTED} more such names (--json lists them all)")
    return "\n".join(lines)
