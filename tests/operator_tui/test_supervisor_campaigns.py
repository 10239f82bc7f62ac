"""The supervisor's campaign work against the real server with its dialer and the PBX simulator:
create from a client filter, a refused launch said in the server's words, more leads, the script,
launch, the wallboard moving with the dialer's ``campaign.stats``, pacing changed live, pause, stop."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from ami_bridge.pbx_sim import AgentBehaviour, ClientBehaviour
from crm_core.db import Database
from crm_core.models import Campaign
from operator_tui.messages import ServerEvent
from operator_tui.screens.campaign_form import CampaignForm, LeadsForm
from operator_tui.screens.campaigns import CampaignsScreen
from operator_tui.screens.pick import PickScreen
from operator_tui.screens.wallboard import PacingForm, WallboardScreen
from operator_tui.widgets.gauge import Gauge
from operator_tui.widgets.wallboard_figures import FiguresPanel
from tests.operator_tui.conftest import SIM, Zvonar, _serve, desk, wait_for
from tests.operator_tui.supervisor_helpers import fill, open_supervisor_screen

# Ivanova's phone (101) picks a campaign call up at once, so the queue connects it before the abandon
# limit; the Moscow client answers after a second and stays on the line.
CAMPAIGN_SIM = replace(SIM, agents={"101": AgentBehaviour(answer_after=0.2, talk_seconds=None)},
                       clients={"79161234567": ClientBehaviour("answer", ring_seconds=1.0, talk_seconds=None)})


@pytest.fixture
async def zvonar(sqlite_db: Database) -> AsyncIterator[Zvonar]:
    """The conftest's server, with the phones above."""
    server, app, bus = await _serve(sqlite_db, CAMPAIGN_SIM)
    yield Zvonar(sqlite_db, bus, app, server)
    await server.close()


