"""Click-to-call: the user's own phone rings first, then the client's number.

Rights come from crm_core: a user may dial only the clients they may see.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ami_bridge.errors import AmiError, AmiOriginateRejected
from ami_bridge.protocol import check_field
from crm_core.db import Database
from crm_core.errors import ClientNotFound, ContactNotFound, InvalidInput, ServiceUnavailable
from crm_core.models import Call, Client, Phone, utcnow
from crm_core.phones import normalize_phone, phone_digits
from crm_core.rights import Actor, one_client_scope
from crm_core.services.clients import fits_id, load_visible_client
from crm_core.services.contacts import load_visible_contact

log = logging.getLogger(__name__)


class Originator(Protocol):
    async def originate(self, action: dict[str, Any], *, requested_by: int | None = None, client_id: int | None = None,
                        agent: str | None = None, number: str | None = None) -> str: ...


@dataclass(frozen=True)
class ClickToCallTarget:
    client_id: int
    client_name: str
    e164: str


@dataclass(frozen=True)
class PlacedCall:
    action_id: str
    call_id: int | None  # None: the store refused the row; the bridge records the call when it ends
    client_id: int
    number: str
    endpoint: str


def originate_action(
    endpoint: str, digits: str, client_name: str, *, agent_channel_template: str, context: str, timeout_ms: int,
    client_id: int, user_id: int,
) -> dict[str, Any]:
    """The Originate for one click (pure). The CallerID is what the agent's phone shows."""
    display = client_name.replace('"', "'")[:60]
    action = {
        "Channel": agent_channel_template.format(endpoint=endpoint),
        "Context": context,
        "Exten": digits,
        "Priority": "1",
        "CallerID": f'"{display}" <{digits}>',
        "Timeout": str(timeout_ms),
        "Async": "true",
        "Variable": [f"ZVONAR_CLIENT_ID={client_id}", f"ZVONAR_USER_ID={user_id}"],
    }
    for key, value in action.items():
        for item in value if isinstance(value, list) else [value]:
            check_field(key, item)
    return action


async def resolve_target(
    s: AsyncSession, actor: Actor, default_region: str, *, phone: str | None, contact_id: int | None,
    client_id: int | None,
) -> ClickToCallTarget:
    """Which client and number to dial, refusing anything the actor may not see (one query for a number or a client_id)."""
    if phone:
        e164 = normalize_phone(phone, default_region)
        found = (await s.execute(
            select(Client.id, Client.name).join(Phone, Phone.client_id == Client.id)
            .where(Phone.e164 == e164, one_client_scope(actor))
        )).first()
        if found is None:
            # One answer for a number nobody has and for one of a client the actor may not see.
            raise ClientNotFound(f"{e164} is not a number of any of your clients")
        return ClickToCallTarget(found.id, found.name, e164)
    if contact_id is not None:
        contact = await load_visible_contact(s, actor, contact_id)
        phones = list((await s.execute(select(Phone).where(Phone.contact_id == contact.id).order_by(Phone.id))).scalars())
        client = await load_visible_client(s, actor, contact.client_id, with_phones=True)
        chosen = phones[0] if phones else (client.phones[0] if client.phones else None)
        if chosen is None:
            raise ContactNotFound("this contact and their client have no phone number")
        return ClickToCallTarget(client.id, client.name, chosen.e164)
    if client_id is not None:
        if not fits_id(client_id):
            raise ClientNotFound()
        first = (await s.execute(
            select(Client.id, Client.name, Phone.e164).outerjoin(Phone, Phone.client_id == Client.id)
            .where(Client.id == client_id, one_client_scope(actor)).order_by(Phone.id).limit(1)
        )).first()
        if first is None:
            raise ClientNotFound()
        if first.e164 is None:
            raise InvalidInput("this client has no phone number")
        return ClickToCallTarget(first.id, first.name, first.e164)
    raise InvalidInput("give a phone, a contact_id or a client_id")


async def place_click_to_call(
    db: Database,
    originator: Originator | None,
    actor: Actor,
    *,
    default_region: str,
    agent_channel_template: str,
    context: str,
    timeout_ms: int,
    phone: str | None = None,
    contact_id: int | None = None,
    client_id: int | None = None,
) -> PlacedCall:
    """Ring the actor's own endpoint, then the client; the call row is written as the Originate goes out.

    The agent's phone rings when the Originate reaches Asterisk, so only the read that
    checks the target (one query, no write lock) stands before it; the row's insert and
    commit follow it, and a busy store writer no longer delays the ring. A refusal raises
    before anything is sent or written; an Originate that Asterisk refuses or does not
    confirm leaves a row that says ``failed``.
    """
    from ami_bridge.connection import new_action_id

    endpoint = actor.endpoint  # read with the session (users' endpoints change from the CLI, rarely)
    async with db.reading() as s:
        target = await resolve_target(s, actor, default_region, phone=phone, contact_id=contact_id, client_id=client_id)
    if not endpoint:
        raise InvalidInput("you have no phone endpoint set; ask an administrator to set yours")
    if originator is None:
        raise ServiceUnavailable("the PBX is not connected; try again in a moment")
    digits = phone_digits(target.e164)
    action = originate_action(
        endpoint, digits, target.client_name, agent_channel_template=agent_channel_template,
        context=context, timeout_ms=timeout_ms, client_id=target.client_id, user_id=actor.user_id,
    )
    action_id = action["ActionID"] = new_action_id()
    row = Call(direction="outbound", client_number=target.e164, client_id=target.client_id, agent_id=actor.user_id,
               agent_extension=endpoint, action_id=action_id, requested_by_id=actor.user_id)
    try:
        await originator.originate(action, requested_by=actor.user_id, client_id=target.client_id,
                                   agent=endpoint, number=digits)
    except AmiError as exc:
        row.outcome, row.ended_at = "failed", utcnow()
        await _write_call_row(db, row)
        if isinstance(exc, AmiOriginateRejected):
            raise ServiceUnavailable(f"Asterisk refused the call: {exc}") from exc
        # Not resent (it could ring twice); the user decides whether to click again.
        raise ServiceUnavailable(f"the call could not be confirmed by Asterisk: {exc}") from exc
    call_id = await _write_call_row(db, row)
    log.info("click_to_call.placed user=%s client_id=%s action_id=%s call_id=%s",
             actor.login, target.client_id, action_id, call_id)
    return PlacedCall(action_id, call_id, target.client_id, target.e164, endpoint)


async def _write_call_row(db: Database, row: Call) -> int | None:
    """Insert the click's call row and return its id; ``None`` if the store refused it.

    The bridge records a call when it ends, so one that failed within milliseconds may
    already have its row (same ActionID): that row is the click's. A store that refuses
    the write must not turn a ringing call into an error the user would answer with a
    second click: the call is still recorded by the bridge when it ends.
    """
    try:
        try:
            async with db.transaction() as s:
                s.add(row)
                await s.flush()
                return row.id
        except IntegrityError as exc:
            if "action_id" not in str(exc.orig):
                raise
        async with db.reading() as s:
            return await s.scalar(select(Call.id).where(Call.action_id == row.action_id))
    except (SQLAlchemyError, OSError) as exc:
        log.warning("click_to_call.row_not_written action_id=%s error=%s", row.action_id, type(exc).__name__)
        return None
