"""A script protocol as the supervisor reads it (pure): steps in order, each with its answer.

GET /api/script-sessions/{id}/protocol gives every entry, superseded ones too (the
operator went back and answered again); they stay in the reading, marked, so the
supervisor sees what was said first and what counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from operator_tui.formatting import EVENT_STATUS_WORDS, duration, phone, when, word
from operator_tui.i18n import N_, _
from operator_tui.supervisor_wallboard import short_name

SESSION_STATUS_WORDS = {
    "active": N_("in progress"),
    "finished": N_("finished"),
    "abandoned": N_("abandoned"),
}
OUTCOME_WORDS = {
    "callback": N_("callback"),
    "meeting": N_("meeting"),
    "set_status": N_("client status"),
    "add_dnc": N_("do not call"),
    "proposal_draft": N_("proposal draft"),
    "lead_done": N_("lead done"),
    "lead_failed": N_("lead failed"),
    "end": N_("end"),
}


def answer_text(value: Any) -> str:
    """An answer as read aloud: yes/no, lists joined, a skipped question said so."""
    if value is None:
        return _("(no answer)")
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, list):
        return ", ".join(answer_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {answer_text(v)}" for k, v in value.items())
    return str(value)


# Outcome parameters that only repeat others (how the time was worked out) are left out of the reading.
_OUTCOME_NOISE = frozenset({"kind", "timezone_basis", "in_days", "time"})


@dataclass(frozen=True)
class ProtocolLine:
    """One line of the reading, in the order things happened.

    ``step``: a step put on screen (its text); ``answer``: the value given (``after_shown``
    False when it came later, e.g. after going back, so the step is named with it);
    ``back``, ``objection``, ``return``: the moves; ``outcome``: what the final step did.
    """

    kind: str
    step: str
    text: str = ""
    superseded: bool = False
    after_shown: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)


def protocol_lines(protocol: Mapping[str, Any]) -> list[ProtocolLine]:
    """The protocol's entries as lines; an answer that moved nothing on (a final step) is left out."""
    lines: list[ProtocolLine] = []
    previous: Mapping[str, Any] | None = None
    for entry in sorted(protocol.get("entries") or [], key=lambda e: e.get("seq", 0)):
        kind, step_id = str(entry.get("kind")), str(entry.get("step") or "")
        superseded = bool(entry.get("superseded"))
        if kind == "shown":
            lines.append(ProtocolLine("step", step_id, str(entry.get("text") or ""), superseded))
        elif kind == "answer":
            if entry.get("value") is not None:
                after = previous is not None and previous.get("kind") == "shown" and previous.get("step") == step_id
                lines.append(ProtocolLine("answer", step_id, answer_text(entry.get("value")), superseded, after))
        elif kind == "outcome":
            outcome = entry.get("outcome") or {}
            notes = tuple(f"{k}: {answer_text(v)}" for k, v in outcome.items() if k not in _OUTCOME_NOISE
                          and v not in (None, ""))
            lines.append(ProtocolLine("outcome", step_id, word(OUTCOME_WORDS, str(outcome.get("kind") or "")),
                                      superseded, notes=notes))
        elif kind in ("back", "objection", "return"):
            value = entry.get("value")
            lines.append(ProtocolLine(kind, step_id, answer_text(value) if value is not None else "", superseded))
        previous = entry
    return lines


def call_text(call: Mapping[str, Any] | None) -> str:
    """The call a session ran on: ``+7 916 123-45-67 · answered · 02:15``."""
    if not call:
        return _("no call")
    parts = [phone(call.get("number")) or "—", word(EVENT_STATUS_WORDS, call.get("outcome"))]
    if call.get("talk_seconds"):
        parts.append(duration(call.get("talk_seconds")))
    return " · ".join(parts)


def session_cells(session: Mapping[str, Any], tz: tzinfo | None) -> dict[str, str]:
    """One row of the protocol list, by column: started, client, operator, script, status, answers, call."""
    script = session.get("script")
    return {
        "started": when(session.get("started_at"), tz),
        "client": str(session.get("client_name") or session.get("client_id") or ""),
        "operator": short_name(str(session.get("user_name") or session.get("user_id") or "")),
        "script": f"{script.get('code') or ''} v{script.get('version', '')}" if script else "—",
        "status": word(SESSION_STATUS_WORDS, session.get("status")) if script else _("no script"),
        "answers": str(session.get("answers", "")),
        "call": call_text(session.get("call")),
    }


def client_rows(calls: list[Mapping[str, Any]], sessions: list[Mapping[str, Any]], client_name: str) -> list[dict[str, Any]]:
    """A client's calls with the sessions run on them, and sessions run on no call, newest first.

    Each row is a session summary (as GET /api/script-sessions lists them); a call that had
    no script is a row with ``id`` None, so the supervisor sees every call, scripted or not.
    """
    rows: list[dict[str, Any]] = [dict(s) for s in sessions]
    with_session = {s.get("call_id") for s in sessions if s.get("call_id") is not None}
    for call in calls:
        if call.get("id") in with_session:
            continue
        rows.append({
            "id": None, "started_at": call.get("started_at"), "client_name": client_name, "client_id": call.get("client_id"),
            "user_name": call.get("agent_extension") or "", "script": None, "status": None, "answers": "",
            "call": {"id": call.get("id"), "direction": call.get("direction"), "number": call.get("client_number"),
                     "outcome": call.get("outcome"), "talk_seconds": call.get("talk_seconds"),
                     "started_at": call.get("started_at")},
        })
    return sorted(rows, key=lambda r: str(r.get("started_at") or ""), reverse=True)
