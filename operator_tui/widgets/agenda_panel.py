"""What the desk shows between calls: the day's open callbacks, meetings and reminders."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from operator_tui.agenda import AgendaItem
from operator_tui.i18n import _


class AgendaPanel(Widget):
    """The idle desk: waiting for a call, and today's open items (overdue ones in red)."""

    DEFAULT_CSS = """
    AgendaPanel { height: 1fr; padding: 0 1; }
    """

    items: reactive[list[AgendaItem]] = reactive(list, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def retranslate(self) -> None:
        self.refresh()

    def render(self) -> Text:
        text = Text()
        text.append(_("Waiting for a call.") + "\n", style="bold")
        text.append(_("F2 finds a client, F9 adds one, F7 lists today's callbacks.") + "\n\n", style="dim")
        text.append(_("Today") + "\n", style="bold underline")
        if not self.items:
            text.append(_("Nothing planned for today.") + "\n")
            return text
        now = self.now
        for item in self.items:
            at = item.planned_at.astimezone(now.tzinfo) if now else item.planned_at
            overdue = now is not None and item.planned_at <= now
            text.append(f"{at:%H:%M}  ", style="bold red" if overdue else "bold")
            text.append(f"{item.type_name}: {item.subject}\n")
        return text
