"""The pure middle of the client import: the rules drafts are checked by, responsible users, the plan.

A batch of drafts (crm_core.import_drafts) plus what the store already holds (the owners
of their phones and tax ids, the clients they may merge into) becomes a ``BatchPlan``: the
clients to insert or change and what happened to every row. The writers only carry the
plan out, so every path (executemany, COPY, one client per savepoint) gives the same
outcome for the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from crm_core.import_drafts import Draft, DraftRules, normalise_word
from crm_core.models import Role
from crm_core.rights import Actor
from crm_core.services.clients import CLIENT_STATUSES, MAX_CONTACTS, MAX_EMAILS, MAX_PHONES

OnDuplicate = Literal["merge", "report"]

_WORDS = re.compile(r"[^\W\d_]+")

# What exports write in the status column, by status code (RU, UA and EN words).
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "primary": ("primary", "первичный", "первичная", "первичный контакт", "первинний"),
    "new": ("new", "новый", "новая", "новый клиент", "новий", "новий клієнт"),
    "prospect": ("prospect", "potential", "lead", "лид", "потенциальный", "потенциальный клиент",
                 "перспективный", "потенційний", "потенційний клієнт"),
    "client": ("client", "customer", "active", "клиент", "активный", "действующий", "действующий клиент",
               "постоянный клиент", "покупатель", "клієнт", "активний", "постійний клієнт"),
    "partner": ("partner", "партнер", "партнёр", "партнери"),
    "inactive": ("inactive", "sleeping", "dormant", "неактивный", "спящий", "архив", "архивный", "неактивний"),
    "lost": ("lost", "потерян", "потерянный", "отказ", "отказался", "втрачений", "відмова"),
}

# What exports write in the source column, by marketing channel code.
CHANNEL_WORDS: dict[str, tuple[str, ...]] = {
    "website": ("website", "web", "site", "web site", "сайт", "веб сайт", "интернет", "інтернет", "landing"),
    "phone": ("phone", "call", "incoming call", "звонок", "входящий звонок", "телефон", "дзвінок", "вхідний дзвінок"),
    "social": ("social", "social media", "соцсети", "социальные сети", "соцмережі", "соціальні мережі",
               "instagram", "vk", "вконтакте", "telegram", "facebook"),
    "referral": ("referral", "recommendation", "рекомендация", "рекомендація", "по рекомендации",
                 "сарафанное радио", "знакомые"),
    "exhibition": ("exhibition", "trade show", "expo", "выставка", "виставка"),
    "cold_call": ("cold call", "cold calling", "холодный звонок", "холодний дзвінок", "обзвон"),
    "email": ("email", "e mail", "mailing", "рассылка", "e mail рассылка", "email рассылка", "розсилка"),
    "ads": ("ads", "advertising", "реклама", "контекстная реклама", "контекстна реклама", "яндекс директ",
            "google ads", "adwords"),
    "other": ("other", "другое", "прочее", "інше"),
}
UNKNOWN_CHANNEL = "other"


class _Refuse(Exception):
    """A merge the client's limits do not allow; the row is rejected."""


def draft_rules(channels: Iterable[tuple[str, str]]) -> DraftRules:
    """Rules for the store's statuses and marketing channels, these given as (code, name) pairs."""
    statuses = {
        normalise_word(word): code
        for code, words in STATUS_WORDS.items() if code in CLIENT_STATUSES
        for word in (code, *words)
    }
    known = dict(channels)
    words: dict[str, str] = {}
    for code, synonyms in CHANNEL_WORDS.items():
        if code in known:
            for word in synonyms:
                words.setdefault(normalise_word(word), code)
    for code, name in known.items():  # the store's own names and codes win over synonyms
        words[normalise_word(name)] = code
        words[normalise_word(code)] = code
    return DraftRules(
        statuses=statuses,
        status_choices=tuple(CLIENT_STATUSES),
        channels=words,
        unknown_channel=UNKNOWN_CHANNEL if UNKNOWN_CHANNEL in known else None,
        max_phones=MAX_PHONES,
        max_emails=MAX_EMAILS,
    )


