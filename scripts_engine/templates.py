"""Step texts with `{client.name}`-style placeholders, rendered in a Jinja2 sandbox.

Only `{source.field}` with an optional chain of whitelisted filters is a placeholder
(`{contact.first_name|default("коллега")}`); any other brace text, such as JSON in a
hint, stays as written. Literal text never reaches Jinja: each placeholder is turned
into its own sandboxed expression, so a brace in the text cannot break a template.
A value that is missing renders as `[source.field]` and is reported as a
TemplateProblem naming the field; nothing here raises on bad data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

# Sources a placeholder can read; "answer" is an earlier answer on the current path.
SOURCES = ("client", "contact", "operator", "custom", "answer")
FILTERS = ("upper", "lower", "capitalize", "title", "trim", "default", "join")

_CANDIDATE = re.compile(r"\{([^{}\n]{1,200})\}")
_IDENT_START = re.compile(r"\s*[A-Za-z_]")
_LITERAL = r"""(?:"[^"\\]*"|'[^'\\]*'|-?\d+(?:\.\d+)?)"""
_FILTER = rf"\|\s*([a-z_]+)\s*(?:\(\s*{_LITERAL}\s*\))?\s*"
_PLACEHOLDER = re.compile(
    rf"\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*((?:{_FILTER})*)"
)
_FILTER_NAMES = re.compile(rf"{_FILTER}")

YES_NO_WORDS = {"ru": ("да", "нет"), "uk": ("так", "ні"), "be": ("так", "не"), "en": ("yes", "no")}


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """What is wrong with one placeholder: `field` is its path ("client.region") or its text."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class Placeholder:
    source: str
    name: str
    filters: str
    has_default: bool

    @property
    def path(self) -> str:
        return f"{self.source}.{self.name}"


@dataclass(frozen=True, slots=True)
class ParsedTemplate:
    """Literal strings and placeholders in order, and what could not be read."""

    parts: tuple[str | Placeholder, ...]
    problems: tuple[TemplateProblem, ...]

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, Placeholder))


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    problems: tuple[TemplateProblem, ...] = ()


@lru_cache(maxsize=2048)
def parse_template(text: str) -> ParsedTemplate:
    """Split `text` into literals and placeholders; bad placeholders become problems."""
    parts: list[str | Placeholder] = []
    problems: list[TemplateProblem] = []
    pos = 0
    for m in _CANDIDATE.finditer(text):
        inner = m.group(1)
        if not _IDENT_START.match(inner):
            continue  # JSON, "{ }" and other brace text are literal
        raw = m.group(0)
        pm = _PLACEHOLDER.fullmatch(inner)
        if pm is None:
            problems.append(TemplateProblem(raw, "not a placeholder: write {source.field}, optionally with |filter"))
            continue
        source, name, filters = pm.group(1), pm.group(2), pm.group(3)
        if name is None:
            problems.append(TemplateProblem(raw, f"a placeholder needs a source: one of {', '.join(SOURCES)} (e.g. {{client.{source}}})"))
            continue
        if name.startswith("_"):
            problems.append(TemplateProblem(f"{source}.{name}", "a field name cannot start with '_'"))
            continue
        if source not in SOURCES:
            problems.append(TemplateProblem(f"{source}.{name}", f"unknown source '{source}': use one of {', '.join(SOURCES)}"))
            continue
        names = _FILTER_NAMES.findall(filters)
        unknown = [f for f in names if f not in FILTERS]
        if unknown:
            problems.append(TemplateProblem(f"{source}.{name}", f"unknown filter '{unknown[0]}': allowed are {', '.join(FILTERS)}"))
            continue
        if m.start() > 0 and text[m.start() - 1] == "{" and text[m.end():m.end() + 1] == "}":
            problems.append(TemplateProblem(f"{source}.{name}", "use single braces: {client.name}, not {{client.name}}"))
            continue
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        parts.append(Placeholder(source, name, filters.strip(), "default" in names))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return ParsedTemplate(tuple(parts), tuple(problems))


def display_value(value: Any, language: str = "ru") -> Any:
    """A value as it should read in a sentence; lists stay lists for `join`, None stays None."""
    if isinstance(value, bool):
        yes, no = YES_NO_WORDS.get(language, YES_NO_WORDS["en"])
        return yes if value else no
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M") if language in ("ru", "uk", "be") else value.isoformat(" ", "minutes")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y") if language in ("ru", "uk", "be") else value.isoformat()
    if isinstance(value, (list, tuple)):
        return [str(display_value(v, language)) for v in value]
    return value


def _finalize(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalize)


@lru_cache(maxsize=4096)
def _expression(source: str, name: str, filters: str):  # type: ignore[no-untyped-def]
    # Built only from tokens the placeholder regex accepted, and compiled in the sandbox anyway.
    return _ENV.from_string("{{ " + f"{source}.{name} {filters}" + " }}")


def render_text(text: str, values: Mapping[str, Mapping[str, Any]], language: str = "ru") -> Rendered:
    """Fill `text` from `values` ({"client": {...}, "answer": {...}, ...}); never raises."""
    parsed = parse_template(text)
    problems = list(parsed.problems)
    scope = {
        source: {k: display_value(v, language) for k, v in (values.get(source) or {}).items() if v is not None and v != ""}
        for source in SOURCES
    }
    out: list[str] = []
    for part in parsed.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            out.append(_expression(part.source, part.name, part.filters).render(scope))
        except UndefinedError:
            problems.append(TemplateProblem(part.path, f"no value for {{{part.path}}}"))
            out.append(f"[{part.path}]")
        except (TemplateError, TypeError, ValueError) as exc:
            problems.append(TemplateProblem(part.path, f"cannot fill {{{part.path}}}: {type(exc).__name__}"))
            out.append(f"[{part.path}]")
    return Rendered("".join(out), tuple(problems))
