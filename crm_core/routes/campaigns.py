"""Campaigns over HTTP: create, change, agents, lists (a client filter or a CSV), launch/pause/resume/stop, leads, attempts."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field, StrictBool, create_model

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.campaign_settings import (
    MAX_ABANDON_CAP,
    MAX_AMD_MISREAD_SHARE,
    MAX_DISPOSITIONS,
    MAX_SOUND_NAME,
    RETRY_LIMITS,
)
from crm_core.models import CAMPAIGN_MODES, CAMPAIGN_STATES, LEAD_STATES, ClientKind
from crm_core.routes.fields import Code, CrmBody, CrmPageQuery, CrmQuery, DbId, Moment
from crm_core.routes.imports import CSV_TYPE, XLSX_TYPE, ReassignedOut, read_upload
from crm_core.services import campaigns as campaigns_service
from crm_core.services.campaigns import CampaignView, DispositionSpec
from crm_core.services.clients import ABC_CLASSES, CLIENT_STATUSES

log = logging.getLogger(__name__)

routes = ApiRoutes("campaigns")

Mode = Literal[CAMPAIGN_MODES]  # type: ignore[valid-type]
CampaignState = Literal[CAMPAIGN_STATES]  # type: ignore[valid-type]
LeadState = Literal[LEAD_STATES]  # type: ignore[valid-type]
QUEUE_PATTERN = r"^[A-Za-z0-9_\-]{1,80}$"
HHMM = r"^([01]?[0-9]|2[0-4]):[0-5][0-9]$"


class HoursIn(CrmBody):
    """Calling hours in the client's local time."""

    days: list[int] = Field([1, 2, 3, 4, 5], min_length=1, max_length=7, description="ISO weekdays, 1 = Monday")
    start: str = Field("09:00", pattern=HHMM)
    end: str = Field("21:00", pattern=HHMM, description="exclusive; after start (no window across midnight)")
    holidays: list[str] = Field(default_factory=list, max_length=1000, description="dates off, YYYY-MM-DD")
    public_holidays: bool = Field(False, description="also the public holidays of each client's country "
                                  "(true when holiday_country is given)")
    holiday_country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$", description="one country's holidays for every lead (turns public_holidays on)")
    fallback_zone: str = Field("Europe/Moscow", min_length=1, max_length=64,
                               description="stands in for an unknown zone when the leads name none")


RetryRulesIn = create_model(  # type: ignore[call-overload]
    "RetryRulesIn",
    __base__=CrmBody,
    **{name: (int | None, Field(None, ge=low, le=high)) for name, (low, high) in RETRY_LIMITS.items()},
)


class PacingIn(CrmBody):
    abandon_cap: float | None = Field(None, gt=0, le=MAX_ABANDON_CAP, description="abandons / live answers, at most 3 %")
    lines_per_agent: int | None = Field(None, ge=1, le=3)
    ring_timeout: int | None = Field(None, ge=10, le=60, description="seconds a call rings before it is no answer")
    max_lines: int | None = Field(None, ge=1, le=1000, description="calls in progress at most (null: no limit)")
    amd: StrictBool | None = Field(None, description="detect answering machines and drop them before the queue")
    amd_misread_share: float | None = Field(None, ge=0, le=MAX_AMD_MISREAD_SHARE,
                                            description="estimated share of the dropped machines that were people: "
                                                        "counted as abandoned calls in the day's rate")


class DispositionIn(CrmBody):
    code: Code
    name: str = Field(min_length=1, max_length=120)
    final: bool = True
    success: bool = False
    retry_minutes: int | None = Field(None, ge=1, le=90 * 24 * 60, description="for a disposition that is not final")
    add_to_dnc: bool = False


class DispositionOut(ResponseModel):
    code: str
    name: str
    final: bool
    success: bool
    retry_minutes: int | None
    add_to_dnc: bool


