"""Calls in the store: what the AMI bridge recorded, linked to the client and the agent.

``record_finished_call`` is a system path (no actor): the bridge calls it for every
finished call. The call lands in the client's history as an event of type
incoming_call / outgoing_call, so a manager who inherits the client sees it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.db import Database
from crm_core.errors import Conflict, InvalidInput, InvalidPhone
from crm_core.models import CALL_OUTCOMES, Call, Client, Interaction, Phone, User, utcnow
from crm_core.phones import normalize_phone
from crm_core.rights import Actor
from crm_core.services.clients import PageResult, check_aware, fits_id, load_visible_client
from crm_core.services.interactions import resolve_status

log = logging.getLogger(__name__)

DIRECTIONS = ("inbound", "outbound")
# "PJSIP/101", "PJSIP/101-0000002a", "SIP/101" -> the endpoint "101".
_CHANNEL = re.compile(r"^(?:[A-Za-z]+/)?(?P<endpoint>[^/@]+?)(?:-[0-9a-f]{8})?$")


@dataclass(frozen=True)
class CallRecord:
    """A finished call as the bridge hands it over (the tracker's FinishedCall, with real times).

    ``linkedid`` is the Asterisk Linkedid; ``action_id`` the Originate's ActionID when
    Zvonar placed the call. One of them identifies the call for the upsert.
    """

    direction: str
    outcome: str
    started_at: datetime | None = None
    number: str | None = None
    caller_name: str | None = None
    did: str | None = None
    queue: str | None = None
    agent: str | None = None
    linkedid: str | None = None
    action_id: str | None = None
    uniqueid: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    talk_seconds: int | None = None
    hangup_cause: int | str | None = None
    client_id: int | None = None
    campaign_id: int | None = None
    requested_by_id: int | None = None


@dataclass(frozen=True)
class RecordedCall:
    call_id: int
    client_id: int | None
    agent_id: int | None
    interaction_id: int | None
    created: bool


def _short(value: str | int | None, length: int) -> str | None:
    if value is None:
        return None
    text = "".join(ch for ch in str(value) if ch.isprintable()).strip()
    return text[:length] or None


def agent_endpoint(agent: str | None) -> str | None:
    """The user's phone endpoint from what the bridge saw ("101", "PJSIP/101-0000002a")."""
    text = _short(agent, 64)
    if text is None:
        return None
    match = _CHANNEL.match(text)
    return match.group("endpoint") if match else text


def interaction_status_code(direction: str, outcome: str) -> str:
    """The history status of a call: done if answered, else missed (in) / no_answer (out, недозвон)."""
    if outcome == "answered":
        return "done"
    return "missed" if direction == "inbound" else "no_answer"


async def _find_existing(s: AsyncSession, data: CallRecord) -> Call | None:
    if data.action_id:
        found = (await s.execute(select(Call).where(Call.action_id == data.action_id[:64]))).scalar_one_or_none()
        if found is not None:
            return found
    if data.linkedid:
        rows = await s.execute(select(Call).where(Call.ami_linkedid == data.linkedid[:64]).order_by(Call.id).limit(1))
        return rows.scalar_one_or_none()
    return None


async def _client_for(s: AsyncSession, data: CallRecord, e164: str | None) -> int | None:
    if data.client_id is not None and fits_id(data.client_id):
        if await s.get(Client, data.client_id) is not None:
            return data.client_id
    if e164 is None:
        return None
    return await s.scalar(select(Phone.client_id).where(Phone.e164 == e164))


async def record_finished_call(db: Database, data: CallRecord, *, default_region: str = "RU") -> RecordedCall:
    """Store a finished call (upsert by ActionID, then Linkedid), link client and agent, write its history line.

    A system path without an actor, for the AMI bridge; bad fields raise InvalidInput.
    """
    if data.direction not in DIRECTIONS:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}")
    if data.outcome not in CALL_OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(CALL_OUTCOMES)}")
    if not (data.action_id or data.linkedid):
        raise InvalidInput("a call needs its linkedid or action_id")
    for name in ("started_at", "answered_at", "ended_at"):
        check_aware(getattr(data, name), name)
    if data.talk_seconds is not None and not 0 <= data.talk_seconds <= 10 * 24 * 3600:
        raise InvalidInput("talk_seconds is out of range")
    e164 = None
    if data.number:
        try:
            e164 = normalize_phone(data.number, default_region)
        except InvalidPhone:
            # An anonymous or internal caller: the call is kept, just not linked to a client.
            log.info("call.number_unparsed linkedid=%s", data.linkedid)
    endpoint = agent_endpoint(data.agent)
    for attempt in (1, 2):
        try:
            call, interaction_id, created = await _upsert_call(db, data, e164, endpoint)
            break
        except IntegrityError as exc:
            if "action_id" not in str(exc.orig):
                raise
            if attempt == 2:
                raise Conflict(f"call {data.action_id} was recorded concurrently") from exc
            # Another writer (a click-to-call writing its row just after its Originate, or a
            # second bridge) committed this ActionID first: the second try updates its row.
            log.info("call.record_retried action_id=%s", data.action_id)
    log.info("call.recorded id=%s outcome=%s client=%s agent=%s created=%s",
             call.id, call.outcome, call.client_id, call.agent_id, created)
    return RecordedCall(call.id, call.client_id, call.agent_id, interaction_id, created)


