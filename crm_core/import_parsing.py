"""The pure half of the client import: CSV/XLSX bytes in, normalised rows and rejections out.

Files come from 1C (cp1251, ";" and quoted fields, CRLF), Bitrix24 and amoCRM (UTF-8
with a BOM, "," or ";") or Excel. Headers are matched by name in Russian or English
(an explicit {header: field} mapping overrides that); a title row above the header is
skipped. Every data row becomes an ImportRow or a RejectedRow naming what is wrong.
For big files, ``iter_csv_records``/``import_xlsx.xlsx_records`` + ``build_header_map`` +
``parse_rows`` stream the same work chunk by chunk.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from crm_core.errors import ImportFileError, InvalidPhone
from crm_core.import_xlsx import xlsx_records, xlsx_sheet_count
from crm_core.phones import parse_phone
from crm_core.regions import Region, find_regions, parse_timezone

log = logging.getLogger(__name__)

# csv's default limit (128 KiB a field) would end a file at its first very long cell, a
# pasted e-mail thread in a comment, and drop every row after it. Files are at most
# 48 MB, so no field can be larger than that: the row's own checks then reject it alone.
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))

PHONE_MOBILE = "mobile"
PHONE_WORK = "work"
PHONE_HOME = "home"

KIND_COMPANY = "company"
KIND_PERSON = "person"

MAX_SHORT_TEXT = 255
MAX_COMMENT = 10_000

# Header names by field, best first: with two columns for a one-value field
# ("Наименование" and "Полное наименование") the one listed first wins.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "наименование", "название", "наименование клиента", "название клиента", "клиент",
        "рабочее наименование", "компания", "название компании", "наименование компании",
        "организация", "наименование организации", "контрагент", "наименование контрагента",
        "полное наименование", "наименование полное", "name", "client", "client name",
        "company", "company name", "organization", "organisation", "account", "account name",
    ),
    "kind": (
        "вид контрагента", "юр физ лицо", "юрфизлицо", "юр лицо физ лицо", "тип лица",
        "вид клиента", "тип контрагента", "вид", "kind", "client kind", "legal type",
    ),
    "inn": (
        "инн", "инн клиента", "инн контрагента", "инн организации", "унп", "бин", "иин",
        "бин иин", "иин бин", "едрпоу", "єдрпоу", "код едрпоу", "код єдрпоу", "inn", "tax id",
        "tin",
    ),
    "region": ("регион", "регион клиента", "субъект рф", "субъект", "область", "region"),
    "industry": (
        "отрасль", "отрасль клиента", "сфера деятельности", "вид деятельности", "industry", "sector",
    ),
    "status": ("статус", "статус клиента", "состояние", "status", "client status"),
    "responsible": (
        "ответственный", "ответственный менеджер", "основной менеджер", "менеджер", "куратор",
        "responsible", "manager", "account manager", "owner", "assigned to",
    ),
    "contact_name": (
        "контактное лицо", "фио контактного лица", "контактное лицо фио", "контакт",
        "основной контакт", "фио", "фио контакта", "полное имя", "полное имя контакта",
        "contact", "contact person", "contact name", "full name",
    ),
    "contact_last_name": ("фамилия", "last name", "surname", "family name"),
    "contact_first_name": ("имя", "first name", "given name"),
    "contact_middle_name": ("отчество", "middle name", "second name", "patronymic"),
    "contact_position": ("должность", "должность контакта", "position", "job title"),
    "phone": (
        "телефон", "телефоны", "тел", "номер телефона", "контактный телефон", "телефон клиента",
        "phone", "phones", "telephone", "phone number", "tel",
    ),
    "phone_mobile": (
        "мобильный", "мобильный телефон", "моб телефон", "телефон мобильный", "сотовый",
        "сотовый телефон", "mobile", "mobile phone", "cell", "cell phone",
    ),
    "phone_work": (
        "рабочий", "рабочий телефон", "телефон рабочий", "служебный телефон", "work phone",
        "business phone", "office phone",
    ),
    "phone_home": ("домашний", "домашний телефон", "телефон домашний", "home phone"),
    "phone_extension": (
        "внутренний", "внутренний телефон", "добавочный", "добавочный номер", "доб", "extension", "ext",
    ),
    "email": (
        "email", "e mail", "эл почта", "электронная почта", "почта", "адрес электронной почты",
        "рабочий email", "рабочий e mail", "личный email", "личный e mail", "частный e mail",
        "частный email", "email address", "e mail address", "mail",
    ),
    "comment": (
        "комментарий", "комментарии", "примечание", "описание", "заметки", "comment", "comments",
        "notes", "note", "description",
    ),
    "source": (
        "источник", "источник клиента", "источник обращения", "канал", "рекламный канал",
        "канал привлечения", "как узнали о нас", "source", "lead source", "channel",
    ),
    "tz": ("часовой пояс", "временная зона", "таймзона", "tz", "timezone", "time zone"),
}
FIELDS = frozenset(HEADER_ALIASES)
_MULTI_FIELDS = frozenset({"phone", "phone_mobile", "phone_work", "phone_home", "email", "comment"})
_PHONE_FIELDS = {"phone": None, "phone_mobile": PHONE_MOBILE, "phone_work": PHONE_WORK, "phone_home": PHONE_HOME}
_CONTACT_PART_FIELDS = ("contact_last_name", "contact_first_name", "contact_middle_name")
_IGNORE = frozenset({"", "ignore", "skip", "-"})

_KINDS = {
    KIND_COMPANY: (
        "юр лицо", "юрлицо", "юридическое лицо", "юл", "юр", "организация", "компания",
        "ип", "индивидуальный предприниматель", "company", "legal entity", "legal", "organization",
    ),
    KIND_PERSON: (
        "физ лицо", "физлицо", "физическое лицо", "фл", "физ", "частное лицо", "person",
        "individual", "private person", "private",
    ),
}


@dataclass(frozen=True, slots=True)
class ImportPhone:
    """One phone of a row: E.164, its kind (mobile/work/home) and an extension if written."""

    e164: str
    kind: str
    extension: str | None = None


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One client read from the file, normalised; ``line`` is the file line or sheet row."""

    line: int
    name: str
    kind: str | None = None
    inn: str | None = None
    region: str | None = None
    region_code: str | None = None
    industry: str | None = None
    status: str | None = None
    responsible: str | None = None
    contact_last_name: str | None = None
    contact_first_name: str | None = None
    contact_middle_name: str | None = None
    contact_position: str | None = None
    phones: tuple[ImportPhone, ...] = ()
    emails: tuple[str, ...] = ()
    comment: str | None = None
    source: str | None = None
    tz: str | None = None


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A data row that was not imported, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class HeaderMap:
    """Which column holds which field, read from the header row."""

    columns: tuple[tuple[int, str], ...]
    headers: tuple[str, ...]
    header_line: int = 1
    strict_width: bool = True

    @property
    def width(self) -> int:
        return len(self.headers)

    @property
    def mapped(self) -> dict[str, str]:
        """{header as written: field} for the columns that are imported."""
        return {self.headers[i]: f for i, f in self.columns}

    @property
    def ignored(self) -> tuple[str, ...]:
        """Headers of the columns that are not imported (empty headers left out)."""
        used = {i for i, _ in self.columns}
        return tuple(h for i, h in enumerate(self.headers) if i not in used and h.strip())


