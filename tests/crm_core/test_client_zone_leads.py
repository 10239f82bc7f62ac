"""A client's zone moves its leads still to dial: campaign calls follow the client's local time.

A lead keeps the zone worked out when its list was loaded, and the dialer leases by it.
When an operator corrects the client's region or time zone, the leads not yet finished
must move with it in the same change (the rule of crm_core.regions.client_timezone, from
each lead's own number); finished leads keep the zone they were called in. Both stores.
"""

from __future__ import annotations

from datetime import datetime, timezone

from crm_core.campaign_settings import CallingHours
from crm_core.db import Database
from crm_core.services import campaigns as campaigns_service
from crm_core.services import clients as clients_service
from crm_core.services import leads
from crm_core.services.campaigns import CampaignInput, CampaignView, LeadView
from crm_core.services.clients import PhoneInput
from dialer import windows
from tests.crm_core.campaign_world import MONDAY_NOON_MSK, add_clients
from tests.crm_core.crm_world import World, build_world

# Monday 7 December 2026, 20:30 Moscow: 03:30 on Tuesday in Vladivostok.
MONDAY_2030_MSK = datetime(2026, 12, 7, 17, 30, tzinfo=timezone.utc)
# Tuesday 8 December 2026, 09:30 Vladivostok: 02:30 in Moscow.
TUESDAY_0930_VLAT = datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc)
# Monday 7 December 2026, 11:30 Novosibirsk: 07:30 in Moscow.
MONDAY_1130_NOVT = datetime(2026, 12, 7, 4, 30, tzinfo=timezone.utc)

DALTRADE = ("ООО «Дальтрейд»", "+7 914 071-22-33", "Москва")  # a mobile: only the region tells its zone


async def _running_campaign(db: Database, w: World, name: str) -> CampaignView:
    """A campaign of «Отдел продаж» with the default hours (09:00-21:00 on weekdays) and every client of the team."""
    campaign = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(name=name))
    await campaigns_service.set_agents(db, w.sales_sup, campaign.id, [w.ivanova.user_id])
    await campaigns_service.add_list_from_filter(db, w.sales_sup, campaign.id, "Вся база отдела", {})
    return await campaigns_service.launch(db, w.sales_sup, campaign.id)


async def _leads(db: Database, w: World, campaign_id: int) -> dict[str, LeadView]:
    page = await campaigns_service.list_leads(db, w.sales_sup, campaign_id)
    return {lead.client_name: lead for lead in page.items}


async def _leased_as_the_dialer_does(db: Database, campaign: CampaignView, now: datetime) -> dict[str, str | None]:
    """Lease what the calling window lets the dialer take now: client name -> the lead's zone."""
    zones = windows.open_zones(CallingHours.from_json(campaign.hours), await leads.lead_zones(db, campaign.id), now)
    leased = await leads.lease_leads(db, campaign.id, "dialer-1", now, 10, 60, zones)
    for lead in leased:
        assert await leads.release_lead(db, lead.id, "dialer-1", now)
    return {lead.client_name: lead.timezone for lead in leased}


async def test_a_corrected_region_moves_the_lead_into_the_clients_own_calling_window(db: Database) -> None:
    w = await build_world(db)
    [daltrade, _] = await add_clients(db, w.ivanova, [DALTRADE, ("ООО «Ромашка»", "+7 916 123-45-67", "Москва")])
    campaign = await _running_campaign(db, w, "Зимняя акция")
    assert (await _leads(db, w, campaign.id))["ООО «Дальтрейд»"].timezone == "Europe/Moscow"

    # The operator learns the company is in Vladivostok, not at its Moscow legal address.
    await clients_service.update_client(db, w.ivanova, daltrade, {"region": "Приморский край"})

    assert (await _leads(db, w, campaign.id))["ООО «Дальтрейд»"].timezone == "Asia/Vladivostok"
    # 20:30 in Moscow is 03:30 for the client: only the Moscow client may be called.
    assert await _leased_as_the_dialer_does(db, campaign, MONDAY_2030_MSK) == {"ООО «Ромашка»": "Europe/Moscow"}
    # 09:30 in Vladivostok is night in Moscow: now it is the Vladivostok client's turn.
    assert await _leased_as_the_dialer_does(db, campaign, TUESDAY_0930_VLAT) == {"ООО «Дальтрейд»": "Asia/Vladivostok"}


async def test_an_explicit_time_zone_gives_a_lead_of_unknown_zone_its_own_window(db: Database) -> None:
    w = await build_world(db)
    [sokolov] = await add_clients(db, w.ivanova, [("ИП Соколов Андрей Викторович", "+7 913 452-18-90", None)])
    campaign = await _running_campaign(db, w, "Зимняя акция")
    # A mobile and no region: nobody can tell its zone, so it waits for every zone's window.
    assert (await _leads(db, w, campaign.id))["ИП Соколов Андрей Викторович"].timezone is None
    assert await _leased_as_the_dialer_does(db, campaign, MONDAY_1130_NOVT) == {}

    await clients_service.update_client(db, w.ivanova, sokolov, {"timezone": "Новосибирск"})

    assert await _leased_as_the_dialer_does(db, campaign, MONDAY_1130_NOVT) == {
        "ИП Соколов Андрей Викторович": "Asia/Novosibirsk"}
    await clients_service.update_client(db, w.ivanova, sokolov, {"timezone": None})
    assert (await _leads(db, w, campaign.id))["ИП Соколов Андрей Викторович"].timezone is None


