"""The AMI wire format, pure: bytes in -> messages out, messages in -> bytes out.

Asterisk speaks CRLF-separated ``Key: Value`` lines; a blank line ends a message,
except the greeting, which is a single line. Bytes are decoded incrementally, so a
multi-byte UTF-8 character split across TCP reads is never mangled (panoramisk 1.4
decodes each read on its own with errors ignored and loses Cyrillic letters).
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterable, Mapping
from typing import Union

log = logging.getLogger(__name__)

Value = Union[str, list[str]]
Message = dict[str, Value]

EOL = "\r\n"


class UnsafeAmiValue(ValueError):
    """A key or value would break the AMI framing (CR, LF or a colon in a key)."""


def check_field(key: str, value: object) -> str:
    """Return ``value`` as a string, refusing anything that could inject AMI lines."""
    text = str(value)
    if "\r" in key or "\n" in key or ":" in key or not key.strip():
        raise UnsafeAmiValue(f"AMI header name {key!r} is not allowed")
    if "\r" in text or "\n" in text:
        raise UnsafeAmiValue(f"AMI field {key!r} contains a line break")
    return text


def encode_action(action: Mapping[str, object]) -> bytes:
    """Serialise one action (an ordered mapping; list values repeat the key)."""
    lines: list[str] = []
    for key, value in action.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            lines.append(f"{key}: {check_field(key, item)}")
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")


def parse_block(lines: Iterable[str]) -> Message:
    """Turn the lines of one message into a dict; a repeated key becomes a list."""
    msg: Message = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if not sep:
            # Command output and other free text (AMI v1 "--END COMMAND--" bodies).
            msg.setdefault("__text__", [])
            assert isinstance(msg["__text__"], list)
            msg["__text__"].append(line)
            continue
        key = key.strip()
        value = value[1:] if value.startswith(" ") else value
        if key in msg:
            existing = msg[key]
            if isinstance(existing, list):
                existing.append(value)
            else:
                msg[key] = [existing, value]
        else:
            msg[key] = value
    return msg


class AmiParser:
    """Incremental parser: ``feed(bytes)`` returns the messages completed so far."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._greeted = False

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += self._decoder.decode(data)
        out: list[Message] = []
        if not self._greeted:
            end = self._buffer.find("\n")
            if end < 0:
                return out
            first = self._buffer[:end].rstrip("\r")
            if ":" in first and not first.startswith("Asterisk Call Manager"):
                # No greeting (a capture started mid-stream): parse as messages.
                self._greeted = True
            else:
                self._greeted = True
                self._buffer = self._buffer[end + 1 :]
                out.append({"Banner": first})
        while True:
            end, skip = self._find_terminator()
            if end < 0:
                break
            block = self._buffer[:end]
            self._buffer = self._buffer[end + skip :]
            lines = [ln.rstrip("\r") for ln in block.split("\n")]
            lines = [ln for ln in lines if ln]
            if not lines:
                continue
            try:
                out.append(parse_block(lines))
            except Exception:  # pragma: no cover - parse_block is total; keep the stream alive anyway
                log.warning("ami.parse.skipped block=%r", block[:200])
        return out

    def _find_terminator(self) -> tuple[int, int]:
        crlf = self._buffer.find("\r\n\r\n")
        lf = self._buffer.find("\n\n")
        if crlf < 0 and lf < 0:
            return -1, 0
        if crlf >= 0 and (lf < 0 or crlf <= lf):
            return crlf, 4
        return lf, 2

    @property
    def pending(self) -> str:
        """Text received but not yet a whole message (for diagnostics)."""
        return self._buffer


def parse_stream(data: bytes) -> list[Message]:
    """Parse a whole capture (the shared ``.raw`` format) at once."""
    return AmiParser().feed(data)
