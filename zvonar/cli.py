"""The ``zvonar`` command: one verb per job, settings built once and passed down."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from zvonar.logging_setup import configure_logging
from zvonar.settings import Settings, load_settings

log = logging.getLogger(__name__)

Command = Callable[[argparse.Namespace, Settings], int]


def _db(settings: Settings):  # type: ignore[no-untyped-def]
    from crm_core.db import Database

    return Database(settings.effective_database_url)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from crm_core.migrate import upgrade

    async def run() -> str:
        db = _db(settings)
        try:
            return await upgrade(db, args.revision)
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(run())}")
    return 0


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    from crm_core.migrate import ensure_schema
    from crm_core.models import Role
    from crm_core.services import users

    password = args.password or getpass.getpass("password: ")

    async def run() -> None:
        db = _db(settings)
        try:
            await ensure_schema(db)
            team_id = await users.ensure_team(db, args.team) if args.team else None
            await users.create_user(
                db, login=args.login, full_name=args.name or args.login, role=Role(args.role),
                password=password, team_id=team_id, phone_endpoint=args.endpoint,
                passwords=settings.passwords.hashing(),
            )
        finally:
            await db.dispose()

    asyncio.run(run())
    print(f"user {args.login} created")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from zvonar.runtime import serve

    return serve(settings, host=args.host, port=args.port)


def cmd_ami_replay(args: argparse.Namespace, settings: Settings) -> int:
    from ami_bridge.replay import run_replay

    return run_replay(args.file, raw=args.raw)


def cmd_pbx_sim(args: argparse.Namespace, settings: Settings) -> int:
    from zvonar.runtime import run_pbx_sim

    return run_pbx_sim(settings, host=args.host, port=args.port)


def cmd_import_clients(args: argparse.Namespace, settings: Settings) -> int:
    from zvonar.import_command import import_clients_command

    return import_clients_command(args, settings)


def cmd_script_check(args: argparse.Namespace, settings: Settings) -> int:
    from scripts_engine.cli_commands import check_command

    return check_command(args.file, sys.stdout, sys.stderr)


def cmd_script_run(args: argparse.Namespace, settings: Settings) -> int:
    from scripts_engine.cli_commands import run_command

    return run_command(args.file, args.client, args.answers, sys.stdout, sys.stderr)


def cmd_dialer_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.cli_commands import simulate_command

    return simulate_command(args)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from zvonar.demo import run_demo

    return run_demo(settings, host=args.host, port=args.port, clients=args.clients, serve=not args.no_serve)


def cmd_tui(args: argparse.Namespace, settings: Settings) -> int:
    from operator_tui.app import run_tui

    return run_tui(args.server or f"http://{settings.http.host}:{settings.http.port}", lang=args.lang, login=args.user or "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zvonar",
        description="Zvonar: call centre and telemarketing on Asterisk.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="a TOML settings file (env ZVONAR_* overrides it)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", title="verbs")
    verbs.required = True

    p = verbs.add_parser("serve", help="run the HTTP/WebSocket API, the AMI bridge and the dialer")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = verbs.add_parser("demo", help="load demo data and serve it with the PBX simulator")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--clients", type=int, default=300, help="how many demo clients to create")
    p.add_argument("--no-serve", action="store_true", help="load the data and exit")
    p.set_defaults(func=cmd_demo)

    p = verbs.add_parser("tui", help="the operator desk in the terminal (a client of the HTTP/WebSocket API)")
    p.add_argument("--server", help="the Zvonar server's address (default: this machine's HTTP settings)")
    p.add_argument("--lang", choices=["ru", "en", "uk"], default="ru", help="the desk's language (F12 switches)")
    p.add_argument("--user", help="the login to fill in")
    p.set_defaults(func=cmd_tui)

    db = verbs.add_parser("db", help="the store: migrations")
    db_verbs = db.add_subparsers(dest="db_verb", metavar="ACTION", required=True)
    p = db_verbs.add_parser("upgrade", help="apply migrations up to the newest (or --revision)")
    p.add_argument("--revision", default="head")
    p.set_defaults(func=cmd_db_upgrade)

    user = verbs.add_parser("user", help="users and rights")
    user_verbs = user.add_subparsers(dest="user_verb", metavar="ACTION", required=True)
    p = user_verbs.add_parser("create", help="create a user")
    p.add_argument("login")
    p.add_argument("--role", required=True, choices=["operator", "manager", "supervisor", "admin"])
    p.add_argument("--name", help="full name")
    p.add_argument("--team")
    p.add_argument("--endpoint", help="the user's own phone endpoint for click-to-call, e.g. 101")
    p.add_argument("--password", help="the password (asked for when omitted)")
    p.set_defaults(func=cmd_user_create)

    imp = verbs.add_parser("import", help="import data from CSV/XLSX")
    imp_verbs = imp.add_subparsers(dest="import_verb", metavar="WHAT", required=True)
    p = imp_verbs.add_parser("clients", help="import clients (CSV: UTF-8 or cp1251, any delimiter; XLSX)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--on-duplicate", choices=["merge", "report"], default="report",
                   help="a row whose phone or tax id is already known: merge into that client, or report it")
    p.add_argument("--responsible", help="login of the responsible user for rows that name none")
    p.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD", help="map a column to a field")
    p.set_defaults(func=cmd_import_clients)

    ami = verbs.add_parser("ami", help="Asterisk Manager Interface tools")
    ami_verbs = ami.add_subparsers(dest="ami_verb", metavar="ACTION", required=True)
    p = ami_verbs.add_parser("replay", help="replay a recorded AMI session and print its finished calls as JSON lines")
    p.add_argument("file")
    p.add_argument("--raw", action="store_true", help="the file holds raw AMI bytes, not the .jsonl format")
    p.set_defaults(func=cmd_ami_replay)

    script = verbs.add_parser("script", help="call scripts: validate and test-run")
    script_verbs = script.add_subparsers(dest="script_verb", metavar="ACTION", required=True)
    p = script_verbs.add_parser("check", help="validate a script; print every problem with its step and field (exit 1 if any)")
    p.add_argument("file")
    p.set_defaults(func=cmd_script_check)
    p = script_verbs.add_parser("run", help="walk a script non-interactively and print the protocol as JSON")
    p.add_argument("file")
    p.add_argument("--client", required=True, metavar="client.json",
                   help='the call data: {"client": {...}, "contact": {...}, "operator": {...}, "custom": {...}, '
                        '"phone": ..., "today": ...} or just the client fields')
    p.add_argument("--answers", required=True, metavar="answers.json",
                   help='a list of {"step": id, "value": ...}, {"back": true}, {"objection": id}, {"return": true}, {"finish": true}')
    p.set_defaults(func=cmd_script_run)

    from dialer.cli_commands import add_simulate_arguments

    dialer = verbs.add_parser("dialer", help="the dialer: pacing tools")
    dialer_verbs = dialer.add_subparsers(dest="dialer_verb", metavar="ACTION", required=True)
    p = dialer_verbs.add_parser("simulate", help="simulate a campaign day of a dialing mode and print its figures")
    add_simulate_arguments(p)
    p.set_defaults(func=cmd_dialer_simulate)

    p = verbs.add_parser("pbx-sim", help="run the built-in PBX simulator (an AMI server on loopback)")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_pbx_sim)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except (ValidationError, FileNotFoundError, ValueError) as exc:
        print(f"zvonar: bad settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from crm_core.errors import DomainError

        if isinstance(exc, DomainError):
            print(f"zvonar: {exc.message}", file=sys.stderr)
            return 1
        raise


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
