"""XLSX sheets as the import reads them (crm_core/import_xlsx.py): merged cells filled down, the list's sheet found."""

from __future__ import annotations

import io

import openpyxl
import pytest

from crm_core.errors import ImportFileError
from crm_core.import_parsing import parse_clients_file
from crm_core.import_xlsx import merged_down, xlsx_records

HEADER = ["Наименование", "Регион", "Телефон", "Примечание"]


def _book(*sheets: tuple[str, list[list[object]], list[str]]) -> bytes:
    """A workbook of (title, rows, ranges to merge) sheets, saved as Excel would."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows, merges in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for ref in merges:
            sheet.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_region_merged_over_a_group_of_clients_is_every_ones_region() -> None:
    """«Москва» merged beside three clients: Excel shows it on each row, the file holds it on the first only."""
    data = _book(("Клиенты", [
        ["Выгрузка контрагентов по регионам на 01.12.2026"],  # a title merged over the header's width
        HEADER,
        ["ООО «Ромашка»", "Москва", "+7 495 123-45-67", "Договор до марта"],
        ["ООО «Лютик»", None, "+7 495 765-43-21", None],
        ["ИП Петренко", None, "8 916 111-22-33", None],
        [],  # an empty row inside the merge stays empty: no client made of a region alone
        ["ОАО «Гомельстекло»", "Гомельская обл.", "+375 232 55-44-33", None],
        ["ТОВ «Карпати»", "Львовская обл.", "+380 32 255-11-22", "Перезвонить"],
    ], ["A1:D1", "B3:B6"]))
    rows = dict(xlsx_records(data))
    assert rows[1][0] == "Выгрузка контрагентов по регионам на 01.12.2026"
    assert not any(rows[1][1:]), "a title merged across columns is not copied sideways"
    assert [rows[n][1] for n in (3, 4, 5)] == ["Москва"] * 3
    assert 6 not in rows
    assert (rows[7][1], rows[8][1]) == ("Гомельская обл.", "Львовская обл."), "past the merge: the rows' own"
    parsed = parse_clients_file(data, "kontragenty.xlsx", "RU")
    assert [(r.line, r.region_code) for r in parsed.rows][:3] == [(3, "77"), (4, "77"), (5, "77")]


def test_the_list_is_read_from_the_first_sheet_that_has_a_header() -> None:
    data = _book(
        ("Инструкция", [["Как заполнять: одна строка — один клиент"], ["Телефоны в формате +7 …"]], []),
        ("Клиенты", [HEADER, ["ООО «Ромашка»", "Москва", "+7 495 123-45-67", None]], []),
        ("Архив", [HEADER, ["ООО «Старая»", "Москва", "+7 495 000-00-01", None]], []),
    )
    parsed = parse_clients_file(data, "kontragenty.xlsx", "RU")
    assert [(r.line, r.name) for r in parsed.rows] == [(2, "ООО «Ромашка»")], "one sheet: the first with a list"
    # No sheet with a header: the first sheet's reason is the file's.
    with pytest.raises(ImportFileError, match="client"):
        parse_clients_file(_book(("Инструкция", [["Как заполнять"]], []), ("Пусто", [["—"]], [])), "a.xlsx", "RU")
    with pytest.raises(ImportFileError, match="no sheet 4"):
        list(xlsx_records(data, 3))  # the fourth of three


def test_merged_ranges_are_found_past_a_read_boundary_and_with_a_namespace_prefix() -> None:
    head = (b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
            + b"<row/>" * 200_000)  # 1.2 MB of rows before the merges, as a big sheet has
    before = head + b"</x:sheetData><x:"
    pad = 2 * (1 << 20) - 4 - len(before)  # "mergeCells" starts 4 bytes before the end of the second 1 MiB read
    xml = (head + b" " * pad + b'</x:sheetData><x:mergeCells count="3"><x:mergeCell ref="B3:B12"/>'
           b'<x:mergeCell ref="A1:D1"/><x:mergeCell ref="$AA$5:$AB$9"/></x:mergeCells></x:worksheet>')
    assert xml.find(b"mergeCells") == 2 * (1 << 20) - 4
    assert merged_down(io.BytesIO(xml)) == {1: [(3, 12)], 26: [(5, 9)]}, "only spans over rows, by first column"
    assert merged_down(io.BytesIO(b"<worksheet><sheetData/></worksheet>")) == {}
    # The word in a cell's text is not the element.
    text = b'<worksheet><sheetData><row><c t="inlineStr"><is><t>mergeCells ref="A1:A9"</t></is></c></row></sheetData></worksheet>'
    assert merged_down(io.BytesIO(text)) == {}
