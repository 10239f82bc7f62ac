"""Client import into the real stores (SQLite and PostgreSQL): what goes in, what is reported."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, text

from crm_core.db import Database
from crm_core.errors import Forbidden, ImportFileError, UserNotFound
from crm_core.importer import Reassigned, import_clients
from crm_core.models import Client, Contact, Phone, Role
from crm_core.rights import Actor
from crm_core.services import clients as clients_service
from crm_core.services.clients import ClientInput, ContactInput, PhoneInput
from tests.crm_core.crm_world import make_team, make_user
from zvonar.demo_data import CSV_HEADER, csv_row, generate_clients

ONE_C = Path(__file__).parent / "data" / "1c_kontragenty_cp1251.csv"
ONE_C_REJECTED = [
    {"line": 5, "reason": "phone '8 (916) 12' is not a valid number: too short"},
    {"line": 6, "reason": "ИНН 7707083894 checksum invalid"},
    {"line": 7, "reason": "missing client name"},
    {"line": 8, "reason": "11 fields, the header has 10 (check quotes and delimiters)"},
    {"line": 12, "reason": "e-mail 'ivanov@' is not a valid address"},
]
HEADER = ["Наименование", "ИНН", "Регион", "Контактное лицо", "Телефон", "E-mail", "Ответственный", "Отрасль", "Статус"]


@dataclass
class People:
    sales: int
    kyiv: int
    admin: Actor
    sup: Actor  # supervisor of «Отдел продаж»
    petrova: Actor  # manager, sales
    smirnov: Actor  # operator, sales
    koval: Actor  # manager, Kyiv


async def people(db: Database) -> People:
    sales = await make_team(db, "Отдел продаж")
    kyiv = await make_team(db, "Киевский филиал")
    return People(
        sales=sales,
        kyiv=kyiv,
        admin=await make_user(db, "admin", Role.admin, None, full_name="Соколова Анна Павловна"),
        sup=await make_user(db, "orlov", Role.supervisor, sales, full_name="Орлов Евгений Максимович"),
        petrova=await make_user(db, "petrova", Role.manager, sales, full_name="Петрова Анна Сергеевна"),
        smirnov=await make_user(db, "smirnov", Role.operator, sales, full_name="Смирнов Дмитрий Викторович"),
        koval=await make_user(db, "koval", Role.manager, kyiv, full_name="Коваль Олена Петрівна"),
    )


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


async def clients_by_name(db: Database) -> dict[str, Client]:
    async with db.reading() as s:
        return {c.name: c for c in (await s.execute(select(Client).order_by(Client.id))).scalars()}


async def phones_of(db: Database, client_id: int) -> list[tuple[str, str, str | None, str | None]]:
    """(e164, kind, raw, first name of its contact) of a client's numbers."""
    async with db.reading() as s:
        rows = await s.execute(
            select(Phone.e164, Phone.kind, Phone.raw, Contact.first_name)
            .outerjoin(Contact, Contact.id == Phone.contact_id)
            .where(Phone.client_id == client_id)
            .order_by(Phone.e164)
        )
        return [(e, k.value, r, f) for e, k, r, f in rows]


async def contacts_of(db: Database, client_id: int) -> list[tuple[str | None, str, str | None, list[str]]]:
    async with db.reading() as s:
        rows = await s.execute(
            select(Contact.last_name, Contact.first_name, Contact.middle_name, Contact.emails)
            .where(Contact.client_id == client_id).order_by(Contact.id)
        )
        return [(last, first, middle, list(emails)) for last, first, middle, emails in rows]


# --- the 1C export -------------------------------------------------------------------------


