"""Preview dialling on the desk: the next lead's card, a skip with a reason, accept, the call, and the
wrap-up recording the campaign's own disposition on the lead (dialer routes, real server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.campaign_settings import DEFAULT_DISPOSITIONS, DispositionSpec
from crm_core.errors import ClientNotFound
from crm_core.models import Interaction, Lead, Role
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import clients as clients_service
from crm_core.services import script_protocols
from operator_tui.screens.pick import PickScreen
from operator_tui.screens.preview import PreviewScreen, lead_id_of
from scripts_engine.protocol_store import ProtocolStore
from tests.operator_tui.conftest import Zvonar, desk, log_in, wait_for

ALL_DAY = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}


async def _preview_opened(pilot, app, login: str):  # type: ignore[no-untyped-def]
    """Log in on the desk, wait for the link, and ask for the first preview card (F8); the desk screen."""
    await log_in(pilot, login)
    await wait_for(pilot, lambda: app.desk is not None, what="the desk")
    screen = app.desk
    await wait_for(pilot, lambda: screen.state.link.state == "online", what="online")
    await pilot.press("f8")
    return screen

async def _preview_campaign(zvonar: Zvonar, sup: Actor, operator_id: int, **fields):  # type: ignore[no-untyped-def]
    """A running preview campaign over the team's base, with one operator."""
    campaign = await campaigns_service.create_campaign(
        zvonar.db, sup, {"name": "Предпросмотр: тёплые клиенты", "mode": "preview", "hours": ALL_DAY, **fields})
    await campaigns_service.set_agents(zvonar.db, sup, campaign.id, [operator_id])
    await campaigns_service.add_list_from_filter(zvonar.db, sup, campaign.id, "Клиенты Ивановой", None)
    return await campaigns_service.launch(zvonar.db, sup, campaign.id)


async def _card_called(pilot, app, screen, zvonar: Zvonar) -> None:  # type: ignore[no-untyped-def]
    """Accept the card shown (F3): the call connects."""
    await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and app.screen.lead is not None,
                   what="the card")
    await pilot.press("f3")
    await wait_for(pilot, lambda: app.screen is screen, what="back on the desk")
    await wait_for(pilot, lambda: screen.state.shown_state == "on_call", what="the call to connect", timeout=15)


async def _client_hangs_up(pilot, screen, zvonar: Zvonar) -> None:  # type: ignore[no-untyped-def]
    channels = [c["channel"] for c in zvonar.sim.live_channels() if "trunk" in c["channel"]]
    await zvonar.hang_up(channels[0])
    await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up")


async def test_preview_skip_accept_call_and_campaign_disposition(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101")
    sup_user = await zvonar.user("smirnova", role="supervisor")
    await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    await zvonar.client(op.id, "ТОВ «Карпати»", "+380671234502", region="Львовская область")
    sup = Actor(user_id=sup_user.id, role=Role.supervisor, team_id=sup_user.team_id)
    source = (Path(__file__).resolve().parents[2] / "scripts_engine" / "examples" / "cold_call_b2b.yaml").read_text("utf-8")
    await ProtocolStore(zvonar.db).publish(sup, "cold_call", source)
    campaign = await _preview_campaign(zvonar, sup, op.id, script_code="cold_call")

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _preview_opened(pilot, app, "ivanova")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and app.screen.lead is not None,
                       what="the first card")
        preview: PreviewScreen = app.screen  # type: ignore[assignment]
        first = lead_id_of(preview.lead)  # type: ignore[arg-type]
        assert preview.query_one("#preview-card").view.title in ("ООО «Ромашка»", "ТОВ «Карпати»")
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the skip reasons")
        await pilot.press("2")  # уже клиент
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and preview.lead is not None
                       and lead_id_of(preview.lead) != first, what="the next card")
        second = lead_id_of(preview.lead)  # type: ignore[arg-type]
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the desk")
        call = screen.state.call
        assert call is not None and call.campaign_id == campaign.id and call.lead_id == second and call.action_id
        assert "Предпросмотр: тёплые клиенты" in str(screen.status_bar.render())
        await wait_for(pilot, lambda: screen.state.shown_state == "on_call", what="the call to connect", timeout=15)
        channels = [c["channel"] for c in zvonar.sim.live_channels() if "trunk" in c["channel"]]
        await zvonar.hang_up(channels[0])
        await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up")
        codes = [d.code for d in screen.wrapup_panel.dispositions]  # type: ignore[union-attr]
        view = await campaigns_service.get_campaign(zvonar.db, sup, campaign.id)
        assert codes == [d.code for d in view.dispositions], "the campaign's own codes, in its order"
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.wrapup_panel is None, what="the wrap-up to be saved")

    async with zvonar.db.reading() as s:
        leads = {lead.id: lead for lead in (await s.execute(select(Lead))).scalars()}
    assert leads[second].disposition_code == codes[0]
    assert leads[first].state == "ready" and leads[first].disposition_code is None


