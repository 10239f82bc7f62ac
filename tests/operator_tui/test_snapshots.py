"""Snapshots of the desk's main screens at 120×40 and 80×24, against a real server in a thread.

Everything that depends on the time comes from a frozen clock (FROZEN_AT, Moscow), the
data is made the same way every run, and the screen pop is published on the server's
bus in the shape the AMI bridge publishes it, so the pictures are the same every run.
Update them with ``pytest tests/operator_tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from operator_tui.clock import FrozenClock
from operator_tui.screens.pick import PickScreen
from tests.operator_tui.conftest import FROZEN_AT, ThreadedZvonar, Zvonar, desk, log_in, wait_for

SIZES = [(120, 40), (80, 24)]


async def _seed(z: Zvonar) -> dict[str, Any]:
    op = await z.user("ivanova", endpoint="101", full_name="Ольга Андреевна Иванова")
    client_id = await z.client(op.id, "ООО «Ромашка»", "+79161234567", contact=("Иван", "Петров"))
    await z.event(op.id, client_id, "incoming_call", "Спрашивали про тарифы", done_at=FROZEN_AT - timedelta(days=5),
                  status="done")
    await z.event(op.id, client_id, "meeting", "Демонстрация CRM", planned_at=FROZEN_AT + timedelta(days=2))
    await z.event(op.id, client_id, "outgoing_call", "Перезвонить по КП", planned_at=FROZEN_AT + timedelta(hours=2))
    await z.publish_scripts()
    return {"user_id": op.id, "client_id": client_id}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    threaded = ThreadedZvonar(tmp_path_factory.mktemp("snapshots") / "zvonar.sqlite3")
    zvonar = threaded.start()
    threaded.seeded = threaded.run(_seed(zvonar))  # type: ignore[attr-defined]
    yield threaded
    threaded.stop()


def _pop(seeded: dict[str, Any]) -> dict[str, Any]:
    """A screen pop as ami_bridge.screen_pop.build_screen_pop makes it for a known caller."""
    return {
        "user_id": seeded["user_id"], "call_id": "1773559800.17", "action_id": None, "direction": "inbound",
        "agent": "101", "queue": "support", "number": "+79161234567", "caller_name": "Иван Петров", "known": True,
        "client": {"client_id": seeded["client_id"], "name": "ООО «Ромашка»", "kind": "company", "status": "client",
                   "region": "Москва", "responsible_id": seeded["user_id"], "responsible_name": "Ольга Андреевна Иванова",
                   "contact_id": None, "contact_name": "Петров Иван", "phone_kind": "mobile", "e164": "+79161234567",
                   "local_time": "10:30"},
        "open_interactions": [],
    }


async def _logged_in(pilot, server: ThreadedZvonar) -> Any:  # type: ignore[no-untyped-def]
    app = pilot.app
    await log_in(pilot, "ivanova")
    await wait_for(pilot, lambda: app.desk is not None, what="the desk")
    screen = app.desk
    await wait_for(pilot, lambda: screen.state.link.state == "online" and screen.state.agent_state == "ready"
                   and screen.agenda, what="online, ready, the day's agenda")
    return screen


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    """No toasts, no blinking cursors: only what the screen itself shows."""
    pilot.app.clear_notifications()
    for field in pilot.app.screen.query("Input, TextArea"):
        field.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_idle_desk(snap_compare, server: ThreadedZvonar, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = desk(server.zvonar.base_url, tmp_path, clock=FrozenClock(FROZEN_AT))  # type: ignore[union-attr]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _logged_in(pilot, server)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_screen_pop_with_the_script(snap_compare, server: ThreadedZvonar, tmp_path: Path, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = desk(server.zvonar.base_url, tmp_path, clock=FrozenClock(FROZEN_AT))  # type: ignore[union-attr]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await _logged_in(pilot, server)
        server.run(server.zvonar.bus.publish("screen.pop", _pop(server.seeded)))  # type: ignore[union-attr, attr-defined]
        await wait_for(pilot, lambda: screen.card_widget.view is not None and screen.card_widget.view.complete,
                       what="the full card")
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the script list")
        labels = [label for _v, label in app.screen.choices]
        await pilot.press(str(next(i for i, label in enumerate(labels) if "Холодный" in label) + 1))
        await wait_for(pilot, lambda: (screen.session or {}).get("current", {}).get("step_id") == "greeting",
                       what="the first step")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_wrap_up_beside_the_card(snap_compare, server: ThreadedZvonar, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = desk(server.zvonar.base_url, tmp_path, clock=FrozenClock(FROZEN_AT))  # type: ignore[union-attr]

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = await _logged_in(pilot, server)
        screen.show_client(server.seeded["client_id"])  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: screen.card_widget.view is not None and screen.card_widget.view.complete,
                       what="the full card")
        await pilot.press("f6")
        await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up")
        await pilot.press("2")
        await pilot.press("ctrl+t")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
