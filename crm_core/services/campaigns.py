"""Telemarketing campaigns (телемаркетинг): create, change, agents, lists of leads, launch/pause/resume/stop.

Rights: a supervisor creates, changes and runs the campaigns of their team, an admin any;
an operator sees the campaigns they are assigned to (``campaign_scope``), nothing else.
A campaign the actor may not see is "not found"; one they see but may not manage, a 403.

The state machine: draft -> running (launch) <-> paused (pause / resume) -> stopped (stop);
a stopped campaign may be launched again. Launch pins ``script_id`` to the newest version
of ``script_code`` and refuses a campaign with no leads to dial or no agents. Pausing and
stopping hand back leads leased and not yet dialled, so no dialer can dial them after.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.campaign_settings import (
    DEFAULT_DISPOSITIONS,
    CallingHours,
    DispositionSpec,
    PacingLimits,
    RetryRules,
    check_dispositions,
    clean_sound_name,
)
from crm_core.db import Database
from crm_core.errors import (
    CampaignNotFound,
    CampaignNotReady,
    CampaignStateConflict,
    Forbidden,
    InvalidInput,
    UserNotFound,
)
from crm_core.import_drafts import Draft
from crm_core.importer import Reassigned, check_may_import, import_clients
from crm_core.models import (
    CAMPAIGN_MODES,
    LEAD_STATES,
    Attempt,
    CallScript,
    Campaign,
    CampaignAgent,
    CampaignList,
    Client,
    Disposition,
    DncNumber,
    Lead,
    Phone,
    Role,
    Team,
    User,
    utcnow,
)
from crm_core.regions import client_timezone
from crm_core.rights import Actor
from crm_core.services.clients import (
    ClientFilters,
    PageResult,
    check_aware,
    clean_text,
    client_ids_visible,
    filtered_clients,
    fits_id,
)

log = logging.getLogger(__name__)

MAX_AGENTS = 500
LOAD_CHUNK = 1000
_QUEUE = re.compile(r"^[A-Za-z0-9_\-]{1,80}$")
_CALLER_ID = re.compile(r'^[\w "<>+\-().]{1,80}$')  # a space, not \s: CR/LF would inject AMI headers
_SCRIPT_CODE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
AGENT_ROLES = (Role.operator, Role.manager, Role.supervisor)


# --- what the services return -------------------------------------------------------------------


@dataclass(frozen=True)
class DispositionView:
    code: str
    name: str
    final: bool
    success: bool
    retry_minutes: int | None
    add_to_dnc: bool


@dataclass(frozen=True)
class CampaignView:
    """A campaign with its agents, dispositions and its leads counted by state."""

    id: int
    name: str
    team_id: int | None
    state: str
    mode: str
    queue: str
    caller_id: str | None
    abandon_message: str | None
    script_code: str | None
    script_id: int | None
    hours: dict[str, Any]
    retry_rules: dict[str, Any]
    pacing: dict[str, Any]
    hot_appeals: bool
    created_by_id: int | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    agents: list[int]
    dispositions: list[DispositionView]
    lead_counts: dict[str, int]
    # Set by launch/pause/resume/stop: the state the campaign was in before.
    previous_state: str | None = None

    @property
    def leads_total(self) -> int:
        return sum(self.lead_counts.values())

    @property
    def calling_hours(self) -> CallingHours:
        return CallingHours.from_json(self.hours)

    @property
    def rules(self) -> RetryRules:
        return RetryRules.from_json(self.retry_rules)

    @property
    def limits(self) -> PacingLimits:
        return PacingLimits.from_json(self.pacing)


@dataclass(frozen=True)
class CampaignInput:
    """A new campaign; settings not given get their defaults, dispositions the default set."""

    name: str
    queue: str = "campaign"
    mode: str = "progressive"
    team_id: int | None = None
    caller_id: str | None = None
    abandon_message: str | None = None
    script_code: str | None = None
    hours: Mapping[str, Any] | None = None
    retry_rules: Mapping[str, Any] | None = None
    pacing: Mapping[str, Any] | None = None
    hot_appeals: bool = False
    dispositions: Sequence[DispositionSpec] | None = None


@dataclass(frozen=True)
class RejectedLine:
    line: int
    reason: str


@dataclass(frozen=True)
class ListReport:
    """What loading a list did: leads added, rows skipped (and why), clients the import made or merged."""

    list_id: int
    name: str
    kind: str
    leads_added: int
    leads_skipped: int
    rejected: list[RejectedLine] = field(default_factory=list)
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    clients_inserted: int = 0
    clients_updated: int = 0
    reassigned: list[Reassigned] = field(default_factory=list)  # the file's new clients given to another user
    sheet: str | None = None  # the XLSX sheet the list was read from (the first with a header)


# --- rights -------------------------------------------------------------------------------------


def campaign_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Campaign``: admins all, supervisors their team's, others those they are agents of."""
    if actor.is_admin:
        return true()
    if actor.is_supervisor:
        if actor.team_id is not None:
            return Campaign.team_id == actor.team_id
        return and_(Campaign.team_id.is_(None), Campaign.created_by_id == actor.user_id)
    assigned = select(CampaignAgent.campaign_id).where(CampaignAgent.user_id == actor.user_id)
    return Campaign.id.in_(assigned)


