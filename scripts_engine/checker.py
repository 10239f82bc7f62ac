"""Static checks of a built script: every problem named with its step id and field.

What the schema cannot see: targets that do not exist, steps nobody reaches, steps with
no way on, loops nobody can leave, duplicate ids, fields the CRM does not have, answers
used before they can have been given, choices that do not exist, outcomes missing what
they need.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from datetime import date
from typing import Any

from scripts_engine.conditions import OPS_BY_KIND
from scripts_engine.fields import DEFAULT_FIELDS, KnownFields
from scripts_engine.model import (
    UNARY_OPS,
    AllOf,
    Answered,
    AnyOf,
    Compare,
    Condition,
    Not,
    Outcome,
    Script,
    Step,
)
from scripts_engine.problems import Problem
from scripts_engine.templates import parse_template

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?")


def check_script(script: Script, fields: KnownFields = DEFAULT_FIELDS) -> list[Problem]:
    """All problems of `script` (empty when it is fit to run), in the order of the file."""
    return list(dict.fromkeys(_Checker(script, fields).run()))


def step_edges(step: Step) -> Iterator[tuple[str, str]]:
    """(field, target id) for every way on a step names."""
    for i, branch in enumerate(step.branches):
        if branch.next is not None:
            yield f"branches[{i}].next", branch.next
    if step.next is not None:
        yield "next", step.next


class _Checker:
    def __init__(self, script: Script, fields: KnownFields) -> None:
        self.script = script
        self.fields = fields
        self.nodes = script.all_nodes()
        self.problems: list[Problem] = []
        self.custom = {f.name for f in script.custom_fields}
        # Who can lead to whom: a step's ways on, and an objection from any step.
        handler_ids = [h.id for h in script.objections]
        self.graph: dict[str, set[str]] = {}
        for node in self.nodes:
            targets = {t for _, t in step_edges(node) if script.node(t) is not None}
            if not script.is_objection(node.id):
                targets.update(handler_ids)
            self.graph.setdefault(node.id, set()).update(targets)
        self._reach: dict[str, set[str]] = {}

    def add(self, step_id: str | None, field: str, message: str) -> None:
        self.problems.append(Problem(step_id, field, message))

    def reach(self, start: str) -> set[str]:
        """Nodes reachable from `start` in one or more moves."""
        if start not in self._reach:
            seen: set[str] = set()
            todo = deque(self.graph.get(start, ()))
            while todo:
                n = todo.popleft()
                if n not in seen:
                    seen.add(n)
                    todo.extend(self.graph.get(n, ()))
            self._reach[start] = seen
        return self._reach[start]

    def run(self) -> list[Problem]:
        self.duplicates()
        if self.script.node(self.script.start) is None or self.script.is_objection(self.script.start):
            self.add(None, "start", f"unknown step '{self.script.start}'")
        for node in self.nodes:
            self.targets(node)
            self.way_out(node)
            self.texts(node)
            for i, branch in enumerate(node.branches):
                self.condition(node, f"branches[{i}].when", branch.when)
            for i, outcome in enumerate(node.outcomes):
                self.outcome(node, f"outcomes[{i}]", outcome)
        self.unreachable()
        self.closed_loops()
        return self.problems

    def duplicates(self) -> None:
        seen: set[str] = set()
        for node in self.nodes:
            if node.id in seen:
                what = "an objection" if self.script.is_objection(node.id) else "a step"
                self.add(node.id, "id", f"used twice: {what} with this id is already defined")
            seen.add(node.id)

    def targets(self, node: Step) -> None:
        for field, target in step_edges(node):
            if self.script.node(target) is None:
                self.add(node.id, field, f"unknown step '{target}'")
            elif self.script.is_objection(target):
                self.add(node.id, field, f"'{target}' is an objection handler: the operator jumps to it, a step does not lead there")

    def way_out(self, node: Step) -> None:
        if node.terminal:
            return
        fallback = node.next is not None or node.returns
        if node.branches and not fallback:
            self.add(node.id, "next", "no way out when no branch matches: add 'next' as the fallback")
        elif not node.branches and not fallback:
            self.add(node.id, "next", "no way out: give 'next', 'branches' with a fallback 'next', or 'outcomes'")

    def unreachable(self) -> None:
        start = self.script.start
        if self.script.node(start) is None:
            return
        reached = {start} | self.reach(start)
        for step in self.script.steps:
            if step.id not in reached:
                self.add(step.id, "id", "unreachable: no step or objection leads here")

    def closed_loops(self) -> None:
        """A cycle of steps none of which ends the script or leads out of it."""
        order = {n.id: i for i, n in enumerate(self.nodes)}
        # Only the script's own ways on: a jump to an objection is the operator's escape, not the script's.
        flow = {n.id: {t for _, t in step_edges(n) if t in order} for n in self.nodes}
        for component in _strongly_connected(flow):
            first = min(component, key=order.__getitem__)
            looped = len(component) > 1 or first in flow[first]
            if not looped:
                continue
            members = [self.script.node(n) for n in component]
            if any(m is not None and (m.terminal or m.returns or any(b.returns for b in m.branches)) for m in members):
                continue
            if any(t not in component for n in component for t in flow[n]):
                continue
            cycle = " -> ".join(sorted(component, key=order.__getitem__)) + f" -> {first}"
            self.add(first, "next", f"loop with no exit: {cycle}")

    # -- fields, answers, templates ----------------------------------------------------

    def precedes(self, ref: str, at: str, inclusive: bool) -> bool:
        """Whether `ref` can have been answered by the time step `at` needs it."""
        if self.script.is_objection(ref):
            return True
        return (inclusive and ref == at) or at in self.reach(ref)

    def answer_ref(self, node: Step, field: str, ref: str, inclusive: bool, kinds: tuple[str, ...] | None = None) -> Step | None:
        target = self.script.node(ref)
        if target is None:
            self.add(node.id, field, f"unknown step '{ref}'")
            return None
        if target.question is None:
            self.add(node.id, field, f"step '{ref}' asks no question")
            return None
        if kinds is not None and target.question.kind not in kinds:
            self.add(node.id, field, f"step '{ref}' is a {target.question.kind} question; needs {' or '.join(kinds)}")
            return None
        if not self.precedes(ref, node.id, inclusive):
            self.add(node.id, field, f"step '{ref}' cannot have been answered before this step")
            return None
        return target

    def field_ref(self, node: Step, field: str, source: str, name: str) -> None:
        if source == "custom":
            if name not in self.custom:
                self.add(node.id, field, f"custom field '{name}' is not declared in custom_fields")
            return
        known = self.fields.for_source(source)
        if known is not None and name not in known:
            self.add(node.id, field, f"{source} has no field '{name}'; known: {', '.join(sorted(known))}")

    def template(self, node: Step, field: str, text: str | None, inclusive: bool) -> None:
        if text is None:
            return
        parsed = parse_template(text)
        for problem in parsed.problems:
            self.add(node.id, field, f"{problem.field}: {problem.message}")
        for ph in parsed.placeholders:
            if ph.source == "answer":
                self.answer_ref(node, f"{field}: {{{ph.path}}}", ph.name, inclusive)
            else:
                self.field_ref(node, f"{field}: {{{ph.path}}}", ph.source, ph.name)

    def texts(self, node: Step) -> None:
        self.template(node, "text", node.text, inclusive=False)
        self.template(node, "hint", node.hint, inclusive=False)
        for i, outcome in enumerate(node.outcomes):
            self.template(node, f"outcomes[{i}].subject", outcome.subject, inclusive=True)
            self.template(node, f"outcomes[{i}].comment", outcome.comment, inclusive=True)

    def condition(self, node: Step, field: str, cond: Condition) -> None:
        if isinstance(cond, (AllOf, AnyOf)):
            key = "all" if isinstance(cond, AllOf) else "any"
            for j, item in enumerate(cond.items):
                self.condition(node, f"{field}.{key}[{j}]", item)
        elif isinstance(cond, Not):
            self.condition(node, f"{field}.not", cond.item)
        elif isinstance(cond, Answered):
            self.answer_ref(node, f"{field}.answered", cond.step_id, inclusive=True)
        elif isinstance(cond, Compare):
            if cond.source != "answer":
                self.field_ref(node, f"{field}.{cond.source}", cond.source, cond.name)
                return
            target = self.answer_ref(node, f"{field}.answer", cond.name, inclusive=True)
            if target is not None and target.question is not None:
                self.compare_values(node, field, cond, target)

    def compare_values(self, node: Step, field: str, cond: Compare, target: Step) -> None:
        q = target.question
        assert q is not None
        allowed = OPS_BY_KIND[q.kind]
        if cond.op not in allowed:
            self.add(node.id, f"{field}.op", f"'{cond.op}' does not apply to the {q.kind} answer of '{target.id}'; use {', '.join(allowed)}")
            return
        if cond.op in UNARY_OPS:
            return
        values = cond.value if isinstance(cond.value, tuple) else (cond.value,)
        for value in values:
            problem = _value_problem(q.kind, q, value)
            if problem:
                self.add(node.id, f"{field}.value", f"{_show(value)} {problem} (step '{target.id}')")

    def outcome(self, node: Step, field: str, o: Outcome) -> None:
        if o.kind == "callback":
            if o.at is None and o.in_days is None:
                self.add(node.id, field, "a callback needs 'at' (a date question) or 'in_days' with 'time'")
            if o.in_days is not None and o.time is None:
                self.add(node.id, f"{field}.time", "is required with in_days")
        if o.kind == "meeting" and o.at is None:
            self.add(node.id, f"{field}.at", "a meeting needs 'at': the date question with its time")
        if o.at is not None:
            target = self.answer_ref(node, f"{field}.at", o.at, inclusive=True, kinds=("date",))
            if target is not None and target.question is not None:
                if not target.question.with_time:
                    self.add(node.id, f"{field}.at", f"step '{o.at}' asks a date without time (with_time: true)")
                if not target.question.required and o.at == node.id:
                    self.add(node.id, f"{field}.at", f"step '{o.at}' may be skipped, so there may be no moment")
        if o.products_from is not None:
            self.answer_ref(node, f"{field}.products_from", o.products_from, inclusive=True, kinds=("multi", "single"))
        if o.kind == "set_status":
            if not o.status:
                self.add(node.id, f"{field}.status", "is required")
            elif o.status not in self.fields.statuses:
                self.add(node.id, f"{field}.status", f"unknown status '{o.status}'; known: {', '.join(self.fields.statuses)}")
        if o.kind in ("lead_done", "lead_failed") and not o.disposition:
            self.add(node.id, f"{field}.disposition", f"a {o.kind} outcome needs a disposition code")


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def _value_problem(kind: str, q: Any, value: Any) -> str | None:
    if kind in ("single", "multi"):
        if not isinstance(value, str) or q.choice(value) is None:
            return f"is not one of the choices: {', '.join(c.value for c in q.choices)}"
    elif kind in ("number", "scale"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "is not a number"
        if (q.min is not None and value < q.min) or (q.max is not None and value > q.max):
            return f"is outside the range {_num(q.min)}..{_num(q.max)}"
    elif kind == "yes_no":
        if not isinstance(value, bool):
            return "is not true or false"
    elif kind == "date":
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value) or not _valid_date(value[:10]):
            return "is not a date YYYY-MM-DD"
    elif kind == "text" and not isinstance(value, str):
        return "is not text"
    return None


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a 500-step script must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root, root_children in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(root_children)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    n = stack.pop()
                    on_stack.discard(n)
                    component.append(n)
                    if n == node:
                        break
                out.append(component)
    return out
