"""What a wrap-up sends (pure): the disposition, the callback and the meeting, as requests.

A campaign call (the screen pop carried ``campaign_id`` and ``lead_id``) records the
campaign's disposition code on the lead, with the callback time for the dialer; any
other call records the outcome as an event on the client, and a callback as a planned
outgoing call in the operator's calendar. A meeting is always a planned event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from operator_tui.i18n import N_, _

# Outcomes of calls outside campaigns: code, label msgid, the event status it records.
PLAIN_DISPOSITIONS: tuple[tuple[str, str], ...] = (
    ("talked", N_("Talked, question settled")),
    ("interested", N_("Interested")),
    ("not_interested", N_("Not interested")),
    ("callback", N_("Asked to call back")),
    ("no_answer", N_("No answer / busy")),
    ("wrong_number", N_("Wrong number")),
)


@dataclass(frozen=True)
class Disposition:
    code: str
    name: str
    final: bool = True


def plain_dispositions() -> list[Disposition]:
    return [Disposition(code, _(label)) for code, label in PLAIN_DISPOSITIONS]


def campaign_dispositions(campaign: dict[str, Any]) -> list[Disposition]:
    """The campaign's codes, from ``GET /api/campaigns/{id}`` (``dispositions: [{code, name, final}]``)."""
    out = []
    for d in campaign.get("dispositions") or []:
        if isinstance(d, dict) and d.get("code"):
            out.append(Disposition(str(d["code"]), str(d.get("name") or d["code"]), bool(d.get("final", True))))
    return out


@dataclass(frozen=True)
class WrapUp:
    """What the operator filled in after a call."""

    client_id: int | None
    direction: str
    disposition: Disposition
    comment: str = ""
    callback_at: datetime | None = None
    meeting_at: datetime | None = None
    meeting_subject: str = ""
    campaign_id: int | None = None
    lead_id: int | None = None
    ended_at: datetime | None = None


def requests_for(w: WrapUp) -> list[dict[str, Any]]:
    """The requests to send, in order, as outbox items ``{"kind", ...arguments}`` (JSON-ready)."""
    out: list[dict[str, Any]] = []
    comment = w.comment.strip()
    if w.campaign_id is not None and w.lead_id is not None:
        out.append({"kind": "disposition", "campaign_id": w.campaign_id, "lead_id": w.lead_id,
                    "code": w.disposition.code, "comment": comment or None,
                    "callback_at": w.callback_at.isoformat() if w.callback_at else None})
    elif w.client_id is not None:
        outbound = w.direction == "outbound"
        status = "done"
        if w.disposition.code == "no_answer":
            status = "no_answer" if outbound else "missed"
        body: dict[str, Any] = {"type": "outgoing_call" if outbound else "incoming_call", "status": status,
                                "subject": w.disposition.name, "body": comment or None}
        if w.ended_at is not None:
            body["done_at"] = w.ended_at.isoformat()
        out.append({"kind": "interaction", "client_id": w.client_id, "body": body})
        if w.callback_at is not None:
            subject = _("Call back") + (f": {comment[:200]}" if comment else "")
            out.append({"kind": "interaction", "client_id": w.client_id,
                        "body": {"type": "outgoing_call", "status": "planned", "subject": subject,
                                 "planned_at": w.callback_at.isoformat()}})
    if w.meeting_at is not None and w.client_id is not None:
        out.append({"kind": "interaction", "client_id": w.client_id,
                    "body": {"type": "meeting", "status": "planned",
                             "subject": w.meeting_subject.strip() or _("Meeting"),
                             "body": comment or None, "planned_at": w.meeting_at.isoformat()}})
    return out