def may_manage(actor: Actor, campaign: Campaign) -> bool:
    """Admins, and supervisors of the campaign's team, change and run it."""
    if actor.is_admin:
        return True
    if not actor.is_supervisor:
        return False
    if actor.team_id is None:
        return campaign.team_id is None and campaign.created_by_id == actor.user_id
    return campaign.team_id == actor.team_id


async def load_campaign(
    s: AsyncSession, actor: Actor | None, campaign_id: int, *, manage: bool = False, lock: bool = False
) -> Campaign:
    """The campaign if ``actor`` may see it (None: the system), else CampaignNotFound; Forbidden to manage."""
    if not fits_id(campaign_id):
        raise CampaignNotFound()
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if actor is not None:
        stmt = stmt.where(campaign_scope(actor))
    if lock:
        # NO KEY: an attempt being inserted for this campaign takes a key-share lock on the
        # row (its foreign key); a plain FOR UPDATE here deadlocked pause/stop against it.
        stmt = stmt.with_for_update(key_share=True)  # renders FOR NO KEY UPDATE
    campaign = (await s.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if campaign is None:
        raise CampaignNotFound()
    if manage and actor is not None and not may_manage(actor, campaign):
        raise Forbidden("only a supervisor of the campaign's team or an admin may change or run it")
    return campaign


def require_campaign_role(actor: Actor) -> None:
    if actor.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only supervisors and admins create and run campaigns")


def dnc_listed(phone: Any, campaign_id: Any) -> ColumnElement[bool]:
    """True where ``phone`` is on the global DNC list or the campaign's (columns or values)."""
    return exists().where(
        DncNumber.phone_e164 == phone,
        or_(DncNumber.campaign_id.is_(None), DncNumber.campaign_id == campaign_id),
    )


# --- reading ------------------------------------------------------------------------------------


async def _views(s: AsyncSession, campaigns: Sequence[Campaign]) -> list[CampaignView]:
    ids = [c.id for c in campaigns]
    if not ids:
        return []
    agents: dict[int, list[int]] = {i: [] for i in ids}
    for cid, uid in await s.execute(
        select(CampaignAgent.campaign_id, CampaignAgent.user_id).where(CampaignAgent.campaign_id.in_(ids))
        .order_by(CampaignAgent.user_id)
    ):
        agents[cid].append(uid)
    dispositions: dict[int, list[DispositionView]] = {i: [] for i in ids}
    for d in (await s.execute(select(Disposition).where(Disposition.campaign_id.in_(ids), ~Disposition.retired)
                              .order_by(Disposition.position, Disposition.id))).scalars():
        dispositions[d.campaign_id].append(
            DispositionView(d.code, d.name, d.final, d.success, d.retry_minutes, d.add_to_dnc))
    counts: dict[int, dict[str, int]] = {i: dict.fromkeys(LEAD_STATES, 0) for i in ids}
    for cid, state, n in await s.execute(
        select(Lead.campaign_id, Lead.state, func.count()).where(Lead.campaign_id.in_(ids)).group_by(Lead.campaign_id, Lead.state)
    ):
        counts[cid][state] = int(n)
    return [
        CampaignView(
            id=c.id, name=c.name, team_id=c.team_id, state=c.state, mode=c.mode, queue=c.queue, caller_id=c.caller_id,
            abandon_message=c.abandon_message, script_code=c.script_code, script_id=c.script_id,
            hours=dict(c.hours or {}),
            retry_rules=dict(c.retry_rules or {}), pacing=dict(c.pacing or {}), hot_appeals=c.hot_appeals,
            created_by_id=c.created_by_id, created_at=c.created_at, updated_at=c.updated_at, started_at=c.started_at,
            stopped_at=c.stopped_at, agents=agents[c.id], dispositions=dispositions[c.id], lead_counts=counts[c.id],
        )
        for c in campaigns
    ]


async def view_of(s: AsyncSession, campaign: Campaign) -> CampaignView:
    return (await _views(s, [campaign]))[0]


async def get_campaign(db: Database, actor: Actor, campaign_id: int) -> CampaignView:
    """The campaign with its agents, dispositions and lead counts (operators: only one they are in)."""
    async with db.reading() as s:
        return await view_of(s, await load_campaign(s, actor, campaign_id))


async def campaign_by_id(db: Database, campaign_id: int) -> CampaignView:
    """The campaign for the system (the dialer): no rights check."""
    async with db.reading() as s:
        return await view_of(s, await load_campaign(s, None, campaign_id))


async def list_campaigns(db: Database, actor: Actor, *, state: str | None = None) -> list[CampaignView]:
    """The campaigns ``actor`` may see, newest first (operators: those they are assigned to)."""
    if state is not None and state not in ("draft", "running", "paused", "stopped"):
        raise InvalidInput("state must be one of draft, running, paused, stopped")
    stmt = select(Campaign).where(campaign_scope(actor)).order_by(Campaign.id.desc())
    if state is not None:
        stmt = stmt.where(Campaign.state == state)
    async with db.reading() as s:
        return await _views(s, list((await s.execute(stmt)).scalars()))


async def running_campaigns(db: Database) -> list[CampaignView]:
    """Every running campaign, oldest first: what the dialer runs (a system path, no actor)."""
    async with db.reading() as s:
        rows = (await s.execute(select(Campaign).where(Campaign.state == "running").order_by(Campaign.id))).scalars()
        return await _views(s, list(rows))


# --- create and change --------------------------------------------------------------------------


def _clean_queue(value: Any) -> str:
    if not isinstance(value, str) or not _QUEUE.fullmatch(value):
        raise InvalidInput("queue must be an Asterisk queue name: 1-80 letters, digits, _ or -")
    return value


def _clean_caller_id(value: Any) -> str | None:
    text = clean_text(value, "caller_id", 80)
    if text is not None and not _CALLER_ID.fullmatch(text):
        raise InvalidInput('caller_id must be a number or "Name" <number> (letters, digits, spaces, + - ( ) < > ")')
    return text


def _clean_mode(value: Any) -> str:
    if value not in CAMPAIGN_MODES:
        raise InvalidInput(f"mode must be one of {', '.join(CAMPAIGN_MODES)}")
    return value


async def _clean_script_code(s: AsyncSession, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SCRIPT_CODE.fullmatch(value):
        raise InvalidInput("script_code must be a script code (a-z, 0-9, _ and -)")
    if await s.scalar(select(CallScript.id).where(CallScript.code == value).limit(1)) is None:
        raise InvalidInput(f"script_code: no published script {value!r} (publish it first)")
    return value


def _team_for(actor: Actor, team_id: int | None) -> int | None:
    if actor.is_admin:
        return team_id
    if team_id is not None and team_id != actor.team_id:
        raise Forbidden("a supervisor creates campaigns for their own team only")
    return actor.team_id


async def create_campaign(db: Database, actor: Actor, data: CampaignInput | Mapping[str, Any]) -> CampaignView:
    """Create a campaign in ``draft`` with the default dispositions (or those given); supervisors and admins."""
    require_campaign_role(actor)
    if isinstance(data, Mapping):
        unknown = set(data) - set(CampaignInput.__dataclass_fields__)
        if unknown:
            raise InvalidInput(f"unknown campaign field(s): {', '.join(sorted(unknown))}")
        data = CampaignInput(**data)
    name = clean_text(data.name, "name", 200, required=True)
    hours = CallingHours.from_json(data.hours).to_json()
    rules = RetryRules.from_json(data.retry_rules).to_json()
    pacing = PacingLimits.from_json(data.pacing).to_json()
    if data.dispositions is not None and not isinstance(data.dispositions, list | tuple):
        raise InvalidInput("dispositions must be a list of {code, name, final, ...}")
    specs = check_dispositions(
        [_spec(d) for d in data.dispositions] if data.dispositions is not None else list(DEFAULT_DISPOSITIONS))
    if not isinstance(data.hot_appeals, bool):
        raise InvalidInput("hot_appeals must be true or false")
    async with db.transaction() as s:
        team_id = _team_for(actor, data.team_id)
        if team_id is not None and (not fits_id(team_id) or await s.get(Team, team_id) is None):
            raise InvalidInput(f"team_id: no team {str(team_id)[:20]}")
        campaign = Campaign(
            name=name, team_id=team_id, created_by_id=actor.user_id, state="draft", mode=_clean_mode(data.mode),
            queue=_clean_queue(data.queue), caller_id=_clean_caller_id(data.caller_id),
            abandon_message=clean_sound_name(data.abandon_message, "abandon_message"),
            script_code=await _clean_script_code(s, data.script_code), hours=hours, retry_rules=rules, pacing=pacing,
            hot_appeals=data.hot_appeals,
        )
        s.add(campaign)
        await s.flush()
        _add_dispositions(s, campaign.id, specs)
        await s.flush()
        view = await view_of(s, campaign)
    log.info("campaign.created id=%s team=%s mode=%s by=%s", view.id, view.team_id, view.mode, actor.login)
    return view


def _add_dispositions(s: AsyncSession, campaign_id: int, specs: Iterable[DispositionSpec]) -> None:
    for position, d in enumerate(specs):
        s.add(Disposition(campaign_id=campaign_id, code=d.code, name=d.name, final=d.final, success=d.success,
                          retry_minutes=d.retry_minutes, add_to_dnc=d.add_to_dnc, position=position))


async def _replace_dispositions(s: AsyncSession, campaign_id: int, specs: Sequence[DispositionSpec]) -> None:
    """The campaign's set becomes ``specs``, in their order; codes left out are retired, not deleted.

    A code set during a call still in progress is read when the call ends, and the export
    names every code ever used: both must still find it.
    """
    old = {d.code: d for d in (await s.execute(select(Disposition).where(Disposition.campaign_id == campaign_id))).scalars()}
    for position, spec in enumerate(specs):
        row = old.pop(spec.code, None)
        if row is None:
            row = Disposition(campaign_id=campaign_id, code=spec.code)
            s.add(row)
        row.name, row.final, row.success = spec.name, spec.final, spec.success
        row.retry_minutes, row.add_to_dnc, row.position, row.retired = spec.retry_minutes, spec.add_to_dnc, position, False
    for row in old.values():
        row.retired = True


def _laid_over(stored: Mapping[str, Any] | None, patch: Any) -> Any:
    """A settings object of a PATCH over the stored one (JSON merge patch, RFC 7396, one level deep).

    Sending one field must not put the others back to their defaults: a campaign's abandon
    cap or its holidays would be lost to a change of its lines or of its closing time.
    """
    if not isinstance(patch, Mapping):
        return patch  # null resets the object; anything else is refused by its from_json
    merged = {**(stored or {}), **patch}
    return {key: value for key, value in merged.items() if value is not None}


_UPDATABLE = {"name", "mode", "queue", "caller_id", "abandon_message", "script_code", "hours", "retry_rules", "pacing",
              "hot_appeals", "dispositions"}
# What only a campaign that is not running may change (the dialer reads them as it starts).
_NOT_WHILE_RUNNING = {"mode", "queue", "script_code"}


async def update_campaign(db: Database, actor: Actor, campaign_id: int, changes: Mapping[str, Any]) -> CampaignView:
    """Change the given fields (PATCH); mode, queue and script only while the campaign does not run.

    ``hours``, ``retry_rules`` and ``pacing`` are patched field by field (``_laid_over``: a
    field sent as null goes back to its default, the whole object sent as null resets it);
    ``dispositions`` replaces the set.
    """
    require_campaign_role(actor)
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    async with db.transaction() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True, lock=True)
        blocked = sorted(set(changes) & _NOT_WHILE_RUNNING)
        if blocked and campaign.state == "running":
            raise CampaignStateConflict(f"pause or stop the campaign to change {', '.join(blocked)}")
        for name, value in changes.items():
            if name == "name":
                campaign.name = clean_text(value, "name", 200, required=True)  # type: ignore[assignment]
            elif name == "mode":
                campaign.mode = _clean_mode(value)
            elif name == "queue":
                campaign.queue = _clean_queue(value)
            elif name == "caller_id":
                campaign.caller_id = _clean_caller_id(value)
            elif name == "abandon_message":
                campaign.abandon_message = clean_sound_name(value, "abandon_message")
            elif name == "script_code":
                campaign.script_code = await _clean_script_code(s, value)
            elif name == "hours":
                campaign.hours = CallingHours.from_json(_laid_over(campaign.hours, value)).to_json()
            elif name == "retry_rules":
                campaign.retry_rules = RetryRules.from_json(_laid_over(campaign.retry_rules, value)).to_json()
            elif name == "pacing":
                campaign.pacing = PacingLimits.from_json(_laid_over(campaign.pacing, value)).to_json()
            elif name == "hot_appeals":
                if not isinstance(value, bool):
                    raise InvalidInput("hot_appeals must be true or false")
                campaign.hot_appeals = value
            elif name == "dispositions":
                if not isinstance(value, list | tuple):
                    raise InvalidInput("dispositions must be a list of {code, name, final, ...}")
                await _replace_dispositions(s, campaign.id, check_dispositions([_spec(item) for item in value]))
        campaign.updated_at = utcnow()
        await s.flush()
        view = await view_of(s, campaign)
    log.info("campaign.updated id=%s by=%s fields=%s", campaign_id, actor.login, ",".join(sorted(changes)))
    return view


def _spec(item: Any) -> DispositionSpec:
    if isinstance(item, DispositionSpec):
        return item
    if isinstance(item, Mapping):
        unknown = set(item) - set(DispositionSpec.__dataclass_fields__)
        if unknown or "code" not in item or "name" not in item:
            raise InvalidInput("dispositions: each is {code, name, final, success, retry_minutes, add_to_dnc}")
        return DispositionSpec(**item)
    raise InvalidInput("dispositions: each is {code, name, final, success, retry_minutes, add_to_dnc}")


async def update_pacing(db: Database, actor: Actor, campaign_id: int, patch: Mapping[str, Any]) -> CampaignView:
    """Change pacing limits live, field by field (abandon_cap <= 0.03, lines_per_agent 1-3, ...)."""
    require_campaign_role(actor)
    async with db.transaction() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True, lock=True)
        current = PacingLimits.from_json(campaign.pacing)
        campaign.pacing = PacingLimits.from_json(patch, base=current).to_json()
        campaign.updated_at = utcnow()
        await s.flush()
        view = await view_of(s, campaign)
    log.info("campaign.pacing id=%s by=%s pacing=%s", campaign_id, actor.login, view.pacing)
    return view


