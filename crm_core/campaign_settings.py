"""A campaign's settings as checked data: calling hours, retry rules, pacing limits, dispositions.

The campaign row keeps them as JSON; these read and check that JSON (an InvalidInput names
the field, ``hours.start``) and write it back normalised, with every default filled in.
They live in crm_core because the store checks them on every write; the dialer reads the
same classes (dialer.windows, dialer.retries) to decide when and how often to call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from crm_core.errors import InvalidInput

# --- calling hours ----------------------------------------------------------------------------

DEFAULT_DAYS = frozenset({1, 2, 3, 4, 5})
DEFAULT_FALLBACK_ZONE = "Europe/Moscow"
MAX_HOLIDAYS = 1000
_HHMM = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")
HOURS_KEYS = ("days", "start", "end", "holidays", "public_holidays", "holiday_country", "fallback_zone")


@lru_cache(maxsize=1024)
def zone_info(name: str | None) -> ZoneInfo | None:
    """The zone, or None for None or a name tzdata does not know (such a lead's zone is unknown)."""
    if not name or not isinstance(name, str) or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return None


@lru_cache(maxsize=256)
def supported_country(country: str) -> bool:
    """True if the ``holidays`` package knows the public holidays of this ISO country."""
    import holidays

    return country in holidays.list_supported_countries()


@dataclass(frozen=True)
class CallingHours:
    """When a campaign may call, in the client's local time; minutes of the day, end exclusive."""

    days: frozenset[int] = DEFAULT_DAYS
    start_minute: int = 9 * 60
    end_minute: int = 21 * 60
    holidays: frozenset[date] = field(default_factory=frozenset)
    public_holidays: bool = False
    # One country's public holidays for every lead; None: each lead's country (by its zone).
    holiday_country: str | None = None
    # Stands in for an unknown zone when the campaign's leads name none (dialer/windows.py).
    fallback_zone: str = DEFAULT_FALLBACK_ZONE

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CallingHours:
        """Read and check ``campaign.hours``; InvalidInput names the field (``hours.start``)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidInput("hours must be an object")
        _no_unknown(data, HOURS_KEYS, "hours")
        days = _days(data.get("days", sorted(DEFAULT_DAYS)))
        start = _minute(data.get("start", "09:00"), "hours.start")
        end = _minute(data.get("end", "21:00"), "hours.end")
        if start >= end:
            raise InvalidInput("hours.end must be after hours.start (a window does not cross midnight)")
        country = data.get("holiday_country")
        if country is not None:
            if not isinstance(country, str) or not supported_country(country.upper()):
                raise InvalidInput(f"hours.holiday_country {str(country)[:20]!r} is not a country with known public holidays")
            country = country.upper()
        # Naming a country asks for its holidays; naming one while turning them off is a contradiction, not a no-op.
        public = data.get("public_holidays", country is not None)
        if not isinstance(public, bool):
            raise InvalidInput("hours.public_holidays must be true or false")
        if country is not None and not public:
            raise InvalidInput("hours.holiday_country applies public holidays: drop it, or set hours.public_holidays true")
        fallback = data.get("fallback_zone", DEFAULT_FALLBACK_ZONE)
        if not isinstance(fallback, str) or zone_info(fallback) is None:
            raise InvalidInput(f"hours.fallback_zone {str(fallback)[:64]!r} is not a known time zone (e.g. Europe/Moscow)")
        return cls(days, start, end, _dates(data.get("holidays", [])), public, country, fallback)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "days": sorted(self.days),
            "start": _hhmm(self.start_minute),
            "end": _hhmm(self.end_minute),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "public_holidays": self.public_holidays,
            "fallback_zone": self.fallback_zone,
        }
        if self.holiday_country is not None:
            out["holiday_country"] = self.holiday_country
        return out


def _no_unknown(data: Mapping[str, Any], known: Sequence[str], name: str) -> None:
    unknown = sorted(str(k)[:40] for k in set(data) - set(known))
    if unknown:
        raise InvalidInput(f"{name}: unknown field(s) {', '.join(unknown)}; known: {', '.join(known)}")


def _days(value: Any) -> frozenset[int]:
    if not isinstance(value, list | tuple) or not value or len(value) > 7:
        raise InvalidInput("hours.days must be a non-empty list of ISO weekdays (1 = Monday .. 7 = Sunday)")
    if any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in value):
        raise InvalidInput("hours.days must hold ISO weekdays 1 (Monday) to 7 (Sunday)")
    return frozenset(value)


def _minute(value: Any, name: str) -> int:
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"{name} must be a time HH:MM, e.g. 09:00")
    minute = int(match.group(1)) * 60 + int(match.group(2))
    if minute > 24 * 60:
        raise InvalidInput(f"{name} must be at most 24:00")
    return minute


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _dates(value: Any) -> frozenset[date]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("hours.holidays must be a list of dates (YYYY-MM-DD)")
    if len(value) > MAX_HOLIDAYS:
        raise InvalidInput(f"hours.holidays may list at most {MAX_HOLIDAYS} dates")
    out = set()
    for item in value:
        try:
            if not isinstance(item, str) or len(item) != 10:
                raise ValueError(item)
            out.add(date.fromisoformat(item))
        except ValueError:
            raise InvalidInput(f"hours.holidays: {str(item)[:20]!r} is not a date YYYY-MM-DD") from None
    return frozenset(out)


# --- retry rules ------------------------------------------------------------------------------

_WEEK = 7 * 24 * 60
# (minimum, maximum) of each rule; minutes unless the name says hours.
RETRY_LIMITS: dict[str, tuple[int, int]] = {
    "busy_minutes": (1, _WEEK),
    "no_answer_minutes": (1, _WEEK),
    "congestion_minutes": (1, _WEEK),
    "failed_minutes": (1, _WEEK),
    "machine_minutes": (1, _WEEK),
    "lost_minutes": (1, _WEEK),
    "skipped_minutes": (1, 30 * 24 * 60),
    "operator_missed_minutes": (1, 24 * 60),
    "abandoned_minutes": (1, _WEEK),
    # 72 hours is the floor: the abandon rule of issue 6 (FTC / Ofcom practice).
    "abandon_hold_hours": (72, 30 * 24),
    "max_attempts": (1, 50),
    "recycle_hours": (1, 90 * 24),
    "recycles": (0, 20),
}


@dataclass(frozen=True)
class RetryRules:
    """When an attempt's outcome brings its lead back (see dialer/retries.py for the rules)."""

    busy_minutes: int = 10
    no_answer_minutes: int = 120
    congestion_minutes: int = 5
    failed_minutes: int = 30
    machine_minutes: int = 240
    lost_minutes: int = 60
    skipped_minutes: int = 24 * 60
    operator_missed_minutes: int = 5
    abandoned_minutes: int = 60
    abandon_hold_hours: int = 72
    max_attempts: int = 5
    recycle_hours: int = 24
    recycles: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RetryRules:
        """Read and check ``campaign.retry_rules``; InvalidInput names the field."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidInput("retry_rules must be an object")
        _no_unknown(data, tuple(RETRY_LIMITS), "retry_rules")
        return cls(**{name: _whole(value, f"retry_rules.{name}", *RETRY_LIMITS[name]) for name, value in data.items()})

    def to_json(self) -> dict[str, int]:
        return asdict(self)

    @property
    def attempts_allowed(self) -> int:
        """How many dials a lead gets in all, recycling included."""
        return self.max_attempts * (self.recycles + 1)

    def retry_at(self, attempts: int, delay_minutes: int, now: datetime) -> datetime | None:
        """When a lead dialled ``attempts`` times is tried again after ``delay_minutes``; None if it has no dial left.

        At the end of a round of ``max_attempts`` dials, recycling rests it ``recycle_hours`` first.
        """
        if attempts >= self.attempts_allowed:
            return None
        if attempts > 0 and attempts % self.max_attempts == 0:
            return now + timedelta(hours=self.recycle_hours)
        return now + timedelta(minutes=delay_minutes)


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return value


# --- pacing limits ----------------------------------------------------------------------------

MAX_ABANDON_CAP = 0.03  # FTC 16 CFR 310.4(b)(4)(i) and Ofcom: 3 % of live answered calls
MAX_AMD_MISREAD_SHARE = 0.5  # more than half of the "machines" misread people: AMD would be worse than a coin


@dataclass(frozen=True)
class PacingLimits:
    """The supervisor's live limits on the pacing (dialer.pacing reads cap and lines per agent)."""

    abandon_cap: float = MAX_ABANDON_CAP
    lines_per_agent: int = 3
    ring_timeout: int = 25
    max_lines: int | None = None
    # Answering-machine detection (Asterisk's AMD() before the queue): machines are dropped
    # and retried, never handed to an agent nor counted as an abandon. Off by default: it
    # costs every human ~2 s of analysis and misreads some humans as machines.
    amd: bool = False
    # FTC and Ofcom count a person AMD took for a machine as an abandoned call, and Ofcom
    # asks for a reasoned estimate of them in the rate: this share of the machines dropped
    # is counted as answered and abandoned wherever the day's rate is held or shown.
    amd_misread_share: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, base: PacingLimits | None = None) -> PacingLimits:
        """Read and check ``campaign.pacing`` (or a patch of it over ``base``); InvalidInput names the field."""
        current = base or cls()
        if data is None:
            return current
        if not isinstance(data, Mapping):
            raise InvalidInput("pacing must be an object")
        _no_unknown(data, [f.name for f in fields(cls)], "pacing")
        values: dict[str, Any] = {}
        if "abandon_cap" in data:
            cap = data["abandon_cap"]
            if isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 < cap <= MAX_ABANDON_CAP:
                raise InvalidInput(f"pacing.abandon_cap must be above 0 and at most {MAX_ABANDON_CAP} (3 %)")
            values["abandon_cap"] = float(cap)
        if "lines_per_agent" in data:
            values["lines_per_agent"] = _whole(data["lines_per_agent"], "pacing.lines_per_agent", 1, 3)
        if "ring_timeout" in data:
            values["ring_timeout"] = _whole(data["ring_timeout"], "pacing.ring_timeout", 10, 60)
        if "max_lines" in data:
            lines = data["max_lines"]
            values["max_lines"] = None if lines is None else _whole(lines, "pacing.max_lines", 1, 1000)
        if "amd" in data:
            if not isinstance(data["amd"], bool):
                raise InvalidInput("pacing.amd must be true or false")
            values["amd"] = data["amd"]
        if "amd_misread_share" in data:
            share = data["amd_misread_share"]
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= MAX_AMD_MISREAD_SHARE:
                raise InvalidInput(f"pacing.amd_misread_share must be a share from 0 to {MAX_AMD_MISREAD_SHARE}")
            values["amd_misread_share"] = float(share)
        return replace(current, **values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --- the abandon message ----------------------------------------------------------------------

# An Asterisk sound, named as Playback() takes it: relative to the sounds directory (the
# channel's language folder first), without the extension. Letters, digits, "_" and "-" in
# "/"-separated parts: no "..", no absolute path, nothing AMI or the dialplan would split on.
_SOUND = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+){0,4}$")
MAX_SOUND_NAME = 120


