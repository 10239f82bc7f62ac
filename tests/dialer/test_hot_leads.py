"""Hot leads: who an overdue callback goes to (pure), and the whole flow through the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from crm_core.db import Database
from crm_core.models import Appeal, Client, ClientReassignment, Lead
from crm_core.services import appeals as appeals_service
from crm_core.services import campaigns as campaigns_service
from crm_core.services import dnc as dnc_service
from crm_core.services import hot_lead_store
from crm_core.services import leads as leads_service
from crm_core.services.appeals import AppealInput, NewClientInput
from crm_core.services.hot_lead_store import AgentCandidate, OverdueHotLead
from crm_core.rights import Actor
from dialer.hot_leads import HOT_PRIORITY, choose_escalation_agent, dialable_now, escalate_overdue, plan_escalations
from dialer.retries import RetryRules, after_outcome
from tests.crm_core.campaign_world import MONDAY_NOON_MSK, CampaignWorld, campaign_world

NOW = MONDAY_NOON_MSK
MOSCOW_OPEN = {"Europe/Moscow"}


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
    # The client's window shut (the dialer finds no open zone): nobody let it lapse, it waits,
    # and its 10 minutes start again.
    assert await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: set()}) == []
    assert await escalate_overdue(db, NOW + timedelta(minutes=12), {cw.campaign.id: {"Europe/Moscow"}}) == []
    [done] = await escalate_overdue(db, NOW + timedelta(minutes=22), {cw.campaign.id: {"Europe/Moscow"}})
    assert (done.lead_id, done.to_user_id, done.from_user_id) == (lead.id, cw.crm.petrov.user_id, None)
    async with db.reading() as s:
        moved = await s.get(Lead, lead.id)
        history = (await s.execute(select(ClientReassignment))).scalar_one()
    assert (moved.agent_id, moved.due_by) == (cw.crm.petrov.user_id, NOW + timedelta(minutes=32))
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


# --- a hot lead called back in time keeps its owner ------------------------------------------------


async def _hot_appeal(db: Database, by: Actor, name: str, phone: str) -> int:
    """A Moscow caller new to the base asks for a call back at NOW; the id of the hot lead it made."""
    appeal = await appeals_service.create_appeal(db, by, AppealInput(
        purpose="Перезвоните, хочу узнать цены", callback_requested=True, channel_code="website",
        new_client=NewClientInput(name=name, phone=phone, region="Москва")), now=NOW)
    async with db.reading() as s:
        return (await s.execute(select(Lead.id).where(Lead.appeal_id == appeal.id))).scalar_one()


async def _call(
    db: Database, cw: CampaignWorld, lead_id: int, action_id: str, at: datetime, outcome: str,
    agent_id: int | None = None,
) -> datetime | None:
    """The dialer calls the lead at ``at``; the outcome a minute later, under the default retry rules. The next try."""
    [leased] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", at, 1, 30, agent_id=agent_id)
    assert leased.id == lead_id
    await leads_service.start_attempt(db, lead_id, "dialer-1", action_id, "progressive", at, agent_id=agent_id)
    ended = at + timedelta(minutes=1)
    decision = after_outcome(RetryRules(), outcome, leased.attempts + 1, ended)
    await leads_service.finish_attempt(db, action_id, outcome, ended, next_try_at=decision.next_try_at,
                                       lead_state=decision.lead_state, agent_id=agent_id)
    return decision.next_try_at


async def test_a_hot_lead_called_back_in_time_and_not_answered_waits_for_its_retry_unescalated(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    lead_id = await _hot_appeal(db, cw.crm.ivanova, "Коваленко Оксана Петровна", "+7 (903) 555-12-34")
    retry = await _call(db, cw, lead_id, "hot-kovalenko-1", NOW + timedelta(minutes=1), "no_answer")
    assert retry == NOW + timedelta(hours=2, minutes=2)
    # The 10-minute promise was kept: past due, and past it again and again, the lead is nobody else's.
    for later in (timedelta(minutes=12), timedelta(minutes=45), timedelta(hours=2)):
        assert await escalate_overdue(db, NOW + later, {cw.campaign.id: MOSCOW_OPEN}) == []
    async with db.reading() as s:
        lead = await s.get(Lead, lead_id)
        responsible = await s.scalar(select(Client.responsible_id).where(Client.id == lead.client_id))
        history = list((await s.execute(select(ClientReassignment))).scalars())
    assert (lead.state, lead.agent_id, lead.next_try_at) == ("ready", None, retry)
    assert (responsible, history) == (cw.crm.ivanova.user_id, [])
    # The retry comes round: still ahead of every list lead.
    [again] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", retry, 1, 30)
    assert again.id == lead_id


async def test_an_escalated_hot_lead_called_by_its_new_owner_in_time_stays_with_them(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    petrov = cw.crm.petrov.user_id
    lead_id = await _hot_appeal(db, cw.crm.ivanova, "Шевчук Андрей Николаевич", "+7 (495) 620-33-44")
    [done] = await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: MOSCOW_OPEN})
    assert (done.lead_id, done.to_user_id, done.due_by) == (lead_id, petrov, NOW + timedelta(minutes=21))
    # Petrov calls within his ten minutes; the line is busy.
    retry = await _call(db, cw, lead_id, "hot-shevchuk-1", NOW + timedelta(minutes=15), "busy", agent_id=petrov)
    assert retry == NOW + timedelta(minutes=26)
    for later in (timedelta(minutes=22), timedelta(minutes=25)):
        assert await escalate_overdue(db, NOW + later, {cw.campaign.id: MOSCOW_OPEN}) == []
    async with db.reading() as s:
        lead = await s.get(Lead, lead_id)
        responsible = await s.scalar(select(Client.responsible_id).where(Client.id == lead.client_id))
        history = list((await s.execute(select(ClientReassignment))).scalars())
    assert (lead.agent_id, responsible, len(history)) == (petrov, petrov, 1)


async def test_a_personal_callback_the_operator_set_on_a_hot_lead_stays_hers(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    ivanova = cw.crm.ivanova
    lead_id = await _hot_appeal(db, ivanova, "Лукашевич Ирина Сергеевна", "+7 (903) 718-40-52")
    await _call(db, cw, lead_id, "hot-lukashevich-1", NOW + timedelta(minutes=2), "answered", agent_id=ivanova.user_id)
    # "Call me tomorrow at noon, I will have the figures": Ivanova's own callback.
    tomorrow = NOW + timedelta(days=1)
    await leads_service.set_disposition(db, ivanova, cw.campaign.id, lead_id, "callback", callback_at=tomorrow,
                                        now=NOW + timedelta(minutes=4))
    for later in (timedelta(minutes=12), timedelta(hours=5), timedelta(days=1, minutes=-1)):
        assert await escalate_overdue(db, NOW + later, {cw.campaign.id: MOSCOW_OPEN}) == []
    async with db.reading() as s:
        lead = await s.get(Lead, lead_id)
        responsible = await s.scalar(select(Client.responsible_id).where(Client.id == lead.client_id))
    assert (lead.state, lead.agent_id, lead.next_try_at, responsible) == ("ready", ivanova.user_id, tomorrow,
                                                                          ivanova.user_id)


async def test_the_hand_over_finds_a_lead_called_back_since_it_was_listed_overdue_and_leaves_it(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    lead_id = await _hot_appeal(db, cw.crm.ivanova, "Богданов Олег Викторович", "+7 (916) 402-18-90")
    [overdue] = await hot_lead_store.overdue_hot_leads(db, NOW + timedelta(minutes=11))
    assert overdue.lead_id == lead_id
    # The dialer gets there first: called at 12:11, no answer.
    await _call(db, cw, lead_id, "hot-bogdanov-1", NOW + timedelta(minutes=11), "no_answer")
    moved = await hot_lead_store.escalate_hot_lead(db, lead_id, cw.crm.petrov.user_id, NOW + timedelta(minutes=12))
    assert moved is None
    async with db.reading() as s:
        assert (await s.get(Lead, lead_id)).agent_id is None
        assert list((await s.execute(select(ClientReassignment))).scalars()) == []


# --- a hot lead nobody called back is still escalated ----------------------------------------------


async def test_a_call_placed_before_the_appeal_is_no_call_back(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    async with db.reading() as s:
        lead_id = (await s.execute(select(Lead.id).where(Lead.client_id == cw.client_ids[0]))).scalar_one()
    # «Ромашка» was called from the list at nine, no answer; at noon it asks for a call back.
    await _call(db, cw, lead_id, "list-romashka-1", NOW - timedelta(hours=3), "no_answer")
    appeal = await appeals_service.create_appeal(db, cw.crm.ivanova, AppealInput(
        purpose="Перезвоните по счёту", client_id=cw.client_ids[0], callback_requested=True), now=NOW)
    [done] = await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: MOSCOW_OPEN})
    assert (done.lead_id, done.appeal_id, done.to_user_id) == (lead_id, appeal.id, cw.crm.petrov.user_id)


async def test_a_preview_skip_is_no_call_back(db: Database) -> None:
    cw = await campaign_world(db, hot_appeals=True)
    ivanova = cw.crm.ivanova.user_id
    lead_id = await _hot_appeal(db, cw.crm.ivanova, "Мельник Татьяна Ивановна", "+7 (903) 264-71-08")
    [card] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW + timedelta(minutes=3), 1, 30,
                                             agent_id=ivanova)
    assert card.id == lead_id
    await leads_service.release_lead(db, lead_id, "dialer-1", NOW + timedelta(minutes=3),
                                     next_try_at=NOW + timedelta(hours=1), reason="Занята другим клиентом",
                                     skipped_by=ivanova)
    [done] = await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: MOSCOW_OPEN})
    assert (done.lead_id, done.from_user_id, done.to_user_id) == (lead_id, None, cw.crm.petrov.user_id)
    # The rest Ivanova's skip gave it was hers: Petrov has his 10 minutes from now, not after the hour.
    [card] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW + timedelta(minutes=12), 1, 30,
                                             agent_id=cw.crm.petrov.user_id)
    assert card.id == lead_id


async def test_a_finished_lead_brought_back_by_a_hot_appeal_dials_in_the_clients_zone_of_today(db: Database) -> None:
    """A finished lead kept the zone it was called in; brought back hot, it takes the zone the client has now."""
    from crm_core.services import clients as clients_service

    cw = await campaign_world(db, hot_appeals=True)
    petrov = cw.crm.petrov
    vector = cw.client_ids[5]  # ООО «Вектор», a mobile: no zone until its region is known
    async with db.reading() as s:
        lead_id = await s.scalar(select(Lead.id).where(Lead.client_id == vector))
    for leased in await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 50, 30):
        if leased.id != lead_id:
            await leads_service.release_lead(db, leased.id, "dialer-1", NOW)
    await leads_service.start_attempt(db, lead_id, "dialer-1", "vector-1", "progressive", NOW, agent_id=petrov.user_id)
    await leads_service.finish_attempt(db, "vector-1", "answered", NOW + timedelta(minutes=2), agent_id=petrov.user_id)
    await leads_service.set_disposition(db, petrov, cw.campaign.id, lead_id, "agreed", now=NOW + timedelta(minutes=3))
    await clients_service.update_client(db, petrov, vector, {"region": "Новосибирская область"})
    async with db.reading() as s:
        assert ((await s.get(Lead, lead_id)).state, (await s.get(Lead, lead_id)).timezone) == ("done", None)

    await appeals_service.create_appeal(db, petrov, AppealInput(
        purpose="Перезвоните по новому заказу", client_id=vector, callback_requested=True), now=NOW + timedelta(hours=1))
    async with db.reading() as s:
        lead = await s.get(Lead, lead_id)
    assert (lead.state, lead.priority, lead.timezone) == ("ready", HOT_PRIORITY, "Asia/Novosibirsk")


async def _exhausted_list_lead(db: Database, cw: CampaignWorld, client_id: int, state: str = "failed") -> int:
    """The client's list lead after its round of dials ended (no answer five times, or listed)."""
    async with db.transaction() as s:
        lead = (await s.execute(select(Lead).where(Lead.client_id == client_id))).scalar_one()
        lead.state, lead.attempts, lead.last_outcome = state, 5, "no_answer" if state == "failed" else None
        return lead.id