async def set_agents(db: Database, actor: Actor, campaign_id: int, user_ids: Sequence[int]) -> CampaignView:
    """Make exactly these users the campaign's agents (active operators, managers or supervisors of its team)."""
    require_campaign_role(actor)
    wanted = list(dict.fromkeys(user_ids))
    if len(wanted) > MAX_AGENTS:
        raise InvalidInput(f"at most {MAX_AGENTS} agents")
    async with db.transaction() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True, lock=True)
        valid = [u for u in wanted if fits_id(u)]
        users = {u.id: u for u in (await s.execute(select(User).where(User.id.in_(valid)))).scalars()} if valid else {}
        missing = [u for u in wanted if u not in users]
        if missing:
            raise UserNotFound(f"no user with id {', '.join(map(str, missing[:20]))}")
        for user in users.values():
            if not user.is_active:
                raise InvalidInput(f"user {user.login} is not active")
            if user.role not in AGENT_ROLES:
                raise InvalidInput(f"user {user.login} ({user.role.value}) cannot take calls")
            if campaign.team_id is not None and user.team_id != campaign.team_id:
                raise InvalidInput(f"user {user.login} is not in the campaign's team")
        current = set((await s.execute(
            select(CampaignAgent.user_id).where(CampaignAgent.campaign_id == campaign.id))).scalars())
        for gone in current - set(wanted):
            await s.delete(await s.get(CampaignAgent, (campaign.id, gone)))
        for new in [u for u in wanted if u not in current]:
            s.add(CampaignAgent(campaign_id=campaign.id, user_id=new))
        campaign.updated_at = utcnow()
        await s.flush()
        view = await view_of(s, campaign)
    log.info("campaign.agents id=%s by=%s agents=%s", campaign_id, actor.login, view.agents)
    return view


