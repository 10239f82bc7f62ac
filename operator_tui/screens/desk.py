"""The operator desk: status bar, the client card (or the day's agenda, or a new-client form), the script.

Server events arrive as ServerEvent messages from the app's event stream and are folded
into a pure DeskState; widgets get their data as attributes and report what the
operator did as messages. Every request runs in a worker; a failed one is a
notification, and what the operator typed stays (in its field, or in the outbox on
disk until the server takes it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import ContentSwitcher, Input, TextArea

from operator_tui.agenda import AgendaItem, day_bounds, due, open_items
from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.card_view import card_view
from operator_tui.context import DeskContext
from operator_tui.desk_state import CallInfo, DeskState
from operator_tui.i18n import N_, _
from operator_tui.local_state import LocalState
from operator_tui.messages import (
    CallRequested,
    LinkChanged,
    NewClientSubmitted,
    OpenClient,
    ScriptAction,
    ServerEvent,
)
from operator_tui.outbox import Outbox, deliver, new_item, retryable
from operator_tui.screens.agenda import AgendaScreen
from operator_tui.screens.base import DeskModal, DeskScreenBase
from operator_tui.screens.pick import PickScreen
from operator_tui.screens.preview import PreviewScreen
from operator_tui.screens.search import SearchScreen
from operator_tui.screens.supervisor import (
    SupervisorMenu,
    is_supervisor,
    open_entry,
    supervisor_entries,
)
from operator_tui.widgets.agenda_panel import AgendaPanel
from operator_tui.widgets.client_card import ClientCard
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.new_client_form import NewClientForm
from operator_tui.widgets.script_panel import ScriptPanel
from operator_tui.widgets.status_bar import StatusBar
from operator_tui.widgets.wrapup_panel import WrapUpPanel
from operator_tui.wrapup import (
    Disposition,
    WrapUp,
    campaign_dispositions,
    plain_dispositions,
    requests_for,
)
from operator_tui.ws_client import backoff_delay

log = logging.getLogger(__name__)


class DeskScreen(DeskScreenBase):
    """The operator's working screen for the whole shift."""

    DEFAULT_CSS = """
    DeskScreen #desk-main { height: 1fr; }
    DeskScreen #desk-left { width: 1fr; border-right: tall $panel; }
    DeskScreen #desk-right { width: 1fr; }
    """

    BINDINGS = [
        Binding("f1", "app.toggle_help", N_("Keys"), priority=True),
        Binding("f2", "search", N_("Search"), priority=True),
        Binding("f3", "call", N_("Call"), priority=True),
        Binding("f4", "script", N_("Script"), priority=True),
        Binding("f5", "pause", N_("Pause/Ready"), priority=True),
        Binding("f6", "wrapup", N_("Wrap-up"), priority=True),
        Binding("f7", "agenda", N_("Today"), priority=True),
        Binding("f8", "preview", N_("Preview"), priority=True),
        Binding("f9", "new_client", N_("New client"), priority=True),
        Binding("f11", "supervisor", N_("Supervisor"), priority=True),
        Binding("f12", "app.switch_language", N_("Language"), priority=True),
        Binding("ctrl+q", "app.quit", N_("Quit"), priority=True),
        Binding("ctrl+s", "save_form", N_("Save the form"), show=False),
        Binding("ctrl+k", "callback_in_hour", N_("Callback in 1 h"), show=False),
        Binding("ctrl+t", "callback_tomorrow", N_("Callback tomorrow 10:00"), show=False),
        Binding("ctrl+b", "script_back", N_("Script: back one step"), show=False),
        Binding("ctrl+o", "script_objection", N_("Script: objection"), show=False),
        Binding("ctrl+r", "script_return", N_("Script: return from the objection"), show=False),
        Binding("escape", "close_form", N_("Close the form"), show=False),
        *[Binding(str((i + 1) % 10), f"choose({i})", show=False) for i in range(10)],
    ]

    def __init__(self, ctx: DeskContext, user: dict[str, Any]) -> None:
        super().__init__()
        self.ctx = ctx
        self.user = user
        self.state = DeskState(user_id=user.get("id"))
        self.store = LocalState(ctx.state_dir, ctx.api.base_url, str(user.get("login", "")))
        self.outbox = Outbox(on_change=self._persist_now)
        self.pop: dict[str, Any] | None = None
        self.card: dict[str, Any] | None = None
        self.card_client_id: int | None = None
        self.open_events: list[dict[str, Any]] | None = None
        self.campaigns: dict[int, dict[str, Any]] = {}
        self.session: dict[str, Any] | None = None
        self.agenda: list[AgendaItem] = []
        self.popped: set[int] = set()
        self.wrapup_draft: dict[str, Any] = {}
        self.paused_for_wrapup = False
        self._retry_at: datetime | None = None
        self._retries = 0
        self._flushing = False
        self._flush_again = False
        self._agenda_at: datetime | None = None
        self._card_minute: str | None = None
        self._card_stale = False
        self._session_stale = False
        self._save_pending = False
        # A session being fetched again after a restart: kept on disk until it is back.
        self._resuming: int | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield StatusBar(str(self.user.get("full_name") or self.user.get("login") or ""), id="status")
        with Horizontal(id="desk-main"):
            with ContentSwitcher(initial="idle", id="desk-left"):
                yield AgendaPanel(id="idle")
                yield ClientCard(id="card")
                yield NewClientForm(id="new-client")
            with ContentSwitcher(initial="desk-script", id="desk-right"):
                yield ScriptPanel(id="desk-script")
                yield Vertical(id="wrapup-slot")
        yield KeyBar()

    def on_mount(self) -> None:
        self._restore()
        self._publish()
        self.set_interval(1.0, self.tick)
        self.tick()
        self.refresh_agenda()
        if self.state.wrapup is not None:
            self._wrapup_after_restore(self.state.wrapup.campaign_id)

    @work(group="campaign")
    async def _wrapup_after_restore(self, campaign_id: int | None) -> None:
        """The wrap-up the desk stopped in: a campaign call's needs its campaign's codes, fetched first."""
        if campaign_id is not None:
            await self._load_campaign(campaign_id)
        self.action_wrapup()

    @property
    def status_bar(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def script_panel(self) -> ScriptPanel:
        return self.query_one("#desk-script", ScriptPanel)

    @property
    def card_widget(self) -> ClientCard:
        return self.query_one("#card", ClientCard)

    def _left(self, which: str) -> None:
        self.query_one("#desk-left", ContentSwitcher).current = which

    def _right(self, which: str) -> None:
        """The script panel or the wrap-up on the right (the script catches up when it is shown again)."""
        self.query_one("#desk-right", ContentSwitcher).current = which
        if which == "desk-script" and self._session_stale:
            self._show_session()

    def retranslate(self) -> None:
        self._render_card()

    def on_screen_resume(self) -> None:
        if self._card_stale:
            self._render_card()
        if self._session_stale:
            self._show_session()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "supervisor":
            return is_supervisor(self.user)
        return True

    @property
    def wrapup_panel(self) -> WrapUpPanel | None:
        """The wrap-up form when it is the one showing on the right."""
        if self.query_one("#desk-right", ContentSwitcher).current != "wrapup-slot":
            return None
        found = self.query(WrapUpPanel)
        return found.first() if found else None

    # ------------------------------------------------------------------ state in, state out

    def _set_state(self, state: DeskState) -> None:
        before = self.state
        self.state = state
        if before.wrapup is None and state.wrapup is not None:
            self._call_ended_into_wrapup()
        self._publish()
        if (before.call, before.wrapup) != (state.call, state.wrapup):
            self._persist()

    def _publish(self) -> None:
        self.status_bar.state = self.state
        self.status_bar.now = self.ctx.clock.now()

    def _persist(self) -> None:
        """Save the desk's state soon: changes that come together (a pop, its card) are written once."""
        if not self._save_pending:
            self._save_pending = True
            self.set_timer(0.2, self._persist_now)

    def on_unmount(self) -> None:
        # The desk closing (Ctrl+Q, a switch of user) must not drop a save still waiting on its timer.
        if self._save_pending:
            self._write_state()

    def _persist_now(self) -> None:
        """Save the desk's state now (the outbox: what the operator typed must be on disk at once)."""
        self._write_state()
        st = self.state
        if st.unsent != len(self.outbox):
            self.state = replace(st, unsent=len(self.outbox))
        if self.is_mounted:
            self.status_bar.state = self.state

    def _write_state(self) -> None:
        self._save_pending = False
        st = self.state
        self.store.data.update(
            call=st.call.to_dict() if st.call else None, wrapup=st.wrapup.to_dict() if st.wrapup else None,
            client_id=self.card_client_id, session_id=(self.session or {}).get("id") or self._resuming,
            outbox=self.outbox.items,
            refused=self.outbox.refused, wrapup_draft=self.wrapup_draft, paused_for_wrapup=self.paused_for_wrapup,
        )
        self.store.save()

    def _restore(self) -> None:
        data = dict(self.store.load())
        state = self.state
        call = CallInfo.from_dict(data["call"]) if data.get("call") else None
        wrapup = CallInfo.from_dict(data["wrapup"]) if data.get("wrapup") else None
        if call is not None and call.live:
            # The desk stopped during this call: nobody knows how it went, so it ends into a wrap-up.
            call = replace(call, phase="ended", ended_at=self.ctx.clock.now())
            if call.answered_at is not None or call.placed_here:
                wrapup = call
        self.outbox = Outbox(data.get("outbox"), data.get("refused"), on_change=self._persist_now)
        self.wrapup_draft = dict(data.get("wrapup_draft") or {})
        self.paused_for_wrapup = bool(data.get("paused_for_wrapup"))
        self.state = replace(state, call=call, wrapup=wrapup, unsent=len(self.outbox))
        if data.get("client_id"):
            self.show_client(int(data["client_id"]))
        if data.get("session_id"):
            self._resuming = int(data["session_id"])
            self.resume_session(self._resuming)
        if self.outbox.items:
            self._retry_at = self.ctx.clock.now()

    # ------------------------------------------------------------------ the clock

    def tick(self) -> None:
        now = self.ctx.clock.now()
        self.status_bar.now = now
        idle = self.query_one("#idle", AgendaPanel)
        idle.now = now
        minute = f"{now:%H:%M}"
        if minute != self._card_minute:
            self._card_minute = minute
            self._render_card()
        if self.outbox.items and self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self.flush_outbox()
        if self._agenda_at is not None and now >= self._agenda_at:
            self._agenda_at = None
            self.refresh_agenda()
        self._pop_due(now)

    # ------------------------------------------------------------------ server events

    def on_link_changed(self, message: LinkChanged) -> None:
        self._set_state(self.state.linked(message.link))
        if message.link.state == "online" and self.outbox.items:
            self.flush_outbox()

    def on_server_event(self, message: ServerEvent) -> None:
        topic, payload = message.topic, message.payload
        now = self.ctx.clock.now()
        if topic == "ws.ready":
            self.refresh_agent_state()
            return
        if topic == "reminder.due":
            item = AgendaItem.from_reminder(payload)
            if item is not None:
                self.agenda = sorted([i for i in self.agenda if i.id != item.id] + [item], key=lambda i: i.planned_at)
                self.popped.discard(item.id)
                self._show_agenda()
                self._pop_due(now, force=item)
            return
        state = self.state.apply(topic, payload, now)
        self._set_state(state)
        if topic == "screen.pop" and payload.get("user_id") in (None, self.state.user_id):
            self._on_screen_pop(payload)
        elif topic == "call.answered" and state.call is not None and state.call.script_id and not self.session:
            client_id = state.call.client_id
            if client_id is not None:
                self.start_script(client_id, state.call.script_id)

    def _on_screen_pop(self, payload: dict[str, Any]) -> None:
        self._close_light_modals()
        call = self.state.call
        if call is not None and call.campaign_id is not None:
            if payload.get("campaign_name"):
                self._set_state(self.state.named_campaign(call.campaign_id, str(payload["campaign_name"])))
            self.fetch_campaign(call.campaign_id)
        if payload.get("known") and isinstance(payload.get("client"), dict):
            self.pop = payload
            self._open_card(int(payload["client"]["client_id"]))
        else:
            new = payload.get("new_client") or {}
            self.pop = payload
            self.card = None
            self.card_client_id = None
            self._clear_session()
            form = self.query_one("#new-client", NewClientForm)
            form.prefill(new.get("phone") or payload.get("number"), new.get("name") or payload.get("caller_name"))
            self._left("new-client")
            form.focus_first()
        self._persist()

    def _close_light_modals(self) -> None:
        # A ringing phone wins over a search or a list (the wrap-up is in the desk and stays).
        while isinstance(self.app.screen, DeskModal):
            self.app.pop_screen()

    # ------------------------------------------------------------------ the card

    def show_client(self, client_id: int) -> None:
        """Open a client's card (from search, the agenda, a restart)."""
        if client_id != self.card_client_id:
            self.pop = None
        self._open_card(client_id)
        self._persist()

    def _open_card(self, client_id: int) -> None:
        # Another client's card drops the previous card and its script session.
        if client_id != self.card_client_id:
            self.card = None
            self.open_events = None
            self._clear_session()
        self.card_client_id = client_id
        self._left("card")
        self._render_card()
        self.load_card(client_id)

    def on_open_client(self, message: OpenClient) -> None:
        self.show_client(message.client_id)

    def _render_card(self) -> None:
        if self.card_client_id is None and self.pop is None:
            return
        if self.app.screen is not self:
            # A dialog covers the card: redrawing under it would repaint the whole terminal for
            # nothing on every change, so the card is drawn when the dialog closes.
            self._card_stale = True
            return
        self._card_stale = False
        campaign = self.campaigns.get(self.state.campaign_id) if self.state.campaign_id else None
        self.card_widget.view = card_view(self.pop, self.card, self.open_events, campaign, self.ctx.clock.now(),
                                          self.ctx.config.history_items)

    @work(exclusive=True, group="card")
    async def load_card(self, client_id: int) -> None:
        api = self.ctx.api
        try:
            card, events = await asyncio.gather(
                api.client_card(client_id, history_limit=self.ctx.config.history_items),
                api.request("GET", f"/api/clients/{int(client_id)}/interactions", params={"limit": 50}),
            )
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; the card will load when it is back."), severity="warning")
            return
        except ApiError as exc:
            self.notify(_("The card did not load: {reason}").format(reason=exc.describe()), severity="error")
            return
        if client_id != self.card_client_id:
            return
        self.card = card
        self.open_events = [i for i in events.get("items", []) if not i.get("is_final") and i.get("planned_at")]
        self._render_card()

    @work(group="campaign")
    async def fetch_campaign(self, campaign_id: int) -> None:
        await self._load_campaign(campaign_id)

    async def _load_campaign(self, campaign_id: int) -> None:
        if campaign_id in self.campaigns:
            return
        try:
            campaign = await self.ctx.api.campaigns.get(campaign_id)
        except (ApiError, ServerUnreachable) as exc:
            log.info("desk.campaign_unavailable id=%s error=%s", campaign_id, exc)
            return
        self.campaigns[campaign_id] = campaign
        if campaign.get("name"):
            self._set_state(self.state.named_campaign(campaign_id, str(campaign["name"])))
        self._render_card()

    # ------------------------------------------------------------------ new client

    def action_new_client(self) -> None:
        form = self.query_one("#new-client", NewClientForm)
        if self.query_one("#desk-left", ContentSwitcher).current != "new-client":
            call = self.state.call
            if call is not None and call.client_id is None and not any(form.values().values()):
                form.prefill(call.number, call.caller_name)
        self._left("new-client")
        form.focus_first()

    def _focus_in(self, widget: Any) -> bool:
        return self.focused is not None and widget in self.focused.ancestors_with_self

    def action_save_form(self) -> None:
        """Ctrl+S: save the form the operator is in (the new client, else the wrap-up)."""
        form = self.query_one("#new-client", NewClientForm)
        form_shown = self.query_one("#desk-left", ContentSwitcher).current == "new-client"
        panel = self.wrapup_panel
        if form_shown and (panel is None or self._focus_in(form)):
            form.submit()
        elif panel is not None:
            panel.save()

    def action_close_form(self) -> None:
        """Esc: put away the form the operator is in; what was typed stays for later."""
        form = self.query_one("#new-client", NewClientForm)
        form_shown = self.query_one("#desk-left", ContentSwitcher).current == "new-client"
        panel = self.wrapup_panel
        if form_shown and (panel is None or self._focus_in(form)):
            self._left("card" if self.card_client_id else "idle")
        elif panel is not None:
            self._persist()
            self._right("desk-script")

    def action_callback_in_hour(self) -> None:
        if (panel := self.wrapup_panel) is not None:
            panel.callback_in_hour()

    def action_callback_tomorrow(self) -> None:
        if (panel := self.wrapup_panel) is not None:
            panel.callback_tomorrow()

    def on_new_client_submitted(self, message: NewClientSubmitted) -> None:
        self.create_client(message.body)

    @work(exclusive=True, group="new-client")
    async def create_client(self, body: dict[str, Any]) -> None:
        form = self.query_one("#new-client", NewClientForm)
        try:
            client = await self.ctx.api.create_client(body)
        except ServerUnreachable:
            form.show_error(_("The server cannot be reached; the form is kept, save again in a moment."))
            return
        except ApiError as exc:
            form.show_error(_("The server did not accept it: {reason}").format(reason=exc.describe()))
            return
        form.prefill(None, None)
        self.notify(_("Client created: {name}").format(name=client.get("name", "")))
        if self.state.call is not None and self.state.call.client_id is None:
            self._set_state(self.state.with_client(int(client["id"])))
        self.pop = None
        self.show_client(int(client["id"]))

    # ------------------------------------------------------------------ click-to-call

    def action_call(self) -> None:
        if self.query_one("#desk-left", ContentSwitcher).current != "card":
            self.notify(_("Open a client card first (F2 finds one)."), severity="warning")
            return
        number = self.card_widget.selected_phone()
        if number:
            self.place_call(phone=number)
        elif self.card_client_id:
            self.place_call(client_id=self.card_client_id)

    def on_call_requested(self, message: CallRequested) -> None:
        self.place_call(phone=message.phone, client_id=message.client_id)

    def _not_free_for_a_call(self) -> bool:
        """Say why no new call may be placed now: one is live, or the last one's wrap-up is not saved yet."""
        if self.state.call is not None and self.state.call.live:
            self.notify(_("You are on a call already."), severity="warning")
            return True
        if self.state.wrapup is not None:
            # A second call's wrap-up would take the place of this one's, and one of them would be lost.
            self.notify(_("Save the wrap-up of the last call first (Ctrl+S)."), severity="warning")
            return True
        return False

    @work(exclusive=True, group="call")
    async def place_call(self, phone: str | None = None, client_id: int | None = None) -> None:
        if self._not_free_for_a_call():
            return
        try:
            placed = await self.ctx.api.click_to_call(phone=phone, client_id=None if phone else client_id)
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; the call was not placed."), severity="error")
            return
        except ApiError as exc:
            self.notify(_("The call was not placed: {reason}").format(reason=exc.describe()), severity="error")
            return
        self._set_state(self.state.placed(placed, self.ctx.clock.now()))
        self.notify(_("Calling {number}: your phone rings first.").format(number=placed.get("number", "")), timeout=3)
        if placed.get("client_id") and placed["client_id"] != self.card_client_id:
            self.show_client(int(placed["client_id"]))

    # ------------------------------------------------------------------ search, agenda, preview, supervisor

    def action_search(self) -> None:
        self.app.push_screen(SearchScreen(self.ctx), self._after_list)

    def action_agenda(self) -> None:
        self.app.push_screen(AgendaScreen(N_("Today's callbacks and reminders"), self.agenda,
                                          self.ctx.clock.now().tzinfo), self._after_list)

    def _after_list(self, result: tuple[str, int] | None) -> None:
        if not result:
            return
        what, client_id = result
        self.show_client(client_id)
        if what == "call":
            self.place_call(client_id=client_id)

    @work(exclusive=True, group="agenda")
    async def refresh_agenda(self) -> None:
        now = self.ctx.clock.now()
        self._agenda_at = now + timedelta(seconds=self.ctx.config.calendar_refresh_seconds)
        start, end = day_bounds(now)
        try:
            items = await self.ctx.api.calendar(start, end, user_id=self.state.user_id)
        except (ApiError, ServerUnreachable) as exc:
            log.info("desk.agenda_unavailable error=%s", exc)
            return
        self.agenda = open_items(items)
        self._show_agenda()
        self._pop_due(self.ctx.clock.now())

    def _show_agenda(self) -> None:
        self.query_one("#idle", AgendaPanel).items = list(self.agenda)

    def _pop_due(self, now: datetime, force: AgendaItem | None = None) -> None:
        """Pop what has fallen due (or ``force``, a reminder the server says is due)."""
        ahead = timedelta(seconds=self.ctx.config.reminder_ahead_seconds)
        ready = [force] if force is not None else due(self.agenda, now, self.popped, ahead)
        if not ready:
            return
        busy = (self.state.call is not None and self.state.call.live) or isinstance(self.app.screen, DeskModal)
        self.popped |= {i.id for i in ready}
        if busy and force is None:
            for item in ready:
                self.notify(_("Due now: {subject}").format(subject=item.subject), severity="warning", timeout=10)
            return
        self.app.push_screen(AgendaScreen(N_("Due now"), ready, now.tzinfo), self._after_list)

    @work(exclusive=True, group="preview")
    async def action_preview(self) -> None:
        if self._not_free_for_a_call():
            return
        try:
            campaigns = await self.ctx.api.campaigns.list()
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; try again in a moment."), severity="error")
            return
        except ApiError as exc:
            self.notify(_("Preview is not available: {reason}").format(reason=exc.describe()), severity="warning")
            return
        previews = [c for c in campaigns if c.get("mode", "preview") == "preview" and c.get("state", "running") == "running"]
        if not previews:
            self.notify(_("No preview campaign is running for you."), severity="warning")
            return
        if len(previews) == 1:
            chosen = previews[0]
        else:
            picked = await self.app.push_screen_wait(PickScreen(
                N_("Which campaign?"), [(c["id"], str(c.get("name") or c["id"])) for c in previews]))
            chosen = next((c for c in previews if c["id"] == picked), None)
            if chosen is None:
                return
        self.app.push_screen(PreviewScreen(self.ctx, chosen), self._after_preview)

    def _after_preview(self, result: tuple[Any, ...] | None) -> None:
        if not result:
            return
        _what, campaign_id, lead, answer = result
        placed = answer if isinstance(answer, dict) and answer.get("action_id") else {}
        state = self.state.placed(placed, self.ctx.clock.now()) if placed else self.state
        if state.call is not None:
            lead_id = lead.get("lead_id") or lead.get("id")
            state = replace(state, call=replace(state.call, campaign_id=campaign_id, lead_id=lead_id,
                                                client_id=state.call.client_id or lead.get("client_id"),
                                                script_id=lead.get("script_id")))
        self._set_state(state)
        self.fetch_campaign(int(campaign_id))
        if lead.get("client_id"):
            self.show_client(int(lead["client_id"]))

    def action_supervisor(self) -> None:
        if not is_supervisor(self.user):
            return
        self.app.push_screen(SupervisorMenu(supervisor_entries()), self._open_supervisor)

    def _open_supervisor(self, key: str | None) -> None:
        entry = open_entry(key) if key else None
        if entry is not None:
            self.app.push_screen(entry.factory(self.ctx, self.user))

    # ------------------------------------------------------------------ pause / ready

    def action_pause(self) -> None:
        if self.state.agent_state == "paused" and self.state.wrapup is None:
            self.set_paused(False, None)
            return
        reasons = [(_(r), r) for r in self.ctx.config.pause_reasons]
        self.app.push_screen(PickScreen(N_("Pause: why?"), reasons, free_text=N_("or type the reason:"),
                                        translate=True), self._pause_with)

    def _pause_with(self, reason: str | None) -> None:
        if reason:
            self.set_paused(True, reason)

    @work(exclusive=True, group="pause")
    async def set_paused(self, paused: bool, reason: str | None, quiet: bool = False) -> bool:
        try:
            await self.ctx.api.set_paused(paused, reason)
        except ServerUnreachable:
            if not quiet:
                self.notify(_("The server cannot be reached; your state did not change."), severity="error")
            return False
        except ApiError as exc:
            if not quiet:
                self.notify(_("The PBX did not change your state: {reason}").format(reason=exc.describe()),
                            severity="error")
            return False
        payload = {"state": "paused" if paused else "ready", "reason": reason}
        self._set_state(self.state.apply("agent.state", payload, self.ctx.clock.now()))
        if not quiet:
            self.notify(_("Paused: {reason}").format(reason=reason) if paused else _("Ready for calls."))
        return True

    @work(exclusive=True, group="agent-state")
    async def refresh_agent_state(self) -> None:
        try:
            agent = await self.ctx.api.my_agent_state()
        except (ApiError, ServerUnreachable) as exc:
            log.info("desk.agent_state_unavailable error=%s", exc)
            return
        if agent is not None:
            self._set_state(self.state.apply("agent.state", agent, self.ctx.clock.now()))

    # ------------------------------------------------------------------ wrap-up

    def _call_ended_into_wrapup(self) -> None:
        if self.ctx.config.pause_during_wrapup and not self.paused_for_wrapup:
            self.paused_for_wrapup = True
            self.set_paused(True, self.ctx.config.wrapup_pause_reason, quiet=True)
        self.call_after_refresh(self.action_wrapup)

    def action_wrapup(self) -> None:
        """Show the wrap-up beside the card (for the call that ended, or the client on the card)."""
        if self.wrapup_panel is not None:
            self.wrapup_panel.query_one("#wu-dispositions").focus()
            return
        call = self.state.wrapup
        if call is None:
            if self.card_client_id is None:
                self.notify(_("No call to wrap up. Open a client card to record an outcome."), severity="warning")
                return
            call = CallInfo(client_id=self.card_client_id, direction="outbound", phase="ended")
        client = (self.card or {}).get("client") or (self.pop or {}).get("client") or {}
        campaign = self.campaigns.get(call.campaign_id) if call.campaign_id else None
        dispositions: list[Disposition] = campaign_dispositions(campaign) if campaign else []
        note = None
        data = call.to_dict()
        if call.campaign_id is not None and not dispositions:
            # Without the campaign's codes the outcome is kept on the client, not lost.
            note = _("The campaign's outcome codes are not available; the outcome is recorded on the client.")
            data.update(campaign_id=None, lead_id=None)
        if not dispositions:
            dispositions = plain_dispositions()
        talk = None
        if call.answered_at and call.ended_at:
            talk = int((call.ended_at - call.answered_at).total_seconds())
        data.update(client_id=call.client_id or self.card_client_id, client_name=client.get("name"), talk_seconds=talk)
        zone_name = (self.card or {}).get("timezone")
        slot = self.query_one("#wrapup-slot", Vertical)
        slot.remove_children()
        slot.mount(WrapUpPanel(call=data, dispositions=dispositions, client_zone=zone_name, clock=self.ctx.clock,
                               draft=self.wrapup_draft, note=note))
        self._right("wrapup-slot")

    def on_wrap_up_panel_submitted(self, message: WrapUpPanel.Submitted) -> None:
        message.stop()
        self.send_wrapup(message.wrapup)

    @work(exclusive=True, group="wrapup")
    async def send_wrapup(self, wrapup: WrapUp) -> None:
        panel = self.wrapup_panel
        if panel is not None:
            panel.set_busy(True)
        try:
            result = await self._submit_wrapup(wrapup)
        except ApiError as exc:
            if panel is not None:
                panel.show_error(_("The server did not accept it: {reason}").format(reason=exc.describe()))
            return
        finally:
            if panel is not None and panel.is_attached:
                panel.set_busy(False)
        self._after_wrapup(result)

    async def _submit_wrapup(self, wrapup: WrapUp) -> str:
        """Send the wrap-up's requests in order; queue the rest if the server is away; ApiError on a refusal."""
        sent: list[str] = self.wrapup_draft.setdefault("sent", [])
        # Each request keeps one id from its first sending on: a request whose answer was lost
        # goes to the outbox under the same Idempotency-Key, so the server does it once.
        pending = [(json.dumps(r, sort_keys=True), new_item(**r)) for r in requests_for(wrapup)]
        pending = [(key, item) for key, item in pending if key not in sent]
        for index, (key, item) in enumerate(pending):
            try:
                await deliver(self.ctx.api, item)
            except (ApiError, ServerUnreachable) as exc:
                if not retryable(exc):
                    self._persist()
                    raise
                for _key, rest in pending[index:]:
                    self.outbox.add(rest)
                self._retry_at = self.ctx.clock.now() + timedelta(seconds=self.ctx.config.outbox_retry_base)
                return "queued"
            sent.append(key)
            self._persist()
        return "sent"

    def _after_wrapup(self, result: str) -> None:
        self.wrapup_draft = {}
        self._right("desk-script")
        self.query_one("#wrapup-slot", Vertical).remove_children()
        self._set_state(self.state.wrapped_up())
        if result == "queued":
            self.notify(_("The server is unreachable: the wrap-up is kept and will be sent when it is back."),
                        severity="warning", timeout=8)
        else:
            self.notify(_("Wrap-up saved."))
        if self.paused_for_wrapup:
            self.paused_for_wrapup = False
            self.set_paused(False, None, quiet=True)
        self._clear_session()
        self.pop = None
        self.card = None
        self.card_client_id = None
        self.card_widget.view = None
        self._left("idle")
        self._persist()
        self.refresh_agenda()

    # ------------------------------------------------------------------ the script

    def _clear_session(self) -> None:
        self.session = None
        self._show_session()
        panel = self.script_panel
        panel.error = None
        panel.pending = ""

    def _set_session(self, session: dict[str, Any]) -> None:
        started = session.get("id") != (self.session or {}).get("id")
        self.session = session
        self._show_session()
        if started:
            # Which session the desk is in is what a restart resumes from: it goes to disk at once,
            # not after the debounce a crash could cut short.
            self._persist_now()
        else:
            self._persist()

    def _show_session(self) -> None:
        """Hand the session to the panel, or later if a dialog or the wrap-up covers it (see _render_card)."""
        if self.app.screen is not self or self.query_one("#desk-right", ContentSwitcher).current != "desk-script":
            self._session_stale = True
            return
        self._session_stale = False
        if self.script_panel.session is not self.session:
            self.script_panel.session = self.session

    @work(exclusive=True, group="script-start")
    async def action_script(self) -> None:
        if self.session and not (self.session.get("current") or {}).get("finished"):
            self.script_panel.focus_input()
            return
        client_id = self.card_client_id
        if client_id is None:
            self.notify(_("Open a client card first (F2 finds one)."), severity="warning")
            return
        call = self.state.call
        if call is not None and call.script_id and call.client_id == client_id:
            self.start_script(client_id, call.script_id)
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
        choice = await self.app.push_screen_wait(PickScreen(
            N_("Which script?"), [(s["id"], f"{s.get('name', s['code'])} (v{s.get('version', '')})") for s in scripts]))
        if choice is not None:
            self.start_script(client_id, int(choice))

    @work(exclusive=True, group="script")
    async def start_script(self, client_id: int, script_id: int) -> None:
        call = self.state.call
        on_call = call is not None and call.client_id == client_id
        call_id = call.db_call_id if on_call else None
        # A campaign call's protocol belongs to the campaign: its results, and the lead its outcome marks.
        campaign_id = call.campaign_id if on_call and call.script_id == script_id else None
        try:
            session = await self.ctx.api.start_script(client_id, script_id=script_id, call_id=call_id,
                                                      campaign_id=campaign_id)
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; try again in a moment."), severity="error")
            return
        except ApiError as exc:
            self.notify(_("The script did not start: {reason}").format(reason=exc.describe()), severity="error")
            return
        self.script_panel.focus_next_input()
        self._set_session(session)

    @work(exclusive=True, group="script")
    async def resume_session(self, session_id: int) -> None:
        try:
            session = await self.ctx.api.script_session(session_id)
        except ServerUnreachable:
            self.notify(_("The server cannot be reached; the script resumes when it is back."), severity="warning")
            return
        except ApiError as exc:
            log.info("desk.session_not_resumed id=%s error=%s", session_id, exc)
            self._resuming = None
            self._persist()
            return
        self._resuming = None
        self._set_session(session)

    def on_script_action(self, message: ScriptAction) -> None:
        if not self.session:
            return
        item = new_item(f"script_{message.kind}", session_id=int(self.session["id"]), **message.args)
        if any(i["kind"].startswith("script_") for i in self.outbox.items):
            self.outbox.add(item)
            self.script_panel.pending = "queued"
            return
        self.send_script(item)

    @work(group="script")
    async def send_script(self, item: dict[str, Any]) -> None:
        panel = self.script_panel
        panel.pending = "sending"
        panel.error = None
        try:
            session = await deliver(self.ctx.api, item)
        except (ApiError, ServerUnreachable) as exc:
            if retryable(exc):
                self.outbox.add(item)
                panel.pending = "queued"
                self._schedule_retry()
                return
            assert isinstance(exc, ApiError)
            panel.pending = ""
            panel.error = exc.describe()
            return
        panel.pending = ""
        self._set_session(session)

    def action_choose(self, index: int) -> None:
        if isinstance(self.focused, (Input, TextArea)):
            return
        panel = self.wrapup_panel
        if panel is not None:
            panel.choose(index)
        else:
            self.script_panel.choose(index)

    def action_script_back(self) -> None:
        self.script_panel.request_back()

    def action_script_return(self) -> None:
        self.script_panel.request_return()

    def action_script_objection(self) -> None:
        options = self.script_panel.objections()
        if not options:
            self.notify(_("This step has no objection handlers."), severity="warning")
            return
        self.app.push_screen(PickScreen(N_("Objection"), options), self._objection_with)

    def _objection_with(self, handler_id: str | None) -> None:
        if handler_id and self.session:
            self.post_message(ScriptAction("objection", handler_id=handler_id))

    # ------------------------------------------------------------------ the outbox

    def _schedule_retry(self) -> None:
        self._retries += 1
        delay = backoff_delay(self._retries, self.ctx.config.outbox_retry_base, self.ctx.config.outbox_retry_cap)
        self._retry_at = self.ctx.clock.now() + timedelta(seconds=delay)

    @work(group="outbox")
    async def flush_outbox(self) -> None:
        # Not exclusive: a flush cancelled in flight would have its request sent again under the
        # same key, only to be answered 409 request_in_progress and wait out a backoff. A trigger
        # that comes meanwhile (the link back, the retry timer) makes the running flush go round
        # once more instead, so what it came for does not wait for the next timer.
        if self._flushing:
            self._flush_again = True
            return

        def on_result(item: dict[str, Any], result: Any) -> None:
            if item["kind"].startswith("script_") and isinstance(result, dict):
                self._set_session(result)
                if not any(i["kind"].startswith("script_") for i in self.outbox.items):
                    self.script_panel.pending = ""

        def on_refused(item: dict[str, Any], exc: ApiError) -> None:
            if item["kind"].startswith("script_"):
                self.script_panel.pending = ""
                self.script_panel.error = exc.describe()
            else:
                self.notify(_("The server refused a saved request: {reason}").format(reason=exc.describe()),
                            severity="error", timeout=15)

        sending = len(self.outbox)  # done() persists unsent = 0 as it goes: counted before
        self._flushing = True
        try:
            while True:
                self._flush_again = False
                empty = await self.outbox.flush(self.ctx.api, on_result, on_refused)
                if empty or not self._flush_again:
                    break
        finally:
            self._flushing = False
        if empty:
            self._retries = 0
            if sending:
                self.notify(_("Everything unsent has been sent."), timeout=3)
            self._persist()
        else:
            self._schedule_retry()