async def _upsert_call(
    db: Database, data: CallRecord, e164: str | None, endpoint: str | None,
) -> tuple[Call, int | None, bool]:
    """One try at writing ``data``: the call, whether it was created, and its history line."""
    async with db.transaction() as s:
        call = await _find_existing(s, data)
        client_id = await _client_for(s, data, e164)
        agent_id = await s.scalar(select(User.id).where(User.phone_endpoint == endpoint)) if endpoint else None
        requester = None
        if fits_id(data.requested_by_id) and await s.get(User, data.requested_by_id) is not None:
            requester = data.requested_by_id
        created = call is None
        if call is None:
            call = Call(started_at=data.started_at or utcnow())
        call.direction = data.direction
        call.client_number = e164 or _short(data.number, 32)
        call.caller_name = _short(data.caller_name, 200) or call.caller_name
        call.did = _short(data.did, 32) or call.did
        call.queue = _short(data.queue, 80) or call.queue
        call.client_id = client_id or call.client_id
        call.agent_id = agent_id or call.agent_id
        call.agent_extension = endpoint or call.agent_extension
        call.campaign_id = data.campaign_id if fits_id(data.campaign_id) else call.campaign_id
        call.ami_uniqueid = _short(data.uniqueid, 64) or call.ami_uniqueid
        call.ami_linkedid = _short(data.linkedid, 64) or call.ami_linkedid
        call.action_id = _short(data.action_id, 64) or call.action_id
        if data.started_at is not None:
            call.started_at = data.started_at
        call.answered_at = data.answered_at or call.answered_at
        call.ended_at = data.ended_at or call.ended_at
        call.outcome = data.outcome
        call.talk_seconds = data.talk_seconds if data.talk_seconds is not None else call.talk_seconds
        call.hangup_cause = _short(data.hangup_cause, 8) or call.hangup_cause
        call.requested_by_id = requester or call.requested_by_id
        if created:
            s.add(call)
        await s.flush()
        interaction_id = await _write_history(s, call) if call.client_id else None
    return call, interaction_id, created


async def _write_history(s: AsyncSession, call: Call) -> int:
    type_code = "incoming_call" if call.direction == "inbound" else "outgoing_call"
    kind, status = await resolve_status(s, type_code, interaction_status_code(call.direction, call.outcome or ""), planned=False)
    details = {"outcome": call.outcome, "talk_seconds": call.talk_seconds, "number": call.client_number,
               "queue": call.queue, "campaign_id": call.campaign_id, "hangup_cause": call.hangup_cause}
    done_at = call.ended_at or call.answered_at or call.started_at
    subject = f"{kind.name} {call.client_number or ''}".strip()
    event = (await s.execute(select(Interaction).where(Interaction.call_id == call.id).limit(1))).unique().scalar_one_or_none()
    if event is None:
        event = Interaction(client_id=call.client_id, call_id=call.id, type_id=status.type_id, status_id=status.id,
                            user_id=call.agent_id or call.requested_by_id, subject=subject, done_at=done_at, details=details)
        s.add(event)
    else:
        event.client_id = call.client_id
        event.type_id, event.status_id = status.type_id, status.id
        event.user_id = call.agent_id or call.requested_by_id or event.user_id
        event.done_at, event.details = done_at, details
    await s.flush()
    return event.id


async def list_calls(db: Database, actor: Actor, client_id: int, *, limit: int = 50, offset: int = 0) -> PageResult[Call]:
    """The calls of a visible client, newest first."""
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    async with db.reading() as s:
        client = await load_visible_client(s, actor, client_id)
        total = await s.scalar(select(func.count(Call.id)).where(Call.client_id == client.id))
        stmt = select(Call).where(Call.client_id == client.id).order_by(Call.started_at.desc(), Call.id.desc())
        rows = await s.execute(stmt.limit(limit).offset(offset))
        return PageResult(list(rows.scalars()), int(total or 0), limit, offset)