# --- the state machine --------------------------------------------------------------------------

_DIALABLE = ("ready", "leased", "dialing")


async def _release_leases(s: AsyncSession, campaign_id: int, now: datetime) -> int:
    """Leased, not yet dialled leads go back to ready: a dialer's start_attempt then finds its lease lost."""
    result = await s.execute(
        update(Lead).where(Lead.campaign_id == campaign_id, Lead.state == "leased")
        .values(state="ready", lease_owner=None, lease_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _transition(
    db: Database, actor: Actor, campaign_id: int, allowed_from: tuple[str, ...], to: str, verb: str,
    now: datetime | None,
) -> CampaignView:
    require_campaign_role(actor)
    moment = check_aware(now, "now") or utcnow()
    async with db.transaction() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True, lock=True)
        previous = campaign.state
        if campaign.state not in allowed_from:
            raise CampaignStateConflict(
                f"campaign {campaign.id} is {campaign.state}: only a {' or '.join(allowed_from)} campaign can be {verb}")
        if to == "running":
            await _check_ready(s, campaign, pin_script=campaign.state in ("draft", "stopped"))
            if campaign.started_at is None or campaign.state == "stopped":
                campaign.started_at = moment
            campaign.stopped_at = None
        else:
            await _release_leases(s, campaign.id, moment)
            if to == "stopped":
                campaign.stopped_at = moment
        campaign.state = to
        campaign.updated_at = moment
        await s.flush()
        view = replace(await view_of(s, campaign), previous_state=previous)
    log.info("campaign.%s id=%s by=%s script=%s", verb, campaign_id, actor.login, view.script_id)
    return view


async def _check_ready(s: AsyncSession, campaign: Campaign, *, pin_script: bool) -> None:
    problems = []
    dialable = await s.scalar(
        select(func.count()).select_from(Lead).where(Lead.campaign_id == campaign.id, Lead.state.in_(_DIALABLE)))
    if not dialable:
        problems.append("it has no leads to dial (add a list)")
    agents = await s.scalar(
        select(func.count()).select_from(CampaignAgent).join(User, User.id == CampaignAgent.user_id)
        .where(CampaignAgent.campaign_id == campaign.id, User.is_active.is_(True)))
    if not agents:
        problems.append("it has no agents (assign operators)")
    if pin_script and campaign.script_code is not None:
        newest = await s.scalar(
            select(CallScript.id).where(CallScript.code == campaign.script_code).order_by(CallScript.version.desc()).limit(1))
        if newest is None:
            problems.append(f"its script {campaign.script_code!r} is not published")
        else:
            campaign.script_id = newest
    elif pin_script:
        campaign.script_id = None
    if problems:
        raise CampaignNotReady(f"campaign {campaign.id} cannot run: {'; '.join(problems)}")


async def launch(db: Database, actor: Actor, campaign_id: int, *, now: datetime | None = None) -> CampaignView:
    """draft or stopped -> running; pins the newest script version; needs leads and agents."""
    return await _transition(db, actor, campaign_id, ("draft", "stopped"), "running", "launched", now)


async def pause(db: Database, actor: Actor, campaign_id: int, *, now: datetime | None = None) -> CampaignView:
    """running -> paused; leads leased and not dialled go back to ready."""
    return await _transition(db, actor, campaign_id, ("running",), "paused", "paused", now)


async def resume(db: Database, actor: Actor, campaign_id: int, *, now: datetime | None = None) -> CampaignView:
    """paused -> running, with the script version pinned at launch."""
    return await _transition(db, actor, campaign_id, ("paused",), "running", "resumed", now)


async def stop(db: Database, actor: Actor, campaign_id: int, *, now: datetime | None = None) -> CampaignView:
    """running or paused -> stopped; leads leased and not dialled go back to ready."""
    return await _transition(db, actor, campaign_id, ("running", "paused"), "stopped", "stopped", now)


# --- lists of leads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A number to make a lead of: its client, the file line it came from (0 for a filter)."""

    client_id: int
    phone: str
    zone: str | None
    line: int = 0


async def _first_phones(s: AsyncSession, client_ids: Sequence[int]) -> dict[int, str]:
    """Each client's number to call: its own first number, else its first contact's."""
    out: dict[int, str] = {}
    if not client_ids:
        return out
    rows = await s.execute(
        select(Phone.client_id, Phone.e164).where(Phone.client_id.in_(client_ids))
        .order_by(Phone.client_id, Phone.contact_id.is_not(None), Phone.id)
    )
    for client_id, e164 in rows:
        out.setdefault(client_id, e164)
    return out


async def _insert_leads(
    s: AsyncSession, db: Database, campaign_id: int, list_id: int, candidates: Sequence[_Candidate], now: datetime,
    report: dict[str, int], rejected: list[RejectedLine],
) -> int:
    """Insert the candidates as ready leads; a number on a DNC list or already in the campaign is skipped."""
    if not candidates:
        return 0
    phones = list({c.phone for c in candidates})
    taken = set((await s.execute(
        select(Lead.phone_e164).where(Lead.campaign_id == campaign_id, Lead.phone_e164.in_(phones)))).scalars())
    barred = set((await s.execute(
        select(DncNumber.phone_e164).where(
            DncNumber.phone_e164.in_(phones), or_(DncNumber.campaign_id.is_(None), DncNumber.campaign_id == campaign_id))
    )).scalars())
    rows = []
    for c in candidates:
        reason = None
        if c.phone in barred:
            reason = "the number is on the do-not-call list"
        elif c.phone in taken:
            reason = "the number is already in the campaign"
        if reason is not None:
            report[reason] = report.get(reason, 0) + 1
            if c.line:
                rejected.append(RejectedLine(c.line, f"{c.phone}: {reason}"))
            continue
        taken.add(c.phone)
        rows.append(dict(campaign_id=campaign_id, list_id=list_id, client_id=c.client_id, phone_e164=c.phone,
                         timezone=c.zone, state="ready", priority=0, attempts=0, created_at=now, updated_at=now))
    if not rows:
        return 0
    insert = pg_insert if db.is_postgres else sqlite_insert
    # Another list loading into the same campaign at the same moment may take a number first.
    stmt = insert(Lead).on_conflict_do_nothing(index_elements=["campaign_id", "phone_e164"]).returning(Lead.id)
    added = len((await s.execute(stmt, rows)).all())
    if added < len(rows):
        reason = "the number is already in the campaign"
        report[reason] = report.get(reason, 0) + len(rows) - added
    return added


async def _new_list(s: AsyncSession, actor: Actor, campaign_id: int, kind: str, name: Any, definition: dict) -> CampaignList:
    title = clean_text(name, "name", 300, required=True)
    row = CampaignList(campaign_id=campaign_id, kind=kind, name=title, definition=definition, created_by_id=actor.user_id)
    s.add(row)
    await s.flush()
    return row


def _filters_of(data: ClientFilters | Mapping[str, Any] | None) -> tuple[ClientFilters, str | None, dict[str, Any]]:
    """The client filter, the search text, and the filter as JSON to keep with the list."""
    if data is None:
        return ClientFilters(), None, {}
    if isinstance(data, ClientFilters):
        values = {k: getattr(data, k) for k in ClientFilters.__dataclass_fields__}
        query = None
    else:
        allowed = set(ClientFilters.__dataclass_fields__) | {"q"}
        unknown = set(data) - allowed
        if unknown:
            raise InvalidInput(f"filter: unknown field(s) {', '.join(sorted(map(str, unknown)))}; known: {', '.join(sorted(allowed))}")
        values = {k: v for k, v in data.items() if k != "q"}
        query = data.get("q")
    filters = ClientFilters(**values)
    shown = {k: (v.isoformat() if isinstance(v, datetime) else getattr(v, "value", v)) for k, v in values.items() if v is not None}
    if query:
        shown["q"] = query
    return filters, query, shown


async def add_list_from_filter(
    db: Database, actor: Actor, campaign_id: int, name: str, filter: ClientFilters | Mapping[str, Any] | None,
    *, default_region: str = "RU", now: datetime | None = None,
) -> ListReport:
    """Make a lead of every client the actor sees that matches the client filter (its first number)."""
    require_campaign_role(actor)
    filters, query, shown = _filters_of(filter)
    stmt = filtered_clients(actor, filters, query=query, default_region=default_region)
    moment = check_aware(now, "now") or utcnow()
    reasons: dict[str, int] = {}
    added = 0
    async with db.transaction() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True)
        row = await _new_list(s, actor, campaign.id, "filter", name, {"filter": shown})
        matched = stmt.with_only_columns(Client.id, Client.region, Client.timezone).order_by(Client.id)
        last_id = 0
        while True:
            chunk = (await s.execute(matched.where(Client.id > last_id).limit(LOAD_CHUNK))).all()
            if not chunk:
                break
            last_id = chunk[-1][0]
            phones = await _first_phones(s, [c[0] for c in chunk])
            candidates = []
            for client_id, region, tz in chunk:
                phone = phones.get(client_id)
                if phone is None:
                    reasons["the client has no phone number"] = reasons.get("the client has no phone number", 0) + 1
                    continue
                candidates.append(_Candidate(client_id, phone, client_timezone(region, tz, phone)))
            added += await _insert_leads(s, db, campaign.id, row.id, candidates, moment, reasons, [])
        row.leads_added = added
        row.leads_skipped = sum(reasons.values())
        report = ListReport(row.id, row.name, "filter", added, row.leads_skipped, [], reasons)
    log.info("campaign.list id=%s list=%s kind=filter added=%s skipped=%s by=%s",
             campaign_id, report.list_id, added, report.leads_skipped, actor.login)
    return report


