"""Where the shared AMI recordings live and how to read them (test helper, no tests here).

The shared folder sits beside the repository (``<repo>/../shared``) unless
``ZVONAR_SHARED_DIR`` says otherwise. A missing folder fails the tests that need
it: nothing is skipped silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MISSING = "<shared ami-traces folder missing>"


# Where a workspace keeps it when the clone is not beside it (CI clones elsewhere).
WORKSPACE_SHARED = Path("/work/shared")


def shared_dir() -> Path:
    """The shared data folder: ``ZVONAR_SHARED_DIR``, else ``<repo>/../shared``, else /work/shared."""
    configured = os.environ.get("ZVONAR_SHARED_DIR")
    if configured:
        return Path(configured)
    beside = REPO_ROOT.parent / "shared"
    return beside if beside.is_dir() or not WORKSPACE_SHARED.is_dir() else WORKSPACE_SHARED


def traces_dir() -> Path:
    return shared_dir() / "ami-traces"


def third_party_dir() -> Path:
    return shared_dir() / "third-party-ami"


def require(path: Path) -> Path:
    """``path`` if it exists, else fail the test with a message saying what is missing."""
    if not path.exists():
        pytest.fail(f"shared AMI data not found: {path} (set ZVONAR_SHARED_DIR to the shared folder)")
    return path


def trace_names() -> list[str]:
    """Every recorded scenario, subfolders included (``pjsip/click_to_call_pjsip_busy``)."""
    root = traces_dir()
    if not root.is_dir():
        return [MISSING]
    names = sorted(str(p.relative_to(root))[: -len(".jsonl")] for p in root.rglob("*.jsonl"))
    return names or [MISSING]


def raw_files() -> list[str]:
    """Every ``.raw`` capture, later connections (``.conn2.raw``) included."""
    root = traces_dir()
    if not root.is_dir():
        return [MISSING]
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*.raw"))
    return names or [MISSING]


def trace_path(name: str, suffix: str) -> Path:
    if name == MISSING:
        pytest.fail(f"shared AMI traces not found under {traces_dir()} (set ZVONAR_SHARED_DIR)")
    return require(traces_dir() / f"{name}{suffix}")


def records(name: str) -> list[dict[str, Any]]:
    """The ``.jsonl`` records of a scenario."""
    with open(trace_path(name, ".jsonl"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def events(name: str) -> list[tuple[float, dict[str, Any]]]:
    """``(t, msg)`` of every event Asterisk sent in a scenario (responses left out)."""
    return [(r["t"], r["msg"]) for r in records(name) if r["dir"] == "in" and "Event" in r["msg"]]


def expected(name: str) -> list[dict[str, Any]]:
    with open(trace_path(name, ".expected.json"), encoding="utf-8") as handle:
        return json.load(handle)
