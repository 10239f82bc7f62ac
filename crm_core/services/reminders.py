"""Reminders (напоминания) of a user's planned callbacks and meetings: which are due, each sent once,
and the user's list for today.

An event is reminded ``lead`` minutes before its planned time: a meeting's own
``reminder_minutes`` (set by a script outcome), else the type's default. The store
remembers the planned time a reminder went out for (``interactions.reminded_for``), so
a reminder is sent once even with several processes, and a rescheduled event is reminded
again. crm_core knows no bus: the caller passes the function that publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from crm_core.db import Database
from crm_core.errors import InvalidInput
from crm_core.models import Client, Interaction, InteractionStatus, InteractionType, Phone, Role, User, utcnow
from crm_core.regions import client_timezone, parse_timezone
from crm_core.rights import Actor, client_scope

log = logging.getLogger(__name__)

# A country's usual zone, for a user whose zone nobody gave (the settings' default region).
COUNTRY_ZONES = {"RU": "Europe/Moscow", "UA": "Europe/Kyiv", "BY": "Europe/Minsk", "KZ": "Asia/Almaty"}
MAX_BATCH = 500


@dataclass(frozen=True)
class ReminderRules:
    """Which events are reminded and how early; passed in by the composition root."""

    types: tuple[str, ...] = ("outgoing_call", "meeting")
    lead_minutes: Mapping[str, int] = field(default_factory=lambda: {"outgoing_call": 5, "meeting": 15})
    # An event whose time passed this long ago unreminded (the server was down) is not
    # reminded any more: the user's list for today shows it anyway.
    stale_after: timedelta = timedelta(hours=2)
    # The longest lead a meeting may ask for (reminder_minutes of a script: at most a week).
    max_lead: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Reminder:
    """One due reminder, addressed to its user."""

    user_id: int
    interaction_id: int
    client_id: int
    client_name: str
    type: str
    type_name: str
    status: str
    status_name: str
    subject: str
    planned_at: datetime
    remind_at: datetime
    phone: str | None
    client_timezone: str | None

    @property
    def minutes_before(self) -> int:
        return max(0, round((self.planned_at - self.remind_at).total_seconds() / 60))

    def payload(self) -> dict[str, Any]:
        """The ``reminder.due`` payload: the event's own fields (as /api/calendar gives them) and the client's time."""
        local = self.planned_at.astimezone(ZoneInfo(self.client_timezone)) if self.client_timezone else None
        return {
            "user_id": self.user_id, "interaction_id": self.interaction_id, "id": self.interaction_id,
            "client_id": self.client_id, "client_name": self.client_name, "type": self.type, "type_name": self.type_name,
            "status": self.status, "status_name": self.status_name, "is_final": False, "subject": self.subject,
            "planned_at": self.planned_at.isoformat(), "remind_at": self.remind_at.isoformat(),
            "minutes_before": self.minutes_before, "phone": self.phone, "client_timezone": self.client_timezone,
            "client_local_time": local.isoformat() if local else None,
        }


@dataclass(frozen=True)
class TodayItem:
    """A callback or a meeting of the user's day, in their time and the client's."""

    id: int
    client_id: int
    client_name: str
    type: str
    type_name: str
    status: str
    status_name: str
    subject: str
    planned_at: datetime
    local_time: datetime
    client_timezone: str | None
    client_local_time: datetime | None
    phone: str | None
    overdue: bool
    reminded: bool


def lead_of(type_code: str, details: Mapping[str, Any] | None, rules: ReminderRules) -> timedelta:
    """How long before its time an event is reminded: its own reminder_minutes, else its type's default."""
    own = (details or {}).get("reminder_minutes")
    if isinstance(own, int) and not isinstance(own, bool) and own >= 0:
        return min(timedelta(minutes=own), rules.max_lead)
    return timedelta(minutes=rules.lead_minutes.get(type_code, 0))


def _open_events(rules: ReminderRules):  # type: ignore[no-untyped-def]
    """Open events of the reminded types, of active users, on clients their owner still sees
    (the rule of crm_core.rights, applied to each event's own user)."""
    owner, responsible = aliased(User), aliased(User)
    owner_sees_client = or_(
        owner.role == Role.admin,
        Client.responsible_id == Interaction.user_id,
        and_(owner.role == Role.supervisor, owner.team_id.is_not(None), responsible.team_id == owner.team_id),
    )
    return (select(Interaction.id, Interaction.user_id, Interaction.client_id, Interaction.subject, Interaction.planned_at,
                   Interaction.details, Interaction.reminded_for, InteractionType.code, InteractionType.name,
                   InteractionStatus.code, InteractionStatus.name, Client.name, Client.region, Client.timezone)
            .join(InteractionType, InteractionType.id == Interaction.type_id)
            .join(InteractionStatus, InteractionStatus.id == Interaction.status_id)
            .join(Client, Client.id == Interaction.client_id)
            .join(owner, owner.id == Interaction.user_id)
            .outerjoin(responsible, responsible.id == Client.responsible_id)
            .where(InteractionType.code.in_(rules.types), InteractionStatus.is_final.is_(False),
                   Interaction.done_at.is_(None), Interaction.planned_at.is_not(None),
                   owner.is_active.is_(True), owner_sees_client))


