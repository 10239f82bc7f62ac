"""Nothing typed is lost: a restarted desk resumes its script session; a wrap-up saved while the server
is down waits on disk and goes when the event stream has reconnected by itself; nor done twice: a
request sent again after its answer was lost is done once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.models import Interaction
from operator_tui.api_client import ApiClient, ServerUnreachable
from operator_tui.outbox import deliver, new_item
from operator_tui.screens.desk import DeskScreen
from operator_tui.screens.pick import PickScreen
from tests.operator_tui.conftest import PASSWORD, SIM, Zvonar, _serve, desk, log_in, type_text, wait_for


async def _desk(pilot) -> DeskScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await log_in(pilot, "ivanova")
    await wait_for(pilot, lambda: app.desk is not None, what="the desk")
    screen: DeskScreen = app.desk
    await wait_for(pilot, lambda: screen.state.link.state == "online", what="online")
    return screen


async def _desk_on_card(pilot, client_id: int) -> DeskScreen:  # type: ignore[no-untyped-def]
    screen = await _desk(pilot)
    screen.show_client(client_id)
    await wait_for(pilot, lambda: screen.card is not None, what="the card")
    return screen


async def _save_wrap_up(pilot, screen: DeskScreen, comment: str) -> None:  # type: ignore[no-untyped-def]
    """F6, the first outcome, a comment, Ctrl+S: the operator's wrap-up, until its form closes."""
    await pilot.press("f6")
    await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up")
    await pilot.press("1")
    await type_text(pilot, comment)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: screen.wrapup_panel is None, what="the wrap-up to close")


async def _notes_of(zvonar: Zvonar, client_id: int) -> list[str]:
    async with zvonar.db.reading() as s:
        return list((await s.execute(select(Interaction.body).where(Interaction.client_id == client_id))).scalars())


def _step(screen: DeskScreen) -> str | None:
    return (screen.session or {}).get("current", {}).get("step_id")


async def test_a_restarted_desk_resumes_the_script_where_it_stopped(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567", contact=("Иван", "Петров"))
    await zvonar.publish_scripts()
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        screen.show_client(client_id)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the script list")
        labels = [label for _v, label in app.screen.choices]  # type: ignore[attr-defined]
        await pilot.press(str(next(i for i, label in enumerate(labels) if "NPS" in label or "отзыв" in label.lower()) + 1))
        await wait_for(pilot, lambda: _step(screen) is not None, what="the first step")
        # On disk as soon as it starts: a crash a moment later must not lose which session it was.
        assert json.loads(screen.store.path.read_text("utf-8"))["session_id"] == screen.session["id"]  # type: ignore[index]
        first = _step(screen)
        await pilot.press("1")
        await wait_for(pilot, lambda: _step(screen) != first, what="the second step")
        where, session_id = _step(screen), screen.session["id"]  # type: ignore[index]
        state_file = screen.store.path
    # Closing the desk writes what was still waiting on its save timer.
    saved = json.loads(state_file.read_text("utf-8"))
    assert (saved["client_id"], saved["session_id"]) == (client_id, session_id)

    again = desk(zvonar.base_url, tmp_path, login="ivanova")  # same state folder: as after a crash
    async with again.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "ivanova")
        await wait_for(pilot, lambda: again.desk is not None, what="the desk")
        screen = again.desk
        await wait_for(pilot, lambda: _step(screen) == where, what="the resumed step")
        assert screen.session["id"] == session_id  # type: ignore[index]
        assert screen.card_client_id == client_id
        assert screen.script_panel.session["current"]["step_id"] == where  # type: ignore[index]


async def test_wrap_up_while_the_server_is_down_is_kept_and_sent_after_reconnect(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk_on_card(pilot, client_id)
        port = int(zvonar.base_url.rsplit(":", 1)[1])

        # The server goes away: the desk says so and keeps trying.
        await zvonar.server.close()
        await wait_for(pilot, lambda: screen.state.link.state == "offline", what="offline")
        assert "нет связи" in str(screen.status_bar.render())

        # The operator records an outcome anyway: it is kept, and said to be unsent.
        await _save_wrap_up(pilot, screen, "Договорились о встрече")
        assert screen.state.unsent == 1 and "не отправлено: 1" in str(screen.status_bar.render())
        assert "Договорились о встрече" in (tmp_path / screen.store.path.name).read_text("utf-8")

        # The server is back on the same address: the stream reconnects by itself, the outbox empties.
        back, _app, _bus = await _serve(zvonar.db, SIM, port=port)
        try:
            await wait_for(pilot, lambda: screen.state.link.state == "online", what="reconnected")
            await wait_for(pilot, lambda: screen.state.unsent == 0, what="the outbox to empty")
        finally:
            await back.close()
    assert await _notes_of(zvonar, client_id) == ["Договорились о встрече"]
    await asyncio.sleep(0)


async def test_a_wrap_up_whose_answer_was_lost_is_sent_again_under_the_same_key(
        zvonar: Zvonar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server wrote the wrap-up's note but its answer never came back (a server going
    down, a dropped connection): the desk keeps the request and sends it again, under the
    key of its first sending, and the server does it once."""
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk_on_card(pilot, client_id)
        api = screen.ctx.api
        real_create = api.create_interaction
        answers_lost: list[object] = []

        async def answer_lost_once(*args, **kwargs):  # type: ignore[no-untyped-def]
            done = await real_create(*args, **kwargs)  # the server did the work...
            if not answers_lost:
                answers_lost.append(done)
                raise ServerUnreachable("connection reset before the answer")  # ...its answer got lost
            return done

        monkeypatch.setattr(api, "create_interaction", answer_lost_once)
        await _save_wrap_up(pilot, screen, "Договорились о встрече")
        await wait_for(pilot, lambda: answers_lost and screen.state.unsent == 0, what="the outbox to empty")
    assert await _notes_of(zvonar, client_id) == ["Договорились о встрече"]


async def test_an_outbox_item_sent_again_after_its_answer_was_lost_is_done_once(zvonar: Zvonar) -> None:
    """The desk cannot tell a request the server never got from one whose answer got lost: it sends
    it again, under the item's id as the Idempotency-Key, and the server does it once."""
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    api = ApiClient(zvonar.base_url)
    try:
        await api.login("ivanova", PASSWORD)
        item = new_item("interaction", client_id=client_id,
                        body={"type": "outgoing_call", "status": "done", "subject": "Звонок",
                              "body": "Перезвонить в пятницу"})
        first = await deliver(api, item)
        again = await deliver(api, item)  # as after a timeout on the first answer
        assert again == first
        other = await deliver(api, new_item("interaction", client_id=client_id, body=item["body"]))
        assert other["id"] != first["id"]
    finally:
        await api.close()
    assert await _notes_of(zvonar, client_id) == ["Перезвонить в пятницу", "Перезвонить в пятницу"]
