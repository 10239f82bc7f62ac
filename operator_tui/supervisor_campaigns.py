"""Campaigns as the supervisor's screens show and edit them (pure: no I/O, no widgets).

The form's fields are plain strings; ``settings_body`` turns them into the body of
POST/PATCH /api/campaigns and names each field it cannot read, so the form points at
the field instead of sending something the server would refuse anyway.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from operator_tui.formatting import word
from operator_tui.i18n import N_, _

CAMPAIGN_STATE_WORDS = {
    "draft": N_("draft"),
    "running": N_("running"),
    "paused": N_("paused"),
    "stopped": N_("stopped"),
}
MODE_WORDS = {
    "preview": N_("preview"),
    "progressive": N_("progressive"),
    "predictive": N_("predictive"),
}
MODES = ("preview", "progressive", "predictive")
# The client statuses a list filter may ask for (GET /api/clients' own).
FILTER_STATUSES = ("", "primary", "new", "prospect", "client", "partner", "inactive", "lost")

# Which transitions the server allows from each state (crm_core.services.campaigns).
TRANSITIONS = {
    "launch": ("draft", "stopped"),
    "pause": ("running",),
    "resume": ("paused",),
    "stop": ("running", "paused"),
}
# Whole sentences per action: a word put into one sentence would not agree in Russian or Ukrainian.
TRANSITION_DONE = {
    "launch": N_("«{name}» is launched."),
    "pause": N_("«{name}» is paused."),
    "resume": N_("«{name}» is resumed."),
    "stop": N_("«{name}» is stopped."),
}
TRANSITION_REFUSED = {
    "launch": N_("«{name}» was not launched: {reason}"),
    "pause": N_("«{name}» was not paused: {reason}"),
    "resume": N_("«{name}» was not resumed: {reason}"),
    "stop": N_("«{name}» was not stopped: {reason}"),
}

MAX_ABANDON_CAP_PERCENT = 3.0
MAX_AMD_MISREAD_PERCENT = 50.0
_HHMM = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")
# Form field ids, in the order the form shows them.
SETTING_FIELDS = ("name", "mode", "queue", "script", "start", "end", "days", "max_attempts", "busy_minutes",
                  "no_answer_minutes", "abandon_cap", "lines_per_agent", "amd_misread")
RETRY_FIELDS = {"max_attempts": (1, 50), "busy_minutes": (1, 7 * 24 * 60), "no_answer_minutes": (1, 7 * 24 * 60)}


def allowed(action: str, state: str | None) -> bool:
    """Whether ``action`` (launch, pause, resume, stop) can be asked of a campaign in ``state``."""
    return state in TRANSITIONS.get(action, ())


def parse_days(text: str) -> list[int]:
    """``1-5``, ``1,3,5``, ``1-5,7`` -> ISO weekdays; ValueError names what is wrong."""
    days: set[int] = set()
    for part in (p.strip() for p in (text or "").replace(" ", "").split(",")):
        if not part:
            continue
        low, _sep, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(_("days: write weekdays as 1-5 or 1,3,5 (1 is Monday)"))
        a, b = int(low), int(high or low)
        if not 1 <= a <= b <= 7:
            raise ValueError(_("days: weekdays are 1 (Monday) to 7 (Sunday)"))
        days.update(range(a, b + 1))
    if not days:
        raise ValueError(_("days: give at least one weekday"))
    return sorted(days)


def format_days(days: Iterable[int]) -> str:
    """ISO weekdays as the shortest text ``parse_days`` reads back: ``[1,2,3,4,5,7]`` -> ``1-5,7``."""
    out: list[str] = []
    run: list[int] = []
    for day in sorted(set(days)):
        if run and day == run[-1] + 1:
            run.append(day)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [day]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


def percent(value: float | None, digits: int = 1) -> str:
    """``0.018`` -> ``1.8 %``; a dash for None."""
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f} %"


@dataclass(frozen=True)
class FieldError:
    """A form field and what is wrong with it (already translated)."""

    field: str
    message: str


def _whole(values: Mapping[str, str], name: str, low: int, high: int, label: str, errors: list[FieldError]) -> int | None:
    text = (values.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        errors.append(FieldError(name, _("{field}: a whole number from {low} to {high}").format(
            field=_(label), low=low, high=high)))
        return None
    return int(text)


FIELD_LABELS = {
    "name": N_("Campaign name"),
    "mode": N_("Mode"),
    "queue": N_("Queue"),
    "script": N_("Script"),
    "start": N_("Calls from"),
    "end": N_("Calls until"),
    "days": N_("Days"),
    "max_attempts": N_("Attempts at most"),
    "busy_minutes": N_("Busy: retry after, min"),
    "no_answer_minutes": N_("No answer: retry after, min"),
    "abandon_cap": N_("Abandon cap, %"),
    "lines_per_agent": N_("Lines per agent"),
    "amd": N_("Detect answering machines (they are hung up on and called again later)"),
    "amd_misread": N_("People among the machines, % (estimate)"),
    "caller_id": N_("Number the client sees"),
    "abandon_message": N_("Recording when no operator is free (who called, a number to call back)"),
}
# An Asterisk sound name, as crm_core.campaign_settings checks it: zvonar/romashka-abandon.
_SOUND = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+){0,4}")


def settings_body(values: Mapping[str, str], *, creating: bool) -> tuple[dict[str, Any], list[FieldError]]:
    """The POST (``creating``) or PATCH /api/campaigns body from the form, and the fields it cannot read.

    Empty optional fields are left out, so the server keeps (or defaults) them; an empty
    script detaches the script.
    """
    errors: list[FieldError] = []
    body: dict[str, Any] = {}
    name = (values.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", _("Name: give the campaign a name")))
    body["name"] = name
    mode = values.get("mode") or "progressive"
    if mode not in MODES:
        errors.append(FieldError("mode", _("Mode: preview, progressive or predictive")))
    body["mode"] = mode
    queue = (values.get("queue") or "").strip()
    if queue:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,80}", queue):
            errors.append(FieldError("queue", _("Queue: latin letters, digits, _ and - only")))
        body["queue"] = queue
    script = (values.get("script") or "").strip()
    if script or not creating:
        body["script_code"] = script or None
    caller_id = (values.get("caller_id") or "").strip()
    if caller_id or not creating:
        if any(c in caller_id for c in "\r\n"):
            errors.append(FieldError("caller_id", _("Number the client sees: one line")))
        body["caller_id"] = caller_id or None
    message = (values.get("abandon_message") or "").strip()
    if message or not creating:
        if message and not (len(message) <= 120 and _SOUND.fullmatch(message)):
            errors.append(FieldError("abandon_message", _(
                "Recording: a sound name on the PBX without its extension, such as zvonar/romashka-abandon "
                "(latin letters, digits, _ and -, parts joined by /)")))
        body["abandon_message"] = message or None
    hours: dict[str, Any] = {}
    for key in ("start", "end"):
        text = (values.get(key) or "").strip()
        if not text:
            continue
        if not _HHMM.match(text):
            errors.append(FieldError(key, _("{field}: time as HH:MM").format(field=_(FIELD_LABELS[key]))))
        hours[key] = text
    if "start" in hours and "end" in hours and not errors and _minutes(hours["start"]) >= _minutes(hours["end"]):
        errors.append(FieldError("end", _("Calls until: must be after the start (no window across midnight)")))
    days_text = (values.get("days") or "").strip()
    if days_text:
        try:
            hours["days"] = parse_days(days_text)
        except ValueError as exc:
            errors.append(FieldError("days", str(exc)))
    if hours:
        # The server's hours object is replaced whole: fill what the form left out with its defaults.
        hours.setdefault("start", "09:00")
        hours.setdefault("end", "21:00")
        hours.setdefault("days", [1, 2, 3, 4, 5])
        body["hours"] = hours
    retry = {}
    for key, (low, high) in RETRY_FIELDS.items():
        value = _whole(values, key, low, high, FIELD_LABELS[key], errors)
        if value is not None:
            retry[key] = value
    if retry:
        body["retry_rules"] = retry
    pacing: dict[str, Any] = {}
    cap = read_percent(values, "abandon_cap")
    if cap is not None:
        if not 0 < cap <= MAX_ABANDON_CAP_PERCENT:
            errors.append(FieldError("abandon_cap", _("Abandon cap: above 0 and at most 3 %")))
        else:
            pacing["abandon_cap"] = round(cap / 100, 6)
    lines = _whole(values, "lines_per_agent", 1, 3, FIELD_LABELS["lines_per_agent"], errors)
    if lines is not None:
        pacing["lines_per_agent"] = lines
    if "amd" in values:  # a checkbox: always a yes or a no
        pacing["amd"] = values["amd"] == "yes"
    share = read_percent(values, "amd_misread")
    if share is not None:
        if not 0 <= share <= MAX_AMD_MISREAD_PERCENT:
            errors.append(FieldError("amd_misread", _("People among the machines: a percent from 0 to 50")))
        else:
            pacing["amd_misread_share"] = round(share / 100, 6)
    if pacing:
        body["pacing"] = pacing
    return body, errors


def read_percent(values: Mapping[str, str], key: str) -> float | None:
    """A percent field ("2,5", "2.5 %") as a number; None when empty, NaN when unreadable (fails every range)."""
    text = (values.get(key) or "").strip().replace(",", ".").rstrip("%").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return math.nan


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def form_values(campaign: Mapping[str, Any]) -> dict[str, str]:
    """A campaign as the form's strings (for editing it)."""
    hours = campaign.get("hours") or {}
    retry = campaign.get("retry_rules") or {}
    pacing = campaign.get("pacing") or {}
    cap = pacing.get("abandon_cap")
    share = pacing.get("amd_misread_share")
    return {
        "name": str(campaign.get("name") or ""),
        "mode": str(campaign.get("mode") or "progressive"),
        "queue": str(campaign.get("queue") or ""),
        "script": str(campaign.get("script_code") or ""),
        "caller_id": str(campaign.get("caller_id") or ""),
        "abandon_message": str(campaign.get("abandon_message") or ""),
        "start": str(hours.get("start") or ""),
        "end": str(hours.get("end") or ""),
        "days": format_days(hours.get("days") or []),
        "max_attempts": str(retry.get("max_attempts") or ""),
        "busy_minutes": str(retry.get("busy_minutes") or ""),
        "no_answer_minutes": str(retry.get("no_answer_minutes") or ""),
        "abandon_cap": f"{cap * 100:g}" if isinstance(cap, int | float) else "",
        "lines_per_agent": str(pacing.get("lines_per_agent") or ""),
        "amd": "yes" if pacing.get("amd") is True else "",
        "amd_misread": f"{share * 100:g}" if isinstance(share, int | float) and not isinstance(share, bool) else "",
    }


