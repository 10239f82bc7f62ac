"""The client base over HTTP: list, search, create, the card, change, reassign."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.models import ClientKind
from crm_core.routes.contacts import ContactIn, ContactOut, PhoneIn, PhoneOut, patch_phones
from crm_core.routes.fields import Code, CrmBody, CrmPageQuery, CrmQuery, DbId, Moment
from crm_core.services import clients as clients_service
from crm_core.services.clients import ABC_CLASSES, CLIENT_STATUSES, SORT_KEYS, ClientFilters, ClientInput, PhoneInput

routes = ApiRoutes("clients")

ClientStatus = Literal[CLIENT_STATUSES]  # type: ignore[valid-type]
AbcClass = Literal[ABC_CLASSES]  # type: ignore[valid-type]
ClientSort = Literal[SORT_KEYS]  # type: ignore[valid-type]


class ClientOut(ResponseModel):
    id: int
    kind: ClientKind
    name: str
    tax_id: str | None
    region: str | None
    industry: str | None
    status: str
    segment: str | None
    abc_class: str | None
    timezone: str | None
    comment: str | None
    source_channel: str | None
    responsible_id: int | None
    created_at: datetime
    updated_at: datetime
    phones: list[PhoneOut]


class UserBrief(ResponseModel):
    id: int
    full_name: str
    phone_endpoint: str | None


class HistoryEntryOut(ResponseModel):
    kind: Literal["interaction", "call", "appeal", "reassignment", "proposal"]
    id: int
    at: datetime
    title: str
    status: str | None
    user_id: int | None
    details: dict[str, Any]


class ClientCardOut(ResponseModel):
    client: ClientOut
    responsible: UserBrief | None
    contacts: list[ContactOut]
    history: list[HistoryEntryOut]
    timezone: str | None = Field(description="the client's IANA zone: explicit, else from the region, else the phone")
    local_time: datetime | None = Field(description="the client's local time now, with its offset")


class ClientCreate(CrmBody):
    name: str = Field(min_length=1, max_length=300)
    kind: ClientKind = ClientKind.company
    tax_id: str | None = Field(None, max_length=20, description="ИНН / УНП / ЄДРПОУ / БИН: 8 to 12 digits")
    region: str | None = Field(None, max_length=120)
    industry: str | None = Field(None, max_length=120)
    status: ClientStatus = "new"
    segment: str | None = Field(None, max_length=60)
    abc_class: AbcClass | None = None
    timezone: str | None = Field(None, max_length=64, description='"Europe/Moscow", "UTC+5", "МСК+4"')
    comment: str | None = Field(None, max_length=10_000)
    responsible_id: DbId | None = Field(None, description="defaults to you")
    source_channel: Code | None = Field(None, description="the marketing channel the client came through")
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)


class ClientPatch(CrmBody):
    name: str | None = Field(None, min_length=1, max_length=300)
    kind: ClientKind | None = None
    tax_id: str | None = Field(None, max_length=20)
    region: str | None = Field(None, max_length=120)
    industry: str | None = Field(None, max_length=120)
    status: ClientStatus | None = None
    segment: str | None = Field(None, max_length=60)
    abc_class: AbcClass | None = None
    timezone: str | None = Field(None, max_length=64)
    comment: str | None = Field(None, max_length=10_000)
    source_channel: Code | None = None
    phones: list[PhoneIn] | None = Field(None, max_length=20, description="replaces the client's own numbers")


class ClientListQuery(CrmPageQuery):
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
    sort: ClientSort = "name"


class SearchQuery(CrmPageQuery):
    q: str = Field(min_length=1, max_length=100, description='"Ромашка", "Коваленко", "8 (916) 123-45-67", "4567"')


class CardQuery(CrmQuery):
    history_limit: int = Field(100, ge=1, le=500)


class ReassignBody(CrmBody):
    to_user_id: DbId
    reason: str | None = Field(None, max_length=500)


class BulkReassignBody(CrmBody):
    client_ids: list[DbId] = Field(min_length=1, max_length=1000)
    to_user_id: DbId
    reason: str | None = Field(None, max_length=500)


class ReassignOut(ResponseModel):
    to_user_id: int
    reassigned: list[int]
    unchanged: list[int]


# Static paths first: aiohttp matches in order, and /api/clients/search is not a client id.
@routes.get("/api/clients/search", query=SearchQuery, response=Page[ClientOut])
async def search_clients(req: ApiRequest) -> object:
    """Find your clients by name, code, tax id, contact surname or any phone in any form."""
    q: SearchQuery = req.query
    return await clients_service.search_clients(
        req.db, req.user, q.q, default_region=req.ctx.default_region, limit=q.limit, offset=q.offset
    )


@routes.post("/api/clients/reassign", body=BulkReassignBody, response=ReassignOut)
async def reassign_many(req: ApiRequest) -> object:
    """Hand many clients to another user at once (someone is ill, on leave, leaves)."""
    body: BulkReassignBody = req.body
    return await clients_service.reassign_clients(req.db, req.user, body.client_ids, body.to_user_id, body.reason)


@routes.get("/api/clients", query=ClientListQuery, response=Page[ClientOut])
async def list_clients(req: ApiRequest) -> object:
    """Your clients, filtered, sorted and paged, with the total count."""
    q: ClientListQuery = req.query
    filters = ClientFilters(
        status=q.status, region=q.region, industry=q.industry, responsible_id=q.responsible_id,
        abc_class=q.abc_class, kind=q.kind, source_channel=q.source_channel, created_from=q.created_from,
        created_to=q.created_to,
    )
    return await clients_service.list_clients(
        req.db, req.user, filters, query=q.q, default_region=req.ctx.default_region,
        limit=q.limit, offset=q.offset, sort=q.sort,
    )


@routes.post("/api/clients", body=ClientCreate, response=ClientOut, status=201)
async def create_client(req: ApiRequest) -> object:
    """Create a client (a company or a person) with phones and contact persons."""
    b: ClientCreate = req.body
    data = ClientInput(
        name=b.name, kind=b.kind, tax_id=b.tax_id, region=b.region, industry=b.industry, status=b.status,
        segment=b.segment, abc_class=b.abc_class, timezone=b.timezone, comment=b.comment,
        responsible_id=b.responsible_id, source_channel=b.source_channel,
        phones=[PhoneInput(p.number, p.kind) for p in b.phones],
        contacts=[c.to_input() for c in b.contacts],
    )
    return await clients_service.create_client(req.db, req.user, data, default_region=req.ctx.default_region)


@routes.get("/api/clients/{client_id}", query=CardQuery, response=ClientCardOut)
async def get_card(req: ApiRequest) -> object:
    """The client card: the client, contacts, phones, the relationship history, the client's local time."""
    q: CardQuery = req.query
    return await clients_service.get_card(req.db, req.user, req.path_int("client_id"), history_limit=q.history_limit)


@routes.patch("/api/clients/{client_id}", body=ClientPatch, response=ClientOut)
async def update_client(req: ApiRequest) -> object:
    """Change a client; only the fields given change. The responsible user changes by reassignment."""
    body: ClientPatch = req.body
    changes = body.model_dump(exclude_unset=True)
    if "phones" in changes:
        changes["phones"] = patch_phones(body.phones)
    return await clients_service.update_client(
        req.db, req.user, req.path_int("client_id"), changes, default_region=req.ctx.default_region
    )


@routes.post("/api/clients/{client_id}/reassign", body=ReassignBody, response=ReassignOut)
async def reassign_one(req: ApiRequest) -> object:
    """Hand a client to another user (переадресация); kept in the client's history."""
    body: ReassignBody = req.body
    return await clients_service.reassign_clients(
        req.db, req.user, [req.path_int("client_id")], body.to_user_id, body.reason
    )
