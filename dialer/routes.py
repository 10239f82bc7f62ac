"""HTTP routes of the live dialer: live stats, preview cards, dispositions, pacing limits.

Rights are the services': a campaign the actor may not see is "not found"; only
supervisors (their team's) and admins change pacing; operators take preview cards and set
dispositions on the campaigns they are assigned to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import Field, StrictBool

from crm_core.api import ApiModel, ApiRequest, ApiRoutes, ResponseModel
from crm_core.campaign_settings import MAX_ABANDON_CAP, MAX_AMD_MISREAD_SHARE
from crm_core.models import utcnow
from crm_core.services import campaigns as campaigns_service
from crm_core.services import leads as leads_service
from dialer import preview
from dialer.campaign_reads import day_counts
from dialer.campaign_runner import Dialer
from dialer.heard_stats import HeardStats
from dialer.runner_state import PHASES, CampaignInfo, day_rate_figures, day_start

routes = ApiRoutes("dialer")

DIALER_KEY = web.AppKey("zvonar_dialer", Dialer)
# The calendar day of the day_* figures, for a process that serves the API without a dialer of its own.
DAY_ZONE_KEY = web.AppKey("zvonar_day_zone", str)
# The figures other processes' dialers publish on the bus (dialer/heard_stats.py).
HEARD_STATS_KEY = web.AppKey("zvonar_heard_stats", HeardStats)


def dialer_of(req: ApiRequest) -> Dialer | None:
    return req.request.app.get(DIALER_KEY)


# --- stats ---------------------------------------------------------------------------------------


class AgentsByStateOut(ResponseModel):
    free: int = 0
    talk: int = 0
    wrap: int = 0
    paused: int = 0
    unavailable: int = 0


class CampaignStatsOut(ResponseModel):
    campaign_id: int
    team_id: int | None
    name: str
    state: str
    mode: str
    at: str
    live: bool = Field(description="false when no dialer of this process runs the campaign: day figures from the store only")
    dials: int
    answered: int = Field(description="human-answered calls (connected or abandoned)")
    abandoned: int
    abandon_rate: float = Field(description="abandoned / answered")
    machines: int = Field(0, description="answering machines the dialplan's detection dropped (campaigns with "
                                         "pacing.amd), neither answered nor abandoned")
    occupancy: float = Field(description="talk + wrap-up share of the agents' working time (free, talking or in "
                                         "wrap-up; a pause such as lunch is not counted) since this dialer took the "
                                         "campaign")
    agents: AgentsByStateOut
    ringing: int
    waiting: int
    in_flight: int
    day_dials: int
    day_answered: int
    day_abandoned: int
    day_abandon_rate: float = Field(description="the rate the cap is held against: (day_abandoned + day_amd_misread) / "
                                                "(day_answered + day_amd_misread)")
    day_machines: int = Field(0, description="answering machines dropped today, by every dialer (from the store and the "
                                             "calls still up)")
    day_amd_misread: int = Field(0, description="people estimated among them (pacing.amd_misread_share), counted as "
                                                "abandoned in day_abandon_rate")
    window_dials: int = 0
    window_answered: int = 0
    window_abandoned: int = 0
    window_abandon_rate: float = 0.0
    abandon_cap: float


@routes.get("/api/campaigns/{campaign_id}/stats", response=CampaignStatsOut)
async def campaign_stats(req: ApiRequest) -> CampaignStatsOut:
    """Live figures of a campaign (the same as its ``campaign.stats`` bus events)."""
    view = await campaigns_service.get_campaign(req.db, req.user, req.path_int("campaign_id"))
    dialer = dialer_of(req)
    live = dialer.stats(view.id) if dialer is not None else None
    if live is None and (heard := req.request.app.get(HEARD_STATS_KEY)) is not None:
        live = heard.fresh(view.id)  # paced by a dialer in another process
    if live is not None:
        return CampaignStatsOut.model_validate({**live, "state": view.state, "live": True})
    info = CampaignInfo.of(view)
    now = utcnow()
    dials, answered, abandoned, machines = await day_counts(req.db, view.id, day_start(now, _day_zone(req, dialer))[1])
    return CampaignStatsOut(
        campaign_id=info.id, team_id=info.team_id, name=info.name, state=info.state, mode=info.mode, at=now.isoformat(),
        live=False, dials=0, answered=0, abandoned=0, abandon_rate=0.0, occupancy=0.0,
        agents=AgentsByStateOut(**dict.fromkeys(PHASES, 0)), ringing=0, waiting=0, in_flight=0,
        day_dials=dials, day_answered=answered, day_abandoned=abandoned,
        **day_rate_figures(answered, abandoned, machines, info.amd_misread_share), abandon_cap=info.abandon_cap,
    )


def _day_zone(req: ApiRequest, dialer: Dialer | None) -> str:
    from dialer.runner_config import DialerConfig

    if dialer is not None:
        return dialer.config.day_timezone
    return req.request.app.get(DAY_ZONE_KEY) or DialerConfig().day_timezone


# --- preview -------------------------------------------------------------------------------------


class ClientCardOut(ResponseModel):
    client_id: int
    name: str
    kind: str
    status: str | None = None
    region: str | None = None
    responsible_id: int | None = None
    responsible_name: str | None = None
    contact_id: int | None = None
    contact_name: str | None = None
    phone_kind: str | None = None
    e164: str | None = None


class PreviewCardOut(ResponseModel):
    campaign_id: int
    lead_id: int
    client_id: int
    client_name: str | None
    phone: str
    timezone: str | None
    local_time: str | None = Field(description="the client's local time now (HH:MM), when the zone is known")
    attempts: int
    priority: int
    appeal_id: int | None
    script_id: int | None = Field(description="the script version pinned at launch")
    lease_seconds: float = Field(description="how long the card stays yours")
    client: ClientCardOut | None
    open_interactions: list[dict[str, Any]]


class PreviewNextOut(ResponseModel):
    card: PreviewCardOut | None
    message: str | None = None


class PlacedPreviewOut(ResponseModel):
    campaign_id: int
    lead_id: int
    attempt_id: int
    action_id: str
    number: str
    endpoint: str


class SkipBody(ApiModel):
    reason: str = Field(min_length=1, max_length=200, description="why not now: не та отрасль, уже клиент, ...")


@routes.post("/api/campaigns/{campaign_id}/preview/next", response=PreviewNextOut)
async def preview_next(req: ApiRequest) -> PreviewNextOut:
    """The next client card of a preview campaign (the same card again until you accept or skip it)."""
    card = await preview.next_card(req.db, dialer_of(req), req.user, req.path_int("campaign_id"))
    if card is None:
        return PreviewNextOut(card=None, message="no lead to call now (none due, or outside calling hours)")
    return PreviewNextOut(card=PreviewCardOut.model_validate(card))


@routes.post("/api/campaigns/{campaign_id}/preview/{lead_id}/accept", response=PlacedPreviewOut, status=202)
async def preview_accept(req: ApiRequest) -> PlacedPreviewOut:
    """Call the card's client: your own phone rings first, then the client's."""
    placed = await preview.accept(req.db, dialer_of(req), req.user, req.path_int("campaign_id"), req.path_int("lead_id"))
    return PlacedPreviewOut.model_validate(placed)


@routes.post("/api/campaigns/{campaign_id}/preview/{lead_id}/skip", body=SkipBody, response=None, status=204)
async def preview_skip(req: ApiRequest) -> None:
    """Give the card back without calling (the reason is kept; the lead rests before it comes again)."""
    body: SkipBody = req.body
    await preview.skip(req.db, dialer_of(req), req.user, req.path_int("campaign_id"), req.path_int("lead_id"), body.reason)


# --- disposition and pacing ----------------------------------------------------------------------


class DispositionBody(ApiModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$", description="a disposition code of the campaign")
    comment: str | None = Field(None, max_length=2000)
    callback_at: datetime | None = Field(None, description="when to call back (a retry disposition); with a time zone")


class LeadOut(ResponseModel):
    id: int
    campaign_id: int
    client_id: int
    state: str
    attempts: int
    next_try_at: datetime | None = None
    disposition_code: str | None = None
    last_outcome: str | None = None
    agent_id: int | None = None


@routes.post("/api/campaigns/{campaign_id}/leads/{lead_id}/disposition", body=DispositionBody, response=LeadOut)
async def set_disposition(req: ApiRequest) -> LeadOut:
    """The operator's wrap-up of a lead: final, or retried (at ``callback_at`` when given)."""
    body: DispositionBody = req.body
    view = await leads_service.set_disposition(
        req.db, req.user, req.path_int("campaign_id"), req.path_int("lead_id"), body.code, body.comment, body.callback_at,
    )
    return LeadOut.model_validate(view)


