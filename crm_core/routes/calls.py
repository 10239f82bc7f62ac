"""A client's calls over HTTP (click-to-call itself is the AMI bridge's route)."""

from __future__ import annotations

from datetime import datetime

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.routes.fields import CrmPageQuery
from crm_core.services import calls as calls_service

routes = ApiRoutes("calls")


class CallOut(ResponseModel):
    id: int
    direction: str
    client_number: str | None
    caller_name: str | None
    did: str | None
    queue: str | None
    client_id: int | None
    agent_id: int | None
    agent_extension: str | None
    campaign_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    talk_seconds: int | None
    hangup_cause: str | None


class ClientCallsQuery(CrmPageQuery):
    pass


@routes.get("/api/clients/{client_id}/calls", query=ClientCallsQuery, response=Page[CallOut])
async def list_calls(req: ApiRequest) -> object:
    """A client's calls, newest first, with their outcome and talk time."""
    q: ClientCallsQuery = req.query
    return await calls_service.list_calls(req.db, req.user, req.path_int("client_id"), limit=q.limit, offset=q.offset)
