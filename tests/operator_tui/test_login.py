"""The login screen against a real server: good and wrong passwords, a server that is not there."""

from __future__ import annotations

import socket
from pathlib import Path

from textual.widgets import Static

from operator_tui.screens.desk import DeskScreen
from operator_tui.screens.login import LoginScreen
from tests.operator_tui.conftest import Zvonar, desk, log_in, wait_for


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#login-status", Static).render())


async def test_good_password_opens_the_desk_and_the_event_stream(zvonar: Zvonar, tmp_path: Path) -> None:
    await zvonar.user("ivanova", endpoint="101", full_name="Ольга Андреевна Иванова")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await log_in(pilot, "ivanova")
        await wait_for(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk")
        desk_screen = app.screen
        await wait_for(pilot, lambda: desk_screen.state.link.state == "online", what="the WebSocket")
        # The PBX's word on the agent arrives after ws.ready: 101 is a ready member of "support".
        await wait_for(pilot, lambda: desk_screen.state.agent_state == "ready", what="the agent state")
        bar = str(desk_screen.status_bar.render())
        assert "Ольга Андреевна Иванова" in bar and "готов" in bar and "на связи" in bar


async def test_wrong_password_says_so_and_stays(zvonar: Zvonar, tmp_path: Path) -> None:
    await zvonar.user("ivanova", endpoint="101")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test() as pilot:
        await log_in(pilot, "ivanova", "not the password")
        await wait_for(pilot, lambda: "Неверный" in _status(app), what="the refusal")
        assert isinstance(app.screen, LoginScreen)
        assert app.ctx.api.token is None


async def test_unreachable_server_is_said_and_retried_until_it_answers(zvonar: Zvonar, tmp_path: Path) -> None:
    """A dead address first (nothing listens there), then the operator fixes the address: in."""
    await zvonar.user("ivanova", endpoint="101")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    app = desk(f"http://127.0.0.1:{dead_port}", tmp_path)
    async with app.run_test() as pilot:
        await log_in(pilot, "ivanova")
        await wait_for(pilot, lambda: "недоступен" in _status(app), what="the unreachable message")
        first = _status(app)
        assert f"127.0.0.1:{dead_port}" in first and "повтор" in first
        # It keeps trying by itself, counting the attempts.
        await wait_for(pilot, lambda: "Попытка 3" in _status(app), what="the third attempt")
        assert isinstance(app.screen, LoginScreen)
        # The operator corrects the address; the next attempt gets in.
        server_field = app.screen.query_one("#login-server")
        server_field.value = zvonar.base_url  # type: ignore[attr-defined]
        server_field.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk")
