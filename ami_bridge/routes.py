"""HTTP routes of the AMI bridge: click-to-call (agent control joins here)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, model_validator

from ami_bridge import agent_control
from ami_bridge.bridge import AmiBridge, BridgeConfig
from ami_bridge.click_to_call import place_click_to_call
from crm_core.api import ApiModel, ApiRequest, ApiRoutes, ResponseModel

routes = ApiRoutes("telephony")

BRIDGE_KEY = web.AppKey("zvonar_ami_bridge", AmiBridge)


class ClickToCallBody(ApiModel):
    phone: str | None = Field(None, min_length=1, max_length=40, description="the client's number, any format")
    contact_id: int | None = Field(None, ge=1, le=2_147_483_647)
    client_id: int | None = Field(None, ge=1, le=2_147_483_647)

    @model_validator(mode="after")
    def _one_target(self) -> ClickToCallBody:
        if sum(v is not None for v in (self.phone, self.contact_id, self.client_id)) != 1:
            raise ValueError("give exactly one of phone, contact_id, client_id")
        return self


class PlacedCallOut(ResponseModel):
    action_id: str
    call_id: int | None = Field(description="the call's row; null if the store refused it just after the call was "
                                            "placed (the call is then recorded when it ends)")
    client_id: int
    number: str
    endpoint: str


def bridge_of(req: ApiRequest) -> AmiBridge | None:
    return req.request.app.get(BRIDGE_KEY)


@routes.post("/api/calls", body=ClickToCallBody, response=PlacedCallOut, status=202)
async def click_to_call(req: ApiRequest) -> PlacedCallOut:
    """Click-to-call: your own phone rings first, then the client's number."""
    body: ClickToCallBody = req.body
    bridge = bridge_of(req)
    config = bridge.config if bridge else BridgeConfig(default_region=req.ctx.default_region)
    placed = await place_click_to_call(
        req.db, bridge, req.user, default_region=req.ctx.default_region,
        agent_channel_template=config.agent_channel_template, context=config.click_to_call_context,
        timeout_ms=config.originate_timeout_ms, phone=body.phone, contact_id=body.contact_id, client_id=body.client_id,
    )
    return PlacedCallOut.model_validate(placed)


class PauseBody(ApiModel):
    paused: bool
    reason: str | None = Field(None, min_length=1, max_length=60, description="why: обед, обучение, тех. перерыв")
    user_id: int | None = Field(None, ge=1, le=2_147_483_647, description="another agent (supervisors)")


class QueueBody(ApiModel):
    queue: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")
    user_id: int | None = Field(None, ge=1, le=2_147_483_647)


class QueueOutcomeOut(ResponseModel):
    outcome: str


class AgentOut(ResponseModel):
    user_id: int
    login: str
    full_name: str
    endpoint: str
    state: str
    reason: str | None
    queues: list[str]
    since: float | None
    call_id: str | None


@routes.post("/api/agents/pause", body=PauseBody, response=QueueOutcomeOut)
async def pause_agent(req: ApiRequest) -> QueueOutcomeOut:
    """Pause with a reason, or be ready again (paused=false), in every queue."""
    body: PauseBody = req.body
    outcome = await agent_control.set_paused(req.db, bridge_of(req), req.user, body.paused, body.reason, body.user_id)
    return QueueOutcomeOut(outcome=str(outcome))


@routes.post("/api/agents/queue-login", body=QueueBody, response=QueueOutcomeOut)
async def queue_login(req: ApiRequest) -> QueueOutcomeOut:
    """Log into a queue (e.g. a campaign's) to start getting its calls."""
    body: QueueBody = req.body
    return QueueOutcomeOut(outcome=str(await agent_control.queue_login(req.db, bridge_of(req), req.user, body.queue, body.user_id)))


@routes.post("/api/agents/queue-logout", body=QueueBody, response=QueueOutcomeOut)
async def queue_logout(req: ApiRequest) -> QueueOutcomeOut:
    """Log out of a queue."""
    body: QueueBody = req.body
    return QueueOutcomeOut(outcome=str(await agent_control.queue_logout(req.db, bridge_of(req), req.user, body.queue, body.user_id)))


@routes.get("/api/agents", response=list[AgentOut])
async def list_agents(req: ApiRequest) -> list[AgentOut]:
    """Agents' live states: your own; your team's for a supervisor; all for an admin."""
    return [AgentOut.model_validate(v) for v in await agent_control.agent_views(req.db, bridge_of(req), req.user)]
