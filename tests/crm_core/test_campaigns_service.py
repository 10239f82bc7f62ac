"""Campaigns in the store: settings, rights, agents, lists, the state machine, exports; both stores."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm_core.campaign_settings import DispositionSpec
from crm_core.db import Database
from crm_core.errors import (
    CampaignNotFound,
    CampaignNotReady,
    CampaignStateConflict,
    Forbidden,
    ImportFileError,
    InvalidInput,
    UserNotFound,
)
from crm_core.models import CampaignList
from crm_core.services import campaigns as campaigns_service
from crm_core.services import dnc as dnc_service
from crm_core.services import leads as leads_service
from crm_core.services import script_protocols
from crm_core.services.campaigns import CampaignInput
from tests.crm_core.campaign_world import ALWAYS, MONDAY_NOON_MSK, add_clients, campaign_world
from tests.crm_core.crm_world import build_world
from tests.workbooks import workbook_after_a_cover

NOW = MONDAY_NOON_MSK
SCRIPT_V1 = "name: Холодный звонок\nsteps: []\n"


async def _publish(db: Database, actor, text: str) -> int:  # type: ignore[no-untyped-def]
    row = await script_protocols.publish_version(db, actor, code="cold_call", name="Холодный звонок", language="ru",
                                                 source=text)
    return row.id


async def test_a_new_campaign_gets_the_defaults_and_the_standard_dispositions(db: Database) -> None:
    w = await build_world(db)
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Осенняя акция"))
    assert (view.state, view.mode, view.queue, view.team_id, view.created_by_id) == (
        "draft", "progressive", "campaign", w.sales, w.sales_sup.user_id)
    assert view.hours == {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "21:00", "holidays": [],
                          "public_holidays": False, "fallback_zone": "Europe/Moscow"}
    assert view.pacing == {"abandon_cap": 0.03, "lines_per_agent": 3, "ring_timeout": 25, "max_lines": None,
                           "amd": False, "amd_misread_share": 0.0}
    assert view.retry_rules["busy_minutes"] == 10 and view.retry_rules["abandon_hold_hours"] == 72
    names = {d.code: d for d in view.dispositions}
    assert [d.name for d in view.dispositions][:3] == ["Согласие", "Интересно", "Перезвонить"]
    assert names["do_not_call"].add_to_dnc and names["do_not_call"].name == "Не звонить"
    assert (names["no_decision_maker"].name, names["no_decision_maker"].retry_minutes) == ("Нет ЛПР", 1440)
    assert names["answering_machine"].name == "Автоответчик" and not names["answering_machine"].final
    assert view.lead_counts == dict.fromkeys(("ready", "leased", "dialing", "done", "failed", "dnc"), 0)
    # Each campaign has its own copy.
    other = await campaigns_service.create_campaign(db, w.sales_sup, {"name": "Зимняя акция", "dispositions": [
        DispositionSpec("sold", "Продано", success=True), DispositionSpec("later", "Позже", final=False, retry_minutes=30)]})
    assert [d.code for d in other.dispositions] == ["sold", "later"]


async def test_who_may_create_and_see_campaigns(db: Database) -> None:
    w = await build_world(db)
    with pytest.raises(Forbidden):
        await campaigns_service.create_campaign(db, w.ivanova, CampaignInput(name="Своя кампания"))
    with pytest.raises(Forbidden):
        await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Чужая", team_id=w.kyiv))
    kyiv = await campaigns_service.create_campaign(db, w.admin, CampaignInput(name="Київ: весна", team_id=w.kyiv))
    sales = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Осенняя акция"))
    await campaigns_service.set_agents(db, w.sales_sup, sales.id, [w.ivanova.user_id])

    def ids(views: list) -> set[int]:  # type: ignore[type-arg]
        return {v.id for v in views}

    assert ids(await campaigns_service.list_campaigns(db, w.admin)) == {kyiv.id, sales.id}
    assert ids(await campaigns_service.list_campaigns(db, w.sales_sup)) == {sales.id}
    assert ids(await campaigns_service.list_campaigns(db, w.kyiv_sup)) == {kyiv.id}
    assert ids(await campaigns_service.list_campaigns(db, w.ivanova)) == {sales.id}
    assert ids(await campaigns_service.list_campaigns(db, w.petrov)) == set()
    assert (await campaigns_service.get_campaign(db, w.ivanova, sales.id)).agents == [w.ivanova.user_id]
    with pytest.raises(CampaignNotFound):
        await campaigns_service.get_campaign(db, w.petrov, sales.id)
    with pytest.raises(CampaignNotFound):
        await campaigns_service.get_campaign(db, w.kyiv_sup, sales.id)
    with pytest.raises(Forbidden):  # she sees it, but may not change it
        await campaigns_service.update_campaign(db, w.ivanova, sales.id, {"name": "Моя"})
    with pytest.raises(CampaignNotFound):
        await campaigns_service.update_campaign(db, w.kyiv_sup, sales.id, {"name": "Наша"})


@pytest.mark.parametrize("data, field", [
    ({"queue": "sales\r\nAction: Originate"}, "queue"),
    ({"caller_id": "Звонарь\nAction: Hangup"}, "caller_id"),
    ({"mode": "robocall"}, "mode"),
    ({"abandon_message": "zvonar/romashka\r\nAction: Hangup"}, "abandon_message"),
    ({"abandon_message": "../../../etc/shadow"}, "abandon_message"),
    ({"abandon_message": "zvonar/romashka-abandon.wav"}, "abandon_message"),
    ({"pacing": {"abandon_cap": 0.05}}, "pacing.abandon_cap"),
    ({"pacing": {"lines_per_agent": 4}}, "pacing.lines_per_agent"),
    ({"pacing": {"lines_per_agent": 2.5}}, "pacing.lines_per_agent"),
    ({"hours": {"start": "21:00", "end": "09:00"}}, "hours.end"),
    ({"retry_rules": {"busy_minutes": -1}}, "retry_rules.busy_minutes"),
    ({"script_code": "nonexistent"}, "script_code"),
    ({"dispositions": [DispositionSpec("later", "Позже", final=False)]}, "retry_minutes"),
    ({"dispositions": [DispositionSpec("ok", "Да"), DispositionSpec("ok", "Ок")]}, "given twice"),
    ({"name": "  "}, "name"),
])
async def test_bad_settings_are_refused_naming_the_field(db: Database, data: dict, field: str) -> None:
    w = await build_world(db)
    with pytest.raises(InvalidInput) as caught:
        await campaigns_service.create_campaign(db, w.sales_sup, {"name": "Осенняя акция", **data})
    assert field in caught.value.message


async def test_a_campaign_names_the_recording_an_abandoned_client_hears(db: Database) -> None:
    w = await build_world(db)
    view = await campaigns_service.create_campaign(
        db, w.sales_sup, {"name": "Осенняя акция", "abandon_message": " zvonar/romashka-abandon "})
    assert view.abandon_message == "zvonar/romashka-abandon"
    changed = await campaigns_service.update_campaign(db, w.sales_sup, view.id, {"abandon_message": "ru/zvonar/romashka-2"})
    assert changed.abandon_message == "ru/zvonar/romashka-2"
    # May change while the campaign runs (the next call carries it); empty or null: the company's.
    assert (await campaigns_service.update_campaign(db, w.sales_sup, view.id, {"abandon_message": ""})).abandon_message is None
    assert (await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Зима"))).abandon_message is None
    with pytest.raises(InvalidInput, match="abandon_message"):
        await campaigns_service.update_campaign(db, w.sales_sup, view.id, {"abandon_message": "zvonar/a,b"})
    assert (await campaigns_service.get_campaign(db, w.sales_sup, view.id)).abandon_message is None


async def test_agents_are_users_of_the_team_who_take_calls(db: Database) -> None:
    w = await build_world(db)
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Осенняя акция"))
    both = await campaigns_service.set_agents(db, w.sales_sup, view.id, [w.petrov.user_id, w.ivanova.user_id, w.ivanova.user_id])
    assert both.agents == sorted([w.ivanova.user_id, w.petrov.user_id])
    assert (await campaigns_service.set_agents(db, w.sales_sup, view.id, [w.petrov.user_id])).agents == [w.petrov.user_id]
    with pytest.raises(InvalidInput):
        await campaigns_service.set_agents(db, w.sales_sup, view.id, [w.kovalenko.user_id])
    with pytest.raises(InvalidInput):
        await campaigns_service.set_agents(db, w.sales_sup, view.id, [w.admin.user_id])
    with pytest.raises(UserNotFound):
        await campaigns_service.set_agents(db, w.sales_sup, view.id, [999_999])


async def test_launch_needs_leads_and_agents_and_pins_the_newest_script(db: Database) -> None:
    w = await build_world(db)
    v1 = await _publish(db, w.sales_sup, SCRIPT_V1)
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Осенняя акция", script_code="cold_call"))
    with pytest.raises(CampaignNotReady) as caught:
        await campaigns_service.launch(db, w.sales_sup, view.id)
    assert "no leads" in caught.value.message and "no agents" in caught.value.message
    await add_clients(db, w.ivanova, [("ООО «Ромашка»", "+7 916 123-45-67", "Москва")])
    await campaigns_service.add_list_from_filter(db, w.sales_sup, view.id, "База", {})
    await campaigns_service.set_agents(db, w.sales_sup, view.id, [w.ivanova.user_id])
    v2 = await _publish(db, w.sales_sup, SCRIPT_V1 + "# v2\n")
    running = await campaigns_service.launch(db, w.sales_sup, view.id, now=NOW)
    assert (running.state, running.script_id, running.started_at) == ("running", v2, NOW)
    assert v1 != v2
    await _publish(db, w.sales_sup, SCRIPT_V1 + "# v3\n")
    paused = await campaigns_service.pause(db, w.sales_sup, view.id)
    resumed = await campaigns_service.resume(db, w.sales_sup, view.id)
    assert (paused.state, resumed.state, resumed.script_id) == ("paused", "running", v2)  # pinned while it runs
    stopped = await campaigns_service.stop(db, w.sales_sup, view.id, now=NOW + timedelta(hours=3))
    assert (stopped.state, stopped.stopped_at) == ("stopped", NOW + timedelta(hours=3))
    relaunched = await campaigns_service.launch(db, w.sales_sup, view.id)
    assert relaunched.script_id not in (v1, v2) and relaunched.stopped_at is None


async def test_the_state_machine_refuses_what_makes_no_sense(db: Database) -> None:
    cw = await campaign_world(db, launch=False)
    sup, cid = cw.sup, cw.campaign.id
    for action in (campaigns_service.pause, campaigns_service.resume, campaigns_service.stop):
        with pytest.raises(CampaignStateConflict):
            await action(db, sup, cid)
    await campaigns_service.launch(db, sup, cid)
    for action in (campaigns_service.launch, campaigns_service.resume):
        with pytest.raises(CampaignStateConflict) as caught:
            await action(db, sup, cid)
        assert "is running" in caught.value.message
    with pytest.raises(CampaignStateConflict):
        await campaigns_service.update_campaign(db, sup, cid, {"mode": "predictive"})
    live = await campaigns_service.update_campaign(db, sup, cid, {"hours": {"start": "10:00", "end": "20:00"}})
    assert live.hours["start"] == "10:00"
    with pytest.raises(Forbidden):
        await campaigns_service.launch(db, cw.crm.ivanova, cid)
    assert [c.id for c in await campaigns_service.running_campaigns(db)] == [cid]


async def test_pacing_limits_change_live_within_bounds(db: Database) -> None:
    cw = await campaign_world(db)
    view = await campaigns_service.update_pacing(db, cw.sup, cw.campaign.id, {"abandon_cap": 0.02, "lines_per_agent": 2})
    assert view.pacing == {"abandon_cap": 0.02, "lines_per_agent": 2, "ring_timeout": 25, "max_lines": None,
                           "amd": False, "amd_misread_share": 0.0}
    assert view.limits.abandon_cap == 0.02
    view = await campaigns_service.update_pacing(db, cw.sup, cw.campaign.id, {"max_lines": 12})
    assert (view.pacing["abandon_cap"], view.pacing["max_lines"]) == (0.02, 12)
    view = await campaigns_service.update_pacing(db, cw.sup, cw.campaign.id, {"amd_misread_share": 0.05})
    assert (view.pacing["amd_misread_share"], view.pacing["max_lines"]) == (0.05, 12)
    for patch, field in (({"abandon_cap": 0.031}, "abandon_cap"), ({"abandon_cap": 0}, "abandon_cap"),
                         ({"lines_per_agent": 0}, "lines_per_agent"), ({"ring_timeout": 5}, "ring_timeout"),
                         ({"boost": 2}, "boost"), ({"amd_misread_share": 0.51}, "amd_misread_share"),
                         ({"amd_misread_share": -0.01}, "amd_misread_share"), ({"amd_misread_share": True}, "amd_misread_share"),
                         ({"amd_misread_share": "0.1"}, "amd_misread_share")):
        with pytest.raises(InvalidInput) as caught:
            await campaigns_service.update_pacing(db, cw.sup, cw.campaign.id, patch)
        assert field in caught.value.message
    with pytest.raises(Forbidden):
        await campaigns_service.update_pacing(db, cw.crm.ivanova, cw.campaign.id, {"abandon_cap": 0.01})


async def test_a_list_from_a_filter(db: Database) -> None:
    w = await build_world(db)
    await add_clients(db, w.ivanova, [("ООО «Ромашка»", "+7 916 123-45-67", "Москва"),
                                      ("ООО «Уралмаш-Сервис»", "+7 343 210-45-67", "Свердловская область"),
                                      ("ООО «Лютик»", "+7 495 765-43-21", "Москва")])
    await add_clients(db, w.kovalenko, [("ТОВ «Київ-Трейд»", "+380 44 235-12-34", None)])
    async with db.transaction() as s:  # a client with no number at all
        from crm_core.models import Client, ClientKind
        s.add(Client(kind=ClientKind.company, name="ООО «Без телефона»", name_search="ооо «без телефона»",
                     region="Москва", status="new", responsible_id=w.ivanova.user_id))
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Москва", hours=ALWAYS))
    await dnc_service.add_dnc(db, w.sales_sup, "+7 495 765-43-21")
    report = await campaigns_service.add_list_from_filter(db, w.sales_sup, view.id, "Москва", {"region": "Москва"})
    assert (report.kind, report.leads_added, report.leads_skipped) == ("filter", 1, 2)
    assert report.skipped_reasons == {"the number is on the do-not-call list": 1, "the client has no phone number": 1}
    again = await campaigns_service.add_list_from_filter(db, w.sales_sup, view.id, "Вся база", {})
    # The supervisor sees her team's clients only: not the Kyiv one.
    assert (again.leads_added, again.skipped_reasons["the number is already in the campaign"]) == (1, 1)
    page = await campaigns_service.list_leads(db, w.sales_sup, view.id)
    assert [(lead.client_name, lead.timezone) for lead in page.items] == [
        ("ООО «Ромашка»", "Europe/Moscow"), ("ООО «Уралмаш-Сервис»", "Asia/Yekaterinburg")]
    async with db.reading() as s:
        stored = (await s.execute(select(CampaignList).order_by(CampaignList.id))).scalars().all()
    assert [(row.definition, row.leads_added) for row in stored] == [({"filter": {"region": "Москва"}}, 1), ({"filter": {}}, 1)]
    with pytest.raises(InvalidInput):
        await campaigns_service.add_list_from_filter(db, w.sales_sup, view.id, "x", {"colour": "red"})
    with pytest.raises(Forbidden):
        await campaigns_service.add_list_from_filter(db, w.ivanova, view.id, "x", {})


LIST_CSV = """Наименование;Телефон;Регион;Ответственный
ООО «Ромашка»;8 (916) 123-45-67;Москва;
ООО «Балтика-Сервис»;+7 812 315-22-11;Санкт-Петербург;
ИП Петренко;8 (916) 12;Москва;
ООО «Без номера»;;Москва;
ООО «Ромашка-2»;8 (916) 123-45-67;Москва;
ОАО «Гомельстекло»;+375 29 612-45-67;;
""".encode()


async def test_a_list_from_a_workbook_says_which_sheet_it_was_read_from(db: Database) -> None:
    w = await build_world(db)
    data = workbook_after_a_cover("Как заполнять", "Телефон в формате +7 или 8", "Обзвон", [
        ["Наименование", "Телефон", "Регион"], ["ООО «Балтика-Сервис»", "+7 812 315-22-11", "Санкт-Петербург"],
        ["ОАО «Гомельстекло»", "+375 29 612-45-67", ""]])
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Питер и Гомель", hours=ALWAYS))
    report = await campaigns_service.add_list_from_csv(db, w.sales_sup, view.id, "Обзвон", data, "obzvon.xlsx")
    assert (report.leads_added, report.rejected, report.sheet) == (2, [], "Обзвон")
    async with db.reading() as s:  # kept with the list, beside the file's name
        assert (await s.get(CampaignList, report.list_id)).definition["sheet"] == "Обзвон"
    csv = await campaigns_service.add_list_from_csv(db, w.sales_sup, view.id, "Выгрузка из 1С", LIST_CSV, "spisok.csv")
    assert csv.sheet is None


async def test_a_list_from_a_csv_makes_and_merges_clients_and_reports_bad_rows(db: Database) -> None:
    w = await build_world(db)
    [romashka] = await add_clients(db, w.ivanova, [("ООО «Ромашка»", "+7 916 123-45-67", "Москва")])
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Питер и Минск", hours=ALWAYS))
    report = await campaigns_service.add_list_from_csv(db, w.sales_sup, view.id, "Выгрузка из 1С", LIST_CSV, "spisok.csv")
    # The importer keeps the row with no number as a client too; "Ромашка-2" merges into «Ромашка» by its number.
    assert (report.leads_added, report.clients_inserted, report.clients_updated) == (3, 3, 2)
    assert [r.line for r in report.rejected] == [4, 5, 6]
    reasons = {r.line: r.reason for r in report.rejected}
    assert "too short" in reasons[4] and "no phone" in reasons[5] and "already in the campaign" in reasons[6]
    page = await campaigns_service.list_leads(db, w.sales_sup, view.id)
    by_phone = {lead.phone_e164: lead for lead in page.items}
    assert set(by_phone) == {"+79161234567", "+78123152211", "+375296124567"}
    assert by_phone["+79161234567"].client_id == romashka  # merged into the client already in the base
    assert by_phone["+375296124567"].timezone == "Europe/Minsk"
    with pytest.raises(ImportFileError):
        await campaigns_service.add_list_from_csv(db, w.sales_sup, view.id, "Пусто", b"", "empty.csv")
    with pytest.raises(Forbidden):
        await campaigns_service.add_list_from_csv(db, w.ivanova, view.id, "x", LIST_CSV, "x.csv")


async def test_a_csv_row_of_someone_elses_client_is_not_made_a_lead(db: Database) -> None:
    w = await build_world(db)
    await add_clients(db, w.kovalenko, [("ТОВ «Київ-Трейд»", "+380 44 235-12-34", None)])
    view = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name="Чужие", hours=ALWAYS))
    data = "Наименование;Телефон\nТОВ «Київ-Трейд»;+380 44 235-12-34\n".encode()
    report = await campaigns_service.add_list_from_csv(db, w.sales_sup, view.id, "Чужие", data, "k.csv")
    assert report.leads_added == 0 and [r.line for r in report.rejected] == [2]


async def _export(db: Database, actor, campaign_id: int) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join([chunk async for chunk in await campaigns_service.export_attempts_csv(db, actor, campaign_id)])


async def test_the_export_comes_in_pages_for_excel_with_no_formula_hidden_behind_a_semicolon(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Russian Excel splits cells on ";": a comment holding one is quoted whole, so no cell starts with "="."""
    monkeypatch.setattr(campaigns_service, "EXPORT_PAGE", 2)
    cw = await campaign_world(db)
    comments = ["Перезвонить;=cmd|' /C calc'!A0;", "ok;=HYPERLINK(\"http://x\")", "Перезвонить;@SUM(1;1)",
                "ЛПР в отпуске до 15.12", "Просил КП на почту"]
    for n, comment in enumerate(comments):
        [lead] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 1, 30)
        await leads_service.start_attempt(db, lead.id, "dialer-1", f"A-{n}", "progressive", NOW + timedelta(minutes=n))
        await leads_service.finish_attempt(db, f"A-{n}", "answered", NOW + timedelta(minutes=n, seconds=50),
                                           talk_seconds=40, agent_id=cw.crm.ivanova.user_id)
        await leads_service.set_disposition(db, cw.crm.ivanova, cw.campaign.id, lead.id, "agreed", comment)
    chunks = [chunk async for chunk in await campaigns_service.export_attempts_csv(db, cw.sup, cw.campaign.id)]
    assert len(chunks) == 1 + 3  # the header, then pages of two
    text = b"".join(chunks).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["comment"] for r in rows] == comments  # oldest first, each once, whole
    # What Excel does with the file: cells split on ";" (quotes respected), none a formula.
    cells = [cell for line in csv.reader(io.StringIO(text), delimiter=";") for cell in line]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@") and not re.fullmatch(r"\+\d{7,15}", cell)]