# --- users: who is responsible -----------------------------------------------------------


@dataclass(frozen=True)
class UserInfo:
    id: int
    login: str
    full_name: str
    role: Role
    team_id: int | None
    is_active: bool = True


def _name_keys(full_name: str) -> set[str]:
    """The ways a name is written in exports: 'Петрова Анна Сергеевна', 'Петрова А.С.', 'Анна Петрова'."""
    tokens = _WORDS.findall(full_name.casefold().replace("ё", "е"))
    if not tokens:
        return set()
    readings = [(tokens[0], tokens[1:2], tokens[2:3])]  # Фамилия Имя Отчество
    if len(tokens) >= 2:
        readings.append((tokens[-1], tokens[:1], tokens[1:2] if len(tokens) == 3 else []))  # Имя [Отчество] Фамилия
    keys = {" ".join(tokens)}
    for surname, given, middle in readings:
        full = given + middle
        initials = [w[0] for w in full]
        for parts in ([surname, *full], [*full, surname], [surname, *given], [*given, surname],
                      [surname, *initials], [*initials, surname], [surname, *initials[:1]], [*initials[:1], surname]):
            keys.add(" ".join(parts))
    return keys


class UserDirectory:
    """The active users, found by login or by their name as exports write it."""

    def __init__(self, users: Iterable[UserInfo]) -> None:
        self.by_id = {u.id: u for u in users}
        index: dict[str, UserInfo | None] = {}
        for user in self.by_id.values():
            if not user.is_active:
                continue
            for key in {user.login.casefold(), *_name_keys(user.full_name)}:
                # A name two users share names neither of them.
                index[key] = user if index.get(key, user) is user else None
        self._index = index

    def find(self, text: str | None) -> UserInfo | None:
        if not text or not text.strip():
            return None
        hit = self._index.get(text.strip().casefold())
        if hit is None:
            hit = self._index.get(" ".join(_WORDS.findall(text.casefold().replace("ё", "е"))))
        return hit

    def team_of(self, user_id: int | None) -> int | None:
        user = self.by_id.get(user_id) if user_id is not None else None
        return user.team_id if user else None


def may_assign(actor: Actor, user: UserInfo) -> bool:
    """Whether ``actor`` may make ``user`` responsible: admin anyone, supervisor their team, others themselves."""
    if not user.is_active:
        return False
    if actor.is_admin or user.id == actor.user_id:
        return True
    return actor.is_supervisor and actor.team_id is not None and user.team_id == actor.team_id


def may_see(actor: Actor, responsible_id: int | None, users: UserDirectory) -> bool:
    """The rule of crm_core.rights.client_scope, on a client's responsible user id."""
    if actor.is_admin:
        return True
    if actor.is_supervisor and actor.team_id is not None:
        return responsible_id is not None and users.team_of(responsible_id) == actor.team_id
    return responsible_id == actor.user_id


# --- the batch plan ------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class ContactState:
    id: int | None
    last_name: str | None
    first_name: str
    middle_name: str | None
    position: str | None
    emails: list[str]
    changed: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return _contact_key(self.last_name, self.first_name, self.middle_name)


def _contact_key(last: str | None, first: str, middle: str | None) -> tuple[str, str, str]:
    return ((last or "").casefold(), first.casefold(), (middle or "").casefold())


@dataclass(slots=True, eq=False)
class PhoneState:
    e164: str
    kind: str
    raw: str | None
    contact: ContactState | None


