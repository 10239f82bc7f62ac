"""A one-line gauge: a figure as a bar against its limit, coloured by how close it is.

``Брошенные  1.8 % ████████████░░░░░┃░░░░ лимит 3.0 %``: the bar's full scale is a third
past the limit, so the limit is a visible mark and a figure over it is plainly over.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from operator_tui.i18n import _
from operator_tui.supervisor_campaigns import percent
from operator_tui.supervisor_wallboard import gauge_level

LEVEL_STYLES = {"ok": "green", "warn": "yellow", "over": "bold red", "none": "grey50", "plain": "cyan"}


def gauge_text(label: str, value: float | None, limit: float | None, width: int, *, limit_label: str = "") -> Text:
    """The gauge's line for ``width`` cells; with no limit the bar's full scale is 100 %."""
    level = gauge_level(value, limit) if limit else ("none" if value is None else "plain")
    style = LEVEL_STYLES[level]
    head = f"{label} {percent(value):>7} "
    tail = f" {limit_label} {percent(limit)}" if limit else ""
    bar_width = max(4, width - len(head) - len(tail))
    full_scale = limit * 4 / 3 if limit else 1.0
    filled = 0 if value is None else min(bar_width, round(bar_width * min(value, full_scale) / full_scale))
    mark = min(bar_width - 1, round(bar_width * 3 / 4)) if limit else None
    text = Text(no_wrap=True, overflow="crop")
    text.append(head, style="bold")
    for i in range(bar_width):
        if i == mark:
            text.append("┃", style="bold red" if filled > i else "bold")
        elif i < filled:
            text.append("█", style=style)
        else:
            text.append("░", style="grey37")
    text.append(tail, style="bold" if level != "over" else "bold red")
    return text


class Gauge(Widget):
    """``value`` against ``limit`` (fractions: 0.018 is 1.8 %); the label is a msgid."""

    DEFAULT_CSS = """
    Gauge { height: 1; width: 1fr; }
    """

    value: reactive[float | None] = reactive(None)
    limit: reactive[float | None] = reactive(None)

    def __init__(self, label: str, limit_label: str = "", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.label_msgid = label
        self.limit_label_msgid = limit_label

    def retranslate(self) -> None:
        self.refresh()

    @property
    def level(self) -> str:
        return gauge_level(self.value, self.limit)

    def render(self) -> Text:
        return gauge_text(_(self.label_msgid), self.value, self.limit, self.size.width or 60,
                          limit_label=_(self.limit_label_msgid) if self.limit_label_msgid else "")
