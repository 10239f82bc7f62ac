"""The campaign's live figures: today's dials, answers and abandons, what is happening now, the abandon
rate against its cap and the agents' occupancy as gauges, and each as a small chart of the last minute."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline, Static

from operator_tui.i18n import N_, _
from operator_tui.supervisor_campaigns import percent
from operator_tui.supervisor_wallboard import SERIES, Board
from operator_tui.widgets.gauge import Gauge

FIGURES = (
    ("day_dials", N_("Dials today")),
    ("day_answered", N_("Answered")),
    ("day_abandoned", N_("Abandoned")),
    ("in_flight", N_("In progress")),
    ("ringing", N_("Ringing")),
    ("waiting", N_("Waiting in queue")),
)
SERIES_LABELS = {
    "dials": N_("Dials / s"),
    "answered": N_("Answers / s"),
    "abandon_rate": N_("Abandoned, %"),
    "occupancy": N_("Occupancy, %"),
}


def figures_table(board: Board) -> Table:
    """Today's dials, answers and abandons, then what is happening now: two label/number pairs a row."""
    grid = Table.grid(padding=(0, 1))
    for _pair in range(2):
        grid.add_column(no_wrap=True)
        grid.add_column(justify="right", style="bold", no_wrap=True, min_width=5)
    pairs = [(_(label), str(board.figure(key, 0))) for key, label in FIGURES]
    window = board.figure("window_abandon_rate", None)
    if isinstance(window, int | float):
        pairs.append((_("Abandoned in 30 min"), percent(window)))
    for i in range(0, len(pairs), 2):
        grid.add_row(*[cell for pair in pairs[i:i + 2] for cell in pair])
    return grid


class FiguresPanel(Vertical):
    """Draws a ``Board``'s campaign figures; ``show(board)`` after every change."""

    DEFAULT_CSS = """
    FiguresPanel { height: auto; padding: 0 1; }
    FiguresPanel #fig-numbers { height: auto; margin-bottom: 1; }
    FiguresPanel .spark-row { height: 1; }
    FiguresPanel .spark-row Label { width: 16; }
    FiguresPanel .spark-row Sparkline { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="fig-numbers")
        yield Gauge(N_("Abandoned"), N_("cap"), id="gauge-abandon")
        yield Gauge(N_("Occupancy"), id="gauge-occupancy")
        for name in SERIES:
            with Horizontal(classes="spark-row"):
                yield Label(_(SERIES_LABELS[name]), id=f"spark-label-{name}", markup=False)
                yield Sparkline([], summary_function=max, id=f"spark-{name}")

    def retranslate(self) -> None:
        for name in SERIES:
            self.query_one(f"#spark-label-{name}", Label).update(_(SERIES_LABELS[name]))

    def show(self, board: Board) -> None:
        self.query_one("#fig-numbers", Static).update(figures_table(board))
        abandon = self.query_one("#gauge-abandon", Gauge)
        abandon.value, abandon.limit = board.abandon_rate, board.abandon_cap
        occupancy = self.query_one("#gauge-occupancy", Gauge)
        value = board.figure("occupancy", None)
        occupancy.value = float(value) if isinstance(value, int | float) else None
        for name in SERIES:
            self.query_one(f"#spark-{name}", Sparkline).data = list(board.series[name])
