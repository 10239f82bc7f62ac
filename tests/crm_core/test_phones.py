import random
from zoneinfo import ZoneInfo

import pytest

from crm_core import phones
from crm_core.errors import DomainError, InvalidPhone
from crm_core.phones import (
    digits_for_suffix_search,
    normalize_phone,
    parse_phone,
    phone_digits,
    search_variants,
    timezone_for_phone,
)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("+7 916 123-45-67", "RU", "+79161234567"),
        ("79161234567", "RU", "+79161234567"),
        ("9161234567", "RU", "+79161234567"),
        ("8-495-123-45-67", "RU", "+74951234567"),
        ("8 (3452) 12-34-56", "RU", "+73452123456"),
        ("8-800-555-35-35", "RU", "+78005553535"),
        ("+380 67 123 45 67", "RU", "+380671234567"),
        ("0671234567", "UA", "+380671234567"),
        ("044 123 45 67", "UA", "+380441234567"),
        ("+375 (29) 123-45-67", "RU", "+375291234567"),
        ("8 029 123 45 67", "BY", "+375291234567"),
        ("8 017 321-54-76", "BY", "+375173215476"),
        ("+7 701 123 45 67", "RU", "+77011234567"),
        ("8 701 123 45 67", "KZ", "+77011234567"),
        ("+7 7172 123456", "RU", "+77172123456"),
        # Russian international prefix 8-10, written by people who dial from a landline.
        ("8 10 375 29 123-45-67", "RU", "+375291234567"),
        # Excel ate the "+", or the European "00" prefix was used.
        ("380671234567", "RU", "+380671234567"),
        ("00380671234567", "RU", "+380671234567"),
        ("79161234567", "UA", "+79161234567"),
        # Labels people type into the cell.
        ("тел. 8 916 123 45 67", "RU", "+79161234567"),
        ("8 916 123 45 67 моб.", "RU", "+79161234567"),
        ("tel:+79161234567", "RU", "+79161234567"),
        ("  +7 (916) 123 45 67  ", "RU", "+79161234567"),
    ],
)
def test_normalize_phone_reads_common_formats(raw, region, e164):
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "extension"),
    [
        ("+7 495 123-45-67 доб. 123", "123"),
        ("8 (495) 123-45-67 (доб. 204)", "204"),
        ("+7 495 123-45-67 вн. 33", "33"),
        ("+7 495 123-45-67 ext. 12", "12"),
        ("+7 495 123-45-67x12", "12"),
        ("8 (495) 123-45-67 #3", "3"),
        ("+7 (495) 123 45 67 доб.", None),
    ],
)
def test_extension_is_kept_apart_from_the_number(raw, extension):
    parsed = parse_phone(raw, "RU")
    assert parsed.e164 == "+74951234567"
    assert parsed.extension == extension
    assert normalize_phone(raw, "RU") == "+74951234567"


def test_is_mobile_tells_mobiles_from_landlines():
    assert parse_phone("8 916 123 45 67").is_mobile
    assert not parse_phone("8 495 123 45 67").is_mobile
    assert parse_phone("0671234567", "UA").is_mobile
    assert not parse_phone("8-800-555-35-35").is_mobile


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "RU", "empty"),
        ("   ", "RU", "empty"),
        ("8 (916) 12", "RU", "too short"),
        ("1234567890123456789", "RU", "too long"),
        ("abc", "RU", "contains letters"),
        ("8 916 ABC DEFG", "RU", "contains letters"),  # not the keypad digits 222 3334
        ("89161234567 (Иван)", "RU", "contains letters"),
        ("---", "RU", "not a number"),
        ("+999 1234567", "RU", "unknown country code"),
        ("0671234567", "RU", "invalid for region RU/KZ"),  # Ukrainian national form in Russia
        ("+7 727 123 45 67", "RU", "invalid for region KZ"),
        ("123-45-67", "RU", "too short (a local number without its area code)"),
        ("+7 916 123 45 67 89", "RU", "wrong number of digits"),
    ],
)
def test_invalid_numbers_say_why(raw, region, reason):
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone(raw, region)
    assert caught.value.reason == reason
    assert caught.value.raw == raw.strip()
    assert str(caught.value) == f"phone {raw.strip()!r} is not a valid number: {reason}"


def test_invalid_phone_is_a_value_error_and_a_domain_error():
    with pytest.raises(ValueError):
        normalize_phone("8 (916) 12")
    assert issubclass(InvalidPhone, DomainError)
    assert InvalidPhone.code == "invalid_phone"
    assert DomainError.code != InvalidPhone.code


def test_default_region_decides_how_national_numbers_read():
    assert normalize_phone("8 029 123 45 67", "BY") == "+375291234567"
    with pytest.raises(InvalidPhone):
        normalize_phone("8 029 123 45 67", "RU")
    assert normalize_phone("8 029 123 45 67", "by") == "+375291234567"


# What the deployment's own national form and a number that lost its "+" read as.
_OWN_FORMS = {
    "BY": [("8 029 123-45-67", "+375291234567"), ("80291234567", "+375291234567")],
    "UA": [("0 67 123 45 67", "+380671234567"), ("067 123 45 67", "+380671234567")],
}
_PLUS_LOST = [("79161234567", "+79161234567"), ("380671234567", "+380671234567"), ("375291234567", "+375291234567")]


