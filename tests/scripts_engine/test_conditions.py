"""Branch conditions: structured comparisons, never code; a missing value matches only is_empty."""

from __future__ import annotations

import pytest

from scripts_engine.conditions import compare, evaluate
from scripts_engine.model import AllOf, Answered, AnyOf, Compare, Not

FIELDS = {"client": {"region": "Москва", "segment": "B2B"}, "contact": {}, "operator": {}, "custom": {}}
ANSWERS = {"size": 25, "pains": ["lost_calls", "no_history"], "why": "Поддержка отвечает медленно",
           "ok": True, "skipped": None, "day": "2025-03-17T11:30"}


@pytest.mark.parametrize(("actual", "op", "expected", "result"), [
    (25, ">=", 25, True), (25, ">", 25, False), (25, "<", 30.5, True), (25, "in", (10, 25), True),
    (25, "not_in", (10, 25), False), (True, "==", True, True), (True, "==", 1, False), (1, "==", True, False),
    ("Москва", "==", "москва", True), ("Москва", "in", ("москва", "СПб"), True),
    (["lost_calls"], "contains", "lost_calls", True), (["lost_calls"], "contains_all", ("lost_calls", "x"), False),
    (["lost_calls"], "contains_any", ("lost_calls", "x"), True), ("Поддержка медленная", "contains", "МЕДЛЕН", True),
    ("2025-03-17T11:30", ">=", "2025-03-17", True), ("25", ">", 3, False),
    (None, "==", None, False), (None, "!=", "x", False), (None, "is_empty", None, True), ([], "is_empty", None, True),
    ("", "not_empty", None, False), (None, "<", 3, False),
])
def test_compare(actual, op, expected, result) -> None:  # type: ignore[no-untyped-def]
    assert compare(actual, op, expected) is result


def test_evaluate_trees_over_answers_and_fields() -> None:
    cond = AllOf((Compare("answer", "size", ">=", 10), Compare("client", "region", "in", ("Москва", "Санкт-Петербург")),
                  AnyOf((Compare("answer", "pains", "contains", "no_recording"), Answered("why"))),
                  Not(Answered("skipped"))))
    assert evaluate(cond, ANSWERS, FIELDS)
    assert not evaluate(Compare("contact", "position", "==", "директор"), ANSWERS, FIELDS)
    assert evaluate(Not(Compare("answer", "never", "==", "x")), ANSWERS, FIELDS)
    assert evaluate(Compare("custom", "offer", "is_empty"), ANSWERS, FIELDS)