async def test_one_c_export_goes_in_with_every_bad_row_named(db: Database) -> None:
    w = await people(db)
    summary = await import_clients(db, w.admin, ONE_C.read_bytes(), ONE_C.name)
    assert summary.to_json() == {"reassigned": [], "sheet": None, "inserted": 5, "updated": 0, "duplicates": 0, "rejected": ONE_C_REJECTED}

    clients = await clients_by_name(db)
    assert sorted(clients) == ['АО "Уралтехснаб"', 'ЗАО "Балтик Трейд"', "ИП Сидоров Пётр Алексеевич",
                               "Мельникова Ольга Николаевна", 'ООО "Ромашка"']
    romashka = clients['ООО "Ромашка"']
    assert (romashka.kind.value, romashka.tax_id, romashka.region, romashka.timezone, romashka.industry) == (
        "company", "7707083893", "г. Москва", "Europe/Moscow", "Оптовая торговля")
    assert romashka.status == "new" and romashka.comment == "Постоянный клиент; скидка 5%"
    assert romashka.name_search == 'ооо "ромашка"'
    assert romashka.responsible_id == w.petrova.user_id  # "Петрова А.С."
    assert clients['АО "Уралтехснаб"'].responsible_id == w.smirnov.user_id  # "Смирнов Д.В."
    assert clients['АО "Уралтехснаб"'].timezone == "Asia/Yekaterinburg"
    assert clients['ЗАО "Балтик Трейд"'].comment == "Многострочный комментарий:\nдоговор до 31.12"
    assert await contacts_of(db, romashka.id) == [("Иванов", "Иван", "Иванович", ["info@romashka.ru"])]
    assert await phones_of(db, romashka.id) == [
        ("+74951234567", "work", "+74951234567 доб. 204", "Иван"),
        ("+79161234567", "mobile", None, "Иван"),
    ]
    person = clients["Мельникова Ольга Николаевна"]
    assert person.kind.value == "person" and person.timezone == "Asia/Vladivostok"
    assert [p[0] for p in await phones_of(db, person.id)] == ["+74232401122", "+79147001122"]

    # The same export again: every good row is now a duplicate of the client it made.
    again = await import_clients(db, w.admin, ONE_C.read_bytes(), ONE_C.name)
    ids = [c.id for c in clients.values()]  # in the order they were made: lines 2, 3, 4, 9, 11
    assert again.to_json() == {"reassigned": [], "sheet": None,
        "inserted": 0, "updated": 0, "duplicates": 5,
        "rejected": sorted(ONE_C_REJECTED + [
            {"line": 2, "reason": f"duplicate: already in the base: tax id 7707083893 (client {ids[0]})"},
            {"line": 3, "reason": f"duplicate: already in the base: tax id 540412345684 (client {ids[1]})"},
            {"line": 4, "reason": f"duplicate: already in the base: tax id 6661001420 (client {ids[2]})"},
            {"line": 9, "reason": f"duplicate: already in the base: tax id 3912345671 (client {ids[3]})"},
            {"line": 11, "reason": f"duplicate: already in the base: phone +74232401122 (client {ids[4]})"},
        ], key=lambda r: r["line"]),
    }
    assert len(await clients_by_name(db)) == 5


async def test_an_xlsx_sheet_goes_in_too(db: Database) -> None:
    w = await people(db)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Выгрузка контрагентов на 01.11.2026"])  # a title row above the header
    sheet.append(HEADER)
    sheet.append(["ООО «Меридиан»", 7736207543, "Москва", "Орлов Сергей", 79031234567, "", "", "Логистика", "Клиент"])
    sheet.append(["ООО «Горизонт»", "", "Самарская обл.", "", "8 846 200-10-20", "", "", "", "Непонятный"])
    data = io.BytesIO()
    book.save(data)
    summary = await import_clients(db, w.admin, data.getvalue(), "kontragenty.xlsx")
    assert summary.to_json() == {"reassigned": [], "sheet": "Sheet", "inserted": 1, "updated": 0, "duplicates": 0, "rejected": [
        {"line": 4, "reason": "status 'Непонятный' is not known (use one of primary, new, prospect, client, partner, "
                              "inactive, lost, or leave the column out)"}]}
    meridian = (await clients_by_name(db))["ООО «Меридиан»"]
    assert meridian.status == "client" and meridian.tax_id == "7736207543"
    assert await phones_of(db, meridian.id) == [("+79031234567", "mobile", None, "Сергей")]