async def test_without_a_region_the_lead_takes_the_zone_of_its_own_number(db: Database) -> None:
    w = await build_world(db)
    [uralmash] = await add_clients(db, w.ivanova, [("ООО «Уралмаш-Сервис»", "+7 343 210-45-67", "Москва")])
    campaign = await _running_campaign(db, w, "Зимняя акция")
    assert (await _leads(db, w, campaign.id))["ООО «Уралмаш-Сервис»"].timezone == "Europe/Moscow"

    # The region was the head office's; the same change gives the client a Moscow number. The
    # lead still dials the Yekaterinburg landline, so that number's zone is the lead's.
    await clients_service.update_client(
        db, w.ivanova, uralmash, {"region": None, "phones": [PhoneInput("+7 495 765-43-21")]})

    lead = (await _leads(db, w, campaign.id))["ООО «Уралмаш-Сервис»"]
    assert (lead.phone_e164, lead.timezone) == ("+73432104567", "Asia/Yekaterinburg")


async def test_a_finished_lead_keeps_its_zone_and_a_lead_in_a_call_follows_the_client(db: Database) -> None:
    w = await build_world(db)
    [daltrade] = await add_clients(db, w.ivanova, [DALTRADE])
    autumn = await _running_campaign(db, w, "Осенняя акция")
    winter = await _running_campaign(db, w, "Зимняя акция")
    [called] = await leads.lease_leads(db, autumn.id, "dialer-1", MONDAY_NOON_MSK, 1, 60)
    await leads.start_attempt(db, called.id, "dialer-1", "autumn-1", "progressive", MONDAY_NOON_MSK)
    await leads.finish_attempt(db, "autumn-1", "answered", MONDAY_NOON_MSK, agent_id=w.ivanova.user_id)
    [ringing] = await leads.lease_leads(db, winter.id, "dialer-1", MONDAY_NOON_MSK, 1, 60)
    await leads.start_attempt(db, ringing.id, "dialer-1", "winter-1", "progressive", MONDAY_NOON_MSK)

    await clients_service.update_client(db, w.ivanova, daltrade, {"region": "Приморский край"})

    done = (await _leads(db, w, autumn.id))["ООО «Дальтрейд»"]
    assert (done.state, done.timezone) == ("done", "Europe/Moscow")  # the zone it was called in
    in_call = (await _leads(db, w, winter.id))["ООО «Дальтрейд»"]
    assert (in_call.state, in_call.timezone) == ("dialing", "Asia/Vladivostok")
    await leads.finish_attempt(db, "winter-1", "no_answer", MONDAY_NOON_MSK)
    assert await _leased_as_the_dialer_does(db, winter, MONDAY_2030_MSK) == {}
    assert await _leased_as_the_dialer_does(db, winter, TUESDAY_0930_VLAT) == {"ООО «Дальтрейд»": "Asia/Vladivostok"}


async def test_a_change_that_leaves_the_zone_as_it_was_does_not_touch_the_leads(db: Database) -> None:
    w = await build_world(db)
    [romashka, gomel] = await add_clients(db, w.ivanova, [
        ("ООО «Ромашка»", "+7 495 123-45-67", "Москва"),
        ("ОАО «Гомельстекло»", "+375 29 612-45-67", None),
    ])
    campaign = await _running_campaign(db, w, "Зимняя акция")
    before = await _leads(db, w, campaign.id)

    await clients_service.update_client(db, w.ivanova, romashka, {
        "name": "ООО «Ромашка Плюс»", "status": "client", "comment": "Перезвонить после 15:00",
        "phones": [PhoneInput("+7 812 315-22-11")]})
    # Written another way, the same region; Belarus has one zone, which the number already told.
    await clients_service.update_client(db, w.ivanova, romashka, {"region": "г. Москва"})
    await clients_service.update_client(db, w.ivanova, gomel, {"region": "Гомельская область"})

    after = await _leads(db, w, campaign.id)
    renamed, was = after.pop("ООО «Ромашка Плюс»"), before["ООО «Ромашка»"]
    assert (renamed.timezone, renamed.updated_at) == (was.timezone, was.updated_at)
    assert after["ОАО «Гомельстекло»"] == before["ОАО «Гомельстекло»"]
    assert renamed.timezone == "Europe/Moscow" and after["ОАО «Гомельстекло»"].timezone == "Europe/Minsk"


async def test_a_region_filled_in_by_an_import_merge_moves_the_lead_too(db: Database) -> None:
    """The importer fills a merged client's empty region: its lead of unknown zone takes the region's."""
    from crm_core.importer import import_clients

    w = await build_world(db)
    await add_clients(db, w.ivanova, [("ООО «Дальтрейд»", "+7 914 071-22-33", None)])
    campaign = await _running_campaign(db, w, "Зимняя акция")
    assert (await _leads(db, w, campaign.id))["ООО «Дальтрейд»"].timezone is None  # a mobile, no region
    csv = "Наименование;Телефон;Регион\nООО «Дальтрейд»;+7 914 071-22-33;Приморский край\n".encode()
    summary = await import_clients(db, w.sales_sup, csv, "dalnij_vostok.csv", on_duplicate="merge")
    assert summary.updated == 1
    assert (await _leads(db, w, campaign.id))["ООО «Дальтрейд»"].timezone == "Asia/Vladivostok"
    assert await _leased_as_the_dialer_does(db, campaign, TUESDAY_0930_VLAT) == {"ООО «Дальтрейд»": "Asia/Vladivostok"}