@pytest.mark.parametrize("region", ["BY", "UA"])
def test_a_number_with_the_russian_trunk_prefix_8_is_russian_in_a_belarusian_or_ukrainian_deployment(region):
    """Clients of a Minsk or Kyiv call centre send Moscow numbers written the Russian way:
    "8 (495) ..." is +7 495 ..., not Viet Nam's +84 95 ... that lost its "+"."""
    assert normalize_phone("8 (495) 123-45-67", region) == "+74951234567"
    assert normalize_phone("8 916 123 45 67", region) == "+79161234567"
    assert normalize_phone("8 701 123 45 67", region) == "+77011234567"  # Kazakhstan shares the 8
    assert parse_phone("8 (812) 315-22-11 доб. 12", region) == phones.ParsedPhone("+78123152211", "12", False)
    for raw, e164 in _OWN_FORMS[region] + _PLUS_LOST:
        assert normalize_phone(raw, region) == e164, raw


@pytest.mark.parametrize("region", ["RU", "BY", "UA"])
def test_an_8_number_that_is_no_valid_russian_one_is_refused_not_read_as_abroad(region):
    # 497 is no Moscow code (495, 496, 498, 499 are); +84 97 123 45 67 would be a Vietnamese mobile.
    with pytest.raises(InvalidPhone) as caught:
        normalize_phone("8 (497) 123-45-67", region)
    assert caught.value.reason == "invalid for region RU"


def test_phone_digits_for_dial_strings():
    assert phone_digits("+79161234567") == "79161234567"
    assert phone_digits("+375291234567") == "375291234567"


@pytest.mark.parametrize("bad", ["79161234567", "+7 916 123 45 67", "+79161234567\r\nAction: Logoff", "+0123456789", ""])
def test_phone_digits_refuses_anything_but_e164(bad):
    with pytest.raises(InvalidPhone):
        phone_digits(bad)


def test_search_variants_full_number_or_none():
    assert search_variants("8 916 123 45 67", "RU") == "+79161234567"
    assert search_variants("+380 67 123 45 67", "RU") == "+380671234567"
    assert search_variants("067 123 45 67", "UA") == "+380671234567"
    assert search_variants("916 12", "RU") is None
    assert search_variants("Иванов", "RU") is None
    assert search_variants("", "RU") is None


def test_digits_for_suffix_search():
    assert digits_for_suffix_search("45-67") == "4567"
    assert digits_for_suffix_search("123-45-67") == "1234567"
    assert digits_for_suffix_search("67") is None
    assert digits_for_suffix_search("67", min_digits=2) == "67"
    assert digits_for_suffix_search("") is None


@pytest.mark.parametrize(
    ("e164", "zone"),
    [
        ("+79161234567", None),  # a Russian mobile may be anywhere from Kaliningrad to Chukotka
        ("+78005553535", None),  # toll-free
        ("+74951234567", "Europe/Moscow"),
        ("+78121234567", "Europe/Moscow"),
        ("+73432123456", "Asia/Yekaterinburg"),
        ("+73832123456", "Asia/Novosibirsk"),
        ("+74232123456", "Asia/Vladivostok"),
        ("+74152123456", "Asia/Kamchatka"),
        ("+74012123456", "Europe/Kaliningrad"),  # phonenumbers says Europe/Bucharest (has DST)
        ("+78452123456", "Europe/Saratov"),  # phonenumbers says Europe/Moscow (UTC+3, wrong)
        ("+78442123456", "Europe/Volgograd"),
        ("+380671234567", "Europe/Kyiv"),
        ("+380441234567", "Europe/Kyiv"),
        ("+375291234567", "Europe/Minsk"),  # phonenumbers says Europe/Moscow
        ("+375173215476", "Europe/Minsk"),
        ("+77011234567", "Asia/Almaty"),  # one clock for Kazakhstan since 2024
        ("+77132123456", "Asia/Aqtobe"),
        ("+4930123456", "Europe/Berlin"),
        ("79161234567", None),
        ("garbage", None),
        ("+7916", None),
    ],
)
def test_timezone_for_phone_only_when_unambiguous(e164, zone):
    assert timezone_for_phone(e164) == zone
    if zone:
        ZoneInfo(zone)


def test_every_corrected_zone_exists():
    for zone in [*phones._ZONE_BY_PREFIX.values(), *phones._COUNTRY_ZONE.values(),
                 *phones._COUNTRY_FALLBACK_ZONE.values(), *phones._ZONE_RENAMES.values()]:
        ZoneInfo(zone)


def _shuffle_format(rng: random.Random, digits: str) -> str:
    parts, i = [], 0
    while i < len(digits):
        step = rng.randint(1, 4)
        parts.append(digits[i : i + step])
        i += step
    out = rng.choice([" ", "-", ""]).join(parts)
    if rng.random() < 0.3 and len(parts) > 2:
        out = out.replace(parts[1], f"({parts[1]})", 1)
    return out


def test_fast_path_agrees_with_phonenumbers():
    """The shortcut for +7/+375/+380 and RU/KZ/UA/BY national forms gives what the full parser gives."""
    rng = random.Random(20240301)
    checked = 0
    for _ in range(20000):
        region = rng.choice(["RU", "KZ", "UA", "BY"])
        shape = rng.random()
        rest = "".join(rng.choice("0123456789") for _ in range(rng.randint(8, 11)))
        if shape < 0.4:
            text = "+" + _shuffle_format(rng, rng.choice(["7", "375", "380"]) + rest)
        elif shape < 0.6:
            text = _shuffle_format(rng, rng.choice("78") + rng.choice("34789") + rest[:9])
        elif shape < 0.8:
            text = _shuffle_format(rng, "0" + rest[:9])
        else:
            text = _shuffle_format(rng, "80" + rest[:9])
        fast = phones._parse_fast(text, region)
        if fast is None:
            continue
        checked += 1
        assert phones._parse_full(text, region) == fast, (text, region)
    assert checked > 1000
