"""Do-not-call lists over HTTP: global and per campaign; list, add, remove, import a CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.routes.fields import CrmBody, CrmPageQuery, CrmQuery, DbId
from crm_core.routes.imports import CSV_TYPE, read_upload
from crm_core.services import dnc as dnc_service

routes = ApiRoutes("dnc")


class DncOut(ResponseModel):
    id: int
    phone_e164: str
    campaign_id: int | None = Field(description="null: the global list")
    reason: str | None
    source: str
    added_by_id: int | None
    added_at: datetime


class DncQuery(CrmPageQuery):
    campaign_id: DbId | None = Field(None, description="a campaign's list (with scope all: and the global one)")
    scope: Literal["all", "global", "campaign"] = "all"
    phone: str | None = Field(None, max_length=64, description="one number, in any written form")


class DncIn(CrmBody):
    phone: str = Field(min_length=1, max_length=64, description='"+7 916 123-45-67", "8 (916) 123-45-67"')
    campaign_id: DbId | None = Field(None, description="null: the global list")
    reason: str | None = Field(None, max_length=300)


class DncDeleteQuery(CrmQuery):
    phone: str = Field(min_length=1, max_length=64)
    campaign_id: DbId | None = Field(None, description="null: the global list (admins)")


class DncImportQuery(CrmQuery):
    campaign_id: DbId | None = Field(None, description="null: the global list")
    reason: str | None = Field(None, max_length=300, description="for rows that give none")


class DncRejectedOut(ResponseModel):
    line: int
    reason: str


class DncImportOut(ResponseModel):
    added: int
    already: int = Field(description="numbers already on the list (or twice in the file)")
    rejected: list[DncRejectedOut]


@routes.get("/api/dnc", query=DncQuery, response=Page[DncOut])
async def list_dnc(req: ApiRequest) -> object:
    """Numbers on the global or a campaign's do-not-call list, newest first; supervisors and admins."""
    q: DncQuery = req.query
    return await dnc_service.dnc_numbers(
        req.db, req.user, campaign_id=q.campaign_id, scope=q.scope, phone=q.phone,
        default_region=req.ctx.default_region, limit=q.limit, offset=q.offset)


@routes.post("/api/dnc", body=DncIn, response=DncOut, status=201)
async def add_dnc(req: ApiRequest) -> object:
    """Put a number on the global or a campaign's do-not-call list (anyone who sees the campaign)."""
    b: DncIn = req.body
    return await dnc_service.add_dnc(req.db, req.user, b.phone, b.campaign_id, b.reason, "manual",
                                     default_region=req.ctx.default_region)


@routes.delete("/api/dnc", query=DncDeleteQuery, status=204)
async def remove_dnc(req: ApiRequest) -> None:
    """Take a number off a list: a campaign's (its supervisors, admins) or the global one (admins)."""
    q: DncDeleteQuery = req.query
    await dnc_service.remove_dnc(req.db, req.user, q.phone, q.campaign_id, default_region=req.ctx.default_region)


@routes.post("/api/dnc/import", query=DncImportQuery, response=DncImportOut, raw_body=(CSV_TYPE,))
async def import_dnc(req: ApiRequest) -> object:
    """Put every number of a CSV on a list (one a line, or a column телефон/phone); bad lines reported."""
    q: DncImportQuery = req.query
    dnc_service.check_may_import(req.user)  # before reading the file
    data = await read_upload(req.request)
    report = await dnc_service.import_dnc_csv(req.db, req.user, data, campaign_id=q.campaign_id, reason=q.reason,
                                              default_region=req.ctx.default_region)
    return DncImportOut(added=report.added, already=report.already,
                        rejected=[DncRejectedOut(line=line, reason=why) for line, why in report.rejected])
