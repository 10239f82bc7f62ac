"""Checking one answer against its question and bringing it to the form the protocol stores.

Stored forms are JSON values: single -> the choice value, multi -> a list of choice
values in the script's order, text -> the trimmed text, number/scale -> int or float,
date -> "YYYY-MM-DD" (with time: "YYYY-MM-DDTHH:MM", the client's local time),
yes_no -> true/false, skipped -> null. What an operator types is read kindly ("100 000",
"1,5", "14.03.2025 10:30"); what cannot be read is refused with the reason.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from scripts_engine.model import Question


class RunnerError(ValueError):
    """An action the runner refuses; the state it was given stays as it was."""

    def __init__(self, step_id: str | None, field: str, reason: str, code: str) -> None:
        self.step_id = step_id
        self.field = field
        self.reason = reason
        self.code = code
        where = f"step '{step_id}'" if step_id is not None else "script"
        super().__init__(f"{where}: field '{field}': {reason}")

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step_id, "field": self.field, "reason": self.reason, "code": self.code}


class AnswerRejected(RunnerError):
    """An answer of the wrong type, out of range, not a choice, or missing when required."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_RU_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(:\d{2})?")


def validate_answer(step_id: str, question: Question | None, value: Any, today: date | None = None) -> Any:
    """The stored form of `value` for this question, or AnswerRejected naming the step."""
    if question is None:
        if value is not None:
            raise AnswerRejected(step_id, "answer", "this step asks no question; send no value to go on", "no_question")
        return None
    if _blank(value):
        if question.required:
            raise AnswerRejected(step_id, "answer", "an answer is required", "required")
        return None
    check = _CHECKS[question.kind]
    return check(step_id, question, value, today)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, (list, tuple)) and not value)


def _reject(step_id: str, reason: str, code: str) -> AnswerRejected:
    return AnswerRejected(step_id, "answer", reason, code)


def _choices(question: Question) -> str:
    return ", ".join(c.value for c in question.choices)


def _single(step_id: str, q: Question, value: Any, today: date | None) -> str:
    if not isinstance(value, str):
        raise _reject(step_id, f"must be one of the choices ({_choices(q)}), not {_kind(value)}", "wrong_type")
    if q.choice(value) is None:
        raise _reject(step_id, f"'{value[:60]}' is not one of the choices: {_choices(q)}", "unknown_choice")
    return value


def _multi(step_id: str, q: Question, value: Any, today: date | None) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise _reject(step_id, f"must be a list of choices ({_choices(q)}), not {_kind(value)}", "wrong_type")
    unknown = [v for v in value if q.choice(v) is None]
    if unknown:
        raise _reject(step_id, f"'{unknown[0][:60]}' is not one of the choices: {_choices(q)}", "unknown_choice")
    if len(set(value)) != len(value):
        raise _reject(step_id, "a choice is given twice", "duplicate_choice")
    picked = set(value)
    return [c.value for c in q.choices if c.value in picked]


def _text(step_id: str, q: Question, value: Any, today: date | None) -> str:
    if not isinstance(value, str):
        raise _reject(step_id, f"must be text, not {_kind(value)}", "wrong_type")
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(text):
        raise _reject(step_id, "contains control characters", "bad_text")
    if len(text) > q.max_length:
        raise _reject(step_id, f"is {len(text)} characters long; at most {q.max_length}", "too_long")
    return text


def _number(step_id: str, q: Question, value: Any, today: date | None) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _reject(step_id, f"must be a number, not {_kind(value)}", "wrong_type")
    if isinstance(value, str):
        # Operators type "100 000" and "1,5"; a thin space comes from copy-paste.
        cleaned = re.sub(r"[\s\u00a0\u202f]", "", value).replace(",", ".")
        if not _NUMBER.fullmatch(cleaned):
            raise _reject(step_id, f"'{value[:40]}' is not a number", "wrong_type")
        number: int | float = float(cleaned)
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise _reject(step_id, "must be a finite number", "wrong_type")
    if q.integer or q.kind == "scale":
        if number != int(number):
            raise _reject(step_id, f"must be a whole number, not {number}", "not_integer")
        number = int(number)
    elif isinstance(number, float) and number.is_integer():
        number = int(number)
    if (q.min is not None and number < q.min) or (q.max is not None and number > q.max):
        raise _reject(step_id, f"{number} is outside {_bound(q.min)}..{_bound(q.max)}", "out_of_range")
    return number


def _bound(value: float | None) -> str:
    if value is None:
        return "∞"
    return str(int(value)) if float(value).is_integer() else str(value)


def _date(step_id: str, q: Question, value: Any, today: date | None) -> str:
    if isinstance(value, datetime):
        moment: datetime | date = value
    elif isinstance(value, date):
        moment = value
    elif isinstance(value, str):
        moment = _parse_moment(step_id, value.strip(), q.with_time)
    else:
        raise _reject(step_id, f"must be a date{' and time' if q.with_time else ''}, not {_kind(value)}", "wrong_type")
    if q.with_time and not isinstance(moment, datetime):
        raise _reject(step_id, "needs a time as well: YYYY-MM-DD HH:MM", "no_time")
    day = moment.date() if isinstance(moment, datetime) else moment
    if q.future_only and today is not None and day < today:
        raise _reject(step_id, f"{day.isoformat()} is before the call's day {today.isoformat()}", "in_past")
    if isinstance(moment, datetime):
        return moment.strftime("%Y-%m-%dT%H:%M")
    return moment.isoformat()


def _parse_moment(step_id: str, text: str, with_time: bool) -> datetime | date:
    day_part, _, time_part = text.replace("T", " ", 1).partition(" ")
    time_part = time_part.strip()
    try:
        m = _RU_DATE.fullmatch(day_part)
        day = date(int(m.group(3)), int(m.group(2)), int(m.group(1))) if m else date.fromisoformat(day_part)
    except ValueError:
        raise _reject(step_id, f"'{text[:40]}' is not a date: YYYY-MM-DD or DD.MM.YYYY", "wrong_type") from None
    if not time_part:
        return day
    if not with_time:
        raise _reject(step_id, "asks for a day only, without time", "wrong_type")
    t = _TIME.fullmatch(time_part)
    if t is None or int(t.group(1)) > 23 or int(t.group(2)) > 59:
        raise _reject(step_id, f"'{time_part[:20]}' is not a time HH:MM", "wrong_type")
    return datetime(day.year, day.month, day.day, int(t.group(1)), int(t.group(2)))


def _yes_no(step_id: str, q: Question, value: Any, today: date | None) -> bool:
    if not isinstance(value, bool):
        raise _reject(step_id, f"must be true or false, not {_kind(value)}", "wrong_type")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value[:40]}'"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_CHECKS = {
    "single": _single,
    "multi": _multi,
    "text": _text,
    "number": _number,
    "scale": _number,
    "date": _date,
    "yes_no": _yes_no,
}