@dataclass(frozen=True, slots=True)
class ParsedImport:
    """The outcome of reading a file: good rows, rejected rows, and how it was read."""

    rows: list[ImportRow]
    rejected: list[RejectedRow]
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    header_line: int = 1
    encoding: str | None = None
    delimiter: str | None = None


# --- headers -------------------------------------------------------------------------

_HEADER_PUNCT = re.compile(r"[^\w\s]|_")
_PARENS = re.compile(r"\([^)]*\)|\[[^]]*\]")
_SPACES = re.compile(r"\s+")


def _normalise_header(text: str) -> str:
    text = text.replace("\ufeff", "").lower().replace("ё", "е")
    return _SPACES.sub(" ", _HEADER_PUNCT.sub(" ", text)).strip()


_ALIAS_INDEX: dict[str, tuple[str, int]] = {}
for _field, _aliases in HEADER_ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _ALIAS_INDEX.setdefault(_normalise_header(_alias), (_field, _rank))


def _field_for_header(header: str) -> tuple[str, int] | None:
    """('phone_work', rank) for 'Рабочий телефон (контакт)'; tried with and without the brackets."""
    hit = _ALIAS_INDEX.get(_normalise_header(header))
    if hit is None:
        hit = _ALIAS_INDEX.get(_normalise_header(_PARENS.sub(" ", header)))
    return hit