def clean_sound_name(value: Any, name: str) -> str | None:
    """A sound name as Playback() takes it (``zvonar/romashka-abandon``), or None for none; InvalidInput names ``name``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a sound name such as zvonar/romashka-abandon, or null")
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_SOUND_NAME or not _SOUND.fullmatch(text):
        raise InvalidInput(f"{name} must name a sound under Asterisk's sounds directory without its extension "
                           f"(letters, digits, _ and - in parts joined by /, at most {MAX_SOUND_NAME} characters), "
                           "such as zvonar/romashka-abandon")
    return text


# --- dispositions -----------------------------------------------------------------------------

MAX_DISPOSITIONS = 50
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class DispositionSpec:
    """A wrap-up code: final (done when success, failed otherwise, dnc with add_to_dnc) or retried."""

    code: str
    name: str
    final: bool = True
    success: bool = False
    retry_minutes: int | None = None
    add_to_dnc: bool = False

    def checked(self) -> DispositionSpec:
        where = f"dispositions.{self.code}" if isinstance(self.code, str) else "dispositions"
        if not isinstance(self.code, str) or not _CODE.match(self.code):
            raise InvalidInput("dispositions: a code is 1-40 characters a-z, 0-9, _ starting with a letter")
        name = self.name.strip() if isinstance(self.name, str) else ""
        if not name or len(name) > 120 or any(ord(c) < 32 for c in name):
            raise InvalidInput(f"{where}.name must be 1-120 characters of text")
        if not all(isinstance(v, bool) for v in (self.final, self.success, self.add_to_dnc)):
            raise InvalidInput(f"{where}: final, success and add_to_dnc are true or false")
        if self.final:
            if self.retry_minutes is not None:
                raise InvalidInput(f"{where}.retry_minutes: a final disposition is not retried")
        else:
            _whole(self.retry_minutes, f"{where}.retry_minutes (a disposition that is not final)", 1, 90 * 24 * 60)
            if self.success or self.add_to_dnc:
                raise InvalidInput(f"{where}: only a final disposition is a success or adds the number to the DNC list")
        if self.success and self.add_to_dnc:
            raise InvalidInput(f"{where}: a success does not add the number to the DNC list")
        return replace(self, name=name)


# Copied into every new campaign, where the supervisor may change them.
DEFAULT_DISPOSITIONS: tuple[DispositionSpec, ...] = (
    DispositionSpec("agreed", "Согласие", final=True, success=True),
    DispositionSpec("interested", "Интересно", final=True, success=True),
    DispositionSpec("callback", "Перезвонить", final=False, retry_minutes=60),
    DispositionSpec("not_interested", "Не интересно", final=True),
    DispositionSpec("wrong_number", "Неверный номер", final=True),
    DispositionSpec("do_not_call", "Не звонить", final=True, add_to_dnc=True),
    DispositionSpec("no_decision_maker", "Нет ЛПР", final=False, retry_minutes=24 * 60),
    DispositionSpec("answering_machine", "Автоответчик", final=False, retry_minutes=4 * 60),
    DispositionSpec("hung_up", "Бросил трубку", final=False, retry_minutes=24 * 60),
)


def check_dispositions(items: Sequence[DispositionSpec]) -> list[DispositionSpec]:
    """Each checked; codes unique; at least one, at most MAX_DISPOSITIONS."""
    if not items:
        raise InvalidInput("dispositions: give at least one")
    if len(items) > MAX_DISPOSITIONS:
        raise InvalidInput(f"dispositions: at most {MAX_DISPOSITIONS}")
    out = [item.checked() for item in items]
    codes = [d.code for d in out]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise InvalidInput(f"dispositions: code(s) given twice: {', '.join(twice)}")
    return out