def _text(screen, selector: str) -> str:  # type: ignore[no-untyped-def]
    """What a widget shows, as plain text (a Static may hold a rich table)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(screen.query_one(selector).content)
    return " ".join(console.export_text().split())


async def test_create_launch_watch_pause_stop(zvonar: Zvonar, tmp_path: Path) -> None:
    op = await zvonar.user("ivanova", endpoint="101", full_name="Иванова Ольга Андреевна")
    await zvonar.user("petrov", endpoint="102", full_name="Петров Сергей Викторович")
    await zvonar.user("smirnova", role="supervisor", full_name="Смирнова Анна Сергеевна")
    await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567", region="Москва")
    await zvonar.client(op.id, "ТОВ «Карпати»", "+380671234502", region="Львовская область")
    await zvonar.publish_scripts()

    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen: CampaignsScreen = await open_supervisor_screen(pilot, "smirnova", "campaigns", CampaignsScreen)
        await wait_for(pilot, lambda: screen.loaded, what="the campaign list")
        assert screen.campaigns == []

        # A new campaign from a client filter that matches nobody yet, with Ivanova as its operator.
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CampaignForm), what="the campaign form")
        form: CampaignForm = app.screen  # type: ignore[assignment]
        await fill(pilot, {"cf-name": "Весенний обзвон", "cf-start": "00:00", "cf-end": "24:00", "cf-days": "1-7",
                           "cf-max_attempts": "3", "cf-busy_minutes": "15", "cf-abandon_cap": "2,5", "cf-amd_misread": "4",
                           "cf-caller_id": "74952223344", "cf-abandon_message": "zvonar/vesna-abandon",
                           "ls-region": "Минск"})
        form.query_one("#cf-agents").focus()
        await pilot.press("space")  # the first operator by name: Иванова
        form.query_one("#cf-amd").focus()
        await pilot.press("space")  # answering machines detected and dropped
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and len(screen.campaigns) == 1, what="the new campaign")
        campaign = screen.campaigns[0]
        assert campaign["state"] == "draft" and campaign["agents"] == [op.id] and campaign["leads_total"] == 0
        assert campaign["hours"]["days"] == [1, 2, 3, 4, 5, 6, 7] and campaign["retry_rules"]["max_attempts"] == 3
        assert campaign["pacing"]["abandon_cap"] == 0.025 and campaign["pacing"]["amd"] is True
        assert campaign["pacing"]["amd_misread_share"] == 0.04
        assert (campaign["caller_id"], campaign["abandon_message"]) == ("74952223344", "zvonar/vesna-abandon")
        assert "Весенний обзвон" in _text(screen, "#cmp-detail")
        assert "брошено 0, сброшено автоответчиков 0" in _text(screen, "#cmp-detail"), "AMD's drops are shown"
        estimated = {"campaign_id": campaign["id"], "day_dials": 100, "day_answered": 30, "day_abandoned": 0,
                     "day_abandon_rate": round(2 / 32, 4), "day_machines": 20, "day_amd_misread": 2}
        screen.post_message(ServerEvent("campaign.stats", estimated))
        await wait_for(pilot, lambda: "сброшено автоответчиков 20 (из них людей, по оценке: 2)" in _text(screen, "#cmp-detail"),
                       what="the people estimated among the machines")
        screen.post_message(ServerEvent("campaign.stats", {**estimated, "problems": [{"code": "queue_missing",
                                                                                     "queue": "campaign"}]}))
        await wait_for(pilot, lambda: "⚠ На АТС нет очереди «campaign»" in _text(screen, "#cmp-detail"),
                       what="what keeps the campaign from dialing")
        screen.post_message(ServerEvent("campaign.stats", {"campaign_id": campaign["id"]}))

        # Launching with no leads: refused, and the server's reason is on the screen.
        await pilot.press("f5")
        await wait_for(pilot, lambda: bool(screen.error), what="the refusal")
        assert "no leads" in screen.error  # type: ignore[operator]
        assert "Весенний обзвон" in _text(screen, "#cmp-error")

        # More leads: the Moscow clients.
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, LeadsForm), what="the leads form")
        await fill(pilot, {"ls-region": "Москва"})
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.campaigns[0]["leads_total"] == 1,
                       what="one lead")
        assert "1 к набору" in _text(screen, "#cmp-detail")

        # The script, picked by its number.
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, PickScreen), what="the script list")
        codes = [code for code, _label in app.screen.choices]
        await pilot.press(str(codes.index("cold_call_b2b") + 1))
        await wait_for(pilot, lambda: screen.campaigns[0].get("script_code") == "cold_call_b2b", what="the script")

        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.campaigns[0]["state"] == "running", what="running")
        assert not screen.error

        # The wallboard: the dialer's figures arrive once a second and move.
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, WallboardScreen), what="the wallboard")
        board_screen: WallboardScreen = app.screen  # type: ignore[assignment]
        board = board_screen.board
        await wait_for(pilot, lambda: board_screen.link_state == "online" and board.campaign is not None,
                       what="the wallboard loaded")
        await wait_for(pilot, lambda: board.figure("day_dials") >= 1, timeout=20, what="campaign.stats with a dial")
        first_at, points = board.figure("at"), len(board.series["dials"])
        await wait_for(pilot, lambda: len(board.series["dials"]) >= points + 2, what="two more campaign.stats")
        assert board.figure("at") > first_at, "the figures are the dialer's newest"
        assert "Наборов сегодня 1 " in _text(board_screen, "#fig-numbers")
        problems = board_screen.query_one("#wb-problems")
        assert not problems.display, "nothing wrong: no line for it"
        # Handled at once, not posted: the dialer's next figures (no problem) must not race the check.
        board_screen.on_server_event(ServerEvent("campaign.stats", {**board.stats, "problems": [{"code": "outside_hours"}]}))
        assert problems.display and "⚠ Сейчас звонить некому" in _text(board_screen, "#wb-problems")
        gauge = board_screen.query_one("#gauge-abandon", Gauge)
        assert gauge.limit == 0.025 and gauge.value == 0.0 and gauge.level == "ok"
        # The client answers, Ivanova's phone picks the call up from the campaign queue.
        await wait_for(pilot, lambda: board.agents[f"u{op.id}"].state == "on_call", timeout=20, what="Ivanova talking")
        assert board.calls, "the call in progress is listed"
        assert "на звонке" in str(board_screen.query_one("#wb-agent-counts").render())
        assert board_screen.query_one("#wb-figures", FiguresPanel).query_one("#spark-dials").data

        # Pacing, live: the abandon cap down to 2 %.
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PacingForm), what="the pacing form")
        await fill(pilot, {"pf-abandon_cap": "2", "pf-amd_misread_share": "1,5"})
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is board_screen and gauge.limit == 0.02, what="the new cap")

        await pilot.press("f6")
        await wait_for(pilot, lambda: (board.campaign or {}).get("state") == "paused", what="paused")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen and screen.campaigns[0]["state"] == "paused",
                       what="the list says paused")
        await pilot.press("f7")
        await wait_for(pilot, lambda: screen.campaigns[0]["state"] == "stopped", what="stopped")

    async with zvonar.db.reading() as s:
        stored = (await s.execute(select(Campaign))).scalar_one()
    assert stored.state == "stopped" and stored.script_code == "cold_call_b2b"
    assert stored.pacing["abandon_cap"] == 0.02 and stored.pacing["amd_misread_share"] == 0.015


LIST_CSV = """Наименование;Телефон;Регион
ООО «Балтика-Сервис»;+7 812 315-22-11;Санкт-Петербург
ИП Петренко;8 (916) 12;Москва
ОАО «Гомельстекло»;+375 29 612-45-67;
"""


async def test_a_campaign_from_a_csv_file_path(zvonar: Zvonar, tmp_path: Path) -> None:
    """The file is read on the supervisor's machine; a wrong path is said on the form, the campaign made
    meanwhile is kept, and saving again with the right path adds the list to it (no second campaign)."""
    await zvonar.user("ivanova", endpoint="101", full_name="Иванова Ольга Андреевна")
    await zvonar.user("smirnova", role="supervisor", full_name="Смирнова Анна Сергеевна")
    csv_path = tmp_path / "весна.csv"
    csv_path.write_text(LIST_CSV, encoding="utf-8")

    app = desk(zvonar.base_url, tmp_path / "desk")
    async with app.run_test(size=(120, 40)) as pilot:
        screen: CampaignsScreen = await open_supervisor_screen(pilot, "smirnova", "campaigns", CampaignsScreen)
        await wait_for(pilot, lambda: screen.loaded, what="the campaign list")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CampaignForm), what="the campaign form")
        form: CampaignForm = app.screen  # type: ignore[assignment]
        await fill(pilot, {"cf-name": "Питер и Гомель", "ls-file": str(tmp_path / "нет-такого.csv")})
        form.query_one("#ls-source").focus()
        await pilot.press("right", "enter")  # «файл CSV/XLSX»
        await pilot.press("ctrl+s")
        error = form.query_one("#cf-error")
        await wait_for(pilot, lambda: "нет-такого.csv" in str(error.render()), what="the unreadable file")
        assert "создана" in str(error.render()), "the form says the campaign exists already"
        assert app.screen is form
        await fill(pilot, {"ls-file": str(csv_path)})
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.campaigns
                       and screen.campaigns[0]["leads_total"] == 2, what="the campaign with the file's leads")
    async with zvonar.db.reading() as s:
        assert len((await s.execute(select(Campaign))).scalars().all()) == 1


async def test_a_reload_brings_the_figures_of_a_campaign_no_stream_speaks_for(zvonar: Zvonar, tmp_path: Path) -> None:
    """A stopped campaign sends no campaign.stats: Ctrl+R must show what the store says now, not the first load."""
    from datetime import timedelta

    from crm_core.models import Attempt, Lead
    from crm_core.rights import Actor
    from crm_core.services import campaigns as campaigns_service
    from tests.dialer.runner_rig import utcnow

    op = await zvonar.user("ivanova", endpoint="101", full_name="Иванова Ольга Андреевна")
    sup = await zvonar.user("smirnova", role="supervisor", full_name="Смирнова Анна Сергеевна")
    await zvonar.client(op.id, "ООО «Ромашка»", "+79161234567")
    campaign = await campaigns_service.create_campaign(zvonar.db, Actor.of(sup), {"name": "Старый обзвон"})
    await campaigns_service.add_list_from_filter(zvonar.db, Actor.of(sup), campaign.id, "Все", None)

    async def dialled(n: int, outcome: str) -> None:
        now = utcnow()
        async with zvonar.db.transaction() as s:
            lead = (await s.execute(select(Lead).where(Lead.campaign_id == campaign.id))).scalar_one()
            s.add(Attempt(campaign_id=campaign.id, lead_id=lead.id, action_id=f"zv-old-{n}", phone_e164=lead.phone_e164,
                          mode="progressive", started_at=now, ended_at=now + timedelta(seconds=30), outcome=outcome))

    await dialled(1, "answered")
    app = desk(zvonar.base_url, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen: CampaignsScreen = await open_supervisor_screen(pilot, "smirnova", "campaigns", CampaignsScreen)
        await wait_for(pilot, lambda: screen.stats.get(campaign.id, {}).get("day_dials") == 1, what="the first figures")
        await dialled(2, "abandoned")
        await dialled(3, "answered")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.stats[campaign.id].get("day_dials") == 3, what="the figures of now")
        assert (screen.stats[campaign.id]["day_answered"], screen.stats[campaign.id]["day_abandoned"]) == (3, 1)