async def add_list_from_csv(
    db: Database, actor: Actor, campaign_id: int, name: str, data: bytes, filename: str,
    *, default_region: str = "RU", now: datetime | None = None,
) -> ListReport:
    """Import a client file (crm_core's importer: new clients made, known ones merged), then a lead per row.

    Each row's first number becomes a lead; a row the import refused, or without a number,
    or whose number is on a DNC list or already in the campaign, is reported with its line.
    """
    require_campaign_role(actor)
    check_may_import(actor)
    moment = check_aware(now, "now") or utcnow()
    async with db.reading() as s:
        await load_campaign(s, actor, campaign_id, manage=True)
    region = (default_region or "RU").strip().upper()
    numbers: dict[int, str | None] = {}

    def first_numbers(drafts: Sequence[Draft]) -> None:
        for draft in drafts:
            numbers[draft.line] = draft.phones[0].e164 if draft.phones else None

    summary = await import_clients(db, actor, data, filename, default_region=region, on_duplicate="merge",
                                   on_drafts=first_numbers)
    rejected = [RejectedLine(r.line, r.reason) for r in summary.rejected]
    refused = {r.line for r in rejected}
    reasons: dict[str, int] = {}
    if refused:
        reasons["the client import refused the row"] = len(refused)
    good: list[tuple[int, str]] = []
    for line, phone in sorted(numbers.items()):
        if line in refused:
            continue
        if phone is None:
            rejected.append(RejectedLine(line, "the row has no phone number to call"))
            reasons["the row has no phone number"] = reasons.get("the row has no phone number", 0) + 1
        else:
            good.append((line, phone))
    added = 0
    async with db.transaction() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True)
        row = await _new_list(s, actor, campaign.id, "import", name,
                              {"filename": filename[:255], "clients_inserted": summary.inserted,
                               "clients_updated": summary.updated}
                              | ({"sheet": summary.sheet[:255]} if summary.sheet is not None else {}))
        for start in range(0, len(good), LOAD_CHUNK):
            chunk = good[start:start + LOAD_CHUNK]
            found = {
                e164: (client_id, region_, tz)
                for e164, client_id, region_, tz in await s.execute(
                    select(Phone.e164, Client.id, Client.region, Client.timezone)
                    .join(Client, Client.id == Phone.client_id)
                    .where(Phone.e164.in_([p for _, p in chunk]))
                )
            }
            # The importer merges only into clients the actor sees; a number of someone else's stays theirs.
            visible = await client_ids_visible(s, actor, [hit[0] for hit in found.values()])
            candidates = []
            for line, phone in chunk:
                hit = found.get(phone)
                if hit is None or hit[0] not in visible:
                    why = "the number belongs to a client you cannot see" if hit else "the number is not in the base"
                    rejected.append(RejectedLine(line, f"{phone}: {why}"))
                    reasons[why] = reasons.get(why, 0) + 1
                    continue
                candidates.append(_Candidate(hit[0], phone, client_timezone(hit[1], hit[2], phone), line))
            added += await _insert_leads(s, db, campaign.id, row.id, candidates, moment, reasons, rejected)
        row.leads_added = added
        row.leads_skipped = sum(reasons.values())
        rejected.sort(key=lambda r: r.line)
        row.definition = {**row.definition, "rejected": len(rejected)}
        report = ListReport(row.id, row.name, "import", added, row.leads_skipped, rejected, reasons,
                            summary.inserted, summary.updated, summary.reassigned, summary.sheet)
    log.info("campaign.list id=%s list=%s kind=import added=%s skipped=%s by=%s",
             campaign_id, report.list_id, added, report.leads_skipped, actor.login)
    return report


