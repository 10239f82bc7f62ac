"""The ``zvonar ami replay`` and ``zvonar pbx-sim`` commands, run as real subprocesses.

Every recorded trace is replayed by the CLI (``.jsonl``, and ``.raw`` with ``--raw``) and
must print the calls its ``expected.json`` designs, compared by the same rule as the
library replay (``tests/ami_bridge/test_replay_traces.py``). The runs start together in
one batch so the whole file costs a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ami_bridge.connection import AmiConnection
from ami_bridge.errors import AmiConnectError
from tests.ami_bridge.test_replay_traces import _check
from tests.ami_bridge.trace_files import trace_names, trace_path

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = {"action_id", "direction", "number", "outcome", "agent", "talk_seconds"}
PROGRAM = [sys.executable, "-m", "zvonar.cli"]
RUN_TIMEOUT = 60.0
# Garbage in the shape of nothing at all: bytes no AMI capture or JSON trace starts with.
GARBAGE = bytes(range(256)) * 8 + "\nне трасса\n".encode("cp1251")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZVONAR_")}
    env.update(extra)
    return env


def _start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*PROGRAM, *args], cwd=REPO_ROOT, env=env or _env(), text=True, encoding="utf-8",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[str]) -> Run:
    out, err = proc.communicate(timeout=RUN_TIMEOUT)
    return Run(proc.returncode, out, err)


def _error_cases(tmp: Path) -> dict[str, list[str]]:
    garbage = tmp / "garbage.jsonl"
    garbage.write_bytes(GARBAGE)
    return {
        "missing": ["ami", "replay", str(tmp / "no_such_trace.jsonl")],
        "missing_raw": ["ami", "replay", "--raw", str(tmp / "no_such_capture.raw")],
        "garbage": ["ami", "replay", str(garbage)],
        "directory": ["ami", "replay", str(tmp)],
        "raw_garbage": ["ami", "replay", "--raw", str(garbage)],
        "jsonl_as_raw": ["ami", "replay", "--raw", str(trace_path("click_to_call_busy", ".jsonl"))],
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Run]]:
    """Every replay run of this file, started at once and collected."""
    started: dict[tuple[str, str], subprocess.Popen[str]] = {}
    try:
        for name in trace_names():
            started[(name, "jsonl")] = _start("ami", "replay", str(trace_path(name, ".jsonl")))
            started[(name, "raw")] = _start("ami", "replay", "--raw", str(trace_path(name, ".raw")))
        for case, args in _error_cases(tmp_path_factory.mktemp("replay-errors")).items():
            started[(case, "error")] = _start(*args)
        yield {key: _finish(proc) for key, proc in started.items()}
    finally:
        for proc in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.mark.parametrize("kind", ["jsonl", "raw"])
@pytest.mark.parametrize("name", trace_names())
def test_replay_prints_the_designed_calls_as_json_lines(runs: dict[tuple[str, str], Run], name: str, kind: str) -> None:
    run = runs[(name, kind)]
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    calls = [json.loads(line) for line in run.out.splitlines()]
    for call in calls:
        assert isinstance(call, dict) and REQUIRED_KEYS <= set(call), call
    _check(calls, name, raw=kind == "raw")


@pytest.mark.parametrize("case", ["missing", "missing_raw", "garbage", "directory"])
def test_replay_of_a_missing_or_garbage_file_is_one_clear_error(runs: dict[tuple[str, str], Run], case: str) -> None:
    run = runs[(case, "error")]
    assert run.code != 0
    assert run.out == ""
    assert "Traceback" not in run.err
    # Warnings about skipped lines may come first; the error itself is one line naming the file.
    errors = [line for line in run.err.splitlines() if line.startswith("zvonar ami replay: ")]
    assert len(errors) == 1, run.err
    assert errors[0] == run.err.splitlines()[-1]
    name = {"missing": "no_such_trace.jsonl", "missing_raw": "no_such_capture.raw", "garbage": "garbage.jsonl",
            "directory": "replay-errors"}[case]
    assert name in errors[0], errors[0]


@pytest.mark.parametrize("case", ["raw_garbage", "jsonl_as_raw"])
def test_replay_raw_of_something_that_is_no_ami_capture_is_an_error(runs: dict[tuple[str, str], Run], case: str) -> None:
    run = runs[(case, "error")]
    assert run.code != 0 and run.out == ""
    assert run.err.splitlines()[-1].startswith("zvonar ami replay: "), run.err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _login(port: int, secret: str, proc: subprocess.Popen[str]) -> AmiConnection:
    """Log in once the simulator listens (it is polled, the process may still be starting)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RUN_TIMEOUT
    while True:
        conn = AmiConnection("127.0.0.1", port, "zvonar", secret, connect_timeout=5.0)
        try:
            await conn.connect()
            return conn
        except AmiConnectError:
            await conn.close()
            assert proc.poll() is None, f"zvonar pbx-sim exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            assert loop.time() < deadline, "zvonar pbx-sim never started listening"
            await asyncio.sleep(0.05)


async def test_pbx_sim_serves_ami_and_stops_cleanly_on_sigterm() -> None:
    port, secret = _free_port(), "Ночной-пароль-42"
    proc = _start("pbx-sim", env=_env(ZVONAR_PBX_SIM__PORT=str(port), ZVONAR_AMI__SECRET=secret))
    try:
        conn = await _login(port, secret, proc)
        try:
            pong = await conn.send_action({"Action": "Ping"})
            assert pong["Response"] == "Success" and pong["Ping"] == "Pong", pong  # type: ignore[index]
            status = await conn.send_action({"Action": "QueueStatus", "Queue": "support"}, as_list=True)
            members = [m["Location"] for m in status if m.get("Event") == "QueueMember"]  # type: ignore[union-attr]
            assert members == [f"PJSIP/{ext}" for ext in ("101", "102", "103", "104", "105")]
        finally:
            await conn.close()
        proc.send_signal(signal.SIGTERM)
        run = await asyncio.to_thread(_finish, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    assert "pbx_sim.stopped" in run.err, "the simulator's own shutdown ran"
    assert secret not in run.err


async def test_pbx_sim_on_a_busy_port_is_one_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = await asyncio.to_thread(_finish, _start("pbx-sim", "--port", str(port)))
    assert run.code != 0
    assert "Traceback" not in run.err
    assert run.err.splitlines()[-1].startswith(f"zvonar pbx-sim: cannot listen on 127.0.0.1:{port}: "), run.err
