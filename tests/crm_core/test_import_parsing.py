import io
from pathlib import Path

import openpyxl
import pytest

from crm_core.errors import DomainError, ImportFileError
from crm_core.import_parsing import (
    ImportPhone,
    ImportRow,
    RejectedRow,
    build_header_map,
    decode_csv,
    detect_delimiter,
    inn_checksum_ok,
    iter_csv_records,
    parse_clients_file,
    parse_rows,
    split_full_name,
    split_phones,
)

DATA = Path(__file__).parent / "data"
ONE_C = DATA / "1c_kontragenty_cp1251.csv"
BITRIX = DATA / "bitrix24_companies_utf8_bom.csv"


def _csv(text: str, encoding: str = "utf-8", filename: str = "clients.csv", region: str = "RU", mapping=None):
    return parse_clients_file(text.encode(encoding), filename, region, mapping)


# --- a 1C export: cp1251, ";", CRLF, doubled quotes ----------------------------------


def test_one_c_fixture_really_is_cp1251_with_crlf():
    raw = ONE_C.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"\r\n" in raw and raw.count(b"\r\n") == raw.count(b"\n")


def test_one_c_export_reads_and_rejects_with_reasons():
    result = parse_clients_file(ONE_C.read_bytes(), ONE_C.name, "RU")
    assert result.encoding == "cp1251"
    assert result.delimiter == ";"
    assert result.header_line == 1
    assert result.ignored_columns == ()
    assert [row.line for row in result.rows] == [2, 3, 4, 9, 11]
    assert [str(r) for r in result.rejected] == [
        "line 5: phone '8 (916) 12' is not a valid number: too short",
        "line 6: ИНН 7707083894 checksum invalid",
        "line 7: missing client name",
        "line 8: 11 fields, the header has 10 (check quotes and delimiters)",
        "line 12: e-mail 'ivanov@' is not a valid address",
    ]


def test_one_c_rows_are_normalised():
    rows = {row.line: row for row in parse_clients_file(ONE_C.read_bytes(), ONE_C.name, "RU").rows}
    romashka = rows[2]
    assert romashka == ImportRow(
        line=2,
        name='ООО "Ромашка"',
        kind="company",
        inn="7707083893",
        region="г. Москва",
        region_code="77",
        industry="Оптовая торговля",
        responsible="Петрова А.С.",
        contact_last_name="Иванов",
        contact_first_name="Иван",
        contact_middle_name="Иванович",
        phones=(
            ImportPhone("+74951234567", "work", "204"),
            ImportPhone("+79161234567", "mobile", None),
        ),
        emails=("info@romashka.ru",),
        comment="Постоянный клиент; скидка 5%",
    )
    sole_trader = rows[3]
    assert sole_trader.kind == "company"  # Индивидуальный предприниматель
    assert sole_trader.inn == "540412345684"
    assert sole_trader.region_code == "54"
    assert sole_trader.contact_first_name == "Пётр"
    assert rows[4].region_code == "66"
    baltic = rows[9]
    assert baltic.comment == "Многострочный комментарий:\nдоговор до 31.12"
    assert baltic.phones == (ImportPhone("+74012556677", "work"),)
    person = rows[11]
    assert person.kind == "person"
    assert person.phones == (ImportPhone("+74232401122", "work"), ImportPhone("+79147001122", "mobile"))


# --- a Bitrix24 export: UTF-8 with BOM, ",", all quoted ------------------------------


