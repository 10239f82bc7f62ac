"""Nothing typed is lost: a restarted desk resumes its script session; a wrap-up saved while the server
is down waits on disk and goes when the event stream has reconnected by itself; nor done twice: a
request sent again after its answer was lost is done once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.worker import Worker

from crm_core.errors import DomainError, ServiceUnavailable
from crm_core.models import Interaction
from crm_core.services import idempotency
from crm_core.services import interactions as interactions_service
from operator_tui.api_client import ApiClient, ApiError, ServerUnreachable
from operator_tui.clock import FrozenClock
from operator_tui.messages import LinkChanged
from operator_tui.outbox import deliver, new_item
from operator_tui.screens.desk import DeskScreen
from operator_tui.screens.pick import PickScreen
from operator_tui.ws_client import Link
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
            await wait_for(pilot, lambda: "Всё неотправленное отправлено." in _notices(pilot),
                           what="the operator told the unsent was sent")
        finally:
            await back.close()
    assert await _notes_of(zvonar, client_id) == ["Договорились о встрече"]
    await asyncio.sleep(0)


def _notices(pilot) -> list[str]:  # type: ignore[no-untyped-def]
    return [notice.message for notice in pilot.app._notifications]


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


class _HeldNotes:
    """The server side of a slow write: the first note to arrive waits until ``go`` (then is
    written, or answered 503 when ``fail_first``); every claim of an Idempotency-Key is noted
    with what the server made of it ("claimed", "replayed" or the error code, e.g. request_in_progress)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_first: bool) -> None:
        self.arrived, self.go = asyncio.Event(), asyncio.Event()
        self.claims: list[tuple[str, str]] = []
        real_create, real_claim = interactions_service.create_interaction, idempotency.claim
        arrivals = 0

        async def held_create(*args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal arrivals
            arrivals += 1
            if arrivals == 1:
                self.arrived.set()
                await self.go.wait()
                if fail_first:
                    raise ServiceUnavailable("the store is busy")
            return await real_create(*args, **kwargs)

        async def noted_claim(db, user_id, key, *args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                outcome = await real_claim(db, user_id, key, *args, **kwargs)
            except DomainError as exc:
                self.claims.append((key, exc.code))
                raise
            self.claims.append((key, "replayed" if isinstance(outcome, idempotency.Replay) else "claimed"))
            return outcome

        monkeypatch.setattr(interactions_service, "create_interaction", held_create)
        monkeypatch.setattr(idempotency, "claim", noted_claim)


def _note_sendings(monkeypatch: pytest.MonkeyPatch, api: ApiClient) -> list[str]:
    """How each of the desk's note requests ended; the first never leaves (the network is away)."""
    real_create = api.create_interaction
    ended: list[str] = []

    async def noted(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not ended:
            ended.append("unreachable")
            raise ServerUnreachable("the network is away")
        try:
            done = await real_create(*args, **kwargs)
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise
        except ApiError as exc:
            ended.append(exc.code)
            raise
        ended.append("answered")
        return done

    monkeypatch.setattr(api, "create_interaction", noted)
    return ended


def _outbox_workers(screen: DeskScreen) -> list[Worker[object]]:
    return [w for w in screen.workers if w.node is screen and w.group == "outbox"]


@pytest.mark.parametrize("first_answer", ["written", "unavailable"])
async def test_a_trigger_while_the_outbox_is_sending_does_not_cancel_the_sending(
        zvonar: Zvonar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frozen_clock: FrozenClock,
        first_answer: str) -> None:
    """The link comes back while the retry timer's flush waits on the server: the flush in flight is
    not cancelled and its request not sent twice (the resend meets 409 request_in_progress and a
    backoff where the server keeps doing the first; this test server cancels the handler of a
    request the desk dropped, so here it is done afresh), and if its sending fails it goes round
    once more at once, not at the next timer (the clock is frozen here: no timer would ever come)."""
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    app = desk(zvonar.base_url, tmp_path, clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk_on_card(pilot, client_id)
        held = _HeldNotes(monkeypatch, fail_first=first_answer == "unavailable")
        sendings = _note_sendings(monkeypatch, screen.ctx.api)
        await _save_wrap_up(pilot, screen, "Договорились о встрече")
        assert screen.state.unsent == 1
        key = f"outbox-{screen.outbox.items[0]['id']}"

        frozen_clock.advance(60)  # the retry timer comes due: the flush sends, the server holds it
        await wait_for(pilot, held.arrived.is_set, what="the outbox's request to reach the server")
        in_flight = _outbox_workers(screen)
        back = Link("online")
        screen.post_message(LinkChanged(back))  # the event stream reconnected meanwhile
        await wait_for(pilot, lambda: screen.state.link is back, what="the link back")
        await wait_for(pilot, lambda: all(w in in_flight or w.is_finished for w in _outbox_workers(screen)),
                       what="what the trigger started to finish")
        held.go.set()
        await wait_for(pilot, lambda: not _outbox_workers(screen), what="the outbox's work to finish")

        assert screen.outbox.items == [] and screen.state.unsent == 0
    first = ["answered"] if first_answer == "written" else ["service_unavailable", "answered"]
    assert sendings == ["unreachable", *first]  # no "cancelled", no "request_in_progress"
    assert held.claims == [(key, "claimed")] * len(first)
    assert await _notes_of(zvonar, client_id) == ["Договорились о встрече"]
