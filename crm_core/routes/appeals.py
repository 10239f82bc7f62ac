"""Appeals (обращения) over HTTP, the marketing channels, and the channel efficiency report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasPath, Field, create_model

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.models import APPEAL_STATUSES, ClientKind
from crm_core.routes.fields import Code, CrmBody, CrmPageQuery, CrmQuery, DbId, Moment, PeriodEnd, PeriodStart
from crm_core.services import appeals as appeals_service
from crm_core.services.appeals import AppealInput, NewClientInput

routes = ApiRoutes("appeals")

AppealStatus = Literal[APPEAL_STATUSES]  # type: ignore[valid-type]
Product = Annotated[str, Field(min_length=1, max_length=120)]


class ChannelOut(ResponseModel):
    id: int
    code: str
    name: str


class AppealOut(ResponseModel):
    id: int
    client_id: int
    contact_id: int | None
    channel: str | None = Field(None, validation_alias=AliasPath("channel", "code"))
    purpose: str
    products: list[str]
    comment: str | None
    status: AppealStatus
    callback_requested: bool
    callback_due_at: datetime | None
    created_by_id: int | None
    created_at: datetime


class NewClientIn(CrmBody):
    name: str = Field(min_length=1, max_length=300)
    phone: str = Field(min_length=1, max_length=64)
    kind: ClientKind = ClientKind.person
    region: str | None = Field(None, max_length=120)


class AppealIn(CrmBody):
    client_id: DbId | None = Field(None, description="an existing client; or give new_client")
    new_client: NewClientIn | None = Field(None, description='a caller not yet in the base: the card is created as "primary"')
    contact_id: DbId | None = None
    channel: Code | None = Field(None, description="marketing channel code: website, phone, social, referral...")
    purpose: str = Field(min_length=1, max_length=300)
    products: list[Product] = Field(default_factory=list, max_length=50)
    comment: str | None = Field(None, max_length=10_000)
    callback_requested: bool = Field(False, description="the manager must call back within 10 minutes")


class AppealPatch(CrmBody):
    status: AppealStatus | None = None
    purpose: str | None = Field(None, min_length=1, max_length=300)
    products: list[Product] | None = Field(None, max_length=50)
    comment: str | None = Field(None, max_length=10_000)
    channel: Code | None = None
    contact_id: DbId | None = None


class AppealListQuery(CrmPageQuery):
    status: AppealStatus | None = None
    channel: Code | None = None
    client_id: DbId | None = None
    callback_overdue: bool = Field(False, description="only new appeals whose callback time has passed")
    created_from: Moment | None = None
    created_to: Moment | None = None


class ChannelStatOut(ResponseModel):
    code: str | None
    name: str
    total: int
    done: int
    conversion: float = Field(description="share of the channel's appeals brought to done, 0..1")


class ChannelReportOut(ResponseModel):
    start: datetime
    end: datetime
    total: int
    done: int
    channels: list[ChannelStatOut]


ChannelReportQuery = create_model(
    "ChannelReportQuery", __base__=CrmQuery, **{"from": (PeriodStart, ...), "to": (PeriodEnd, ...)}
)


@routes.get("/api/marketing-channels", response=list[ChannelOut])
async def list_channels(req: ApiRequest) -> object:
    """Marketing channels (how they heard of us)."""
    return await appeals_service.list_channels(req.db)


@routes.get("/api/appeals", query=AppealListQuery, response=Page[AppealOut])
async def list_appeals(req: ApiRequest) -> object:
    """Appeals of your clients, newest first."""
    q: AppealListQuery = req.query
    return await appeals_service.list_appeals(
        req.db, req.user, status=q.status, channel_code=q.channel, client_id=q.client_id,
        callback_overdue=q.callback_overdue, created_from=q.created_from, created_to=q.created_to,
        limit=q.limit, offset=q.offset,
    )


@routes.post("/api/appeals", body=AppealIn, response=AppealOut, status=201)
async def create_appeal(req: ApiRequest) -> object:
    """Register an appeal for a client, or for a new caller (their card is created as "primary")."""
    b: AppealIn = req.body
    fresh = None
    if b.new_client is not None:
        fresh = NewClientInput(b.new_client.name, b.new_client.phone, b.new_client.kind, b.new_client.region)
    data = AppealInput(
        purpose=b.purpose, client_id=b.client_id, new_client=fresh, contact_id=b.contact_id, channel_code=b.channel,
        products=list(b.products), comment=b.comment, callback_requested=b.callback_requested,
    )
    return await appeals_service.create_appeal(req.db, req.user, data, default_region=req.ctx.default_region)


@routes.get("/api/appeals/{appeal_id}", response=AppealOut)
async def get_appeal(req: ApiRequest) -> object:
    """One appeal."""
    return await appeals_service.get_appeal(req.db, req.user, req.path_int("appeal_id"))


@routes.patch("/api/appeals/{appeal_id}", body=AppealPatch, response=AppealOut)
async def update_appeal(req: ApiRequest) -> object:
    """Change an appeal: status (new, in_work, done, lost), purpose, products, comment, channel."""
    changes = req.body.model_dump(exclude_unset=True)
    if "channel" in changes:
        changes["channel_code"] = changes.pop("channel")
    return await appeals_service.update_appeal(req.db, req.user, req.path_int("appeal_id"), changes)


@routes.get("/api/reports/channels", query=ChannelReportQuery, response=ChannelReportOut)
async def channel_report(req: ApiRequest) -> object:
    """Appeals per marketing channel in a period and the share brought to done (your clients' appeals)."""
    q = req.query
    return await appeals_service.channel_stats(req.db, req.user, getattr(q, "from"), q.to)
