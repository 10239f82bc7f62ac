"""Role-based routing: the supervisor's (and admin's) menu of screens, filled by ``register``.

The supervisor screens (campaigns, wallboard, protocol viewer) plug in here: each module
calls ``register(SupervisorEntry(...))`` at import, and ``SUPERVISOR_MODULES`` lists the
modules the menu imports. Operators never see the menu (the desk hides its key).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen

from operator_tui.context import DeskContext
from operator_tui.i18n import N_
from operator_tui.screens.base import DeskModal
from operator_tui.widgets.answer_input import AnswerGiven, ChoiceAnswer
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr

SUPERVISOR_ROLES = frozenset({"supervisor", "admin"})
# Modules that register supervisor screens, e.g. "operator_tui.screens.wallboard".
SUPERVISOR_MODULES: tuple[str, ...] = ("operator_tui.supervisor_menu",)


@dataclass(frozen=True)
class SupervisorEntry:
    """One menu line: a msgid label and a factory making the screen from the desk's context and user."""

    key: str
    label: str
    factory: Callable[[DeskContext, dict], Screen]


_ENTRIES: dict[str, SupervisorEntry] = {}


def register(entry: SupervisorEntry) -> None:
    _ENTRIES[entry.key] = entry


def is_supervisor(user: dict | None) -> bool:
    return bool(user) and str(user.get("role")) in SUPERVISOR_ROLES  # type: ignore[union-attr]


def supervisor_entries() -> list[SupervisorEntry]:
    for module in SUPERVISOR_MODULES:
        importlib.import_module(module)
    return list(_ENTRIES.values())


class SupervisorMenu(DeskModal):
    """The supervisor's screens by number; dismisses with the chosen entry's key."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Close")),
        *[Binding(str((i + 1) % 10), f"choose({i})", show=False) for i in range(10)],
    ]

    def __init__(self, entries: list[SupervisorEntry]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Tr("Supervisor", id="sup-title")
            if self.entries:
                yield ChoiceAnswer([(e.key, e.label) for e in self.entries], multi=False, translate=True, id="sup-list")
            else:
                yield Tr("No supervisor screens are installed yet.")

    def on_mount(self) -> None:
        for widget in self.query("#sup-list"):
            widget.focus()

    def action_choose(self, index: int) -> None:
        for widget in self.query("#sup-list"):
            if isinstance(widget, ChoiceAnswer):
                widget.choose(index)

    def on_answer_given(self, event: AnswerGiven) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def open_entry(key: str) -> SupervisorEntry | None:
    return _ENTRIES.get(key)

