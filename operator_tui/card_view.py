"""The client card as the desk shows it, built from the screen pop and the API's card (pure).

The pop alone is enough for the first paint (it arrives before the phone is answered);
the full card (``GET /api/clients/{id}``), the open events and the campaign fill in
the rest when they come. Field labels stay msgids; the widget translates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from operator_tui.formatting import (
    CLIENT_STATUS_WORDS,
    EVENT_STATUS_WORDS,
    PHONE_KIND_WORDS,
    contact_name,
    local_time,
    phone,
    when,
    word,
)
from operator_tui.i18n import N_

# Fields of a campaign pop (and of its "campaign"/"lead" objects) that say what the campaign wants.
CAMPAIGN_TEXT_FIELDS = (("goal", N_("Goal")), ("wants", N_("Wants")), ("offer", N_("Offer")),
                        ("instructions", N_("Instructions")), ("comment", N_("Note")), ("notes", N_("Note")))
LEAD_FIELDS = (("attempts", N_("Attempt")), ("priority", N_("Priority")), ("due_by", N_("Due by")),
               ("last_outcome", N_("Last outcome")))


@dataclass(frozen=True)
class CardView:
    """Everything the card widget draws; ``rows`` are (label msgid, value)."""

    client_id: int | None
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)
    open_items: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    campaign: list[tuple[str, str]] = field(default_factory=list)
    timezone: str | None = None
    complete: bool = False


def _open_line(item: dict[str, Any], tz: Any) -> str:
    at = when(item.get("planned_at"), tz) if item.get("planned_at") else ""
    kind = item.get("type_name") or item.get("type") or ""
    return " ".join(p for p in (at, f"[{kind}]" if kind else "", str(item.get("subject") or "")) if p)


HISTORY_NOTE = 80  # characters of an entry's note shown on its history line


def _history_line(entry: dict[str, Any], tz: Any) -> str:
    status = entry.get("status")
    line = " ".join(p for p in (when(entry.get("at"), tz), str(entry.get("title") or ""),
                                f"({word(EVENT_STATUS_WORDS, status)})" if status else "") if p)
    # How the call went, as written at its wrap-up: its first line, kept short.
    body = str((entry.get("details") or {}).get("body") or "").strip().splitlines()
    if body:
        note = body[0] if len(body[0]) <= HISTORY_NOTE else body[0][:HISTORY_NOTE - 1] + "…"
        line = f"{line} — {note}"
    return line


def campaign_rows(pop: dict[str, Any] | None, campaign: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What the campaign wants from this call: its name, goal, the lead's facts, when present."""
    pop = pop or {}
    camp = {**(pop.get("campaign") if isinstance(pop.get("campaign"), dict) else {}), **(campaign or {})}
    rows: list[tuple[str, str]] = []
    name = camp.get("name") or pop.get("campaign_name")
    if name:
        rows.append((N_("Campaign"), str(name)))
    elif pop.get("campaign_id"):
        rows.append((N_("Campaign"), f"#{pop['campaign_id']}"))
    for source in (camp, pop):
        for key, label in CAMPAIGN_TEXT_FIELDS:
            value = source.get(key) if source is camp else source.get(f"campaign_{key}")
            if value and (label, str(value)) not in rows:
                rows.append((label, str(value)))
    lead = pop.get("lead") if isinstance(pop.get("lead"), dict) else {}
    for key, label in LEAD_FIELDS + CAMPAIGN_TEXT_FIELDS:
        if lead.get(key) not in (None, ""):
            rows.append((label, str(lead[key])))
    return rows


def card_view(pop: dict[str, Any] | None, card: dict[str, Any] | None, open_items: list[dict[str, Any]] | None,
              campaign: dict[str, Any] | None, now: datetime, history_items: int = 8) -> CardView:
    """The card from whatever has arrived so far (the pop first, the full card later)."""
    pop = pop or {}
    summary = pop.get("client") if isinstance(pop.get("client"), dict) else {}
    tz = now.tzinfo
    if card is not None:
        client = card.get("client", {})
        zone_name = card.get("timezone") or client.get("timezone")
        contacts = card.get("contacts") or []
        main_contact = summary.get("contact_name") or (contact_name(contacts[0]) if contacts else "")
        position = next((c.get("position") for c in contacts if contact_name(c) == main_contact and c.get("position")), None)
        responsible = (card.get("responsible") or {}).get("full_name")
        rows: list[tuple[str, str]] = []
        if client.get("kind") == "company":
            rows.append((N_("Company"), str(client.get("name", ""))))
            if main_contact:
                rows.append((N_("Contact"), main_contact + (f", {position}" if position else "")))
        else:
            rows.append((N_("Name"), str(client.get("name", ""))))
        region = client.get("region") or "—"
        there = local_time(zone_name, now)
        rows.append((N_("Region"), region + (f" · {there}" if there else "")))
        rows.append((N_("Status"), word(CLIENT_STATUS_WORDS, client.get("status"))))
        rows.append((N_("Responsible"), responsible or "—"))
        if client.get("industry"):
            rows.append((N_("Industry"), str(client["industry"])))
        if client.get("comment"):
            rows.append((N_("Note"), str(client["comment"])))
        seen: set[str] = set()
        phones = []
        for p in [*(client.get("phones") or []), *(ph for c in contacts for ph in c.get("phones") or [])]:
            if p.get("e164") and p["e164"] not in seen:
                seen.add(p["e164"])
                phones.append((p["e164"], f"{phone(p['e164'])}  {word(PHONE_KIND_WORDS, p.get('kind'))}"))
        history = [_history_line(h, tz) for h in (card.get("history") or [])[:history_items]]
        items = open_items if open_items is not None else pop.get("open_interactions") or []
        return CardView(
            client_id=client.get("id"), title=str(client.get("name", "")), rows=rows, phones=phones,
            open_items=[_open_line(i, tz) for i in items], history=history,
            campaign=campaign_rows(pop, campaign), timezone=zone_name, complete=True,
        )
    # Only the pop so far: the summary the bridge sent with the ring.
    rows = []
    if summary.get("kind") == "company":
        rows.append((N_("Company"), str(summary.get("name", ""))))
        if summary.get("contact_name"):
            rows.append((N_("Contact"), str(summary["contact_name"])))
    else:
        rows.append((N_("Name"), str(summary.get("name", ""))))
    region = summary.get("region") or "—"
    rows.append((N_("Region"), region + (f" · {summary['local_time']}" if summary.get("local_time") else "")))
    rows.append((N_("Status"), word(CLIENT_STATUS_WORDS, summary.get("status"))))
    rows.append((N_("Responsible"), summary.get("responsible_name") or "—"))
    number = summary.get("e164") or pop.get("number")
    phones = [(number, f"{phone(number)}  {word(PHONE_KIND_WORDS, summary.get('phone_kind'))}")] if number else []
    return CardView(
        client_id=summary.get("client_id"), title=str(summary.get("name", "")), rows=rows, phones=phones,
        open_items=[_open_line(i, tz) for i in pop.get("open_interactions") or []],
        campaign=campaign_rows(pop, campaign),
    )