async def test_a_hot_appeal_opens_a_new_round_of_dials_for_a_lead_that_had_used_its_own(db: Database) -> None:
    """«Ромашка» was not reached in five dials last week; now it asks to be called back: a busy line is tried again."""
    cw = await campaign_world(db, hot_appeals=True)
    lead_id = await _exhausted_list_lead(db, cw, cw.client_ids[0])
    await appeals_service.create_appeal(db, cw.crm.ivanova, AppealInput(
        purpose="Перезвоните по счёту", client_id=cw.client_ids[0], callback_requested=True), now=NOW)
    again = await _call(db, cw, lead_id, "hot-romashka-1", NOW + timedelta(minutes=2), "busy")
    assert again == NOW + timedelta(minutes=13)
    async with db.reading() as s:
        lead = await s.get(Lead, lead_id)
    assert (lead.state, lead.attempts) == ("ready", 1)


async def test_a_hot_appeal_from_a_number_taken_off_the_dnc_list_is_dialled(db: Database) -> None:
    """Listed by mistake, then taken off: the lead stayed «dnc», and the client's call-back request must not die with it."""
    cw = await campaign_world(db, hot_appeals=True)
    await dnc_service.add_dnc(db, cw.sup, "8 916 123-45-67", cw.campaign.id, "Ошибка оператора", now=NOW - timedelta(days=2))
    lead_id = await _exhausted_list_lead(db, cw, cw.client_ids[0], state="dnc")
    await dnc_service.remove_dnc(db, cw.sup, "+7 (916) 123-45-67", cw.campaign.id)
    await appeals_service.create_appeal(db, cw.crm.ivanova, AppealInput(
        purpose="Перезвоните, хочу оформить заказ", client_id=cw.client_ids[0], callback_requested=True), now=NOW)
    [first] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW + timedelta(minutes=1), 1, 30)
    assert first.id == lead_id