@dataclass(slots=True, eq=False)
class ClientUnit:
    """One client a batch writes: a new one (``id`` set when written) or an existing one it fills.

    ``values`` holds the client's columns (all of them for a new client, the loaded ones
    for an existing client, whose ``changed`` names what the merge filled).
    """

    id: int | None
    is_new: bool
    values: dict[str, Any]
    contacts: list[ContactState]
    phones: set[str]
    new_phones: list[PhoneState]
    first_line: int  # the row that made it, or the first that changed it
    changed: set[str] = field(default_factory=set)
    error: str | None = None
    written: bool = False

    @property
    def new_contacts(self) -> list[ContactState]:
        return [c for c in self.contacts if c.id is None]

    @property
    def has_changes(self) -> bool:
        return self.is_new or bool(self.changed or self.new_phones or any(c.id is None or c.changed for c in self.contacts))


# Columns a merge fills when the client has them empty (never name, kind, status, responsible).
FILLABLE = ("tax_id", "region", "timezone", "industry", "comment", "source_channel")


@dataclass(frozen=True)
class Match:
    """A store client (or one written earlier in the batch) that a row's key already belongs to."""

    key: str  # "phone +79161234567" / "tax id 7707083893"
    client_id: int | None
    unit: ClientUnit | None
    visible: bool


@dataclass(slots=True)
class RowOutcome:
    line: int
    kind: Literal["inserted", "merged", "duplicate", "rejected"]
    unit: ClientUnit | None = None
    reason: str | None = None
    matches: tuple[Match, ...] = ()


@dataclass
class StoreView:
    """What the store holds for a batch's keys: owners, their responsible users, mergeable clients."""

    phone_owner: dict[str, int] = field(default_factory=dict)
    tax_owner: dict[str, int] = field(default_factory=dict)
    responsible_of: dict[int, int | None] = field(default_factory=dict)
    clients: dict[int, ClientUnit] = field(default_factory=dict)


NOT_ASSIGNABLE_KEPT = 1000
OTHER_NAMES = "(other names)"
# Clients this import made, remembered (id -> line) so a later batch's duplicate of one is
# reported as a repeat of the file, not as something the base had; beyond this many, as the base.
MADE_KEPT = 200_000


@dataclass
class PlanContext:
    """The import's settings, fixed for all its batches."""

    actor: Actor
    users: UserDirectory
    default_responsible_id: int
    on_duplicate: OnDuplicate
    _responsible_cache: dict[str, int | None] = field(default_factory=dict)
    # Responsibles rows named that are no user the actor may assign to: text -> [first line, rows].
    not_assignable: dict[str, list[int]] = field(default_factory=dict)
    made: dict[int, int] = field(default_factory=dict)  # client id -> the line that made it (MADE_KEPT at most)

    def remember_made(self, unit: ClientUnit) -> None:
        """A client this import wrote as new (see MADE_KEPT)."""
        if unit.id is not None and len(self.made) < MADE_KEPT:
            self.made[unit.id] = unit.first_line

    def responsible_for(self, text: str | None, line: int) -> int:
        """The row's responsible if it names a user the actor may assign to, else the default (noted)."""
        if not text or not text.strip():
            return self.default_responsible_id
        if text not in self._responsible_cache:
            user = self.users.find(text)
            self._responsible_cache[text] = user.id if user is not None and may_assign(self.actor, user) else None
        found = self._responsible_cache[text]
        if found is not None:
            return found
        if text not in self.not_assignable and len(self.not_assignable) >= NOT_ASSIGNABLE_KEPT:
            text = OTHER_NAMES  # a file of a million names is reported by its first thousand
        noted = self.not_assignable.setdefault(text, [line, 0])
        noted[1] += 1
        return self.default_responsible_id


@dataclass
class BatchPlan:
    units: list[ClientUnit]
    outcomes: list[RowOutcome]


def row_keys(draft: Draft) -> list[tuple[str, str]]:
    """The keys that make two rows the same client: the tax id, then each phone."""
    keys = [("tax", draft.tax_id)] if draft.tax_id else []
    keys.extend(("phone", p.e164) for p in draft.phones)
    return keys  # type: ignore[return-value]


def _key_text(key: tuple[str, str]) -> str:
    return f"tax id {key[1]}" if key[0] == "tax" else f"phone {key[1]}"


