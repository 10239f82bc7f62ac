"""Appeals (обращения, inbound leads): who, the purpose, the products, the marketing channel.

The Bitrix24 flow: an appeal from a new caller creates the client card as "primary" and,
when a callback is asked for, the manager has ten minutes to call back. Appeals are
visible exactly when their client is (``crm_core.rights.client_scope``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.db import Database
from crm_core.errors import AppealNotFound, ContactNotFound, InvalidInput
from crm_core.models import APPEAL_STATUSES, Appeal, Client, ClientKind, Contact, MarketingChannel, utcnow
from crm_core.rights import Actor, client_scope
from crm_core.services.clients import (
    ClientInput,
    PageResult,
    PhoneInput,
    check_aware,
    check_period,
    clean_text,
    fits_id,
    insert_client,
    load_visible_client,
    period_days,
    translate_integrity,
)
from crm_core.services.hot_lead_store import hot_lead_for_appeal

log = logging.getLogger(__name__)

# Bitrix24 teaches users that a requested callback is due within ten minutes.
CALLBACK_WITHIN = timedelta(minutes=10)
MAX_PRODUCTS = 50
REPORT_MAX_DAYS = 3700



@dataclass(frozen=True)
class NewClientInput:
    """A caller not yet in the base: the card is created as "primary"."""

    name: str
    phone: str
    kind: ClientKind = ClientKind.person
    region: str | None = None


@dataclass(frozen=True)
class AppealInput:
    purpose: str
    client_id: int | None = None
    new_client: NewClientInput | None = None
    contact_id: int | None = None
    channel_code: str | None = None
    products: Sequence[str] = ()
    comment: str | None = None
    callback_requested: bool = False


@dataclass(frozen=True)
class ChannelStat:
    code: str | None
    name: str
    total: int
    done: int

    @property
    def conversion(self) -> float:
        """Share of the channel's appeals brought to "done" (0..1)."""
        return round(self.done / self.total, 4) if self.total else 0.0


@dataclass(frozen=True)
class ChannelReport:
    start: datetime
    end: datetime
    channels: list[ChannelStat]

    @property
    def total(self) -> int:
        return sum(c.total for c in self.channels)

    @property
    def done(self) -> int:
        return sum(c.done for c in self.channels)


def _clean_products(values: Sequence[str]) -> list[str]:
    if len(values) > MAX_PRODUCTS:
        raise InvalidInput(f"at most {MAX_PRODUCTS} products")
    out: list[str] = []
    for value in values:
        text = clean_text(value, "product", 120)
        if text and text not in out:
            out.append(text)
    return out


async def _channel_id(s: AsyncSession, code: str | None) -> int | None:
    if code is None:
        return None
    found = await s.scalar(select(MarketingChannel.id).where(MarketingChannel.code == code))
    if found is None:
        raise InvalidInput(f"unknown marketing channel {code!r}")
    return found


async def _check_contact(s: AsyncSession, client_id: int, contact_id: int | None) -> None:
    if contact_id is None:
        return
    owner = await s.scalar(select(Contact.client_id).where(Contact.id == contact_id)) if fits_id(contact_id) else None
    if owner != client_id:
        raise ContactNotFound(f"contact {contact_id} is not a contact of this client")


async def _reload(s: AsyncSession, appeal_id: int) -> Appeal:
    stmt = select(Appeal).where(Appeal.id == appeal_id).execution_options(populate_existing=True)
    return (await s.execute(stmt)).scalar_one()


async def create_appeal(
    db: Database, actor: Actor, data: AppealInput, *, default_region: str = "RU", now: datetime | None = None
) -> Appeal:
    """Register an appeal for a visible client, or for a new "primary" client made from name and phone."""
    if (data.client_id is None) == (data.new_client is None):
        raise InvalidInput("give either client_id or new_client")
    purpose = clean_text(data.purpose, "purpose", 300, required=True)
    products = _clean_products(data.products)
    comment = clean_text(data.comment, "comment", 10_000)
    moment = check_aware(now, "now") or utcnow()
    try:
        async with db.transaction() as s:
            if data.new_client is not None:
                fresh = data.new_client
                client = await insert_client(
                    s, actor,
                    ClientInput(name=fresh.name, kind=fresh.kind, status="primary", region=fresh.region,
                                source_channel=data.channel_code, phones=[PhoneInput(fresh.phone)]),
                    default_region,
                )
            else:
                assert data.client_id is not None
                client = await load_visible_client(s, actor, data.client_id)
            await _check_contact(s, client.id, data.contact_id)
            appeal = Appeal(
                client_id=client.id, contact_id=data.contact_id, channel_id=await _channel_id(s, data.channel_code),
                purpose=purpose, products=products, comment=comment, status="new",
                callback_requested=bool(data.callback_requested),
                callback_due_at=moment + CALLBACK_WITHIN if data.callback_requested else None,
                created_by_id=actor.user_id, created_at=moment,
            )
            s.add(appeal)
            await s.flush()
            # A callback asked for goes to the running campaign that takes hot appeals, if any.
            await hot_lead_for_appeal(s, appeal, moment)
            appeal = await _reload(s, appeal.id)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    log.info("appeal.created id=%s client=%s channel=%s callback=%s by=%s",
             appeal.id, appeal.client_id, data.channel_code, appeal.callback_requested, actor.login)
    return appeal