# --- leads and attempts -------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadView:
    """A lead as the supervisor's list shows it."""

    id: int
    campaign_id: int
    list_id: int | None
    client_id: int
    client_name: str
    phone_e164: str
    timezone: str | None
    state: str
    priority: int
    attempts: int
    next_try_at: datetime | None
    agent_id: int | None
    appeal_id: int | None
    due_by: datetime | None
    last_outcome: str | None
    disposition_code: str | None
    abandon_hold_until: datetime | None
    created_at: datetime
    updated_at: datetime


def lead_view(lead: Lead, client_name: str) -> LeadView:
    return LeadView(
        id=lead.id, campaign_id=lead.campaign_id, list_id=lead.list_id, client_id=lead.client_id,
        client_name=client_name, phone_e164=lead.phone_e164, timezone=lead.timezone, state=lead.state,
        priority=lead.priority, attempts=lead.attempts, next_try_at=lead.next_try_at, agent_id=lead.agent_id,
        appeal_id=lead.appeal_id, due_by=lead.due_by, last_outcome=lead.last_outcome,
        disposition_code=lead.disposition_code, abandon_hold_until=lead.abandon_hold_until,
        created_at=lead.created_at, updated_at=lead.updated_at,
    )


async def list_leads(
    db: Database, actor: Actor, campaign_id: int, *, state: str | None = None, limit: int = 50, offset: int = 0,
) -> PageResult[LeadView]:
    """The campaign's leads, best first (as the dialer takes them), one page; supervisors and admins."""
    require_campaign_role(actor)
    if state is not None and state not in LEAD_STATES:
        raise InvalidInput(f"state must be one of {', '.join(LEAD_STATES)}")
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    async with db.reading() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True)
        where = [Lead.campaign_id == campaign.id]
        if state is not None:
            where.append(Lead.state == state)
        total = await s.scalar(select(func.count()).select_from(Lead).where(*where))
        rows = await s.execute(
            select(Lead, Client.name).join(Client, Client.id == Lead.client_id).where(*where)
            .order_by(Lead.priority.desc(), Lead.due_by.asc().nulls_last(), Lead.next_try_at.asc().nulls_last(), Lead.id)
            .limit(limit).offset(offset)
        )
        items = [lead_view(lead, name) for lead, name in rows]
    return PageResult(items, int(total or 0), limit, offset)


