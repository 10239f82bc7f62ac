"""Reading the rows of an XLSX sheet for the client import: streamed, with vertically merged cells filled down.

openpyxl's read-only mode streams a sheet of a million rows in little memory, but it
does not read the sheet's merged cells. Exports made by hand often merge a column over a
group of rows ("Регион: Москва" beside ten clients): Excel shows the value on each row,
the file holds it on the first only. So the ranges are read from the sheet's XML (they
follow its rows), and a merged range's value is filled down the rows of the group that
hold anything else. A range merged across columns is not copied sideways: its value
belongs to its first column (a title over two columns is one header, not two).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from crm_core.errors import ImportFileError

log = logging.getLogger(__name__)

# The <mergeCells> element's start tag (never text: a cell's "<" is written &lt;), and each
# <mergeCell ref="B3:B12"/> in it, with or without a namespace prefix.
_MERGE_START = re.compile(rb"<(?:\w{1,20}:)?mergeCells[\s>/]")
_OVERLAP = 64  # bytes kept from one read to the next: a start tag cut by a read boundary is found whole
_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="\$?([A-Z]{1,3})\$?(\d+):\$?([A-Z]{1,3})\$?(\d+)"')
_CHUNK = 1 << 20


def cell_text(value: object) -> str:
    """A cell's value as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phones and INNs stored as numbers: 79161234567.0
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _column_index(letters: bytes) -> int:
    """0 for A, 25 for Z, 26 for AA."""
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


def merged_down(source: Any) -> dict[int, list[tuple[int, int]]]:
    """The vertical spans of a sheet's merged ranges: column index -> [(first row, last row)], from its XML stream.

    Only the first column of each range, and only ranges over more than one row. The XML
    is scanned in chunks for the mergeCells element (after the rows), so a big sheet
    without merges costs one pass of decompression and a byte search, no parsing.
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    tail = b""
    found = bytearray()
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            break
        if found:
            found += chunk
            continue
        window = tail + chunk
        start = _MERGE_START.search(window)
        if start is not None:
            found += window[start.start():]
        else:
            tail = window[-_OVERLAP:]
    for first_col, first_row, _last_col, last_row in _MERGE_CELL.findall(bytes(found)):
        top, bottom = int(first_row), int(last_row)
        if bottom > top:
            spans.setdefault(_column_index(first_col), []).append((top, bottom))
    return spans


def _sheet_spans(sheet: Any) -> dict[int, list[tuple[int, int]]]:
    """The merged spans of an openpyxl read-only sheet ({} if its XML cannot be reached or read)."""
    archive, path = getattr(getattr(sheet, "parent", None), "_archive", None), getattr(sheet, "_worksheet_path", None)
    if not isinstance(archive, zipfile.ZipFile) or not path:
        log.warning("import.xlsx_merges_unread: this openpyxl keeps the sheet's XML elsewhere")
        return {}
    try:
        with archive.open(path) as source:
            return merged_down(source)
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:  # the rows' own reading reports the damage
        log.info("import.xlsx_merges_unreadable error=%s", type(exc).__name__)
        return {}


def xlsx_records(
    data: bytes, sheet_index: int = 0, titles: dict[int, str] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(sheet row number, cell texts) of every non-empty row of a sheet, vertically merged cells filled down.

    ImportFileError when the workbook does not open or has no such sheet. ``titles`` gets
    the sheet's name under its index once the sheet is open (the import reports it).
    """
    import openpyxl  # imported here: only XLSX imports pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        log.info("import.xlsx_unreadable error=%s", type(exc).__name__)
        raise ImportFileError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})") from None
    try:
        if not workbook.worksheets:
            raise ImportFileError("the workbook has no sheets")
        if sheet_index >= len(workbook.worksheets):
            raise ImportFileError(f"the workbook has no sheet {sheet_index + 1}")
        sheet = workbook.worksheets[sheet_index]
        if titles is not None:
            titles[sheet_index] = sheet.title
        # (first row, last row, column) of each span, by first row; the spans the rows are in now.
        starts = sorted((top, bottom, column) for column, spans in _sheet_spans(sheet).items() for top, bottom in spans)
        active: list[tuple[int, int, str]] = []  # (last row, column, the value of its first row)
        next_start = 0
        # The size the file states may be stale (some exporters write A1 or the first rows only):
        # read every row the sheet really has.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            cells = [cell_text(v) for v in values]
            if active or next_start < len(starts):
                active = [span for span in active if span[0] >= number]
                while next_start < len(starts) and starts[next_start][0] <= number:
                    top, bottom, column = starts[next_start]
                    next_start += 1
                    if top == number:
                        active.append((bottom, column, cells[column] if column < len(cells) else ""))
                    # a span whose first row was empty (never read) has nothing to fill down
                if not any(c.strip() for c in cells):
                    continue  # a row the merge runs past but that holds nothing else is still an empty row
                for bottom, column, value in active:
                    if column >= len(cells):
                        cells.extend([""] * (column + 1 - len(cells)))
                    if not cells[column].strip():
                        cells[column] = value
            elif not any(c.strip() for c in cells):
                continue
            yield number, cells
    finally:
        workbook.close()


def xlsx_sheet_count(data: bytes) -> int:
    """How many sheets the workbook has (0 if it does not open: reading its rows reports why)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - the rows' reading raises the ImportFileError for it
        return 0
    try:
        return len(workbook.worksheets)
    finally:
        workbook.close()
