"""The register of regions (регионы с кодами) with their time zones, and a client's zone.

Russian federal subjects carry their two-digit codes (the ones of the tax service and
of INNs: 77 Москва, 50 Московская область, 91 Республика Крым). Ukraine, Belarus and
Kazakhstan carry ISO 3166-2 codes ("UA-32", "BY-HM", "KZ-75"), so every code is unique.
Names are matched loosely: "г. Москва", "Московская обл.", "Моск. обл.", "Саха /Якутия/
Респ" (the 1C/FIAS order), the regional capital ("Екатеринбург") and common short names
("СПб", "ХМАО", "Башкирия").

A client's typed fixed offset ("UTC+5", "МСК+2") gives way to the zone of the client's
region (else number) when that zone keeps the offset this year: same clock, plus the
place's summer time and country, which a fixed Etc zone cannot carry.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from crm_core.phones import timezone_for_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Region:
    """One region: its code, official name, ISO country code, IANA time zone."""

    code: str
    name: str
    country: str
    tz: str
    aliases: tuple[str, ...] = ()


_MSK = "Europe/Moscow"
_KYIV = "Europe/Kyiv"
_MINSK = "Europe/Minsk"
_ALMATY = "Asia/Almaty"

# (code, name, tz, aliases: other names, short names, the capital and big cities)
_RU: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("01", "Республика Адыгея", _MSK, ("Адыгея", "Майкоп")),
    ("02", "Республика Башкортостан", "Asia/Yekaterinburg", ("Башкирия", "Уфа")),
    ("03", "Республика Бурятия", "Asia/Irkutsk", ("Улан-Удэ",)),
    ("04", "Республика Алтай", "Asia/Barnaul", ("Горно-Алтайск",)),
    ("05", "Республика Дагестан", _MSK, ("Махачкала",)),
    ("06", "Республика Ингушетия", _MSK, ("Магас", "Назрань")),
    ("07", "Кабардино-Балкарская Республика", _MSK, ("Кабардино-Балкария", "КБР", "Нальчик")),
    ("08", "Республика Калмыкия", _MSK, ("Элиста",)),
    ("09", "Карачаево-Черкесская Республика", _MSK, ("Карачаево-Черкесия", "КЧР", "Черкесск")),
    ("10", "Республика Карелия", _MSK, ("Петрозаводск",)),
    ("11", "Республика Коми", _MSK, ("Сыктывкар",)),
    ("12", "Республика Марий Эл", _MSK, ("Йошкар-Ола",)),
    ("13", "Республика Мордовия", _MSK, ("Саранск",)),
    ("14", "Республика Саха (Якутия)", "Asia/Yakutsk", ("Якутия", "Якутск")),
    ("15", "Республика Северная Осетия — Алания", _MSK, ("Северная Осетия", "Алания", "Владикавказ")),
    ("16", "Республика Татарстан", _MSK, ("Татария", "Казань", "Набережные Челны")),
    ("17", "Республика Тыва", "Asia/Krasnoyarsk", ("Тува", "Кызыл")),
    ("18", "Удмуртская Республика", "Europe/Samara", ("Удмуртия", "Ижевск")),
    ("19", "Республика Хакасия", "Asia/Krasnoyarsk", ("Абакан",)),
    ("20", "Чеченская Республика", _MSK, ("Чечня", "Грозный")),
    ("21", "Чувашская Республика — Чувашия", _MSK, ("Чувашия", "Чувашская Республика", "Чебоксары")),
    ("22", "Алтайский край", "Asia/Barnaul", ("Барнаул",)),
    ("23", "Краснодарский край", _MSK, ("Кубань", "Краснодар", "Сочи", "Новороссийск")),
    ("24", "Красноярский край", "Asia/Krasnoyarsk", ("Красноярск", "Норильск")),
    ("25", "Приморский край", "Asia/Vladivostok", ("Приморье", "Владивосток", "Находка")),
    ("26", "Ставропольский край", _MSK, ("Ставрополье", "Ставрополь", "Пятигорск")),
    ("27", "Хабаровский край", "Asia/Vladivostok", ("Хабаровск", "Комсомольск-на-Амуре")),
    ("28", "Амурская область", "Asia/Yakutsk", ("Благовещенск",)),
    ("29", "Архангельская область", _MSK, ("Архангельск", "Северодвинск")),
    ("30", "Астраханская область", "Europe/Astrakhan", ("Астрахань",)),
    ("31", "Белгородская область", _MSK, ("Белгород",)),
    ("32", "Брянская область", _MSK, ("Брянск",)),
    ("33", "Владимирская область", _MSK, ("Владимир",)),
    ("34", "Волгоградская область", "Europe/Volgograd", ("Волгоград",)),
    ("35", "Вологодская область", _MSK, ("Вологда", "Череповец")),
    ("36", "Воронежская область", _MSK, ("Воронеж",)),
    ("37", "Ивановская область", _MSK, ("Иваново",)),
    ("38", "Иркутская область", "Asia/Irkutsk", ("Иркутск", "Братск")),
    ("39", "Калининградская область", "Europe/Kaliningrad", ("Калининград",)),
    ("40", "Калужская область", _MSK, ("Калуга", "Обнинск")),
    ("41", "Камчатский край", "Asia/Kamchatka", ("Камчатка", "Петропавловск-Камчатский")),
    ("42", "Кемеровская область — Кузбасс", "Asia/Novokuznetsk",
     ("Кемеровская область", "Кузбасс", "Кемерово", "Новокузнецк")),
    ("43", "Кировская область", "Europe/Kirov", ("Киров",)),
    ("44", "Костромская область", _MSK, ("Кострома",)),
    ("45", "Курганская область", "Asia/Yekaterinburg", ("Курган",)),
    ("46", "Курская область", _MSK, ("Курск",)),
    ("47", "Ленинградская область", _MSK, ("Ленобласть", "ЛО", "Leningrad Oblast", "Гатчина", "Выборг")),
    ("48", "Липецкая область", _MSK, ("Липецк",)),
    ("49", "Магаданская область", "Asia/Magadan", ("Магадан",)),
    ("50", "Московская область", _MSK, ("Подмосковье", "МО", "Moscow Oblast", "Moscow Region", "Красногорск")),
    ("51", "Мурманская область", _MSK, ("Мурманск",)),
    ("52", "Нижегородская область", _MSK, ("Нижний Новгород",)),
    ("53", "Новгородская область", _MSK, ("Великий Новгород",)),
    ("54", "Новосибирская область", "Asia/Novosibirsk", ("Новосибирск",)),
    ("55", "Омская область", "Asia/Omsk", ("Омск",)),
    ("56", "Оренбургская область", "Asia/Yekaterinburg", ("Оренбург", "Орск")),
    ("57", "Орловская область", _MSK, ("Орёл",)),
    ("58", "Пензенская область", _MSK, ("Пенза",)),
    ("59", "Пермский край", "Asia/Yekaterinburg", ("Пермь",)),
    ("60", "Псковская область", _MSK, ("Псков",)),
    ("61", "Ростовская область", _MSK, ("Ростов-на-Дону", "Таганрог")),
    ("62", "Рязанская область", _MSK, ("Рязань",)),
    ("63", "Самарская область", "Europe/Samara", ("Самара", "Тольятти")),
    ("64", "Саратовская область", "Europe/Saratov", ("Саратов",)),
    ("65", "Сахалинская область", "Asia/Sakhalin", ("Сахалин", "Южно-Сахалинск")),
    ("66", "Свердловская область", "Asia/Yekaterinburg", ("Екатеринбург", "Нижний Тагил")),
    ("67", "Смоленская область", _MSK, ("Смоленск",)),
    ("68", "Тамбовская область", _MSK, ("Тамбов",)),
    ("69", "Тверская область", _MSK, ("Тверь",)),
    ("70", "Томская область", "Asia/Tomsk", ("Томск",)),
    ("71", "Тульская область", _MSK, ("Тула",)),
    ("72", "Тюменская область", "Asia/Yekaterinburg", ("Тюмень",)),
    ("73", "Ульяновская область", "Europe/Ulyanovsk", ("Ульяновск",)),
    ("74", "Челябинская область", "Asia/Yekaterinburg", ("Челябинск", "Магнитогорск")),
    ("75", "Забайкальский край", "Asia/Chita", ("Забайкалье", "Чита")),
    ("76", "Ярославская область", _MSK, ("Ярославль",)),
    ("77", "Москва", _MSK, ("Мск", "Moscow")),
    ("78", "Санкт-Петербург", _MSK, ("СПб", "Питер", "С.-Петербург", "Ленинград", "Saint Petersburg",
                                    "St. Petersburg")),
    ("79", "Еврейская автономная область", "Asia/Vladivostok", ("ЕАО", "Биробиджан")),
    ("83", "Ненецкий автономный округ", _MSK, ("НАО", "Нарьян-Мар")),
    ("86", "Ханты-Мансийский автономный округ — Югра", "Asia/Yekaterinburg",
     ("Ханты-Мансийский автономный округ", "ХМАО", "ХМАО-Югра", "Югра", "Ханты-Мансийск", "Сургут",
      "Нижневартовск")),
    ("87", "Чукотский автономный округ", "Asia/Anadyr", ("Чукотка", "Анадырь")),
    ("89", "Ямало-Ненецкий автономный округ", "Asia/Yekaterinburg", ("ЯНАО", "Ямал", "Салехард", "Новый Уренгой")),
    ("91", "Республика Крым", "Europe/Simferopol", ("Крым", "Симферополь")),
    ("92", "Севастополь", "Europe/Simferopol", ()),
)

# ISO 3166-2:UA; official Ukrainian name first, Russian names and capitals as aliases.
_UA: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("UA-05", "Вінницька область", _KYIV, ("Винницкая область", "Вінниця", "Винница")),
    ("UA-07", "Волинська область", _KYIV, ("Волынская область", "Луцьк", "Луцк")),
    ("UA-09", "Луганська область", _KYIV, ("Луганская область", "Луганськ", "Луганск")),
    ("UA-12", "Дніпропетровська область", _KYIV,
     ("Днепропетровская область", "Дніпро", "Днепр", "Днепропетровск", "Кривий Ріг", "Кривой Рог")),
    ("UA-14", "Донецька область", _KYIV, ("Донецкая область", "Донецьк", "Донецк", "Маріуполь", "Мариуполь")),
    ("UA-18", "Житомирська область", _KYIV, ("Житомирская область", "Житомир")),
    ("UA-21", "Закарпатська область", _KYIV, ("Закарпатская область", "Закарпаття", "Закарпатье", "Ужгород")),
    ("UA-23", "Запорізька область", _KYIV, ("Запорожская область", "Запоріжжя", "Запорожье")),
    ("UA-26", "Івано-Франківська область", _KYIV,
     ("Ивано-Франковская область", "Івано-Франківськ", "Ивано-Франковск")),
    ("UA-30", "Київ", _KYIV, ("Киев", "Kyiv", "Kiev")),
    ("UA-32", "Київська область", _KYIV, ("Киевская область", "Київщина", "Бориспіль", "Бровари")),
    ("UA-35", "Кіровоградська область", _KYIV,
     ("Кировоградская область", "Кропивницький", "Кропивницкий", "Кировоград")),
    ("UA-40", "Севастополь", "Europe/Simferopol", ()),
    ("UA-43", "Автономна Республіка Крим", "Europe/Simferopol",
     ("Автономная Республика Крым", "АР Крим", "АРК", "Крим", "Крым", "Сімферополь", "Симферополь")),
    ("UA-46", "Львівська область", _KYIV, ("Львовская область", "Львів", "Львов")),
    ("UA-48", "Миколаївська область", _KYIV, ("Николаевская область", "Миколаїв", "Николаев")),
    ("UA-51", "Одеська область", _KYIV, ("Одесская область", "Одеса", "Одесса")),
    ("UA-53", "Полтавська область", _KYIV, ("Полтавская область", "Полтава", "Кременчук", "Кременчуг")),
    ("UA-56", "Рівненська область", _KYIV, ("Ровенская область", "Рівне", "Ровно")),
    ("UA-59", "Сумська область", _KYIV, ("Сумская область", "Суми", "Сумы")),
    ("UA-61", "Тернопільська область", _KYIV, ("Тернопольская область", "Тернопіль", "Тернополь")),
    ("UA-63", "Харківська область", _KYIV, ("Харьковская область", "Харків", "Харьков", "Kharkiv")),
    ("UA-65", "Херсонська область", _KYIV, ("Херсонская область", "Херсон")),
    ("UA-68", "Хмельницька область", _KYIV, ("Хмельницкая область", "Хмельницький", "Хмельницкий")),
    ("UA-71", "Черкаська область", _KYIV, ("Черкасская область", "Черкаси", "Черкассы")),
    ("UA-74", "Чернігівська область", _KYIV, ("Черниговская область", "Чернігів", "Чернигов")),
    ("UA-77", "Чернівецька область", _KYIV, ("Черновицкая область", "Чернівці", "Черновцы")),
)

# ISO 3166-2:BY; Russian names, Belarusian ones as aliases.
_BY: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("BY-HM", "Минск", _MINSK, ("Мінск", "Minsk")),
    ("BY-MI", "Минская область", _MINSK, ("Мінская вобласць", "Борисов", "Барысаў", "Солигорск")),
    ("BY-BR", "Брестская область", _MINSK, ("Брэсцкая вобласць", "Брест", "Брэст", "Барановичи")),
    ("BY-VI", "Витебская область", _MINSK, ("Віцебская вобласць", "Витебск", "Віцебск", "Полоцк", "Новополоцк")),
    ("BY-HO", "Гомельская область", _MINSK, ("Гомельская вобласць", "Гомель", "Мозырь")),
    ("BY-HR", "Гродненская область", _MINSK, ("Гродзенская вобласць", "Гродно", "Гродна")),
    ("BY-MA", "Могилёвская область", _MINSK, ("Магілёўская вобласць", "Могилёв", "Магілёў", "Бобруйск")),
)

# ISO 3166-2:KZ (the KATO numbers). The whole country is on UTC+5 since 1 March 2024;
# the western zones are kept as tzdata names them.
_KZ: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("KZ-75", "Алматы", _ALMATY, ("Алма-Ата", "Almaty")),
    ("KZ-71", "Астана", _ALMATY, ("Нур-Султан", "Astana")),
    ("KZ-79", "Шымкент", _ALMATY, ("Чимкент",)),
    ("KZ-10", "Абайская область", _ALMATY, ("область Абай", "Семей", "Семипалатинск")),
    ("KZ-11", "Акмолинская область", _ALMATY, ("Кокшетау",)),
    ("KZ-15", "Актюбинская область", "Asia/Aqtobe", ("Актобе",)),
    ("KZ-19", "Алматинская область", _ALMATY, ("Конаев", "Қонаев", "Капчагай")),
    ("KZ-23", "Атырауская область", "Asia/Atyrau", ("Атырау",)),
    ("KZ-27", "Западно-Казахстанская область", "Asia/Oral", ("Уральск", "Орал")),
    ("KZ-31", "Жамбылская область", _ALMATY, ("Тараз",)),
    ("KZ-33", "Жетысуская область", _ALMATY, ("область Жетысу", "область Жетісу", "Талдыкорган")),
    ("KZ-35", "Карагандинская область", _ALMATY, ("Караганда", "Темиртау")),
    ("KZ-39", "Костанайская область", "Asia/Qostanay", ("Костанай", "Кустанай")),
    ("KZ-43", "Кызылординская область", "Asia/Qyzylorda", ("Кызылорда",)),
    ("KZ-47", "Мангистауская область", "Asia/Aqtau", ("Мангыстауская область", "Актау")),
    ("KZ-55", "Павлодарская область", _ALMATY, ("Павлодар", "Экибастуз")),
    ("KZ-59", "Северо-Казахстанская область", _ALMATY, ("Петропавловск",)),
    ("KZ-61", "Туркестанская область", _ALMATY, ("Южно-Казахстанская область", "Туркестан")),
    ("KZ-62", "Улытауская область", _ALMATY, ("область Улытау", "область Ұлытау", "Жезказган")),
    ("KZ-63", "Восточно-Казахстанская область", _ALMATY, ("ВКО", "Усть-Каменогорск", "Өскемен")),
)

REGIONS: tuple[Region, ...] = tuple(
    Region(code, name, country, tz, aliases)
    for country, table in (("RU", _RU), ("UA", _UA), ("BY", _BY), ("KZ", _KZ))
    for code, name, tz, aliases in table
)
_BY_CODE = {r.code: r for r in REGIONS}

# Words that say what kind of region a name is; dropped to get its core ("московская").
_KIND_WORDS = {
    "область": "obl", "обл": "obl", "oblast": "obl", "вобласць": "obl", "region": "obl",
    "край": "krai", "kray": "krai", "krai": "krai",
    "республика": "resp", "респ": "resp", "республіка": "resp", "republic": "resp",
    "автономный": "ao", "автономная": "ao", "автономна": "ao", "округ": "ao", "ао": "ao", "аобл": "ao",
    "г": "city", "город": "city", "гор": "city", "city": "city", "м": "city", "місто": "city",
    "федерального": "city", "значения": "city", "гфз": "city",
}
_COUNTRY_WORDS = {
    "россия": "RU", "рф": "RU", "russia": "RU", "российская федерация": "RU",
    "украина": "UA", "україна": "UA", "ukraine": "UA",
    "беларусь": "BY", "белоруссия": "BY", "республика беларусь": "BY", "belarus": "BY",
    "казахстан": "KZ", "республика казахстан": "KZ", "kazakhstan": "KZ",
}
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_CODE_PREFIX = re.compile(r"^(\d{1,2})(?:\s*[-.,:)]\s*|\s+)(\S.*)$")


def _normalise(text: str) -> str:
    text = text.lower().replace("ё", "е").replace("'", "").replace("’", "")
    return _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()


def _split_kind(key: str) -> tuple[str, frozenset[str]]:
    """'московская обл' -> ('московская', {'obl'})."""
    core, kinds = [], set()
    for token in key.split(" "):
        kind = _KIND_WORDS.get(token)
        if kind:
            kinds.add(kind)
        else:
            core.append(token)
    return " ".join(core), frozenset(kinds)


_Entry = tuple[tuple[str, ...], frozenset[str], Region]


def _build_index() -> tuple[dict[str, list[_Entry]], list[_Entry]]:
    by_core: dict[str, list[_Entry]] = {}
    entries: list[_Entry] = []
    for region in REGIONS:
        for text in (region.name, *region.aliases):
            core, kinds = _split_kind(_normalise(text))
            if core:
                entry = (tuple(core.split(" ")), kinds, region)
                entries.append(entry)
                by_core.setdefault(core, []).append(entry)
    return by_core, entries


_BY_CORE, _ENTRIES = _build_index()


def find_regions(name_or_code: str | None, country: str | None = None) -> tuple[Region, ...]:
    """Every region the text can mean ("Севастополь" is in two registers), best reading first."""
    if not name_or_code or not str(name_or_code).strip():
        return ()
    text = str(name_or_code).strip()
    wanted = country.upper() if country else None
    by_code = _by_code(text)
    if by_code is not None:
        return (by_code,) if wanted in (None, by_code.country) else ()
    prefixed = _CODE_PREFIX.match(text)
    if prefixed:
        # "77 Москва", "50 - Московская обл."
        coded = _by_code(prefixed.group(1))
        named = find_regions(prefixed.group(2), wanted)
        if coded is not None and (not named or coded in named):
            return (coded,) if wanted in (None, coded.country) else ()
        return named
    parts = [p for p in re.split(r"[,;]", text) if p.strip()]
    countries = {_COUNTRY_WORDS[_normalise(p)] for p in parts if _normalise(p) in _COUNTRY_WORDS}
    if wanted is None and len(countries) == 1:
        wanted = next(iter(countries))
    for part in parts:
        key = _normalise(part)
        if key in _COUNTRY_WORDS:
            continue
        found = _match(key)
        if wanted:
            found = tuple(r for r in found if r.country == wanted)
        if found:
            return found
    return ()


def find_region(name_or_code: str | None, country: str | None = None) -> Region | None:
    """The one region a name or code means (case-insensitive, loose), or None if unknown or ambiguous."""
    found = find_regions(name_or_code, country)
    return found[0] if len(found) == 1 else None


def region_by_code(code: str) -> Region | None:
    """The region with exactly this register code ("77", "UA-30"), or None."""
    return _BY_CODE.get(code)


def _by_code(text: str) -> Region | None:
    code = text.strip().upper()
    if code.isdigit() and len(code) <= 2:
        return _BY_CODE.get(code.zfill(2))
    if code.startswith("RU-") and code[3:].isdigit():
        return _BY_CODE.get(code[3:].zfill(2))
    return _BY_CODE.get(code)


def _match(key: str) -> tuple[Region, ...]:
    core, kinds = _split_kind(key)
    if not core:
        return ()
    exact = _BY_CORE.get(core)
    if exact:
        return _best(exact, kinds)
    tokens = tuple(core.split(" "))
    if len(tokens[0]) < 3:
        return ()
    # Abbreviations: "Моск. обл.", "Ханты-Манс. АО", "Сев. Осетия".
    return _best(
        [
            entry
            for entry in _ENTRIES
            if len(tokens) <= len(entry[0]) and all(c.startswith(t) for t, c in zip(tokens, entry[0]))
        ],
        kinds,
    )


def _best(entries: list[_Entry], kinds: frozenset[str]) -> tuple[Region, ...]:
    """The regions whose kind words fit the query's best: same kinds, then compatible ones."""
    scores: dict[Region, int] = {}
    for _tokens, entry_kinds, region in entries:
        if entry_kinds == kinds:
            score = 2
        elif not kinds or not entry_kinds or kinds & entry_kinds:
            score = 1
        else:
            continue
        scores[region] = max(score, scores.get(region, 0))
    if not scores:
        return ()
    top = max(scores.values())
    return tuple(region for region, score in scores.items() if score == top)


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


