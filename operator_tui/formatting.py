"""Plain display helpers: durations, phone numbers, local times, and the words for server codes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from operator_tui.i18n import N_, _

AGENT_STATE_WORDS = {
    "unknown": N_("unknown"),
    "logged_out": N_("logged out"),
    "ready": N_("ready"),
    "ringing": N_("ringing"),
    "on_call": N_("on call"),
    "wrap_up": N_("wrap-up"),
    "paused": N_("paused"),
    "unavailable": N_("phone unavailable"),
}
CLIENT_STATUS_WORDS = {
    "primary": N_("first contact"),
    "new": N_("new"),
    "prospect": N_("prospect"),
    "client": N_("client"),
    "partner": N_("partner"),
    "inactive": N_("inactive"),
    "lost": N_("lost"),
}
PHONE_KIND_WORDS = {
    "mobile": N_("mobile"),
    "work": N_("work"),
    "home": N_("home"),
    "internal": N_("internal"),
    "other": N_("other"),
}
# Event statuses of the seeded event types (crm_core's first migration); others show as they come.
EVENT_STATUS_WORDS = {
    "planned": N_("planned"),
    "done": N_("done"),
    "missed": N_("missed"),
    "no_answer": N_("no answer"),
    "cancelled": N_("cancelled"),
    "draft": N_("draft"),
    "sent": N_("sent"),
    "received": N_("received"),
    "answered": N_("answered"),
    "busy": N_("busy"),
    "congestion": N_("line busy"),
    "failed": N_("failed"),
}
LINK_WORDS = {
    "connecting": N_("connecting…"),
    "online": N_("online"),
    "offline": N_("offline"),
    "unauthorized": N_("login expired"),
}


def word(table: dict[str, str], code: str | None) -> str:
    """The translated word for a server code; the code itself when the desk does not know it."""
    if code is None:
        return "—"
    msgid = table.get(code)
    return _(msgid) if msgid else code


def duration(seconds: int | None) -> str:
    """``MM:SS``, or ``H:MM:SS`` past an hour; empty for None."""
    if seconds is None:
        return ""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def phone(e164: str | None) -> str:
    """``+79161234567`` -> ``+7 916 123-45-67``; anything unreadable is shown as given."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164 if e164.startswith("+") else "+" + e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if not phonenumbers.is_possible_number(parsed):
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def utc_offset(moment: datetime) -> str:
    """``UTC+10``, ``UTC+5:30``, ``UTC`` for a moment's offset."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def local_time(zone_name: str | None, now: datetime) -> str | None:
    """The client's wall-clock time now, ``05:06 (UTC+10)``; None when the zone is unknown."""
    tz = zone(zone_name)
    if tz is None:
        return None
    there = now.astimezone(tz)
    return f"{there:%H:%M} ({utc_offset(there)})"


def when(value: str | datetime | None, tz: tzinfo | None) -> str:
    """An ISO moment as ``03.12 14:30`` in ``tz`` (the operator's zone, from the desk's clock)."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(tz or timezone.utc)
    return f"{moment:%d.%m %H:%M}"


def contact_name(contact: dict) -> str:
    parts = (contact.get("last_name"), contact.get("first_name"), contact.get("middle_name"))
    return " ".join(p for p in parts if p)