def test_bitrix24_export_of_a_ukrainian_team():
    result = parse_clients_file(BITRIX.read_bytes(), BITRIX.name, "UA")
    assert result.encoding == "utf-8-sig"
    assert result.delimiter == ","
    assert result.columns["Название компании"] == "name"
    assert result.columns["ЄДРПОУ"] == "inn"
    assert result.columns["Рабочий телефон"] == "phone_work"
    assert result.columns["Мобильный телефон"] == "phone_mobile"
    assert result.columns["Рабочий e-mail"] == "email"
    # Bitrix24's "Тип компании" is Клиент/Партнер, not a legal form: left out.
    assert result.ignored_columns == ("ID", "Тип компании", "Дата создания")
    rows = {row.line: row for row in result.rows}
    assert sorted(rows) == [2, 3, 4, 6]
    assert rows[2].name == 'ТОВ "Сонячний Світ"'
    assert rows[2].inn == "34567890"  # ЄДРПОУ, kept as written
    assert rows[2].region_code == "UA-30"
    assert rows[2].phones == (ImportPhone("+380441234567", "work"), ImportPhone("+380671234567", "mobile"))
    assert rows[2].source == "Сайт"
    assert rows[3].inn == "3012345678"  # a Ukrainian personal tax number: no Russian checksum
    assert rows[3].region_code == "UA-46"
    assert rows[4].region_code == "UA-63"
    assert [p.e164 for p in rows[4].phones] == ["+380931112233", "+380931112234"]
    assert rows[6].region_code == "BY-HM"
    assert [p.e164 for p in rows[6].phones] == ["+375173215476", "+375291234567"]
    assert [str(r) for r in result.rejected] == [
        "line 5: phone '056 12 34' is not a valid number: too short (a local number without its area code)",
        "line 7: missing client name",
    ]


def test_default_region_changes_how_national_numbers_read():
    # No region column: the deployment's country decides how "044 …" reads.
    text = "Название;Телефон\nТОВ «Сонячний Світ»;044 123 45 67\n"
    assert [p.e164 for r in _csv(text, region="UA").rows for p in r.phones] == ["+380441234567"]
    assert [r.reason for r in _csv(text, region="RU").rejected] == [
        "phone '044 123 45 67' is not a valid number: invalid for region RU/KZ"]
    # A row's own region says it better: the Ukrainian team's export reads the same in a Russian deployment.
    in_russia = parse_clients_file(BITRIX.read_bytes(), BITRIX.name, "RU")
    in_ukraine = parse_clients_file(BITRIX.read_bytes(), BITRIX.name, "UA")
    assert [r.line for r in in_russia.rows] == [r.line for r in in_ukraine.rows] == [2, 3, 4, 6]
    assert [p.e164 for p in in_russia.rows[0].phones] == ["+380441234567", "+380671234567"]


# --- XLSX ------------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Контрагенты"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_a_title_row_numeric_cells_and_gaps():
    data = _xlsx(
        [
            ["Список контрагентов на 01.03.2025"],
            [],
            ["Наименование", "ИНН", "Регион", "Фамилия", "Имя", "Отчество", "Мобильный телефон",
             "Рабочий телефон", "Часовой пояс", "Статус"],
            ['ООО "Адыгея-Агро"', 105012349, "Адыгея", "Хачемизов", "Аслан", "Муратович",
             79181234567, "8 (8772) 52-11-22", None, "Активный"],
            [],
            ["ИП Петренко", "772456789082", "Москва", "Петренко", "Оксана", None,
             89161112233.0, None, "МСК", None],
            ["ООО Сибирь", 5406012253, "Новосибирская обл.", None, None, None,
             "+7 913 000-00-00", None, "Марс", None, "лишняя ячейка"],
            ["ООО Восток", 2536012345, "Приморский край", None, None, None, None, None, "UTC+10", None],
        ]
    )
    result = parse_clients_file(data, "kontragenty.xlsx", "RU")
    assert result.encoding is None and result.delimiter is None
    assert result.header_line == 3
    rows = {row.line: row for row in result.rows}
    assert sorted(rows) == [4, 6]
    adygea = rows[4]
    assert adygea.inn == "0105012349"  # Excel had dropped the leading zero
    assert adygea.kind == "company"  # a ten-digit INN is an organisation's
    assert adygea.region_code == "01"
    assert (adygea.contact_last_name, adygea.contact_first_name, adygea.contact_middle_name) == (
        "Хачемизов", "Аслан", "Муратович")
    assert adygea.phones == (ImportPhone("+79181234567", "mobile"), ImportPhone("+78772521122", "work"))
    assert adygea.status == "Активный"
    assert rows[6].phones == (ImportPhone("+79161112233", "mobile"),)
    assert rows[6].tz == "Europe/Moscow"
    assert rows[6].kind is None  # twelve digits: a person or a sole trader
    assert [str(r) for r in result.rejected] == [
        "line 7: time zone 'Марс' is not recognised (use e.g. Europe/Moscow or UTC+5)",
        "line 8: ИНН 2536012345 checksum invalid",
    ]