def build_header_map(
    header: Sequence[str],
    mapping: Mapping[str, str | None] | None = None,
    header_line: int = 1,
    strict_width: bool = True,
) -> HeaderMap:
    """Map header cells to fields; ``mapping`` {header: field or None} overrides the guesses.

    Raises ImportFileError when nothing says who the client is (no name or contact column),
    when ``mapping`` names a column the file lacks or a field that does not exist.
    """
    headers = tuple(str(h).replace("\ufeff", "").strip() if h is not None else "" for h in header)
    by_norm = {}
    for i, h in enumerate(headers):
        by_norm.setdefault(_normalise_header(h), i)
    forced: dict[int, str | None] = {}
    for column, target in (mapping or {}).items():
        index = by_norm.get(_normalise_header(str(column)))
        if index is None:
            raise ImportFileError(
                f"the mapping names column {column!r}, which is not in the header ({', '.join(headers)})"
            )
        if target is None or str(target).strip().lower() in _IGNORE:
            forced[index] = None
        elif target not in FIELDS:
            raise ImportFileError(
                f"the mapping sends column {column!r} to unknown field {target!r}; "
                f"known fields: {', '.join(sorted(FIELDS))}"
            )
        else:
            forced[index] = target

    chosen: dict[str, tuple[int, int]] = {}  # one-value field -> (rank, column)
    columns: list[tuple[int, str]] = []
    for i, h in enumerate(headers):
        if i in forced:
            target, rank = forced[i], -1
        else:
            hit = _field_for_header(h) if h else None
            target, rank = (hit if hit else (None, 0))
        if target is None:
            continue
        if target in _MULTI_FIELDS:
            columns.append((i, target))
        elif target not in chosen or rank < chosen[target][0]:
            chosen[target] = (rank, i)
    columns.extend((i, f) for f, (_rank, i) in chosen.items())
    columns.sort()
    fields = {f for _, f in columns}
    if "name" not in fields and not fields & {"contact_name", *_CONTACT_PART_FIELDS}:
        shown = ", ".join(h for h in headers if h) or "(empty)"
        raise ImportFileError(
            f"no column with the client name (Наименование, Клиент, Компания, Name...) "
            f"in the header: {shown}"
        )
    return HeaderMap(tuple(columns), headers, header_line, strict_width)


# --- reading the file ------------------------------------------------------------------

_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_SEARCH_ROWS = 10
_HTML_START = re.compile(r"\s*<(?:!doctype|html|table|meta|\?xml)", re.IGNORECASE)


