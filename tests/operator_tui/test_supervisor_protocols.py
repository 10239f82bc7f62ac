"""The protocol viewer against the real server: an operator's finished script session, read by their
supervisor step by step (the answer she went back on struck through), from the team's list and from
the client's calls; a supervisor of another team does not see it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from crm_core.services.calls import CallRecord, record_finished_call
from operator_tui.api_client import ApiClient
from operator_tui.clock import FrozenClock
from operator_tui.screens.protocols import ProtocolsScreen
from operator_tui.screens.search import SearchScreen
from tests.operator_tui.conftest import FROZEN_AT, PASSWORD, Zvonar, desk, type_text, wait_for
from tests.operator_tui.supervisor_helpers import open_supervisor_screen


async def _finished_session(zvonar: Zvonar, login: str, client_id: int, call_id: int) -> int:
    """Ivanova runs the cold call on the client's call: yes, "I decide", back, "someone else", the contact, finish."""
    api = ApiClient(zvonar.base_url)
    try:
        await api.login(login, PASSWORD)
        session = await api.start_script(client_id, code="cold_call_b2b", call_id=call_id)
        sid = int(session["id"])
        await api.script_answer(sid, "greeting", True)
        await api.script_answer(sid, "decision_maker", "self")
        await api.script_back(sid)
        await api.script_answer(sid, "decision_maker", "other")
        await api.script_answer(sid, "decision_maker_contact", "Бурцев Игорь, +7 913 555-01-02")
        done = await api.script_finish(sid)
        assert done["status"] == "finished"
        return sid
    finally:
        await api.close()


def _reading(screen: ProtocolsScreen) -> str:
    return str(screen.query_one("#pr-protocol").render())


async def test_supervisor_reads_a_finished_protocol_step_by_step(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101", full_name="Иванова Ольга Андреевна")
    await zvonar.user("smirnova", role="supervisor", full_name="Смирнова Анна Сергеевна")
    await zvonar.user("shevchenko", role="supervisor", team="Киевский филиал")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567", contact=("Иван", "Петров"))
    await zvonar.publish_scripts()
    call = await record_finished_call(zvonar.db, CallRecord(
        direction="outbound", outcome="answered", number="+79161234567", linkedid="1773559800.42",
        started_at=datetime(2027, 3, 15, 7, 5, tzinfo=timezone.utc), answered_at=datetime(2027, 3, 15, 7, 5, 9, tzinfo=timezone.utc),
        ended_at=datetime(2027, 3, 15, 7, 8, 24, tzinfo=timezone.utc), talk_seconds=195, agent="101", client_id=client_id))
    # A second call of the client's on which no script was run.
    await record_finished_call(zvonar.db, CallRecord(
        direction="inbound", outcome="no_answer", number="+79161234567", linkedid="1773559800.57",
        started_at=datetime(2027, 3, 15, 8, 0, tzinfo=timezone.utc), client_id=client_id))
    session_id = await _finished_session(zvonar, "ivanova", client_id, call.call_id)

    app = desk(zvonar.base_url, tmp_path, clock=FrozenClock(FROZEN_AT))
    async with app.run_test(size=(120, 40)) as pilot:
        screen: ProtocolsScreen = await open_supervisor_screen(pilot, "smirnova", "protocols", ProtocolsScreen)
        await wait_for(pilot, lambda: screen.loaded and screen.protocol is not None, what="the team's sessions")
        assert [r["id"] for r in screen.rows] == [session_id]
        row = screen.rows[0]
        assert row["client_name"] == "ООО «Ромашка»" and row["user_name"] == "Иванова Ольга Андреевна"
        assert row["answers"] == 4 and row["call"]["talk_seconds"] == 195
        text = _reading(screen)
        # Every step in order, with the answer; the one she went back on is kept and marked.
        assert text.index("greeting") < text.index("decision_maker") < text.index("decision_maker_contact")
        assert "→ Да" in text and "→ self (отменён)" in text
        assert "current_solution (отменён)" in text, "the step shown after the answer she went back on"
        assert text.index("→ self") < text.index("↩") < text.index("→ decision_maker: other")
        assert "Бурцев Игорь, +7 913 555-01-02" in text and "Итог" in text

        # The client's calls: the scripted one and the one with no script.
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen), what="the client search")
        await type_text(pilot, "Ромашка")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.screen.results) == 1, what="the client")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.client is not None and screen.loaded,
                       what="the client's calls")
        assert [r["id"] for r in screen.rows] == [None, session_id], "newest first: the unscripted call, then the session"
        assert "Сценарий не запускался" in _reading(screen)
        await pilot.press("down")
        await wait_for(pilot, lambda: screen.protocol is not None and screen.protocol["id"] == session_id,
                       what="the protocol of the scripted call")
        assert "Бурцев Игорь" in _reading(screen)

        # English, then Ukrainian, from the catalogues: the reading and the headings follow.
        await pilot.press("f12")
        assert "self (superseded)" in _reading(screen) and "Outcome: callback" in _reading(screen)
        assert "Protocols · calls of ООО «Ромашка»" in str(screen.query_one("#pr-head").render())
        await pilot.press("f12")
        assert "self (скасовано)" in _reading(screen) and "Підсумок: передзвон" in _reading(screen)
        await pilot.press("f12")
        assert "self (отменён)" in _reading(screen)

    # Another team's supervisor finds nothing: the list is scoped, the protocol is "not found".
    other = ApiClient(zvonar.base_url)
    try:
        await other.login("shevchenko", PASSWORD)
        assert await other.script_sessions() == []
        try:
            await other.protocol(session_id)
        except Exception as exc:  # noqa: BLE001 - the ApiError is the point
            assert getattr(exc, "status", None) == 404
        else:
            raise AssertionError("another team's supervisor read the protocol")
    finally:
        await other.close()