def test_broken_xlsx_is_a_file_error():
    with pytest.raises(ImportFileError, match="not a readable XLSX"):
        parse_clients_file(b"PK\x03\x04 this is no workbook", "a.xlsx", "RU")
    with pytest.raises(ImportFileError, match="not a valid XLSX"):
        parse_clients_file("Наименование\nА\n".encode(), "a.xlsx", "RU")


# --- mapping ---------------------------------------------------------------------------


def test_contacts_export_without_a_company_column_uses_the_person():
    result = _csv(
        "Фамилия,Имя,Отчество,Мобильный телефон,Рабочий e-mail,Должность\n"
        "Коваленко,Ирина,Петровна,+7 916 555-44-33,i.kovalenko@mail.ru,Главный бухгалтер\n"
        ",Мария,,8 926 111 22 33,,\n"
    )
    first, second = result.rows
    assert first.name == "Коваленко Ирина Петровна"
    assert first.kind == "person"
    assert first.contact_position == "Главный бухгалтер"
    assert second.name == "Мария"


def test_explicit_mapping_overrides_the_guess():
    text = "Клиент;Тел. сотр.;Код\nООО Альфа;8 916 123 45 67;A-17\n"
    assert _csv(text).ignored_columns == ("Тел. сотр.", "Код")
    result = _csv(text, mapping={"тел. сотр.": "phone_mobile", "Код": "comment", "Клиент": "name"})
    assert result.rows[0].phones == (ImportPhone("+79161234567", "mobile"),)
    assert result.rows[0].comment == "A-17"
    ignored = _csv("Клиент;Контрагент;ИНН\nООО Альфа;ООО Бета;\n", mapping={"Клиент": None})
    assert ignored.rows[0].name == "ООО Бета"


def test_mapping_mistakes_are_file_errors():
    text = "Клиент;Телефон\nООО Альфа;8 916 123 45 67\n"
    with pytest.raises(ImportFileError, match="'Факс', which is not in the header"):
        _csv(text, mapping={"Факс": "phone"})
    with pytest.raises(ImportFileError, match="unknown field 'fax'"):
        _csv(text, mapping={"Телефон": "fax"})


def test_first_of_two_name_columns_wins_by_rank():
    result = _csv("Полное наименование;Наименование\n"
                  'Общество с ограниченной ответственностью "Альфа";ООО "Альфа"\n')
    assert result.rows[0].name == 'ООО "Альфа"'
    assert result.ignored_columns == ("Полное наименование",)


def test_header_names_from_several_crms():
    header_map = build_header_map(
        ["Название", "Юр./Физ. лицо", "E-mail", "Эл. почта", "Телефон (рабочий)", "Рабочий телефон (контакт)",
         "Основной менеджер", "Сфера деятельности", "Источник обращения", "Часовой пояс", "Внутренний",
         "Примечание", "Полное имя контакта"]
    )
    assert header_map.mapped == {
        "Название": "name", "Юр./Физ. лицо": "kind", "E-mail": "email", "Эл. почта": "email",
        "Телефон (рабочий)": "phone_work", "Рабочий телефон (контакт)": "phone_work",
        "Основной менеджер": "responsible", "Сфера деятельности": "industry",
        "Источник обращения": "source", "Часовой пояс": "tz", "Внутренний": "phone_extension",
        "Примечание": "comment", "Полное имя контакта": "contact_name",
    }


# --- row rules -------------------------------------------------------------------------


def test_several_phones_and_emails_in_one_cell():
    result = _csv(
        "Наименование;Телефон;E-mail\n"
        '"ООО Гамма";"8 (495) 123-45-67, доб. 204; +7 916 123-45-67 / 8 916 123 45 67";'
        '"Sales@Gamma.RU, buh@gamma.ru; sales@gamma.ru"\n'
    )
    row = result.rows[0]
    assert row.phones == (ImportPhone("+74951234567", "work", "204"), ImportPhone("+79161234567", "mobile"))
    assert row.emails == ("Sales@gamma.ru", "buh@gamma.ru")