_HIGH_BYTES = bytes(range(0x80, 0x100))
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _mostly_utf8(data: bytes) -> bool:
    """Whether nearly every byte above 0x7f is part of a valid UTF-8 sequence (Windows-1251 text almost never is)."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    if high == 0:
        return False
    valid = len(data) - len(_UTF8_SEQUENCE.sub(b"", data))
    return valid >= 0.98 * high


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding): a BOM decides; else UTF-8 (strict, or with a stray bad byte); else Windows-1251 (1C's exports)."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"the file starts with a {encoding} byte order mark but is not valid {encoding} "
                    f"(bad byte at position {exc.start})"
                ) from None
    if b"\x00" in data[:4096]:
        raise ImportFileError("the file is binary, not CSV text (it contains NUL bytes)")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        # A UTF-8 file with a stray byte or two (a hand edit, a cut copy): read as Windows-1251 every
        # name would be gibberish. The bytes become U+FFFD and their rows are refused (parse_rows).
        return data.decode("utf-8", errors="replace"), "utf-8"
    try:
        return data.decode("cp1251"), "cp1251"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"unknown text encoding: neither UTF-8 nor Windows-1251 (byte 0x{data[exc.start]:02x} "
            f"at position {exc.start}); save the file as UTF-8 CSV"
        ) from None


_DELIMITERS = (";", ",", "\t", "|")
_SINGLE_COLUMN = "\x1f"


def detect_delimiter(text: str, sample_size: int = 65536) -> str:
    """The delimiter that splits the first records into the same number (>1) of fields."""
    sample = text[:sample_size]
    complete = len(text) <= sample_size
    best: tuple[int, int, int] | None = None
    best_delimiter = _SINGLE_COLUMN
    for order, delimiter in enumerate(_DELIMITERS):
        counts = []
        try:
            for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if any(cell.strip() for cell in record):
                    counts.append(len(record))
                if len(counts) > 21:
                    break
        except csv.Error:
            continue
        if not complete and len(counts) > 1:
            counts = counts[:-1]  # the sample may cut the last record short
        if not counts:
            continue
        # The most common width, so a title row above the header does not count, nor
        # does a stray delimiter inside one unquoted name of a one-column file.
        width = max(set(counts), key=lambda c: (counts.count(c), c))
        if width < 2:
            continue
        score = (counts.count(width), width, -order)
        if best is None or score > best:
            best, best_delimiter = score, delimiter
    return best_delimiter


def iter_csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, fields) of every non-blank CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous_end = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"line {previous_end + 1}: cannot read the CSV record: {exc}") from None
        start = previous_end + 1
        previous_end = reader.line_num
        if record and any(cell.strip() for cell in record):
            yield start, record


def find_xlsx_header(
    data: bytes,
    mapping: Mapping[str, str | None] | None,
    records_of: Callable[[int], Iterator[tuple[int, list[str]]]] | None = None,
) -> tuple[HeaderMap, Iterator[tuple[int, list[str]]], int]:
    """The header of the workbook's first sheet that has one, the rows after it, and that sheet's index.

    A workbook often opens on a cover or a notes sheet with the list on the next one. When
    no sheet names the client column, the first sheet's reason is the file's.
    """
    read = records_of or (lambda index: xlsx_records(data, index))
    try:
        header, body = _find_header(read(0), mapping, strict_width=False)
        return header, body, 0
    except ImportFileError:
        for index in range(1, xlsx_sheet_count(data)):  # 0 for a workbook that does not open
            try:
                header, body = _find_header(read(index), mapping, strict_width=False)
            except ImportFileError:
                continue
            log.info("import.xlsx_sheet index=%d: the sheets before it name no client column", index)
            return header, body, index
        raise


def parse_clients_file(
    data: bytes,
    filename: str,
    default_region: str = "RU",
    mapping: Mapping[str, str | None] | None = None,
) -> ParsedImport:
    """Read a CSV or XLSX client export into normalised rows and rejected rows.

    Raises ImportFileError when the file as a whole cannot be read.
    """
    if not data or not data.strip(b" \t\r\n"):
        raise ImportFileError("the file is empty")
    encoding = delimiter = None
    lower = filename.lower()
    header_map: HeaderMap | None = None
    if data.startswith(_XLSX_MAGIC):
        header_map, records, _sheet = find_xlsx_header(data, mapping)
        strict_width = False
    elif data.startswith(_OLE_MAGIC):
        raise ImportFileError("old Excel .xls files are not supported: save the sheet as .xlsx or CSV")
    elif lower.endswith((".xlsx", ".xlsm")):
        raise ImportFileError(f"{filename} is not a valid XLSX workbook (it is not a ZIP archive)")
    else:
        text, encoding = decode_csv(data)
        if not text.strip():
            raise ImportFileError("the file is empty")
        if _HTML_START.match(text):
            # Bitrix24's and 1C's "Excel" exports are HTML tables named .xls.
            raise ImportFileError(
                "the file is an HTML table (an 'Excel' export of a web CRM), not CSV or XLSX: "
                "export to CSV, or open it in Excel and save as .xlsx"
            )
        delimiter = detect_delimiter(text)
        records = iter_csv_records(text, delimiter)
        strict_width = True

    if header_map is None:
        header_map, body = _find_header(records, mapping, strict_width)
    else:
        body = records
    rows: list[ImportRow] = []
    rejected: list[RejectedRow] = []
    for item in parse_rows(body, header_map, default_region):
        (rows if isinstance(item, ImportRow) else rejected).append(item)
    if not rows and not rejected:
        raise ImportFileError("the file has a header but no client rows")
    log.info(
        "import.parsed file=%s rows=%d rejected=%d encoding=%s delimiter=%r",
        filename, len(rows), len(rejected), encoding, delimiter,
    )
    return ParsedImport(
        rows=rows,
        rejected=rejected,
        columns=header_map.mapped,
        ignored_columns=header_map.ignored,
        header_line=header_map.header_line,
        encoding=encoding,
        delimiter=None if delimiter == _SINGLE_COLUMN else delimiter,
    )


def _find_header(
    records: Iterator[tuple[int, list[str]]],
    mapping: Mapping[str, str | None] | None,
    strict_width: bool,
) -> tuple[HeaderMap, Iterator[tuple[int, list[str]]]]:
    """The header is the first of the first records that names the client column."""
    first_error: ImportFileError | None = None
    for tried, (line, cells) in enumerate(records, start=1):
        try:
            return build_header_map(cells, mapping, line, strict_width), records
        except ImportFileError as exc:
            first_error = first_error or exc
            if tried >= _HEADER_SEARCH_ROWS:
                break
    if first_error is None:
        raise ImportFileError("the file is empty")
    raise first_error


# --- one row ---------------------------------------------------------------------------


def parse_rows(
    records: Iterable[tuple[int, Sequence[str]]],
    header_map: HeaderMap,
    default_region: str = "RU",
) -> Iterator[ImportRow | RejectedRow]:
    """Turn (line, cells) records into ImportRow or RejectedRow, one for each non-empty record."""
    region = default_region.upper()
    width = header_map.width
    strict = header_map.strict_width
    columns = header_map.columns
    for line, cells in records:
        if strict and len(cells) != width:
            if len(cells) < width or any(c.strip() for c in cells[width:]):
                yield RejectedRow(line, _width_reason(cells, width))
                continue
        values: dict[str, list[str]] = {}
        phone_cells: list[tuple[str | None, str]] = []
        for index, name in columns:
            if index < len(cells):
                value = cells[index].strip()
                if value:
                    values.setdefault(name, []).append(value)
                    if name in _PHONE_FIELDS:
                        phone_cells.append((_PHONE_FIELDS[name], value))
        if not values:
            continue
        if any("\ufffd" in v for vs in values.values() for v in vs):
            yield RejectedRow(line, "the row has bytes that are not UTF-8 (shown as \ufffd): correct them in the file")
            continue
        try:
            yield _build_row(line, values, phone_cells, region)
        except _Reject as exc:
            yield RejectedRow(line, str(exc))


def _width_reason(cells: Sequence[str], width: int) -> str:
    count = f"{len(cells)} field" + ("" if len(cells) == 1 else "s")
    if any("\n" in c for c in cells):
        return f"{count}, the header has {width}: a quote is probably not closed (the field runs over several lines)"
    return f"{count}, the header has {width} (check quotes and delimiters)"


class _Reject(Exception):
    """A row-level problem; becomes a RejectedRow."""


def _one(values: dict[str, list[str]], name: str, limit: int = MAX_SHORT_TEXT) -> str | None:
    got = values.get(name)
    if not got:
        return None
    text = _SPACES.sub(" ", got[0])
    if len(text) > limit:
        raise _Reject(f"{name} is longer than {limit} characters")
    return text


def _build_row(
    line: int, values: dict[str, list[str]], phone_cells: list[tuple[str | None, str]], default_region: str
) -> ImportRow:
    last = _one(values, "contact_last_name")
    first = _one(values, "contact_first_name")
    middle = _one(values, "contact_middle_name")
    full = _one(values, "contact_name")
    if full and not (last or first or middle):
        last, first, middle = split_full_name(full)

    kind = _kind(_one(values, "kind"))
    name = _one(values, "name")
    if not name:
        name = " ".join(p for p in (last, first, middle) if p) or None
        if name and kind is None:
            kind = KIND_PERSON
    if not name:
        raise _Reject("missing client name")

    region_text = _one(values, "region")
    region = _region(region_text, default_region) if region_text else None
    country = region.country if region else default_region

    inn = _inn(_one(values, "inn", 64), country)
    if kind is None and inn is not None and country == "RU" and len(inn) == 10:
        kind = KIND_COMPANY  # ten-digit INNs belong to organisations only

    tz_text = _one(values, "tz", 64)
    tz = None
    if tz_text:
        tz = parse_timezone(tz_text)
        if tz is None:
            raise _Reject(f"time zone {tz_text!r} is not recognised (use e.g. Europe/Moscow or UTC+5)")

    comments = values.get("comment")
    comment = "\n".join(comments).replace("\r\n", "\n").replace("\r", "\n") if comments else None
    if comment and len(comment) > MAX_COMMENT:
        raise _Reject(f"comment is longer than {MAX_COMMENT} characters")

    return ImportRow(
        line=line,
        name=name,
        kind=kind,
        inn=inn,
        region=region_text,
        region_code=region.code if region else None,
        industry=_one(values, "industry"),
        status=_one(values, "status"),
        responsible=_one(values, "responsible"),
        contact_last_name=last,
        contact_first_name=first,
        contact_middle_name=middle,
        contact_position=_one(values, "contact_position"),
        # A Minsk client's "80 29 …" or a Kharkiv client's "067 …" in a Russian deployment: the row's
        # region says which country's national format the numbers are written in.
        phones=_phones(phone_cells, _one(values, "phone_extension", 32), country),
        emails=_emails(values.get("email", ())),
        comment=comment,
        source=_one(values, "source"),
        tz=tz,
    )


def _norm_word(text: str) -> str:
    return _SPACES.sub(" ", _HEADER_PUNCT.sub(" ", text.lower().replace("ё", "е"))).strip()


_KIND_INDEX = {_norm_word(alias): kind for kind, aliases in _KINDS.items() for alias in aliases}


def _kind(text: str | None) -> str | None:
    if not text:
        return None
    key = _norm_word(text)
    kind = _KIND_INDEX.get(key) or _KIND_INDEX.get(key.replace(" ", ""))
    if kind is None:
        raise _Reject(f"kind {text!r} is neither a company nor a person (expected Юр. лицо or Физ. лицо)")
    return kind


@lru_cache(maxsize=4096)
def _region(text: str, default_region: str) -> Region | None:
    found = find_regions(text)
    if len(found) > 1:
        found = tuple(r for r in found if r.country == default_region)
    return found[0] if len(found) == 1 else None


_INN_SEPARATORS = re.compile(r"[\s\-]+")
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_checksum_ok(inn: str) -> bool:
    """Whether a 10- or 12-digit Russian INN has valid control digits."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    d = [int(c) for c in inn]
    if len(d) == 10:
        return sum(w * x for w, x in zip(_INN10_WEIGHTS, d)) % 11 % 10 == d[9]
    n11 = sum(w * x for w, x in zip(_INN11_WEIGHTS, d)) % 11 % 10
    n12 = sum(w * x for w, x in zip(_INN12_WEIGHTS, d)) % 11 % 10
    return n11 == d[10] and n12 == d[11]


