"""Leads in the store: leased to one dialer at a time, dialled, finished, disposed.

A lead goes ready -> leased (a dialer holds it until ``lease_expires_at``) -> dialing (an
attempt row exists: the Originate is about to go out) -> ready | done | failed | dnc.
Every step is one transaction, so a dialer killed at any moment loses no lead and dials
none twice: an expired lease comes back on the next lease call, an attempt left in
``dialing`` is closed as ``lost`` by ``recover_dialing`` and rescheduled, never redialled
at once.

The rules (calling windows, retry delays, pacing) are the dialer's: these functions take
their results as plain values. On PostgreSQL leasing is ``SELECT ... FOR UPDATE SKIP
LOCKED`` then UPDATE in the same transaction, so concurrent dialers never take the same
lead and never wait for each other; on SQLite every lease-changing transaction starts
with ``BEGIN IMMEDIATE`` (one writer at a time), which gives the same guarantee.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm_core.campaign_settings import RetryRules
from crm_core.db import Database
from crm_core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LeadNotFound,
    LeadOnDnc,
    LeaseLost,
    UnknownDisposition,
)
from crm_core.models import (
    ATTEMPT_OUTCOMES,
    CAMPAIGN_MODES,
    Appeal,
    Attempt,
    Call,
    Campaign,
    Client,
    Disposition,
    Interaction,
    Lead,
    Role,
    User,
    utcnow,
)
from crm_core.rights import Actor
from crm_core.services import dnc as dnc_service
from crm_core.services.campaigns import LeadView, dnc_listed, lead_view, load_campaign
from crm_core.services.clients import check_aware, clean_text, fits_id

log = logging.getLogger(__name__)

__all__ = [
    "CALLBACK_PRIORITY", "check_now", "claim_attempt", "lock_lead", "FinishedAttempt", "LeadView", "LeasedLead", "finish_attempt",
    "lease_leads", "lead_zones",
    "reclaim_expired_leases", "recover_dialing", "release_lead", "set_disposition", "start_attempt",
]

# Personal callbacks outrank list leads (hot appeals outrank both: hot_lead_store.HOT_PRIORITY).
CALLBACK_PRIORITY = 50
MAX_LEASE = 1000
MAX_LEASE_SECONDS = 3600
MAX_CALLBACK_AHEAD = timedelta(days=90)
_OWNER = re.compile(r"^[\w.:@\-]{1,64}$")
_ACTION_ID = re.compile(r"^[\x21-\x7e]{1,64}$")
# Best first: what the dialer takes next (and what the supervisor's lead list shows first).
BEST_FIRST = (Lead.priority.desc(), Lead.due_by.asc().nulls_last(), Lead.next_try_at.asc().nulls_last(), Lead.id.asc())
LEAD_END_STATES = ("ready", "done", "failed", "dnc")


@dataclass(frozen=True)
class LeasedLead:
    """A lead a dialer now holds: everything it needs to decide and to dial."""

    id: int
    campaign_id: int
    client_id: int
    client_name: str
    phone_e164: str
    timezone: str | None
    attempts: int
    priority: int
    appeal_id: int | None
    agent_id: int | None
    due_by: datetime | None
    abandon_hold_until: datetime | None
    lease_owner: str
    lease_expires_at: datetime

    @property
    def lead_id(self) -> int:
        return self.id

    @property
    def phone(self) -> str:
        return self.phone_e164


@dataclass(frozen=True)
class FinishedAttempt:
    """What ``finish_attempt`` did: ``applied`` is False for a repeat or an attempt already overtaken."""

    attempt_id: int
    lead_id: int
    campaign_id: int
    outcome: str
    lead_state: str
    applied: bool


def _check_owner(owner: str) -> None:
    if not isinstance(owner, str) or not _OWNER.fullmatch(owner):
        raise InvalidInput("owner must be 1-64 characters: letters, digits and . : @ _ -")


def check_now(now: datetime) -> datetime:
    """``now`` if it is an aware datetime (InvalidInput otherwise)."""
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidInput("now must be an aware datetime")
    return now


async def lock_lead(s: AsyncSession, lead_id: int) -> Lead | None:
    """The lead, locked for this transaction (None for an unknown id)."""
    if not fits_id(lead_id):
        return None
    stmt = select(Lead).where(Lead.id == lead_id).with_for_update().execution_options(populate_existing=True)
    return (await s.execute(stmt)).scalar_one_or_none()


# --- leases ---------------------------------------------------------------------------------------


async def _reclaim(s: AsyncSession, db: Database, now: datetime, campaign_id: int | None) -> int:
    """Leases past their expiry go back to ready (their dialer died or forgot them)."""
    expired = select(Lead.id).where(Lead.state == "leased", Lead.lease_expires_at <= now)
    if campaign_id is not None:
        expired = expired.where(Lead.campaign_id == campaign_id)
    if db.is_postgres:
        expired = expired.with_for_update(skip_locked=True)
    ids = list((await s.execute(expired.limit(MAX_LEASE))).scalars())
    if not ids:
        return 0
    await s.execute(
        update(Lead).where(Lead.id.in_(ids), Lead.state == "leased")
        .values(state="ready", lease_owner=None, lease_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    log.info("leads.reclaimed count=%s campaign=%s", len(ids), campaign_id)
    return len(ids)


async def reclaim_expired_leases(db: Database, now: datetime) -> int:
    """Every expired lease, in every campaign, back to ready; returns how many."""
    check_now(now)
    async with db.transaction() as s:
        await db.write_lock(s)
        return await _reclaim(s, db, now, None)


def _zone_clause(open_zones: Iterable[str | None]) -> ColumnElement[bool]:
    zones = set(open_zones)
    known = sorted(z for z in zones if z is not None)
    parts = []
    if known:
        parts.append(Lead.timezone.in_(known))
    if None in zones:
        parts.append(Lead.timezone.is_(None))
    return or_(*parts)


def _due(
    campaign_id: int, now: datetime, open_zones: Iterable[str | None] | None, agent_id: int | None,
    agent_guaranteed: bool,
    pinned: bool = False,
) -> list[ColumnElement[bool]]:
    where = [
        Lead.campaign_id == campaign_id,
        Lead.state == "ready",
        or_(Lead.next_try_at.is_(None), Lead.next_try_at <= now),
        ~dnc_listed(Lead.phone_e164, Lead.campaign_id),
    ]
    if not agent_guaranteed:
        # The hold is the number's, not the lead's: another campaign (or a hot lead) must
        # not ring a client who was just left with a dead line.
        held = aliased(Lead)
        where.append(~exists().where(held.phone_e164 == Lead.phone_e164, held.abandon_hold_until > now))
    if agent_id is None:
        where.append(Lead.agent_id.is_(None))
    elif pinned:
        where.append(Lead.agent_id == agent_id)
    else:
        where.append(or_(Lead.agent_id.is_(None), Lead.agent_id == agent_id))
    if open_zones is not None:
        where.append(_zone_clause(open_zones))
    return where


async def lease_leads(
    db: Database,
    campaign_id: int,
    owner: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    open_zones: Iterable[str | None] | None = None,
    agent_id: int | None = None,
    *,
    agent_guaranteed: bool = False,
    pinned: bool = False,
) -> list[LeasedLead]:
    """Lease up to ``limit`` due leads of a running campaign to ``owner``, best first: the ONLY way to pick leads.

    Due: ready, ``next_try_at`` passed, no abandon hold on its number in any campaign (unless ``agent_guaranteed``: the
    call is for ``agent_id``, who waits), not on a DNC list, in ``open_zones`` (None: any),
    and not pinned to another agent (``agent_id`` None: unpinned leads only; an agent id:
    theirs and unpinned; with ``pinned``, theirs only). Expired leases of the campaign are reclaimed first.
    """
    _check_owner(owner)
    check_now(now)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LEASE:
        raise InvalidInput(f"limit must be 0..{MAX_LEASE}")
    if not 0 < lease_seconds <= MAX_LEASE_SECONDS:
        raise InvalidInput(f"lease_seconds must be above 0 and at most {MAX_LEASE_SECONDS}")
    if (agent_guaranteed or pinned) and agent_id is None:
        raise InvalidInput("agent_guaranteed and pinned need the agent_id the call is for")
    zones = None if open_zones is None else set(open_zones)
    if limit == 0 or (zones is not None and not zones) or not fits_id(campaign_id):
        return []
    expires = now + timedelta(seconds=lease_seconds)
    async with db.transaction() as s:
        await db.write_lock(s)
        if await s.scalar(select(Campaign.state).where(Campaign.id == campaign_id)) != "running":
            return []
        await _reclaim(s, db, now, campaign_id)
        pick = select(Lead.id).where(*_due(campaign_id, now, zones, agent_id, agent_guaranteed, pinned))
        pick = pick.order_by(*BEST_FIRST).limit(limit)
        if db.is_postgres:
            # Rows another dialer is leasing right now are skipped, not waited for; a row it has
            # just leased fails the re-checked WHERE (state) and is not returned.
            pick = pick.with_for_update(skip_locked=True, of=Lead)
        ids = list((await s.execute(pick)).scalars())
        if not ids:
            return []
        await s.execute(
            update(Lead).where(Lead.id.in_(ids), Lead.state == "ready")
            .values(state="leased", lease_owner=owner, lease_expires_at=expires, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        rows = await s.execute(
            select(Lead, Client.name).join(Client, Client.id == Lead.client_id)
            .where(Lead.id.in_(ids), Lead.lease_owner == owner, Lead.state == "leased")
            .execution_options(populate_existing=True)
        )
        found = {lead.id: (lead, name) for lead, name in rows}
    order = {lead_id: i for i, lead_id in enumerate(ids)}
    leased = [
        LeasedLead(
            id=lead.id, campaign_id=lead.campaign_id, client_id=lead.client_id, client_name=name,
            phone_e164=lead.phone_e164, timezone=lead.timezone, attempts=lead.attempts, priority=lead.priority,
            appeal_id=lead.appeal_id, agent_id=lead.agent_id, due_by=lead.due_by,
            abandon_hold_until=lead.abandon_hold_until, lease_owner=owner, lease_expires_at=expires,
        )
        for lead, name in sorted(found.values(), key=lambda row: order[row[0].id])
    ]
    if leased:
        log.debug("leads.leased campaign=%s owner=%s count=%s", campaign_id, owner, len(leased))
    return leased


async def release_lead(
    db: Database, lead_id: int, owner: str, now: datetime, state: str = "ready", next_try_at: datetime | None = None,
    reason: str | None = None, *, skipped_by: int | None = None,
) -> bool:
    """Give back a lead leased and not dialled (outside its window now, on a DNC list, a preview skip).

    ``state`` ready (again at ``next_try_at``), dnc or failed. ``skipped_by``: the operator
    who skipped it in preview; the skip is kept as an attempt with outcome ``skipped`` and
    the reason. False if the lease is no longer ``owner``'s.
    """
    _check_owner(owner)
    check_now(now)
    if state not in ("ready", "dnc", "failed"):
        raise InvalidInput("a released lead becomes ready, dnc or failed")
    check_aware(next_try_at, "next_try_at")
    why = clean_text(reason, "reason", 300)
    async with db.transaction() as s:
        await db.write_lock(s)
        lead = await lock_lead(s, lead_id)
        if lead is None or lead.state != "leased" or lead.lease_owner != owner:
            return False
        lead.state = state
        lead.next_try_at = next_try_at if state == "ready" else None
        lead.lease_owner = None
        lead.lease_expires_at = None
        lead.updated_at = now
        if skipped_by is not None:
            lead.last_outcome = "skipped"
            s.add(Attempt(campaign_id=lead.campaign_id, lead_id=lead.id, action_id=f"skip-{lead.id}-{now.timestamp():.6f}",
                          phone_e164=lead.phone_e164, mode="preview", dialer_id=owner, agent_id=skipped_by,
                          started_at=now, ended_at=now, outcome="skipped", comment=why))
    log.info("leads.released lead=%s owner=%s state=%s reason=%s", lead_id, owner, state, why)
    return True


# --- attempts -------------------------------------------------------------------------------------


async def start_attempt(
    db: Database, lead_id: int, owner: str, action_id: str, mode: str, now: datetime, agent_id: int | None = None,
) -> int:
    """leased -> dialing, attempts + 1 and the attempt row, in ONE transaction; call it BEFORE the Originate.

    Raises LeaseLost if the lead is no longer leased by ``owner`` (do not dial), and
    LeadOnDnc (a LeaseLost) if its number is on a DNC list now: the lead becomes ``dnc``.
    Returns the attempt id.
    """
    _check_owner(owner)
    check_now(now)
    if not isinstance(action_id, str) or not _ACTION_ID.fullmatch(action_id):
        raise InvalidInput("action_id must be 1-64 printable ASCII characters")
    if mode not in CAMPAIGN_MODES:
        raise InvalidInput(f"mode must be one of {', '.join(CAMPAIGN_MODES)}")
    on_dnc = False
    try:
        async with db.transaction() as s:
            await db.write_lock(s)
            lead = await lock_lead(s, lead_id)
            if lead is None or lead.state != "leased" or lead.lease_owner != owner:
                raise LeaseLost(f"lead {lead_id} is not leased by {owner} (any more)")
            if agent_id is not None and (not fits_id(agent_id) or await s.get(User, agent_id) is None):
                raise InvalidInput(f"agent_id: no user {str(agent_id)[:20]}")
            if await s.scalar(select(Attempt.id).where(Attempt.action_id == action_id)) is not None:
                raise Conflict(f"action_id {action_id!r} was used by another attempt")
            if await dnc_service.is_dnc_in(s, lead.phone_e164, lead.campaign_id):
                on_dnc = True
                lead.state, lead.lease_owner, lead.lease_expires_at, lead.updated_at = "dnc", None, None, now
            else:
                attempt = Attempt(
                    campaign_id=lead.campaign_id, lead_id=lead.id, action_id=action_id, phone_e164=lead.phone_e164,
                    mode=mode, dialer_id=owner, agent_id=agent_id or lead.agent_id, started_at=now,
                )
                s.add(attempt)
                lead.state = "dialing"
                lead.attempts += 1
                lead.lease_expires_at = None
                lead.last_outcome = None
                lead.updated_at = now
                await s.flush()
                attempt_id = attempt.id
    except IntegrityError as exc:
        # The same action id taken at the same moment, or an agent that is no user.
        raise Conflict(f"attempt {action_id!r} conflicts with what is stored") from exc
    if on_dnc:
        log.info("leads.dnc_at_dial lead=%s owner=%s", lead_id, owner)
        raise LeadOnDnc(f"lead {lead_id}: the number is on a do-not-call list; not dialled")
    return attempt_id


def _disposition_state(d: Disposition, *, out_of_attempts: bool = False) -> str:
    if not d.final:
        return "failed" if out_of_attempts else "ready"
    if d.add_to_dnc:
        return "dnc"
    return "done" if d.success else "failed"


async def _newest_attempt_id(s: AsyncSession, lead_id: int) -> int | None:
    return await s.scalar(select(func.max(Attempt.id)).where(Attempt.lead_id == lead_id))


async def finish_attempt(
    db: Database,
    action_id: str,
    outcome: str,
    now: datetime,
    *,
    call_id: int | None = None,
    ring_seconds: float | None = None,
    talk_seconds: int | None = None,
    answered_at: datetime | None = None,
    next_try_at: datetime | None = None,
    lead_state: str | None = None,
    abandon_hold_until: datetime | None = None,
    agent_id: int | None = None,
) -> FinishedAttempt | None:
    """Record an attempt's real outcome and move its lead on; idempotent by ``action_id``.

    ``lead_state``/``next_try_at``/``abandon_hold_until`` are the retry rules' answer
    (dialer.retries.after_outcome); without ``lead_state`` an answered lead is done and any
    other is ready. A disposition the operator set during the call wins over them. A repeat
    changes nothing; a real outcome may replace ``lost`` (the lead moves only if nothing
    newer happened to it). None for an unknown action id.
    """
    check_now(now)
    if outcome not in ATTEMPT_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(ATTEMPT_OUTCOMES)}")
    if lead_state is not None and lead_state not in LEAD_END_STATES:
        raise InvalidInput(f"lead_state must be one of {', '.join(LEAD_END_STATES)}")
    for name, value in (("next_try_at", next_try_at), ("answered_at", answered_at), ("abandon_hold_until", abandon_hold_until)):
        check_aware(value, name)
    if not isinstance(action_id, str) or not _ACTION_ID.fullmatch(action_id):
        return None
    async with db.transaction() as s:
        await db.write_lock(s)
        attempt = (await s.execute(
            select(Attempt).where(Attempt.action_id == action_id).with_for_update()
        )).scalar_one_or_none()
        if attempt is None:
            return None
        lead = await lock_lead(s, attempt.lead_id)
        assert lead is not None
        if attempt.outcome is not None and attempt.outcome != "lost":
            return FinishedAttempt(attempt.id, lead.id, lead.campaign_id, attempt.outcome, lead.state, False)
        was_lost = attempt.outcome == "lost"
        attempt.outcome = outcome
        attempt.ended_at = now
        if call_id is not None and fits_id(call_id) and await s.get(Call, call_id) is not None:
            attempt.call_id = call_id
            if attempt.disposition_code is not None:  # wrapped up during the call
                await _note_on_the_call(s, attempt)
        attempt.ring_seconds = ring_seconds
        attempt.talk_seconds = talk_seconds
        attempt.answered_at = answered_at
        if agent_id is not None and fits_id(agent_id) and await s.get(User, agent_id) is not None:
            attempt.agent_id = agent_id
        newest = await _newest_attempt_id(s, lead.id) == attempt.id
        # A real outcome after "lost" moves the lead if nothing newer happened to it.
        moves = newest and (lead.state == "dialing" or (was_lost and lead.state in ("ready", "failed")
                                                        and lead.last_outcome == "lost"))
        if moves:
            lead.last_outcome = outcome
            lead.lease_owner = None
            lead.lease_expires_at = None
            lead.updated_at = now
            disposition = None
            if attempt.disposition_code is not None:
                disposition = (await s.execute(select(Disposition).where(
                    Disposition.campaign_id == lead.campaign_id, Disposition.code == attempt.disposition_code))).scalar_one_or_none()
            if disposition is not None:
                # Decided with the disposition: a retried code set next_try_at, unless the lead
                # had no dial left (then it ends failed, see _retry_after_disposition).
                retried = not disposition.final and lead.next_try_at is not None
                lead.state = "ready" if retried else _disposition_state(disposition, out_of_attempts=True)
            else:
                lead.state = lead_state or ("done" if outcome == "answered" else "ready")
                lead.next_try_at = next_try_at if lead.state == "ready" else None
            if outcome == "operator_missed":  # the client's phone never rang: no dial spent
                lead.attempts = max(0, lead.attempts - 1)
            if outcome == "answered" and lead.appeal_id is not None:
                await _appeal_status(s, lead.appeal_id, "in_work", ("new",))
        if abandon_hold_until is not None:
            # The number heard an abandon whatever the lead has done since: it rests all the same.
            held = lead.abandon_hold_until
            lead.abandon_hold_until = abandon_hold_until if held is None else max(held, abandon_hold_until)
        result = FinishedAttempt(attempt.id, lead.id, lead.campaign_id, outcome, lead.state, moves)
    log.info("leads.finished action=%s lead=%s outcome=%s state=%s applied=%s",
             action_id, result.lead_id, outcome, result.lead_state, result.applied)
    return result


async def claim_attempt(db: Database, action_id: str, agent_id: int) -> bool:
    """The operator a queue call reached, on its attempt while it is in progress; False if it has one or has ended."""
    if not isinstance(action_id, str) or not _ACTION_ID.fullmatch(action_id) or not fits_id(agent_id):
        return False
    async with db.transaction() as s:
        claimed = await s.execute(
            update(Attempt).where(Attempt.action_id == action_id, Attempt.agent_id.is_(None), Attempt.outcome.is_(None))
            .values(agent_id=agent_id).execution_options(synchronize_session=False))
    return claimed.rowcount == 1


async def _appeal_status(s: AsyncSession, appeal_id: int, status: str, from_statuses: tuple[str, ...]) -> None:
    await s.execute(update(Appeal).where(Appeal.id == appeal_id, Appeal.status.in_(from_statuses)).values(status=status)
                    .execution_options(synchronize_session=False))


async def recover_dialing(db: Database, owner: str | None, now: datetime, older_than_seconds: float) -> list[int]:
    """Attempts a dead dialer left open: outcome ``lost``, their leads rescheduled by the campaign's retry rules.

    ``owner`` None: every dialer's attempts older than ``older_than_seconds``. A lost dial
    counts like any other: ready again after ``lost_minutes`` (never redialled at once:
    the call may have reached the client), or failed if it was the lead's last. Returns the
    lead ids recovered.
    """
    check_now(now)
    if owner is not None:
        _check_owner(owner)
    if older_than_seconds < 0:
        raise InvalidInput("older_than_seconds must not be negative")
    cutoff = now - timedelta(seconds=older_than_seconds)
    rules: dict[int, RetryRules] = {}
    recovered: list[int] = []
    async with db.transaction() as s:
        await db.write_lock(s)
        stmt = select(Attempt).where(Attempt.outcome.is_(None), Attempt.started_at <= cutoff)
        if owner is not None:
            stmt = stmt.where(Attempt.dialer_id == owner)
        if db.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        for attempt in (await s.execute(stmt.order_by(Attempt.id))).scalars():
            attempt.outcome = "lost"
            attempt.ended_at = now
            lead = await lock_lead(s, attempt.lead_id)
            if lead is None or lead.state != "dialing" or await _newest_attempt_id(s, lead.id) != attempt.id:
                continue
            if lead.campaign_id not in rules:
                campaign = await s.get(Campaign, lead.campaign_id)
                rules[lead.campaign_id] = _rules(campaign) if campaign is not None else RetryRules()
            lead.next_try_at = rules[lead.campaign_id].retry_at(lead.attempts, rules[lead.campaign_id].lost_minutes, now)
            lead.state = "ready" if lead.next_try_at is not None else "failed"
            lead.last_outcome = "lost"
            lead.lease_owner = None
            lead.lease_expires_at = None
            lead.updated_at = now
            recovered.append(lead.id)
    if recovered:
        log.warning("leads.recovered owner=%s leads=%s", owner, recovered)
    return recovered


# --- the operator's wrap-up -----------------------------------------------------------------------


async def set_disposition(
    db: Database, actor: Actor, campaign_id: int, lead_id: int, code: str, comment: str | None = None,
    callback_at: datetime | None = None, *, now: datetime | None = None,
) -> LeadView:
    """The operator's wrap-up: final (done / failed / dnc) or retried (at ``callback_at`` or after the code's delay).

    An operator must be the campaign's agent and the call theirs; a callback time pins the
    lead to them (a personal callback). An ``add_to_dnc`` code puts the number on the
    campaign's DNC list. Set during the call, the lead moves when the call ends.
    """
    moment = check_aware(now, "now") or utcnow()
    check_aware(callback_at, "callback_at")
    note = clean_text(comment, "comment", 2000)
    if not isinstance(code, str) or not code:
        raise InvalidInput("code is required")
    async with db.transaction() as s:
        await db.write_lock(s)
        campaign = await load_campaign(s, actor, campaign_id)
        lead = await lock_lead(s, lead_id)
        if lead is None or lead.campaign_id != campaign.id:
            raise LeadNotFound(f"no lead {lead_id} in campaign {campaign.id}")
        disposition = (await s.execute(select(Disposition).where(
            Disposition.campaign_id == campaign.id, Disposition.code == code, ~Disposition.retired))).scalar_one_or_none()
        if disposition is None:
            known = (await s.execute(select(Disposition.code).where(Disposition.campaign_id == campaign.id, ~Disposition.retired)
                                     .order_by(Disposition.position, Disposition.id))).scalars()
            raise UnknownDisposition(f"code {code[:40]!r} is not a disposition of this campaign: {', '.join(known)}")
        if callback_at is not None:
            if disposition.final:
                raise InvalidInput(f"callback_at: {disposition.name!r} is final; a callback needs a disposition that is retried")
            if not moment < callback_at <= moment + MAX_CALLBACK_AHEAD:
                raise InvalidInput("callback_at must be in the future, at most 90 days ahead")
        attempt = (await s.execute(
            select(Attempt).where(Attempt.lead_id == lead.id).order_by(Attempt.id.desc()).limit(1).with_for_update()
        )).scalar_one_or_none()
        operator = actor.role in (Role.operator, Role.manager)
        if operator and not _may_wrap_up(attempt, actor):
            raise Forbidden("only the operator who took the call sets its disposition")
        if attempt is not None:
            attempt.disposition_code = disposition.code
            attempt.comment = note if note is not None else attempt.comment
            if attempt.agent_id is None and operator:
                attempt.agent_id = actor.user_id
            await _note_on_the_call(s, attempt, disposition)
        lead.disposition_code = disposition.code
        lead.updated_at = moment
        target = _disposition_state(disposition)
        if target == "ready":
            lead.next_try_at = callback_at or _retry_after_disposition(disposition, campaign, lead.attempts, moment)
            if lead.next_try_at is None:
                target = _disposition_state(disposition, out_of_attempts=True)
            if callback_at is not None and operator:
                lead.agent_id = actor.user_id
                lead.priority = max(lead.priority, CALLBACK_PRIORITY)
        else:
            lead.next_try_at = None
        if disposition.add_to_dnc:
            # The client asked the company, not one campaign, to stop calling (the FTC's entity-specific
            # list, 38-FZ art. 18): the global list, as a script's "do not call" outcome does.
            await dnc_service.add_in(s, actor.user_id, lead.phone_e164, None,
                                     f"Диспозиция «{disposition.name}» (кампания «{campaign.name}»)"[:300],
                                     "disposition", moment)
        in_call = lead.state == "dialing" and attempt is not None and attempt.outcome is None
        if not in_call:
            # Leased by a dialer that has not dialled yet: its start_attempt now finds the lease lost.
            lead.state = target
            lead.lease_owner = None
            lead.lease_expires_at = None
        if lead.appeal_id is not None and disposition.final:
            await _appeal_status(s, lead.appeal_id, "done" if disposition.success else "lost", ("new", "in_work"))
        await s.flush()
        name = await s.scalar(select(Client.name).where(Client.id == lead.client_id))
        view = lead_view(lead, name or "")
    log.info("leads.disposition lead=%s code=%s state=%s by=%s", lead_id, code, view.state, actor.login)
    return view


async def _note_on_the_call(s: AsyncSession, attempt: Attempt, disposition: Disposition | None = None) -> None:
    """The wrap-up on the call's line of the client's history, where sales people read how the call went."""
    if attempt.call_id is None or attempt.disposition_code is None:
        return  # the call is not recorded yet: finish_attempt writes it when it is
    if disposition is None:
        disposition = (await s.execute(select(Disposition).where(
            Disposition.campaign_id == attempt.campaign_id, Disposition.code == attempt.disposition_code))).scalar_one_or_none()
    name = disposition.name if disposition is not None else attempt.disposition_code
    body = f"Итог: «{name}»" + (f". {attempt.comment}" if attempt.comment else "")
    await s.execute(update(Interaction).where(Interaction.call_id == attempt.call_id).values(body=body)
                    .execution_options(synchronize_session=False))


def _may_wrap_up(attempt: Attempt | None, actor: Actor) -> bool:
    """Whether an operator may set the disposition of the lead whose latest dial is ``attempt``.

    Their own call; or one whose operator is not known yet: in progress (a queue call is
    given its agent when it ends) or answered. A dial nobody answered was nobody's call.
    """
    if attempt is None:
        return False
    if attempt.agent_id is not None:
        return attempt.agent_id == actor.user_id
    return attempt.outcome is None or attempt.outcome == "answered"


def _retry_after_disposition(disposition: Disposition, campaign: Campaign, attempts: int, now: datetime) -> datetime | None:
    """When a retried code brings the lead back under the campaign's retry rules; None if it has no dial left.

    The same count as an outcome's (RetryRules.retry_at). A callback time the client agreed
    to is not counted against it: the caller passes that instead.
    """
    return _rules(campaign).retry_at(attempts, disposition.retry_minutes or 60, now)


def _rules(campaign: Campaign) -> RetryRules:
    try:
        return RetryRules.from_json(campaign.retry_rules or None)
    except InvalidInput:  # checked when stored; never lose a wrap-up or a recovery over it
        return RetryRules()


async def lead_zones(db: Database, campaign_id: int) -> set[str | None]:
    """The zones of the campaign's leads still to dial: what the calling window is asked about."""
    async with db.reading() as s:
        rows = await s.execute(select(Lead.timezone).where(
            Lead.campaign_id == campaign_id, Lead.state.in_(("ready", "leased"))).distinct())
        return set(rows.scalars())
