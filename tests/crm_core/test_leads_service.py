"""Leads in the store: leases, attempts, recovery, dispositions, on SQLite and PostgreSQL.

The concurrency tests run for real: several engines (separate connection pools) and
several processes lease from one campaign at once; none may get a lead another holds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm_core.campaign_settings import CallingHours, RetryRules
from crm_core.db import Database
from crm_core.errors import (
    CampaignNotFound,
    DomainError,
    Forbidden,
    InvalidInput,
    LeadOnDnc,
    LeaseLost,
    UnknownDisposition,
)
from crm_core.models import Attempt, Client, ClientKind, DncNumber, Lead
from crm_core.services import campaigns as campaigns_service
from crm_core.services import dnc as dnc_service
from crm_core.services import leads
from dialer import windows
from dialer.retries import after_outcome
from tests.conftest import _truncate_pg
from tests.crm_core.campaign_world import MONDAY_NOON_MSK, CampaignWorld, campaign_world

NOW = MONDAY_NOON_MSK


async def _lead(db: Database, lead_id: int) -> Lead:
    async with db.reading() as s:
        found = await s.get(Lead, lead_id)
        assert found is not None
        return found


async def _dial(db: Database, cw: CampaignWorld, owner: str = "dialer-1", now: datetime = NOW, **kw) -> leads.LeasedLead:
    [lead] = await leads.lease_leads(db, cw.campaign.id, owner, now, 1, 60, **kw)
    await leads.start_attempt(db, lead.id, owner, f"{owner}-{lead.id}-{lead.attempts + 1}", "progressive", now)
    return lead


# --- leasing -----------------------------------------------------------------------------------


async def test_leases_go_best_first_and_never_twice(db: Database) -> None:
    cw = await campaign_world(db)
    first = await leads.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 3, 30)
    second = await leads.lease_leads(db, cw.campaign.id, "dialer-2", NOW, 10, 30)
    assert [lead.id for lead in first] == [1, 2, 3]
    assert {lead.id for lead in second} == {4, 5, 6, 7}
    assert await leads.lease_leads(db, cw.campaign.id, "dialer-3", NOW, 10, 30) == []
    romashka = first[0]
    assert (romashka.client_name, romashka.phone, romashka.timezone) == ("ООО «Ромашка»", "+79161234567", "Europe/Moscow")
    assert romashka.lease_expires_at == NOW + timedelta(seconds=30)
    stored = await _lead(db, romashka.id)
    assert (stored.state, stored.lease_owner) == ("leased", "dialer-1")


async def test_an_expired_lease_comes_back_and_its_old_holder_cannot_dial_it(db: Database) -> None:
    cw = await campaign_world(db)
    held = await leads.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 7, 30)
    assert len(held) == 7
    assert await leads.lease_leads(db, cw.campaign.id, "dialer-2", NOW + timedelta(seconds=29), 7, 30) == []
    later = NOW + timedelta(seconds=31)
    again = await leads.lease_leads(db, cw.campaign.id, "dialer-2", later, 7, 30)
    assert [lead.id for lead in again] == [lead.id for lead in held]
    with pytest.raises(LeaseLost):
        await leads.start_attempt(db, held[0].id, "dialer-1", "dead-1", "progressive", later)
    assert await leads.start_attempt(db, again[0].id, "dialer-2", "live-1", "progressive", later) > 0


async def test_reclaim_everywhere(db: Database) -> None:
    cw = await campaign_world(db)
    await leads.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 2, 10)
    assert await leads.reclaim_expired_leases(db, NOW + timedelta(seconds=5)) == 0
    assert await leads.reclaim_expired_leases(db, NOW + timedelta(seconds=11)) == 2
    assert (await _lead(db, 1)).state == "ready"


async def test_only_open_zones_are_leased(db: Database) -> None:
    cw = await campaign_world(db)
    kyiv_minsk = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30, open_zones={"Europe/Kyiv", "Europe/Minsk"})
    assert {lead.timezone for lead in kyiv_minsk} == {"Europe/Kyiv", "Europe/Minsk"}
    unknown = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30, open_zones={None})
    assert [lead.client_name for lead in unknown] == ["ООО «Вектор»"]
    assert await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30, open_zones=set()) == []


async def test_a_paused_campaign_leases_nothing_and_takes_back_what_was_leased(db: Database) -> None:
    cw = await campaign_world(db)
    [lead] = await leads.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 1, 60)
    paused = await campaigns_service.pause(db, cw.sup, cw.campaign.id)
    assert paused.lead_counts["leased"] == 0
    assert await leads.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 5, 60) == []
    with pytest.raises(LeaseLost):
        await leads.start_attempt(db, lead.id, "dialer-1", "after-pause", "progressive", NOW)
    await campaigns_service.resume(db, cw.sup, cw.campaign.id)
    assert len(await leads.lease_leads(db, cw.campaign.id, "dialer-1", NOW, 5, 60)) == 5


async def test_a_pinned_lead_goes_only_to_its_agent(db: Database) -> None:
    cw = await campaign_world(db)
    async with db.transaction() as s:
        (await s.get(Lead, 7)).agent_id = cw.crm.petrov.user_id  # a personal callback of Petrov's
    anyone = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30)
    assert 7 not in {lead.id for lead in anyone}
    assert await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30, agent_id=cw.crm.ivanova.user_id) == []
    [petrovs] = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30, agent_id=cw.crm.petrov.user_id)
    assert (petrovs.id, petrovs.agent_id) == (7, cw.crm.petrov.user_id)
    # His own only (the callback path): with the callback's client outside its hours (only
    # Vladivostok open), Kim's list lead there is not rung to his phone instead.
    later = NOW + timedelta(minutes=1)  # the leases above have lapsed
    assert await leads.lease_leads(db, cw.campaign.id, "d", later, 10, 30, ["Asia/Vladivostok"],
                                   agent_id=cw.crm.petrov.user_id, agent_guaranteed=True, pinned=True) == []
    [kim] = await leads.lease_leads(db, cw.campaign.id, "d", later, 10, 30, ["Asia/Vladivostok"],
                                    agent_id=cw.crm.petrov.user_id, agent_guaranteed=True)
    assert kim.client_name == "ИП Ким Сергей Владимирович"
    [own] = await leads.lease_leads(db, cw.campaign.id, "d", later, 10, 30, agent_id=cw.crm.petrov.user_id,
                                    agent_guaranteed=True, pinned=True)
    assert own.id == 7


async def test_an_abandoned_number_waits_72_hours_unless_an_agent_is_guaranteed(db: Database) -> None:
    cw = await campaign_world(db)
    lead = await _dial(db, cw)
    hold = NOW + timedelta(hours=72)
    await leads.finish_attempt(db, f"dialer-1-{lead.id}-1", "abandoned", NOW, next_try_at=NOW + timedelta(hours=1),
                               abandon_hold_until=hold)
    two_hours = NOW + timedelta(hours=2)
    predictive = await leads.lease_leads(db, cw.campaign.id, "d", two_hours, 10, 30)
    assert lead.id not in {x.id for x in predictive}
    await leads.reclaim_expired_leases(db, two_hours + timedelta(minutes=1))
    ivanova = cw.crm.ivanova.user_id
    guaranteed = await leads.lease_leads(db, cw.campaign.id, "d", two_hours + timedelta(minutes=1), 10, 30,
                                         agent_id=ivanova, agent_guaranteed=True)
    assert lead.id in {x.id for x in guaranteed}
    with pytest.raises(InvalidInput):
        await leads.lease_leads(db, cw.campaign.id, "d", NOW, 1, 30, agent_guaranteed=True)


async def test_the_72_hour_hold_is_the_numbers_in_every_campaign(db: Database) -> None:
    """A client abandoned by one campaign is not rung by another within 72 hours, unless an agent waits for them."""
    cw = await campaign_world(db)
    other = await campaigns_service.create_campaign(db, cw.sup, {"name": "Зимняя распродажа", "mode": "predictive",
                                                                 "hours": {"days": [1, 2, 3, 4, 5, 6, 7],
                                                                           "start": "00:00", "end": "24:00"}})
    await campaigns_service.set_agents(db, cw.sup, other.id, [cw.crm.ivanova.user_id])
    await campaigns_service.add_list_from_filter(db, cw.sup, other.id, "Вся база отдела", {})
    await campaigns_service.launch(db, cw.sup, other.id)
    lead = await _dial(db, cw)
    await leads.finish_attempt(db, f"dialer-1-{lead.id}-1", "abandoned", NOW, next_try_at=NOW + timedelta(hours=1),
                               abandon_hold_until=NOW + timedelta(hours=72))

    in_five_minutes = await leads.lease_leads(db, other.id, "d", NOW + timedelta(minutes=5), 100, 30)
    assert in_five_minutes and lead.phone not in {x.phone for x in in_five_minutes}
    ivanova = cw.crm.ivanova.user_id
    [waited_for] = await leads.lease_leads(db, other.id, "d", NOW + timedelta(minutes=6), 1, 30, agent_id=ivanova,
                                           agent_guaranteed=True)
    assert waited_for.phone == lead.phone, "with an operator on the line first, the number may be rung"
    await leads.release_lead(db, waited_for.id, "d", NOW + timedelta(minutes=6))
    after = await leads.lease_leads(db, other.id, "d", NOW + timedelta(hours=72, minutes=1), 100, 30)
    assert lead.phone in {x.phone for x in after}


async def test_dnc_numbers_are_never_leased_nor_dialled(db: Database) -> None:
    cw = await campaign_world(db)
    await dnc_service.add_dnc(db, cw.sup, "8 (916) 123-45-67", cw.campaign.id, "просил не звонить")
    leased = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 10, 30)
    assert "+79161234567" not in {lead.phone for lead in leased}
    assert (await _lead(db, 1)).state == "dnc"
    # Listed after the lease, before the dial: start_attempt refuses and the lead ends as dnc.
    target = leased[0]
    await dnc_service.add_dnc(db, None, target.phone, None, "глобальный стоп-лист", "script")
    with pytest.raises(LeadOnDnc):
        await leads.start_attempt(db, target.id, "d", "dnc-1", "progressive", NOW)
    assert (await _lead(db, target.id)).state == "dnc"
    async with db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(Attempt)) == 0


async def test_release_gives_back_and_a_preview_skip_is_kept(db: Database) -> None:
    cw = await campaign_world(db)
    a, b = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 2, 30)
    later = NOW + timedelta(hours=1)
    assert await leads.release_lead(db, a.id, "d", NOW, next_try_at=later, reason="вне окна звонков")
    assert not await leads.release_lead(db, a.id, "d", NOW)  # no longer leased
    assert not await leads.release_lead(db, b.id, "other", NOW)
    assert await leads.release_lead(db, b.id, "d", NOW, "ready", later, "не тот профиль", skipped_by=cw.crm.ivanova.user_id)
    assert ((await _lead(db, a.id)).state, (await _lead(db, a.id)).next_try_at) == ("ready", later)
    async with db.reading() as s:
        skip = (await s.execute(select(Attempt))).scalar_one()
    assert (skip.outcome, skip.comment, skip.agent_id) == ("skipped", "не тот профиль", cw.crm.ivanova.user_id)
    assert (await _lead(db, b.id)).attempts == 0


# --- attempts ----------------------------------------------------------------------------------


async def test_an_attempt_starts_once_and_finishes_once(db: Database) -> None:
    cw = await campaign_world(db)
    [lead] = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 1, 30)
    attempt_id = await leads.start_attempt(db, lead.id, "d", "A-1", "predictive", NOW)
    stored = await _lead(db, lead.id)
    assert (stored.state, stored.attempts) == ("dialing", 1)
    with pytest.raises(LeaseLost):  # dialing, not leased: never a second Originate
        await leads.start_attempt(db, lead.id, "d", "A-2", "predictive", NOW)
    retry = NOW + timedelta(minutes=10)
    done = await leads.finish_attempt(db, "A-1", "busy", NOW + timedelta(seconds=4), ring_seconds=3.1,
                                      next_try_at=retry, lead_state="ready")
    assert done == leads.FinishedAttempt(attempt_id, lead.id, cw.campaign.id, "busy", "ready", True)
    repeat = await leads.finish_attempt(db, "A-1", "answered", NOW + timedelta(seconds=9), lead_state="done")
    assert repeat is not None and (repeat.outcome, repeat.applied, repeat.lead_state) == ("busy", False, "ready")
    assert await leads.finish_attempt(db, "no-such-action", "busy", NOW) is None
    stored = await _lead(db, lead.id)
    assert (stored.state, stored.next_try_at, stored.last_outcome) == ("ready", retry, "busy")
    assert lead.id not in {x.id for x in await leads.lease_leads(db, cw.campaign.id, "d", NOW + timedelta(minutes=9), 10, 30)}


async def test_a_reused_action_id_is_a_conflict_not_a_second_attempt(db: Database) -> None:
    cw = await campaign_world(db)
    a, b = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 2, 30)
    await leads.start_attempt(db, a.id, "d", "SAME", "progressive", NOW)
    with pytest.raises(Exception) as caught:
        await leads.start_attempt(db, b.id, "d", "SAME", "progressive", NOW)
    assert getattr(caught.value, "code", "") == "conflict"
    assert (await _lead(db, b.id)).state == "leased"


async def test_a_lost_attempt_is_rescheduled_not_redialled_at_once(db: Database) -> None:
    cw = await campaign_world(db, retry_rules={"lost_minutes": 30})
    lead = await _dial(db, cw, owner="dialer-dead")
    other = await _dial(db, cw, owner="dialer-alive")
    assert await leads.recover_dialing(db, "dialer-dead", NOW + timedelta(seconds=30), 60) == []  # too fresh
    later = NOW + timedelta(minutes=5)
    assert await leads.recover_dialing(db, "dialer-dead", later, 60) == [lead.id]
    stored = await _lead(db, lead.id)
    assert (stored.state, stored.next_try_at, stored.last_outcome) == ("ready", later + timedelta(minutes=30), "lost")
    assert (await _lead(db, other.id)).state == "dialing"  # another dialer's call is not touched
    assert lead.id not in {x.id for x in await leads.lease_leads(db, cw.campaign.id, "d", later, 10, 30)}
    # The real outcome arrives after all (the tracker saw the hang-up): it replaces "lost".
    real = await leads.finish_attempt(db, f"dialer-dead-{lead.id}-1", "answered", later + timedelta(seconds=1))
    assert real is not None and real.applied and (await _lead(db, lead.id)).state == "done"


async def test_a_lost_last_dial_ends_the_lead_and_its_real_outcome_still_counts(db: Database) -> None:
    """A lost dial is a dial: the lead's last one ends it, not a bonus redial; the tracker's answer then replaces it."""
    cw = await campaign_world(db, retry_rules={"max_attempts": 1})
    lead = await _dial(db, cw, owner="dialer-dead")
    later = NOW + timedelta(minutes=5)
    assert await leads.recover_dialing(db, "dialer-dead", later, 60) == [lead.id]
    stored = await _lead(db, lead.id)
    assert (stored.state, stored.next_try_at, stored.last_outcome) == ("failed", None, "lost")
    real = await leads.finish_attempt(db, f"dialer-dead-{lead.id}-1", "answered", later + timedelta(seconds=1))
    assert real is not None and real.applied and (await _lead(db, lead.id)).state == "done"


async def test_an_abandon_reported_after_the_lead_moved_on_still_holds_the_number(db: Database) -> None:
    """The dead dialer's call was an abandon after all: the number rests 72 hours even though the lead was redialled."""
    cw = await campaign_world(db)
    lead = await _dial(db, cw, owner="dialer-dead")
    later = NOW + timedelta(hours=2)
    assert await leads.recover_dialing(db, "dialer-dead", later, 60) == [lead.id]
    again = await _dial(db, cw, owner="dialer-2", now=later + timedelta(hours=1))
    assert again.id == lead.id
    hold = NOW + timedelta(hours=72)
    late = await leads.finish_attempt(db, f"dialer-dead-{lead.id}-1", "abandoned", later + timedelta(hours=1, seconds=5),
                                      abandon_hold_until=hold)
    assert late is not None and not late.applied  # the newer dial decides the lead's state
    assert (await _lead(db, lead.id)).abandon_hold_until == hold


