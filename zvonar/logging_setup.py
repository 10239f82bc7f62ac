"""Structured logging: one line per record, key=value or JSON, secrets masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

# Any "secret=...", "password: ..." or "Secret: ..." pair that slips into a message is masked.
_SECRET_RE = re.compile(r"(?i)\b(secret|password|token|authorization)(\s*[=:]\s*)((?:Bearer|Basic)\s+\S+|\"[^\"]*\"|'[^']*'|\S+)")


def mask_secrets(text: str) -> str:
    """Replace the value of any secret-looking key=value pair with ``***``."""
    return _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        line = f"ts={ts} level={record.levelname.lower()} logger={record.name} msg={record.getMessage()}"
        if record.exc_info:
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return mask_secrets(line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_secrets(record.getMessage()),
        }
        if record.exc_info:
            data["exc"] = mask_secrets(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def configure_logging(fmt: str = "kv", level: str = "INFO") -> None:
    """Install the one handler on the root logger (stderr)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log line is noisy at INFO in the demo; keep warnings.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Alembic narrates its plugin set-up and DDL mode at INFO on every start; our own
    # db.upgraded line says which revision the store is at.
    logging.getLogger("alembic").setLevel(logging.WARNING)