async def test_a_workbook_with_a_cover_sheet_and_a_region_merged_over_its_clients(db: Database) -> None:
    """The list is on the second sheet, «Самарская обл.» merged beside two clients: both are Samara's."""
    w = await people(db)
    book = openpyxl.Workbook()
    book.active.title = "Инструкция"
    book.active.append(["Одна строка — один клиент; регион можно объединить на группу строк"])
    sheet = book.create_sheet("Клиенты")
    sheet.append(HEADER)
    sheet.append(["ООО «Волга-Трейд»", "", "Самарская обл.", "", "8 846 200-10-20", "", "", "", ""])
    sheet.append(["ООО «Жигули-Сервис»", "", None, "", "8 8482 55-66-77", "", "", "", ""])
    sheet.append(["ООО «Меридиан»", "", "Москва", "", "+7 903 123-45-67", "", "", "", ""])
    sheet.merge_cells("C2:C3")
    data = io.BytesIO()
    book.save(data)
    summary = await import_clients(db, w.admin, data.getvalue(), "kontragenty.xlsx")
    assert (summary.inserted, summary.rejected, summary.sheet) == (3, [], "Клиенты")
    clients = await clients_by_name(db)
    assert {name: c.region for name, c in clients.items()} == {
        "ООО «Волга-Трейд»": "Самарская обл.", "ООО «Жигули-Сервис»": "Самарская обл.", "ООО «Меридиан»": "Москва"}
    assert clients["ООО «Жигули-Сервис»"].timezone == "Europe/Samara"


async def test_a_file_that_cannot_be_read_writes_nothing(db: Database) -> None:
    w = await people(db)
    for data, name, message in [
        (b"", "empty.csv", "the file is empty"),
        ("<html><table><tr><td>ООО</td></tr></table>".encode(), "export.xls", "the file is an HTML table"),
        (csv_bytes([], header=["Код", "Дата"]), "codes.csv", "no column with the client name"),
        (csv_bytes([]), "header-only.csv", "the file has a header but no client rows"),
    ]:
        with pytest.raises(ImportFileError, match=message):
            await import_clients(db, w.admin, data, name)
    assert await clients_by_name(db) == {}


async def test_a_csv_that_breaks_off_keeps_the_rows_before_it(db: Database) -> None:
    w = await people(db)
    data = csv_bytes([["ООО «Волна»", "", "", "", "+7 916 700-00-01", "", "", "", ""]])
    data += b'\xd0\x9e\xd0\x9e\xd0\x9e;"' + b"x" * 140_000 + b"\r\n"  # a quote never closed: it runs to the end
    summary = await import_clients(db, w.admin, data, "broken.csv")
    assert summary.inserted == 1
    assert [(r.line, r.reason) for r in summary.rejected] == [
        (3, "2 fields, the header has 9: a quote is probably not closed (the field runs over several lines)")]
    assert list(await clients_by_name(db)) == ["ООО «Волна»"]


async def test_a_very_long_cell_costs_its_own_row_only(db: Database) -> None:
    """A pasted e-mail thread past csv's 128 KiB default: that row is refused, the rows after it go in."""
    w = await people(db)
    rows = [["ООО «Волна»", "", "", "", "+7 916 700-00-01", "", "", "", ""],
            ["ООО «Прибой»", "", "", "", "+7 916 700-00-02", "", "", "Переписка: " + "бла " * 40_000, ""],
            ["ООО «Штиль»", "", "", "", "+7 916 700-00-03", "", "", "", ""]]
    summary = await import_clients(db, w.admin, csv_bytes(rows), "long.csv")
    assert summary.inserted == 2 and [r.line for r in summary.rejected] == [3]
    assert list(await clients_by_name(db)) == ["ООО «Волна»", "ООО «Штиль»"]


