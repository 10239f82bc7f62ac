"""Where the desk gets the time: the system clock, or a frozen one for tests and snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware, in the operator's zone."""
        ...


class SystemClock:
    """The machine's clock in the machine's zone (or ``zone``)."""

    def __init__(self, zone: tzinfo | None = None) -> None:
        self.zone = zone

    def now(self) -> datetime:
        return datetime.now(self.zone) if self.zone else datetime.now().astimezone()


class FrozenClock:
    """A clock that moves only when told: screens that show times render the same every run."""

    def __init__(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a FrozenClock needs an aware datetime")
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)