async def test_recover_all_dialers(db: Database) -> None:
    cw = await campaign_world(db)
    a = await _dial(db, cw, owner="x1")
    b = await _dial(db, cw, owner="x2")
    assert sorted(await leads.recover_dialing(db, None, NOW + timedelta(minutes=2), 60)) == sorted([a.id, b.id])


# --- dispositions ------------------------------------------------------------------------------


async def test_a_disposition_set_during_the_call_decides_when_it_ends(db: Database) -> None:
    cw = await campaign_world(db)
    ivanova = cw.crm.ivanova
    lead = await _dial(db, cw)
    action = f"dialer-1-{lead.id}-1"
    callback = NOW + timedelta(days=1, hours=2)
    view = await leads.set_disposition(db, ivanova, cw.campaign.id, lead.id, "callback", "Перезвонить завтра после обеда",
                                       callback_at=callback, now=NOW + timedelta(minutes=1))
    assert (view.state, view.next_try_at, view.agent_id) == ("dialing", callback, ivanova.user_id)
    assert view.priority == leads.CALLBACK_PRIORITY
    done = await leads.finish_attempt(db, action, "answered", NOW + timedelta(minutes=2), talk_seconds=95,
                                      lead_state="done", agent_id=ivanova.user_id)
    assert done is not None and done.lead_state == "ready"
    stored = await _lead(db, lead.id)
    assert (stored.state, stored.next_try_at, stored.disposition_code) == ("ready", callback, "callback")