async def test_a_preview_card_of_a_colleagues_client_opens_and_its_wrap_up_is_saved(zvonar: Zvonar, tmp_path: Path) -> None:
    """A campaign over the team's base hands an operator clients someone else is responsible for."""
    op = await zvonar.user("ivanova", endpoint="101")
    colleague = await zvonar.user("petrova", endpoint="102")
    sup_user = await zvonar.user("smirnova", role="supervisor")
    romashka = await zvonar.client(colleague.id, "ООО «Ромашка»", "+79161234567")
    untouched = await zvonar.client(colleague.id, "ОАО «Минский тракторный завод»", "+375291234567", region="Минск")
    sup = Actor(user_id=sup_user.id, role=Role.supervisor, team_id=sup_user.team_id)
    campaign = await campaigns_service.create_campaign(
        zvonar.db, sup, {"name": "Обзвон базы отдела", "mode": "preview", "hours": ALL_DAY})
    await campaigns_service.set_agents(zvonar.db, sup, campaign.id, [op.id])
    await campaigns_service.add_list_from_filter(zvonar.db, sup, campaign.id, "Клиенты Петровой", {"q": "Ромашка"})
    await campaigns_service.launch(zvonar.db, sup, campaign.id)

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _preview_opened(pilot, app, "ivanova")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and app.screen.lead is not None
                       and app.screen.query_one("#preview-card").view is not None, what="the card")
        assert app.screen.query_one("#preview-card").view.title == "ООО «Ромашка»"  # type: ignore[attr-defined]
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the desk")
        await wait_for(pilot, lambda: screen.state.shown_state == "on_call", what="the call to connect", timeout=15)
        channels = [c["channel"] for c in zvonar.sim.live_channels() if "trunk" in c["channel"]]
        await zvonar.hang_up(channels[0])
        await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the wrap-up")
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.wrapup_panel is None, what="the wrap-up to be saved")
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == []

    async with zvonar.db.reading() as s:
        [lead] = (await s.execute(select(Lead))).scalars()
        history = list((await s.execute(select(Interaction).where(Interaction.client_id == romashka))).scalars())
    assert lead.disposition_code is not None and lead.client_id == romashka
    assert history and {h.user_id for h in history} == {op.id}, "the call and its wrap-up, as Ivanova's"
    mine = Actor(user_id=op.id, role=Role.operator, team_id=op.team_id)
    assert (await clients_service.get_card(zvonar.db, mine, romashka)).client.name == "ООО «Ромашка»"
    with pytest.raises(ClientNotFound):
        await clients_service.get_card(zvonar.db, mine, untouched)  # never handed to her


