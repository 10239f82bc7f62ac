"""The script runner: a pure state machine over immutable states.

(script, the call's data, what happened so far) -> the current step as rendered text
and the input it expects; an answer in -> validated -> the next step. Every action
returns a new RunnerState and leaves the old one untouched, so a refused action
changes nothing, and a call is resumed by replaying its stored protocol.

The protocol is append-only: each action adds entries (numbered from 1). Going back
adds a "back" entry and marks the entries of the abandoned branch superseded; nothing
is deleted. `protocol_changes` gives a store exactly what to insert and what to mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from crm_core.regions import client_timezone
from scripts_engine.answers import AnswerRejected, RunnerError, validate_answer
from scripts_engine.conditions import evaluate
from scripts_engine.model import Choice, Outcome, Script, Step
from scripts_engine.templates import TemplateProblem, render_text

__all__ = [
    "AnswerRejected",
    "InputSpec",
    "ProtocolEntry",
    "ResolvedOutcome",
    "RunnerError",
    "RunnerState",
    "ScriptContext",
    "StepView",
    "answer",
    "answers",
    "back",
    "current",
    "finish",
    "jump_objection",
    "outcomes",
    "protocol",
    "protocol_changes",
    "resume",
    "return_from_objection",
    "start",
]

ENTRY_KINDS = ("shown", "answer", "back", "objection", "return", "outcome")


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ScriptContext:
    """The call's data: the client card, the contact person, the operator, custom values.

    `phone` is the number being talked to (for add_dnc); `today` is the call's day in
    the client's zone (for `in_days` callbacks and `future_only` dates), given by the caller.
    """

    client: Mapping[str, Any] = field(default_factory=dict)
    contact: Mapping[str, Any] = field(default_factory=dict)
    operator: Mapping[str, Any] = field(default_factory=dict)
    custom: Mapping[str, Any] = field(default_factory=dict)
    phone: str | None = None
    today: date | None = None

    def __post_init__(self) -> None:
        for name in ("client", "contact", "operator", "custom"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScriptContext:
        """From {"client": {...}, "contact": {...}, "operator": {...}, "custom": {...}, "phone", "today"}."""
        today = data.get("today")
        if isinstance(today, str):
            try:
                today = date.fromisoformat(today)
            except ValueError:
                raise RunnerError(None, "today", f"'{today[:40]}' is not a date YYYY-MM-DD", "bad_context") from None
        for name in ("client", "contact", "operator", "custom"):
            if data.get(name) is not None and not isinstance(data.get(name), Mapping):
                raise RunnerError(None, name, "must be a mapping of field names to values", "bad_context")
        phone = data.get("phone")
        return cls(client=data.get("client") or {}, contact=data.get("contact") or {},
                   operator=data.get("operator") or {}, custom=data.get("custom") or {},
                   phone=str(phone) if phone is not None else None, today=today)

    def fields(self, script: Script) -> dict[str, Mapping[str, Any]]:
        """The field sources as conditions and templates read them; custom defaults filled in."""
        custom = {f.name: f.default for f in script.custom_fields if f.default is not None}
        custom.update({k: v for k, v in self.custom.items() if v is not None and v != ""})
        return {"client": self.client, "contact": self.contact, "operator": self.operator, "custom": custom}


@dataclass(frozen=True, slots=True)
class ProtocolEntry:
    """One row of the call protocol.

    kind: "shown" (a step put on screen, with its rendered text), "answer" (the value,
    null for a skipped question or a step with none, and `route`: which way on was
    taken), "back" (the step reopened), "objection" (raised on `step_id`; `value` is the
    handler's id), "return" (left the handler `step_id` without answering it),
    "outcome" (what the final step `step_id` does, in `outcome`).
    """

    seq: int
    kind: str
    step_id: str
    text: str | None = None
    value: Any = None
    route: str | None = None
    superseded: bool = False
    outcome: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "step": self.step_id, "text": self.text, "value": self.value,
                "route": self.route, "superseded": self.superseded,
                "outcome": dict(self.outcome) if self.outcome is not None else None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ProtocolEntry:
        if not isinstance(d, Mapping) or d.get("kind") not in ENTRY_KINDS or not isinstance(d.get("seq"), int):
            raise RunnerError(None, "protocol", f"not a protocol entry: {str(d)[:80]}", "bad_entry")
        return cls(seq=d["seq"], kind=d["kind"], step_id=str(d.get("step") or d.get("step_id") or ""),
                   text=d.get("text"), value=d.get("value"), route=d.get("route"),
                   superseded=bool(d.get("superseded", False)), outcome=d.get("outcome"))


@dataclass(frozen=True, slots=True)
class ResolvedOutcome:
    """An outcome with its values filled in from the answers and the call's data.

    params by kind: callback {local_time, timezone, timezone_basis, in_days, time, comment};
    meeting {local_time, timezone, timezone_basis, duration_minutes, reminder_minutes,
    subject, comment}; proposal_draft {subject, comment, products (choice values), product_names
    (their labels)}; set_status {status};
    add_dnc {phone, reason}; lead_done / lead_failed {disposition, comment}; end {}.
    local_time is "YYYY-MM-DDTHH:MM" in `timezone` (None when the zone is unknown).
    """

    kind: str
    params: Mapping[str, Any]
    problems: tuple[TemplateProblem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, **self.params}
        if self.problems:
            out["problems"] = [{"field": p.field, "message": p.message} for p in self.problems]
        return out


@dataclass(frozen=True, slots=True)
class InputSpec:
    """What the current step expects from the operator."""

    kind: str
    required: bool
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    integer: bool = False
    with_time: bool = False
    future_only: bool = False
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class StepView:
    """The current step as the operator sees it; `input` None means "go on" with no value."""

    step_id: str
    text: str
    hint: str | None
    input: InputSpec | None
    terminal: bool
    outcome_kinds: tuple[str, ...]
    objection: str | None
    objections: tuple[tuple[str, str], ...]
    can_back: bool
    finished: bool
    problems: tuple[TemplateProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class Visit:
    """One stay on a step along the active path."""

    node_id: str
    shown_seq: int
    origin: int | None = None  # index of the visit an objection returns to
    answered: bool = False
    value: Any = None
    leave_seq: int | None = None  # the entry that left this step (answer, objection, return)


@dataclass(frozen=True)
class RunnerState:
    """Where a call is in its script; immutable, compared by value."""

    script: Script = field(compare=False)
    context: ScriptContext
    visits: tuple[Visit, ...]
    entries: tuple[ProtocolEntry, ...]
    finished: bool = False
    outcomes: tuple[ResolvedOutcome, ...] = ()


# -- the actions --------------------------------------------------------------------------

def start(script: Script, context: ScriptContext) -> RunnerState:
    """A new run on the script's first step."""
    state = RunnerState(script=script, context=context, visits=(), entries=())
    return _show(state, script.start, origin=None)


def current(state: RunnerState) -> StepView:
    """The step on screen now (after the end: the final step, `finished` set)."""
    visit = state.visits[-1]
    step = _node(state, visit.node_id)
    values = _template_values(state)
    text = render_text(step.text, values, state.script.language)
    hint = render_text(step.hint, values, state.script.language) if step.hint else None
    q = step.question
    spec = None
    if q is not None and not state.finished:
        spec = InputSpec(kind=q.kind, required=q.required, choices=q.choices, min=q.min, max=q.max,
                         integer=q.integer, with_time=q.with_time, future_only=q.future_only,
                         max_length=q.max_length if q.kind == "text" else None)
    handler = state.script.objection(visit.node_id)
    return StepView(
        step_id=step.id, text=text.text, hint=hint.text if hint else None, input=spec, terminal=step.terminal,
        outcome_kinds=tuple(o.kind for o in step.outcomes), objection=handler.label if handler else None,
        objections=() if state.finished else tuple((h.id, h.label) for h in state.script.objections),
        can_back=len(state.visits) > 1 and not state.finished, finished=state.finished,
        problems=text.problems + (hint.problems if hint else ()),
    )


def answer(state: RunnerState, step_id: str, value: Any = None) -> RunnerState:
    """Answer the current step (None: skip an optional question, or go on from a text step)."""
    visit = _current_visit(state, step_id)
    step = _node(state, step_id)
    stored = validate_answer(step_id, step.question, value, state.context.today)
    given = dict(answers(state))
    given[step_id] = stored
    fields = state.context.fields(state.script)
    if step.terminal:
        route, target, returns = "outcomes", None, False
    else:
        route, target, returns = _route(step, given, fields)
    state, seq = _append(state, ProtocolEntry(0, "answer", step_id, value=stored, route=route))
    left = replace(visit, answered=True, value=stored, leave_seq=seq)
    state = replace(state, visits=state.visits[:-1] + (left,))
    if step.terminal:
        return _finish(state, step)
    if returns:
        return _return_to(state, visit)
    assert target is not None
    return _show(state, target, origin=None)


def finish(state: RunnerState) -> RunnerState:
    """End on a final step that asks nothing (or only an optional question)."""
    if state.finished:
        raise RunnerError(state.visits[-1].node_id, "step", "the script is already finished", "finished")
    step = _node(state, state.visits[-1].node_id)
    if not step.terminal:
        raise RunnerError(step.id, "step", "not a final step: answer it to go on", "not_final")
    return answer(state, step.id, None)


def back(state: RunnerState) -> RunnerState:
    """Reopen the step before this one; what it led to is kept, marked superseded."""
    if state.finished:
        raise RunnerError(state.visits[-1].node_id, "back", "the script is finished; its outcomes stand", "finished")
    if len(state.visits) < 2:
        raise RunnerError(state.visits[-1].node_id, "back", "this is the first step: nothing to go back to", "at_start")
    dropped, previous = state.visits[-1], state.visits[-2]
    superseded = {dropped.shown_seq}
    if previous.leave_seq is not None:
        superseded.add(previous.leave_seq)
    entries = tuple(replace(e, superseded=True) if e.seq in superseded else e for e in state.entries)
    reopened = replace(previous, answered=False, value=None, leave_seq=None)
    state = replace(state, entries=entries, visits=state.visits[:-2] + (reopened,))
    state, _ = _append(state, ProtocolEntry(0, "back", previous.node_id))
    return state


def jump_objection(state: RunnerState, handler_id: str) -> RunnerState:
    """Leave the current step for an objection handler; its `return` comes back here."""
    visit = _current_visit(state, None)
    handler = state.script.objection(handler_id)
    if handler is None:
        known = ", ".join(h.id for h in state.script.objections) or "none"
        raise RunnerError(visit.node_id, "objection", f"unknown objection '{handler_id}'; known: {known}", "unknown_objection")
    if handler_id == visit.node_id:
        raise RunnerError(visit.node_id, "objection", "already on this objection", "same_objection")
    state, seq = _append(state, ProtocolEntry(0, "objection", visit.node_id, value=handler_id))
    state = replace(state, visits=state.visits[:-1] + (replace(visit, leave_seq=seq),))
    return _show(state, handler_id, origin=len(state.visits) - 1)


def return_from_objection(state: RunnerState) -> RunnerState:
    """Leave the current objection handler without answering it, back where it was raised."""
    visit = _current_visit(state, None)
    if visit.origin is None:
        raise RunnerError(visit.node_id, "return", "not in an objection raised from a step", "not_in_objection")
    state, seq = _append(state, ProtocolEntry(0, "return", visit.node_id))
    left = replace(visit, leave_seq=seq)
    state = replace(state, visits=state.visits[:-1] + (left,))
    return _return_to(state, left)


def answers(state: RunnerState) -> dict[str, Any]:
    """The answers on the active path, by step id (a step visited twice: the latest)."""
    return {v.node_id: v.value for v in state.visits if v.answered}


def outcomes(state: RunnerState) -> tuple[ResolvedOutcome, ...]:
    """What the finished run does (empty until it is finished)."""
    return state.outcomes


def protocol(state: RunnerState) -> list[ProtocolEntry]:
    """Every entry so far, superseded ones included, in order."""
    return list(state.entries)


def protocol_changes(before: RunnerState, after: RunnerState) -> tuple[list[ProtocolEntry], list[int]]:
    """What an action changed: the new entries to insert, and the seqs of older ones now superseded."""
    n = len(before.entries)
    same = [(e.seq, e.kind, e.step_id) for e in before.entries] == [(e.seq, e.kind, e.step_id) for e in after.entries[:n]]
    if not same:
        raise ValueError("`after` does not follow from `before`")
    newly = [a.seq for a, b in zip(after.entries[:n], before.entries, strict=True) if a.superseded and not b.superseded]
    return list(after.entries[n:]), newly


def resume(script: Script, context: ScriptContext, entries: Iterable[ProtocolEntry | Mapping[str, Any]]) -> RunnerState:
    """Rebuild a run from its stored protocol by replaying the operator's actions."""
    stored = [e if isinstance(e, ProtocolEntry) else ProtocolEntry.from_dict(e) for e in entries]
    stored.sort(key=lambda e: e.seq)
    state = start(script, context)
    for entry in stored:
        if entry.kind == "answer":
            state = answer(state, entry.step_id, entry.value)
        elif entry.kind == "back":
            state = back(state)
        elif entry.kind == "objection":
            state = jump_objection(state, str(entry.value))
        elif entry.kind == "return":
            state = return_from_objection(state)
    replayed = [(e.seq, e.kind, e.step_id) for e in state.entries]
    given = [(e.seq, e.kind, e.step_id) for e in stored]
    if replayed != given:
        at = next((i for i, (a, b) in enumerate(zip(replayed, given)) if a != b), min(len(replayed), len(given)))
        got = given[at] if at < len(given) else None
        want = replayed[at] if at < len(replayed) else None
        raise RunnerError(got[2] if got else None, "protocol",
                          f"the stored protocol does not replay on this script at entry {at + 1}: stored {got}, replay gives {want}",
                          "resume_mismatch")
    return state


# -- inside ---------------------------------------------------------------------------------

def _node(state: RunnerState, node_id: str) -> Step:
    step = state.script.node(node_id)
    if step is None:
        raise RunnerError(node_id, "step", "no such step in the script", "unknown_step")
    return step


def _current_visit(state: RunnerState, step_id: str | None) -> Visit:
    visit = state.visits[-1]
    if state.finished:
        raise RunnerError(step_id or visit.node_id, "step", "the script is already finished", "finished")
    if step_id is not None and step_id != visit.node_id:
        raise AnswerRejected(step_id, "step", f"not the current step; the current one is '{visit.node_id}'", "not_current")
    return visit


def _append(state: RunnerState, entry: ProtocolEntry) -> tuple[RunnerState, int]:
    seq = len(state.entries) + 1
    return replace(state, entries=state.entries + (replace(entry, seq=seq),)), seq


def _show(state: RunnerState, node_id: str, origin: int | None) -> RunnerState:
    step = _node(state, node_id)
    text = render_text(step.text, _template_values(state), state.script.language).text
    state, seq = _append(state, ProtocolEntry(0, "shown", node_id, text=text))
    return replace(state, visits=state.visits + (Visit(node_id, seq, origin),))


def _return_to(state: RunnerState, handler_visit: Visit) -> RunnerState:
    assert handler_visit.origin is not None
    origin = state.visits[handler_visit.origin]
    return _show(state, origin.node_id, origin=origin.origin)


def _route(step: Step, given: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> tuple[str, str | None, bool]:
    for i, branch in enumerate(step.branches):
        if evaluate(branch.when, given, fields):
            return f"branches[{i}]", branch.next, branch.returns
    if step.next is not None:
        return "next", step.next, False
    if step.returns:
        return "return", None, True
    raise RunnerError(step.id, "next", "no branch matches and there is no fallback 'next'", "no_way_on")


def _template_values(state: RunnerState) -> dict[str, Mapping[str, Any]]:
    values: dict[str, Mapping[str, Any]] = dict(state.context.fields(state.script))
    values["answer"] = {k: _answer_display(state.script, k, v) for k, v in answers(state).items()}
    return values


def _answer_display(script: Script, step_id: str, value: Any) -> Any:
    step = script.node(step_id)
    q = step.question if step else None
    if q is None or value is None:
        return value
    if q.kind == "single":
        choice = q.choice(value)
        return choice.label if choice else value
    if q.kind == "multi":
        return [(q.choice(v).label if q.choice(v) else v) for v in value]
    if q.kind == "date":
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def _finish(state: RunnerState, step: Step) -> RunnerState:
    resolved = tuple(_resolve(state, o) for o in step.outcomes)
    for outcome in resolved:
        state, _ = _append(state, ProtocolEntry(0, "outcome", step.id, outcome=MappingProxyType(outcome.to_dict())))
    return replace(state, finished=True, outcomes=resolved)


def _resolve(state: RunnerState, o: Outcome) -> ResolvedOutcome:
    given = answers(state)
    values = _template_values(state)
    lang = state.script.language
    problems: list[TemplateProblem] = []

    def text(template: str | None) -> str | None:
        if template is None:
            return None
        rendered = render_text(template, values, lang)
        problems.extend(rendered.problems)
        return rendered.text

    params: dict[str, Any]
    if o.kind in ("callback", "meeting"):
        local_time = given.get(o.at) if o.at else None
        if local_time is None and o.in_days is not None and o.time is not None and state.context.today is not None:
            local_time = f"{(state.context.today + timedelta(days=o.in_days)).isoformat()}T{o.time}"
        params = {"local_time": local_time, "timezone_basis": o.timezone, "timezone": _zone(state.context, o.timezone)}
        if o.kind == "callback":
            params.update(in_days=o.in_days, time=o.time, comment=text(o.comment))
        else:
            params.update(duration_minutes=o.duration_minutes, reminder_minutes=o.reminder_minutes,
                          subject=text(o.subject) or state.script.name, comment=text(o.comment))
    elif o.kind == "proposal_draft":
        picked = given.get(o.products_from) if o.products_from else None
        products = [picked] if isinstance(picked, str) else list(picked or [])
        shown = _answer_display(state.script, o.products_from, picked) if o.products_from else None
        names = [shown] if isinstance(shown, str) else list(shown or [])
        params = {"subject": text(o.subject) or state.script.name, "comment": text(o.comment), "products": products,
                  "product_names": names}
    elif o.kind == "set_status":
        params = {"status": o.status}
    elif o.kind == "add_dnc":
        params = {"phone": state.context.phone, "reason": o.reason}
    elif o.kind in ("lead_done", "lead_failed"):
        params = {"disposition": o.disposition, "comment": text(o.comment)}
    else:
        params = {}
    return ResolvedOutcome(o.kind, MappingProxyType(params), tuple(problems))


def _zone(context: ScriptContext, basis: str) -> str | None:
    if basis == "operator":
        tz = context.operator.get("timezone")
        return str(tz) if tz else None
    client = context.client
    return client_timezone(client.get("region"), client.get("timezone"), context.phone)