async def test_final_dispositions_and_the_dnc_one(db: Database) -> None:
    cw = await campaign_world(db)
    ivanova = cw.crm.ivanova
    a = await _dial(db, cw)
    await leads.finish_attempt(db, f"dialer-1-{a.id}-1", "answered", NOW, agent_id=ivanova.user_id)
    assert (await leads.set_disposition(db, ivanova, cw.campaign.id, a.id, "agreed", None, now=NOW)).state == "done"
    b = await _dial(db, cw)
    await leads.finish_attempt(db, f"dialer-1-{b.id}-1", "answered", NOW, agent_id=ivanova.user_id)
    view = await leads.set_disposition(db, ivanova, cw.campaign.id, b.id, "do_not_call", "Просил больше не звонить", now=NOW)
    assert view.state == "dnc"
    # The client asked the company to stop: no campaign calls them again.
    assert await dnc_service.is_dnc(db, b.phone, None)
    other = await campaigns_service.create_campaign(db, cw.sup, {"name": "Весенняя акция"})
    report = await campaigns_service.add_list_from_filter(db, cw.sup, other.id, "Все клиенты", None)
    assert (report.leads_added, report.skipped_reasons) == (6, {"the number is on the do-not-call list": 1})
    c = await _dial(db, cw)
    await leads.finish_attempt(db, f"dialer-1-{c.id}-1", "answered", NOW, agent_id=ivanova.user_id)
    view = await leads.set_disposition(db, ivanova, cw.campaign.id, c.id, "no_decision_maker", None, now=NOW)
    assert (view.state, view.next_try_at, view.agent_id) == ("ready", NOW + timedelta(days=1), None)


