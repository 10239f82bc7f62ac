"""The client card: who is calling, their phones (Up/Down picks one, Enter or F3 calls it), history.

One widget that draws itself: a new pop or a loaded card repaints this pane only, with
no layout pass over the rest of the desk, which keeps the keys the operator is typing
elsewhere fast while calls come in. What does not fit the pane is cut at the bottom
(the history is last and is the one cut).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from operator_tui.card_view import CardView
from operator_tui.i18n import N_, _
from operator_tui.messages import CallRequested


class ClientCard(Widget, can_focus=True):
    """Draws a CardView; posts CallRequested when a phone is chosen."""

    DEFAULT_CSS = """
    ClientCard { height: 1fr; padding: 0 1; overflow: hidden; }
    ClientCard:focus { background: $boost; }
    """

    BINDINGS = [
        Binding("up", "phone(-1)", N_("Previous phone"), show=False),
        Binding("down", "phone(1)", N_("Next phone"), show=False),
        Binding("enter", "call", N_("Call this phone"), show=False),
    ]

    view: reactive[CardView | None] = reactive(None)
    phone_index: reactive[int] = reactive(0)

    def retranslate(self) -> None:
        self.refresh()

    def watch_view(self, old: CardView | None, new: CardView | None) -> None:
        # The same caller again keeps the chosen phone; another caller starts at the first.
        if old is None or new is None or old.client_id != new.client_id:
            self.phone_index = 0
        elif new.phones and self.phone_index >= len(new.phones):
            self.phone_index = len(new.phones) - 1

    def selected_phone(self) -> str | None:
        """The chosen phone, else the first one."""
        view = self.view
        if view is None or not view.phones:
            return None
        return view.phones[min(self.phone_index, len(view.phones) - 1)][0]

    def action_phone(self, step: int) -> None:
        view = self.view
        if view is not None and view.phones:
            self.phone_index = (self.phone_index + step) % len(view.phones)

    def action_call(self) -> None:
        number = self.selected_phone()
        if number:
            self.post_message(CallRequested(phone=number))

    def render(self) -> RenderableType:
        view = self.view
        if view is None:
            return Text("")
        parts: list[RenderableType] = [Text(view.title or _("Unknown caller"), style="bold")]
        # Two columns, so a long value wraps under itself and not under the labels.
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(ratio=1)
        for label, value in view.rows:
            table.add_row(_(label), value)
        parts.append(table)
        phones = Text()
        phones.append(_("Phones") + "\n", style="bold")
        for i, (_e164, label) in enumerate(view.phones):
            chosen = i == min(self.phone_index, len(view.phones) - 1)
            phones.append(("▶ " if chosen else "  ") + label + "\n", style="reverse" if chosen and self.has_focus else "")
        parts.append(phones)
        tail = Text()
        if view.campaign:
            tail.append(_("What the campaign wants") + "\n", style="bold underline")
            for label, value in view.campaign:
                tail.append(f"{_(label)}: ", style="dim")
                tail.append(value + "\n")
            tail.append("\n")
        tail.append(_("Open events and meetings") + "\n", style="bold underline")
        tail.append(("\n".join(view.open_items) if view.open_items else _("none")) + "\n")
        if view.complete:
            tail.append("\n" + _("Last interactions") + "\n", style="bold underline")
            tail.append(("\n".join(view.history) if view.history else _("none")) + "\n")
        else:
            tail.append("\n" + _("Loading the card…") + "\n", style="dim italic")
        parts.append(tail)
        return Group(*parts)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
