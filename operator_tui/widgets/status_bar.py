"""The line at the top of the desk: who, agent state, campaign, call timer, link to the server."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from operator_tui.desk_state import DeskState
from operator_tui.formatting import AGENT_STATE_WORDS, LINK_WORDS, duration, word
from operator_tui.i18n import _

STATE_STYLES = {
    "ready": "bold black on green",
    "ringing": "bold black on yellow",
    "on_call": "bold white on red",
    "wrap_up": "bold white on magenta",
    "paused": "bold black on bright_yellow",
    "unavailable": "bold white on grey37",
    "logged_out": "bold white on grey37",
}
LINK_STYLES = {"online": "green", "connecting": "yellow", "offline": "bold red", "unauthorized": "bold red"}


class StatusBar(Widget):
    """Renders a DeskState; the desk sets ``state`` and ``now`` (every second for the timer)."""

    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $panel; color: $text; }
    """

    state: reactive[DeskState] = reactive(DeskState, always_update=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self, user_name: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.user_name = user_name

    def retranslate(self) -> None:
        self.refresh()

    def render(self) -> Text:
        s = self.state
        shown = s.shown_state
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.user_name} ", style="bold")
        label = word(AGENT_STATE_WORDS, shown)
        if shown == "paused" and s.pause_reason:
            label += f": {s.pause_reason}"
        text.append(f" {label} ", style=STATE_STYLES.get(shown, "bold"))
        if self.now is not None:
            seconds = s.call_seconds(self.now)
            if seconds is not None and (s.call is not None):
                text.append(f"  ⏱ {duration(seconds)}", style="bold")
        if s.campaign_name:
            text.append(f"  {_('Campaign')}: ", style="dim")
            text.append(s.campaign_name)
        text.append("  │ ", style="dim")
        link = word(LINK_WORDS, s.link.state)
        if s.link.state == "offline" and s.link.retry_in is not None:
            link += " · " + _("reconnecting in {seconds} s").format(seconds=max(1, round(s.link.retry_in)))
        text.append(("● " if s.link.state == "online" else "○ ") + link, style=LINK_STYLES.get(s.link.state, ""))
        if s.unsent:
            text.append("  │ ", style="dim")
            text.append(_("unsent: {count}").format(count=s.unsent), style="bold red")
        return text
