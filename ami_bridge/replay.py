"""Replay recorded AMI sessions through the call tracker (``zvonar ami replay FILE``).

Two recording formats are read (see the shared ami-traces README):

* ``.jsonl`` - one record per line, ``{"t", "dir", "conn", "msg"}``: ``in`` messages
  are fed with their time, ``out`` Originates are announced with
  ``originate_sent``, and a new connection (``conn`` changes, or a ``meta``
  record) is a dropped link: ``connection_lost``, then the CoreShowChannels /
  Status listing that follows goes to ``resync`` - exactly what the live bridge does.
* ``.raw`` - the bytes Asterisk sent; no clock, so times come out as None and talk
  time is what Asterisk itself reported. Later connections of the same session,
  stored beside it as ``<name>.conn2.raw``, ``<name>.conn3.raw``..., are replayed after it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from .calls.model import CallEnded, TrackerUpdate
from .calls.tracker import CallTracker
from .protocol import AmiParser, Message

log = logging.getLogger(__name__)

_LISTING_ITEMS = {"CoreShowChannel", "Status"}
_LISTING_ENDS = {"CoreShowChannelsComplete", "StatusComplete"}
_CONN_SUFFIX = re.compile(r"\.conn(\d+)\.raw$")
_READ_SIZE = 65536
_BAD_LINES_LOGGED = 5


class _Session:
    """Drives one tracker the way the live bridge does; collects finished calls."""

    def __init__(self, tracker: CallTracker | None = None) -> None:
        self.tracker = tracker or CallTracker()
        self.finished: list[dict[str, Any]] = []
        self._listing: list[Message] = []
        self._last_t: float | None = None

    def event(self, msg: Mapping[str, Any], t: float | None) -> None:
        self._last_t = t if t is not None else self._last_t
        name = msg.get("Event")
        if name in _LISTING_ITEMS:
            self._listing.append(dict(msg))
            return
        if name in _LISTING_ENDS:
            self._collect(self.tracker.resync(self._listing, t))
            self._listing = []
            return
        if name is not None:
            self._collect(self.tracker.feed(msg, t))

    def originate(self, action: Mapping[str, Any], t: float | None) -> None:
        self._collect(self.tracker.originate_sent(action, t))

    def link_lost(self, t: float | None) -> None:
        self._listing = []
        self._collect(self.tracker.connection_lost(t))

    def close(self) -> list[dict[str, Any]]:
        self._collect(self.tracker.drain(self._last_t))
        return self.finished

    def _collect(self, updates: list[TrackerUpdate]) -> None:
        for update in updates:
            if isinstance(update, CallEnded):
                self.finished.append(update.call.to_json())


def replay_records(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Replay ami-traces ``.jsonl`` records; return the finished calls (``to_json`` dicts)."""
    session = _Session()
    conn: object = None
    link_up = False
    for record in records:
        direction = record.get("dir")
        msg = record.get("msg")
        t = record.get("t")
        if not isinstance(t, (int, float)):
            t = None
        if direction == "meta":
            if link_up:
                session.link_lost(t)
                link_up = False
            continue
        if not isinstance(msg, Mapping):
            log.warning("ami.replay.record_skipped reason=no_msg")
            continue
        record_conn = record.get("conn")
        if record_conn != conn:
            if conn is not None and link_up:
                session.link_lost(t)
            conn = record_conn
            link_up = True
        if direction == "in":
            session.event(msg, t)
        elif direction == "out" and str(msg.get("Action", "")).lower() == "originate":
            session.originate(msg, t)
    return session.close()


class NotATrace(ValueError):
    """The file has lines but none of them is a trace record."""


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Records of a ``.jsonl`` trace; lines that are not JSON objects are logged and skipped.

    Raises ``NotATrace`` at the end if no line at all was a record (e.g. a ``.raw`` capture).
    """
    good = bad = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                record, reason = None, f"{exc.msg} at column {exc.colno}"
            else:
                reason = "not an object"
            if isinstance(record, dict):
                good += 1
                yield record
                continue
            bad += 1
            if bad <= _BAD_LINES_LOGGED:
                log.warning("ami.replay.bad_line path=%s line=%d error=%s", path, number, reason)
    if bad > _BAD_LINES_LOGGED:
        log.warning("ami.replay.bad_lines path=%s skipped=%d", path, bad)
    if bad and not good:
        raise NotATrace(f"{path}: none of its {bad} lines is a JSON trace record (a .raw capture needs --raw)")


def replay_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Replay a ``.jsonl`` trace file; return the finished calls."""
    return replay_records(read_jsonl(path))


def connection_files(path: str | Path) -> list[Path]:
    """``X.raw`` plus its later connections ``X.conn2.raw``, ``X.conn3.raw``... in order."""
    first = Path(path)
    if _CONN_SUFFIX.search(first.name) or first.suffix != ".raw":
        return [first]
    stem = first.name[: -len(".raw")]
    later = []
    for candidate in first.parent.glob(f"{glob_escape(stem)}.conn*.raw"):
        match = _CONN_SUFFIX.search(candidate.name)
        if match and candidate.name == f"{stem}.conn{match.group(1)}.raw":
            later.append((int(match.group(1)), candidate))
    return [first] + [p for _, p in sorted(later)]


def glob_escape(text: str) -> str:
    """Escape glob metacharacters in a file name stem."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def replay_raw(path: str | Path) -> list[dict[str, Any]]:
    """Replay a ``.raw`` capture (and its later connections); return the finished calls."""
    session = _Session()
    for index, file in enumerate(connection_files(path)):
        if index:
            session.link_lost(None)
        parser = AmiParser()
        ami_messages = 0
        with open(file, "rb") as handle:
            while chunk := handle.read(_READ_SIZE):
                for msg in parser.feed(chunk):
                    # A capture holds Asterisk's greeting or Event/Response messages; anything else is not AMI.
                    banner = msg.get("Banner")
                    ami_messages += "Event" in msg or "Response" in msg or (
                        isinstance(banner, str) and banner.startswith("Asterisk Call Manager"))
                    session.event(msg, None)
        if index == 0 and not ami_messages:
            raise NotATrace(f"{file}: not an AMI capture (no greeting, no Event or Response message)")
    return session.close()


def run_replay(path: str, raw: bool = False, out: TextIO | None = None) -> int:
    """CLI body: print one JSON object per finished call; return the exit status."""
    stream = out if out is not None else sys.stdout
    try:
        calls = replay_raw(path) if raw else replay_jsonl(path)
    except OSError as exc:
        print(f"zvonar ami replay: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except NotATrace as exc:
        print(f"zvonar ami replay: {exc}", file=sys.stderr)
        return 2
    for call in calls:
        stream.write(json.dumps(call, ensure_ascii=False) + "\n")
    return 0
