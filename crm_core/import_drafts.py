"""A parsed import row checked against the store's columns: a Draft, or a RejectedRow saying why not.

A Draft holds exactly the values that will be stored (a status code, a marketing channel
code, the region's time zone, the contact the e-mails and phones belong to); what the
store cannot hold as written (longer than its column, an unknown status, control
characters) is a rejected row here rather than a database error later. Pure, and light
to import: the import's pool workers run it next to ``parse_rows``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from crm_core.import_parsing import KIND_COMPANY, KIND_PERSON, ImportRow, RejectedRow, split_full_name
from crm_core.regions import region_by_code

# Column widths of the store (crm_core/models/clients.py); a longer value is a rejected
# row here rather than a database error (PostgreSQL refuses it, SQLite would keep it).
_LIMITS = {
    "name": 300, "region": 120, "industry": 120, "comment": 10_000, "responsible": 255,
    "last_name": 100, "first_name": 100, "middle_name": 100, "position": 120, "email": 254,
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAX_ID = re.compile(r"[0-9]{8,12}")
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def normalise_word(text: str) -> str:
    """'Холодный  звонок!' -> 'холодный звонок': case, ё and punctuation folded."""
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.casefold().replace("ё", "е"))).strip()


class ContactDraft(NamedTuple):
    """The row's contact person; ``is_person`` is False for the general contact holding e-mails."""

    last_name: str | None
    first_name: str
    middle_name: str | None
    position: str | None
    emails: tuple[str, ...]
    is_person: bool


class PhoneDraft(NamedTuple):
    e164: str
    kind: str
    raw: str | None


class Draft(NamedTuple):
    """A row checked against the store's columns: what a new client gets, or a merge adds."""

    line: int
    name: str
    kind: str
    tax_id: str | None
    region: str | None
    timezone: str | None
    industry: str | None
    status: str | None
    source_channel: str | None
    comment: str | None
    responsible: str | None
    contact: ContactDraft | None
    phones: tuple[PhoneDraft, ...]
    phones_on_contact: bool


@dataclass(frozen=True)
class DraftRules:
    """What a row is checked against: status and channel words -> codes, the per-client limits."""

    statuses: Mapping[str, str]
    status_choices: tuple[str, ...]
    channels: Mapping[str, str]
    unknown_channel: str | None
    max_phones: int
    max_emails: int


def draft_to_wire(draft: Draft) -> tuple:
    """The draft as plain nested tuples: they cross a process boundary several times faster."""
    contact = draft.contact
    return (*draft[:11], tuple(contact) if contact is not None else None, tuple(map(tuple, draft.phones)), draft[13])


def draft_from_wire(wire: tuple) -> Draft:
    """Back from ``draft_to_wire`` (tuple.__new__ skips the fields' Python-level constructor)."""
    contact = wire[11]
    return tuple.__new__(Draft, (
        *wire[:11],
        tuple.__new__(ContactDraft, contact) if contact is not None else None,
        tuple(tuple.__new__(PhoneDraft, p) for p in wire[12]),
        wire[13],
    ))


class _Refuse(Exception):
    """A row that cannot be stored as written; becomes a RejectedRow."""


def _text(value: str | None, name: str) -> str | None:
    if value is not None and len(value) > _LIMITS[name]:
        raise _Refuse(f"{name.replace('_', ' ')} is longer than {_LIMITS[name]} characters")
    return value


_TEXT_FIELDS = (
    ("name", "name"), ("region", "region"), ("industry", "industry"), ("comment", "comment"),
    ("responsible", "responsible"), ("contact_last_name", "last name"), ("contact_first_name", "first name"),
    ("contact_middle_name", "middle name"), ("contact_position", "position"),
)


def _check_control(row: ImportRow) -> None:
    """Refuse control characters (PostgreSQL refuses NUL; none belongs in a client card)."""
    values = [getattr(row, f) or "" for f, _ in _TEXT_FIELDS]
    if not _CONTROL.search("\n".join((*values, *row.emails))):  # one scan for the usual clean row
        return
    for (_, label), value in zip(_TEXT_FIELDS, values):
        if _CONTROL.search(value):
            raise _Refuse(f"{label} contains control characters")
    raise _Refuse("e-mail contains control characters")


def _contact(row: ImportRow, name: str, kind: str, max_emails: int) -> ContactDraft | None:
    last, first, middle = row.contact_last_name, row.contact_first_name, row.contact_middle_name
    is_person = True
    if not (last or first or middle):
        if kind == KIND_PERSON:
            last, first, middle = split_full_name(name)
        elif row.emails:
            # A company's e-mail with no person named: kept on a contact named after it.
            last, first, middle, is_person = None, name[: _LIMITS["first_name"]], None, False
        else:
            return None
    if not first:
        # The store needs a first name; "Иванов" alone is kept there rather than lost.
        first, last, middle = (last, None, middle) if last else (middle, None, None)
    assert first is not None
    if len(row.emails) > max_emails:
        raise _Refuse(f"more than {max_emails} e-mail addresses")
    return ContactDraft(
        _text(last, "last_name"), _text(first, "first_name"), _text(middle, "middle_name"),  # type: ignore[arg-type]
        _text(row.contact_position, "position"), tuple(_text(e, "email") for e in row.emails),  # type: ignore[misc]
        is_person,
    )


def make_draft(row: ImportRow, rules: DraftRules) -> Draft | RejectedRow:
    """Check a parsed row against the store; a RejectedRow says why it cannot go in."""
    try:
        _check_control(row)
        name = _text(row.name, "name")
        assert name is not None
        kind = row.kind or KIND_COMPANY
        tax_id = row.inn
        if tax_id is not None and not _TAX_ID.fullmatch(tax_id):
            raise _Refuse(f"tax id {tax_id!r} must be 8 to 12 digits (ИНН, УНП, ЄДРПОУ, БИН)")
        status = None
        if row.status:
            status = rules.statuses.get(normalise_word(row.status))
            if status is None:
                raise _Refuse(
                    f"status {row.status!r} is not known (use one of {', '.join(rules.status_choices)}, "
                    "or leave the column out)"
                )
        source = None
        if row.source:
            source = rules.channels.get(normalise_word(row.source), rules.unknown_channel)
        timezone = row.tz
        if timezone is None and row.region_code:
            region = region_by_code(row.region_code)
            timezone = region.tz if region else None
        if len(row.phones) > rules.max_phones:
            raise _Refuse(f"more than {rules.max_phones} phone numbers")
        contact = _contact(row, name, kind, rules.max_emails)
        phones = tuple(
            PhoneDraft(p.e164, p.kind, f"{p.e164} доб. {p.extension}" if p.extension else None) for p in row.phones
        )
        return Draft(
            line=row.line,
            name=name,
            kind=kind,
            tax_id=tax_id,
            region=_text(row.region, "region"),
            timezone=timezone,
            industry=_text(row.industry, "industry"),
            status=status,
            source_channel=source,
            comment=_text(row.comment, "comment"),
            responsible=_text(row.responsible, "responsible"),
            contact=contact,
            phones=phones,
            phones_on_contact=contact is not None and contact.is_person,
        )
    except _Refuse as exc:
        return RejectedRow(row.line, str(exc))