def test_extension_column_goes_to_the_work_phone():
    result = _csv("Клиент;Мобильный;Рабочий;Внутренний\nООО Дельта;8 916 123 45 67;8 495 765 43 21;доб. 15\n"
                  "ООО Эпсилон;;;15\n")
    assert result.rows[0].phones == (ImportPhone("+79161234567", "mobile"), ImportPhone("+74957654321", "work", "15"))
    assert [str(r) for r in result.rejected] == [
        "line 3: extension 15 is given without a phone number to add it to"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("Юр. лицо", "company"), ("ЮрЛицо", "company"), ("Юридическое лицо", "company"), ("ИП", "company"),
     ("Физ. лицо", "person"), ("ФизЛицо", "person"), ("Физическое лицо", "person"), ("person", "person")],
)
def test_kind_values(kind, expected):
    assert _csv(f"Наименование;Вид контрагента\nКлиент;{kind}\n").rows[0].kind == expected


def test_unknown_kind_is_rejected():
    result = _csv("Наименование;Вид контрагента\nКлиент;Партнёр\n")
    assert str(result.rejected[0]) == (
        "line 2: kind 'Партнёр' is neither a company nor a person (expected Юр. лицо or Физ. лицо)")


@pytest.mark.parametrize(
    ("inn", "reason"),
    [
        ("77070838", "ИНН 77070838 must have 10 or 12 digits, not 8"),
        ("77О7083893", "ИНН '77О7083893' is not a number"),  # a Cyrillic О
        ("500100732258", "ИНН 500100732258 checksum invalid"),
    ],
)
def test_bad_russian_inn(inn, reason):
    assert _csv(f"Наименование;ИНН\nКлиент;{inn}\n").rejected[0].reason == reason


def test_inn_with_spaces_and_other_countries():
    assert _csv("Наименование;ИНН\nКлиент;7707 083 893\n").rows[0].inn == "7707083893"
    # The region says Belarus: the УНП is not checked against Russian rules.
    assert _csv("Наименование;ИНН;Регион\nКлиент;191234567;Минская обл.\n").rows[0].inn == "191234567"


def test_inn_checksum():
    assert inn_checksum_ok("7707083893")  # Сбербанк
    assert inn_checksum_ok("7736207543")
    assert inn_checksum_ok("500100732259")
    assert not inn_checksum_ok("7707083894")
    assert not inn_checksum_ok("500100732258")
    assert not inn_checksum_ok("77070838")


def test_too_long_values_are_rejected():
    result = _csv(f"Наименование;Отрасль\n{'А' * 256};ИТ\n")
    assert result.rejected[0].reason == "name is longer than 255 characters"


def test_column_count_checks():
    result = _csv("Наименование;ИНН;Регион\nООО А;7707083893\nООО Б;7707083893;Москва;\nООО В;7707083893;Москва;x\n")
    assert [str(r) for r in result.rejected] == [
        "line 2: 2 fields, the header has 3 (check quotes and delimiters)",
        "line 4: 4 fields, the header has 3 (check quotes and delimiters)",
    ]
    assert [r.line for r in result.rows] == [3]  # a trailing empty field is harmless


def test_blank_and_empty_rows_are_skipped_but_lines_still_count():
    result = _csv("Наименование;Телефон\r\n\r\n;\r\nООО А;8 916 123 45 67\r\n")
    assert [r.line for r in result.rows] == [4]
    assert result.rejected == []


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Иванов Иван Иванович", ("Иванов", "Иван", "Иванович")),
        ("Иванов Иван", ("Иванов", "Иван", None)),
        ("Мария", (None, "Мария", None)),
        ("Иванов И.И.", ("Иванов", "И.", "И.")),
        ("И.И. Иванов", ("Иванов", "И.", "И.")),
        ("Мамедов Ахмед Рашид оглы", ("Мамедов", "Ахмед", "Рашид оглы")),
        ("", (None, None, None)),
    ],
)
def test_split_full_name(full, parts):
    assert split_full_name(full) == parts


def test_split_phones():
    assert split_phones("8 495 123-45-67, доб. 204; 8 916 123 45 67") == [
        "8 495 123-45-67 доб. 204", "8 916 123 45 67"]
    assert split_phones(" ; , ") == []


# --- encodings and delimiters ----------------------------------------------------------