_OFFSET = re.compile(r"^(?:utc|gmt|мск|msk)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


def parse_timezone(text: str | None) -> str | None:
    """An IANA zone from what people write: "Europe/Moscow", "UTC+5", "МСК+4", "Екатеринбург"; else None.

    Whole-hour offsets become fixed "Etc/GMT-N" zones (tzdata's sign is inverted).
    """
    if not text or not text.strip():
        return None
    raw = text.strip()
    lowered = raw.lower().replace(" ", "")
    if lowered in ("мск", "msk"):
        return "Europe/Moscow"
    if lowered in ("utc", "gmt", "z"):
        return "UTC"
    if lowered == "europe/kiev":
        return "Europe/Kyiv"
    zone = _zone_names().get(lowered)
    if zone:
        return zone
    offset = _OFFSET.match(lowered)
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if minutes:
            return None
        total = hours if sign == "+" else -hours
        if lowered.startswith(("мск", "msk")):
            total += 3
        if not -12 <= total <= 14:
            return None
        return "UTC" if total == 0 else f"Etc/GMT{-total:+d}"
    zones = {r.tz for r in find_regions(raw)}
    return zones.pop() if len(zones) == 1 else None


def _is_fixed(zone: str) -> bool:
    return zone == "UTC" or zone.startswith("Etc/")


@lru_cache(maxsize=256)
def _offsets_in(zone: str, year: int) -> frozenset[timedelta | None]:
    """The UTC offsets a zone keeps in a year: winter's and summer's."""
    return frozenset(datetime(year, month, 15, 12, tzinfo=ZoneInfo(zone)).utcoffset() for month in (1, 7))


def _place_zone_on_clock(fixed: str, region: str | None, phone_e164: str | None) -> str | None:
    """The one zone the client's region or number points to that keeps the ``fixed`` zone's offset this year."""
    now = datetime.now(timezone.utc)
    offset = now.astimezone(ZoneInfo(fixed)).utcoffset()
    places = {r.tz for r in find_regions(region)}
    number_zone = timezone_for_phone(phone_e164) if phone_e164 else None
    if number_zone:
        places.add(number_zone)
    # Either season's offset: people type what their clock says on the day they fill the card.
    on_clock = {zone for zone in places if offset in _offsets_in(zone, now.year)}
    return on_clock.pop() if len(on_clock) == 1 else None


def client_timezone(region: str | None, explicit_tz: str | None, phone_e164: str | None) -> str | None:
    """A client's zone: the explicit field first, then the region, then the number if unambiguous."""
    if explicit_tz and explicit_tz.strip():
        zone = parse_timezone(explicit_tz)
        if zone is not None:
            if _is_fixed(zone):
                return _place_zone_on_clock(zone, region, phone_e164) or zone
            return zone
        log.warning("regions.bad_explicit_tz value=%r", explicit_tz[:64])
    if region:
        zones = {r.tz for r in find_regions(region)}
        if len(zones) == 1:
            return zones.pop()
    if phone_e164:
        return timezone_for_phone(phone_e164)
    return None


def _check_register() -> None:
    # A typo in a zone name must fail at import, not when a client is first called.
    for region in REGIONS:
        ZoneInfo(region.tz)


_check_register()