async def load_visible_appeal(s: AsyncSession, actor: Actor, appeal_id: int) -> Appeal:
    if not fits_id(appeal_id):
        raise AppealNotFound()
    stmt = select(Appeal).join(Client, Client.id == Appeal.client_id).where(Appeal.id == appeal_id, client_scope(actor))
    found = (await s.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise AppealNotFound()
    return found


async def get_appeal(db: Database, actor: Actor, appeal_id: int) -> Appeal:
    async with db.reading() as s:
        return await load_visible_appeal(s, actor, appeal_id)


_UPDATABLE = {"status", "purpose", "products", "comment", "channel_code", "contact_id"}


async def update_appeal(db: Database, actor: Actor, appeal_id: int, changes: Mapping[str, Any]) -> Appeal:
    """Change an appeal (PATCH): its status (new, in_work, done, lost), text, products, channel."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise InvalidInput(f"these fields cannot be changed here: {', '.join(sorted(unknown))}")
    if "status" in changes and changes["status"] not in APPEAL_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(APPEAL_STATUSES)}")
    async with db.transaction() as s:
        appeal = await load_visible_appeal(s, actor, appeal_id)
        if "status" in changes:
            appeal.status = changes["status"]
        if "purpose" in changes:
            appeal.purpose = clean_text(changes["purpose"], "purpose", 300, required=True)
        if "products" in changes:
            appeal.products = _clean_products(changes["products"] or ())
        if "comment" in changes:
            appeal.comment = clean_text(changes["comment"], "comment", 10_000)
        if "channel_code" in changes:
            appeal.channel_id = await _channel_id(s, changes["channel_code"])
        if "contact_id" in changes:
            await _check_contact(s, appeal.client_id, changes["contact_id"])
            appeal.contact_id = changes["contact_id"]
        await s.flush()
        appeal = await _reload(s, appeal.id)
    log.info("appeal.updated id=%s by=%s fields=%s", appeal_id, actor.login, ",".join(sorted(changes)))
    return appeal


async def list_appeals(
    db: Database,
    actor: Actor,
    *,
    status: str | None = None,
    channel_code: str | None = None,
    client_id: int | None = None,
    callback_overdue: bool = False,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> PageResult[Appeal]:
    """Appeals of visible clients, newest first; ``callback_overdue`` keeps the new ones past their callback time."""
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    check_period(created_from, created_to)
    stmt = select(Appeal).join(Client, Client.id == Appeal.client_id).where(client_scope(actor))
    if status is not None:
        stmt = stmt.where(Appeal.status == status)
    if channel_code is not None:
        stmt = stmt.join(MarketingChannel, MarketingChannel.id == Appeal.channel_id).where(MarketingChannel.code == channel_code)
    if client_id is not None:
        stmt = stmt.where(Appeal.client_id == (client_id if fits_id(client_id) else -1))
    if callback_overdue:
        stmt = stmt.where(Appeal.status == "new", Appeal.callback_due_at < (check_aware(now, "now") or utcnow()))
    if created_from is not None:
        stmt = stmt.where(Appeal.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(Appeal.created_at < created_to)
    async with db.reading() as s:
        total = await s.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await s.execute(stmt.order_by(Appeal.created_at.desc(), Appeal.id.desc()).limit(limit).offset(offset))
        return PageResult(list(rows.scalars()), int(total or 0), limit, offset)


async def list_channels(db: Database) -> list[MarketingChannel]:
    """The marketing channels (каналы: how they heard of us)."""
    async with db.reading() as s:
        return list((await s.execute(select(MarketingChannel).order_by(MarketingChannel.id))).scalars())


async def channel_stats(db: Database, actor: Actor, start: datetime, end: datetime) -> ChannelReport:
    """Appeals per channel created in [start, end) and the share brought to "done", over visible clients."""
    period_days(start, end, REPORT_MAX_DAYS)
    done = func.sum(case((Appeal.status == "done", 1), else_=0))
    stmt = (
        select(Appeal.channel_id, func.count(Appeal.id), done)
        .join(Client, Client.id == Appeal.client_id)
        .where(Appeal.created_at >= start, Appeal.created_at < end, client_scope(actor))
        .group_by(Appeal.channel_id)
    )
    async with db.reading() as s:
        counts = {channel_id: (int(total), int(won or 0)) for channel_id, total, won in await s.execute(stmt)}
        channels = list((await s.execute(select(MarketingChannel).order_by(MarketingChannel.id))).scalars())
    rows = [ChannelStat(c.code, c.name, *counts.get(c.id, (0, 0))) for c in channels]
    if None in counts:
        rows.append(ChannelStat(None, "Не указан", *counts[None]))
    return ChannelReport(start, end, rows)