async def _first_phones(s: AsyncSession, client_ids: set[int]) -> dict[int, str]:
    if not client_ids:
        return {}
    rows = await s.execute(select(Phone.client_id, Phone.e164).where(Phone.client_id.in_(client_ids))
                           .order_by(Phone.client_id, Phone.contact_id.is_not(None), Phone.id))
    first: dict[int, str] = {}
    for client_id, e164 in rows:
        first.setdefault(client_id, e164)
    return first


async def due_reminders(db: Database, now: datetime, rules: ReminderRules = ReminderRules()) -> list[Reminder]:
    """Open callbacks and meetings whose reminder time has come and that were not reminded at this planned time."""
    short = max([timedelta(minutes=m) for m in rules.lead_minutes.values()] + [timedelta(0)])
    stmt = (_open_events(rules)
            .where(Interaction.planned_at >= now - rules.stale_after, Interaction.planned_at <= now + rules.max_lead,
                   or_(Interaction.reminded_for.is_(None), Interaction.reminded_for != Interaction.planned_at),
                   # Only events with their own lead may be due further ahead than a type's default.
                   or_(Interaction.planned_at <= now + short, InteractionType.code == "meeting"))
            .order_by(Interaction.planned_at, Interaction.id)
            .limit(MAX_BATCH * 4))
    async with db.reading() as s:
        rows = (await s.execute(stmt)).all()
        phones = await _first_phones(s, {r[2] for r in rows})
    due = []
    for (iid, user_id, client_id, subject, planned_at, details, _, type_code, type_name, status_code, status_name,
         client_name, region, tz) in rows:
        remind_at = planned_at - lead_of(type_code, details, rules)
        if remind_at > now:
            continue
        phone = phones.get(client_id)
        due.append(Reminder(user_id, iid, client_id, client_name, type_code, type_name, status_code, status_name, subject,
                            planned_at, remind_at, phone, client_timezone(region, tz, phone)))
    return due[:MAX_BATCH]


async def send_due(db: Database, publish: Callable[[Reminder], Awaitable[None]], now: datetime | None = None,
                   rules: ReminderRules = ReminderRules()) -> list[Reminder]:
    """Claim each due reminder in the store and publish it; returns what this caller sent.

    A claim and its publication share one transaction: a reminder another process claimed
    first is skipped, and one whose publication failed is tried again on the next call.
    """
    sent = []
    for reminder in await due_reminders(db, now or utcnow(), rules):
        async with db.transaction() as s:
            claimed = await s.execute(
                update(Interaction)
                .where(Interaction.id == reminder.interaction_id, Interaction.planned_at == reminder.planned_at,
                       or_(Interaction.reminded_for.is_(None), Interaction.reminded_for != Interaction.planned_at))
                .values(reminded_for=reminder.planned_at)
                .execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                continue
            await publish(reminder)
        sent.append(reminder)
        log.info("reminder.sent interaction=%s user=%s planned_at=%s", reminder.interaction_id, reminder.user_id,
                 reminder.planned_at.isoformat())
    return sent


def user_zone(tz: str | None, default_region: str) -> str:
    """The zone a user's day is counted in: the one given, else the default region's country's."""
    if tz is None or not tz.strip():
        return COUNTRY_ZONES.get(default_region.upper(), "UTC")
    zone = parse_timezone(tz)
    try:
        if zone is None:
            raise KeyError(tz)
        ZoneInfo(zone)
    except (KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"tz {tz[:64]!r} is not a known time zone (e.g. Europe/Moscow)") from exc
    return zone


async def today(db: Database, actor: Actor, *, zone: str, now: datetime | None = None,
                rules: ReminderRules = ReminderRules()) -> list[TodayItem]:
    """The actor's own open callbacks and meetings planned today (in ``zone``), on clients they still see."""
    now = now or utcnow()
    local_now = now.astimezone(ZoneInfo(zone))
    start = datetime.combine(local_now.date(), time(0), tzinfo=ZoneInfo(zone))
    end = datetime.combine(local_now.date() + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone))
    stmt = (_open_events(rules)
            .where(Interaction.user_id == actor.user_id, Interaction.planned_at >= start, Interaction.planned_at < end,
                   client_scope(actor))
            .order_by(Interaction.planned_at, Interaction.id))
    async with db.reading() as s:
        rows = (await s.execute(stmt)).all()
        phones = await _first_phones(s, {r[2] for r in rows})
    items = []
    for (iid, _, client_id, subject, planned_at, _, reminded_for, type_code, type_name, status_code, status_name,
         client_name, region, tz) in rows:
        phone = phones.get(client_id)
        client_zone = client_timezone(region, tz, phone)
        items.append(TodayItem(
            id=iid, client_id=client_id, client_name=client_name, type=type_code, type_name=type_name,
            status=status_code, status_name=status_name, subject=subject, planned_at=planned_at,
            local_time=planned_at.astimezone(ZoneInfo(zone)), client_timezone=client_zone,
            client_local_time=planned_at.astimezone(ZoneInfo(client_zone)) if client_zone else None, phone=phone,
            overdue=planned_at < now, reminded=reminded_for == planned_at,
        ))
    return items