def new_unit(draft: Draft, responsible_id: int) -> ClientUnit:
    contacts: list[ContactState] = []
    owner = None
    if draft.contact is not None:
        c = draft.contact
        owner = ContactState(None, c.last_name, c.first_name, c.middle_name, c.position, list(c.emails))
        contacts.append(owner)
    phone_owner = owner if draft.phones_on_contact else None
    return ClientUnit(
        id=None,
        is_new=True,
        values={
            "kind": draft.kind,
            "name": draft.name,
            "name_search": draft.name.casefold()[:300],
            "tax_id": draft.tax_id,
            "region": draft.region,
            "industry": draft.industry,
            "status": draft.status or "new",
            "timezone": draft.timezone,
            "comment": draft.comment,
            "source_channel": draft.source_channel,
            "responsible_id": responsible_id,
        },
        contacts=contacts,
        phones={p.e164 for p in draft.phones},
        new_phones=[PhoneState(p.e164, p.kind, p.raw, phone_owner) for p in draft.phones],
        first_line=draft.line,
    )


def merge_draft(unit: ClientUnit, draft: Draft) -> list[tuple[str, str]]:
    """Fill the client's empty fields and add the row's new contact, e-mails and phones.

    Checks every limit before changing anything, so a refused row leaves the unit as it
    was; returns the keys the client gained (a tax id it had none of, new phones).
    """
    contact = None
    if draft.contact is not None:
        c = draft.contact
        key = _contact_key(c.last_name, c.first_name, c.middle_name)
        contact = next((x for x in unit.contacts if x.key == key), None)
        if contact is None and len(unit.contacts) >= MAX_CONTACTS:
            raise _Refuse(f"it would have more than {MAX_CONTACTS} contacts")
        if contact is not None:
            have = {e.casefold() for e in contact.emails}
            if len(contact.emails) + sum(e.casefold() not in have for e in c.emails) > MAX_EMAILS:
                raise _Refuse(f"its contact would have more than {MAX_EMAILS} e-mail addresses")
    added = [p for p in draft.phones if p.e164 not in unit.phones]
    if len(unit.phones) + len(added) > MAX_PHONES:
        raise _Refuse(f"it would have more than {MAX_PHONES} phone numbers")

    gained: list[tuple[str, str]] = []
    for name in FILLABLE:
        value = getattr(draft, name)
        if value and not unit.values.get(name):
            unit.values[name] = value
            unit.changed.add(name)
            if name == "tax_id":
                gained.append(("tax", value))
    if draft.contact is not None:
        c = draft.contact
        if contact is None:
            contact = ContactState(None, c.last_name, c.first_name, c.middle_name, c.position, list(c.emails))
            unit.contacts.append(contact)
        else:
            if c.position and not contact.position:
                contact.position = c.position
                contact.changed = True
            have = {e.casefold() for e in contact.emails}
            for email in c.emails:
                if email.casefold() not in have:
                    contact.emails.append(email)
                    have.add(email.casefold())
                    contact.changed = True
    phone_owner = contact if draft.phones_on_contact else None
    for p in added:
        unit.phones.add(p.e164)
        unit.new_phones.append(PhoneState(p.e164, p.kind, p.raw, phone_owner))
        gained.append(("phone", p.e164))
    return gained


