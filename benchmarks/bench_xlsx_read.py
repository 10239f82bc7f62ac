"""Reading an XLSX client list for the import: the rows, and what finding the merged cells adds.

    .venv/bin/python benchmarks/bench_xlsx_read.py [--rows 100000] [--group 10]

Writes a one-sheet workbook of --rows clients (not timed) whose region column is merged
over groups of --group rows, as hand-made exports do, then times crm_core.import_xlsx:
the scan of the sheet's XML for its merged ranges alone, and the whole read of the rows
with the regions filled down (which includes that scan). The scan's share is what the
merged cells cost an import; a sheet without merges pays the same scan.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402

from crm_core.import_xlsx import _sheet_spans, xlsx_records  # noqa: E402

REGIONS = ("Москва", "Санкт-Петербург", "Самарская обл.", "Минская обл.", "Харьковская обл.")


def workbook(rows: int, group: int) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Наименование", "ИНН", "Регион", "Телефон"])
    for n in range(rows):
        region = REGIONS[(n // group) % len(REGIONS)] if n % group == 0 else None
        sheet.append([f"ООО «Клиент {n}»", 7707083893, region, f"+7 916 {5_000_000 + n}"])
    for first in range(2, rows + 2, group):
        last = min(first + group - 1, rows + 1)
        if last > first:
            sheet.merge_cells(f"C{first}:C{last}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--group", type=int, default=10)
    args = parser.parse_args()
    data = workbook(args.rows, args.group)
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    started = time.perf_counter()
    spans = _sheet_spans(book.worksheets[0])
    scan = time.perf_counter() - started
    book.close()
    started = time.perf_counter()
    filled = sum(1 for _, cells in xlsx_records(data) if len(cells) > 2 and cells[2])
    read = time.perf_counter() - started
    print(f"{args.rows} rows, {sum(len(s) for s in spans.values())} merged ranges, workbook {len(data) / 1e6:.1f} MB")
    print(f"merged-range scan {scan:.3f} s; whole read {read:.2f} s ({args.rows / read:,.0f} rows/s); "
          f"scan share {scan / read:.1%}; rows with a region {filled - 1}")


if __name__ == "__main__":
    main()
