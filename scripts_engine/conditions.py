"""Evaluating branch conditions: structured data compared with answers and the call's fields.

No expression is ever parsed or evaluated; a condition is the tree the loader built.
A missing or skipped value satisfies only `is_empty` (so `!=` does not silently match
an unanswered question); `not` gives the opposite when that is what is meant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scripts_engine.model import AllOf, Answered, AnyOf, Compare, Condition, Not

# The operators that make sense for an answer of each question kind.
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "single": ("==", "!=", "in", "not_in", "is_empty", "not_empty"),
    "multi": ("contains", "contains_any", "contains_all", "is_empty", "not_empty"),
    "text": ("==", "!=", "in", "not_in", "contains", "is_empty", "not_empty"),
    "number": ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_empty", "not_empty"),
    "scale": ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_empty", "not_empty"),
    "date": ("==", "!=", "<", "<=", ">", ">=", "is_empty", "not_empty"),
    "yes_no": ("==", "!=", "is_empty", "not_empty"),
}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _norm(value: Any) -> Any:
    # Text compares without regard to case ("Да" == "да"); numbers and booleans as they are.
    return value.casefold() if isinstance(value, str) else value


def _ordered(a: Any, b: Any) -> bool:
    numbers = isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool)
    return numbers or (isinstance(a, str) and isinstance(b, str))


def compare(actual: Any, op: str, expected: Any) -> bool:
    """`actual op expected` by the rules above; mismatched types are simply False."""
    if op == "is_empty":
        return _empty(actual)
    if op == "not_empty":
        return not _empty(actual)
    if _empty(actual):
        return False
    if op in ("contains", "contains_any", "contains_all"):
        if isinstance(actual, str):
            needles = [expected] if op == "contains" else list(expected)
            hits = [isinstance(n, str) and n.casefold() in actual.casefold() for n in needles]
            return all(hits) if op == "contains_all" else any(hits)
        if isinstance(actual, (list, tuple)):
            have = {_norm(v) for v in actual}
            wanted = [_norm(expected)] if op == "contains" else [_norm(v) for v in expected]
            return all(w in have for w in wanted) if op == "contains_all" else any(w in have for w in wanted)
        return False
    if op in ("in", "not_in"):
        inside = _norm(actual) in {_norm(v) for v in expected}
        return inside if op == "in" else not inside
    if op == "==":
        return _same(actual, expected)
    if op == "!=":
        return not _same(actual, expected)
    if not _ordered(actual, expected):
        return False
    if op == "<":
        return actual < expected
    if op == "<=":
        return actual <= expected
    if op == ">":
        return actual > expected
    if op == ">=":
        return actual >= expected
    raise ValueError(f"unknown operator {op!r}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return _norm(a) == _norm(b)


def evaluate(condition: Condition, answers: Mapping[str, Any], fields: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether `condition` holds for these answers and fields ({"client": {...}, ...})."""
    if isinstance(condition, Compare):
        if condition.source == "answer":
            actual = answers.get(condition.name)
        else:
            actual = (fields.get(condition.source) or {}).get(condition.name)
        return compare(actual, condition.op, condition.value)
    if isinstance(condition, Answered):
        return not _empty(answers.get(condition.step_id))
    if isinstance(condition, AllOf):
        return all(evaluate(c, answers, fields) for c in condition.items)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, answers, fields) for c in condition.items)
    if isinstance(condition, Not):
        return not evaluate(condition.item, answers, fields)
    raise TypeError(f"not a condition: {condition!r}")
