"""Client search by name, tax id, contact or any phone format; Enter opens the card, F3 calls."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.formatting import CLIENT_STATUS_WORDS, phone, word
from operator_tui.i18n import N_, _
from operator_tui.screens.base import DeskModal
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr

COLUMNS = (N_("Client"), N_("Phone"), N_("Region"), N_("Status"))


class SearchScreen(DeskModal):
    """Dismisses with ``("open", client_id)``, ``("call", client_id)`` or None."""

    DEFAULT_CSS = """
    SearchScreen DataTable { height: auto; max-height: 20; }
    SearchScreen #search-status { height: auto; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "cancel", N_("Close")),
        Binding("f3", "call", N_("Call")),
        Binding("down", "to_results", show=False),
    ]

    def __init__(self, ctx: DeskContext, query: str = "") -> None:
        super().__init__()
        self.ctx = ctx
        self.initial = query
        self.results: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Tr("Find a client: name, tax id, contact or any phone format", id="search-title")
            yield Input(value=self.initial, id="search-query", max_length=100,
                        placeholder=_("e.g. Ромашка, 8 916 123-45-67, +380 67…"))
            yield Static(id="search-status", markup=False)
            table: DataTable = DataTable(id="search-results", cursor_type="row", zebra_stripes=True)
            yield table

    def on_mount(self) -> None:
        self._columns()
        self.query_one("#search-query", Input).focus()
        if self.initial.strip():
            self.run_search(self.initial)

    def _columns(self) -> None:
        table = self.query_one("#search-results", DataTable)
        table.clear(columns=True)
        table.add_columns(*(_(c) for c in COLUMNS))
        self._fill()

    def retranslate(self) -> None:
        self.query_one("#search-query", Input).placeholder = _("e.g. Ромашка, 8 916 123-45-67, +380 67…")
        self._columns()

    def _fill(self) -> None:
        table = self.query_one("#search-results", DataTable)
        table.clear()
        for client in self.results:
            phones = client.get("phones") or []
            table.add_row(client.get("name", ""), phone(phones[0]["e164"]) if phones else "",
                          client.get("region") or "", word(CLIENT_STATUS_WORDS, client.get("status")),
                          key=str(client["id"]))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.run_search(event.value)

    @work(exclusive=True, group="search")
    async def run_search(self, query: str) -> None:
        status = self.query_one("#search-status", Static)
        status.update(_("Searching…"))
        try:
            self.results = await self.ctx.api.search_clients(query.strip(), limit=self.ctx.config.search_limit)
        except ServerUnreachable:
            status.update(_("The server cannot be reached; try again in a moment."))
            return
        except ApiError as exc:
            status.update(_("The search failed: {reason}").format(reason=exc.describe()))
            return
        self._fill()
        status.update(_("Found: {count}").format(count=len(self.results)) if self.results else _("Nothing found."))
        if self.results:
            self.query_one("#search-results", DataTable).focus()

    def _selected(self) -> int | None:
        table = self.query_one("#search-results", DataTable)
        if not self.results or table.cursor_row is None or table.cursor_row >= len(self.results):
            return None
        return int(self.results[table.cursor_row]["id"])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.dismiss(("open", int(event.row_key.value)))

    def action_call(self) -> None:
        client_id = self._selected()
        if client_id is not None:
            self.dismiss(("call", client_id))

    def action_to_results(self) -> None:
        if self.results:
            self.query_one("#search-results", DataTable).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
