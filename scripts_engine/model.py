"""The call script as frozen data: steps, questions, branches, objection handlers, outcomes.

The loader builds these from YAML; the checker and the runner only read them. Nothing here
does I/O, and every value is immutable, so one loaded script is shared by all calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUESTION_KINDS = ("single", "multi", "text", "number", "date", "yes_no", "scale")
OUTCOME_KINDS = ("callback", "meeting", "proposal_draft", "set_status", "add_dnc", "lead_done", "lead_failed", "end")
# Where a condition or a placeholder takes its value from.
FIELD_SOURCES = ("client", "contact", "operator", "custom")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "contains", "contains_any", "contains_all",
               "is_empty", "not_empty")
# Operators that take no `value`.
UNARY_OPS = ("is_empty", "not_empty")
DEFAULT_SCALE = (1, 10)
DEFAULT_TEXT_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a single or multiple choice question: the stored value and what is shown."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Question:
    """What the operator must fill in on a step; `min`/`max` bound numbers and scales."""

    kind: str
    required: bool = True
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    integer: bool = False
    with_time: bool = False
    future_only: bool = False
    max_length: int = DEFAULT_TEXT_LENGTH

    def choice(self, value: str) -> Choice | None:
        """The choice with this value, or None."""
        return next((c for c in self.choices if c.value == value), None)


@dataclass(frozen=True, slots=True)
class Compare:
    """`source` ("answer" or a field source) `name` compared with `value` by `op`."""

    source: str
    name: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Answered:
    """True when the step has a non-empty answer on the current path."""

    step_id: str


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = Compare | Answered | AllOf | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Branch:
    """Go to `next` (or back to where an objection was raised, `returns`) when `when` holds."""

    when: Condition
    next: str | None = None
    returns: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a finished script does through crm_core; which fields matter depends on `kind`.

    `at` names a date question whose answer gives the moment (callback, meeting);
    `in_days` + `time` give it relative to the call's day instead (callback only).
    """

    kind: str
    at: str | None = None
    in_days: int | None = None
    time: str | None = None
    timezone: str = "client"
    duration_minutes: int = 60
    reminder_minutes: int = 60
    subject: str | None = None
    comment: str | None = None
    products_from: str | None = None
    status: str | None = None
    disposition: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One screen of the talk: text to say, maybe a question, and where to go next.

    Exactly one way on is used: `branches` (first match wins, `next`/`returns` as the
    fallback), `next`, `returns` (objection handlers only), or `outcomes` (a final step).
    """

    id: str
    text: str
    hint: str | None = None
    question: Question | None = None
    next: str | None = None
    returns: bool = False
    branches: tuple[Branch, ...] = ()
    outcomes: tuple[Outcome, ...] = ()

    @property
    def terminal(self) -> bool:
        return bool(self.outcomes)


@dataclass(frozen=True, slots=True)
class ObjectionHandler:
    """A step the operator may jump to from anywhere ("дорого") and come back from."""

    id: str
    label: str
    step: Step


@dataclass(frozen=True, slots=True)
class CustomField:
    """A `{custom.<name>}` value the caller supplies (campaign, card section), with a fallback."""

    name: str
    label: str | None = None
    default: str | None = None


@dataclass(frozen=True)
class Script:
    """A whole script. `start` is the first step; ids are unique across steps and objections."""

    name: str
    language: str
    version: str
    start: str
    steps: tuple[Step, ...]
    objections: tuple[ObjectionHandler, ...] = ()
    custom_fields: tuple[CustomField, ...] = ()
    description: str | None = None
    _nodes: dict[str, Step] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)
    _objection_ids: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        nodes: dict[str, Step] = {}
        # First definition wins; the checker reports duplicates.
        for step in self.steps:
            nodes.setdefault(step.id, step)
        for handler in self.objections:
            nodes.setdefault(handler.id, handler.step)
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_objection_ids", frozenset(h.id for h in self.objections))

    def node(self, node_id: str) -> Step | None:
        """The step or objection handler step with this id, or None."""
        return self._nodes.get(node_id)

    def is_objection(self, node_id: str) -> bool:
        return node_id in self._objection_ids

    def objection(self, handler_id: str) -> ObjectionHandler | None:
        return next((h for h in self.objections if h.id == handler_id), None)

    def custom_field(self, name: str) -> CustomField | None:
        return next((f for f in self.custom_fields if f.name == name), None)

    def all_nodes(self) -> tuple[Step, ...]:
        """Steps then objection handler steps, in the order written."""
        return self.steps + tuple(h.step for h in self.objections)
