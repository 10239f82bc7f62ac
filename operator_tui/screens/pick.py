"""A numbered list to pick from (a script, an objection, a pause reason), optionally with free text."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList

from operator_tui.i18n import N_
from operator_tui.screens.base import DeskModal
from operator_tui.widgets.answer_input import AnswerGiven, ChoiceAnswer
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr


class PickScreen(DeskModal):
    """Dismisses with the picked value, the typed text (when ``free_text``), or None on Escape."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel")),
        *[Binding(str((i + 1) % 10), f"choose({i})", show=False) for i in range(10)],
    ]

    def __init__(self, title: str, choices: list[tuple[Any, str]], *, free_text: str | None = None,
                 translate: bool = False) -> None:
        super().__init__()
        self.title_msgid = title
        self.choices = choices
        self.free_text = free_text
        self.translate = translate

    def compose(self) -> ComposeResult:
        yield KeyBar()
        with Vertical(classes="dialog"):
            yield Tr(self.title_msgid, id="pick-title")
            yield ChoiceAnswer(self.choices, multi=False, translate=self.translate, id="pick-list")
            if self.free_text is not None:
                yield Tr(self.free_text)
                yield Input(id="pick-text", max_length=60)

    def on_mount(self) -> None:
        self.query_one("#pick-list", OptionList).focus()

    def action_choose(self, index: int) -> None:
        self.query_one("#pick-list", ChoiceAnswer).choose(index)

    def on_answer_given(self, event: AnswerGiven) -> None:
        event.stop()
        self.dismiss(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def retranslate(self) -> None:
        # The title and the free-text label are Tr widgets and follow by themselves.
        self.query_one("#pick-list", ChoiceAnswer).retranslate()