async def test_who_may_set_a_disposition(db: Database) -> None:
    cw = await campaign_world(db)
    lead = await _dial(db, cw)
    await leads.finish_attempt(db, f"dialer-1-{lead.id}-1", "answered", NOW, agent_id=cw.crm.ivanova.user_id)
    with pytest.raises(Forbidden):  # an agent of the campaign, but not their call
        await leads.set_disposition(db, cw.crm.petrov, cw.campaign.id, lead.id, "agreed", None)
    with pytest.raises(CampaignNotFound):  # not in the campaign at all
        await leads.set_disposition(db, cw.crm.kovalenko, cw.campaign.id, lead.id, "agreed", None)
    with pytest.raises(UnknownDisposition) as unknown:
        await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, lead.id, "maybe", None)
    assert "agreed" in unknown.value.message
    with pytest.raises(InvalidInput):  # a callback on a final code
        await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, lead.id, "agreed", None,
                                    callback_at=NOW + timedelta(hours=1), now=NOW)
    with pytest.raises(InvalidInput):  # a callback in the past
        await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, lead.id, "callback", None,
                                    callback_at=NOW - timedelta(hours=1), now=NOW)
    assert (await leads.set_disposition(db, cw.sup, cw.campaign.id, lead.id, "not_interested", None)).state == "failed"


