"""An inbound call end to end: the card pops before answer, the script is walked, the wrap-up is saved.

The caller rings the support line on the PBX simulator; the bridge pops the card over
/api/ws; the operator walks the cold-call script with number keys, an objection and a
step back; the caller hangs up; the wrap-up records the outcome, the comment and a
callback on the client. Everything is checked again on the server.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from textual.widgets import TextArea

from crm_core.models import Interaction
from operator_tui.api_client import ApiClient
from operator_tui.screens.desk import DeskScreen
from operator_tui.screens.pick import PickScreen
from tests.operator_tui.conftest import MOSCOW, PASSWORD, Zvonar, desk, log_in, press_keys, type_text, wait_for

ROMASHKA = "+79161234567"


def _step(screen: DeskScreen) -> str | None:
    session = screen.session
    return (session or {}).get("current", {}).get("step_id")


async def test_screen_pop_script_and_wrap_up(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101", full_name="Ольга Андреевна Иванова")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", ROMASHKA, contact=("Иван", "Петров"))
    await zvonar.event(op.id, client_id, "meeting", "Демонстрация CRM", planned_at=datetime.now(MOSCOW) + timedelta(days=2))
    await zvonar.event(op.id, client_id, "incoming_call", "Спрашивали про тарифы", done_at=datetime.now(MOSCOW) - timedelta(days=5),
                       status="done")
    await zvonar.publish_scripts()

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "ivanova")
        await wait_for(pilot, lambda: isinstance(app.screen, DeskScreen), what="the desk")
        screen: DeskScreen = app.screen  # type: ignore[assignment]
        await wait_for(pilot, lambda: screen.state.link.state == "online" and screen.state.agent_state == "ready",
                       what="online and ready")

        channel = zvonar.ring("79161234567", "Иван Петров")
        seen_before_answer = []

        def card_up() -> bool:
            view = screen.card_widget.view
            if view is not None and view.title == "ООО «Ромашка»":
                ringing = screen.state.call is not None and screen.state.call.answered_at is None
                seen_before_answer.append((ringing, str(screen.status_bar.render())))
                return True
            return False

        await wait_for(pilot, card_up, what="the screen pop")
        ringing, bar = seen_before_answer[0]
        assert ringing, "the card must be up while the phone still rings"
        assert " звонок " in bar
        await wait_for(pilot, lambda: screen.state.shown_state == "on_call", what="the answer")
        await wait_for(pilot, lambda: screen.card_widget.view.complete, what="the full card")  # type: ignore[union-attr]
        view = screen.card_widget.view
        assert view is not None and view.client_id == client_id
        rows = dict(view.rows)
        assert rows["Company"] == "ООО «Ромашка»" and rows["Contact"].startswith("Петров Иван")
        assert rows["Region"].startswith("Москва · ") and "UTC+3" in rows["Region"]
        assert rows["Responsible"] == "Ольга Андреевна Иванова"
        assert any("Демонстрация CRM" in line for line in view.open_items)
        assert any("Спрашивали про тарифы" in line for line in view.history)
        assert view.phones[0][0] == ROMASHKA

        # The script: F4, the cold-call script by its number in the list.
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the script list")
        codes = [label for _value, label in app.screen.choices]  # type: ignore[attr-defined]
        await pilot.press(str(next(i for i, label in enumerate(codes) if "Холодный" in label) + 1))
        await wait_for(pilot, lambda: _step(screen) == "greeting", what="the first step")
        assert "Иван" in screen.session["current"]["text"]  # type: ignore[index]
        for key, step in (("1", "decision_maker"), ("1", "current_solution"), ("2", "team_size")):
            await pilot.press(key)
            await wait_for(pilot, lambda step=step: _step(screen) == step, what=step)
        await press_keys(pilot, "25")
        await pilot.press("enter")
        await wait_for(pilot, lambda: _step(screen) == "pain_points", what="pain_points")
        await pilot.press("1", "3", "enter")
        await wait_for(pilot, lambda: _step(screen) == "budget", what="budget")
        await pilot.press("2")
        await wait_for(pilot, lambda: _step(screen) == "interest", what="interest")
        # One step back: the budget is answered again, differently (the first answer stays, superseded).
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: _step(screen) == "budget", what="back to budget")
        await pilot.press("3")
        await wait_for(pilot, lambda: _step(screen) == "interest", what="interest again")
        # An objection and back from it.
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the objection list")
        await pilot.press("1")
        await wait_for(pilot, lambda: (screen.session or {}).get("current", {}).get("objection") == "Дорого",
                       what="the objection handler")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: _step(screen) == "interest" and not screen.session["current"]["objection"],  # type: ignore[index]
                       what="the return")
        await pilot.press("9")
        await wait_for(pilot, lambda: _step(screen) == "offer_meeting", what="offer_meeting")
        session_id = screen.session["id"]  # type: ignore[index]

        # The caller hangs up: the wrap-up opens beside the card by itself, the operator is paused meanwhile.
        await zvonar.hang_up(channel)
        await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up")
        await wait_for(pilot, lambda: screen.state.agent_state == "paused", what="the wrap-up pause")
        assert screen.state.shown_state == "wrap_up"
        await pilot.press("2")
        assert isinstance(app.focused, TextArea)
        await type_text(pilot, "Интересует запись звонков")
        await pilot.press("ctrl+t")  # callback tomorrow at 10:00, the client's time
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.wrapup_panel is None, what="the wrap-up to close")
        await wait_for(pilot, lambda: screen.state.shown_state == "ready", what="ready again")

    async with zvonar.db.reading() as s:
        events = list((await s.execute(select(Interaction).where(Interaction.client_id == client_id))).scalars())
    outcome = [e for e in events if e.type.code == "incoming_call" and e.subject == "Интересно"]
    assert len(outcome) == 1 and outcome[0].status.code == "done" and outcome[0].body == "Интересует запись звонков"
    callback = [e for e in events if e.type.code == "outgoing_call" and e.status.code == "planned"]
    assert len(callback) == 1
    at = callback[0].planned_at.astimezone(MOSCOW)
    assert (at.hour, at.minute) == (10, 0) and at.date() == (datetime.now(MOSCOW) + timedelta(days=1)).date()

    api = ApiClient(zvonar.base_url)
    try:
        await api.login("ivanova", PASSWORD)
        protocol = await api.request("GET", f"/api/script-sessions/{session_id}/protocol")
    finally:
        await api.close()
    assert protocol["answers"] == {"greeting": True, "decision_maker": "self", "current_solution": "excel",
                                   "team_size": 25, "pain_points": ["lost_calls", "manual_reports"],
                                   "budget": "30k_100k", "interest": 9}
    superseded = [e for e in protocol["entries"] if e["superseded"] and e["kind"] == "answer"]
    assert [e["value"] for e in superseded if e["step"] == "budget"] == ["10k_30k"]
