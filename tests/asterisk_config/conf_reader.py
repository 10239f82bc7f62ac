"""A small reader for Asterisk .conf files, enough to check Zvonar's asterisk-config/.

It follows main/config.c where it matters for these files: ``[section]``,
templates ``[name](!)`` and ``[name](!,tpl1,tpl2)``, ``key = value`` and
``key => value`` (the same thing to Asterisk), ``;`` comments with ``\\;`` as a
literal semicolon, ``;-- block --;`` comments, repeated section names (pjsip.conf
uses them for objects of different types). ``#include`` / ``#exec`` and ``(+)``
sections are refused with a clear error rather than half understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*(?:\((?P<opts>[^)]*)\))?\s*$")


class ConfSyntaxError(ValueError):
    """A line this reader (and Asterisk) cannot make sense of; names file and line."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}")
        self.filename = filename
        self.line = line


@dataclass(frozen=True)
class Entry:
    """One ``key = value`` / ``key => value`` line."""

    key: str
    value: str
    arrow: bool
    line: int


@dataclass
class Section:
    """A ``[name]`` block; ``entries`` has the inherited template entries first."""

    name: str
    line: int
    is_template: bool
    templates: tuple[str, ...]
    own: list[Entry] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        """The last value of ``key`` (what a single-valued option ends up as), or None."""
        values = self.get_all(key)
        return values[-1] if values else None

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in order (allow, member, permit, ...)."""
        return [e.value for e in self.entries if e.key.lower() == key.lower()]


@dataclass
class ConfFile:
    """The sections of one file, in file order."""

    filename: str
    sections: list[Section]

    def concrete(self) -> list[Section]:
        """Sections Asterisk acts on: everything except templates."""
        return [s for s in self.sections if not s.is_template]

    def named(self, name: str) -> list[Section]:
        """Concrete sections called ``name`` (pjsip.conf may have several)."""
        return [s for s in self.concrete() if s.name == name]

    def of_type(self, type_: str) -> list[Section]:
        """Concrete sections whose ``type`` option is ``type_`` (pjsip.conf)."""
        return [s for s in self.concrete() if s.get("type") == type_]


def _strip_comment(raw: str, in_block: bool) -> tuple[str, bool]:
    """Remove comments from one line; returns the text and whether a block comment is open."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if in_block:
            end = raw.find("--;", i)
            if end < 0:
                return "".join(out), True
            i = end + 3
            in_block = False
            continue
        ch = raw[i]
        if ch == "\\" and raw.startswith(";", i + 1):
            out.append(";")
            i += 2
        elif raw.startswith(";--", i):
            in_block = True
            i += 3
        elif ch == ";":
            break
        else:
            out.append(ch)
            i += 1
    return "".join(out), in_block


def parse_conf(text: str, filename: str) -> ConfFile:
    """Parse the text of one .conf file; raise ConfSyntaxError on anything unreadable."""
    sections: list[Section] = []
    current: Section | None = None
    in_block = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line, in_block = _strip_comment(raw, in_block)
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            raise ConfSyntaxError(filename, lineno, f"directive {line.split()[0]!r} is not supported here")
        if line.startswith("["):
            current = _new_section(line, lineno, filename, sections)
            sections.append(current)
            continue
        key, arrow, value = _split_assignment(line, lineno, filename)
        if current is None:
            raise ConfSyntaxError(filename, lineno, f"{key!r} set before any [section]")
        entry = Entry(key=key, value=value, arrow=arrow, line=lineno)
        current.own.append(entry)
        current.entries.append(entry)
    if in_block:
        raise ConfSyntaxError(filename, len(text.splitlines()), "block comment ';--' is never closed with '--;'")
    return ConfFile(filename=filename, sections=sections)


def _new_section(line: str, lineno: int, filename: str, earlier: list[Section]) -> Section:
    match = _SECTION.match(line)
    if not match:
        raise ConfSyntaxError(filename, lineno, f"malformed section header {line!r}")
    opts = [o.strip() for o in (match.group("opts") or "").split(",") if o.strip()]
    if "+" in opts:
        raise ConfSyntaxError(filename, lineno, "'(+)' (append to a section) is not supported here")
    is_template = "!" in opts
    templates = tuple(o for o in opts if o != "!")
    section = Section(name=match.group("name").strip(), line=lineno, is_template=is_template, templates=templates)
    for tpl in templates:
        found = [s for s in earlier if s.name == tpl]
        if not found:
            raise ConfSyntaxError(filename, lineno, f"template {tpl!r} is not defined above this line")
        if len(found) > 1:
            raise ConfSyntaxError(filename, lineno, f"template {tpl!r} is ambiguous: defined {len(found)} times")
        section.entries.extend(found[0].entries)
    return section


def _split_assignment(line: str, lineno: int, filename: str) -> tuple[str, bool, str]:
    eq = line.find("=")
    if eq <= 0:
        raise ConfSyntaxError(filename, lineno, f"expected 'key = value' or 'key => value', got {line[:40]!r}")
    arrow = line.startswith("=>", eq)
    key = line[:eq].strip()
    value = line[eq + (2 if arrow else 1):].strip()
    if not key:
        raise ConfSyntaxError(filename, lineno, f"empty key in {line[:40]!r}")
    return key, arrow, value


def read_conf(path: Path) -> ConfFile:
    """Read and parse one .conf file (UTF-8, as Asterisk reads Cyrillic names)."""
    return parse_conf(path.read_text(encoding="utf-8"), path.name)