async def test_once_the_queue_call_reaches_an_operator_only_they_wrap_it_up(db: Database) -> None:
    """The dialer writes the operator on the attempt when they answer; a colleague is refused from then on."""
    cw = await campaign_world(db)
    lead = await _dial(db, cw)
    action = f"dialer-1-{lead.id}-1"
    assert await leads.claim_attempt(db, action, cw.crm.ivanova.user_id)
    assert not await leads.claim_attempt(db, action, cw.crm.petrov.user_id), "the first operator keeps it"
    with pytest.raises(Forbidden):
        await leads.set_disposition(db, cw.crm.petrov, cw.campaign.id, lead.id, "agreed", None, now=NOW)
    view = await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, lead.id, "agreed", None, now=NOW)
    assert view.state == "dialing"
    await leads.finish_attempt(db, action, "answered", NOW + timedelta(minutes=2))
    assert not await leads.claim_attempt(db, action, cw.crm.petrov.user_id), "an ended call is not claimed"
    assert not await leads.claim_attempt(db, "bad\r\naction", cw.crm.petrov.user_id)


async def test_the_wrap_up_shows_on_the_calls_line_of_the_client_history(db: Database) -> None:
    """After the call or during it, the campaign's outcome and the operator's comment are read on the client card."""
    from crm_core.services import clients as clients_service
    from crm_core.services.calls import CallRecord, record_finished_call

    cw = await campaign_world(db)
    ivanova = cw.crm.ivanova

    async def call_recorded(lead: leads.LeasedLead, action: str) -> int:
        recorded = await record_finished_call(db, CallRecord(
            direction="outbound", outcome="answered", number=lead.phone, action_id=action, client_id=lead.client_id,
            campaign_id=cw.campaign.id, started_at=NOW, answered_at=NOW + timedelta(seconds=8),
            ended_at=NOW + timedelta(minutes=3), talk_seconds=172, requested_by_id=ivanova.user_id))
        await leads.finish_attempt(db, action, "answered", NOW + timedelta(minutes=3), call_id=recorded.call_id,
                                   agent_id=ivanova.user_id)
        return lead.client_id

    async def call_line(client_id: int) -> str | None:
        card = await clients_service.get_card(db, ivanova, client_id)
        [line] = [h for h in card.history if h.details.get("call_id")]
        return line.details["body"]

    after = await _dial(db, cw)
    client = await call_recorded(after, f"dialer-1-{after.id}-1")
    await leads.set_disposition(db, ivanova, cw.campaign.id, after.id, "callback", "Перезвонить после обеда, ЛПР в отпуске",
                                callback_at=NOW + timedelta(days=1), now=NOW + timedelta(minutes=4))
    assert await call_line(client) == "Итог: «Перезвонить». Перезвонить после обеда, ЛПР в отпуске"

    during = await _dial(db, cw)
    await leads.set_disposition(db, ivanova, cw.campaign.id, during.id, "agreed", None, now=NOW + timedelta(minutes=1))
    client = await call_recorded(during, f"dialer-1-{during.id}-1")
    assert await call_line(client) == "Итог: «Согласие»"


async def test_a_retried_disposition_counts_the_dials_like_an_outcome(db: Database) -> None:
    """"Автоответчик" brings the lead back until its dials are used up, then it ends; a callback agreed is kept."""
    cw = await campaign_world(db, retry_rules={"max_attempts": 2})
    ivanova = cw.crm.ivanova.user_id
    first = await _dial(db, cw)
    action = f"dialer-1-{first.id}-1"
    await leads.finish_attempt(db, action, "answered", NOW, agent_id=ivanova)
    view = await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, first.id, "answering_machine", now=NOW)
    assert (view.state, view.next_try_at) == ("ready", NOW + timedelta(hours=4))

    later = NOW + timedelta(hours=4)
    [again] = await leads.lease_leads(db, cw.campaign.id, "dialer-1", later, 1, 60)
    assert again.id == first.id
    await leads.start_attempt(db, again.id, "dialer-1", "dialer-1-second", "progressive", later)
    # Set during the second (last) call: the lead ends when it does, it is not rung a third time.
    view = await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, again.id, "answering_machine", now=later)
    assert (view.state, view.next_try_at) == ("dialing", None)
    done = await leads.finish_attempt(db, "dialer-1-second", "answered", later + timedelta(minutes=1), agent_id=ivanova)
    assert done is not None and done.lead_state == "failed"
    assert (await _lead(db, again.id)).next_try_at is None

    # The client said "call me on Friday": that call is agreed, whatever the count.
    friday = NOW + timedelta(days=4)
    view = await leads.set_disposition(db, cw.crm.ivanova, cw.campaign.id, again.id, "callback", callback_at=friday,
                                       now=later + timedelta(minutes=2))
    assert (view.state, view.next_try_at) == ("ready", friday)