async def test_the_script_of_a_campaign_call_is_the_campaigns_protocol_and_its_outcome_marks_the_lead(
        zvonar: Zvonar, tmp_path: Path) -> None:
    """The desk starts the campaign's script when the client answers: the protocol is the campaign's, and
    the script's own outcome (a decision maker named: dm_referral) becomes the lead's disposition."""
    op = await zvonar.user("ivanova", endpoint="101")
    sup_user = await zvonar.user("smirnova", role="supervisor")
    await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    sup = Actor(user_id=sup_user.id, role=Role.supervisor, team_id=sup_user.team_id)
    source = (Path(__file__).resolve().parents[2] / "scripts_engine" / "examples" / "cold_call_b2b.yaml").read_text("utf-8")
    await ProtocolStore(zvonar.db).publish(sup, "cold_call", source)
    codes = [*DEFAULT_DISPOSITIONS, DispositionSpec("dm_referral", "Дали контакт ЛПР", final=True, success=True)]
    campaign = await _preview_campaign(zvonar, sup, op.id, script_code="cold_call", dispositions=codes)

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _preview_opened(pilot, app, "ivanova")
        await _card_called(pilot, app, screen, zvonar)
        await wait_for(pilot, lambda: screen.session is not None, what="the campaign's script", timeout=10)
        session_id = screen.session["id"]  # type: ignore[index]
        assert screen.session["campaign_id"] == campaign.id  # type: ignore[index]

    me = Actor(user_id=op.id, role=Role.operator, team_id=op.team_id)
    store = ProtocolStore(zvonar.db)
    await store.answer(me, session_id, "greeting", True)
    await store.answer(me, session_id, "decision_maker", "other")
    await store.answer(me, session_id, "decision_maker_contact", "Сергей Иванович, +7 916 000-12-34")
    await store.finish(me, session_id)
    protocols, total = await script_protocols.list_protocols(zvonar.db, sup, campaign_id=campaign.id)
    assert total == 1 and protocols[0].id == session_id, "the supervisor finds it under the campaign"
    async with zvonar.db.reading() as s:
        [lead] = (await s.execute(select(Lead))).scalars()
    assert lead.disposition_code == "dm_referral"


async def test_no_next_card_or_call_before_the_last_calls_wrap_up_is_saved(zvonar: Zvonar, tmp_path: Path) -> None:
    """A second call's wrap-up would take the first one's place and one would be lost: the desk asks for it first."""
    op = await zvonar.user("ivanova", endpoint="101")
    sup_user = await zvonar.user("smirnova", role="supervisor")
    await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    await zvonar.client(op.id, "ТОВ «Карпати»", "+380671234502", region="Львовская область")
    sup = Actor(user_id=sup_user.id, role=Role.supervisor, team_id=sup_user.team_id)
    await _preview_campaign(zvonar, sup, op.id)

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _preview_opened(pilot, app, "ivanova")
        await _card_called(pilot, app, screen, zvonar)
        first = screen.state.call.lead_id  # type: ignore[union-attr]
        await _client_hangs_up(pilot, screen, zvonar)

        await pilot.press("f8")
        await wait_for(pilot, lambda: any("wrap-up" in str(n.message) or "итог" in str(n.message)
                                          for n in app._notifications), what="the reminder")
        await pilot.pause(0.3)
        assert app.screen is screen and screen.state.wrapup.lead_id == first  # type: ignore[union-attr]
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.wrapup_panel is None, what="the wrap-up to be saved")
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and app.screen.lead is not None
                       and lead_id_of(app.screen.lead) != first, what="the next card, once it is saved")

    async with zvonar.db.reading() as s:
        lead = await s.get(Lead, first)
    assert lead is not None and lead.disposition_code is not None


async def test_a_desk_restarted_before_the_wrap_up_sends_it_to_the_lead_with_the_campaigns_codes(
        zvonar: Zvonar, tmp_path: Path) -> None:
    """The desk stops (a crash, a closed terminal) with a campaign call's wrap-up open; started again, the form
    shows the campaign's own codes and the outcome lands on the lead, not as a note on the client."""
    op = await zvonar.user("ivanova", endpoint="101")
    sup_user = await zvonar.user("smirnova", role="supervisor")
    await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    sup = Actor(user_id=sup_user.id, role=Role.supervisor, team_id=sup_user.team_id)
    campaign = await _preview_campaign(zvonar, sup, op.id)

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _preview_opened(pilot, app, "ivanova")
        await _card_called(pilot, app, screen, zvonar)
        await _client_hangs_up(pilot, screen, zvonar)
        await pilot.pause(0.5)  # the state is on disk

    again = desk(zvonar.base_url, tmp_path, login="ivanova")
    async with again.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, "ivanova")
        await wait_for(pilot, lambda: again.desk is not None, what="the desk")
        screen = again.desk
        await wait_for(pilot, lambda: screen.wrapup_panel is not None, what="the restored wrap-up")
        view = await campaigns_service.get_campaign(zvonar.db, sup, campaign.id)
        assert [d.code for d in screen.wrapup_panel.dispositions] == [d.code for d in view.dispositions]
        await pilot.press("1")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.wrapup_panel is None, what="the wrap-up to be saved")

    async with zvonar.db.reading() as s:
        [lead] = (await s.execute(select(Lead))).scalars()
    assert lead.disposition_code == view.dispositions[0].code
