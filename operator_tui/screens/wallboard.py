"""The wallboard: one campaign's live figures, the team's agents with their states and durations,
the calls in progress; refreshed by ``campaign.stats``, ``agent.state`` and ``call.*`` events.

It reads its own event stream (``supervisor_events``), so it can stay open all day.
Pacing limits change live from here (F3); pause/resume and stop work as on the list.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.formatting import AGENT_STATE_WORDS, LINK_WORDS, word
from operator_tui.i18n import N_, _
from operator_tui.messages import LinkChanged, ServerEvent
from operator_tui.screens.base import DeskModal, DeskScreenBase
from operator_tui.screens.pick import PickScreen
from operator_tui.supervisor_actions import transition
from operator_tui.supervisor_campaigns import (
    CAMPAIGN_STATE_WORDS,
    MAX_AMD_MISREAD_PERCENT,
    MODE_WORDS,
    allowed,
    problem_lines,
    read_percent,
    start_action,
)
from operator_tui.supervisor_events import follow_events
from operator_tui.supervisor_wallboard import AGENT_STATES, Board, short_name
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr
from operator_tui.widgets.wallboard_agents import AgentsTable
from operator_tui.widgets.wallboard_calls import CallsTable
from operator_tui.widgets.wallboard_figures import FiguresPanel

log = logging.getLogger(__name__)

PACING_FIELDS = (
    ("abandon_cap", N_("Abandon cap, % (at most 3)")),
    ("lines_per_agent", N_("Lines per agent (1-3)")),
    ("ring_timeout", N_("Ring timeout, s (10-60)")),
    ("max_lines", N_("Lines at most (empty: no limit)")),
    ("amd_misread_share", N_("People among the answering machines, % (estimate, 0-50)")),
)


def pacing_patch(values: dict[str, str], current: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The PATCH body for what changed, or an error naming the field (pure)."""
    patch: dict[str, Any] = {}
    cap = values.get("abandon_cap", "").strip().replace(",", ".").rstrip("%").strip()
    if cap:
        try:
            fraction = round(float(cap) / 100, 6)
        except ValueError:
            return {}, _("Abandon cap: a number of percent, at most 3")
        if not 0 < fraction <= 0.03:
            return {}, _("Abandon cap: above 0 and at most 3 %")
        if fraction != current.get("abandon_cap"):
            patch["abandon_cap"] = fraction
    share = read_percent(values, "amd_misread_share")
    if share is not None:
        if not 0 <= share <= MAX_AMD_MISREAD_PERCENT:
            return {}, _("People among the machines: a percent from 0 to 50")
        fraction = round(share / 100, 6)
        if fraction != current.get("amd_misread_share", 0.0):
            patch["amd_misread_share"] = fraction
    for name, low, high in (("lines_per_agent", 1, 3), ("ring_timeout", 10, 60), ("max_lines", 1, 1000)):
        text = values.get(name, "").strip()
        if not text:
            if name == "max_lines" and current.get("max_lines") is not None:
                patch["max_lines"] = None
            continue
        if not text.isdigit() or not low <= int(text) <= high:
            label = dict(PACING_FIELDS)[name]
            return {}, _("{field}: a whole number from {low} to {high}").format(field=_(label), low=low, high=high)
        if int(text) != current.get(name):
            patch[name] = int(text)
    return patch, None


