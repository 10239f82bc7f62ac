"""A campaign's settings as a form (new or existing), and the form that adds a list of leads.

New: name, mode, queue, script, calling hours and days, retry rules, the abandon cap,
the number the client sees and the recording an abandoned client hears, the operators,
and where the leads come from (a client filter, or a CSV/XLSX file on this machine).
Saving creates the campaign, assigns the operators and adds the list, in that order; if a
later step is refused the campaign is kept and the next save goes on from there, so
nothing is created twice. Every refusal is shown with the field it names.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select, SelectionList, Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.formatting import CLIENT_STATUS_WORDS, word
from operator_tui.i18n import N_, _
from operator_tui.screens.base import DeskModal
from operator_tui.supervisor_campaigns import (
    FIELD_LABELS,
    FILTER_STATUSES,
    MODE_WORDS,
    MODES,
    agent_choices,
    filter_body,
    filter_name,
    form_values,
    merged_settings,
    report_text,
    settings_body,
)
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr

# A new campaign's form starts from the server's own defaults (crm_core.campaign_settings), shown so
# the supervisor sees what will apply instead of empty fields.
NEW_CAMPAIGN: dict[str, Any] = {
    "queue": "campaign", "mode": "progressive",
    "hours": {"start": "09:00", "end": "21:00", "days": [1, 2, 3, 4, 5]},
    "retry_rules": {"max_attempts": 5, "busy_minutes": 10, "no_answer_minutes": 120},
    "pacing": {"abandon_cap": 0.03, "lines_per_agent": 3, "amd_misread_share": 0.0},
}
FILTER_FIELDS = (("q", N_("Search: name, tax id, phone")), ("region", N_("Region")), ("industry", N_("Industry")))
# Text fields of the settings, by the row they share.
ROWS = (("name", "queue"), ("start", "end", "days"), ("max_attempts", "busy_minutes", "no_answer_minutes"),
        ("abandon_cap", "lines_per_agent"), ("amd_misread",), ("caller_id", "abandon_message"))


async def add_leads(ctx: DeskContext, campaign_id: int, source: str, values: dict[str, str]) -> dict[str, Any]:
    """Add a list to the campaign from a client filter or a file path; the server's report (ApiError, OSError)."""
    if source == "file":
        path = Path((values.get("file") or "").strip()).expanduser()
        if not str(path) or str(path) == ".":
            raise ValueError(_("File: give the path of a CSV or XLSX file"))
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ValueError(_("File: cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)) from exc
        return await ctx.api.import_campaign_list(campaign_id, path.stem[:300] or path.name, path.name, data)
    return await ctx.api.add_campaign_list(campaign_id, filter_name(values)[:300], filter_body(values))


class LeadSource(Vertical):
    """Where leads come from: a client filter (search, status, region, industry) or a file path."""

    DEFAULT_CSS = """
    LeadSource { height: auto; }
    LeadSource RadioSet { height: auto; border: none; layout: horizontal; }
    LeadSource RadioButton { width: auto; }
    LeadSource Input, LeadSource Select { margin-right: 1; }
    LeadSource Horizontal { height: auto; }
    LeadSource Horizontal > Vertical { height: auto; width: 1fr; }
    LeadSource .hint { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with RadioSet(id="ls-source"):
            yield RadioButton(_("clients by filter"), value=True, id="ls-by-filter")
            yield RadioButton(_("a CSV/XLSX file"), id="ls-by-file")
        with Horizontal():
            for field_id, label in FILTER_FIELDS:
                with Vertical():
                    yield Tr(label)
                    yield Input(id=f"ls-{field_id}", max_length=100, compact=True)
            with Vertical():
                yield Tr("Client status")
                yield Select([(word(CLIENT_STATUS_WORDS, s), s) for s in FILTER_STATUSES if s], id="ls-status",
                             prompt=_("any"), compact=True)
        yield Tr("File path (CSV or XLSX, on this computer)")
        yield Input(id="ls-file", max_length=1000, placeholder="~/списки/весна.csv", compact=True)
        yield Tr("An empty filter takes every client of your team.", classes="hint")

    @property
    def source(self) -> str:
        return "file" if self.query_one("#ls-by-file", RadioButton).value else "filter"

    def values(self) -> dict[str, str]:
        out = {field_id: self.query_one(f"#ls-{field_id}", Input).value for field_id, _label in FILTER_FIELDS}
        status = self.query_one("#ls-status", Select).value
        out["status"] = status if isinstance(status, str) else ""
        out["file"] = self.query_one("#ls-file", Input).value
        return out

    def retranslate(self) -> None:
        self.query_one("#ls-by-filter", RadioButton).label = _("clients by filter")
        self.query_one("#ls-by-file", RadioButton).label = _("a CSV/XLSX file")


class CampaignForm(DeskModal):
    """Dismisses with ``{"campaign": ..., "report": ... | None}`` once saved, or None on Esc."""

    DEFAULT_CSS = """
    CampaignForm > .dialog { max-width: 110; }
    CampaignForm VerticalScroll { height: auto; max-height: 100%; }
    CampaignForm .section { text-style: bold; color: $accent; margin-top: 1; }
    CampaignForm Horizontal { height: auto; }
    CampaignForm Horizontal > Vertical { height: auto; width: 1fr; }
    CampaignForm RadioSet { height: auto; border: none; layout: horizontal; }
    CampaignForm RadioButton { width: auto; }
    CampaignForm Input, CampaignForm Select { margin-right: 1; }
    CampaignForm SelectionList { height: auto; max-height: 8; }
    CampaignForm .hint { color: $text-muted; }
    CampaignForm #cf-error { color: $error; height: auto; }
    CampaignForm #cf-title { text-style: bold; }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def __init__(self, ctx: DeskContext, campaign: dict[str, Any] | None, scripts: list[dict[str, Any]],
                 users: list[dict[str, Any]]) -> None:
        super().__init__()
        self.ctx = ctx
        self.campaign = campaign
        self.creating = campaign is None
        self.scripts = scripts
        self.users = users
        # Steps of a new campaign already done (created, operators, list), kept across a refused save.
        self.done: set[str] = set()
        self.report: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        values = form_values(self.campaign or NEW_CAMPAIGN)
        agents = set((self.campaign or {}).get("agents") or [])
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Tr("New campaign" if self.creating else "Campaign settings", id="cf-title")
            with VerticalScroll():
                for row in ROWS[:1]:
                    yield from self._row(row, values)
                with Horizontal():
                    with Vertical():
                        yield Tr(FIELD_LABELS["mode"])
                        with RadioSet(id="cf-mode"):
                            for mode in MODES:
                                yield RadioButton(_(MODE_WORDS[mode]), value=values["mode"] == mode, id=f"cf-mode-{mode}")
                    with Vertical():
                        yield Tr(FIELD_LABELS["script"])
                        options = [(f"{s.get('name') or s['code']} ({s['code']})", str(s["code"])) for s in self.scripts]
                        known = {code for _label, code in options}
                        if values["script"] and values["script"] not in known:
                            options.append((values["script"], values["script"]))
                        yield Select(options, id="cf-script", prompt=_("no script"), compact=True,
                                     value=values["script"] if values["script"] else Select.NULL)
                yield Tr("Calling hours (the client's local time)", classes="section")
                yield from self._row(ROWS[1], values)
                yield Tr("Retry rules", classes="section")
                yield from self._row(ROWS[2], values)
                yield Tr("Pacing", classes="section")
                yield from self._row(ROWS[3], values)
                yield Checkbox(_(FIELD_LABELS["amd"]), value=values.get("amd") == "yes", id="cf-amd", compact=True)
                yield from self._row(ROWS[4], values)
                yield Tr("What the client sees and hears", classes="section")
                yield from self._row(ROWS[5], values)
                yield Tr("Operators", classes="section")
                choices = agent_choices(self.users)
                if choices:
                    yield SelectionList[int](*[(label, uid, uid in agents) for uid, label in choices], id="cf-agents",
                                             compact=True)
                else:
                    yield Tr("Your team has no operators yet.")
                if self.creating:
                    yield Tr("Leads", classes="section")
                    yield LeadSource(id="cf-leads")
            yield Static(id="cf-error", markup=False)
            yield Tr("Ctrl+S saves, Esc closes (what is typed is lost).", classes="hint")

    def _row(self, fields: tuple[str, ...], values: dict[str, str]) -> ComposeResult:
        with Horizontal():
            for name in fields:
                with Vertical():
                    yield Tr(FIELD_LABELS[name])
                    yield Input(value=values.get(name, ""), id=f"cf-{name}", max_length=200, compact=True)

    def on_mount(self) -> None:
        self.query_one("#cf-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    def retranslate(self) -> None:
        for mode in MODES:
            self.query_one(f"#cf-mode-{mode}", RadioButton).label = _(MODE_WORDS[mode])
        self.query_one("#cf-amd", Checkbox).label = _(FIELD_LABELS["amd"])

    # ------------------------------------------------------------------ reading the form

    def values(self) -> dict[str, str]:
        out = {name: self.query_one(f"#cf-{name}", Input).value for row in ROWS for name in row}
        out["mode"] = next((m for m in MODES if self.query_one(f"#cf-mode-{m}", RadioButton).value), "progressive")
        script = self.query_one("#cf-script", Select).value
        out["script"] = script if isinstance(script, str) else ""
        out["amd"] = "yes" if self.query_one("#cf-amd", Checkbox).value else ""
        return out

    def selected_agents(self) -> list[int]:
        found = self.query("#cf-agents")
        return list(found.first(SelectionList).selected) if found else []

    def show_error(self, message: str | None, field: str | None = None) -> None:
        self.query_one("#cf-error", Static).update(message or "")
        if field:
            for widget in self.query(f"#cf-{field}"):
                widget.focus()

    # ------------------------------------------------------------------ saving

    def action_save(self) -> None:
        body, errors = settings_body(self.values(), creating=self.creating and "created" not in self.done)
        if errors:
            self.show_error("; ".join(e.message for e in errors), errors[0].field)
            return
        self.show_error(_("Saving…"))
        self.save(body, self.selected_agents())

    @work(exclusive=True, group="campaign-form")
    async def save(self, body: dict[str, Any], agents: list[int]) -> None:
        api = self.ctx.api
        try:
            if self.campaign is None:
                self.campaign = await api.create_campaign(body)
                self.done.add("created")
            else:
                patch = merged_settings(self.campaign, body)
                if patch:
                    self.campaign = await api.update_campaign(int(self.campaign["id"]), patch)
            if sorted(agents) != sorted(self.campaign.get("agents") or []):
                self.campaign = await api.set_campaign_agents(int(self.campaign["id"]), agents)
            if self.creating and "list" not in self.done:
                leads = self.query_one("#cf-leads", LeadSource)
                self.report = await add_leads(self.ctx, int(self.campaign["id"]), leads.source, leads.values())
                self.done.add("list")
        except ServerUnreachable:
            self.show_error(_("The server cannot be reached; the form is kept, save again in a moment."))
            return
        except ApiError as exc:
            self.show_error(self._refusal(exc))
            return
        except ValueError as exc:
            self.show_error(self._refusal(exc), "file")
            return
        self.dismiss({"campaign": self.campaign, "report": self.report})

    def _refusal(self, exc: Exception) -> str:
        reason = exc.describe() if isinstance(exc, ApiError) else str(exc)
        text = _("The server did not accept it: {reason}").format(reason=reason) if isinstance(exc, ApiError) else reason
        if "created" in self.done and self.campaign is not None:
            # Said plainly, so the supervisor knows a second save will not make a second campaign.
            text += " " + _("The campaign «{name}» is created; fix this and save again.").format(
                name=self.campaign.get("name", ""))
        return text

    def action_cancel(self) -> None:
        self.dismiss({"campaign": self.campaign, "report": self.report} if "created" in self.done else None)


class LeadsForm(DeskModal):
    """Adds one more list to a campaign; dismisses with the server's report, or None on Esc."""

    DEFAULT_CSS = """
    LeadsForm #lf-error { color: $error; height: auto; }
    LeadsForm #lf-title { text-style: bold; }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", N_("Add"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def __init__(self, ctx: DeskContext, campaign: dict[str, Any]) -> None:
        super().__init__()
        self.ctx = ctx
        self.campaign = campaign

    def compose(self) -> ComposeResult:
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Static(_("Add leads to «{name}»").format(name=self.campaign.get("name", "")), id="lf-title",
                         markup=False)
            yield LeadSource(id="lf-leads")
            yield Static(id="lf-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#ls-q", Input).focus()

    def retranslate(self) -> None:
        self.query_one("#lf-title", Static).update(_("Add leads to «{name}»").format(name=self.campaign.get("name", "")))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        self.query_one("#lf-error", Static).update(_("Adding…"))
        leads = self.query_one("#lf-leads", LeadSource)
        self.send(leads.source, leads.values())

    @work(exclusive=True, group="leads-form")
    async def send(self, source: str, values: dict[str, str]) -> None:
        error = self.query_one("#lf-error", Static)
        try:
            report = await add_leads(self.ctx, int(self.campaign["id"]), source, values)
        except ServerUnreachable:
            error.update(_("The server cannot be reached; try again in a moment."))
            return
        except ApiError as exc:
            error.update(_("The server did not accept it: {reason}").format(reason=exc.describe()))
            return
        except ValueError as exc:
            error.update(str(exc))
            return
        self.dismiss(report)

    def action_cancel(self) -> None:
        self.dismiss(None)


def report_notice(report: dict[str, Any] | None) -> str | None:
    """The notification after a list was added."""
    return report_text(report) if report else None
