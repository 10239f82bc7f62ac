"""The wallboard's calls in progress: which way and the number, the agent, ringing or talking and for how long."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.widgets import DataTable

from operator_tui.formatting import duration, phone, word
from operator_tui.i18n import N_, _
from operator_tui.supervisor_wallboard import LiveCall, seconds_since

CALL_COLUMNS = (N_("Number"), N_("Agent"), N_("Now"))
# Which way a call goes, before its number: the column it had of its own did not fit beside the agents.
DIRECTION_MARKS = {"inbound": "↘", "outbound": "↗", "internal": "↔"}
PHASE_WORDS = {"dialing": N_("dialing"), "ringing": N_("ringing"), "talking": N_("talking")}


class CallsTable(DataTable):
    """Rows of ``LiveCall``; ``show`` redraws them for the moment ``now``."""

    DEFAULT_CSS = """
    CallsTable { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._rows: list[LiveCall] = []
        self._now: datetime | None = None
        self._name: Callable[[str | None], str | None] = lambda endpoint: endpoint

    def on_mount(self) -> None:
        self.retranslate()

    def retranslate(self) -> None:
        self.clear(columns=True)
        self.add_columns(*(_(c) for c in CALL_COLUMNS))
        if self._now is not None:
            self.show(self._rows, self._now, self._name)

    def show(self, rows: list[LiveCall], now: datetime,
             agent_name: Callable[[str | None], str | None] | None = None) -> None:
        """Draw ``rows`` at ``now``; ``agent_name`` turns a phone into the agent's name."""
        self._rows, self._now = rows, now
        if agent_name is not None:
            self._name = agent_name
        self.clear()
        for call in rows:
            number = f"{DIRECTION_MARKS.get(call.direction, ' ')} {phone(call.number) or '—'}"
            self.add_row(number, self._name(call.agent) or "—",
                         f"{word(PHASE_WORDS, call.phase)} {duration(seconds_since(call.since, now))}", key=call.call_id)
