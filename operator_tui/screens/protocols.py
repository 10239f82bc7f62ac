"""The protocol viewer: the team's calls with their script sessions, and one session read step by step.

Lists: the team's latest sessions; a campaign's (F4); a client's calls, scripted or not (F2).
The reading on the right shows each step's text and the answer given; answers the operator
went back on are still there, struck through and marked, so nothing said is hidden.
"""

from __future__ import annotations

import logging
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.formatting import when, word
from operator_tui.i18n import N_, _
from operator_tui.screens.base import DeskScreenBase
from operator_tui.screens.pick import PickScreen
from operator_tui.screens.search import SearchScreen
from operator_tui.supervisor_campaigns import CAMPAIGN_STATE_WORDS
from operator_tui.supervisor_protocol import (
    SESSION_STATUS_WORDS,
    call_text,
    client_rows,
    protocol_lines,
    session_cells,
)
from operator_tui.widgets.key_bar import KeyBar

log = logging.getLogger(__name__)

# (cell key, heading msgid, width when the terminal is narrow; None: not shown there)
COLUMNS = (("started", N_("Started"), 11), ("client", N_("Client"), 16), ("operator", N_("Operator"), 14),
           ("script", N_("Script"), None), ("status", N_("Status"), 9), ("answers", N_("Answers"), None),
           ("call", N_("Phone call"), 18))
NARROW_BELOW = 110


def protocol_text(protocol: dict[str, Any], tz: Any, row: dict[str, Any] | None = None) -> Text:
    """The reading of one protocol: who, when, on which call, then every step with its answer.

    ``row`` is the session as the list has it (names of the client and the operator, the call).
    """
    script = protocol.get("script") or {}
    text = Text()
    text.append(f"{script.get('name') or script.get('code') or ''} v{script.get('version', '')}", style="bold")
    text.append(f" · {word(SESSION_STATUS_WORDS, protocol.get('status'))}\n")
    if row is not None:
        text.append(f"{row.get('client_name', '')} · {row.get('user_name', '')} · {call_text(row.get('call'))}\n")
    text.append(_("Started {start}").format(start=when(protocol.get("started_at"), tz)))
    if protocol.get("finished_at"):
        text.append(", " + _("finished {end}").format(end=when(protocol.get("finished_at"), tz)))
    text.append("\n\n")
    number = 0
    for line in protocol_lines(protocol):
        style = "strike dim" if line.superseded else ""
        mark = " " + _("(superseded)") if line.superseded else ""
        if line.kind == "step":
            number += 1
            text.append(f"{number}. {line.step}", style=f"bold {style}".strip())
            text.append(f"{mark}\n", style="italic yellow")
            if line.text:
                text.append(f"   {line.text}\n", style=style)
        elif line.kind == "answer":
            text.append("   → " if line.after_shown else f"   → {line.step}: ", style="bold")
            text.append(line.text, style=f"bold cyan {style}".strip())
            text.append(f"{mark}\n", style="italic yellow")
        elif line.kind == "back":
            text.append("↩ " + _("back to {step}").format(step=line.step) + "\n", style="yellow")
        elif line.kind == "objection":
            text.append("⚑ " + _("objection: {handler}").format(handler=line.text or line.step) + "\n", style="magenta")
        elif line.kind == "return":
            text.append("↪ " + _("back from the objection {step}").format(step=line.step) + "\n", style="magenta")
        elif line.kind == "outcome":
            text.append("★ " + _("Outcome: {what}").format(what=line.text), style=f"bold green {style}".strip())
            if line.notes:
                text.append(" (" + "; ".join(line.notes) + ")", style=style)
            text.append(f"{mark}\n")
    outcomes = protocol.get("outcomes") or []
    refused = [o for o in outcomes if isinstance(o, dict) and o.get("applied") is False]
    for outcome in refused:
        text.append("! " + _("Not applied: {kind}: {note}").format(kind=outcome.get("kind"), note=outcome.get("note") or "")
                    + "\n", style="red")
    return text