def filter_body(values: Mapping[str, str]) -> dict[str, Any]:
    """The client filter of POST /api/campaigns/{id}/lists from the form (empty fields left out)."""
    out: dict[str, Any] = {}
    for key in ("q", "status", "region", "industry"):
        text = (values.get(key) or "").strip()
        if text:
            out[key] = text
    return out


def filter_name(values: Mapping[str, str]) -> str:
    """A list's name that says what it was made of: ``Фильтр: статус client, регион Москва``."""
    parts = []
    for key, label in (("q", N_("search")), ("status", N_("status")), ("region", N_("region")),
                       ("industry", N_("industry"))):
        text = (values.get(key) or "").strip()
        if text:
            parts.append(f"{_(label)} {text}")
    return _("Filter: {what}").format(what=", ".join(parts)) if parts else _("All my clients")


def report_text(report: Mapping[str, Any]) -> str:
    """What a list brought, in one line: added, skipped (why), file lines refused, the sheet read."""
    text = _("Leads added: {added}, skipped: {skipped}").format(
        added=report.get("leads_added", 0), skipped=report.get("leads_skipped", 0))
    reasons = report.get("skipped_reasons") or {}
    if reasons:
        text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())) + ")"
    rejected = report.get("rejected") or []
    if rejected:
        first = rejected[0]
        text += "; " + _("file lines refused: {count}, first: line {line}: {reason}").format(
            count=len(rejected), line=first.get("line"), reason=first.get("reason"))
    if report.get("sheet"):  # a workbook's lines are the rows of this sheet, which need not be its first
        text += "; " + _("read from sheet «{sheet}»").format(sheet=report["sheet"])
    reassigned = report.get("reassigned") or []
    if reassigned:
        first = reassigned[0]
        text += "; " + _("new clients given to {login}: the file names {count} responsible(s) you may not assign "
                         "to, first «{name}» (line {line})").format(
            login=first.get("given_to"), count=len(reassigned), name=first.get("responsible"), line=first.get("first_line"))
    return text


