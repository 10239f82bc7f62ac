"""Hot leads: who an overdue callback goes to (pure), and the whole flow through the store."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from crm_core.db import Database
from crm_core.models import Appeal, ClientReassignment, Lead
from crm_core.services import appeals as appeals_service
from crm_core.services import campaigns as campaigns_service
from crm_core.services import hot_lead_store
from crm_core.services import leads as leads_service
from crm_core.services.appeals import AppealInput, NewClientInput
from crm_core.services.hot_lead_store import AgentCandidate, OverdueHotLead
from dialer.hot_leads import HOT_PRIORITY, choose_escalation_agent, dialable_now, escalate_overdue, plan_escalations
from tests.crm_core.campaign_world import MONDAY_NOON_MSK, campaign_world

NOW = MONDAY_NOON_MSK


def test_the_escalation_goes_to_an_agent_of_the_campaign_with_the_fewest_hot_leads() -> None:
    pool = [AgentCandidate(11, True, 2), AgentCandidate(12, True, 0), AgentCandidate(13, False, 0)]
    assert choose_escalation_agent(pool, exclude=[None]) == 12
    assert choose_escalation_agent(pool, exclude=[12]) == 11  # on the campaign beats idle elsewhere
    assert choose_escalation_agent(pool, exclude=[11, 12]) == 13
    assert choose_escalation_agent(pool, exclude=[11, 12, 13]) is None


def test_several_overdue_leads_spread_over_the_team() -> None:
    overdue = [OverdueHotLead(n, 1, 5, 100 + n, 200 + n, 11, None, NOW) for n in range(3)]
    pool = {1: [AgentCandidate(11, True, 0), AgentCandidate(12, True, 0), AgentCandidate(13, True, 1)]}
    plans = plan_escalations(overdue, pool, NOW)
    # Ties go to the lowest id; never 11: the responsible who let them lapse.
    assert [p.to_user_id for p in plans] == [12, 12, 13]
    assert all(p.due_by == NOW + timedelta(minutes=10) for p in plans)


def test_a_lead_due_while_its_window_is_shut_is_not_escalated() -> None:
    night = OverdueHotLead(1, 1, 5, 101, 201, 11, None, NOW, "Asia/Vladivostok")  # 03:00 there
    day = OverdueHotLead(2, 1, 5, 102, 202, 11, None, NOW, "Europe/Moscow")
    unknown = OverdueHotLead(3, 1, 5, 103, 203, 11, None, NOW, None)
    elsewhere = OverdueHotLead(4, 2, 5, 104, 204, 11, None, NOW, "Europe/Moscow")  # a campaign not paced here
    open_now = {1: {"Europe/Moscow", "Europe/Minsk"}}
    assert dialable_now([night, day, unknown, elsewhere], open_now) == [day]
    # Unknown zones are dialled (and escalated) only while every zone of the campaign is open.
    assert dialable_now([unknown], {1: {"Europe/Moscow", None}}) == [unknown]


async def test_an_appeal_asking_for_a_callback_is_dialled_first_then_escalated(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    ivanova = cw.crm.ivanova
    appeal = await appeals_service.create_appeal(db, ivanova, AppealInput(
        purpose="Перезвоните, хочу узнать цены", callback_requested=True, channel_code="website",
        new_client=NewClientInput(name="Сидоренко Павел", phone="+7 (903) 111-22-33", region="Москва")), now=NOW)
    async with db.reading() as s:
        lead = (await s.execute(select(Lead).where(Lead.appeal_id == appeal.id))).scalar_one()
    assert (lead.campaign_id, lead.priority, lead.due_by) == (cw.campaign.id, HOT_PRIORITY, NOW + timedelta(minutes=10))
    assert lead.timezone == "Europe/Moscow"
    # Ahead of every list lead; and a campaign that does not take hot appeals gets nothing.
    [first] = await leads_service.lease_leads(db, cw.campaign.id, "d", NOW, 1, 30)
    assert first.id == lead.id and first.appeal_id == appeal.id
    await leads_service.release_lead(db, lead.id, "d", NOW)
    assert await escalate_overdue(db, NOW + timedelta(minutes=9)) == []
    # The client's window shut (the dialer finds no open zone): nobody let it lapse, it waits.
    assert await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: set()}) == []
    [done] = await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: {"Europe/Moscow"}})
    assert (done.lead_id, done.to_user_id, done.from_user_id) == (lead.id, cw.crm.petrov.user_id, None)
    async with db.reading() as s:
        moved = await s.get(Lead, lead.id)
        history = (await s.execute(select(ClientReassignment))).scalar_one()
    assert (moved.agent_id, moved.due_by) == (cw.crm.petrov.user_id, NOW + timedelta(minutes=21))
    # The card the appeal created ("primary") goes with it, in the supervisor's name.
    assert (history.from_user_id, history.to_user_id, history.by_user_id) == (
        ivanova.user_id, cw.crm.petrov.user_id, cw.sup.user_id)
    # Dialled at last and answered: the appeal is in work.
    [again] = await leads_service.lease_leads(db, cw.campaign.id, "d", NOW + timedelta(minutes=12), 1, 30,
                                              agent_id=cw.crm.petrov.user_id)
    await leads_service.start_attempt(db, again.id, "d", "hot-1", "progressive", NOW + timedelta(minutes=12))
    await leads_service.finish_attempt(db, "hot-1", "answered", NOW + timedelta(minutes=13))
    async with db.reading() as s:
        assert (await s.get(Appeal, appeal.id)).status == "in_work"
    assert await escalate_overdue(db, NOW + timedelta(hours=1)) == []


async def test_no_running_hot_campaign_no_hot_lead(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=False)
    appeal = await appeals_service.create_appeal(db, cw.crm.ivanova, AppealInput(
        purpose="Перезвоните", client_id=cw.client_ids[0], callback_requested=True), now=NOW)
    hot = await campaigns_service.update_campaign(db, cw.sup, cw.campaign.id, {"hot_appeals": True})
    assert hot.hot_appeals
    assert await hot_lead_store.add_hot_lead(db, appeal.id, cw.campaign.id, NOW) is not None
    async with db.reading() as s:
        lead = (await s.execute(select(Lead).where(Lead.appeal_id == appeal.id))).scalar_one()
    # The client's number was already a list lead: that lead became the hot one.
    assert (lead.id, lead.priority, lead.list_id is not None) == (1, HOT_PRIORITY, True)
