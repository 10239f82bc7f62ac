"""A campaign world for the campaign, lead and DNC tests: the CRM world plus clients and a campaign.

«Осенняя акция» belongs to «Отдел продаж»: its supervisor Smirnova made it, Ivanova and
Petrov are its agents. Its clients are Ivanova's and Petrov's, with numbers in Moscow,
Yekaterinburg, Vladivostok, Kyiv and Minsk, and one whose zone nobody can tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from crm_core.db import Database
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import clients as clients_service
from crm_core.services.campaigns import CampaignInput, CampaignView
from crm_core.services.clients import ClientInput, PhoneInput
from tests.crm_core.crm_world import World, build_world

# Monday 7 December 2026, 12:00 Moscow: inside every default window from Kaliningrad to Vladivostok.
MONDAY_NOON_MSK = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
ALWAYS = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}

# (name, phone, region): Ivanova's first, then Petrov's.
IVANOVAS = [
    ("ООО «Ромашка»", "+7 916 123-45-67", "Москва"),
    ("ООО «Уралмаш-Сервис»", "+7 343 210-45-67", "Свердловская область"),
    ("ИП Ким Сергей Владимирович", "+7 423 240-12-34", "Приморский край"),
    ("ТОВ «Київ-Трейд»", "+380 44 235-12-34", None),
]
PETROVS = [
    ("ОАО «Гомельстекло»", "+375 29 612-45-67", None),
    ("ООО «Вектор»", "+7 925 765-43-21", None),  # a mobile: its zone is unknown
    ("ЗАО «Северсталь-Трейд»", "+7 812 315-22-11", "Санкт-Петербург"),
]


@dataclass
class CampaignWorld:
    crm: World
    campaign: CampaignView
    client_ids: list[int]

    @property
    def sup(self) -> Actor:
        return self.crm.sales_sup


async def add_clients(db: Database, owner: Actor, specs: list[tuple[str, str, str | None]]) -> list[int]:
    ids = []
    for name, phone, region in specs:
        client = await clients_service.create_client(
            db, owner, ClientInput(name=name, region=region, phones=[PhoneInput(phone)]))
        ids.append(client.id)
    return ids


async def campaign_world(
    db: Database, *, hours: dict | None = None, mode: str = "progressive", launch: bool = True,
    retry_rules: dict | None = None, hot_appeals: bool = False,
) -> CampaignWorld:
    w = await build_world(db)
    ids = await add_clients(db, w.ivanova, IVANOVAS) + await add_clients(db, w.petrov, PETROVS)
    campaign = await campaigns_service.create_campaign(db, w.sales_sup, CampaignInput(
        name="Осенняя акция", mode=mode, hours=hours or ALWAYS, retry_rules=retry_rules, hot_appeals=hot_appeals))
    await campaigns_service.set_agents(db, w.sales_sup, campaign.id, [w.ivanova.user_id, w.petrov.user_id])
    await campaigns_service.add_list_from_filter(db, w.sales_sup, campaign.id, "Вся база отдела", {})
    if launch:
        campaign = await campaigns_service.launch(db, w.sales_sup, campaign.id)
    else:
        campaign = await campaigns_service.get_campaign(db, w.sales_sup, campaign.id)
    return CampaignWorld(w, campaign, ids)