async def test_a_dial_nobody_answered_is_no_operators_to_wrap_up(db: Database) -> None:
    """A predictive dial that rang out had no operator: none may mark its client "agreed" or "do not call"."""
    cw = await campaign_world(db)
    lead = await _dial(db, cw)
    await leads.finish_attempt(db, f"dialer-1-{lead.id}-1", "no_answer", NOW, next_try_at=NOW + timedelta(hours=2))
    for code in ("agreed", "do_not_call"):
        with pytest.raises(Forbidden):
            await leads.set_disposition(db, cw.crm.petrov, cw.campaign.id, lead.id, code, None)
    assert not await dnc_service.is_dnc(db, lead.phone, cw.campaign.id)
    # Answered by the queue, its agent not known yet: the operator on the call wraps it up.
    other = await _dial(db, cw)
    assert other.id != lead.id
    view = await leads.set_disposition(db, cw.crm.petrov, cw.campaign.id, other.id, "interested", None, now=NOW)
    assert view.state == "dialing"
    # The supervisor may still settle the unanswered one.
    assert (await leads.set_disposition(db, cw.sup, cw.campaign.id, lead.id, "wrong_number", None)).state == "failed"


# --- concurrency, for real -------------------------------------------------------------------


async def _many_leads(db: Database, campaign_id: int, count: int) -> set[int]:
    """``count`` more leads (and their clients) written straight to the store: fast, for the races below."""
    async with db.transaction() as s:
        clients = [Client(kind=ClientKind.person, name=f"Клиент {i}", name_search=f"клиент {i}", status="new")
                   for i in range(count)]
        s.add_all(clients)
        await s.flush()
        rows = [Lead(campaign_id=campaign_id, client_id=c.id, phone_e164=f"+7916{5000000 + i:07d}",
                     timezone="Europe/Moscow", state="ready") for i, c in enumerate(clients)]
        s.add_all(rows)
        await s.flush()
        return {lead.id for lead in rows}


async def _lease_until_empty(url: str, campaign_id: int, owner: str, batch: int) -> list[int]:
    db = Database(url)
    got: list[int] = []
    try:
        while True:
            leased = await leads.lease_leads(db, campaign_id, owner, NOW, batch, 300)
            if not leased:
                return got
            got += [lead.id for lead in leased]
    finally:
        await db.dispose()


def _leaser_process(url: str, campaign_id: int, owner: str, batch: int, out: multiprocessing.Queue) -> None:
    out.put(asyncio.run(_lease_until_empty(url, campaign_id, owner, batch)))


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


async def test_concurrent_leasers_on_separate_engines_never_share_a_lead(db: Database) -> None:
    cw = await campaign_world(db)
    all_ids = await _many_leads(db, cw.campaign.id, 300) | set(range(1, 8))
    results = await asyncio.gather(*(
        _lease_until_empty(_url(db), cw.campaign.id, f"dialer-{n}", batch) for n, batch in enumerate((1, 3, 7, 10, 2, 5))
    ))
    flat = [lead_id for got in results for lead_id in got]
    assert len(flat) == len(set(flat)), "a lead was leased twice"
    assert set(flat) == all_ids
    if db.is_postgres:  # SKIP LOCKED spreads the work; on SQLite one writer at a time may take it all
        assert sum(1 for got in results if got) >= 2


@pytest.mark.postgres
async def test_concurrent_leasing_processes_never_share_a_lead(pg_db: Database) -> None:
    cw = await campaign_world(pg_db)
    all_ids = await _many_leads(pg_db, cw.campaign.id, 600) | set(range(1, 8))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_leaser_process, args=(_url(pg_db), cw.campaign.id, f"proc-{n}", 4, out)) for n in range(4)]
    for p in procs:
        p.start()
    results = [await asyncio.to_thread(out.get, True, 120) for _ in procs]
    for p in procs:
        await asyncio.to_thread(p.join, 30)
        assert p.exitcode == 0
    flat = [lead_id for got in results for lead_id in got]
    assert len(flat) == len(set(flat)), "a lead was leased twice across processes"
    assert set(flat) == all_ids


