"""The input a script question asks for: numbered choices, or a line of text, a number, a date."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from operator_tui.i18n import N_, _


class AnswerGiven(Message):
    """The operator gave an answer (the value as it will be sent)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def choices_for(spec: dict[str, Any]) -> list[tuple[Any, str]] | None:
    """(value, label) pairs for a question answered by picking, or None for typed answers."""
    kind = spec.get("kind")
    if kind in ("single", "multi"):
        return [(c["value"], c.get("label") or c["value"]) for c in spec.get("choices") or []]
    if kind == "yes_no":
        return [(True, N_("Yes")), (False, N_("No"))]
    if kind == "scale":
        low, high = int(spec.get("min") or 1), int(spec.get("max") or 10)
        return [(n, str(n)) for n in range(low, high + 1)]
    return None


def key_label(index: int) -> str:
    """Number key of the index-th choice: 1..9, then 0 for the tenth."""
    return str(index + 1) if index < 9 else "0" if index == 9 else " "


class ChoiceAnswer(OptionList):
    """Numbered choices: a number key or Enter picks one; for several choices, keys and Space mark, Enter sends."""

    BINDINGS = [Binding("space", "toggle", N_("Mark"), show=False)]

    def __init__(self, choices: list[tuple[Any, str]], multi: bool, translate: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices
        self.multi = multi
        self.translate = translate
        self.marked: set[int] = set()

    def on_mount(self) -> None:
        self._redraw()
        if self.choices:
            self.highlighted = 0

    def retranslate(self) -> None:
        self._redraw()

    def _label(self, index: int, label: str) -> Text:
        text = Text()
        if self.multi:
            text.append("[x] " if index in self.marked else "[ ] ", style="bold")
        text.append(f"{key_label(index)}. ", style="bold")
        text.append(_(label) if self.translate else label)
        return text

    def _redraw(self) -> None:
        old = self.highlighted
        self.clear_options()
        self.add_options([Option(self._label(i, label)) for i, (_v, label) in enumerate(self.choices)])
        if old is not None and self.choices:
            self.highlighted = min(old, len(self.choices) - 1)

    def choose(self, index: int) -> bool:
        """A number key: pick (or mark) the index-th choice; False when there is none."""
        if not 0 <= index < len(self.choices):
            return False
        self.highlighted = index
        if self.multi:
            self.marked ^= {index}
            self._redraw()
        else:
            self.post_message(AnswerGiven(self.choices[index][0]))
        return True

    def action_toggle(self) -> None:
        if self.multi and self.highlighted is not None:
            self.marked ^= {self.highlighted}
            self._redraw()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.multi:
            picked = sorted(self.marked) if self.marked else [event.option_index]
            self.post_message(AnswerGiven([self.choices[i][0] for i in picked]))
        else:
            self.post_message(AnswerGiven(self.choices[event.option_index][0]))


PLACEHOLDERS = {
    "text": N_("type the answer, Enter sends"),
    "number": N_("a number, Enter sends"),
    "date": N_("date DD.MM.YYYY, Enter sends"),
    "date_time": N_("date and time DD.MM.YYYY HH:MM, Enter sends"),
}


class TypedAnswer(Input):
    """A line of text, a number or a date; Enter sends what was typed, as typed."""

    def __init__(self, spec: dict[str, Any], **kwargs: Any) -> None:
        kind = spec.get("kind", "text")
        self.placeholder_id = "date_time" if kind == "date" and spec.get("with_time") else kind
        super().__init__(placeholder=_(PLACEHOLDERS.get(self.placeholder_id, PLACEHOLDERS["text"])),
                         max_length=int(spec.get("max_length") or 0), **kwargs)

    def retranslate(self) -> None:
        self.placeholder = _(PLACEHOLDERS.get(self.placeholder_id, PLACEHOLDERS["text"]))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(AnswerGiven(event.value))