class ProtocolsScreen(DeskScreenBase):
    """Sessions on the left, the selected one's protocol on the right."""

    DEFAULT_CSS = """
    ProtocolsScreen #pr-head { height: 1; background: $panel; text-style: bold; padding: 0 1; }
    ProtocolsScreen #pr-main { height: 1fr; }
    ProtocolsScreen #pr-table { height: 2fr; min-height: 4; }
    ProtocolsScreen #pr-reading { height: 3fr; border-top: tall $panel; padding: 0 1; }
    ProtocolsScreen #pr-status { height: auto; color: $text-muted; padding: 0 1; }
    """

    BINDINGS = [
        Binding("f1", "app.toggle_help", N_("Keys")),
        Binding("f2", "client", N_("Client's calls")),
        Binding("f4", "campaign", N_("Campaign")),
        Binding("f5", "team", N_("Team")),
        Binding("f12", "app.switch_language", N_("Language")),
        Binding("escape", "back", N_("Back")),
        Binding("ctrl+r", "refresh", N_("Refresh"), show=False),
    ]

    def __init__(self, ctx: DeskContext, user: dict[str, Any], *, campaign: dict[str, Any] | None = None,
                 client: tuple[int, str] | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.user = user
        self.campaign = campaign
        self.client = client
        self.rows: list[dict[str, Any]] = []
        self.protocol: dict[str, Any] | None = None
        self.loaded = False
        self.narrow = False
        # The row chosen, kept across redraws (a language switch, a resize) that rebuild the table.
        self.chosen = 0

    def compose(self) -> ComposeResult:
        yield Static(id="pr-head", markup=False)
        with Vertical(id="pr-main"):
            yield DataTable(id="pr-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="pr-reading"):
                yield Static(id="pr-protocol")
        yield Static(id="pr-status", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self._columns()
        self._head()
        self.reload()
        self.query_one("#pr-table", DataTable).focus()

    def retranslate(self) -> None:
        self._columns()
        self._head()
        self._reading()

    # ------------------------------------------------------------------ drawing

    def _shown_columns(self) -> list[tuple[str, str, int | None]]:
        return [c for c in COLUMNS if not self.narrow or c[2] is not None]

    def on_resize(self) -> None:
        narrow = self.size.width < NARROW_BELOW
        if narrow != self.narrow:
            self.narrow = narrow
            self._columns()

    @property
    def tz(self) -> Any:
        return self.ctx.clock.now().tzinfo

    def _head(self) -> None:
        if self.client is not None:
            what = _("calls of {client}").format(client=self.client[1])
        elif self.campaign is not None:
            what = _("campaign «{name}» ({state})").format(
                name=self.campaign.get("name", ""), state=word(CAMPAIGN_STATE_WORDS, self.campaign.get("state")))
        else:
            what = _("the team's latest sessions")
        self.query_one("#pr-head", Static).update(f"{_('Protocols')} · {what}")

    def _columns(self) -> None:
        table = self.query_one("#pr-table", DataTable)
        table.clear(columns=True)
        for key, heading, width in self._shown_columns():
            # Narrow: fixed widths, and the rows grow to wrap what does not fit.
            table.add_column(_(heading), key=key, width=width if self.narrow else None)
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#pr-table", DataTable)
        cursor = self.chosen
        table.clear()
        for index, row in enumerate(self.rows):
            cells = session_cells(row, self.tz)
            table.add_row(*(cells[key] for key, _h, _w in self._shown_columns()), key=str(index),
                          height=None if self.narrow else 1)
        if self.rows and cursor:
            # Redrawn (a language switch, a resize): the same session stays chosen.
            table.move_cursor(row=min(cursor, len(self.rows) - 1))
        status = self.query_one("#pr-status", Static)
        if not self.loaded:
            status.update(_("Loading…"))
        elif not self.rows:
            status.update(_("No calls or script sessions here yet."))
        else:
            status.update(_("{count} found; Enter or the arrows open a protocol.").format(count=len(self.rows)))

    def _reading(self) -> None:
        shown = self.query_one("#pr-protocol", Static)
        if self.protocol is None:
            row = self.selected
            if row is not None and row.get("id") is None:
                shown.update(_("No script was run on this call.") + "\n" + call_text(row.get("call")))
            else:
                shown.update(_("Choose a session on the left."))
            return
        row = next((r for r in self.rows if r.get("id") == self.protocol.get("id")), None)
        shown.update(protocol_text(self.protocol, self.tz, row))

    @property
    def selected(self) -> dict[str, Any] | None:
        found = self.query("#pr-table")
        row = found.first(DataTable).cursor_row if found else None
        if not self.rows or row is None or not 0 <= row < len(self.rows):
            return None
        return self.rows[row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.chosen = event.cursor_row
        self._open_selected()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open_selected()

    def _open_selected(self) -> None:
        row = self.selected
        if row is None or row.get("id") is None:
            self.protocol = None
            self._reading()
            return
        if self.protocol is not None and self.protocol.get("id") == row["id"]:
            return
        self.load_protocol(int(row["id"]))

    # ------------------------------------------------------------------ the server

    @work(exclusive=True, group="protocols-list")
    async def reload(self) -> None:
        api = self.ctx.api
        try:
            if self.client is not None:
                client_id, name = self.client
                sessions = await api.script_sessions(client_id=client_id)
                calls = await api.client_calls(client_id)
                rows = client_rows(calls, sessions, name)
            elif self.campaign is not None:
                rows = await api.script_sessions(campaign_id=int(self.campaign["id"]))
            else:
                rows = await api.script_sessions()
        except ServerUnreachable:
            self.query_one("#pr-status", Static).update(_("The server cannot be reached; try again in a moment."))
            return
        except ApiError as exc:
            self.query_one("#pr-status", Static).update(
                _("The protocols did not load: {reason}").format(reason=exc.describe()))
            return
        self.rows = rows
        self.loaded = True
        self.protocol = None
        self.chosen = 0
        self._fill()
        self._open_selected()

    @work(exclusive=True, group="protocols-one")
    async def load_protocol(self, session_id: int) -> None:
        try:
            protocol = await self.ctx.api.protocol(session_id)
        except ServerUnreachable:
            self.query_one("#pr-status", Static).update(_("The server cannot be reached; try again in a moment."))
            return
        except ApiError as exc:
            self.query_one("#pr-status", Static).update(
                _("The protocol did not load: {reason}").format(reason=exc.describe()))
            return
        self.protocol = protocol
        self._reading()

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    def _show(self, *, campaign: dict[str, Any] | None = None, client: tuple[int, str] | None = None) -> None:
        self.campaign, self.client = campaign, client
        self.rows, self.protocol, self.loaded = [], None, False
        self._head()
        self._fill()
        self._reading()
        self.reload()

    def action_team(self) -> None:
        self._show()

    @work(exclusive=True, group="protocols-pick")
    async def action_client(self) -> None:
        picked = await self.app.push_screen_wait(SearchScreen(self.ctx))
        if not picked:
            return
        _what, client_id = picked
        try:
            card = await self.ctx.api.client_card(client_id, history_limit=1)
            name = str((card.get("client") or {}).get("name") or client_id)
        except (ApiError, ServerUnreachable) as exc:
            log.info("protocols.client_name_unavailable id=%s error=%s", client_id, exc)
            name = str(client_id)
        self._show(client=(int(client_id), name))

    @work(exclusive=True, group="protocols-pick")
    async def action_campaign(self) -> None:
        try:
            campaigns = await self.ctx.api.campaigns.list()
        except (ApiError, ServerUnreachable) as exc:
            self.notify(_("The campaigns did not load: {reason}").format(reason=str(exc)), severity="error")
            return
        if not campaigns:
            self.notify(_("No campaigns yet."), severity="warning")
            return
        choices = [(int(c["id"]), f"{c.get('name', '')} · {word(CAMPAIGN_STATE_WORDS, c.get('state'))}")
                   for c in campaigns]
        picked = await self.app.push_screen_wait(PickScreen(N_("Which campaign?"), choices))
        chosen = next((c for c in campaigns if int(c["id"]) == picked), None)
        if chosen is not None:
            self._show(campaign=chosen)