async def test_concurrent_starts_of_one_lead_dial_it_once(db: Database) -> None:
    cw = await campaign_world(db)
    [lead] = await leads.lease_leads(db, cw.campaign.id, "d", NOW, 1, 30)
    engines = [Database(_url(db)) for _ in range(5)]
    try:
        outcomes = await asyncio.gather(
            *(leads.start_attempt(e, lead.id, "d", f"race-{n}", "progressive", NOW) for n, e in enumerate(engines)),
            return_exceptions=True,
        )
    finally:
        for e in engines:
            await e.dispose()
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert all(isinstance(o, int | LeaseLost) for o in outcomes), outcomes
    assert (await _lead(db, lead.id)).attempts == 1


async def test_dnc_entries_added_at_once_for_one_number_are_one(db: Database) -> None:
    cw = await campaign_world(db)
    engines = [Database(_url(db)) for _ in range(4)]
    try:
        await asyncio.gather(*(dnc_service.add_dnc(e, cw.sup, "+7 916 123-45-67") for e in engines))
    finally:
        for e in engines:
            await e.dispose()
    async with db.reading() as s:
        assert await s.scalar(select(func.count()).select_from(DncNumber)) == 1


def test_leased_lead_names_its_fields() -> None:
    lead = leads.LeasedLead(1, 2, 3, "ООО «Ромашка»", "+79161234567", "Europe/Moscow", 0, 0, None, None, None, None,
                            "d", datetime(2026, 12, 7, tzinfo=timezone.utc))
    assert (lead.lead_id, lead.phone) == (1, "+79161234567")


# --- properties over many seeds and times: windows, DNC, never twice ---------------------------


BUSINESS_HOURS = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00", "public_holidays": True}
OUTCOMES = ("answered", "busy", "no_answer", "congestion", "machine", "abandoned", "failed")


async def _simulate(db: Database, seed: int, start: datetime) -> int:
    """Two dialers lease, dial and finish over simulated hours; every lease is checked. Returns the dials."""
    rng = random.Random(seed)
    cw = await campaign_world(db, hours=BUSINESS_HOURS, mode="predictive")
    cid = cw.campaign.id
    hours, rules = CallingHours.from_json(cw.campaign.hours), RetryRules()
    zones = await leads.lead_zones(db, cid)
    held: dict[int, datetime | None] = {}  # lead -> lease expiry (None: dialing until finished)
    dials = 0
    now = start
    for step in range(40):
        now += timedelta(minutes=rng.choice((1, 5, 20, 60, 180, 600)))
        if rng.random() < 0.15:
            async with db.reading() as s:
                phones = list((await s.execute(select(Lead.phone_e164).where(Lead.campaign_id == cid))).scalars())
            await dnc_service.add_dnc(db, None, rng.choice(phones), rng.choice((None, cid)), "жалоба", "manual", now=now)
        owner = rng.choice(("dialer-a", "dialer-b"))
        open_now = windows.open_zones(hours, zones, now)
        got = await leads.lease_leads(db, cid, owner, now, rng.randint(1, 3), 120, open_now)
        for lead in got:
            assert windows.is_open(hours, lead.timezone, now, zones), (lead, now)
            assert not await dnc_service.is_dnc(db, lead.phone, cid), (lead, now)
            expiry = held.get(lead.id, now - timedelta(seconds=1))
            assert expiry is not None and expiry <= now, f"lead {lead.id} leased while still held"
            held[lead.id] = lead.lease_expires_at
        for lead in got:
            choice = rng.random()
            if choice < 0.2:
                continue  # the dialer forgets it: the lease must expire
            if choice < 0.3:
                await leads.release_lead(db, lead.id, owner, now, next_try_at=now + timedelta(hours=1))
                held.pop(lead.id)
                continue
            action = f"{owner}-{seed}-{step}-{lead.id}"
            try:
                await leads.start_attempt(db, lead.id, owner, action, "predictive", now)
            except LeaseLost:
                held.pop(lead.id)
                continue
            dials += 1
            assert not await dnc_service.is_dnc(db, lead.phone, cid)
            held[lead.id] = None
            if rng.random() < 0.9:
                outcome = rng.choice(OUTCOMES)
                state, retry, hold = after_outcome(rules, outcome, lead.attempts + 1, now)
                await leads.finish_attempt(db, action, outcome, now + timedelta(seconds=30), next_try_at=retry,
                                           lead_state=state, abandon_hold_until=hold)
                held.pop(lead.id)
        if rng.random() < 0.1:
            for lead_id in await leads.recover_dialing(db, None, now, 300):
                held.pop(lead_id, None)
    return dials


def _sqlite_copy(template: Path) -> tuple[Database, Path]:
    folder = Path(tempfile.mkdtemp(prefix="zvonar-prop-"))
    shutil.copy(template, folder / "z.sqlite3")
    return Database(f"sqlite+aiosqlite:///{folder / 'z.sqlite3'}"), folder


_moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(timezone.utc))


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31), start=_moments)
def test_no_lead_outside_its_window_none_on_dnc_none_twice_sqlite(sqlite_template: Path, seed: int, start: datetime) -> None:
    async def run() -> None:
        db, folder = _sqlite_copy(sqlite_template)
        try:
            await _simulate(db, seed, start)
        finally:
            await db.dispose()
            shutil.rmtree(folder, ignore_errors=True)

    asyncio.run(run())


