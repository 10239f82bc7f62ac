"""The Textual application: login, then the desk (and, by role, the supervisor's menu).

``create_app(api, ...)`` builds it around an API client, so tests point the real app
at a real Zvonar server started in-process. ``run_tui`` is what ``zvonar tui`` runs.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from operator_tui.api_client import ApiClient, normalise_server_url
from operator_tui.clock import Clock, SystemClock
from operator_tui.context import DeskConfig, DeskContext
from operator_tui.i18n import (
    LANGUAGES,
    N_,
    _,
    current_language,
    next_language,
    set_language,
)
from operator_tui.local_state import default_state_dir
from operator_tui.messages import LinkChanged, LoggedIn, ServerEvent
from operator_tui.screens.base import DeskModal, DeskScreenBase
from operator_tui.screens.desk import DeskScreen
from operator_tui.screens.login import LoginScreen
from operator_tui.ws_client import EventStream, Link

log = logging.getLogger(__name__)


class ZvonarTui(App):
    """The operator's (and supervisor's) terminal application."""

    TITLE = "Zvonar"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", N_("Quit"), show=False, priority=True)]

    def __init__(self, ctx: DeskContext, *, lang: str = "ru", login: str = "", freeze_gc: bool = False) -> None:
        super().__init__()
        self.ctx = ctx
        self.freeze_gc = freeze_gc
        self.initial_login = login
        set_language(lang)
        self.desk: DeskScreen | None = None
        self.user: dict[str, Any] | None = None

    def on_mount(self) -> None:
        self.push_screen(LoginScreen(self.ctx, self.initial_login))

    async def on_unmount(self) -> None:
        await self.ctx.api.close()

    # ------------------------------------------------------------------ login and the event stream

    def on_logged_in(self, message: LoggedIn) -> None:
        if self.desk is not None:
            return
        self.user = message.user
        self.desk = DeskScreen(self.ctx, message.user)
        self.switch_screen(self.desk)
        stream = EventStream(self.ctx.api.ws_connect, backoff_base=self.ctx.config.ws_backoff_base,
                             backoff_cap=self.ctx.config.ws_backoff_cap)
        self.run_worker(stream.run(self._on_event, self._on_link), group="events", exclusive=True,
                        exit_on_error=False, name="event-stream")
        if self.freeze_gc:
            # The desk's widgets live all shift: moved out of the collector's full passes, which
            # otherwise stall a keystroke by tens of milliseconds now and then (a process-wide
            # switch, so only for the real program, not for apps made in tests).
            self.call_after_refresh(gc.freeze)

    def _on_event(self, topic: str, payload: dict[str, Any]) -> None:
        if self.desk is not None:
            self.desk.post_message(ServerEvent(topic, payload))

    def _on_link(self, link: Link) -> None:
        if self.desk is not None:
            self.desk.post_message(LinkChanged(link))
        if link.state == "unauthorized":
            self.call_later(self._login_again)

    def _login_again(self) -> None:
        """The token expired: back to the login screen; the desk's state stays on disk."""
        self.notify(_("Your login has expired; log in again."), severity="warning", timeout=10)
        login = str((self.user or {}).get("login", ""))
        self.desk = None
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.switch_screen(LoginScreen(self.ctx, login))

    # ------------------------------------------------------------------ app-wide actions

    def action_switch_language(self) -> None:
        self.set_language(next_language(current_language()))

    def set_language(self, lang: str) -> None:
        """Switch every screen's text to ``lang``; what is typed in fields stays."""
        set_language(lang)
        for screen in self.screen_stack:
            for widget in screen.walk_children(with_self=False):
                retranslate = getattr(widget, "retranslate", None)
                if callable(retranslate):
                    retranslate()
            if isinstance(screen, (DeskScreenBase, DeskModal)):
                screen.retranslate()
            screen.refresh_bindings()

    def get_key_display(self, binding: Binding) -> str:
        """``F2``, ``Ctrl+S``, ``Esc``: keys as they are printed on the keyboard."""
        return key_label(binding.key)

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def key_label(key: str) -> str:
    """A Textual key name as the operator reads it: ``f2`` -> ``F2``, ``ctrl+s`` -> ``Ctrl+S``."""
    names = {"escape": "Esc", "enter": "Enter", "space": "Space", "tab": "Tab", "backspace": "Backspace"}
    parts = key.split("+")
    out = [p.capitalize() for p in parts[:-1]]
    last = parts[-1]
    out.append(names.get(last) or (last.upper() if len(last) == 1 or last[:1] == "f" and last[1:].isdigit() else last))
    return "+".join(out)


def create_app(api: ApiClient, *, lang: str = "ru", clock: Clock | None = None, config: DeskConfig | None = None,
               state_dir: Path | None = None, login: str = "", freeze_gc: bool = False) -> ZvonarTui:
    """The app around an API client (tests hand in one pointed at their in-process server)."""
    ctx = DeskContext(api=api, clock=clock or SystemClock(), config=config or DeskConfig(),
                      state_dir=state_dir or default_state_dir())
    return ZvonarTui(ctx, lang=lang, login=login, freeze_gc=freeze_gc)


def run_tui(server: str, lang: str = "ru", login: str = "") -> int:
    """``zvonar tui``: run the desk against ``server``; a bad address or language is one line, not a traceback."""
    if lang not in LANGUAGES:
        print(f"zvonar tui: unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
        return 2
    try:
        url = normalise_server_url(server)
    except ValueError as exc:
        print(f"zvonar tui: {exc}")
        return 2
    create_app(ApiClient(url), lang=lang, login=login, freeze_gc=True).run()
    return 0
