"""Reading a script: YAML (safe, duplicate keys refused), the JSON Schema, then the model.

Every problem found is reported at once, each naming the step and the field, so an
author fixes a file in one pass. `load_script*` also runs the static checks and refuses
a script with any problem; `parse_script` stops after building the model (the checker
then says what else is wrong).
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError

from scripts_engine.fields import DEFAULT_FIELDS, KnownFields
from scripts_engine.model import (
    DEFAULT_SCALE,
    DEFAULT_TEXT_LENGTH,
    FIELD_SOURCES,
    UNARY_OPS,
    AllOf,
    Answered,
    AnyOf,
    Branch,
    Choice,
    Compare,
    Condition,
    CustomField,
    Not,
    ObjectionHandler,
    Outcome,
    Question,
    Script,
    Step,
)
from scripts_engine.problems import Problem, ScriptError

log = logging.getLogger(__name__)

MAX_SCRIPT_BYTES = 1_000_000
MAX_SCALE_SPAN = 100
_LIST_OPS = ("in", "not_in", "contains_any", "contains_all")
_SELECTORS = ("answer", *FIELD_SOURCES, "answered", "all", "any", "not")
# Which outcome fields mean something for each kind; others are refused so a typo shows.
_OUTCOME_FIELDS = {
    "callback": {"at", "in_days", "time", "timezone", "comment"},
    "meeting": {"at", "timezone", "duration_minutes", "reminder_minutes", "subject", "comment"},
    "proposal_draft": {"subject", "comment", "products_from"},
    "set_status": {"status"},
    "add_dnc": {"reason"},
    "lead_done": {"disposition", "comment"},
    "lead_failed": {"disposition", "comment"},
    "end": set(),
}
_PATTERN_WORDS = {
    "^[a-z][a-z0-9_]{0,63}$": "must be an id: lower-case Latin letters, digits and '_', starting with a letter",
    "^[A-Za-z0-9_.-]{1,64}$": "must be Latin letters, digits, '_', '.' or '-' (at most 64)",
    "^[a-z]{2}$": "must be a two-letter language code such as ru, uk, en",
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": "must be a time HH:MM, e.g. 10:30",
    "^[a-z][a-z0-9_]{0,39}$": "must be a code: lower-case Latin letters, digits and '_', starting with a letter",
    "^[a-z_][a-z0-9_]*$": "must be a field name: lower-case Latin letters, digits and '_'",
}


MAX_ALIASES = 200


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (YAML would keep the last
    silently) and caps aliases, so a nest of anchors cannot make validation run for ever."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.events.AliasEvent):
            self._aliases = getattr(self, "_aliases", 0) + 1
            if self._aliases > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_ALIASES} aliases (*name)", event.start_mark)
        return super().compose_node(parent, index)


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, (list, dict)):
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be a plain value", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} written twice (first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@lru_cache(maxsize=1)
def script_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a script, as shipped in the package."""
    text = resources.files("scripts_engine").joinpath("schema/script.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(script_schema())


def read_yaml(text: str) -> Any:
    """The YAML document in `text`; a syntax error becomes a ScriptError naming the line."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "yaml"
        what = exc.problem or exc.context or "malformed YAML"
        raise ScriptError([Problem(None, where, f"malformed YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ScriptError([Problem(None, "yaml", f"malformed YAML: {exc}")]) from None


def parse_script(text: str, source: str = "<script>") -> Script:
    """YAML text -> Script, after the schema and the per-field rules; ScriptError lists all problems."""
    try:
        data = read_yaml(text)
    except ScriptError as exc:
        raise ScriptError(exc.problems, source) from None
    problems = schema_problems(data)
    if problems:
        raise ScriptError(problems, source)
    builder = _Builder()
    script = builder.script(data)
    if builder.problems:
        raise ScriptError(builder.problems, source)
    return script


def load_script(text: str, source: str = "<script>", fields: KnownFields = DEFAULT_FIELDS) -> Script:
    """Parse and check a script; refuses (ScriptError) one with any problem at all."""
    from scripts_engine.checker import check_script

    script = parse_script(text, source)
    problems = check_script(script, fields)
    if problems:
        raise ScriptError(problems, source)
    return script


def read_script_file(path: str | Path) -> str:
    """The text of a script file (UTF-8, at most 1 MB); ScriptError when it cannot be read."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ScriptError([Problem(None, "file", f"cannot read {p}: {exc.strerror or exc}")], str(p)) from None
    if len(raw) > MAX_SCRIPT_BYTES:
        raise ScriptError([Problem(None, "file", f"larger than {MAX_SCRIPT_BYTES} bytes")], str(p))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScriptError([Problem(None, "file", f"not UTF-8 text (byte {exc.start})")], str(p)) from None


def load_script_file(path: str | Path, fields: KnownFields = DEFAULT_FIELDS) -> Script:
    """Read, parse and check a script file."""
    return load_script(read_script_file(path), str(path), fields)


# -- schema errors as problems ------------------------------------------------------------

def schema_problems(data: Any) -> list[Problem]:
    """Every JSON Schema violation in `data`, as problems naming the step and the field."""
    if not isinstance(data, Mapping):
        return [Problem(None, "document", "must be a mapping with name, language, version and steps")]
    problems: list[Problem] = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(_explain(error, data))
    # One cause can show up through several schema paths; say it once.
    return list(dict.fromkeys(problems))


def _locate(path: list[Any], data: Mapping[str, Any]) -> tuple[str | None, list[Any]]:
    if len(path) >= 2 and path[0] in ("steps", "objections") and isinstance(path[1], int):
        items = data.get(path[0])
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        step_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(step_id, str) or not step_id:
            step_id = f"{path[0]}[{path[1]}]"
        return step_id, path[2:]
    return None, path


def _join(path: list[Any], *more: str) -> str:
    out = ""
    for part in [*path, *more]:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    step_id, rest = _locate(list(error.absolute_path), data)
    v, inst, schema = error.validator, error.instance, error.schema
    if v == "required":
        missing = [p for p in error.validator_value if isinstance(inst, Mapping) and p not in inst]
        return [Problem(step_id, _join(rest, p), "is required") for p in missing]
    if v == "additionalProperties":
        known = list(schema.get("properties", {}))
        out = []
        for extra in sorted((k for k in inst if k not in known), key=str):
            close = difflib.get_close_matches(str(extra), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(known)}"
            out.append(Problem(step_id, _join(rest, str(extra)), f"unknown field{hint}"))
        return out
    field = _join(rest)
    if v == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        message = f"must be {' or '.join(_TYPE_WORDS.get(t, t) for t in expected)}, not {_show(inst)}"
        if "string" in expected and (isinstance(inst, (bool, date, datetime)) or inst is None):
            message += " (quote it: YAML reads yes/no/on/off as true/false, 2025-01-31 as a date, and ~ or an empty value as null)"
        return [Problem(step_id, field, message)]
    if v == "enum":
        return [Problem(step_id, field, f"must be one of: {', '.join(map(str, error.validator_value))}; not {_show(inst)}")]
    if v == "const":
        return [Problem(step_id, field, f"must be {_show(error.validator_value)}")]
    if v == "pattern":
        words = _PATTERN_WORDS.get(error.validator_value, f"must match {error.validator_value}")
        return [Problem(step_id, field, f"{words}; not {_show(inst)}")]
    if v in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "minProperties"):
        return [Problem(step_id, field, _LIMIT_WORDS[v].format(error.validator_value))]
    if v == "dependentRequired":
        return [Problem(step_id, _join(rest, need), f"is required with '{key}'")
                for key, needs in error.validator_value.items() if key in inst for need in needs if need not in inst]
    return [Problem(step_id, field, error.message)]


