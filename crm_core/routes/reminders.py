"""The logged-in user's reminders over HTTP: today's callbacks and meetings."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from crm_core.api import ApiRequest, ApiRoutes, ResponseModel
from crm_core.routes.fields import CrmQuery
from crm_core.services import reminders as reminders_service

routes = ApiRoutes("reminders")


class TodayQuery(CrmQuery):
    tz: str | None = Field(None, max_length=64, description="your time zone (Europe/Moscow, UTC+5, МСК+4); "
                                                              "defaults to the installation's country's")


class TodayItemOut(ResponseModel):
    id: int = Field(description="the event (interaction) id")
    client_id: int
    client_name: str
    type: str
    type_name: str
    status: str
    status_name: str
    subject: str
    planned_at: datetime
    local_time: datetime = Field(description="planned_at in your time zone")
    client_timezone: str | None
    client_local_time: datetime | None = Field(description="planned_at in the client's zone, when it is known")
    phone: str | None = Field(description="the client's first number, E.164")
    overdue: bool
    reminded: bool = Field(description="its reminder.due has gone out")


@routes.get("/api/reminders/today", query=TodayQuery, response=list[TodayItemOut])
async def today(req: ApiRequest) -> object:
    """Your open callbacks and meetings planned today (your day), with the client's name and local time."""
    q: TodayQuery = req.query
    zone = reminders_service.user_zone(q.tz, req.ctx.default_region)
    return await reminders_service.today(req.db, req.user, zone=zone)