def plan_batch(drafts: Sequence[Draft], view: StoreView, ctx: PlanContext) -> BatchPlan:
    """Decide, row by row in file order, which rows make new clients, merge, or are duplicates."""
    pending: dict[tuple[str, str], ClientUnit] = {}
    units: list[ClientUnit] = []
    touched: set[int] = set()
    outcomes: list[RowOutcome] = []
    for draft in drafts:
        keys = row_keys(draft)
        matches: dict[object, Match] = {}
        for key in keys:
            unit = pending.get(key)
            if unit is not None:
                ident: object = unit.id if unit.id is not None else id(unit)
                if ident not in matches:
                    matches[ident] = Match(_key_text(key), unit.id, unit, True)
                continue
            owner = (view.tax_owner if key[0] == "tax" else view.phone_owner).get(key[1])
            if owner is not None and owner not in matches:
                visible = may_see(ctx.actor, view.responsible_of.get(owner), ctx.users)
                matches[owner] = Match(_key_text(key), owner, view.clients.get(owner) if visible else None, visible)
        if not matches:
            unit = new_unit(draft, ctx.responsible_for(draft.responsible, draft.line))
            units.append(unit)
            for key in keys:
                pending.setdefault(key, unit)
            outcomes.append(RowOutcome(draft.line, "inserted", unit))
            continue
        found = tuple(matches.values())
        target = found[0].unit
        if ctx.on_duplicate == "report" or len(found) > 1 or target is None:
            outcomes.append(RowOutcome(draft.line, "duplicate", matches=found))
            continue
        try:
            gained = merge_draft(target, draft)
        except _Refuse as exc:
            outcomes.append(RowOutcome(draft.line, "rejected", target, str(exc), found))
            continue
        if not target.is_new and target.id not in touched:
            touched.add(target.id)  # type: ignore[arg-type]
            target.first_line = draft.line
            units.append(target)
        for key in gained:
            pending.setdefault(key, target)
        outcomes.append(RowOutcome(draft.line, "merged", target))
    return BatchPlan(units, outcomes)


def _client_ref(match: Match) -> str:
    if not match.visible:
        return match.key
    client_id = match.unit.id if match.unit is not None else match.client_id
    return f"{match.key} (client {client_id})"


def _made_by_line(match: Match, made: Mapping[int, int]) -> int | None:
    """The line of this file that made the matched client (None if the base had it before)."""
    if not match.visible:
        return None
    if match.unit is not None and match.unit.is_new:
        return match.unit.first_line
    client_id = match.unit.id if match.unit is not None else match.client_id
    return made.get(client_id) if client_id is not None else None


def settle(outcome: RowOutcome, on_duplicate: OnDuplicate, made: Mapping[int, int] | None = None) -> tuple[str, str | None]:
    """After the write: ('inserted' | 'updated' | 'duplicate' | 'rejected', reason for the report).

    ``made``: clients this import made (id -> line), so a repeat of the file is named as one.
    """
    unit = outcome.unit
    if outcome.kind == "rejected":
        if unit is None:
            return "rejected", outcome.reason
        # A refused merge names the client it was meant for.
        if unit.is_new and not unit.written:
            return "rejected", f"cannot merge into the client of line {unit.first_line}: {outcome.reason}"
        return "rejected", f"cannot merge into {_client_ref(outcome.matches[0])}: {outcome.reason}"
    if outcome.kind in ("inserted", "merged"):
        assert unit is not None
        if not unit.written:
            return "rejected", f"not written: {unit.error}"
        return ("inserted" if outcome.kind == "inserted" else "updated"), None
    unwritten = next((m.unit for m in outcome.matches if m.unit is not None and not m.unit.written
                      and m.unit.is_new), None)
    if unwritten is not None:
        return "rejected", f"duplicate of line {unwritten.first_line}, which was not written"
    lines = [_made_by_line(m, made or {}) for m in outcome.matches]
    if all(line is not None for line in lines):
        ordered = sorted(set(lines))  # type: ignore[type-var]
        where = f"line {ordered[0]}" if len(ordered) == 1 else "lines " + ", ".join(map(str, ordered))
        reason = f"duplicate of {where} of this file: " + ", ".join(_client_ref(m) for m in outcome.matches)
    else:
        reason = "duplicate: already in the base: " + ", ".join(
            _client_ref(m) + ("" if line is None else f" made by line {line} of this file")
            for m, line in zip(outcome.matches, lines))
    if on_duplicate == "merge" and len(outcome.matches) > 1:
        reason += "; these are different clients, merge by hand"
    return "duplicate", reason
