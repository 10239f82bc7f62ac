"""Screens whose footer and help follow the language: binding labels are msgids, shown translated."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import ActiveBinding
from textual.screen import ModalScreen, Screen

from operator_tui.i18n import _


def _translated(bindings: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    return {
        key: active._replace(binding=replace(active.binding, description=_(active.binding.description)))
        if active.binding.description else active
        for key, active in bindings.items()
    }


class DeskScreenBase(Screen):
    """A full screen: ``retranslate`` re-renders its own texts after a language switch."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return _translated(super().active_bindings)

    def retranslate(self) -> None:
        """Set texts that are not ``Tr`` widgets (placeholders, titles); subclasses extend."""


class DeskModal(ModalScreen):
    """A dialog over the desk."""

    DEFAULT_CSS = """
    DeskModal { align: center middle; }
    DeskModal > .dialog {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return _translated(super().active_bindings)

    def retranslate(self) -> None:
        """Set texts that are not ``Tr`` widgets (placeholders, titles); subclasses extend."""
