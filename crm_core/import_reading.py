"""Reading an import file as a stream of checked rows, in batches, in-process or on a process pool.

The file is decoded and its header found up front (so a file-level problem is reported
before anything is written); then its records are parsed (``parse_rows``) and checked
(``make_draft``) batch by batch, so a million-row file never becomes a million objects.
The pool variant spreads that CPU work over worker processes, which matters because
reading phone numbers with phonenumbers is what an import spends most of its time on.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import io
import logging
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from crm_core.errors import ImportFileError
from crm_core.import_drafts import Draft, DraftRules, draft_from_wire, draft_to_wire, make_draft
from crm_core.import_parsing import (
    _HTML_START,
    _OLE_MAGIC,
    _SINGLE_COLUMN,
    _XLSX_MAGIC,
    HeaderMap,
    ImportRow,
    RejectedRow,
    _find_header,
    decode_csv,
    detect_delimiter,
    find_xlsx_header,
    parse_rows,
)
from crm_core.import_xlsx import xlsx_records

log = logging.getLogger(__name__)

Parsed = Draft | RejectedRow


@dataclass
class OpenedFile:
    """A file whose header has been read; ``records`` yields the data rows still unread."""

    header: HeaderMap
    records: Iterator[tuple[int, list[str]]]
    encoding: str | None
    delimiter: str | None
    is_xlsx: bool
    sheet: str | None = None  # the XLSX sheet the rows come from (None for CSV)
    _breaks: list[RejectedRow] = field(default_factory=list)

    @property
    def stream_error(self) -> RejectedRow | None:
        """Where the CSV broke off mid-file (a field over csv's size limit), once it has.

        The rows before it are imported; this names the line and why the rest is not.
        """
        return self._breaks[0] if self._breaks else None


def _csv_records(lines: Iterable[str], delimiter: str, breaks: list[RejectedRow]) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of every non-blank record; a broken record ends the stream."""
    reader = csv.reader(lines, delimiter=delimiter)
    previous_end = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            breaks.append(RejectedRow(
                previous_end + 1, f"cannot read the CSV record ({exc}); the rest of the file is not imported"
            ))
            return
        start = previous_end + 1
        previous_end = reader.line_num
        if "".join(record).strip():
            yield start, record


def _xlsx_records(
    data: bytes, breaks: list[RejectedRow], sheet_index: int = 0, titles: dict[int, str] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """A sheet's rows; a damaged sheet ends the stream where it breaks, as a broken CSV record does.

    A workbook that does not open at all is an ImportFileError (the file as a whole);
    one whose sheet breaks off (cut short, a cell Excel would not write) keeps the rows
    before the break, and the break is reported with the row it follows.
    """
    rows = xlsx_records(data, sheet_index, titles)
    last = 0
    while True:
        try:
            number, cells = next(rows)
        except StopIteration:
            return
        except ImportFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl and the XML parser raise many kinds on a damaged sheet
            log.info("import.xlsx_broken after_row=%s error=%s", last, type(exc).__name__)
            breaks.append(RejectedRow(last + 1, f"cannot read the sheet from here ({type(exc).__name__}: {exc})"[:300]
                                      + "; the rest of the file is not imported"))
            return
        last = number
        yield number, cells


def open_file(data: bytes, filename: str, mapping: Mapping[str, str | None] | None = None) -> OpenedFile:
    """Decode the file and find its header; ImportFileError when the file as a whole is unreadable."""
    if not data or not data.strip(b" \t\r\n"):
        raise ImportFileError("the file is empty")
    breaks: list[RejectedRow] = []
    encoding = delimiter = None
    records: Iterator[tuple[int, list[str]]] = iter(())
    if data.startswith(_XLSX_MAGIC):
        strict_width, is_xlsx = False, True
    elif data.startswith(_OLE_MAGIC):
        raise ImportFileError("old Excel .xls files are not supported: save the sheet as .xlsx or CSV")
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(f"{filename} is not a valid XLSX workbook (it is not a ZIP archive)")
    else:
        text, encoding = decode_csv(data)
        if not text or text.isspace():
            raise ImportFileError("the file is empty")
        if _HTML_START.match(text):
            raise ImportFileError(
                "the file is an HTML table (an 'Excel' export of a web CRM), not CSV or XLSX: "
                "export to CSV, or open it in Excel and save as .xlsx"
            )
        delimiter = detect_delimiter(text)
        del text
        # Decoded again as it is read: the whole text as a str (and a StringIO's copy of it,
        # 4 bytes a character) would cost several times the file's size in memory.
        # "replace": a UTF-8 file with a stray byte is read as UTF-8 (decode_csv), its bad rows refused.
        lines = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
        records = _csv_records(lines, delimiter, breaks)
        strict_width, is_xlsx = True, False
    sheet_breaks: dict[int, list[RejectedRow]] = {}
    titles: dict[int, str] = {}
    sheet: int | None = None

    def sheet_records(index: int) -> Iterator[tuple[int, list[str]]]:
        if index > 0 and sheet_breaks.get(0):
            # The first sheet broke off before its header: the list may be there, not on a later sheet.
            raise ImportFileError("the first sheet is damaged")
        return _xlsx_records(data, sheet_breaks.setdefault(index, []), index, titles)

    try:
        if is_xlsx:  # the first sheet that has a header (a cover sheet may come before the list)
            header, body, sheet = find_xlsx_header(data, mapping, sheet_records)
            breaks = sheet_breaks[sheet]
        else:
            header, body = _find_header(records, mapping, strict_width)
    except ImportFileError:
        breaks = breaks or sheet_breaks.get(0, [])
        if breaks:  # the file broke before a header was found: that is the real problem
            raise ImportFileError(f"line {breaks[0].line}: {breaks[0].reason}") from None
        raise
    return OpenedFile(
        header=header,
        records=body,
        encoding=encoding,
        delimiter=None if delimiter in (None, _SINGLE_COLUMN) else delimiter,
        is_xlsx=is_xlsx,
        sheet=titles.get(sheet) if sheet is not None else None,
        _breaks=breaks,
    )


def estimated_rows(data: bytes, opened: OpenedFile) -> int:
    """About how many rows the file has, to choose the fast path without reading it twice."""
    if opened.is_xlsx:
        return len(data) // 40  # a compressed sheet row of a client export is ~40-60 bytes
    return data.count(b"\n")


def parse_chunk(
    records: list[tuple[int, list[str]]], header: HeaderMap, default_region: str, rules: DraftRules
) -> list[Parsed]:
    """Parse and check one chunk of records (the unit of work in-process and on the pool)."""
    return [
        make_draft(item, rules) if isinstance(item, ImportRow) else item
        for item in parse_rows(records, header, default_region)
    ]


async def batches_inline(
    opened: OpenedFile, default_region: str, rules: DraftRules, batch_rows: int
) -> AsyncIterator[list[Parsed]]:
    """Checked rows in batches of about ``batch_rows`` records, parsed in this process."""
    while True:
        chunk = list(islice(opened.records, batch_rows))
        if not chunk:
            return
        yield parse_chunk(chunk, opened.header, default_region, rules)
        await asyncio.sleep(0)  # let the server answer other requests between batches


# Collector thresholds for the bulk of an import (Python's default is 700, 10, 10): with
# hundreds of thousands of live objects the default re-scans the heap so often that it
# took the main process from 51 to 112 us a row (benchmarks/bench_import.py).
FEWER_COLLECTIONS = (100_000, 50, 100)
_collector: dict[str, Any] = {"active": 0, "saved": (700, 10, 10)}


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds while big imports run; the first in saves, the last out restores."""
    if _collector["active"] == 0:
        _collector["saved"] = gc.get_threshold()
        gc.set_threshold(*FEWER_COLLECTIONS)
    _collector["active"] += 1
    try:
        yield
    finally:
        _collector["active"] -= 1
        if _collector["active"] == 0:
            gc.set_threshold(*_collector["saved"])


# Set in each pool worker by _init_worker, so chunks travel without the header and rules.
_WORKER: dict[str, object] = {}


def _init_worker(header: HeaderMap, default_region: str, rules: DraftRules) -> None:
    _WORKER.update(header=header, region=default_region, rules=rules)
    # A worker only parses: millions of short-lived objects, no cycles worth chasing often.
    gc.set_threshold(*FEWER_COLLECTIONS)


def _parse_in_worker(records: list[tuple[int, list[str]]]) -> list[tuple | RejectedRow]:
    parsed = parse_chunk(records, _WORKER["header"], _WORKER["region"], _WORKER["rules"])  # type: ignore[arg-type]
    return [draft_to_wire(item) if isinstance(item, Draft) else item for item in parsed]


def _from_worker(items: list[tuple | RejectedRow]) -> list[Parsed]:
    return [item if isinstance(item, RejectedRow) else draft_from_wire(item) for item in items]


async def batches_on_pool(
    opened: OpenedFile,
    default_region: str,
    rules: DraftRules,
    batch_rows: int,
    workers: int,
    chunk_rows: int = 2000,
) -> AsyncIterator[list[Parsed]]:
    """Checked rows in file order, parsed by ``workers`` processes a chunk at a time.

    Chunks for about two batches are kept in flight, so the workers parse ahead while the
    caller writes. Workers are spawned (not forked): the caller may be a threaded server.
    """
    chunk_rows = max(1, min(chunk_rows, batch_rows))
    window = max(2 * workers, 2 * -(-batch_rows // chunk_rows))
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker,
        initargs=(opened.header, default_region, rules),
    )
    inflight: deque[asyncio.Future[list[tuple | RejectedRow]]] = deque()
    exhausted = False

    def submit() -> None:
        nonlocal exhausted
        chunk = list(islice(opened.records, chunk_rows))
        if chunk:
            inflight.append(asyncio.wrap_future(pool.submit(_parse_in_worker, chunk)))
        else:
            exhausted = True

    try:
        while len(inflight) < window and not exhausted:
            submit()
        batch: list[Parsed] = []
        while inflight:
            parsed = await inflight.popleft()
            if not exhausted:
                submit()
            batch.extend(_from_worker(parsed))
            if len(batch) >= batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        for future in inflight:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
