"""The key line at the bottom: the screen's shown bindings as one line of text.

Textual's Footer builds a widget per key and rebuilds them all whenever the focus
moves; on a desk whose script input changes with every answer that cost more than the
keystroke itself, so this renders the same information as a single line, and only
when the bindings really changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget


def _order(entry: tuple[str, str, bool]) -> tuple[int, int]:
    key = entry[0]
    if key[:1] == "F" and key[1:].isdigit():
        return (0, int(key[1:]))
    return (1, 0)


class KeyBar(Widget):
    """``F2 Search  F3 Call …`` for the bindings of the screen it is on (labels already translated)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; }
    """

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self._shown: tuple[tuple[str, str, bool], ...] = ()

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def retranslate(self) -> None:
        self._bindings_changed(self.screen)

    def _bindings_changed(self, screen: Screen) -> None:
        shown = []
        seen_actions: set[str] = set()
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            shown.append((self.app.get_key_display(binding), binding.description, enabled))
        # F-keys in keyboard order first, whichever widget's bindings came first.
        shown.sort(key=_order)
        key = tuple(shown)
        if key != self._shown:
            self._shown = key
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, description, enabled in self._shown:
            text.append(f" {key} ", style="bold reverse" if enabled else "dim reverse")
            text.append(f"{description} ", style="" if enabled else "dim")
        return text
