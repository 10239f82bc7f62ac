"""Reading a date and time as an operator types it (pure): ``14.03.2027 10:30``, ``14.03 10:30``,
``2027-03-14 10:30``, ``10:30`` (today, or tomorrow once it has passed), ``+2h``, ``+30m``, ``+1d``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_RU = re.compile(r"^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?\s+(\d{1,2})[:.](\d{2})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_REL = re.compile(r"^\+\s*(\d{1,4})\s*([mhdмчд])$", re.IGNORECASE)
_UNITS = {"m": "minutes", "м": "minutes", "h": "hours", "ч": "hours", "d": "days", "д": "days"}


class BadMoment(ValueError):
    """Text that is not a date and time the desk can read."""


def parse_moment(text: str, tz: tzinfo, now: datetime) -> datetime | None:
    """The aware moment ``text`` means in zone ``tz`` (None for empty text; BadMoment otherwise)."""
    text = text.strip()
    if not text:
        return None
    here = now.astimezone(tz)
    try:
        if m := _REL.match(text):
            return here + timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
        if m := _RU.match(text):
            year = int(m.group(3)) if m.group(3) else here.year
            return _at(date(year, int(m.group(2)), int(m.group(1))), int(m.group(4)), int(m.group(5)), tz)
        if m := _ISO.match(text):
            return _at(date(int(m.group(1)), int(m.group(2)), int(m.group(3))), int(m.group(4)), int(m.group(5)), tz)
        if m := _TIME.match(text):
            moment = _at(here.date(), int(m.group(1)), int(m.group(2)), tz)
            return moment if moment > here else moment + timedelta(days=1)
    except ValueError as exc:
        raise BadMoment(str(exc)) from exc
    raise BadMoment(text)


def _at(day: date, hour: int, minute: int, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def tomorrow_at(hour: int, tz: tzinfo, now: datetime) -> datetime:
    here = now.astimezone(tz)
    return _at(here.date() + timedelta(days=1), hour, 0, tz)


def typed(moment: datetime) -> str:
    """How the desk writes a moment back into a field: ``14.03.2027 10:30``."""
    return f"{moment:%d.%m.%Y %H:%M}"
