"""Today's callbacks, meetings and reminders; the same list pops up when some fall due."""

from __future__ import annotations

from datetime import tzinfo

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from operator_tui.agenda import AgendaItem
from operator_tui.i18n import N_, _
from operator_tui.screens.base import DeskModal
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr

COLUMNS = (N_("Time"), N_("What"), N_("Subject"), N_("Client"))


class AgendaScreen(DeskModal):
    """Dismisses with ``("open", client_id)``, ``("call", client_id)`` or None."""

    DEFAULT_CSS = """
    AgendaScreen DataTable { height: auto; max-height: 20; }
    """

    BINDINGS = [
        Binding("escape", "cancel", N_("Close")),
        Binding("f3", "call", N_("Call")),
    ]

    def __init__(self, title: str, items: list[AgendaItem], tz: tzinfo | None) -> None:
        super().__init__()
        self.title_msgid = title
        self.items = items
        self.tz = tz

    def compose(self) -> ComposeResult:
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Tr(self.title_msgid, id="agenda-title")
            if not self.items:
                yield Tr("Nothing planned for today.")
            yield DataTable(id="agenda-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#agenda-table", DataTable).focus()

    def retranslate(self) -> None:
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#agenda-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*(_(c) for c in COLUMNS))
        for item in self.items:
            at = item.planned_at.astimezone(self.tz) if self.tz else item.planned_at
            table.add_row(f"{at:%H:%M}", item.type_name, item.subject, f"#{item.client_id}", key=str(item.id))

    def _selected(self) -> AgendaItem | None:
        table = self.query_one("#agenda-table", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        item = self._selected()
        if item is not None:
            self.dismiss(("open", item.client_id))

    def action_call(self) -> None:
        item = self._selected()
        if item is not None:
            self.dismiss(("call", item.client_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
