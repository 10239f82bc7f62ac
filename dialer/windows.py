"""Calling windows: may a lead be dialled now, in the client's own local time? (pure)

A campaign's ``hours`` (JSON on the campaign row) say on which ISO weekdays and between
which local times its clients may be called, which dates are off (its own list, and
optionally each country's public holidays from the ``holidays`` package), all in the
client's local time: the lead's zone (the client's explicit zone, else its region's,
else its number's when unambiguous; see crm_core.regions.client_timezone). A zone's public
holidays are those of every country the region register places it in (Europe/Simferopol:
Russia's 91/92 and Ukraine's UA-43/UA-40), else of its zone.tab country.

Unknown zone policy: a lead whose zone is unknown (None, or a name tzdata does not know)
is dialled only while the window is open in *every* zone the campaign's leads span, so
it is inside its hours if the client lives where the campaign's other clients do. A client
elsewhere (a Moscow list, a mobile whose owner lives in Kamchatka) is not covered: every
zone a +7 mobile could be in would leave no window at all, so the region on the card is
what makes such a client safe to dial. When the campaign's leads name no zone at all, the
campaign's ``fallback_zone`` (Europe/Moscow unless set) stands in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from crm_core.campaign_settings import CallingHours, supported_country, zone_info
from crm_core.regions import REGIONS

__all__ = [
    "CallingHours", "holiday_countries", "is_open", "next_open", "open_zones", "public_holidays", "zone_country",
    "zone_info",
]

# How far ahead the next opening is searched (a year and a bit: long holiday lists).
SEARCH_DAYS = 400
Zone = str | None


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """zone.tab: each zone's country code (tzdata's copy, else the system's)."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        path = Path("/usr/share/zoneinfo/zone.tab")
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    # Renamed zones tzdata keeps as links, as crm_core.phones writes them.
    out.setdefault("Europe/Kyiv", out.get("Europe/Kiev", "UA"))
    return out


def zone_country(zone: str | None) -> str | None:
    """The ISO country of a zone ("Europe/Minsk" -> "BY"), or None."""
    return _zone_countries().get(zone) if zone else None


@lru_cache(maxsize=1)
def _register_countries() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for region in REGIONS:
        out.setdefault(region.tz, set()).add(region.country)
    return {zone: frozenset(countries) for zone, countries in out.items()}


def holiday_countries(zone: str | None) -> frozenset[str]:
    """The countries whose public holidays a lead in ``zone`` is off on: the register's, else zone.tab's."""
    if not zone:
        return frozenset()
    placed = _register_countries().get(zone)
    if placed:
        # A lead carries only its zone, so one the register places in two countries (Europe/Simferopol)
        # is off on either's holidays, as an unknown zone waits for every zone's window.
        return placed
    country = zone_country(zone)
    return frozenset({country}) if country else frozenset()


@lru_cache(maxsize=512)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """The public holidays (and moved days off) of a country in a year; empty if unknown."""
    import holidays

    if not supported_country(country):
        return frozenset()
    return frozenset(holidays.country_holidays(country, years=year))


# --- the window ---------------------------------------------------------------------------


def _day_is_off(hours: CallingHours, zone: str, day: date) -> bool:
    if day.isoweekday() not in hours.days or day in hours.holidays:
        return True
    if hours.public_holidays:
        countries = {hours.holiday_country} if hours.holiday_country else holiday_countries(zone)
        if any(day in public_holidays(country, day.year) for country in countries):
            return True
    return False


def _open_in(hours: CallingHours, zone: str, now_utc: datetime) -> bool:
    tz = zone_info(zone)
    assert tz is not None
    local = now_utc.astimezone(tz)
    minute = local.hour * 60 + local.minute
    if not hours.start_minute <= minute < hours.end_minute:
        return False
    return not _day_is_off(hours, zone, local.date())


def _known(zones: Iterable[Zone]) -> set[str]:
    return {z for z in zones if z is not None and zone_info(z) is not None}


def _stand_ins(hours: CallingHours, span: Iterable[Zone]) -> set[str]:
    """The zones an unknown-zone lead must be inside: every known zone of the span, or the fallback."""
    return _known(span) or {hours.fallback_zone}


def _check_now(now_utc: datetime) -> None:
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be an aware datetime")


def is_open(hours: CallingHours, zone: Zone, now_utc: datetime, span: Iterable[Zone] = ()) -> bool:
    """True if a lead in ``zone`` may be dialled at ``now_utc``.

    ``span``: the zones of the campaign's leads, which an unknown zone must all be open in.
    """
    _check_now(now_utc)
    if zone_info(zone) is not None:
        assert zone is not None
        return _open_in(hours, zone, now_utc)
    return all(_open_in(hours, z, now_utc) for z in _stand_ins(hours, span))


def open_zones(hours: CallingHours, zones: Iterable[Zone], now_utc: datetime) -> set[Zone]:
    """Of the campaign's lead zones, those open now (None, the unknown zone, only if all are).

    The result is what ``crm_core.services.leads.lease_leads`` takes as ``open_zones``.
    """
    _check_now(now_utc)
    zones = set(zones)
    out: set[Zone] = {z for z in _known(zones) if _open_in(hours, z, now_utc)}
    unknown = {z for z in zones if z is None or zone_info(z) is None}
    if unknown and all(_open_in(hours, z, now_utc) for z in _stand_ins(hours, zones)):
        out |= unknown
    return out


def _next_open_in(hours: CallingHours, zone: str, now_utc: datetime) -> datetime | None:
    tz = zone_info(zone)
    assert tz is not None
    today = now_utc.astimezone(tz).date()
    for offset in range(SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if _day_is_off(hours, zone, day):
            continue
        start = _local(day, hours.start_minute, tz)
        end = _local(day, hours.end_minute, tz)
        candidate = max(now_utc, start)
        # A DST jump can make a local start time not exist; step to the first open minute.
        for _ in range(180):
            if candidate >= end:
                break
            if _open_in(hours, zone, candidate):
                return candidate
            candidate = (candidate + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return None


def _local(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """``minute`` after local midnight of ``day`` on the wall clock, in UTC (24:00 is the next midnight)."""
    wall = time((minute % 1440) // 60, minute % 60)
    return datetime.combine(day + timedelta(days=minute // 1440), wall, tzinfo=tz).astimezone(timezone.utc)


def next_open(hours: CallingHours, zone: Zone, now_utc: datetime, span: Iterable[Zone] = ()) -> datetime | None:
    """The first moment at or after ``now_utc`` a lead in ``zone`` may be dialled; None within a year."""
    _check_now(now_utc)
    now_utc = now_utc.astimezone(timezone.utc)
    if zone_info(zone) is not None:
        assert zone is not None
        return _next_open_in(hours, zone, now_utc)
    zones = _stand_ins(hours, span)
    moment = now_utc
    limit = now_utc + timedelta(days=SEARCH_DAYS)
    while moment <= limit:
        opens = [_next_open_in(hours, z, moment) for z in zones]
        if any(o is None for o in opens):
            return None
        latest = max(o for o in opens if o is not None)
        if all(_open_in(hours, z, latest) for z in zones):
            return latest
        # Some zone closed again before the last one opened: look from there on.
        moment = latest if latest > moment else moment + timedelta(minutes=1)
    return None