_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "array": "a list", "object": "a mapping"}
_LIMIT_WORDS = {
    "minItems": "must have at least {} item(s)", "maxItems": "must have at most {} items",
    "minLength": "must be at least {} character(s)", "maxLength": "must be at most {} characters",
    "minimum": "must be at least {}", "maximum": "must be at most {}", "minProperties": "must not be empty",
}


# -- building the model -------------------------------------------------------------------

class _Builder:
    """Turns schema-valid data into the model, collecting what the schema cannot say."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def _problem(self, step_id: str | None, field: str, message: str) -> None:
        self.problems.append(Problem(step_id, field, message))

    def script(self, data: Mapping[str, Any]) -> Script:
        steps = tuple(self.step(s, handler=False) for s in data["steps"])
        objections = tuple(
            ObjectionHandler(id=o["id"], label=o["label"], step=self.step(o, handler=True))
            for o in data.get("objections", ())
        )
        custom = tuple(CustomField(f["name"], f.get("label"), f.get("default")) for f in data.get("custom_fields", ()))
        names = [f.name for f in custom]
        for name in sorted({n for n in names if names.count(n) > 1}):
            self._problem(None, "custom_fields", f"'{name}' declared twice")
        return Script(
            name=data["name"], language=data["language"], version=str(data["version"]),
            start=data.get("start") or steps[0].id, steps=steps, objections=objections,
            custom_fields=custom, description=data.get("description"),
        )

    def step(self, d: Mapping[str, Any], handler: bool) -> Step:
        sid = d["id"]
        question = self.question(sid, d["question"]) if "question" in d else None
        branches = tuple(self.branch(sid, i, b, handler) for i, b in enumerate(d.get("branches", ())))
        outcomes = tuple(self.outcome(sid, i, o) for i, o in enumerate(d.get("outcomes", ())))
        returns = bool(d.get("return", False))
        if outcomes:
            for key in ("next", "branches", "return"):
                if key in d:
                    self._problem(sid, key, "a final step (with outcomes) has no way on: drop it or the outcomes")
        if "next" in d and returns:
            self._problem(sid, "return", "give either 'next' or 'return', not both")
        return Step(id=sid, text=d["text"], hint=d.get("hint"), question=question, next=d.get("next"),
                    returns=returns, branches=branches, outcomes=outcomes)

    def question(self, sid: str, q: Mapping[str, Any]) -> Question:
        kind = q["kind"]
        choices = tuple(Choice(c["value"], c["label"]) for c in q.get("choices", ()))
        if kind in ("single", "multi"):
            if not choices:
                self._problem(sid, "question.choices", f"a {kind} question needs choices")
            values = [c.value for c in choices]
            for value in sorted({v for v in values if values.count(v) > 1}):
                self._problem(sid, "question.choices", f"value '{value}' used twice")
        elif choices:
            self._problem(sid, "question.choices", f"only single and multi questions have choices, not {kind}")
        lo, hi = q.get("min"), q.get("max")
        if kind == "scale":
            lo = DEFAULT_SCALE[0] if lo is None else lo
            hi = DEFAULT_SCALE[1] if hi is None else hi
            for name, v in (("min", lo), ("max", hi)):
                if v != int(v):
                    self._problem(sid, f"question.{name}", "a scale has whole-number ends")
            if hi - lo > MAX_SCALE_SPAN:
                self._problem(sid, "question.max", f"a scale spans at most {MAX_SCALE_SPAN} points")
            lo, hi = int(lo), int(hi)
        elif kind != "number":
            for name in ("min", "max"):
                if name in q:
                    self._problem(sid, f"question.{name}", f"only number and scale questions have {name}, not {kind}")
        if lo is not None and hi is not None and hi <= lo:
            self._problem(sid, "question.max", "must be greater than min")
        if q.get("integer") and kind == "number":
            for name, v in (("min", lo), ("max", hi)):
                if v is not None and v != int(v):
                    self._problem(sid, f"question.{name}", "must be a whole number when integer is true")
        for name, only in (("integer", "number"), ("with_time", "date"), ("future_only", "date"), ("max_length", "text")):
            if name in q and kind != only:
                self._problem(sid, f"question.{name}", f"applies to {only} questions only, not {kind}")
        return Question(
            kind=kind, required=bool(q.get("required", True)), choices=choices, min=lo, max=hi,
            integer=bool(q.get("integer", False)) or kind == "scale", with_time=bool(q.get("with_time", False)),
            future_only=bool(q.get("future_only", False)), max_length=int(q.get("max_length", DEFAULT_TEXT_LENGTH)),
        )

    def branch(self, sid: str, i: int, b: Mapping[str, Any], handler: bool) -> Branch:
        field = f"branches[{i}]"
        returns = bool(b.get("return", False))
        if returns and not handler:
            self._problem(sid, f"{field}.return", "'return' is for objection handlers; a step goes on with 'next'")
        if ("next" in b) == returns:
            self._problem(sid, field, "give exactly one of 'next' or 'return'")
        return Branch(when=self.condition(sid, f"{field}.when", b["when"]), next=b.get("next"), returns=returns)

    def condition(self, sid: str, field: str, c: Mapping[str, Any]) -> Condition:
        selectors = [k for k in _SELECTORS if k in c]
        if len(selectors) != 1:
            what = "none" if not selectors else ", ".join(selectors)
            self._problem(sid, field, f"a condition needs exactly one of {', '.join(_SELECTORS)}; found {what}")
            return AllOf(())
        key = selectors[0]
        if key in ("answered", "all", "any", "not"):
            for extra in ("op", "value"):
                if extra in c:
                    self._problem(sid, f"{field}.{extra}", f"does not go with '{key}'")
            if key == "answered":
                return Answered(c["answered"])
            if key == "not":
                return Not(self.condition(sid, f"{field}.not", c["not"]))
            items = tuple(self.condition(sid, f"{field}.{key}[{j}]", x) for j, x in enumerate(c[key]))
            return AllOf(items) if key == "all" else AnyOf(items)
        op = c["op"]
        if op in UNARY_OPS:
            if "value" in c:
                self._problem(sid, f"{field}.value", f"'{op}' takes no value")
        elif "value" not in c:
            self._problem(sid, f"{field}.value", f"is required with op '{op}'")
        elif op in _LIST_OPS and not isinstance(c["value"], list):
            self._problem(sid, f"{field}.value", f"must be a list with op '{op}'")
        elif op not in _LIST_OPS and isinstance(c["value"], list):
            self._problem(sid, f"{field}.value", f"must be a single value with op '{op}' (a list goes with in, not_in, contains_any, contains_all)")
        value = c.get("value")
        return Compare(key, c[key], op, tuple(value) if isinstance(value, list) else value)

    def outcome(self, sid: str, i: int, o: Mapping[str, Any]) -> Outcome:
        field = f"outcomes[{i}]"
        kind = o["kind"]
        allowed = _OUTCOME_FIELDS[kind]
        for key in o:
            if key != "kind" and key not in allowed:
                self._problem(sid, f"{field}.{key}", f"does not apply to a {kind} outcome")
        if ("in_days" in o) != ("time" in o) and kind == "callback":
            self._problem(sid, f"{field}.{'time' if 'in_days' in o else 'in_days'}", "in_days and time go together")
        return Outcome(
            kind=kind, at=o.get("at"), in_days=o.get("in_days"), time=o.get("time"), timezone=o.get("timezone", "client"),
            duration_minutes=o.get("duration_minutes", 60), reminder_minutes=o.get("reminder_minutes", 60),
            subject=o.get("subject"), comment=o.get("comment"), products_from=o.get("products_from"),
            status=o.get("status"), disposition=o.get("disposition"), reason=o.get("reason"),
        )
