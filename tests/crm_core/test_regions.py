import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm_core.phones import timezone_for_phone
from crm_core.regions import (
    REGIONS,
    Region,
    client_timezone,
    find_region,
    find_regions,
    parse_timezone,
    region_by_code,
)

WINTER = dt.datetime(2025, 1, 15, 12, 0)
SUMMER = dt.datetime(2025, 7, 15, 12, 0)


def _utc_hours(zone: str, when: dt.datetime = WINTER) -> float:
    return when.replace(tzinfo=ZoneInfo(zone)).utcoffset().total_seconds() / 3600


def test_register_has_all_85_russian_subjects_with_unique_codes():
    russian = [r for r in REGIONS if r.country == "RU"]
    assert len(russian) == 85
    codes = [r.code for r in REGIONS]
    assert len(codes) == len(set(codes))
    assert all(len(r.code) == 2 and r.code.isdigit() for r in russian)
    assert {r.country for r in REGIONS} == {"RU", "UA", "BY", "KZ"}
    assert len([r for r in REGIONS if r.country == "UA"]) == 27  # ISO 3166-2:UA
    assert len([r for r in REGIONS if r.country == "BY"]) == 7
    assert len([r for r in REGIONS if r.country == "KZ"]) == 20


def test_every_zone_loads():
    for region in REGIONS:
        ZoneInfo(region.tz)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("77", "Москва"),
        ("78", "Санкт-Петербург"),
        ("50", "Московская область"),
        ("54", "Новосибирская область"),
        ("66", "Свердловская область"),
        ("16", "Республика Татарстан"),
        ("23", "Краснодарский край"),
        ("25", "Приморский край"),
        ("39", "Калининградская область"),
        ("63", "Самарская область"),
        ("55", "Омская область"),
        ("24", "Красноярский край"),
        ("38", "Иркутская область"),
        ("27", "Хабаровский край"),
        ("41", "Камчатский край"),
        ("91", "Республика Крым"),
        ("92", "Севастополь"),
        ("89", "Ямало-Ненецкий автономный округ"),
    ],
)
def test_codes_of_russian_subjects(code, name):
    assert region_by_code(code).name == name
    assert find_region(code).name == name


@pytest.mark.parametrize(
    ("code", "utc_hours"),
    [
        ("39", 2), ("77", 3), ("34", 3), ("63", 4), ("64", 4), ("30", 4), ("18", 4),
        ("66", 5), ("02", 5), ("55", 6), ("54", 7), ("70", 7), ("22", 7), ("42", 7),
        ("24", 7), ("38", 8), ("03", 8), ("14", 9), ("75", 9), ("28", 9), ("25", 10),
        ("27", 10), ("49", 11), ("65", 11), ("41", 12), ("87", 12),
    ],
)
def test_russian_offsets_are_the_clocks_people_live_by(code, utc_hours):
    zone = region_by_code(code).tz
    assert _utc_hours(zone) == utc_hours
    assert _utc_hours(zone, SUMMER) == utc_hours  # no daylight saving in Russia


def test_neighbours_clocks():
    assert _utc_hours(region_by_code("UA-30").tz) == 2
    assert _utc_hours(region_by_code("UA-30").tz, SUMMER) == 3
    assert region_by_code("UA-30").tz == "Europe/Kyiv"
    assert all(r.tz == "Europe/Minsk" for r in REGIONS if r.country == "BY")
    assert all(_utc_hours(r.tz) == 5 for r in REGIONS if r.country == "KZ")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Москва", "77"),
        ("г. Москва", "77"),
        ("МОСКВА", "77"),
        ("Москва г", "77"),
        ("77", "77"),
        ("7", "07"),
        ("RU-77", "77"),
        ("77 Москва", "77"),
        ("50 - Московская обл.", "50"),
        ("Московская область", "50"),
        ("Московская обл", "50"),
        ("Моск. обл.", "50"),
        ("Подмосковье", "50"),
        ("СПб", "78"),
        ("Санкт-Петербург г", "78"),
        ("Ленобласть", "47"),
        ("Саха /Якутия/ Респ", "14"),
        ("Якутия", "14"),
        ("Ханты-Манс. АО", "86"),
        ("ХМАО", "86"),
        ("Ханты-Мансийский Автономный округ - Югра АО", "86"),
        ("Северная Осетия - Алания Респ", "15"),
        ("Сев. Осетия", "15"),
        ("Кемеровская область - Кузбасс область", "42"),
        ("Еврейская Аобл", "79"),
        ("Татарстан Респ", "16"),
        ("Башкирия", "02"),
        ("Чувашская Республика - Чувашия", "21"),
        ("Алтай", "04"),
        ("Алт. край", "22"),
        ("Алтайский", "22"),
        ("Екатеринбург", "66"),
        ("Нижний Новгород", "52"),
        ("Орел", "57"),
        ("Орёл", "57"),
        ("Россия, Московская обл, г Химки", "50"),
        ("Moscow", "77"),
        ("Moscow Oblast", "50"),
        ("Київ", "UA-30"),
        ("Киев", "UA-30"),
        ("м. Київ", "UA-30"),
        ("Киевская обл.", "UA-32"),
        ("Львівська область", "UA-46"),
        ("Украина, Харьков", "UA-63"),
        ("ua-32", "UA-32"),
        ("Минск", "BY-HM"),
        ("Минская обл.", "BY-MI"),
        ("Мінская вобласць", "BY-MI"),
        ("Гомель", "BY-HO"),
        ("Алматы", "KZ-75"),
        ("Алматинская обл", "KZ-19"),
        ("Нур-Султан", "KZ-71"),
        ("Петропавловск-Камчатский", "41"),
    ],
)
def test_find_region_reads_names_as_people_write_them(text, code):
    region = find_region(text)
    assert region is not None, text
    assert region.code == code


