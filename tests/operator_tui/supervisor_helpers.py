"""What the supervisor screens' tests share: getting from the login to a supervisor screen, filling a form,
and the deterministic events a snapshot is drawn from (shaped as the dialer and the bridge publish them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from textual.widgets import Input

from operator_tui.screens.supervisor import SupervisorMenu
from tests.operator_tui.conftest import log_in, wait_for

MENU = {"campaigns": "1", "wallboard": "2", "protocols": "3"}
ALL_WEEK = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}


async def open_supervisor_screen(pilot: Any, login: str, which: str, screen_type: type) -> Any:
    """Log in as a supervisor, F11, the menu line: the screen once it is up."""
    app = pilot.app
    await log_in(pilot, login)
    await wait_for(pilot, lambda: app.desk is not None, what="the desk")
    desk = app.desk
    await wait_for(pilot, lambda: desk.state.link.state == "online", what="the desk online")
    await pilot.press("f11")
    await wait_for(pilot, lambda: isinstance(app.screen, SupervisorMenu), what="the supervisor menu")
    await pilot.press(MENU[which])
    await wait_for(pilot, lambda: isinstance(app.screen, screen_type), what=which)
    return app.screen


async def fill(pilot: Any, values: dict[str, str]) -> None:
    """Type into the form's inputs by id, each focused first (as Tab would)."""
    for field_id, text in values.items():
        field = pilot.app.screen.query_one(f"#{field_id}", Input)
        field.focus()
        await pilot.pause()
        field.value = ""
        field.insert_text_at_cursor(text)
    await pilot.pause()


def stats_event(campaign: dict[str, Any], at: datetime, *, dials: int, answered: int, abandoned: int,
                occupancy: float, ringing: int = 0, waiting: int = 0, in_flight: int = 0,
                agents: dict[str, int] | None = None, cap: float = 0.03) -> dict[str, Any]:
    """A ``campaign.stats`` payload as dialer.runner_state.stats_payload makes it."""
    rate = round(abandoned / answered, 4) if answered else 0.0
    return {
        "campaign_id": campaign["id"], "team_id": campaign.get("team_id"), "name": campaign["name"],
        "state": campaign.get("state", "running"), "mode": campaign.get("mode", "predictive"), "at": at.isoformat(),
        "dials": dials, "answered": answered, "abandoned": abandoned, "abandon_rate": rate, "occupancy": occupancy,
        "agents": agents or {"free": 1, "talk": 2, "wrap": 1, "paused": 0, "unavailable": 0},
        "ringing": ringing, "waiting": waiting, "in_flight": in_flight,
        "day_dials": dials, "day_answered": answered, "day_abandoned": abandoned, "day_abandon_rate": rate,
        "window_dials": dials, "window_answered": answered, "window_abandoned": abandoned,
        "window_abandon_rate": rate, "abandon_cap": cap,
    }


def agent_event(user: Any, state: str, since: datetime, *, reason: str | None = None,
                call_id: str | None = None) -> dict[str, Any]:
    """An ``agent.state`` payload as the AMI bridge publishes it."""
    return {"agent": user.phone_endpoint, "call_id": call_id, "user_id": user.id, "team_id": user.team_id,
            "state": state, "reason": reason, "queues": ["campaign"], "since": since.isoformat(),
            "previous_state": "ready"}


def a_day_of_stats(campaign: dict[str, Any], start: datetime, ticks: int = 24) -> list[dict[str, Any]]:
    """A morning's figures growing tick by tick (fixed numbers: the same picture every run)."""
    out = []
    dials = answered = abandoned = 0
    for i in range(ticks):
        dials += (3, 5, 2, 6, 4, 7)[i % 6]
        answered += (1, 2, 1, 3, 2, 3)[i % 6]
        abandoned += 1 if i in (7, 19) else 0
        out.append(stats_event(campaign, start + timedelta(seconds=i), dials=dials, answered=answered,
                               abandoned=abandoned, occupancy=(0.62, 0.71, 0.78, 0.84, 0.8, 0.86)[i % 6],
                               ringing=2, waiting=1, in_flight=4))
    return out
