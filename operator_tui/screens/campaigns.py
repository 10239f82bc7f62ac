"""The supervisor's campaigns: the list with states, modes, leads by state and the abandon rate;
create, edit, attach a script, add leads, launch / pause / resume / stop.

The list follows ``campaign.state`` and ``campaign.stats`` from its own event stream, and
asks the server again (lead counts) after each change and every ``refresh_seconds``.
Whatever the server refuses (launching with no leads, changing the script of a running
campaign) is shown under the list with the server's own words, and as a notification.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.formatting import LINK_WORDS, word
from operator_tui.i18n import N_, _
from operator_tui.messages import LinkChanged, ServerEvent
from operator_tui.screens.base import DeskScreenBase
from operator_tui.screens.campaign_form import CampaignForm, LeadsForm, report_notice
from operator_tui.screens.pick import PickScreen
from operator_tui.screens.protocols import ProtocolsScreen
from operator_tui.screens.wallboard import WallboardScreen
from operator_tui.supervisor_actions import transition
from operator_tui.supervisor_campaigns import (
    CAMPAIGN_STATE_WORDS,
    MODE_WORDS,
    allowed,
    campaign_cells,
    format_days,
    leads_text,
    percent,
    problem_lines,
    start_action,
)
from operator_tui.supervisor_events import follow_events
from operator_tui.supervisor_wallboard import short_name
from operator_tui.widgets.key_bar import KeyBar

log = logging.getLogger(__name__)

# (cell key, heading msgid, width when the terminal is narrow; None: not shown there)
COLUMNS = (("name", N_("Campaign"), 22), ("state", N_("State"), 11), ("mode", N_("Mode"), None),
           ("agents", N_("Agents"), None), ("abandoned", N_("Abandoned"), 7), ("leads", N_("Leads"), 24))
NARROW_BELOW = 100


class CampaignsScreen(DeskScreenBase):
    """The team's campaigns; the selected one is acted on by the keys in the footer."""

    DEFAULT_CSS = """
    CampaignsScreen #cmp-head { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    CampaignsScreen #cmp-table { height: 1fr; min-height: 5; }
    CampaignsScreen #cmp-detail { height: auto; max-height: 12; padding: 0 1; border-top: solid $panel; }
    CampaignsScreen #cmp-error { height: auto; color: $error; padding: 0 1; }
    """

    BINDINGS = [
        Binding("f1", "app.toggle_help", N_("Keys")),
        Binding("f2", "new", N_("New")),
        Binding("f3", "edit", N_("Settings")),
        Binding("f4", "script", N_("Script")),
        Binding("f5", "start", N_("Start")),
        Binding("f6", "pause", N_("Pause")),
        Binding("f7", "stop", N_("Stop")),
        Binding("f8", "add_leads", N_("Leads")),
        Binding("f9", "wallboard", N_("Wallboard")),
        Binding("f10", "protocols", N_("Protocols")),
        # Switches the language as everywhere; left out of the full key line (F1 lists it).
        Binding("f12", "app.switch_language", N_("Language"), show=False),
        Binding("escape", "back", N_("Back")),
        Binding("ctrl+r", "refresh", N_("Refresh"), show=False),
    ]

    refresh_seconds = 15.0
    # A campaign.stats event this recent is fresher than a reload's GET (which, served by a
    # process without the dialer, has the day's figures only).
    live_seconds = 5.0

    def __init__(self, ctx: DeskContext, user: dict[str, Any]) -> None:
        super().__init__()
        self.ctx = ctx
        self.user = user
        self.campaigns: list[dict[str, Any]] = []
        self.stats: dict[int, dict[str, Any]] = {}
        self.streamed_at: dict[int, float] = {}  # campaign -> loop time of its last campaign.stats event
        self.users: list[dict[str, Any]] = []
        self.error: str | None = None
        self.link_state = "connecting"
        self.loaded = False
        self.narrow = False
        # The campaign chosen (its id), kept across redraws that rebuild or reorder the table.
        self.chosen: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="cmp-head", markup=False)
        with Vertical():
            yield DataTable(id="cmp-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="cmp-detail", markup=False)
            yield Static(id="cmp-error", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_error(None)
        self._columns()
        self._head()
        follow_events(self, self.ctx)
        self.reload()
        self.set_interval(self.refresh_seconds, self.reload)
        self.query_one("#cmp-table", DataTable).focus()

    def retranslate(self) -> None:
        self._columns()
        self._head()
        self._detail()

    # ------------------------------------------------------------------ drawing

    def _head(self) -> None:
        self.query_one("#cmp-head", Static).update(
            f"{_('Campaigns')} · {len(self.campaigns)} · {word(LINK_WORDS, self.link_state)}")

    def _shown_columns(self) -> list[tuple[str, str, int | None]]:
        return [c for c in COLUMNS if not self.narrow or c[2] is not None]

    def _columns(self) -> None:
        table = self.query_one("#cmp-table", DataTable)
        table.clear(columns=True)
        for key, heading, width in self._shown_columns():
            # Narrow: fixed widths, and the rows grow to wrap what does not fit.
            table.add_column(_(heading), key=key, width=width if self.narrow else None)
        self._fill()

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW_BELOW
        if narrow != self.narrow:
            self.narrow = narrow
            self._columns()

    def _fill(self) -> None:
        table = self.query_one("#cmp-table", DataTable)
        table.clear()
        keys = [key for key, _heading, _width in self._shown_columns()]
        for campaign in self.campaigns:
            cells = campaign_cells(campaign, self.stats.get(int(campaign["id"])))
            table.add_row(*(cells[k] for k in keys), key=str(campaign["id"]), height=None if self.narrow else 1)
        if self.campaigns:
            ids = [int(c["id"]) for c in self.campaigns]
            table.move_cursor(row=ids.index(self.chosen) if self.chosen in ids else 0)
        self._detail()
        self.refresh_bindings()

    @property
    def selected(self) -> dict[str, Any] | None:
        found = self.query("#cmp-table")
        row = found.first(DataTable).cursor_row if found else None
        if not self.campaigns or row is None or not 0 <= row < len(self.campaigns):
            return None
        return self.campaigns[row]

    def select(self, campaign_id: int) -> None:
        for index, campaign in enumerate(self.campaigns):
            if int(campaign["id"]) == campaign_id:
                self.query_one("#cmp-table", DataTable).cursor_coordinate = Coordinate(index, 0)
                return

    def _detail(self) -> None:
        campaign = self.selected
        detail = self.query_one("#cmp-detail", Static)
        if campaign is None:
            detail.update(_("No campaigns yet: F2 creates one.") if self.loaded else _("Loading…"))
            return
        hours = campaign.get("hours") or {}
        retry = campaign.get("retry_rules") or {}
        pacing = campaign.get("pacing") or {}
        names = {int(u["id"]): short_name(str(u.get("full_name") or u.get("login"))) for u in self.users}
        agents = ", ".join(names.get(int(a), f"#{a}") for a in campaign.get("agents") or []) or _("none")
        stats = self.stats.get(int(campaign["id"])) or {}
        lines = [
            f"«{campaign.get('name', '')}» · {word(CAMPAIGN_STATE_WORDS, campaign.get('state'))} · "
            f"{word(MODE_WORDS, campaign.get('mode'))} · {_('queue')} {campaign.get('queue', '')} · "
            f"{_('script')} {campaign.get('script_code') or '—'}",
            _("Hours {start}–{end}, days {days}; attempts up to {attempts}, busy → {busy} min, "
              "no answer → {no_answer} min").format(
                start=hours.get("start", "09:00"), end=hours.get("end", "21:00"), days=format_days(hours.get("days") or []),
                attempts=retry.get("max_attempts", "—"), busy=retry.get("busy_minutes", "—"),
                no_answer=retry.get("no_answer_minutes", "—")),
            _("Abandon cap {cap}, lines per agent {lines}; today: dials {dials}, answered {answered}, "
              "abandoned {abandoned}").format(
                cap=percent(pacing.get("abandon_cap")), lines=pacing.get("lines_per_agent", "—"),
                dials=stats.get("day_dials", 0), answered=stats.get("day_answered", 0),
                abandoned=stats.get("day_abandoned", 0))
            + (", " + _("answering machines dropped {machines}").format(machines=stats.get("day_machines", 0))
               if pacing.get("amd") or stats.get("day_machines") else "")
            + (" " + _("(people among them, estimated: {people})").format(people=stats["day_amd_misread"])
               if stats.get("day_amd_misread") else ""),
            _("Operators: {names}").format(names=agents),
            _("Leads: {leads}").format(leads=leads_text(campaign.get("lead_counts"))),
            *(f"⚠ {line}" for line in problem_lines(stats)),
        ]
        detail.update("\n".join(lines))

    def show_error(self, message: str | None) -> None:
        self.error = message
        line = self.query_one("#cmp-error", Static)
        line.update(message or "")
        line.display = bool(message)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        campaign = self.selected
        self.chosen = int(campaign["id"]) if campaign else None
        self._detail()
        self.refresh_bindings()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        campaign = self.selected
        state = campaign.get("state") if campaign else None
        if action in ("edit", "script", "add_leads", "wallboard", "protocols"):
            return campaign is not None or None
        if action == "start":
            return start_action(state) is not None or None
        if action == "pause":
            return allowed("pause", state) or None
        if action == "stop":
            return allowed("stop", state) or None
        return True

    # ------------------------------------------------------------------ the server

    @work(exclusive=True, group="campaigns-load")
    async def reload(self, select_id: int | None = None) -> None:
        api = self.ctx.api
        try:
            campaigns = await api.campaigns.list()
            if not self.users:
                self.users = await api.users()
        except ServerUnreachable:
            self.show_error(_("The server cannot be reached; the list will load when it is back."))
            return
        except ApiError as exc:
            self.show_error(_("The campaigns did not load: {reason}").format(reason=exc.describe()))
            return
        self.campaigns = sorted(campaigns, key=lambda c: (c.get("state") != "running", -int(c["id"])))
        self.loaded = True
        # Every campaign's figures again, but those the stream keeps fresh: a stopped campaign's
        # day rolls over at midnight, and a missed last event must not stay on screen.
        now = asyncio.get_running_loop().time()
        stale = [int(c["id"]) for c in self.campaigns
                 if now - self.streamed_at.get(int(c["id"]), float("-inf")) > self.live_seconds]
        for campaign_id, stats in zip(stale, await asyncio.gather(*(self._stats(c) for c in stale)), strict=True):
            if stats is not None:
                self.stats[campaign_id] = stats
        self._fill()
        self._head()
        if select_id is not None:
            self.select(select_id)

    async def _stats(self, campaign_id: int) -> dict[str, Any] | None:
        try:
            return await self.ctx.api.campaign_stats(campaign_id)
        except (ApiError, ServerUnreachable) as exc:
            log.info("campaigns.stats_unavailable id=%s error=%s", campaign_id, exc)
            return None

    def on_link_changed(self, message: LinkChanged) -> None:
        self.link_state = message.link.state
        self._head()

    def on_server_event(self, message: ServerEvent) -> None:
        topic, payload = message.topic, message.payload
        campaign_id = payload.get("campaign_id")
        if topic == "campaign.stats" and isinstance(campaign_id, int):
            self.stats[campaign_id] = payload
            self.streamed_at[campaign_id] = asyncio.get_running_loop().time()
            self._update_row(campaign_id)
        elif topic == "campaign.state" and isinstance(campaign_id, int):
            known = next((c for c in self.campaigns if int(c["id"]) == campaign_id), None)
            if known is not None:
                known["state"] = payload.get("state", known.get("state"))
                self._update_row(campaign_id)
            self.reload()

    def _update_row(self, campaign_id: int) -> None:
        """One row's cells again (a stats tick must not rebuild the table under the cursor)."""
        campaign = next((c for c in self.campaigns if int(c["id"]) == campaign_id), None)
        if campaign is None:
            return
        table = self.query_one("#cmp-table", DataTable)
        cells = campaign_cells(campaign, self.stats.get(campaign_id))
        for key, _heading, _width in self._shown_columns():
            table.update_cell(str(campaign_id), key, cells[key], update_width=not self.narrow)
        if self.selected is campaign:
            self._detail()
            self.refresh_bindings()

    def _replace(self, campaign: dict[str, Any]) -> None:
        for index, known in enumerate(self.campaigns):
            if int(known["id"]) == int(campaign["id"]):
                self.campaigns[index] = campaign
                break
        else:
            self.campaigns.insert(0, campaign)
        self._fill()
        self.select(int(campaign["id"]))

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    @work(exclusive=True, group="campaigns-form")
    async def action_new(self) -> None:
        await self._open_form(None)

    @work(exclusive=True, group="campaigns-form")
    async def action_edit(self) -> None:
        if self.selected is not None:
            await self._open_form(self.selected)

    async def _open_form(self, campaign: dict[str, Any] | None) -> None:
        try:
            scripts = await self.ctx.api.scripts()
        except (ApiError, ServerUnreachable) as exc:
            log.info("campaigns.scripts_unavailable error=%s", exc)
            scripts = []
        result = await self.app.push_screen_wait(CampaignForm(self.ctx, campaign, scripts, self.users))
        if not result:
            return
        self.show_error(None)
        self._replace(result["campaign"])
        notice = report_notice(result.get("report"))
        self.notify(_("Saved: «{name}».").format(name=result["campaign"].get("name", "")) + (f" {notice}" if notice else ""),
                    timeout=8)
        self.reload(int(result["campaign"]["id"]))

    @work(exclusive=True, group="campaigns-script")
    async def action_script(self) -> None:
        campaign = self.selected
        if campaign is None:
            return
        try:
            scripts = await self.ctx.api.scripts()
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; try again in a moment."), severity="error")
            return
        except ApiError as exc:
            self.notify(_("The scripts did not load: {reason}").format(reason=exc.describe()), severity="error")
            return
        if not scripts:
            self.notify(_("No scripts are published yet."), severity="warning")
            return
        choices: list[tuple[Any, str]] = [(s["code"], f"{s.get('name') or s['code']} ({s['code']}, v{s.get('version', '')})")
                                          for s in scripts]
        choices.append(("", _("no script")))
        code = await self.app.push_screen_wait(PickScreen(N_("Which script?"), choices))
        if code is None:
            return
        try:
            updated = await self.ctx.api.update_campaign(int(campaign["id"]), {"script_code": code or None})
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; try again in a moment."), severity="error")
            return
        except ApiError as exc:
            message = _("The script was not attached: {reason}").format(reason=exc.describe())
            self.show_error(message)
            self.notify(message, severity="error", timeout=10)
            return
        self.show_error(None)
        self._replace(updated)
        self.notify(_("Script of «{name}»: {script}").format(name=updated.get("name", ""),
                                                             script=updated.get("script_code") or _("no script")))

    @work(exclusive=True, group="campaigns-leads")
    async def action_add_leads(self) -> None:
        campaign = self.selected
        if campaign is None:
            return
        report = await self.app.push_screen_wait(LeadsForm(self.ctx, campaign))
        if report:
            self.notify(report_notice(report) or "", timeout=8)
            self.reload(int(campaign["id"]))

    def action_start(self) -> None:
        campaign = self.selected
        action = start_action(campaign.get("state") if campaign else None)
        if action:
            self._transition(action)

    def action_pause(self) -> None:
        self._transition("pause")

    def action_stop(self) -> None:
        self._transition("stop")

    @work(group="campaigns-transition")
    async def _transition(self, action: str) -> None:
        campaign = self.selected
        if campaign is None:
            return
        updated = await transition(self, self.ctx, campaign, action)
        if updated is not None:
            self.show_error(None)
            self._replace(updated)

    def action_wallboard(self) -> None:
        campaign = self.selected
        if campaign is not None:
            self.app.push_screen(WallboardScreen(self.ctx, self.user, int(campaign["id"])))

    def action_protocols(self) -> None:
        campaign = self.selected
        if campaign is not None:
            self.app.push_screen(ProtocolsScreen(self.ctx, self.user, campaign=campaign))

