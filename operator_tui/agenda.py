"""The operator's day: callbacks and reminders from the calendar, and which of them are due (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any


@dataclass(frozen=True)
class AgendaItem:
    """One planned event of the operator's calendar (a callback, a meeting, a task)."""

    id: int
    client_id: int
    type: str
    type_name: str
    subject: str
    planned_at: datetime
    status_name: str = ""

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> AgendaItem | None:
        planned = item.get("planned_at")
        if not planned or item.get("is_final"):
            return None
        return cls(id=int(item["id"]), client_id=int(item["client_id"]), type=str(item.get("type", "")),
                   type_name=str(item.get("type_name", "")), subject=str(item.get("subject", "")),
                   planned_at=datetime.fromisoformat(planned), status_name=str(item.get("status_name", "")))

    @classmethod
    def from_reminder(cls, payload: dict[str, Any]) -> AgendaItem | None:
        """A ``reminder.due`` event's item (it carries an interaction's fields, or ``interaction_id``)."""
        data = dict(payload.get("interaction") or payload)
        if "id" not in data and "interaction_id" in data:
            data["id"] = data["interaction_id"]
        try:
            return cls.from_api(data)
        except (KeyError, TypeError, ValueError):
            return None


def open_items(calendar: list[dict[str, Any]]) -> list[AgendaItem]:
    """The calendar's open items, earliest first."""
    items = [i for i in (AgendaItem.from_api(c) for c in calendar) if i is not None]
    return sorted(items, key=lambda i: (i.planned_at, i.id))


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The operator's local day around ``now``: [00:00, next 00:00)."""
    start = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    return start, start + timedelta(days=1)


def due(items: list[AgendaItem], now: datetime, already: set[int], ahead: timedelta = timedelta(0)) -> list[AgendaItem]:
    """Items whose time has come (``ahead`` early) and that have not popped yet."""
    return [i for i in items if i.id not in already and i.planned_at <= now + ahead]