async def test_a_stray_byte_in_a_utf8_file_costs_its_own_row_not_every_name(db: Database) -> None:
    """Read as Windows-1251, one bad byte turned every Cyrillic name into «РћРћРћ»: now only its row is refused."""
    w = await people(db)
    rows = [["ООО «Волна»", "", "Москва", "", "+7 916 700-00-01", "", "", "", ""],
            ["ООО «Прибой»", "", "Москва", "", "+7 916 700-00-02", "", "", "", ""],
            ["ООО «Штиль»", "", "Москва", "", "+7 916 700-00-03", "", "", "", ""]]
    data = csv_bytes(rows).replace("Прибой".encode(), "При".encode() + b"\xff" + "бой".encode())
    summary = await import_clients(db, w.admin, data, "clients.csv")
    assert summary.inserted == 2
    assert [(r.line, r.reason.split(" (")[0]) for r in summary.rejected] == [(3, "the row has bytes that are not UTF-8")]
    assert list(await clients_by_name(db)) == ["ООО «Волна»", "ООО «Штиль»"]


def _damaged_xlsx(rows: list[list[object]], damage) -> bytes:  # type: ignore[no-untyped-def]
    """A workbook whose first sheet's XML went through ``damage`` (as some exporters and cut downloads leave it)."""
    import zipfile

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, damage(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


async def test_a_workbook_cut_short_keeps_the_rows_before_the_break(db: Database) -> None:
    """A damaged sheet is no 500 and no half-written import: the rows before the break, and the break named."""
    w = await people(db)
    rows = [[f"ООО «Клиент {n}»", "", "Москва", "", f"8 916 {5560000 + n}", "", "", "", ""] for n in range(300)]
    data = _damaged_xlsx(rows, lambda xml: xml[: int(len(xml) * 0.8)])
    summary = await import_clients(db, w.admin, data, "kontragenty.xlsx")
    [broken] = summary.rejected
    assert "cannot read the sheet from here" in broken.reason and "the rest of the file is not imported" in broken.reason
    assert 200 < summary.inserted == broken.line - 2 < 300  # every row before the break, none after
    assert len(await clients_by_name(db)) == summary.inserted


async def test_a_first_sheet_broken_before_its_header_is_reported_not_passed_over(db: Database) -> None:
    """The list may well be on the damaged first sheet: a later sheet («Архив») is not imported in its place."""
    import zipfile

    w = await people(db)
    book = openpyxl.Workbook()
    book.active.append(["Выгрузка контрагентов на 01.12.2026"])
    book.active.append(HEADER)
    book.create_sheet("Архив").append(HEADER)
    book["Архив"].append(["ООО «Старая»", "", "Москва", "", "+7 495 000-00-01", "", "", "", ""])
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            # The title row's cell cut in the middle of its XML: the sheet breaks before the header.
            zout.writestr(item, data[: data.index(b"<c ") + 10] if item.filename == "xl/worksheets/sheet1.xml" else data)
    with pytest.raises(ImportFileError, match="line 1: cannot read the sheet from here"):
        await import_clients(db, w.admin, out.getvalue(), "kontragenty.xlsx")
    assert await clients_by_name(db) == {}


async def test_a_workbook_that_states_a_wrong_size_is_read_whole(db: Database) -> None:
    import re

    w = await people(db)
    rows = [[f"ООО «Клиент {n}»", "", "Москва", "", f"8 916 {5570000 + n}", "", "", "", ""] for n in range(5)]
    data = _damaged_xlsx(rows, lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:B2"/>', xml))
    summary = await import_clients(db, w.admin, data, "kontragenty.xlsx")
    assert (summary.inserted, summary.rejected) == (5, [])


async def test_a_rows_region_says_which_countrys_national_format_its_numbers_are_in(db: Database) -> None:
    """In a Russian deployment: a Minsk client's "80 29 …" and a Kharkiv client's "067 …" are theirs, not errors."""
    w = await people(db)
    rows = [["ОАО «Гомельстекло»", "", "Минск", "", "80 29 612-45-67", "", "", "", ""],
            ["ТОВ «Слобожанщина»", "", "Харьков", "", "067 765 43 21", "", "", "", ""],
            ["ООО «Ромашка»", "", "Москва", "", "8 (916) 123-45-67", "", "", "", ""]]
    summary = await import_clients(db, w.admin, csv_bytes(rows), "clients.csv")
    assert (summary.inserted, summary.rejected) == (3, [])
    by_name = await clients_by_name(db)
    assert [p[0] for p in await phones_of(db, by_name["ОАО «Гомельстекло»"].id)] == ["+375296124567"]
    assert [p[0] for p in await phones_of(db, by_name["ТОВ «Слобожанщина»"].id)] == ["+380677654321"]


# --- duplicates ----------------------------------------------------------------------------


async def _seed(db: Database, w: People) -> dict[str, int]:
    """Two clients created through the client service (as the operators' screens do)."""
    romashka = await clients_service.create_client(db, w.admin, ClientInput(
        name="ООО «Ромашка»", tax_id="7707083893", region="Москва", responsible_id=w.petrova.user_id,
        phones=[PhoneInput("+7 495 123-45-67")],
        contacts=[ContactInput(first_name="Иван", last_name="Иванов", emails=["ivanov@romashka.ru"],
                               phones=[PhoneInput("+7 916 123-45-67")])],
    ))
    kyiv = await clients_service.create_client(db, w.admin, ClientInput(
        name="ТОВ «Сонячний Світ»", tax_id="34567890", region="Київ", responsible_id=w.koval.user_id,
        phones=[PhoneInput("+380 44 123 45 67")],
    ))
    return {"romashka": romashka.id, "kyiv": kyiv.id}


DUPLICATE_ROWS = [
    # line 2: the tax id of «Ромашка», a new mobile, a new contact and the industry it lacks
    ["Ромашка (опт)", "7707083893", "Тверь", "Петров Олег", "+7 903 555-01-02", "petrov@romashka.ru", "", "Опт", ""],
    # line 3: a new client
    ["ООО «Вектор»", "7736207543", "Москва", "Орлов Сергей", "8 (916) 700-00-02", "", "", "", ""],
    # line 4: the same client as line 3, by its phone, with a contact's e-mail line 3 had not
    ["Вектор", "", "", "Орлов Сергей", "+79167000002", "orlov@vektor.ru", "", "", ""],
    # line 5: «Ромашка»'s contact phone, Иванов's second address
    ["ООО Ромашка", "", "", "Иванов Иван", "8 916 123 45 67", "i.ivanov@romashka.ru", "", "", ""],
]


@pytest.mark.parametrize("batch_rows", [None, 1], ids=["one batch", "a batch per row"])
async def test_duplicates_in_report_mode_name_the_client(db: Database, batch_rows: int | None) -> None:
    w = await people(db)
    ids = await _seed(db, w)
    summary = await import_clients(db, w.admin, csv_bytes(DUPLICATE_ROWS), "dups.csv", on_duplicate="report",
                                   batch_rows=batch_rows)
    vektor = (await clients_by_name(db))["ООО «Вектор»"].id
    assert summary.to_json() == {"reassigned": [], "sheet": None, "inserted": 1, "updated": 0, "duplicates": 3, "rejected": [
        {"line": 2, "reason": f"duplicate: already in the base: tax id 7707083893 (client {ids['romashka']})"},
        # Line 3 made «Вектор»: line 4 repeats the file, it is not something the base already had.
        {"line": 4, "reason": f"duplicate of line 3 of this file: phone +79167000002 (client {vektor})"},
        {"line": 5, "reason": f"duplicate: already in the base: phone +79161234567 (client {ids['romashka']})"},
    ]}
    romashka = (await clients_by_name(db))["ООО «Ромашка»"]
    assert romashka.industry is None and romashka.region == "Москва"  # reported, not touched


async def test_duplicates_in_merge_mode_fill_the_client(db: Database) -> None:
    w = await people(db)
    ids = await _seed(db, w)
    summary = await import_clients(db, w.admin, csv_bytes(DUPLICATE_ROWS), "dups.csv", on_duplicate="merge")
    assert summary.to_json() == {"reassigned": [], "sheet": None, "inserted": 1, "updated": 3, "duplicates": 0, "rejected": []}
    clients = await clients_by_name(db)
    romashka = clients["ООО «Ромашка»"]
    # Filled where empty; the name, region and responsible it had are kept.
    assert (romashka.industry, romashka.region, romashka.responsible_id) == ("Опт", "Москва", w.petrova.user_id)
    assert await contacts_of(db, ids["romashka"]) == [
        ("Иванов", "Иван", None, ["ivanov@romashka.ru", "i.ivanov@romashka.ru"]),
        ("Петров", "Олег", None, ["petrov@romashka.ru"]),
    ]
    assert await phones_of(db, ids["romashka"]) == [
        ("+74951234567", "work", "+7 495 123-45-67", None),
        ("+79035550102", "mobile", None, "Олег"),
        ("+79161234567", "mobile", "+7 916 123-45-67", "Иван"),
    ]
    vektor = clients["ООО «Вектор»"]
    assert await contacts_of(db, vektor.id) == [("Орлов", "Сергей", None, ["orlov@vektor.ru"])]
    assert len(clients) == 3


async def test_a_supervisor_never_learns_of_another_teams_client(db: Database) -> None:
    w = await people(db)
    ids = await _seed(db, w)
    rows = [["ТОВ Сонячний", "", "", "", "+380441234567", "", "", "Енергетика", ""],
            ["Ромашка", "", "", "", "+7 495 123 45 67", "", "", "Опт", ""]]
    for mode in ("merge", "report"):
        summary = await import_clients(db, w.sup, csv_bytes(rows), "x.csv", on_duplicate=mode)
        assert summary.to_json() == {"reassigned": [], "sheet": None, "inserted": 0, "updated": int(mode == "merge"), "duplicates": 1 + int(mode == "report"),
                                     "rejected": [
            {"line": 2, "reason": "duplicate: already in the base: phone +380441234567"},
            *([{"line": 3, "reason": f"duplicate: already in the base: phone +74951234567 (client {ids['romashka']})"}]
              if mode == "report" else []),
        ]}
    assert (await clients_by_name(db))["ТОВ «Сонячний Світ»"].industry is None


async def test_a_row_of_two_different_clients_is_left_for_a_person(db: Database) -> None:
    w = await people(db)
    ids = await _seed(db, w)
    rows = [["Смесь", "34567890", "Київ", "", "+7 916 123-45-67", "", "", "Опт", ""]]
    summary = await import_clients(db, w.admin, csv_bytes(rows), "x.csv", on_duplicate="merge")
    assert summary.to_json() == {"reassigned": [], "sheet": None, "inserted": 0, "updated": 0, "duplicates": 1, "rejected": [
        {"line": 2, "reason": f"duplicate: already in the base: tax id 34567890 (client {ids['kyiv']}), "
                              f"phone +79161234567 (client {ids['romashka']}); these are different clients, merge by hand"}]}


# --- writing -------------------------------------------------------------------------------


REFUSED_NAME = "ООО «Отказ»"


async def _refuse_a_name(db: Database) -> None:
    """A trigger standing for whatever may refuse a row at write time (a constraint, a policy)."""
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            await conn.execute(text(
                f"CREATE TRIGGER refuse_import BEFORE INSERT ON clients WHEN NEW.name = '{REFUSED_NAME}' "
                "BEGIN SELECT RAISE(ABORT, 'clients of this name are refused by policy'); END"))
        else:
            await conn.execute(text(
                "CREATE FUNCTION refuse_import() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.name = '{REFUSED_NAME}' THEN RAISE EXCEPTION 'clients of this name are refused by policy'; "
                "END IF; RETURN NEW; END $$"))
            await conn.execute(text(
                "CREATE TRIGGER refuse_import BEFORE INSERT ON clients FOR EACH ROW EXECUTE FUNCTION refuse_import()"))


async def _allow_all_names(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER IF EXISTS refuse_import" + ("" if db.is_sqlite else " ON clients")))
        if not db.is_sqlite:
            await conn.execute(text("DROP FUNCTION IF EXISTS refuse_import()"))


@pytest.mark.parametrize("fast", [False, True], ids=["simple", "fast"])
async def test_a_row_refused_at_write_time_loses_nothing_else(db: Database, fast: bool) -> None:
    w = await people(db)
    rows = [["ООО «Альфа»", "", "", "Зайцева Ксения", "+7 916 100-00-01", "", "", "", ""],
            [REFUSED_NAME, "", "", "Егоров Владимир", "+7 916 100-00-02", "egorov@otkaz.ru", "", "", ""],
            ["ООО «Отказ» (филиал)", "", "", "", "+7 916 100-00-02", "", "", "", ""],  # line 3's duplicate
            ["ООО «Бета»", "", "", "", "+7 916 100-00-03", "", "", "", ""]]
    await _refuse_a_name(db)
    try:
        summary = await import_clients(db, w.admin, csv_bytes(rows), "x.csv", fast_path_rows=0 if fast else 10**9)
    finally:
        await _allow_all_names(db)
    assert summary.fast_path is fast
    assert summary.to_json() == {"reassigned": [], "sheet": None, "inserted": 2, "updated": 0, "duplicates": 0, "rejected": [
        {"line": 3, "reason": "not written: the store refused it: clients of this name are refused by policy"},
        {"line": 4, "reason": "duplicate of line 3, which was not written"},
    ]}
    assert sorted(await clients_by_name(db)) == ["ООО «Альфа»", "ООО «Бета»"]
    async with db.reading() as s:  # nothing of the refused row: no contact, no phone
        assert sorted((await s.execute(select(Phone.e164))).scalars()) == ["+79161000001", "+79161000003"]
        assert sorted((await s.execute(select(Contact.last_name))).scalars()) == ["Зайцева"]


# --- rights ------------------------------------------------------------------------------


async def test_operators_and_managers_cannot_import(db: Database) -> None:
    w = await people(db)
    for actor in (w.smirnov, w.petrova):
        with pytest.raises(Forbidden):
            await import_clients(db, actor, ONE_C.read_bytes(), ONE_C.name)
    assert await clients_by_name(db) == {}


async def test_a_supervisor_assigns_within_the_team_only(db: Database) -> None:
    w = await people(db)
    rows = [["ООО «Своя»", "", "", "", "+7 916 200-00-01", "", "Петрова А.С.", "", ""],
            ["ООО «Чужая»", "", "", "", "+7 916 200-00-02", "", "Олена Коваль", "", ""],
            ["ООО «Ничья»", "", "", "", "+7 916 200-00-03", "", "", "", ""]]
    summary = await import_clients(db, w.sup, csv_bytes(rows), "x.csv")
    assert summary.inserted == 3
    got = {name: c.responsible_id for name, c in (await clients_by_name(db)).items()}
    assert got == {"ООО «Своя»": w.petrova.user_id, "ООО «Чужая»": w.sup.user_id, "ООО «Ничья»": w.sup.user_id}
    # Not silently: the report says whose clients went elsewhere, and to whom.
    assert summary.reassigned == [Reassigned("Олена Коваль", rows=1, first_line=3, given_to=w.sup.login)]
    assert summary.to_json()["reassigned"] == [
        {"responsible": "Олена Коваль", "rows": 1, "first_line": 3, "given_to": w.sup.login}]

    typo = [["ООО «Первая»", "", "", "", "+7 916 200-00-05", "", "Петрва А.С.", "", ""],
            ["ООО «Вторая»", "", "", "", "+7 916 200-00-06", "", "Петрова А.С.", "", ""],
            ["ООО «Третья»", "", "", "", "+7 916 200-00-07", "", "Петрва А.С.", "", ""]]
    summary = await import_clients(db, w.sup, csv_bytes(typo), "x.csv", responsible_login="smirnov")
    assert summary.reassigned == [Reassigned("Петрва А.С.", rows=2, first_line=2, given_to="smirnov")]

    more = [["ООО «Ещё»", "", "", "", "+7 916 200-00-04", "", "", "", ""]]
    await import_clients(db, w.sup, csv_bytes(more), "x.csv", responsible_login="smirnov")
    assert (await clients_by_name(db))["ООО «Ещё»"].responsible_id == w.smirnov.user_id
    with pytest.raises(Forbidden, match="koval"):
        await import_clients(db, w.sup, csv_bytes(more), "x.csv", responsible_login="koval")
    with pytest.raises(UserNotFound):
        await import_clients(db, w.sup, csv_bytes(more), "x.csv", responsible_login="nobody")


# --- the fast path ----------------------------------------------------------------------------


def mixed_file() -> tuple[bytes, list[int]]:
    """A few thousand demo clients with the faults and duplicates real exports have.

    Returns the file and the lines of the rows that cannot be read.
    """
    rows = [csv_row(c) for c in generate_clients(2500, seed=11)]
    with_inn = next(i for i, r in enumerate(rows) if r[2] and i > 60)  # only Russian companies carry one
    rows[with_inn][2] = "7707083894"  # checksum
    rows[10][7] = "8 (916) 12"  # too short
    rows[30][5] = "VIP"  # unknown status
    rows[40] = rows[40][:5]  # a cut-off line
    rows[50][0] = rows[50][6] = ""  # no name, no contact to take it from
    faulty = sorted(i + 2 for i in (10, 30, 40, 50, with_inn))
    assert faulty[-1] < 700
    rows.insert(700, [*rows[600][:7], rows[600][7], "", "dup@mail.ru", "website"])  # line 602's client again
    rows.insert(1500, ["Ромашка", "Юр. лицо", "7707083893", "Москва", "", "active", "Зайцева Ксения Алексеевна",
                       "+7 903 999-00-01", "", "", "ads"])  # the seeded client's tax id
    rows.insert(2000, ["Лютик", "Юр. лицо", "", "", "", "new", "", "+7 916 123-45-67", "", "", ""])  # its phone
    rows.insert(2100, ["Смесь", "Юр. лицо", "34567890", "Київ", "", "new", "", "+7 495 123-45-67", "", "", ""])  # two clients
    return csv_bytes(rows, header=CSV_HEADER, encoding="cp1251"), faulty


async def _snapshot(db: Database) -> tuple[list, list, list]:
    async with db.engine.connect() as conn:
        clients = (await conn.execute(text(
            "SELECT id, kind, name, tax_id, region, timezone, industry, status, comment, source_channel, responsible_id "
            "FROM clients ORDER BY id"))).all()
        contacts = (await conn.execute(text(
            "SELECT id, client_id, last_name, first_name, middle_name, position, emails FROM contacts ORDER BY id"))).all()
        phones = (await conn.execute(text("SELECT client_id, contact_id, e164, kind, raw FROM phones ORDER BY e164"))).all()
    return clients, contacts, phones


async def _reset(db: Database) -> None:
    async with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in ("phones", "contacts", "clients"):
                await conn.execute(text(f"DELETE FROM {table}"))
        else:
            await conn.execute(text("TRUNCATE phones, contacts, clients RESTART IDENTITY CASCADE"))


async def test_fast_path_and_simple_path_give_the_same_summary_and_rows(db: Database) -> None:
    w = await people(db)
    data, faulty = mixed_file()
    for mode in ("report", "merge"):
        results = []
        for fast in (False, True):
            await _reset(db)
            await _seed(db, w)
            lines: list[int] = []  # what on_drafts saw: every readable row once, in file order
            summary = await import_clients(db, w.admin, data, "demo.csv", on_duplicate=mode,
                                           fast_path_rows=0 if fast else 10**9, batch_rows=900 if fast else None,
                                           on_drafts=lambda drafts: lines.extend(d.line for d in drafts))
            assert summary.fast_path is fast
            results.append((summary.to_json(), await _snapshot(db), lines))
        (simple, simple_rows, simple_lines), (fast_json, fast_rows, fast_lines) = results
        assert fast_json == simple
        assert fast_rows == simple_rows
        assert fast_lines == simple_lines == sorted(set(simple_lines))
        assert len(simple_lines) == 2504 - len(faulty) and not set(simple_lines) & set(faulty)
        # 2504 rows: 5 unreadable; 4 duplicates (in merge mode 3 merge, the one of two clients stays a duplicate).
        reasons = [r["reason"] for r in simple["rejected"]]
        assert [r["line"] for r in simple["rejected"] if not r["reason"].startswith("duplicate")] == faulty
        assert (simple["inserted"], simple["updated"], simple["duplicates"]) == (
            (2495, 0, 4) if mode == "report" else (2495, 3, 1)), reasons