ABANDON_MESSAGE = ("the recording a client hears when no agent takes the answered call within 2 s (and a machine AMD "
                   "dropped): the company's name and a number to call back, as the FTC and Ofcom ask; an Asterisk "
                   "sound name such as zvonar/romashka-abandon; null: the company's (ami.abandon_message)")


class CampaignOut(ResponseModel):
    id: int
    name: str
    team_id: int | None
    state: CampaignState
    mode: Mode
    queue: str
    caller_id: str | None
    abandon_message: str | None = Field(description=ABANDON_MESSAGE)
    script_code: str | None
    script_id: int | None = Field(description="the script version pinned at launch")
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
    dispositions: list[DispositionOut]
    lead_counts: dict[str, int] = Field(description="leads by state: ready, leased, dialing, done, failed, dnc")
    leads_total: int


class CampaignCreate(CrmBody):
    name: str = Field(min_length=1, max_length=200)
    queue: str = Field("campaign", pattern=QUEUE_PATTERN, description="the Asterisk queue answered calls go to")
    mode: Mode = "progressive"
    team_id: DbId | None = Field(None, description="admins only; a supervisor's campaigns are their team's")
    caller_id: str | None = Field(None, max_length=80)
    abandon_message: str | None = Field(None, max_length=MAX_SOUND_NAME, description=ABANDON_MESSAGE)
    script_code: str | None = Field(None, max_length=64, description="the call script; its newest version is pinned at launch")
    hours: HoursIn | None = None
    retry_rules: RetryRulesIn | None = None  # type: ignore[valid-type]
    pacing: PacingIn | None = None
    hot_appeals: bool = Field(False, description="take appeals asking for a call back as top-priority leads")
    dispositions: list[DispositionIn] | None = Field(None, min_length=1, max_length=MAX_DISPOSITIONS,
                                                     description="default: the standard set")


class CampaignPatch(CrmBody):
    name: str | None = Field(None, min_length=1, max_length=200)
    queue: str | None = Field(None, pattern=QUEUE_PATTERN)
    mode: Mode | None = None
    caller_id: str | None = Field(None, max_length=80)
    abandon_message: str | None = Field(None, max_length=MAX_SOUND_NAME, description=ABANDON_MESSAGE)
    script_code: str | None = Field(None, max_length=64)
    hours: HoursIn | None = None
    retry_rules: RetryRulesIn | None = None  # type: ignore[valid-type]
    pacing: PacingIn | None = None
    hot_appeals: bool | None = None
    dispositions: list[DispositionIn] | None = Field(None, min_length=1, max_length=MAX_DISPOSITIONS,
                                                     description="replaces the campaign's dispositions")


class CampaignListQuery(CrmQuery):
    state: CampaignState | None = None


class AgentsIn(CrmBody):
    user_ids: list[DbId] = Field(max_length=campaigns_service.MAX_AGENTS, description="exactly these users are the agents")


ClientStatus = Literal[CLIENT_STATUSES]  # type: ignore[valid-type]
AbcClass = Literal[ABC_CLASSES]  # type: ignore[valid-type]


class ClientFilterIn(CrmBody):
    """The client base's filter (as GET /api/clients takes it)."""

    q: str | None = Field(None, max_length=100, description="search: name, code, tax id, contact surname, any phone")
    status: ClientStatus | None = None
    region: str | None = Field(None, max_length=120)
    industry: str | None = Field(None, max_length=120)
    responsible_id: DbId | None = None
    abc_class: AbcClass | None = None
    kind: ClientKind | None = None
    source_channel: Code | None = None
    created_from: Moment | None = None
    created_to: Moment | None = None


class ListFromFilterIn(CrmBody):
    name: str = Field(min_length=1, max_length=300)
    filter: ClientFilterIn = Field(default_factory=ClientFilterIn)


class ListImportQuery(CrmQuery):
    name: str = Field(min_length=1, max_length=300, description="the list's name")
    filename: str = Field("list.csv", min_length=1, max_length=255)


