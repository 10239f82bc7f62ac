"""Events (события) over HTTP: types and statuses, a client's events, the calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasPath, Field, create_model

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.routes.fields import Code, CrmBody, CrmPageQuery, CrmQuery, DbId, Moment, PeriodEnd, PeriodStart
from crm_core.services import interactions as interactions_service
from crm_core.services.interactions import InteractionInput, StatusInput

routes = ApiRoutes("interactions")


class StatusOut(ResponseModel):
    id: int
    code: str
    name: str
    is_final: bool


class InteractionTypeOut(ResponseModel):
    id: int
    code: str
    name: str
    color: str
    statuses: list[StatusOut]


class StatusIn(CrmBody):
    code: Code
    name: str = Field(min_length=1, max_length=120)
    is_final: bool = False


class InteractionTypeIn(CrmBody):
    code: Code
    name: str = Field(min_length=1, max_length=120)
    color: str = Field("#808080", pattern=r"^#[0-9a-fA-F]{6}$")
    statuses: list[StatusIn] = Field(min_length=1, max_length=20)


class InteractionTypePatch(CrmBody):
    name: str | None = Field(None, min_length=1, max_length=120)
    color: str | None = Field(None, pattern=r"^#[0-9a-fA-F]{6}$", description="the calendar colour, #RRGGBB")


class StatusPatch(CrmBody):
    name: str = Field(min_length=1, max_length=120)


class InteractionOut(ResponseModel):
    id: int
    client_id: int
    contact_id: int | None
    type: str = Field(validation_alias=AliasPath("type", "code"))
    type_name: str = Field(validation_alias=AliasPath("type", "name"))
    color: str = Field(validation_alias=AliasPath("type", "color"))
    status: str = Field(validation_alias=AliasPath("status", "code"))
    status_name: str = Field(validation_alias=AliasPath("status", "name"))
    is_final: bool = Field(validation_alias=AliasPath("status", "is_final"))
    user_id: int | None
    call_id: int | None
    subject: str
    body: str | None
    planned_at: datetime | None
    done_at: datetime | None
    details: dict[str, Any]
    created_at: datetime


class InteractionIn(CrmBody):
    type: Code = Field(description="an event type code: incoming_call, outgoing_call, meeting, email, task, note...")
    status: Code | None = Field(None, description="a status of that type; defaults to its first open one when planned")
    subject: str = Field(min_length=1, max_length=300)
    body: str | None = Field(None, max_length=20_000)
    planned_at: Moment | None = None
    done_at: Moment | None = None
    contact_id: DbId | None = None
    user_id: DbId | None = Field(None, description="whose event it is; defaults to you")


class InteractionPatch(CrmBody):
    status: Code | None = None
    subject: str | None = Field(None, min_length=1, max_length=300)
    body: str | None = Field(None, max_length=20_000)
    planned_at: Moment | None = None
    done_at: Moment | None = None
    contact_id: DbId | None = None
    user_id: DbId | None = None


class ClientInteractionsQuery(CrmPageQuery):
    pass


# "from" is a Python keyword, so the calendar's query model is built by name.
CalendarQuery = create_model(
    "CalendarQuery",
    __base__=CrmQuery,
    **{
        "from": (PeriodStart, ...),
        "to": (PeriodEnd, ...),
        "user_id": (DbId | None, Field(None, description="one user's calendar (yourself, or your team's for a supervisor)")),
    },
)


@routes.get("/api/interaction-types", response=list[InteractionTypeOut])
async def list_types(req: ApiRequest) -> object:
    """Event types with their statuses and calendar colours."""
    return await interactions_service.list_types(req.db)


@routes.post("/api/interaction-types", body=InteractionTypeIn, response=InteractionTypeOut, status=201)
async def create_type(req: ApiRequest) -> object:
    """Add an event type with its statuses (admin)."""
    b: InteractionTypeIn = req.body
    return await interactions_service.create_type(
        req.db, req.user, code=b.code, name=b.name, color=b.color,
        statuses=[StatusInput(s.code, s.name, s.is_final) for s in b.statuses],
    )


@routes.post("/api/interaction-types/{type_id}/statuses", body=StatusIn, response=InteractionTypeOut, status=201)
async def add_status(req: ApiRequest) -> object:
    """Add a status to an event type (admin)."""
    b: StatusIn = req.body
    status = StatusInput(b.code, b.name, b.is_final)
    return await interactions_service.add_status(req.db, req.user, req.path_int("type_id"), status)



@routes.patch("/api/interaction-types/{type_id}", body=InteractionTypePatch, response=InteractionTypeOut)
async def update_type(req: ApiRequest) -> object:
    """Rename or recolour an event type (admin); its code stays."""
    b: InteractionTypePatch = req.body
    return await interactions_service.update_type(req.db, req.user, req.path_int("type_id"), name=b.name, color=b.color)


@routes.patch("/api/interaction-types/{type_id}/statuses/{status_id}", body=StatusPatch, response=InteractionTypeOut)
async def rename_status(req: ApiRequest) -> object:
    """Rename a status of an event type (admin); its code and finality stay."""
    b: StatusPatch = req.body
    return await interactions_service.rename_status(req.db, req.user, req.path_int("type_id"),
                                                    req.path_int("status_id"), b.name)

@routes.get("/api/clients/{client_id}/interactions", query=ClientInteractionsQuery, response=Page[InteractionOut])
async def list_for_client(req: ApiRequest) -> object:
    """A client's events, newest first."""
    q: ClientInteractionsQuery = req.query
    return await interactions_service.list_for_client(
        req.db, req.user, req.path_int("client_id"), limit=q.limit, offset=q.offset
    )


@routes.post("/api/clients/{client_id}/interactions", body=InteractionIn, response=InteractionOut, status=201)
async def create_interaction(req: ApiRequest) -> object:
    """Record or plan an event (call, meeting, letter, task) on a client."""
    b: InteractionIn = req.body
    data = InteractionInput(
        type_code=b.type, status_code=b.status, subject=b.subject, body=b.body, planned_at=b.planned_at,
        done_at=b.done_at, contact_id=b.contact_id, user_id=b.user_id,
    )
    return await interactions_service.create_interaction(req.db, req.user, req.path_int("client_id"), data)


@routes.get("/api/interactions/{interaction_id}", response=InteractionOut)
async def get_interaction(req: ApiRequest) -> object:
    """One event."""
    return await interactions_service.get_interaction(req.db, req.user, req.path_int("interaction_id"))


@routes.patch("/api/interactions/{interaction_id}", body=InteractionPatch, response=InteractionOut)
async def update_interaction(req: ApiRequest) -> object:
    """Change an event: its status, text, times, contact or owner; only the fields given change."""
    changes = req.body.model_dump(exclude_unset=True)
    if "status" in changes:
        changes["status_code"] = changes.pop("status")
    return await interactions_service.update_interaction(req.db, req.user, req.path_int("interaction_id"), changes)


@routes.get("/api/calendar", query=CalendarQuery, response=list[InteractionOut])
async def calendar(req: ApiRequest) -> object:
    """Events planned in a period: yours; a supervisor's team's; everyone's for an admin."""
    q = req.query
    return await interactions_service.calendar(req.db, req.user, getattr(q, "from"), q.to, user_id=q.user_id)