async def test_leads_page_by_state_and_the_attempts_export(db: Database) -> None:
    cw = await campaign_world(db)
    [lead] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 1, 30)
    await leads_service.start_attempt(db, lead.id, "dialer-1", "A-1", "progressive", NOW)
    await leads_service.finish_attempt(db, "A-1", "answered", NOW + timedelta(minutes=2), talk_seconds=100,
                                       ring_seconds=7.5, agent_id=cw.crm.ivanova.user_id)
    await leads_service.set_disposition(db, cw.crm.ivanova, cw.campaign.id, lead.id, "agreed", "=HYPERLINK(\"x\")")
    page = await campaigns_service.list_leads(db, cw.sup, cw.campaign.id, state="done")
    assert [x.id for x in page.items] == [lead.id] and page.total == 1
    assert (await campaigns_service.list_leads(db, cw.sup, cw.campaign.id, limit=2, offset=2)).total == 7
    data = await _export(db, cw.sup, cw.campaign.id)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1
    row = rows[0]
    assert (row["client"], row["phone"], row["outcome"], row["agent"], row["disposition_name"]) == (
        "ООО «Ромашка»", "+79161234567", "answered", "i.ivanova", "Согласие")
    assert row["comment"].startswith("'=")  # never a formula in the supervisor's spreadsheet
    with pytest.raises(Forbidden):  # before the first byte
        await campaigns_service.export_attempts_csv(db, cw.crm.ivanova, cw.campaign.id)
    with pytest.raises(Forbidden):
        await campaigns_service.list_leads(db, cw.crm.ivanova, cw.campaign.id)
