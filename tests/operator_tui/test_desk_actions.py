"""The desk's other jobs against the real server: search and click-to-call, pause with a reason,
an unknown caller made a client, callbacks that pop when due, the language switch."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from crm_core.models import Client, Contact, Phone
from operator_tui.agenda import day_bounds
from operator_tui.screens.agenda import AgendaScreen
from operator_tui.screens.desk import DeskScreen
from operator_tui.screens.pick import PickScreen
from operator_tui.screens.search import SearchScreen
from operator_tui.widgets.key_bar import KeyBar
from tests.operator_tui.conftest import MOSCOW, Zvonar, desk, log_in, type_text, wait_for


async def _desk(pilot, login: str = "ivanova") -> DeskScreen:  # type: ignore[no-untyped-def]
    app = pilot.app
    await log_in(pilot, login)
    await wait_for(pilot, lambda: app.desk is not None, what="the desk")
    screen: DeskScreen = app.desk
    await wait_for(pilot, lambda: screen.state.link.state == "online" and screen.state.agent_state == "ready",
                   what="online and ready")
    return screen


def _member(zvonar: Zvonar, endpoint: str) -> dict[str, str]:
    return next(m for m in zvonar.sim.queue_members("support") if m["Interface"] == f"PJSIP/{endpoint}")


async def test_search_by_any_phone_format_and_click_to_call(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    await zvonar.client(op.id, "ФОП Бондар Ганна Іванівна", "+380671234567", region="Киевская область")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen), what="the search")
        search: SearchScreen = app.screen  # type: ignore[assignment]
        await type_text(pilot, "8 (916) 123-45-67")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(search.results) == 1, what="one result")
        assert search.results[0]["name"] == "ООО «Ромашка»"
        await pilot.press("f3")  # call the highlighted result
        await wait_for(pilot, lambda: screen.state.call is not None, what="the placed call")
        call = screen.state.call
        assert call is not None and call.direction == "outbound" and call.number == "+79161234567"
        assert call.action_id and call.db_call_id
        assert screen.card_client_id == client_id
        # The operator's phone (101) answers, then the client's: the call is talked on.
        await wait_for(pilot, lambda: screen.state.shown_state == "on_call", what="the call to connect")
        channels = [c["channel"] for c in zvonar.sim.live_channels() if "trunk" in c["channel"]]
        await zvonar.hang_up(channels[0])
        await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up after the call")
        await pilot.press("escape")  # closed, kept: still due
        assert screen.wrapup_panel is None and screen.state.shown_state == "wrap_up"


async def test_pause_with_a_reason_then_ready(zvonar: Zvonar, tmp_path: Path) -> None:
    await zvonar.user("ivanova", endpoint="101")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the reasons")
        await pilot.press("1")  # обед
        await wait_for(pilot, lambda: _member(zvonar, "101")["Paused"] == "1", what="paused on the PBX")
        assert _member(zvonar, "101")["PausedReason"] == "обед"
        await wait_for(pilot, lambda: screen.state.agent_state == "paused", what="paused on the desk")
        assert "пауза: обед" in str(screen.status_bar.render())
        await pilot.press("f5")
        await wait_for(pilot, lambda: _member(zvonar, "101")["Paused"] == "0", what="ready on the PBX")
        await wait_for(pilot, lambda: screen.state.shown_state == "ready", what="ready on the desk")


async def test_unknown_caller_becomes_a_client_from_the_prefilled_form(zvonar: Zvonar, tmp_path: Path) -> None:
    await zvonar.user("ivanova", endpoint="101")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        zvonar.ring("375297654321", "Алесь Лукашевич", patience=2000)
        await wait_for(pilot, lambda: screen.query_one("#desk-left").current == "new-client", what="the form")
        form = screen.query_one("#new-client")
        assert form.values()["nc-phone"] == "+375297654321"
        assert form.values()["nc-first-name"] == "Алесь Лукашевич"
        await type_text(pilot, "ОАО «Белшина»")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.card_client_id is not None, what="the new card")
        await wait_for(pilot, lambda: screen.card_widget.view is not None and screen.card_widget.view.complete,
                       what="the card")
        assert screen.card_widget.view.title == "ОАО «Белшина»"  # type: ignore[union-attr]
        assert screen.state.call is not None and screen.state.call.client_id == screen.card_client_id
    async with zvonar.db.reading() as s:
        client = (await s.execute(select(Client).join(Phone, Phone.client_id == Client.id)
                                  .where(Phone.e164 == "+375297654321"))).scalar_one()
        contacts = (await s.execute(select(Contact.first_name).where(Contact.client_id == client.id))).scalars().all()
    assert client.name == "ОАО «Белшина»" and contacts == ["Алесь Лукашевич"]


async def test_callbacks_due_today_pop_and_reminder_events_pop_at_once(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101")
    client_id = await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    now = datetime.now(MOSCOW)
    due_id = await zvonar.event(op.id, client_id, "outgoing_call", "Перезвонить по КП", planned_at=now - timedelta(seconds=1))
    # Later today on the desk's own clock (this machine's zone): an hour on, or halfway to its midnight.
    desk_now = datetime.now().astimezone()
    later = min(timedelta(hours=1), (day_bounds(desk_now)[1] - desk_now) / 2)
    later_id = await zvonar.event(op.id, client_id, "outgoing_call", "Уточнить оплату", planned_at=now + later)
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the due callback")
        assert [i.id for i in app.screen.items] == [due_id]  # type: ignore[attr-defined]
        await pilot.press("enter")  # opens the client's card
        await wait_for(pilot, lambda: screen.card_client_id == client_id, what="the card")
        assert [i.id for i in screen.agenda] == [due_id, later_id]
        # The server says a reminder is due: it pops now, not at its planned time.
        await zvonar.bus.publish("reminder.due", {
            "user_id": op.id, "interaction": {"id": later_id, "client_id": client_id, "type": "outgoing_call",
                                              "type_name": "Исходящий звонок", "subject": "Уточнить оплату",
                                              "planned_at": (now + timedelta(hours=1)).isoformat(), "is_final": False}})
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the reminder")
        assert [i.subject for i in app.screen.items] == ["Уточнить оплату"]  # type: ignore[attr-defined]


async def test_language_switch_keeps_what_is_typed(zvonar: Zvonar, tmp_path: Path) -> None:
    await zvonar.user("ivanova", endpoint="101")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        keys = screen.query_one(KeyBar)
        assert "Поиск" in str(keys.render()) and "готов" in str(screen.status_bar.render())
        await pilot.press("f9")
        await type_text(pilot, "ООО Альфа")
        await pilot.press("f12")
        assert "Search" in str(keys.render()) and " ready " in str(screen.status_bar.render())
        assert "New client" in str(screen.query_one("#nc-title").render())
        await pilot.press("f12")
        assert "Пошук" in str(keys.render()) and "готовий" in str(screen.status_bar.render())
        assert screen.query_one("#new-client").values()["nc-name"] == "ООО Альфа"


async def test_supervisors_get_their_menu_and_operators_do_not(zvonar: Zvonar, tmp_path: Path) -> None:
    from textual.screen import Screen
    from textual.widgets import Static

    from operator_tui.screens import supervisor as routing

    class Wallboard(Screen):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Static("wallboard", id="wb")

    await zvonar.user("ivanova", endpoint="101")
    await zvonar.user("smirnova", role="supervisor")
    app = desk(zvonar.base_url, tmp_path / "op")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _desk(pilot)
        assert "F11" not in str(screen.query_one(KeyBar).render())
        await pilot.press("f11")
        assert app.screen is screen
    routing.register(routing.SupervisorEntry("test_board", "Test board", lambda ctx, user: Wallboard()))
    try:
        app = desk(zvonar.base_url, tmp_path / "sup")
        async with app.run_test(size=(120, 40)) as pilot:
            await log_in(pilot, "smirnova")
            await wait_for(pilot, lambda: app.desk is not None, what="the desk")
            assert "F11 Супервизор" in str(app.desk.query_one(KeyBar).render())
            await pilot.press("f11")
            await wait_for(pilot, lambda: isinstance(app.screen, routing.SupervisorMenu), what="the menu")
            keys = [e.key for e in app.screen.entries]  # type: ignore[attr-defined]
            await pilot.press(str(keys.index("test_board") + 1))
            await wait_for(pilot, lambda: isinstance(app.screen, Wallboard), what="the supervisor's screen")
    finally:
        routing._ENTRIES.pop("test_board", None)