class RejectedLineOut(ResponseModel):
    line: int
    reason: str


class ListReportOut(ResponseModel):
    list_id: int
    name: str
    kind: str
    leads_added: int
    leads_skipped: int
    rejected: list[RejectedLineOut] = Field(description="file lines not made leads, with the reason")
    skipped_reasons: dict[str, int]
    clients_inserted: int = Field(description="new clients the file brought")
    clients_updated: int = Field(description="known clients the file's rows were merged into")
    reassigned: list[ReassignedOut] = Field([], description="responsibles the file named who are no user you may "
                                                            "assign to: their new clients went to given_to")
    sheet: str | None = Field(None, description="the XLSX sheet the list was read from (the first with a header: "
                                                "a cover sheet may come before it); null for CSV and filters")


class LeadsQuery(CrmPageQuery):
    state: LeadState | None = None


class LeadOut(ResponseModel):
    id: int
    campaign_id: int
    list_id: int | None
    client_id: int
    client_name: str
    phone_e164: str
    timezone: str | None
    state: LeadState
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


def _out(view: CampaignView) -> CampaignOut:
    data = {name: getattr(view, name) for name in CampaignOut.model_fields if name not in ("dispositions", "leads_total")}
    return CampaignOut(**data, dispositions=[DispositionOut.model_validate(d) for d in view.dispositions],
                       leads_total=view.leads_total)


async def publish_state(req: ApiRequest, view: CampaignView) -> None:
    """``campaign.state`` on the bus; the store has the change already, so a bus failure is only logged."""
    # The same fields as the dialer's own announcements (dialer/runner_state.py state_payload), and who did it.
    payload = {"campaign_id": view.id, "team_id": view.team_id, "created_by_id": view.created_by_id,
               "name": view.name, "state": view.state,
               "previous_state": view.previous_state, "mode": view.mode, "at": view.updated_at.isoformat(),
               "script_id": view.script_id, "by": req.user.user_id}
    try:
        await req.ctx.bus.publish("campaign.state", payload)
    except Exception:  # noqa: BLE001 - the bus is a notification; the state is stored
        log.exception("campaign.state_not_published campaign=%s", view.id)


def _settings(body: CrmBody) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if "dispositions" in changes and changes["dispositions"] is not None:
        changes["dispositions"] = [DispositionSpec(**d) for d in changes["dispositions"]]
    return changes


@routes.get("/api/campaigns", query=CampaignListQuery, response=list[CampaignOut])
async def list_campaigns(req: ApiRequest) -> object:
    """Campaigns you may see: an operator those they are assigned to, a supervisor their team's, an admin all."""
    views = await campaigns_service.list_campaigns(req.db, req.user, state=req.query.state)
    return [_out(v) for v in views]


@routes.post("/api/campaigns", body=CampaignCreate, response=CampaignOut, status=201)
async def create_campaign(req: ApiRequest) -> object:
    """Create a campaign (draft) with the standard dispositions; supervisors (their team) and admins."""
    changes = _settings(req.body)
    return _out(await campaigns_service.create_campaign(req.db, req.user, changes))


@routes.get("/api/campaigns/{campaign_id}", response=CampaignOut)
async def get_campaign(req: ApiRequest) -> object:
    """The campaign with its agents, dispositions and its leads counted by state."""
    return _out(await campaigns_service.get_campaign(req.db, req.user, req.path_int("campaign_id")))


@routes.patch("/api/campaigns/{campaign_id}", body=CampaignPatch, response=CampaignOut)
async def update_campaign(req: ApiRequest) -> object:
    """Change the fields sent (hours, retry rules and pacing field by field; null: the default); mode, queue and script only while it is not running."""
    return _out(await campaigns_service.update_campaign(req.db, req.user, req.path_int("campaign_id"), _settings(req.body)))


