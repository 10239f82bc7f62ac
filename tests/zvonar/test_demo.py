"""`zvonar demo` loads a usable base: users who can log in, clients spread over operators."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from crm_core.db import Database
from crm_core.models import Campaign, Client, User
from zvonar.demo import DEMO_USERS, banner, load_demo
from zvonar.settings import load_settings


async def test_demo_data_is_loaded_once_and_spread_over_operators(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    settings = load_settings(database_url=url)
    first = await load_demo(settings, clients=120)
    assert first["import"] == {"inserted": 120, "updated": 0, "duplicates": 0, "rejected": [], "reassigned": [], "sheet": None}
    second = await load_demo(settings, clients=120)
    assert second == {"clients_before": 120}
    db = Database(url)
    async with db.reading() as s:
        per_user = dict((await s.execute(
            select(User.login, func.count(Client.id)).join(Client, Client.responsible_id == User.id).group_by(User.login)
        )).all())
        logins = set((await s.execute(select(User.login))).scalars())
        campaign = (await s.execute(select(Campaign))).scalar_one()
    await db.dispose()
    assert per_user == {"ivanova": 40, "kovalenko": 40, "zhuk": 40}
    # Set up as a real campaign should be: the company's number shown, a recording of who called for abandons.
    assert (campaign.caller_id, campaign.abandon_message) == ('"ООО Звонарь" <74952223344>', "zvonar/demo-abandon")
    assert logins == {u.login for u in DEMO_USERS}


def test_demo_command_without_serving(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "zvonar.cli", "demo", "--no-serve", "--clients", "30"],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "demo data: 30 clients imported, 0 rows rejected" in proc.stdout
    assert (tmp_path / "var" / "zvonar.sqlite3").is_file()


def test_the_banner_says_how_to_open_the_desk_as_an_operator_and_as_a_supervisor() -> None:
    text = banner(load_settings(), "127.0.0.1", 8080)
    assert "zvonar tui --server http://127.0.0.1:8080 --user ivanova" in text
    assert "zvonar tui --server http://127.0.0.1:8080 --user supervisor" in text
    # The passwords shown next to those commands are the demo users' real ones.
    for user in DEMO_USERS:
        if user.login in ("ivanova", "supervisor"):
            assert f"password {user.password}" in text


def test_every_lead_outcome_of_the_demo_script_is_a_code_of_the_demo_campaign() -> None:
    """Else the script's outcome (a meeting booked, a decision maker named) would be refused on every demo call."""
    import scripts_engine
    from scripts_engine.loader import load_script
    from zvonar.demo_data import DEMO_DISPOSITIONS

    source = (Path(scripts_engine.__file__).parent / "examples" / "cold_call_b2b.yaml").read_text(encoding="utf-8")
    script = load_script(source)
    nodes = [*script.steps, *(h.step for h in script.objections)]
    wanted = {(o.disposition, o.kind) for step in nodes for o in step.outcomes if o.kind in ("lead_done", "lead_failed")}
    codes = {d.code: d for d in DEMO_DISPOSITIONS}
    assert wanted and {code for code, _ in wanted} <= set(codes)
    assert all(codes[code].final and codes[code].success == (kind == "lead_done") for code, kind in wanted)
    assert len(codes) == len(DEMO_DISPOSITIONS), "each code once"