def leads_text(counts: Mapping[str, int] | None) -> str:
    """Leads by state, compact: ``120 to dial · 3 in work · 40 completed · 5 unsuccessful · 2 DNC``."""
    counts = counts or {}
    in_work = int(counts.get("leased", 0)) + int(counts.get("dialing", 0))
    parts = [(int(counts.get("ready", 0)), N_("to dial")), (in_work, N_("in work")),
             (int(counts.get("done", 0)), N_("completed")), (int(counts.get("failed", 0)), N_("unsuccessful")),
             (int(counts.get("dnc", 0)), N_("DNC"))]
    return " · ".join(f"{n} {_(label)}" for n, label in parts if n) or _("no leads")


# What keeps a running campaign from dialing (dialer/campaign_problems.py), by code; {names} are its params.
PROBLEM_WORDS = {
    "pbx_disconnected": N_("The PBX is not connected: nothing can be dialled"),
    "queue_missing": N_("The PBX has no queue «{queue}» (queues.conf): nobody can take the calls; "
                        "the operators join once it is there"),
    "agents_not_in_queue": N_("The PBX did not put {count} operator(s) into the queue; trying again"),
    "agents_auto_paused": N_("The PBX paused {count} operator(s) who let a call ring out (Auto-Pause): "
                             "they take no calls until they resume"),
    "no_phones": N_("None of the campaign's operators has a phone"),
    "kept_out_of_queue": N_("A dialing campaign uses the queue «{queue}»: these operators stay out of it while it runs"),
    "caller_id_unusable": N_("The campaign's caller ID cannot be sent: nothing is dialled until it is corrected"),
    "abandon_message_unusable": N_("The recording's name cannot be sent: abandoned calls hear the stock apology"),
    "outside_hours": N_("No lead is within its calling hours now"),
}


