"""What the desk keeps on the operator's disk: the call in progress, the script session, the outbox.

So a crashed or restarted terminal comes back where it was: the same client card, the
script session resumed from the server, the wrap-up still due, unsent requests still
pending. One small JSON file per server and login, written whole and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "zvonar"


class LocalState:
    """A JSON document on disk for one login on one server."""

    def __init__(self, directory: Path, server: str, login: str) -> None:
        key = hashlib.sha1(f"{server}|{login}".encode()).hexdigest()[:12]
        self.path = Path(directory) / f"desk-{login}-{key}.json"
        self.data: dict[str, Any] = {}

    def load(self) -> dict[str, Any]:
        try:
            self.data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            self.data = {}
        except (OSError, ValueError) as exc:
            # A damaged file must not keep the operator out; what it held is logged.
            log.warning("desk.state_unreadable path=%s error=%s", self.path, exc)
            self.data = {}
        return self.data

    def update(self, **values: Any) -> None:
        self.data.update(values)
        self.save()

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1), "utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("desk.state_not_saved path=%s error=%s", self.path, exc)
