"""`zvonar import clients FILE` as a user runs it: a subprocess on a temporary SQLite store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crm_core.db import Database
from crm_core.migrate import ensure_schema
from crm_core.models import Role
from crm_core.services import users
from zvonar.cli import build_parser
from zvonar.import_command import import_clients_command, parse_mapping
from zvonar.settings import load_settings
from tests.password_cost import TEST_PASSWORDS
from tests.workbooks import workbook_after_a_cover

REPO = Path(__file__).resolve().parents[2]
ONE_C = REPO / "tests" / "crm_core" / "data" / "1c_kontragenty_cp1251.csv"
ONE_C_REJECTED = [
    {"line": 5, "reason": "phone '8 (916) 12' is not a valid number: too short"},
    {"line": 6, "reason": "ИНН 7707083894 checksum invalid"},
    {"line": 7, "reason": "missing client name"},
    {"line": 8, "reason": "11 fields, the header has 10 (check quotes and delimiters)"},
    {"line": 12, "reason": "e-mail 'ivanov@' is not a valid address"},
]


@pytest.fixture
def store(tmp_path: Path) -> dict[str, str]:
    """The environment of a `zvonar` process whose store is a fresh SQLite file."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "ZVONAR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'zvonar.sqlite3'}",
        "ZVONAR_LOG_LEVEL": "WARNING",
    }


def zvonar(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zvonar.cli", *args], env=env, capture_output=True, text=True,
                          cwd=env["HOME"], timeout=120)


def test_import_prints_one_json_line_and_a_second_run_finds_the_duplicates(store: dict[str, str]) -> None:
    made = zvonar(store, "user", "create", "admin", "--role", "admin", "--name", "Соколова Анна Павловна",
                  "--password", "correct horse battery")
    assert made.returncode == 0, made.stderr

    first = zvonar(store, "import", "clients", str(ONE_C), "--json")
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.splitlines()) == 1
    # Nobody of the file's responsibles is a user yet: their new clients are the admin's, and the answer says so.
    assert json.loads(first.stdout) == {"inserted": 5, "updated": 0, "duplicates": 0, "rejected": ONE_C_REJECTED,
                                        "reassigned": [
                                            {"responsible": "Петрова А.С.", "rows": 3, "first_line": 2, "given_to": "admin"},
                                            {"responsible": "Смирнов Д.В.", "rows": 2, "first_line": 4, "given_to": "admin"}],
                                        "sheet": None}

    again = zvonar(store, "import", "clients", str(ONE_C), "--json", "--on-duplicate", "merge")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"inserted": 0, "updated": 5, "duplicates": 0, "rejected": ONE_C_REJECTED,
                                        "reassigned": [], "sheet": None}


def test_human_summary_and_the_responsible_when_there_is_no_admin(store: dict[str, str], tmp_path: Path) -> None:
    refused = zvonar(store, "import", "clients", str(ONE_C))
    assert refused.returncode == 2
    assert "--responsible" in refused.stderr and "Traceback" not in refused.stderr

    made = zvonar(store, "user", "create", "petrova", "--role", "manager", "--name", "Петрова Анна Сергеевна",
                  "--password", "correct horse battery")
    assert made.returncode == 0, made.stderr
    done = zvonar(store, "import", "clients", str(ONE_C), "--responsible", "petrova")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "1c_kontragenty_cp1251.csv: 5 new clients, 0 updated, 0 duplicates, 5 rows not imported",
        *(f"  line {r['line']}: {r['reason']}" for r in ONE_C_REJECTED),
        "  responsible 'Смирнов Д.В.' (from line 4, 2 new clients) is no user you may assign to: given to petrova",
    ]



def test_the_summary_names_the_sheet_a_workbook_was_read_from(store: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "klienty.xlsx"
    path.write_bytes(workbook_after_a_cover("Инструкция", "Одна строка — один клиент", "Клиенты", [
        ["Наименование", "Телефон"], ["ООО «Волга-Трейд»", "8 846 200-10-20"], ["ООО «Меридиан»", "не знаю"]]))
    made = zvonar(store, "user", "create", "petrova", "--role", "manager", "--name", "Петрова Анна Сергеевна",
                  "--password", "correct horse battery")
    assert made.returncode == 0, made.stderr
    done = zvonar(store, "import", "clients", str(path), "--responsible", "petrova")
    assert done.returncode == 0, done.stderr
    summary, rejected = done.stdout.splitlines()
    assert summary == "klienty.xlsx, sheet 'Клиенты': 1 new clients, 0 updated, 0 duplicates, 1 rows not imported"
    assert rejected.startswith("  line 3: ")  # the row of the sheet the list is on


def _in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command run in this process (same parser, same settings path), for the quick error cases."""
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'zvonar.sqlite3'}")
    code = import_clients_command(build_parser().parse_args(["import", "clients", *args]), settings)
    out, err = capsys.readouterr()
    return code, out, err


def test_file_errors_exit_1_and_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def admin() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'zvonar.sqlite3'}")
        await ensure_schema(db)
        await users.create_user(db, login="admin", full_name="Соколова Анна Павловна", role=Role.admin,
                                password="correct horse battery", passwords=TEST_PASSWORDS)
        await db.dispose()

    asyncio.run(admin())
    html = tmp_path / "kontragenty.xls"
    html.write_text("<html><body><table><tr><td>ООО «Ромашка»</td></tr></table></body></html>", encoding="utf-8")
    code, out, err = _in_process(tmp_path, capsys, str(html), "--json")
    assert (code, out) == (1, "")
    assert err.strip() == ("zvonar: kontragenty.xls: the file is an HTML table (an 'Excel' export of a web CRM), "
                           "not CSV or XLSX: export to CSV, or open it in Excel and save as .xlsx")

    code, _, err = _in_process(tmp_path, capsys, str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv: no such file" in err

    code, _, err = _in_process(tmp_path, capsys, str(ONE_C), "--map", "Телефон")
    assert code == 2 and "HEADER=FIELD" in err

    code, _, err = _in_process(tmp_path, capsys, str(ONE_C), "--responsible", "nobody")
    assert code == 2 and "'nobody'" in err

    code, _, err = _in_process(tmp_path, capsys, str(ONE_C), "--map", "Факс=phone")
    assert code == 1 and "'Факс', which is not in the header" in err


def test_map_arguments() -> None:
    assert parse_mapping(["Тел. 2=phone_work", "Код=ignore", " Пусто = "]) == {
        "Тел. 2": "phone_work", "Код": "ignore", "Пусто": None}
