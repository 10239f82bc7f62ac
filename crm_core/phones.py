"""Phone numbers: any written form in, E.164 out; digits for dialling; search keys; zones.

National formats are read in the deployment's default region ("RU", "UA", "BY", "KZ"...),
so "8 (916) 123-45-67" is Russian in a Russian deployment and "8 029 123 45 67" is
Belarusian in a Belarusian one. Numbers written without their "+" (Excel drops it:
"380671234567") or with the "00" prefix are read as international when the national
reading is not a valid number; eleven digits starting with 8 are then read as a Russian
or Kazakh number ("8 (495) 123-45-67" in a Belarusian deployment), never as "+8...".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult
from phonenumbers import timezone as pn_timezone

from crm_core.errors import InvalidPhone

log = logging.getLogger(__name__)

_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Words people write around a number in a cell ("тел. 8 916...", "... доб. 12"). Type
# labels are dropped and extension words become "ext"; any other letter is refused,
# because phonenumbers would read "ABC" as the keypad digits 222.
_TYPE_LABELS = re.compile(
    r"(?i)\b(?:тел(?:ефон)?|моб(?:ильный)?|сот(?:овый)?|раб(?:очий)?|дом(?:ашний)?|факс|"
    r"tel|phone|mob(?:ile)?|fax)\b\.?:?"
)
_EXTENSION_WORDS = re.compile(
    r"(?i)\b(?:доб(?:авочный)?|вн(?:утр(?:енний)?)?|ext(?:ension)?)\b\.?|(?<![^\W\d_])x(?=\s*\d)"
)
_DANGLING_EXTENSION = re.compile(r"[\s(]*(?: ext )+[\s)]*$")
_EXTENSION_START = re.compile(r"\s*\(?\s*(?: ext |#)")
_LETTER = re.compile(r"[^\W\d_]")
_NON_DIGITS = re.compile(r"[^0-9]+")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "too short (a local number without its area code)",
}


@dataclass(frozen=True, slots=True)
class ParsedPhone:
    """A valid number: its E.164 form, the extension written after it, whether mobile."""

    e164: str
    extension: str | None
    is_mobile: bool


def parse_phone(raw: str, default_region: str = "RU") -> ParsedPhone:
    """Read a number in any common written form; raise InvalidPhone with a human reason."""
    return _parse_cached(raw, default_region.upper())


def normalize_phone(raw: str, default_region: str = "RU") -> str:
    """Return the E.164 form ("+79161234567") of a written number (an extension is dropped)."""
    return _parse_cached(raw, default_region.upper()).e164


def phone_digits(e164: str) -> str:
    """Digits only of an E.164 number ("79161234567"), for AMI dial strings."""
    if not isinstance(e164, str) or not _E164.fullmatch(e164):
        raise InvalidPhone(str(e164), "not in E.164 form (+ and 7 to 15 digits)")
    return e164[1:]


def search_variants(query: str, default_region: str = "RU") -> str | None:
    """The E.164 to look up for what was typed in a search box, or None if not a full number.

    None tells the caller to fall back to ``digits_for_suffix_search``.
    """
    try:
        return normalize_phone(query, default_region)
    except InvalidPhone:
        return None


def digits_for_suffix_search(query: str, min_digits: int = 4) -> str | None:
    """The digits of a partial number ("45-67" -> "4567") to match as a suffix, or None if too few."""
    digits = _NON_DIGITS.sub("", query or "")
    return digits if len(digits) >= min_digits else None


# Where phonenumbers' zone for a Russian or Ukrainian area is wrong or only the right
# offset under another name, the zone tzdata keeps for that area. Saratov is UTC+4 since
# 2016 (phonenumbers says Moscow); Kaliningrad has no DST (phonenumbers says Bucharest).
# The rest are the local clock of the area, so a region and its numbers agree.
_ZONE_BY_PREFIX = {
    "+7401": "Europe/Kaliningrad",
    "+7845": "Europe/Saratov",
    "+7851": "Europe/Astrakhan",
    "+7842": "Europe/Ulyanovsk",
    "+7844": "Europe/Volgograd",
    "+7833": "Europe/Kirov",
    "+7302": "Asia/Chita",
    "+7382": "Asia/Tomsk",
    "+7384": "Asia/Novokuznetsk",
    "+7385": "Asia/Barnaul",
    "+7388": "Asia/Barnaul",
    "+7365": "Europe/Simferopol",
    "+7869": "Europe/Simferopol",
    "+38065": "Europe/Simferopol",
    "+38069": "Europe/Simferopol",
}
_PREFIX_LENGTHS = sorted({len(p) for p in _ZONE_BY_PREFIX}, reverse=True)
# phonenumbers gives Belarus the Moscow zone (same offset, another country's clock).
_COUNTRY_ZONE = {"BY": "Europe/Minsk"}
# One clock for the whole country (Kazakhstan since 1 March 2024), where phonenumbers
# lists every zone of the shared +7 code for mobiles.
_COUNTRY_FALLBACK_ZONE = {"KZ": "Asia/Almaty"}
_ZONE_RENAMES = {"Europe/Kiev": "Europe/Kyiv"}


def timezone_for_phone(e164: str) -> str | None:
    """The IANA zone of a number when it is unambiguous (a landline, a one-zone country), else None."""
    if not isinstance(e164, str) or not _E164.fullmatch(e164):
        return None
    return _timezone_cached(e164)


@lru_cache(maxsize=4096)
def _timezone_cached(e164: str) -> str | None:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    region = phonenumbers.region_code_for_number(number)
    zones = tuple(
        _ZONE_RENAMES.get(z, z)
        for z in pn_timezone.time_zones_for_number(number)
        if z != pn_timezone.UNKNOWN_TIMEZONE
    )
    if region in _COUNTRY_ZONE:
        zone: str | None = _COUNTRY_ZONE[region]
    elif len(zones) == 1:
        zone = _zone_by_prefix(e164) or zones[0]
    else:
        zone = _COUNTRY_FALLBACK_ZONE.get(region or "")
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError, OSError):
        log.warning("phones.unknown_zone zone=%s number_prefix=%s", zone, e164[:5])
        return None
    return zone


def _zone_by_prefix(e164: str) -> str | None:
    for length in _PREFIX_LENGTHS:
        zone = _ZONE_BY_PREFIX.get(e164[:length])
        if zone:
            return zone
    return None


@lru_cache(maxsize=65536)
def _parse_cached(raw: str, region: str) -> ParsedPhone:
    # Cached: imports and search boxes see the same numbers again and again.
    if raw is None or not str(raw).strip():
        raise InvalidPhone("", "empty")
    text = str(raw).strip()
    return _parse_fast(text, region) or _parse_full(text, region)


_PLAIN = re.compile(r"\+?[0-9 ()\-.]+")
_PLAIN_SEPARATORS = str.maketrans("", "", " ()-.")
# (calling code, first NSN digits phonenumbers might strip as a national prefix)
_FAST_CODES = (("7", 7, "08"), ("375", 375, "08"), ("380", 380, "0"))


def _parse_fast(text: str, region: str) -> ParsedPhone | None:
    """The common shapes of the home markets without phonenumbers.parse (2-3x faster).

    Only digits and separators; "+7/+375/+380...", or a national number of RU/KZ
    ("8 916..."), UA ("067...") or BY ("8 029..."). Returns None to defer anything
    else, and any number that is not valid, to the full parser (which words the reason).
    """
    if not _PLAIN.fullmatch(text):
        return None
    digits = text.translate(_PLAIN_SEPARATORS)
    if digits.startswith("+"):
        digits = digits[1:]
        for prefix, code, unsafe in _FAST_CODES:
            if digits.startswith(prefix):
                nsn = digits[len(prefix) :]
                if not nsn or nsn[0] in unsafe:
                    return None
                break
        else:
            return None
    elif region in ("RU", "KZ") and len(digits) == 11 and digits[0] in "78":
        code, nsn = 7, digits[1:]
    elif region == "UA" and len(digits) == 10 and digits[0] == "0":
        code, nsn = 380, digits[1:]
    elif region == "BY" and len(digits) == 11 and digits.startswith("80"):
        code, nsn = 375, digits[2:]
    else:
        return None
    if not nsn.isdigit() or nsn[0] == "0" or len(nsn) > 14:
        return None
    kind = phonenumbers.number_type(phonenumbers.PhoneNumber(country_code=code, national_number=int(nsn)))
    if kind == PhoneNumberType.UNKNOWN:
        return None
    return ParsedPhone(e164=f"+{code}{nsn}", extension=None, is_mobile=kind == PhoneNumberType.MOBILE)


def _parse_full(text: str, region: str) -> ParsedPhone:
    """Any written form, with labels and extensions; raises InvalidPhone with the reason."""
    cleaned = _EXTENSION_WORDS.sub(" ext ", _TYPE_LABELS.sub(" ", text))
    cleaned = _DANGLING_EXTENSION.sub("", cleaned)
    if _LETTER.search(cleaned.replace(" ext ", " ")):
        raise InvalidPhone(text, "contains letters")
    if not any(ch.isdigit() for ch in text):
        raise InvalidPhone(text, "not a number")
    number, kind, problem = _try_parse(cleaned, region)
    if problem is not None and "+" not in cleaned:
        # "380671234567" (Excel lost the "+") or "00380671234567" (the European IDD).
        mark = _EXTENSION_START.search(cleaned)
        main, ext = (cleaned[: mark.start()], cleaned[mark.start() :]) if mark else (cleaned, "")
        digits = _NON_DIGITS.sub("", main)
        if len(digits) == 11 and digits.startswith("8"):
            # "8 (495) 123-45-67" outside Russia: the clients of this platform write Russian
            # and Kazakh numbers with their trunk prefix 8, so this is a +7 number or none,
            # never Viet Nam's +84 (or +81, +82, +852...) that lost its "+". No +7 number
            # starts with 0, so "8 0..." is the deployment's own form (BY's "8 029...") and
            # keeps the reason of the national reading.
            if digits[1] != "0":
                number, kind, problem = _try_parse(cleaned, "RU")
        elif len(digits) >= 11:
            alt = _try_parse("+" + digits.removeprefix("00") + ext, region)
            if alt[2] is None:
                number, kind, problem = alt
    if problem is not None or number is None:
        raise InvalidPhone(text, problem or "not a number")
    national = phonenumbers.national_significant_number(number)
    return ParsedPhone(
        e164=f"+{number.country_code}{national}",
        extension=number.extension or None,
        is_mobile=kind == PhoneNumberType.MOBILE,
    )


def _try_parse(
    text: str, region: str
) -> tuple[phonenumbers.PhoneNumber | None, int | None, str | None]:
    """Parse and classify once: (number, type, None) or (None, None, human reason)."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return None, None, _PARSE_REASONS.get(exc.error_type, "not a number")
    # number_type() is UNKNOWN exactly when is_valid_number() is False; one call does both.
    kind = phonenumbers.number_type(number)
    if kind != PhoneNumberType.UNKNOWN:
        return number, kind, None
    length = phonenumbers.is_possible_number_with_reason(number)
    if length in _LENGTH_REASONS:
        return None, None, _LENGTH_REASONS[length]
    where = phonenumbers.region_code_for_number(number)
    if where is None:
        regions = [r for r in phonenumbers.region_codes_for_country_code(number.country_code) if r != "ZZ"]
        where = "/".join(regions) or None
    if where is None:
        return None, None, "unknown country code"
    return None, None, f"invalid for region {where}"
