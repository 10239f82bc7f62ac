"""Realistic demo clients of RU/UA/BY: people, companies, valid phone numbers.

Deterministic for a seed, so the demo, the tests and the import benchmark see the same
shapes of data a real base has (1C-style company names, patronymics, mixed formats).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from crm_core.campaign_settings import DEFAULT_DISPOSITIONS, DispositionSpec

RU_MALE = [("Иванов", "Иван", "Петрович"), ("Смирнов", "Алексей", "Викторович"), ("Кузнецов", "Дмитрий", "Сергеевич"),
           ("Попов", "Сергей", "Андреевич"), ("Лебедев", "Павел", "Игоревич"), ("Соколов", "Андрей", "Николаевич"),
           ("Морозов", "Михаил", "Юрьевич"), ("Волков", "Николай", "Олегович"), ("Фёдоров", "Артём", "Владимирович"),
           ("Егоров", "Владимир", "Иванович"), ("Никитин", "Георгий", "Аркадьевич"), ("Орлов", "Евгений", "Максимович")]
RU_FEMALE = [("Петрова", "Ирина", "Сергеевна"), ("Иванова", "Ольга", "Андреевна"), ("Соколова", "Анна", "Павловна"),
             ("Сидорова", "Мария", "Ивановна"), ("Смирнова", "Елена", "Викторовна"), ("Козлова", "Наталья", "Олеговна"),
             ("Новикова", "Татьяна", "Юрьевна"), ("Васильева", "Светлана", "Дмитриевна"), ("Зайцева", "Ксения", "Алексеевна")]
UA_PEOPLE = [("Коваленко", "Олег", "Петрович"), ("Бондар", "Ганна", "Іванівна"), ("Шевченко", "Тарас", "Григорович"),
             ("Ткаченко", "Оксана", "Миколаївна"), ("Кравченко", "Богдан", "Васильович"), ("Мельник", "Юлія", "Степанівна"),
             ("Бойко", "Андрій", "Олексійович"), ("Олійник", "Наталія", "Романівна"), ("Гнатюк", "Ївга", "Петрівна")]
BY_PEOPLE = [("Лукашевич", "Алесь", "Янович"), ("Жук", "Святлана", "Міхайлаўна"), ("Ковалёв", "Сергей", "Иванович"),
             ("Новик", "Алёна", "Петровна"), ("Мицкевич", "Андрей", "Михайлович"), ("Шевчук", "Ирина", "Васильевна"),
             ("Кириленко", "Вадим", "Сергеевич"), ("Гурская", "Янина", "Станиславовна")]

COMPANY_WORDS = ["Ромашка", "Вектор", "Северсталь-Сервис", "ТехноПром", "Альянс", "Меридиан", "Горизонт", "Стройинвест",
                 "Агроторг", "Сибирский берег", "Невские зори", "Уралтрансмаш", "Днiпро-Агро", "Полісся", "Белагропромбанк-Лизинг",
                 "Минский тракторный завод", "Криница", "Гомельстекло", "Карпати", "Укрпостач", "Волна", "Балтика-Трейд"]
FORMS_RU = ["ООО", "АО", "ПАО", "ИП", "ЗАО"]
FORMS_UA = ["ТОВ", "ПрАТ", "ФОП"]
FORMS_BY = ["ООО", "ОАО", "ЧУП", "ИП"]

REGIONS_RU = [("Москва", "+7 495"), ("Москва", "+7 499"), ("Санкт-Петербург", "+7 812"), ("Новосибирская область", "+7 383"),
              ("Свердловская область", "+7 343"), ("Республика Татарстан", "+7 843"), ("Краснодарский край", "+7 861"),
              ("Самарская область", "+7 846"), ("Приморский край", "+7 423"), ("Калининградская область", "+7 4012")]
REGIONS_UA = [("Київ", "+380 44"), ("Львівська область", "+380 32"), ("Харківська область", "+380 57"), ("Одеська область", "+380 48")]
REGIONS_BY = [("Минск", "+375 17"), ("Гомельская область", "+375 232"), ("Брестская область", "+375 162"), ("Витебская область", "+375 212")]
MOBILE_RU = ["+7 916", "+7 903", "+7 926", "+7 985", "+7 912", "+7 950"]
MOBILE_UA = ["+380 67", "+380 50", "+380 63", "+380 93", "+380 97"]
MOBILE_BY = ["+375 29", "+375 33", "+375 44"]
INDUSTRIES = ["Розничная торговля", "Производство", "Строительство", "Логистика", "IT", "Сельское хозяйство", "Медицина", "Финансы"]
STATUSES = ["new", "prospect", "active", "active", "active", "sleeping"]
SOURCES = ["website", "phone", "referral", "exhibition", "cold_call", "social", "ads"]


@dataclass(frozen=True)
class DemoClient:
    name: str
    kind: str  # company | person
    country: str
    region: str
    industry: str
    status: str
    contact_last: str
    contact_first: str
    contact_middle: str
    mobile: str
    work_phone: str | None
    email: str
    tax_id: str | None
    source: str


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _inn10(rng: random.Random) -> str:
    """A Russian company INN with a valid check digit."""
    base = [rng.randrange(10) for _ in range(9)]
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    check = sum(w * d for w, d in zip(weights, base)) % 11 % 10
    return "".join(map(str, base)) + str(check)


def _phone(rng: random.Random, prefix: str) -> str:
    digits_total = {"+7": 10, "+380": 9, "+375": 9}[prefix.split()[0]]
    area = prefix.split()[1]
    # Subscriber numbers never start with 0 or 1 in these plans.
    return f"{prefix} {rng.randrange(2, 10)}{_digits(rng, digits_total - len(area) - 1)}"


def _national_style(phone: str, rng: random.Random) -> str:
    """Write a number the way people type it in a base: 8 (916) ..., +380 67 ..., +375 (29) ..."""
    cc, area, rest = phone.split()[0], phone.split()[1], phone.split()[2]
    style = rng.randrange(3)
    if cc == "+7" and style == 0:
        return f"8 ({area}) {rest[:-4]}-{rest[-4:-2]}-{rest[-2:]}"
    if cc == "+375" and style == 0:
        return f"+375 ({area}) {rest[:-4]}-{rest[-4:-2]}-{rest[-2:]}"
    if style == 1:
        return f"{cc} {area} {rest[:-4]} {rest[-4:-2]} {rest[-2:]}"
    return f"{cc}{area}{rest}"


def translit_email(last: str, first: str, rng: random.Random) -> str:
    table = str.maketrans({"а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e", "є": "ye", "ж": "zh", "з": "z",
                           "и": "i", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
                           "с": "s", "т": "t", "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
                           "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "'": ""})
    domain = rng.choice(["mail.ru", "yandex.ru", "gmail.com", "ukr.net", "tut.by", "inbox.ru"])
    return f"{first.lower().translate(table)[:1]}.{last.lower().translate(table)}{rng.randrange(100)}@{domain}"


def generate_clients(count: int, seed: int = 1) -> Iterator[DemoClient]:
    """``count`` clients, about 60 % RU, 25 % UA, 15 % BY; phones unique within the run."""
    rng = random.Random(seed)
    seen: set[str] = set()
    for i in range(count):
        roll = rng.random()
        if roll < 0.6:
            country, people, forms, regions, mobiles = "RU", RU_MALE + RU_FEMALE, FORMS_RU, REGIONS_RU, MOBILE_RU
        elif roll < 0.85:
            country, people, forms, regions, mobiles = "UA", UA_PEOPLE, FORMS_UA, REGIONS_UA, MOBILE_UA
        else:
            country, people, forms, regions, mobiles = "BY", BY_PEOPLE, FORMS_BY, REGIONS_BY, MOBILE_BY
        last, first, middle = rng.choice(people)
        region, landline = rng.choice(regions)
        is_company = rng.random() < 0.7
        if is_company:
            form = rng.choice(forms)
            if form in ("ИП", "ФОП"):
                name = f"{form} {last} {first[0]}.{middle[0]}."
            else:
                name = f"{form} «{rng.choice(COMPANY_WORDS)}{'' if rng.random() < 0.5 else ' ' + str(i)}»"
        else:
            name = f"{last} {first} {middle}"
        while True:
            mobile = _phone(rng, rng.choice(mobiles))
            if mobile not in seen:
                seen.add(mobile)
                break
        work = None
        if is_company and rng.random() < 0.6:
            candidate = _phone(rng, landline)
            if candidate not in seen:
                seen.add(candidate)
                work = candidate
        yield DemoClient(
            name=name,
            kind="company" if is_company else "person",
            country=country,
            region=region,
            industry=rng.choice(INDUSTRIES),
            status=rng.choice(STATUSES),
            contact_last=last,
            contact_first=first,
            contact_middle=middle,
            mobile=_national_style(mobile, rng),
            work_phone=_national_style(work, rng) if work else None,
            email=translit_email(last, first, rng),
            tax_id=_inn10(rng) if country == "RU" and is_company and rng.random() < 0.8 else None,
            source=rng.choice(SOURCES),
        )


# The demo campaign calls at any hour so that the demo works whenever it is started (its
# name says so); a real campaign keeps to its clients' local calling hours.
DEMO_CAMPAIGN = "Демо: обзвон базы (круглосуточно, 00:00–24:00 — чтобы демо работало в любой час)"
DEMO_SCRIPT_CODE = "cold_call"
# The company the built-in PBX simulator presents (ami_bridge/pbx_sim/config.py), and its recording of who called.
DEMO_CALLER_ID = '"ООО Звонарь" <74952223344>'
DEMO_ABANDON_MESSAGE = "zvonar/demo-abandon"
# The wrap-up codes of the demo campaign: the usual set and the ones its script ends leads with
# (scripts_engine/examples/cold_call_b2b.yaml), so the script's outcome lands on the lead.
DEMO_DISPOSITIONS = (
    *DEFAULT_DISPOSITIONS,
    DispositionSpec("meeting_booked", "Назначена встреча", final=True, success=True),
    DispositionSpec("proposal_requested", "Запросили КП", final=True, success=True),
    DispositionSpec("dm_referral", "Дали контакт ЛПР", final=True, success=True),
    DispositionSpec("enterprise_referral", "Передан в отдел крупных клиентов", final=True, success=True),
    DispositionSpec("dnc_request", "Просит не звонить", final=True, add_to_dnc=True),
)

CSV_HEADER = ["Наименование", "Вид", "ИНН", "Регион", "Отрасль", "Статус", "Контактное лицо", "Мобильный", "Рабочий", "E-mail", "Источник"]


def csv_row(c: DemoClient) -> list[str]:
    """One row in the 1C-style export layout of CSV_HEADER."""
    return [
        c.name, "Юр. лицо" if c.kind == "company" else "Физ. лицо", c.tax_id or "", c.region, c.industry, c.status,
        f"{c.contact_last} {c.contact_first} {c.contact_middle}", c.mobile, c.work_phone or "", c.email, c.source,
    ]
