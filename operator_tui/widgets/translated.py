"""Text that follows the language switch: it keeps its msgid and translates when rendered."""

from __future__ import annotations

from typing import Any

from textual.widgets import Button, Label

from operator_tui.i18n import _


class Tr(Label):
    """A label showing ``_(msgid)``; ``retranslate`` re-renders it in the current language."""

    def __init__(self, msgid: str, **kwargs: Any) -> None:
        super().__init__(_(msgid), markup=False, **kwargs)
        self.msgid = msgid

    def retranslate(self) -> None:
        self.update(_(self.msgid))


class TrButton(Button):
    """A button whose label is a msgid."""

    def __init__(self, msgid: str, **kwargs: Any) -> None:
        super().__init__(_(msgid), **kwargs)
        self.msgid = msgid

    def retranslate(self) -> None:
        self.label = _(self.msgid)
