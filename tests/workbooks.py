"""Client workbooks as exports made by hand look: a cover or instructions sheet, then the list."""

from __future__ import annotations

import io

import openpyxl


def workbook_after_a_cover(cover: str, note: str, title: str, rows: list[list[object]]) -> bytes:
    """An XLSX whose first sheet ``cover`` holds one line of ``note``; the sheet ``title`` holds ``rows``."""
    book = openpyxl.Workbook()
    book.active.title = cover
    book.active.append([note])
    sheet = book.create_sheet(title)
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