@pytest.mark.parametrize("text", [None, "", "   ", "Атлантида", "Москва и МО", "99", "UA-99", "Кир"])
def test_find_region_unknown_or_ambiguous_is_none(text):
    assert find_region(text) is None


def test_ambiguous_names_resolve_with_a_country():
    assert {r.code for r in find_regions("Севастополь")} == {"92", "UA-40"}
    assert find_region("Севастополь") is None
    assert find_region("Севастополь", country="RU").code == "92"
    assert find_region("Севастополь", country="ua").code == "UA-40"
    assert find_region("77", country="UA") is None


def test_region_is_a_plain_value():
    region = find_region("Новосибирск")
    assert region == Region("54", "Новосибирская область", "RU", "Asia/Novosibirsk", region.aliases)
    with pytest.raises(AttributeError):
        region.tz = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("phone", "code"),
    [
        ("+74951234567", "77"),
        ("+78121234567", "78"),
        ("+73432123456", "66"),
        ("+73832123456", "54"),
        ("+73812123456", "55"),
        ("+73912123456", "24"),
        ("+73952123456", "38"),
        ("+74212123456", "27"),
        ("+74232123456", "25"),
        ("+74152123456", "41"),
        ("+74012123456", "39"),
        ("+78462123456", "63"),
        ("+78452123456", "64"),
        ("+78512123456", "30"),
        ("+78422123456", "73"),
        ("+78442123456", "34"),
        ("+73822123456", "70"),
        ("+73842123456", "42"),
        ("+73852123456", "22"),
        ("+73022123456", "75"),
        ("+78332123456", "43"),
        ("+73652123456", "91"),
        ("+380441234567", "UA-30"),
        ("+375172123456", "BY-HM"),
        ("+77272123456", "KZ-75"),
    ],
)
def test_a_landline_and_its_region_agree_on_the_zone(phone, code):
    assert timezone_for_phone(phone) == region_by_code(code).tz


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Moscow", "Europe/Moscow"),
        ("europe/moscow", "Europe/Moscow"),
        ("Asia/Yekaterinburg", "Asia/Yekaterinburg"),
        ("Europe/Kiev", "Europe/Kyiv"),
        ("UTC", "UTC"),
        ("UTC+5", "Etc/GMT-5"),
        ("GMT-3", "Etc/GMT+3"),
        ("+03:00", "Etc/GMT-3"),
        ("UTC+0", "UTC"),
        ("МСК", "Europe/Moscow"),
        ("MSK", "Europe/Moscow"),
        ("МСК+4", "Etc/GMT-7"),
        ("мск-1", "Etc/GMT-2"),
        ("Екатеринбург", "Asia/Yekaterinburg"),
        ("Севастополь", "Europe/Simferopol"),  # two registers, one clock
        ("UTC+5:30", None),  # no fixed Etc zone for half hours
        ("UTC+15", None),
        ("Asia/Nowhere", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_timezone(text, zone):
    assert parse_timezone(text) == zone
    if zone:
        ZoneInfo(zone)


def test_etc_sign_is_inverted_the_way_tzdata_wants():
    assert _utc_hours(parse_timezone("UTC+5")) == 5
    assert _utc_hours(parse_timezone("МСК+4")) == 7


def test_client_timezone_explicit_then_region_then_number():
    assert client_timezone("Новосибирская обл", "Asia/Omsk", "+74951234567") == "Asia/Omsk"
    assert client_timezone("Новосибирская обл", None, "+74951234567") == "Asia/Novosibirsk"
    assert client_timezone(None, None, "+74951234567") == "Europe/Moscow"
    assert client_timezone("Атлантида", "", "+74012123456") == "Europe/Kaliningrad"
    assert client_timezone("Крым", None, None) == "Europe/Simferopol"


def test_a_typed_offset_gives_way_to_the_zone_of_the_clients_place_on_that_clock():
    # The card keeps "МСК+2" as Etc/GMT-5; the region's zone keeps the clock and adds the place's
    # summer time and country (public holidays), which a fixed offset cannot carry.
    assert client_timezone("Свердловская область", parse_timezone("МСК+2"), "+73432104568") == "Asia/Yekaterinburg"
    # Kyiv keeps UTC+2 in winter and UTC+3 in summer: either, as the client read it off the clock.
    assert client_timezone("Київ", "UTC+2", "+380442351234") == "Europe/Kyiv"
    assert client_timezone("Київ", "UTC+3", "+380442351234") == "Europe/Kyiv"
    assert client_timezone("Крым", "UTC+3", None) == "Europe/Simferopol"  # two registers, one zone
    # No region: a landline's zone counts the same way.
    assert client_timezone(None, "UTC+7", "+73832123456") == "Asia/Novosibirsk"
    # An offset off the place's clock says the client is elsewhere: it stays as typed.
    assert client_timezone("Москва", "UTC+5", "+74951234567") == "Etc/GMT-5"
    assert client_timezone(None, "UTC+5", "+79161234567") == "Etc/GMT-5"
    # A named zone is the client's word, even where it differs from the region's.
    assert client_timezone("Новосибирская обл", "Asia/Omsk", None) == "Asia/Omsk"


def test_client_timezone_none_when_nothing_is_sure():
    assert client_timezone(None, None, "+79161234567") is None
    assert client_timezone(None, None, None) is None
    assert client_timezone("", "", "") is None


def test_bad_explicit_zone_falls_back_to_the_region(caplog):
    assert client_timezone("Омская обл.", "Mars/Olympus", None) == "Asia/Omsk"
    assert "regions.bad_explicit_tz" in caplog.text