def test_utf16_tab_separated_excel_unicode_text():
    text = "Наименование\tТелефон\nООО Ромашка\t+7 916 123-45-67\n"
    result = parse_clients_file(text.encode("utf-16"), "clients.txt", "RU")
    assert result.encoding == "utf-16"
    assert result.delimiter == "\t"
    assert result.rows[0].phones[0].e164 == "+79161234567"


def test_plain_utf8_with_commas_inside_quotes():
    result = _csv('Name,Phone,Email\n"Romashka, LLC","+7 916 123-45-67","info@romashka.ru"\n')
    assert result.encoding == "utf-8"
    assert result.delimiter == ","
    assert result.rows[0].name == "Romashka, LLC"


def test_single_column_file():
    result = _csv("Наименование\nООО Ромашка; филиал\nООО Лютик, ЗАО\n")
    assert [r.name for r in result.rows] == ["ООО Ромашка; филиал", "ООО Лютик, ЗАО"]
    assert result.delimiter is None


def test_decode_csv_choices():
    assert decode_csv("Клиент".encode("cp1251")) == ("Клиент", "cp1251")
    assert decode_csv("Клиент".encode("utf-8")) == ("Клиент", "utf-8")
    assert decode_csv("Клиент".encode("utf-8-sig")) == ("Клиент", "utf-8-sig")


def test_detect_delimiter_prefers_the_consistent_split():
    assert detect_delimiter('a;b;c\n"1,5";2;3\n"2,5";3;4\n') == ";"
    assert detect_delimiter("Список клиентов\na;b;c\n1;2;3\n") == ";"
    assert detect_delimiter("a,b\n1,2\n") == ","
    assert detect_delimiter("a\tb\tc\n1\t2\t3\n") == "\t"


# --- file-level errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "the file is empty"),
        (b" \r\n\r\n", "a.csv", "the file is empty"),
        ("\ufeff".encode(), "a.csv", "the file is empty"),
        ("Дата;Сумма\n01.01.2025;100\n".encode(), "a.csv", "no column with the client name"),
        ("Наименование;Телефон\n".encode(), "a.csv", "header but no client rows"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "old Excel .xls"),
        (b"<html><table><tr><td>1</td></tr></table></html>", "export.xls", "HTML table"),
        (b"Name;\x98\x98\n", "a.csv", "unknown text encoding"),
        (b"Name\x00;Phone\n", "a.csv", "binary"),
    ],
)
def test_file_level_errors(data, filename, message):
    with pytest.raises(ImportFileError, match=message) as caught:
        parse_clients_file(data, filename, "RU")
    assert isinstance(caught.value, DomainError)
    assert caught.value.code == "import_file_invalid"


def test_no_name_column_lists_the_headers_found():
    with pytest.raises(ImportFileError) as caught:
        _csv("Дата;Сумма\n01.01.2025;100\n")
    assert "Дата, Сумма" in str(caught.value)


# --- streaming -------------------------------------------------------------------------


def test_parse_rows_in_chunks_gives_the_same_as_the_whole_file():
    text, _ = decode_csv(ONE_C.read_bytes())
    records = iter_csv_records(text, detect_delimiter(text))
    _line, header = next(records)
    header_map = build_header_map(header)
    body = list(records)
    streamed: list[ImportRow | RejectedRow] = []
    for start in range(0, len(body), 3):
        streamed.extend(parse_rows(body[start : start + 3], header_map, "RU"))
    whole = parse_clients_file(ONE_C.read_bytes(), ONE_C.name, "RU")
    assert [x for x in streamed if isinstance(x, ImportRow)] == whole.rows
    assert [x for x in streamed if isinstance(x, RejectedRow)] == whole.rejected


def test_csv_title_row_above_the_header():
    result = _csv("Список контрагентов;;\r\nНаименование;Телефон;ИНН\r\nООО А;8 916 123 45 67;7707083893\r\n")
    assert result.header_line == 2
    assert [r.line for r in result.rows] == [3]


def test_unclosed_quote_is_named():
    result = _csv('Наименование;Телефон\n"ООО А;8 916 123 45 67\nООО Б;8 916 765 43 21\n')
    assert [str(r) for r in result.rejected] == [
        "line 2: 1 field, the header has 2: a quote is probably not closed (the field runs over several lines)"]
    assert result.rows == []
