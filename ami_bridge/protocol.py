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

log = logging.getLogger(__name__)

Value = str | list[str]
Message = dict[str, Value]

EOL = "\r\n"
TEXT_KEY = "__text__"
"""Key under which lines without a colon (AMI v1 command output) are collected."""

_GREETING_PREFIX = "Asterisk Call Manager"


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
            text = msg.get(TEXT_KEY)
            if isinstance(text, list):
                text.append(line)
            else:
                msg[TEXT_KEY] = [line]
            continue
        if value[:1] == " ":
            value = value[1:]
        if key in msg:
            existing = msg[key]
            if isinstance(existing, list):
                existing.append(value)
            else:
                msg[key] = [existing, value]
        else:
            if key[-1:] == " " or key[:1] == " ":
                key = key.strip()
            msg[key] = value
    return msg


def _parse_lines(block: str) -> Message | None:
    """One message from its text (any mix of CRLF and LF), or None if it is blank."""
    lines = [ln.rstrip("\r") for ln in block.split("\n")]
    lines = [ln for ln in lines if ln]
    return parse_block(lines) if lines else None


class AmiParser:
    """Incremental parser: ``feed(bytes)`` returns the messages completed so far.

    The first line of a connection is the greeting (``Asterisk Call Manager/x.y``),
    returned as ``{"Banner": line}``; a capture that starts mid-stream (first line
    is a header) is parsed as messages straight away.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._greeted = False

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes from the socket; return every message they complete."""
        buffer = self._buffer + self._decoder.decode(data)
        out: list[Message] = []
        if not self._greeted:
            buffer = self._take_greeting(buffer, out)
            if not self._greeted:
                self._buffer = buffer
                return out
        if "\n\n" not in buffer:
            # Asterisk's own framing (CRLF only): split the whole read in C.
            blocks = buffer.split("\r\n\r\n")
            self._buffer = blocks.pop()
            append = out.append
            for block in blocks:
                if block:
                    lines = block.split("\r\n")
                    try:
                        msg = dict([line.split(": ", 1) for line in lines])
                    except ValueError:
                        msg = None
                    # Fallback: a repeated key, a line without ": ", or a stray bare LF.
                    if msg is None or len(msg) != len(lines) or block.count("\n") != len(lines) - 1:
                        msg = _parse_lines(block)
                        if msg is None:
                            continue
                    append(msg)
            return out
        pos = 0
        find = buffer.find
        append = out.append
        while True:
            end = find("\r\n\r\n", pos)
            if end >= 0:
                # A bare-LF terminator earlier in the buffer wins (mixed captures).
                lf = find("\n\n", pos, end)
                if lf >= 0:
                    end, skip = lf, 2
                else:
                    skip = 4
            else:
                end = find("\n\n", pos)
                if end < 0:
                    break
                skip = 2
            block = buffer[pos:end]
            pos = end + skip
            msg = _parse_lines(block)
            if msg is not None:
                append(msg)
        self._buffer = buffer[pos:] if pos else buffer
        return out

    def _take_greeting(self, buffer: str, out: list[Message]) -> str:
        while True:
            end = buffer.find("\n")
            if end < 0:
                return buffer
            first = buffer[:end].rstrip("\r")
            if not first.strip():
                # Blank lines before anything else carry nothing; drop them.
                buffer = buffer[end + 1 :]
                continue
            self._greeted = True
            if first.startswith(_GREETING_PREFIX) or ":" not in first:
                out.append({"Banner": first})
                return buffer[end + 1 :]
            return buffer

    @property
    def pending(self) -> str:
        """Text received but not yet a whole message (for diagnostics)."""
        return self._buffer


def parse_stream(data: bytes) -> list[Message]:
    """Parse a whole capture (the shared ``.raw`` format) at once."""
    return AmiParser().feed(data)