async def test_an_appeal_made_at_night_gets_its_ten_minutes_from_the_opening_of_the_window(db: Database) -> None:
    """Asked at 22:30, nobody may call until 09:00: whoever is on duty then has until 09:10, not seconds."""
    cw = await campaign_world(db, hot_appeals=True, hours={"start": "09:00", "end": "21:00"})
    night = NOW + timedelta(hours=10, minutes=30)  # Monday 22:30 in Moscow
    appeal = await appeals_service.create_appeal(db, cw.crm.ivanova, AppealInput(
        purpose="Перезвоните утром", callback_requested=True, channel_code="website",
        new_client=NewClientInput(name="Соколова Анна Викторовна", phone="+7 (903) 555-12-34", region="Москва")), now=night)
    shut: dict[int, set[str | None]] = {cw.campaign.id: set()}
    opening = NOW + timedelta(hours=21)  # Tuesday 09:00 in Moscow
    # The runner asks every 5 seconds all night long; the last time before the opening:
    assert await escalate_overdue(db, night + timedelta(minutes=11), shut) == []
    assert await escalate_overdue(db, opening - timedelta(seconds=3), shut) == []
    assert await escalate_overdue(db, opening + timedelta(seconds=5), {cw.campaign.id: MOSCOW_OPEN}) == []
    async with db.reading() as s:
        lead = (await s.execute(select(Lead).where(Lead.appeal_id == appeal.id))).scalar_one()
    assert lead.agent_id is None and lead.due_by == opening + timedelta(minutes=10, seconds=-3)
    [done] = await escalate_overdue(db, opening + timedelta(minutes=11), {cw.campaign.id: MOSCOW_OPEN})
    assert done.lead_id == lead.id


async def test_a_call_the_network_refused_is_no_call_back(db: Database) -> None:
    """Congestion, or an Originate that failed, never rang the client: the promise still lapses and is handed on."""
    cw = await campaign_world(db, hot_appeals=True)
    lead_id = await _hot_appeal(db, cw.crm.ivanova, "Мельник Татьяна Ивановна", "+7 (903) 264-71-08")
    await _call(db, cw, lead_id, "hot-melnik-1", NOW + timedelta(minutes=2), "congestion")
    [done] = await escalate_overdue(db, NOW + timedelta(minutes=11), {cw.campaign.id: MOSCOW_OPEN})
    assert (done.lead_id, done.to_user_id) == (lead_id, cw.crm.petrov.user_id)
    # The new owner dials it now, not after the congestion's retry.
    [card] = await leads_service.lease_leads(db, cw.campaign.id, "dialer-1", NOW + timedelta(minutes=12), 1, 30,
                                             agent_id=cw.crm.petrov.user_id)
    assert card.id == lead_id