ATTEMPT_COLUMNS = (
    "attempt_id", "started_at", "ended_at", "lead_id", "client_id", "client", "phone", "mode", "agent", "outcome",
    "ring_seconds", "talk_seconds", "disposition", "disposition_name", "comment", "dialer",
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS and not re.fullmatch(r"\+[0-9]{7,15}", value):
        return "'" + value  # a spreadsheet must not run someone's text as a formula
    return value


EXPORT_PAGE = 2000  # attempts read per query of the export: memory stays flat whatever the campaign's size


async def export_attempts_csv(db: Database, actor: Actor, campaign_id: int) -> AsyncIterator[bytes]:
    """Every attempt of the campaign as CSV chunks, in the order they were placed; supervisors and admins.

    Rights are checked here, before the first chunk. Excel's format for RU/UA/BY: UTF-8
    with a BOM, ";" between cells (their list separator; a ";" in a comment is then
    quoted, so no cell can start a formula unseen). Read a page at a time, each in its
    own short read, so neither the memory nor a slow download holds a connection long.
    """
    require_campaign_role(actor)
    async with db.reading() as s:
        campaign = await load_campaign(s, actor, campaign_id, manage=True)
        names = {d.code: d.name for d in (await s.execute(
            select(Disposition).where(Disposition.campaign_id == campaign.id))).scalars()}
    return _attempt_pages(db, campaign.id, names)


async def _attempt_pages(db: Database, campaign_id: int, names: Mapping[str, str]) -> AsyncIterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(ATTEMPT_COLUMNS)
    yield ("\ufeff" + out.getvalue()).encode("utf-8")
    last_id = 0
    while True:
        async with db.reading() as s:
            rows = (await s.execute(
                select(Attempt, Lead.client_id, Client.name, User.login)
                .join(Lead, Lead.id == Attempt.lead_id)
                .join(Client, Client.id == Lead.client_id)
                .outerjoin(User, User.id == Attempt.agent_id)
                .where(Attempt.campaign_id == campaign_id, Attempt.id > last_id)
                .order_by(Attempt.id).limit(EXPORT_PAGE)
            )).all()
        if not rows:
            return
        out.seek(0)
        out.truncate()
        for a, client_id, client_name, login in rows:
            writer.writerow([_cell(v) for v in (
                a.id, a.started_at, a.ended_at, a.lead_id, client_id, client_name, a.phone_e164, a.mode, login,
                a.outcome, a.ring_seconds, a.talk_seconds, a.disposition_code, names.get(a.disposition_code or ""),
                a.comment, a.dialer_id,
            )])
        last_id = rows[-1][0].id
        yield out.getvalue().encode("utf-8")
