"""Dialplan steps out of a parsed extensions.conf: which application runs with which arguments.

Only what the contract checks need: ``exten => <exten>,<prio>[(label)],App(args)``
and ``same => <prio>[(label)],App(args)``, with arguments split the way
Asterisk splits them (commas at the top level, not inside parentheses,
brackets or quotes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.asterisk_config.conf_reader import ConfSyntaxError, Section

_PRIORITY = re.compile(r"^(?P<prio>n|\d+|hint)(?:\((?P<label>[^)]*)\))?$")
_APP = re.compile(r"^(?P<app>[A-Za-z][A-Za-z0-9_]*)(?:\((?P<args>.*)\))?$", re.DOTALL)


@dataclass(frozen=True)
class Step:
    """One priority of one extension."""

    context: str
    exten: str
    priority: str
    label: str | None
    app: str
    args: tuple[str, ...]
    line: int


def split_args(data: str, sep: str = ",") -> list[str]:
    """Split application data on ``sep`` outside (), [], {} and double quotes, like Asterisk."""
    parts: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == "\\" and i + 1 < len(data):
            current.append(data[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}" and depth:
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def steps(context: Section, filename: str = "extensions.conf") -> list[Step]:
    """Every ``exten =>`` / ``same =>`` step of one context, in file order."""
    out: list[Step] = []
    exten: str | None = None
    for entry in context.own:
        key = entry.key.lower()
        if key not in ("exten", "same"):
            continue
        fields = split_args(entry.value)
        if key == "exten":
            if len(fields) < 3:
                raise ConfSyntaxError(filename, entry.line, f"exten needs <exten>,<priority>,<app>: {entry.value!r}")
            exten, prio_field, app_fields = fields[0].strip(), fields[1].strip(), fields[2:]
        else:
            if exten is None:
                raise ConfSyntaxError(filename, entry.line, "'same =>' before any 'exten =>'")
            prio_field, app_fields = fields[0].strip(), fields[1:]
        prio = _PRIORITY.match(prio_field)
        if not prio:
            raise ConfSyntaxError(filename, entry.line, f"bad priority {prio_field!r}")
        if prio.group("prio") == "hint":
            continue
        app_text = ",".join(app_fields).strip()
        app = _APP.match(app_text)
        if not app:
            raise ConfSyntaxError(filename, entry.line, f"bad application call {app_text!r}")
        data = app.group("args")
        args = tuple(split_args(data)) if data else ()  # Hangup() and Hangup carry no data
        out.append(
            Step(
                context=context.name,
                exten=exten,
                priority=prio.group("prio"),
                label=prio.group("label"),
                app=app.group("app"),
                args=args,
                line=entry.line,
            )
        )
    return out