def _inn(text: str | None, country: str) -> str | None:
    if not text:
        return None
    compact = _INN_SEPARATORS.sub("", text)
    if country != "RU":
        return compact
    if not compact.isdigit():
        raise _Reject(f"ИНН {text!r} is not a number")
    if len(compact) in (9, 11):
        # Excel drops the leading zero of INNs of regions 01-09; the checksum confirms it.
        padded = "0" + compact
        if inn_checksum_ok(padded):
            return padded
    if len(compact) not in (10, 12):
        raise _Reject(f"ИНН {compact} must have 10 or 12 digits, not {len(compact)}")
    if not inn_checksum_ok(compact):
        raise _Reject(f"ИНН {compact} checksum invalid")
    return compact


_PHONE_SPLIT = re.compile(r"[,;\n/]+")
_STARTS_WITH_EXTENSION = re.compile(r"(?i)^\s*\(?\s*(?:доб|вн|ext|x\s*\d|#)")


def split_phones(cell: str) -> list[str]:
    """Several numbers in one cell ("8 916 ..., 8 495 ... доб. 12") -> one text per number."""
    pieces: list[str] = []
    for piece in _PHONE_SPLIT.split(cell):
        piece = piece.strip()
        if not piece:
            continue
        if pieces and _STARTS_WITH_EXTENSION.match(piece):
            pieces[-1] = f"{pieces[-1]} {piece}"  # "8 495 123-45-67, доб. 204"
        else:
            pieces.append(piece)
    return pieces