def problem_lines(stats: Mapping[str, Any] | None) -> list[str]:
    """What the dialer says keeps the campaign from dialing, one line each (a code this desk does not know: as is)."""
    lines = []
    for problem in (stats or {}).get("problems") or []:
        if not isinstance(problem, Mapping):
            continue
        code = str(problem.get("code", ""))
        params = {str(k): str(v) for k, v in problem.items() if k != "code"}
        template = PROBLEM_WORDS.get(code)
        try:
            lines.append(_(template).format(**params) if template else code)
        except (KeyError, IndexError, ValueError):  # a param missing from a newer or older dialer's problem
            lines.append(_(template) if template else code)
    return lines


def abandon_rate_of(stats: Mapping[str, Any] | None) -> float | None:
    """The figure the 3 % cap is held against: today's abandoned / answered (None without stats)."""
    if not stats:
        return None
    rate = stats.get("day_abandon_rate")
    return float(rate) if isinstance(rate, int | float) else None


def campaign_cells(campaign: Mapping[str, Any], stats: Mapping[str, Any] | None) -> dict[str, str]:
    """The campaigns table's cells of one campaign, by column: name, state, mode, agents, abandoned, leads."""
    return {
        "name": str(campaign.get("name") or ""),
        "state": word(CAMPAIGN_STATE_WORDS, campaign.get("state")),
        "mode": word(MODE_WORDS, campaign.get("mode")),
        "agents": str(len(campaign.get("agents") or [])),
        "abandoned": percent(abandon_rate_of(stats)),
        "leads": leads_text(campaign.get("lead_counts")),
    }


def start_action(state: str | None) -> str | None:
    """What "start" means for a campaign in ``state``: launch a draft or stopped one, resume a paused one."""
    if allowed("launch", state):
        return "launch"
    return "resume" if allowed("resume", state) else None



def merged_settings(campaign: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the form changed, as a PATCH body.

    hours, retry rules and pacing are sent only when one of their fields changed (the form's
    few fields laid over what the campaign has, which the server does too);
    mode, queue and script are sent only when changed, since a running campaign refuses them.
    """
    patch: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("hours", "retry_rules", "pacing"):
            old = dict(campaign.get(key) or {})
            new = {**old, **value}
            if new != old:
                patch[key] = new
        elif value != campaign.get(key):
            patch[key] = value
    return patch


AGENT_ROLES = ("operator", "manager", "supervisor")


def agent_choices(users: Iterable[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """(user id, ``Name (101)``) of the users who can take a campaign's calls (a role that may, a phone), by name."""
    out = []
    for user in users:
        endpoint = user.get("phone_endpoint")
        if str(user.get("role")) not in AGENT_ROLES or not endpoint:
            continue
        name = str(user.get("full_name") or user.get("login") or user.get("id"))
        out.append((int(user["id"]), f"{name} ({endpoint})"))
    return sorted(out, key=lambda item: item[1].casefold())