class PacingBody(ApiModel):
    abandon_cap: float | None = Field(None, gt=0, le=MAX_ABANDON_CAP, description="abandons / human-answered allowed (at most 3 %)")
    lines_per_agent: int | None = Field(None, ge=1, le=3)
    ring_timeout: int | None = Field(None, ge=10, le=60, description="seconds a client's phone may ring")
    max_lines: int | None = Field(None, ge=1, le=1000, description="trunk lines the campaign may hold; null: no limit")
    amd: StrictBool | None = Field(None, description="detect answering machines and drop them before the queue")
    amd_misread_share: float | None = Field(None, ge=0, le=MAX_AMD_MISREAD_SHARE,
                                            description="estimated share of the dropped machines that were people: "
                                                        "counted as abandoned calls in the day's rate")


class PacingOut(ResponseModel):
    campaign_id: int
    abandon_cap: float
    lines_per_agent: int
    ring_timeout: int
    max_lines: int | None
    amd: bool = False
    amd_misread_share: float = 0.0


@routes.patch("/api/campaigns/{campaign_id}/pacing", body=PacingBody, response=PacingOut)
async def patch_pacing(req: ApiRequest) -> PacingOut:
    """Change the pacing limits of a campaign, live (only the fields given; max_lines null removes the limit)."""
    body: PacingBody = req.body
    patch = body.model_dump(exclude_unset=True)
    for name in ("abandon_cap", "lines_per_agent", "ring_timeout", "amd", "amd_misread_share"):
        if name in patch and patch[name] is None:
            del patch[name]
    view = await campaigns_service.update_pacing(req.db, req.user, req.path_int("campaign_id"), patch)
    dialer = dialer_of(req)
    if dialer is not None:
        dialer.wake(view.id)
    return PacingOut(campaign_id=view.id, **view.pacing)
