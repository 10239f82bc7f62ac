"""Settings are built once from env and TOML; the CLI lists every verb; logs hide secrets."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from zvonar.cli import build_parser
from zvonar.logging_setup import KeyValueFormatter, mask_secrets
from zvonar.settings import load_settings
from zvonar.telephony import dialer_config


def test_env_overrides_toml_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "zvonar.toml"
    toml.write_text('default_region = "by"\nbus = "redis"\n[ami]\nhost = "10.0.0.5"\nport = 5040\n', encoding="utf-8")
    monkeypatch.setenv("ZVONAR_AMI__PORT", "5041")
    s = load_settings(toml)
    assert s.default_region == "BY" and s.bus == "redis" and s.ami.host == "10.0.0.5" and s.ami.port == 5041
    assert not s.uses_pbx_simulator


def test_dialer_timings_reach_the_campaign_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "zvonar.toml"
    toml.write_text("[dialer]\ncampaign_lease_seconds = 20\n", encoding="utf-8")
    monkeypatch.setenv("ZVONAR_DIALER__STOP_DRAIN_SECONDS", "12.5")
    config = dialer_config(load_settings(toml))
    assert (config.stop_drain_seconds, config.campaign_lease_seconds) == (12.5, 20.0)
    monkeypatch.setenv("ZVONAR_DIALER__STOP_DRAIN_SECONDS", "-1")
    with pytest.raises(ValueError, match="stop_drain_seconds"):
        load_settings(toml)


def test_the_companys_abandon_message_reaches_the_campaign_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dialer_config(load_settings()).abandon_message == ""
    monkeypatch.setenv("ZVONAR_AMI__ABANDON_MESSAGE", "ru/zvonar/company-abandon")
    assert dialer_config(load_settings()).abandon_message == "ru/zvonar/company-abandon"
    monkeypatch.setenv("ZVONAR_AMI__ABANDON_MESSAGE", "zvonar/a,ZVONAR_QUEUE=support")
    with pytest.raises(ValueError, match="abandon_message"):
        load_settings()


def test_the_session_cache_setting_reaches_the_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crm_core.api import CONTEXT_KEY
    from zvonar.app import init_app

    monkeypatch.setenv("ZVONAR_HTTP__SESSION_CACHE_SECONDS", "2.5")
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'z.sqlite3'}")
    assert init_app(settings)[CONTEXT_KEY].sessions.ttl == 2.5
    monkeypatch.setenv("ZVONAR_HTTP__SESSION_CACHE_SECONDS", "-1")
    with pytest.raises(ValueError, match="session_cache_seconds"):
        load_settings()



def test_the_call_access_setting_reaches_the_bridge_and_the_dialer(monkeypatch: pytest.MonkeyPatch) -> None:
    from zvonar.telephony import bridge_config, dialer_config

    assert bridge_config(load_settings()).call_access_seconds == 14 * 86400.0
    monkeypatch.setenv("ZVONAR_RIGHTS__CALL_ACCESS_DAYS", "0.5")
    settings = load_settings()
    assert bridge_config(settings).call_access_seconds == dialer_config(settings).call_access_seconds == 43200.0
    monkeypatch.setenv("ZVONAR_RIGHTS__CALL_ACCESS_DAYS", "-1")
    with pytest.raises(ValueError, match="call_access_days"):
        load_settings()

def test_default_store_is_sqlite_under_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZVONAR_DATABASE_URL", raising=False)
    s = load_settings()
    assert s.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'zvonar.sqlite3'}"
    assert s.uses_pbx_simulator


def test_bad_settings_are_a_clear_error(tmp_path: Path) -> None:
    env = {"ZVONAR_DEFAULT_REGION": "Russia", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "zvonar.cli", "db", "upgrade"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "default_region" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_every_verb_with_a_line() -> None:
    text = build_parser().format_help()
    for verb in ("serve", "demo", "db", "user", "import", "ami", "script", "dialer", "pbx-sim"):
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(verb + " ")), None)
        assert line is not None and len(line.split()) > 1, verb


def test_secrets_never_reach_the_log() -> None:
    record = logging.LogRecord("ami", logging.INFO, __file__, 1, "ami.login user=zvonar secret=s3cr3t password: 'hunter2'", (), None)
    line = KeyValueFormatter().format(record)
    assert "s3cr3t" not in line and "hunter2" not in line and "user=zvonar" in line
    assert mask_secrets("Authorization: Bearer abc123") == "Authorization: ***"
    assert mask_secrets("token=abc123 user=x") == "token=*** user=x"


def test_db_upgrade_cli_creates_the_sqlite_store(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "zvonar.cli", "db", "upgrade"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "database at revision" in proc.stdout
    assert (tmp_path / "var" / "zvonar.sqlite3").is_file()


def test_a_first_start_logs_our_migration_line_not_alembics_chatter(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "zvonar.cli", "db", "upgrade"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "db.upgraded" in proc.stderr and "revision=" in proc.stderr
    assert "logger=alembic" not in proc.stderr, proc.stderr


def test_script_check_cli_names_problems_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsteps: [{id: greet, next: nowhere}]\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "zvonar.cli", "script", "check", str(bad)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "step greet:" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    example = Path(__file__).resolve().parents[2] / "scripts_engine" / "examples" / "nps_feedback.yaml"
    proc = subprocess.run([sys.executable, "-m", "zvonar.cli", "script", "check", str(example)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_serve_on_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ZVONAR_PBX_SIM__PORT": "0"}
        proc = subprocess.run([sys.executable, "-m", "zvonar.cli", "serve", "--port", str(port)],
                              env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("zvonar serve: ") and "address already in use" in proc.stderr
