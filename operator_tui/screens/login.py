"""The login screen: user, password, server. An unreachable server is said here and retried.

A wrong password says so and waits for the operator; a server that does not answer is
tried again by itself, with a countdown, until it does or the operator changes
something (Esc stops the retries).
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.widgets import Input, Static

from operator_tui.api_client import ApiError, ServerUnreachable
from operator_tui.context import DeskContext
from operator_tui.i18n import LANGUAGE_NAMES, N_, _, current_language
from operator_tui.messages import LoggedIn
from operator_tui.screens.base import DeskScreenBase
from operator_tui.widgets.key_bar import KeyBar
from operator_tui.widgets.translated import Tr, TrButton
from operator_tui.ws_client import backoff_delay


class LoginScreen(DeskScreenBase):
    """Posts LoggedIn with the user once the server has said yes."""

    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box { width: 60; height: auto; border: thick $accent; padding: 1 2; background: $surface; }
    LoginScreen #login-title { text-style: bold; color: $accent; width: 100%; content-align: center middle; }
    LoginScreen #login-status { height: auto; margin-top: 1; }
    LoginScreen #login-lang { color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "stop_retry", N_("Stop retrying")),
        Binding("f12", "app.switch_language", N_("Language")),
        Binding("ctrl+q", "app.quit", N_("Quit")),
    ]

    def __init__(self, ctx: DeskContext, login: str = "") -> None:
        super().__init__()
        self.ctx = ctx
        self.initial_login = login

    def compose(self) -> ComposeResult:
        with Center():
            with Vertical(id="login-box"):
                yield Tr("Zvonar — operator desk", id="login-title")
                yield Tr("User")
                yield Input(self.initial_login, id="login-user", max_length=64)
                yield Tr("Password")
                yield Input(id="login-password", password=True, max_length=256)
                yield Tr("Server")
                yield Input(self.ctx.api.base_url, id="login-server", max_length=300)
                yield Static(id="login-lang", markup=False)
                yield TrButton("Log in", id="login-button", variant="primary")
                yield Static(id="login-status", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.retranslate()
        self.query_one("#login-password" if self.initial_login else "#login-user", Input).focus()

    def retranslate(self) -> None:
        self.query_one("#login-lang", Static).update(
            _("Language: {name} (F12 switches)").format(name=LANGUAGE_NAMES[current_language()]))

    def status(self, message: str, style: str = "") -> None:
        # A worker may still speak while the screen is being replaced by the desk.
        for widget in self.query("#login-status").results(Static):
            widget.update(Text(message, style=style))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "login-user":
            self.query_one("#login-password", Input).focus()
        else:
            self.attempt()

    def on_button_pressed(self, event: TrButton.Pressed) -> None:
        if event.button.id == "login-button":
            event.stop()
            self.attempt()

    def action_stop_retry(self) -> None:
        self.workers.cancel_group(self, "login")
        self.status(_("Stopped. Press Enter to try again."), "dim")

    @work(exclusive=True, group="login")
    async def attempt(self) -> None:
        login = self.query_one("#login-user", Input).value.strip()
        password = self.query_one("#login-password", Input).value
        server = self.query_one("#login-server", Input).value.strip()
        if not login or not password:
            self.status(_("Enter the user and the password."), "bold red")
            return
        api = self.ctx.api
        try:
            if server != api.base_url:
                api.set_server(server)
        except ValueError:
            self.status(_("This is not a server address: {server}").format(server=server), "bold red")
            return
        tries = 0
        server_url = api.base_url
        while api.base_url == server_url:
            tries += 1
            self.status(_("Connecting to {server}…").format(server=api.base_url), "dim")
            try:
                user = await api.login(login, password)
            except ServerUnreachable as exc:
                delay = backoff_delay(tries, self.ctx.config.login_retry_base, self.ctx.config.login_retry_cap)
                await self._countdown(api.base_url, str(exc), delay, tries)
                continue
            except ApiError as exc:
                if exc.status == 401:
                    self.status(_("Wrong user or password."), "bold red")
                    self.query_one("#login-password", Input).focus()
                elif exc.status == 429:
                    self.status(_("Too many attempts; wait a minute and try again."), "bold red")
                else:
                    self.status(_("The server refused: {reason}").format(reason=exc.describe()), "bold red")
                return
            self.status(_("Logged in."), "green")
            self.post_message(LoggedIn(user))
            return

    async def _countdown(self, server: str, reason: str, delay: float, tries: int) -> None:
        left = delay
        while left > 0:
            self.status(
                _("The server {server} cannot be reached ({reason}).").format(server=server, reason=reason[:80]) + "\n"
                + _("Attempt {number}; trying again in {seconds} s — Esc stops.").format(
                    number=tries, seconds=max(1, round(left))), "bold yellow")
            step = min(1.0, left)
            await asyncio.sleep(step)
            left -= step