def _phones(
    cells: list[tuple[str | None, str]], extension: str | None, default_region: str
) -> tuple[ImportPhone, ...]:
    """Every number of the row's phone cells, in column order, each once."""
    found: dict[str, ImportPhone] = {}
    for fixed_kind, cell in cells:
        for piece in split_phones(cell):
            try:
                parsed = parse_phone(piece, default_region)
            except InvalidPhone as exc:
                raise _Reject(f"phone {piece!r} is not a valid number: {exc.reason}") from None
            if parsed.e164 in found:
                continue
            kind = fixed_kind or (PHONE_MOBILE if parsed.is_mobile else PHONE_WORK)
            found[parsed.e164] = ImportPhone(parsed.e164, kind, parsed.extension)
    if extension:
        extension = re.sub(r"(?i)^\s*(?:доб|вн|ext)\.?\s*", "", extension)
        if not extension.isdigit():
            raise _Reject(f"extension {extension!r} is not a number")
        target = next((p for p in found.values() if p.extension is None and p.kind == PHONE_WORK), None)
        target = target or next((p for p in found.values() if p.extension is None), None)
        if target is None:
            raise _Reject(f"extension {extension} is given without a phone number to add it to")
        found[target.e164] = ImportPhone(target.e164, target.kind, extension)
    return tuple(found.values())