@pytest.mark.postgres
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**31), start=_moments)
def test_no_lead_outside_its_window_none_on_dnc_none_twice_postgres(pg_database_url: str, seed: int, start: datetime) -> None:
    async def run() -> None:
        db = Database(pg_database_url)
        try:
            await _truncate_pg(db)
            await _simulate(db, seed, start)
        finally:
            await db.dispose()

    asyncio.run(run())


def _random_json(rng: random.Random, depth: int = 0) -> object:
    kinds = ["int", "float", "str", "bool", "none", "list", "dict"] if depth < 3 else ["int", "str", "none"]
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice((0, 1, -1, 3, 7, 25, 10**12, 2**31))
    if kind == "float":
        return rng.choice((0.0, 0.02, 0.03, 0.031, -1.5, 1e308, float("inf")))
    if kind == "str":
        return rng.choice(("", "09:00", "24:00", "25:61", "Europe/Moscow", "RU", "XX", "\x00", "a\r\nb", "ё" * 300,
                           "2027-01-01", "2027-02-30", "../etc/passwd"))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ("days", "start", "end", "holidays", "public_holidays", "holiday_country", "fallback_zone", "abandon_cap",
            "lines_per_agent", "ring_timeout", "max_lines", "busy_minutes", "max_attempts", "code", "name", "final",
            "retry_minutes", "x")
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


async def test_any_settings_are_stored_or_refused_never_crash(db: Database) -> None:
    cw = await campaign_world(db, launch=False)
    rng = random.Random(20261207)
    fields = ("name", "mode", "queue", "caller_id", "hours", "retry_rules", "pacing", "hot_appeals", "dispositions")
    stored = refused = 0
    for _ in range(250):
        changes = {rng.choice(fields): _random_json(rng) for _ in range(rng.randint(1, 3))}
        try:
            await campaigns_service.update_campaign(db, cw.sup, cw.campaign.id, changes)
            stored += 1
        except DomainError:
            refused += 1
        try:
            await campaigns_service.update_pacing(db, cw.sup, cw.campaign.id, _random_json(rng))  # type: ignore[arg-type]
        except DomainError:
            pass
    assert refused > 0 and stored > 0
    keys = (*fields, "team_id", "script_code", "x")
    for _ in range(120):
        data = {"name": "Проверка", **{rng.choice(keys): _random_json(rng) for _ in range(rng.randint(1, 3))}}
        try:
            await campaigns_service.create_campaign(db, cw.crm.admin, data)
        except DomainError:
            pass


async def test_a_code_set_during_the_call_stands_when_the_supervisor_replaces_the_codes(db: Database) -> None:
    """Codes dropped from the campaign are no longer offered, but what was set with them stands and keeps its name."""
    cw = await campaign_world(db)
    ivanova = cw.crm.ivanova
    lead = await _dial(db, cw)
    tomorrow = NOW + timedelta(days=1)
    await leads.set_disposition(db, ivanova, cw.campaign.id, lead.id, "callback", "Перезвонить завтра, ЛПР в отъезде",
                                callback_at=tomorrow, now=NOW + timedelta(minutes=1))
    # Mid-call, the supervisor rewrites the codes: «Перезвонить» becomes two codes.
    kept = [{"code": "agreed", "name": "Согласие", "final": True, "success": True},
            {"code": "callback_morning", "name": "Перезвонить утром", "final": False, "retry_minutes": 720},
            {"code": "not_interested", "name": "Не интересно", "final": True}]
    view = await campaigns_service.update_campaign(db, cw.sup, cw.campaign.id, {"dispositions": kept})
    assert [d.code for d in view.dispositions] == ["agreed", "callback_morning", "not_interested"]
    finished = await leads.finish_attempt(db, f"dialer-1-{lead.id}-1", "answered", NOW + timedelta(minutes=3),
                                          agent_id=ivanova.user_id)
    assert (finished.lead_state, finished.applied) == ("ready", True)
    after = await _lead(db, lead.id)
    assert (after.next_try_at, after.disposition_code) == (tomorrow, "callback")
    chunks = await campaigns_service.export_attempts_csv(db, cw.sup, cw.campaign.id)
    csv_text = b"".join([chunk async for chunk in chunks]).decode("utf-8-sig")
    assert "Перезвонить" in csv_text.splitlines()[1]
    # The old code is not accepted for new calls; the new ones are, in the order the supervisor gave.
    with pytest.raises(UnknownDisposition):
        await leads.set_disposition(db, cw.sup, cw.campaign.id, lead.id, "callback", None, now=NOW + timedelta(minutes=5))
    # Put back later, it is the campaign's code again, in its new place.
    view = await campaigns_service.update_campaign(db, cw.sup, cw.campaign.id, {"dispositions": [
        {"code": "callback", "name": "Перезвонить", "final": False, "retry_minutes": 60}, *kept]})
    assert [d.code for d in view.dispositions] == ["callback", "agreed", "callback_morning", "not_interested"]