@routes.put("/api/campaigns/{campaign_id}/agents", body=AgentsIn, response=CampaignOut)
async def set_agents(req: ApiRequest) -> object:
    """Make exactly these users the campaign's agents (operators of its team)."""
    return _out(await campaigns_service.set_agents(req.db, req.user, req.path_int("campaign_id"), req.body.user_ids))


@routes.post("/api/campaigns/{campaign_id}/lists", body=ListFromFilterIn, response=ListReportOut, status=201)
async def add_list_from_filter(req: ApiRequest) -> object:
    """Add a lead for every client of yours the filter matches (the client's first number)."""
    body: ListFromFilterIn = req.body
    return await campaigns_service.add_list_from_filter(
        req.db, req.user, req.path_int("campaign_id"), body.name, body.filter.model_dump(exclude_none=True),
        default_region=req.ctx.default_region,
    )


@routes.post(
    "/api/campaigns/{campaign_id}/lists/import", query=ListImportQuery, response=ListReportOut, status=201,
    raw_body=(CSV_TYPE, XLSX_TYPE),
)
async def add_list_from_file(req: ApiRequest) -> object:
    """Add a list from a CSV/XLSX client file: clients made or merged, a lead per row; bad rows by line."""
    q: ListImportQuery = req.query
    campaign_id = req.path_int("campaign_id")
    campaigns_service.require_campaign_role(req.user)  # before reading what may be megabytes for nothing
    data = await read_upload(req.request)
    return await campaigns_service.add_list_from_csv(
        req.db, req.user, campaign_id, q.name, data, q.filename, default_region=req.ctx.default_region)


async def _transition(req: ApiRequest, action: Any) -> CampaignOut:
    view = await action(req.db, req.user, req.path_int("campaign_id"))
    await publish_state(req, view)
    return _out(view)


@routes.post("/api/campaigns/{campaign_id}/launch", response=CampaignOut)
async def launch(req: ApiRequest) -> object:
    """Start dialing: pins the newest version of the script; refused without leads or agents."""
    return await _transition(req, campaigns_service.launch)


@routes.post("/api/campaigns/{campaign_id}/pause", response=CampaignOut)
async def pause(req: ApiRequest) -> object:
    """Pause dialing; leads leased and not yet dialled go back."""
    return await _transition(req, campaigns_service.pause)


@routes.post("/api/campaigns/{campaign_id}/resume", response=CampaignOut)
async def resume(req: ApiRequest) -> object:
    """Resume a paused campaign with the script version it was launched with."""
    return await _transition(req, campaigns_service.resume)


@routes.post("/api/campaigns/{campaign_id}/stop", response=CampaignOut)
async def stop(req: ApiRequest) -> object:
    """Stop the campaign (it may be launched again later)."""
    return await _transition(req, campaigns_service.stop)


@routes.get("/api/campaigns/{campaign_id}/leads", query=LeadsQuery, response=Page[LeadOut])
async def list_leads(req: ApiRequest) -> object:
    """The campaign's leads in the order the dialer takes them, by state, one page; supervisors and admins."""
    q: LeadsQuery = req.query
    return await campaigns_service.list_leads(
        req.db, req.user, req.path_int("campaign_id"), state=q.state, limit=q.limit, offset=q.offset)


@routes.get("/api/campaigns/{campaign_id}/attempts.csv", response=None, raw_response=True)
async def export_attempts(req: ApiRequest) -> web.StreamResponse:
    """Every attempt (dial) of the campaign with its outcome and disposition, as CSV for Excel (UTF-8, BOM, ";"), streamed."""
    campaign_id = req.path_int("campaign_id")
    chunks = await campaigns_service.export_attempts_csv(req.db, req.user, campaign_id)
    resp = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-attempts.csv"'})
    await resp.prepare(req.request)
    async for chunk in chunks:
        await resp.write(chunk)
    await resp.write_eof()
    return resp
