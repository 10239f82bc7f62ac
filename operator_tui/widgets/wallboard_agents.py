"""The wallboard's agents: who, which phone, what state, for how long, and why (a pause) or on what call."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from operator_tui.formatting import AGENT_STATE_WORDS, duration, phone, word
from operator_tui.i18n import N_, _
from operator_tui.supervisor_wallboard import AgentRow, seconds_since, short_name
from operator_tui.widgets.status_bar import STATE_STYLES

AGENT_COLUMNS = (N_("Agent"), N_("State"), N_("For"), N_("Reason / call"))


class AgentsTable(DataTable):
    """Rows of ``AgentRow``; ``show`` redraws them for the moment ``now`` (durations count from it)."""

    DEFAULT_CSS = """
    AgentsTable { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._rows: list[AgentRow] = []
        self._now: datetime | None = None
        # call id -> the client's number, set by the screen from the calls in progress.
        self.calls_numbers: dict[str, str] = {}

    def on_mount(self) -> None:
        self.retranslate()

    def retranslate(self) -> None:
        self.clear(columns=True)
        self.add_columns(*(_(c) for c in AGENT_COLUMNS))
        if self._now is not None:
            self.show(self._rows, self._now)

    def _detail(self, agent: AgentRow) -> str:
        """The pause reason, or the number of the call the agent is on (when the board knows it)."""
        if agent.reason:
            return agent.reason
        number = self.calls_numbers.get(agent.call_id or "")
        return phone(number) if number else ""

    def show(self, rows: list[AgentRow], now: datetime) -> None:
        self._rows, self._now = rows, now
        cursor = self.cursor_row
        self.clear()
        for agent in rows:
            state = Text(word(AGENT_STATE_WORDS, agent.state), style=STATE_STYLES.get(agent.state, ""))
            name = Text(short_name(agent.name))
            if agent.endpoint:
                name.append(f" {agent.endpoint}", style="dim")
            self.add_row(name, state, duration(seconds_since(agent.since, now)), self._detail(agent), key=agent.key)
        if rows and cursor is not None:
            self.move_cursor(row=min(cursor, len(rows) - 1))
