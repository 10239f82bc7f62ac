"""Calling windows in the client's local time: plain data in, open or not out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.errors import InvalidInput
from dialer.windows import CallingHours, is_open, next_open, open_zones, zone_country

UTC = timezone.utc
WEEKDAYS = CallingHours.from_json({"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "21:00"})
RU_PUBLIC = CallingHours.from_json({"public_holidays": True})
ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Novosibirsk",
         "Asia/Vladivostok", "Asia/Kamchatka", "Europe/Kyiv", "Europe/Minsk", "Asia/Almaty")


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def test_the_window_is_the_clients_local_time() -> None:
    # 08:30 Moscow is 15:30 in Vladivostok: Vladivostok may be called, Moscow not yet.
    now = local("Europe/Moscow", 2026, 12, 7, 8, 30)
    assert not is_open(WEEKDAYS, "Europe/Moscow", now)
    assert is_open(WEEKDAYS, "Asia/Vladivostok", now)
    assert is_open(WEEKDAYS, "Europe/Moscow", local("Europe/Moscow", 2026, 12, 7, 9, 0))
    assert not is_open(WEEKDAYS, "Europe/Moscow", local("Europe/Moscow", 2026, 12, 7, 21, 0))  # the end is exclusive
    assert not is_open(WEEKDAYS, "Europe/Moscow", local("Europe/Moscow", 2026, 12, 5, 12, 0))  # Saturday


def test_summer_time_is_followed_in_kyiv_and_not_in_minsk() -> None:
    hours = CallingHours.from_json({"days": [1, 2, 3, 4, 5, 6, 7], "start": "09:00", "end": "20:00"})
    # 06:30 UTC: 09:30 in Kyiv in July (UTC+3), 08:30 in January (UTC+2); Minsk is UTC+3 all year.
    assert is_open(hours, "Europe/Kyiv", datetime(2027, 7, 5, 6, 30, tzinfo=UTC))
    assert not is_open(hours, "Europe/Kyiv", datetime(2027, 1, 11, 6, 30, tzinfo=UTC))
    assert is_open(hours, "Europe/Minsk", datetime(2027, 1, 11, 6, 30, tzinfo=UTC))


def test_own_holidays_and_public_holidays_by_country() -> None:
    hours = CallingHours.from_json({"holidays": ["2026-12-31"]})
    assert not is_open(hours, "Europe/Moscow", local("Europe/Moscow", 2026, 12, 31, 12, 0))
    # 8 March 2027 is a Monday: a public holiday in Russia, not in Ukraine (since 2023).
    march8 = datetime(2027, 3, 8, 10, 0, tzinfo=UTC)
    assert is_open(WEEKDAYS, "Europe/Moscow", march8)
    assert not is_open(RU_PUBLIC, "Europe/Moscow", march8)
    assert is_open(RU_PUBLIC, "Europe/Kyiv", march8)
    # One country's holidays for every lead, whatever its zone.
    russian = CallingHours.from_json({"public_holidays": True, "holiday_country": "ru"})
    assert not is_open(russian, "Europe/Kyiv", march8)
    assert (zone_country("Europe/Minsk"), zone_country("Asia/Almaty"), zone_country("Europe/Kyiv")) == ("BY", "KZ", "UA")


def test_a_zone_the_register_places_in_two_countries_keeps_both_countries_public_holidays() -> None:
    # Europe/Simferopol is the zone of 91 Республика Крым and 92 Севастополь in the Russian register
    # and of UA-43 and UA-40 in the Ukrainian one; zone.tab lists it under UA only.
    russian_new_year = local("Europe/Simferopol", 2027, 1, 4, 12, 0)  # Monday 4 January 2027
    assert not is_open(RU_PUBLIC, "Europe/Moscow", russian_new_year)
    assert not is_open(RU_PUBLIC, "Europe/Simferopol", russian_new_year)
    assert open_zones(RU_PUBLIC, {"Europe/Moscow", "Europe/Simferopol", "Europe/Kyiv"}, russian_new_year) == {"Europe/Kyiv"}
    assert next_open(RU_PUBLIC, "Europe/Simferopol", russian_new_year) == local("Europe/Simferopol", 2027, 1, 11, 9, 0)
    # Ukraine lists no public holidays under martial law (since 2023); 2021 shows its side of the rule.
    independence_day = local("Europe/Simferopol", 2021, 8, 24, 12, 0)  # a Tuesday, a working day in Russia
    assert is_open(RU_PUBLIC, "Europe/Moscow", independence_day)
    assert not is_open(RU_PUBLIC, "Europe/Simferopol", independence_day)
    # The campaign's own country still overrides the zone's.
    ukrainian = CallingHours.from_json({"public_holidays": True, "holiday_country": "UA"})
    assert is_open(ukrainian, "Europe/Simferopol", russian_new_year)


def test_an_unknown_zone_waits_for_every_zone_of_the_campaign() -> None:
    span = {"Europe/Kaliningrad", "Asia/Kamchatka", None}
    # Kaliningrad 09:00 is Kamchatka 19:00: both open from then until Kamchatka closes at 21:00.
    both = local("Europe/Kaliningrad", 2026, 12, 7, 9, 30)
    only_kamchatka = local("Europe/Kaliningrad", 2026, 12, 7, 8, 30)
    assert open_zones(WEEKDAYS, span, both) == span
    assert open_zones(WEEKDAYS, span, only_kamchatka) == {"Asia/Kamchatka"}
    assert is_open(WEEKDAYS, None, both, span) and not is_open(WEEKDAYS, None, only_kamchatka, span)
    # A zone tzdata does not know counts as unknown; with no known zone the fallback stands in.
    assert open_zones(WEEKDAYS, {"Mars/Olympus"}, local("Europe/Moscow", 2026, 12, 7, 12, 0)) == {"Mars/Olympus"}
    assert open_zones(WEEKDAYS, {None}, local("Europe/Moscow", 2026, 12, 7, 8, 0)) == set()
    assert next_open(WEEKDAYS, None, only_kamchatka, span) == local("Europe/Kaliningrad", 2026, 12, 7, 9, 0)


def test_next_opening() -> None:
    friday_night = local("Europe/Moscow", 2026, 12, 4, 22, 0)
    assert next_open(WEEKDAYS, "Europe/Moscow", friday_night) == local("Europe/Moscow", 2026, 12, 7, 9, 0)
    inside = local("Europe/Moscow", 2026, 12, 7, 10, 15)
    assert next_open(WEEKDAYS, "Europe/Moscow", inside) == inside
    # Russia's New Year holidays run to 8 January 2027; then a weekend.
    assert next_open(RU_PUBLIC, "Europe/Moscow", local("Europe/Moscow", 2026, 12, 31, 22, 0)) == \
        local("Europe/Moscow", 2027, 1, 11, 9, 0)
    never = CallingHours.from_json({"days": [1], "start": "10:00", "end": "11:00"})
    assert next_open(never, None, friday_night, {"Europe/Kaliningrad", "Asia/Kamchatka"}) is None  # windows never meet


@pytest.mark.parametrize("bad, field", [
    ({"start": "9"}, "hours.start"), ({"end": "25:00"}, "hours.end"), ({"start": "21:00", "end": "09:00"}, "hours.end"),
    ({"days": []}, "hours.days"), ({"days": [0]}, "hours.days"), ({"days": [True]}, "hours.days"),
    ({"holidays": ["31.12.2026"]}, "hours.holidays"), ({"holiday_country": "XX"}, "hours.holiday_country"),
    ({"fallback_zone": "Europe/Nowhere"}, "hours.fallback_zone"), ({"public_holidays": "yes"}, "hours.public_holidays"),
    ({"lunch": "13:00"}, "lunch"),
])
def test_bad_hours_name_the_field(bad: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CallingHours.from_json(bad)
    assert field in caught.value.message


def test_hours_round_trip() -> None:
    data = {"days": [1, 2, 3, 4, 5, 6], "start": "10:00", "end": "24:00", "holidays": ["2027-01-01"],
            "public_holidays": True, "holiday_country": "BY", "fallback_zone": "Europe/Minsk"}
    assert CallingHours.from_json(data).to_json() == data
    assert CallingHours.from_json(None).to_json()["start"] == "09:00"


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))
hours_strategy = st.builds(
    lambda days, start, length, public: CallingHours.from_json({
        "days": sorted(days), "start": f"{start // 60:02d}:{start % 60:02d}",
        "end": f"{min(start + length, 1440) // 60:02d}:{min(start + length, 1440) % 60:02d}", "public_holidays": public,
    }),
    st.sets(st.integers(1, 7), min_size=1), st.integers(0, 23 * 60), st.integers(30, 14 * 60), st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(hours=hours_strategy, now=moments, span=st.sets(st.sampled_from(ZONES), min_size=1, max_size=5))
def test_open_zones_only_ever_holds_zones_in_their_window(hours: CallingHours, now: datetime, span: set[str]) -> None:
    zones: set[str | None] = {*span, None}
    opened = open_zones(hours, zones, now)
    for zone in opened - {None}:
        assert zone is not None
        local_now = now.astimezone(ZoneInfo(zone))
        assert local_now.isoweekday() in hours.days
        assert hours.start_minute <= local_now.hour * 60 + local_now.minute < hours.end_minute
    if None in opened:
        assert all(is_open(hours, z, now) for z in span)
    assert opened == {z for z in zones if is_open(hours, z, now, zones)}


@settings(max_examples=200, deadline=None)
@given(hours=hours_strategy, now=moments, zone=st.sampled_from(ZONES))
def test_next_open_is_open_and_nothing_earlier_is(hours: CallingHours, now: datetime, zone: str) -> None:
    found = next_open(hours, zone, now)
    assert found is not None and found >= now and is_open(hours, zone, found)
    # Sampled every 10 minutes from now, the window is closed before it opens.
    probe = now
    while probe + timedelta(minutes=10) < found and probe < now + timedelta(days=3):
        assert not is_open(hours, zone, probe)
        probe += timedelta(minutes=10)