class PacingForm(DeskModal):
    """The campaign's pacing limits, changed live; dismisses with the server's new limits, or None."""

    DEFAULT_CSS = """
    PacingForm #pf-error { color: $error; height: auto; }
    PacingForm #pf-title { text-style: bold; }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), priority=True),
        Binding("escape", "cancel", N_("Cancel")),
    ]

    def __init__(self, ctx: DeskContext, campaign_id: int, pacing: dict[str, Any]) -> None:
        super().__init__()
        self.ctx = ctx
        self.campaign_id = campaign_id
        self.pacing = pacing

    def compose(self) -> ComposeResult:
        current = self.pacing
        shown = {
            "abandon_cap": f"{current['abandon_cap'] * 100:g}" if isinstance(current.get("abandon_cap"), int | float) else "",
            "lines_per_agent": str(current.get("lines_per_agent") or ""),
            "ring_timeout": str(current.get("ring_timeout") or ""),
            "max_lines": str(current.get("max_lines") or ""),
            "amd_misread_share": f"{(current.get('amd_misread_share') or 0.0) * 100:g}",
        }
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Tr("Pacing limits (applied at once)", id="pf-title")
            for name, label in PACING_FIELDS:
                yield Tr(label)
                yield Input(value=shown[name], id=f"pf-{name}", max_length=10)
            yield Static(id="pf-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#pf-abandon_cap", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        values = {name: self.query_one(f"#pf-{name}", Input).value for name, _label in PACING_FIELDS}
        patch, error = pacing_patch(values, self.pacing)
        if error:
            self.query_one("#pf-error", Static).update(error)
            return
        if not patch:
            self.dismiss(None)
            return
        self.send(patch)

    @work(exclusive=True, group="pacing")
    async def send(self, patch: dict[str, Any]) -> None:
        error = self.query_one("#pf-error", Static)
        try:
            out = await self.ctx.api.set_pacing(self.campaign_id, patch)
        except ServerUnreachable:
            error.update(_("The server cannot be reached; try again in a moment."))
            return
        except ApiError as exc:
            error.update(_("The server did not accept it: {reason}").format(reason=exc.describe()))
            return
        self.dismiss(out)

    def action_cancel(self) -> None:
        self.dismiss(None)


class WallboardScreen(DeskScreenBase):
    """Live view of a campaign and the team; ``campaign_id`` None watches the first running campaign."""

    DEFAULT_CSS = """
    WallboardScreen #wb-head { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    WallboardScreen #wb-main { height: 1fr; }
    WallboardScreen #wb-left { width: 54; }
    WallboardScreen #wb-right { width: 1fr; border-left: tall $panel; }
    WallboardScreen #wb-agent-counts { height: auto; padding: 0 1; }
    WallboardScreen #wb-calls-title, WallboardScreen #wb-agents-title { text-style: bold; padding: 0 1; color: $accent; }
    WallboardScreen #wb-error { height: auto; color: $error; padding: 0 1; }
    WallboardScreen #wb-problems { height: auto; color: $warning; padding: 0 1; }
    WallboardScreen.narrow #wb-main { layout: vertical; }
    WallboardScreen.narrow #wb-left { width: 1fr; height: auto; }
    WallboardScreen.narrow #wb-calls { height: auto; max-height: 4; }
    WallboardScreen.narrow #wb-right { width: 1fr; height: 1fr; border-left: none; border-top: tall $panel; }
    """

    # Below this many columns the figures sit above the agents instead of beside them.
    narrow_below = 110

    BINDINGS = [
        Binding("f1", "app.toggle_help", N_("Keys")),
        Binding("f2", "choose_campaign", N_("Campaign")),
        Binding("f3", "pacing", N_("Pacing")),
        Binding("f5", "start", N_("Start")),
        Binding("f6", "pause", N_("Pause")),
        Binding("f7", "stop", N_("Stop")),
        Binding("f12", "app.switch_language", N_("Language"), show=False),
        Binding("escape", "back", N_("Back")),
        Binding("ctrl+r", "refresh", N_("Refresh"), show=False),
    ]

    def __init__(self, ctx: DeskContext, user: dict[str, Any], campaign_id: int | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.user = user
        self.board = Board(campaign_id)
        self.link_state = "connecting"
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(id="wb-head", markup=False)
        yield Static(id="wb-problems", markup=False)
        with Horizontal(id="wb-main"):
            with Vertical(id="wb-left"):
                yield FiguresPanel(id="wb-figures")
                yield Tr("Calls in progress", id="wb-calls-title")
                yield CallsTable(id="wb-calls")
            with Vertical(id="wb-right"):
                yield Tr("Agents", id="wb-agents-title")
                yield Static(id="wb-agent-counts", markup=False)
                yield AgentsTable(id="wb-agents")
        yield Static(id="wb-error", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_error(None)
        self.query_one("#wb-problems", Static).display = False
        follow_events(self, self.ctx)
        self.set_interval(1.0, self.tick)
        self.reload()
        self.render_all()

    def retranslate(self) -> None:
        self.render_all()

    def on_resize(self) -> None:
        self.set_class(self.size.width < self.narrow_below, "narrow")

    # ------------------------------------------------------------------ drawing

    def render_all(self) -> None:
        self._head()
        self.query_one("#wb-figures", FiguresPanel).show(self.board)
        self._agents()
        self._calls()

    def _head(self) -> None:
        campaign = self.board.campaign
        now = self.ctx.clock.now()
        if campaign is None:
            what = _("no campaign") if self.loaded else _("Loading…")
        else:
            what = (f"«{campaign.get('name', '')}» · {word(CAMPAIGN_STATE_WORDS, campaign.get('state'))} · "
                    f"{word(MODE_WORDS, campaign.get('mode'))}")
        self.query_one("#wb-head", Static).update(
            f"{_('Wallboard')} · {what} · {word(LINK_WORDS, self.link_state)} · {now:%H:%M:%S}")
        # What the dialer says keeps the campaign from dialing, under the head, while it holds.
        problems = problem_lines(self.board.stats) if campaign is not None else []
        line = self.query_one("#wb-problems", Static)
        line.update("\n".join(f"⚠ {p}" for p in problems))
        line.display = bool(problems)

    def _agents(self) -> None:
        counts = self.board.agent_counts()
        self.query_one("#wb-agent-counts", Static).update(
            " · ".join(f"{word(AGENT_STATE_WORDS, state)} {counts[state]}" for state in AGENT_STATES if counts.get(state))
            or _("No agents of your team have a phone."))
        table = self.query_one("#wb-agents", AgentsTable)
        table.calls_numbers = {c.call_id: c.number for c in self.board.calls.values() if c.number}
        table.show(self.board.agent_list(), self.ctx.clock.now())

    def _calls(self) -> None:
        self.query_one("#wb-calls", CallsTable).show(self.board.call_list(), self.ctx.clock.now(), self._agent_name)

    def _agent_name(self, endpoint: str | None) -> str | None:
        name = self.board.agent_name(endpoint)
        return short_name(name) if name else None

    def tick(self) -> None:
        """Durations count on between events."""
        self._head()
        self._agents()
        self._calls()

    def show_error(self, message: str | None) -> None:
        line = self.query_one("#wb-error", Static)
        line.update(message or "")
        line.display = bool(message)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = (self.board.campaign or {}).get("state")
        if action == "pacing":
            return self.board.campaign is not None or None
        if action == "start":
            return start_action(state) is not None or None
        if action == "pause":
            return allowed("pause", state) or None
        if action == "stop":
            return allowed("stop", state) or None
        return True

    # ------------------------------------------------------------------ the server

    @work(exclusive=True, group="wallboard-load")
    async def reload(self) -> None:
        api = self.ctx.api
        try:
            campaign_id = self.board.campaign_id
            if campaign_id is None:
                campaigns = await api.campaigns.list()
                running = [c for c in campaigns if c.get("state") == "running"] or campaigns
                campaign_id = int(running[0]["id"]) if running else None
            agents = await api.agents()
            campaign = stats = None
            if campaign_id is not None:
                campaign, stats = await asyncio.gather(api.campaigns.get(campaign_id), api.campaign_stats(campaign_id))
        except ServerUnreachable:
            self.show_error(_("The server cannot be reached; the wallboard fills in when it is back."))
            return
        except ApiError as exc:
            self.show_error(_("The wallboard did not load: {reason}").format(reason=exc.describe()))
            return
        self.show_error(None)
        self.board.load_agents(agents)
        if campaign is not None:
            self.board.set_campaign(campaign)
            # Live figures from events may have come first; the answer only fills in a board still empty.
            if self.board.stats is None and stats is not None:
                self.board.load_stats(stats)
        self.loaded = True
        self.render_all()
        self.refresh_bindings()

    def on_link_changed(self, message: LinkChanged) -> None:
        self.link_state = message.link.state
        self._head()

    def on_server_event(self, message: ServerEvent) -> None:
        if message.topic == "ws.ready":
            # (Re)connected: what happened while the stream was down, or before it first
            # opened while the first load was on its way, is read again.
            self.reload()
            return
        if not self.board.apply(message.topic, message.payload, self.ctx.clock.now()):
            return
        if message.topic == "agent.state":
            self._agents()
        elif message.topic.startswith("call."):
            self._calls()
            self._agents()
        else:
            self._head()
            self.query_one("#wb-figures", FiguresPanel).show(self.board)
            self.refresh_bindings()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    @work(exclusive=True, group="wallboard-choose")
    async def action_choose_campaign(self) -> None:
        try:
            campaigns = await self.ctx.api.campaigns.list()
        except (ApiError, ServerUnreachable) as exc:
            self.notify(_("The campaigns did not load: {reason}").format(reason=str(exc)), severity="error")
            return
        if not campaigns:
            self.notify(_("No campaigns yet: F2 creates one."), severity="warning")
            return
        choices = [(int(c["id"]), f"{c.get('name', '')} · {word(CAMPAIGN_STATE_WORDS, c.get('state'))}")
                   for c in campaigns]
        picked = await self.app.push_screen_wait(PickScreen(N_("Which campaign?"), choices))
        if picked is not None:
            self.board = Board(int(picked))
            self.render_all()
            self.reload()

    def action_pacing(self) -> None:
        campaign = self.board.campaign
        if campaign is None:
            return
        self.app.push_screen(PacingForm(self.ctx, int(campaign["id"]), dict(self.board.pacing or {})), self._pacing_set)

    def _pacing_set(self, pacing: dict[str, Any] | None) -> None:
        if not pacing:
            return
        self.board.set_pacing(pacing)
        self.query_one("#wb-figures", FiguresPanel).show(self.board)
        self.notify(_("Pacing limits changed."))

    def action_start(self) -> None:
        action = start_action((self.board.campaign or {}).get("state"))
        if action:
            self._transition(action)

    def action_pause(self) -> None:
        self._transition("pause")

    def action_stop(self) -> None:
        self._transition("stop")

    @work(group="wallboard-transition")
    async def _transition(self, action: str) -> None:
        campaign = self.board.campaign
        if campaign is None:
            return
        updated = await transition(self, self.ctx, campaign, action)
        if updated is not None:
            self.show_error(None)
            self.board.campaign = {**campaign, **updated}
            self._head()
            self.refresh_bindings()