_EMAIL_SPLIT = re.compile(r"[,;\s]+")
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}")


def _emails(cells: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for cell in cells:
        for piece in _EMAIL_SPLIT.split(cell):
            piece = piece.strip().strip("<>").removeprefix("mailto:")
            if not piece:
                continue
            if not _EMAIL.fullmatch(piece) or ".." in piece or piece.split("@")[1].startswith("."):
                raise _Reject(f"e-mail {piece!r} is not a valid address")
            local, domain = piece.rsplit("@", 1)
            address = f"{local}@{domain.lower()}"
            found.setdefault(address.lower(), address)
    return tuple(found.values())


_INITIALS = re.compile(r"^([^\W\d_]\.)([^\W\d_]\.)$")


def split_full_name(full: str) -> tuple[str | None, str | None, str | None]:
    """'Иванов Иван Иванович' -> (last, first, middle); 'Иванов И.И.' too; one word is a first name.

    Russian order (Фамилия Имя Отчество), as 1C and Bitrix24 write it; "оглы"/"кызы" stay
    in the patronymic.
    """
    tokens = full.replace(",", " ").split()
    if len(tokens) == 2:
        for surname, short in ((tokens[0], tokens[1]), (tokens[1], tokens[0])):
            initials = _INITIALS.match(short)
            if initials:  # "Иванов И.И." or "И.И. Иванов"
                return surname, initials.group(1), initials.group(2)
    if not tokens:
        return None, None, None
    if len(tokens) == 1:
        return None, tokens[0], None
    if len(tokens) == 2:
        return tokens[0], tokens[1], None
    return tokens[0], tokens[1], " ".join(tokens[2:])
