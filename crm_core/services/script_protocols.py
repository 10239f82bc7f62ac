"""Call scripts and their protocols in the store: versions, sessions, entries, outcomes.

crm_core does not know how a script runs: the caller (scripts_engine.protocol_store)
passes in a pure function that turns what is stored into what to add. Each use case is
one transaction, so a refused action writes nothing, and a dropped call or a restarted
server finds every entry that was accepted.

Who sees a protocol: its operator, their team's supervisor, an admin (``user_scope``),
and only while the client is visible to them (``client_scope``). Only the operator
running a session acts on it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.db import Database
from crm_core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    ScriptNotFound,
    ScriptSessionNotFound,
)
from crm_core.models import (
    Attempt,
    Call,
    CallScript,
    Client,
    Contact,
    Interaction,
    Lead,
    Phone,
    Role,
    ScriptProtocol,
    ScriptProtocolEntry,
    User,
    utcnow,
)
from crm_core.regions import client_timezone
from crm_core.rights import Actor, client_scope, require_role, user_scope
from crm_core.services import dnc as dnc_service
from crm_core.services import leads as leads_service
from crm_core.services.campaigns import load_campaign
from crm_core.services.clients import (
    CLIENT_STATUSES,
    fits_id,
    load_visible_client,
    period_days,
)
from crm_core.services.interactions import resolve_status
from crm_core.services.proposals import ItemInput, ProposalInput, insert_proposal

log = logging.getLogger(__name__)

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
RESULTS_MAX_DAYS = 366
# Lead outcomes go through the operator's wrap-up (crm_core.services.leads.set_disposition),
# its own transaction: recorded as pending with the protocol, then applied right after it.
LEAD_OUTCOMES = ("lead_done", "lead_failed")
LEAD_PENDING = "pending: the lead's disposition is set after the protocol is saved"
_HIDDEN_CLIENT_COLUMNS = frozenset({"name_search"})


@dataclass(frozen=True)
class ProtocolRecord:
    """A protocol as stored: its script version, its entries (ProtocolEntry dicts plus `at`)."""

    id: int
    script: CallScript
    client_id: int
    call_id: int | None
    user_id: int
    campaign_id: int | None
    context: dict[str, Any]
    status: str
    started_at: datetime
    finished_at: datetime | None
    outcomes: list[dict[str, Any]] | None
    entries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ActionResult:
    """What one action adds: new entries (ProtocolEntry dicts), seqs now superseded, the end."""

    new_entries: Sequence[Mapping[str, Any]]
    superseded: Sequence[int] = ()
    finished: bool = False
    outcomes: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class AnswerRows:
    """The answers in force of finished protocols in a period, for the results report."""

    script: CallScript
    protocols: int
    answers: list[tuple[int, str, Any]]  # (protocol id, step id, stored value), in protocol order


# --- script versions ------------------------------------------------------------------------


def clean_code(code: str) -> str:
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidInput("code must be lower-case latin letters, digits and '_', starting with a letter (at most 64)")
    return code


async def publish_version(db: Database, actor: Actor, *, code: str, name: str, language: str, source: str) -> CallScript:
    """Store a checked script as the next version of `code` (admin or supervisor).

    Publishing the very text of the latest version again returns that version.
    """
    require_role(actor, Role.admin, Role.supervisor)
    code = clean_code(code)
    try:
        async with db.transaction() as s:
            latest = await _latest(s, code)
            if latest is not None and latest.source == source:
                return latest
            row = CallScript(code=code, name=name[:300], language=language[:8], source=source, created_by=actor.user_id,
                             version=(latest.version + 1) if latest is not None else 1)
            s.add(row)
            await s.flush()
    except IntegrityError as exc:
        raise Conflict(f"script {code!r} got a new version meanwhile; publish again") from exc
    log.info("script.published code=%s version=%s id=%s by=%s", code, row.version, row.id, actor.login)
    return row


async def _latest(s: AsyncSession, code: str) -> CallScript | None:
    stmt = select(CallScript).where(CallScript.code == code).order_by(CallScript.version.desc()).limit(1)
    return (await s.execute(stmt)).scalar_one_or_none()


async def get_version(db: Database, script_id: int) -> CallScript:
    """One script version by id."""
    async with db.reading() as s:
        row = await s.get(CallScript, script_id) if fits_id(script_id) else None
    if row is None:
        raise ScriptNotFound()
    return row


async def latest_version(db: Database, code: str) -> CallScript:
    """The newest version of the script `code`."""
    async with db.reading() as s:
        row = await _latest(s, clean_code(code))
    if row is None:
        raise ScriptNotFound(f"no script with code {code!r}")
    return row


async def list_latest(db: Database) -> list[CallScript]:
    """The newest version of every script, by code."""
    newest = select(CallScript.code, func.max(CallScript.version).label("v")).group_by(CallScript.code).subquery()
    stmt = (select(CallScript).join(newest, (CallScript.code == newest.c.code) & (CallScript.version == newest.c.v))
            .order_by(CallScript.code))
    async with db.reading() as s:
        return list((await s.execute(stmt)).scalars())


# --- sessions -------------------------------------------------------------------------------

Plan = Callable[[CallScript, dict[str, Any]], tuple[dict[str, Any], Sequence[Mapping[str, Any]]]]
Act = Callable[[ProtocolRecord], ActionResult]


async def start_protocol(
    db: Database, actor: Actor, *, client_id: int, call_id: int | None, plan: Plan, script_id: int | None = None,
    code: str | None = None, campaign_id: int | None = None,
) -> ProtocolRecord:
    """Open a session on a visible client: `plan(script, call_facts)` gives the context to keep
    and the first entries.

    The script is the version `script_id`, or the newest of `code`; in a campaign (given, or
    the call's) it is the version the campaign pinned at launch, whatever was published since.
    """
    async with db.transaction() as s:
        client = await load_visible_client(s, actor, client_id)
        call = await _call_of(s, client.id, call_id)
        if call is not None and call.campaign_id is not None:
            if campaign_id not in (None, call.campaign_id):
                raise InvalidInput(f"campaign_id: call {call.id} belongs to campaign {call.campaign_id}")
            campaign_id = call.campaign_id
        script = await _script_for(s, actor, script_id, code, campaign_id)
        facts = await call_facts(s, actor, client, call)
        context, entries = plan(script, facts)
        protocol = ScriptProtocol(script_id=script.id, client_id=client.id, call_id=call.id if call else None,
                                  user_id=actor.user_id, campaign_id=campaign_id,
                                  context=dict(context), status="active", started_at=utcnow())
        s.add(protocol)
        await s.flush()
        _insert_entries(s, protocol.id, entries)
        await s.flush()
        record = await _record(s, protocol, script)
    log.info("script_session.started id=%s script=%s client=%s call=%s by=%s", record.id, script.id, client.id,
             record.call_id, actor.login)
    return record


async def _script_for(s: AsyncSession, actor: Actor, script_id: int | None, code: str | None,
                      campaign_id: int | None) -> CallScript:
    if campaign_id is not None:
        campaign = await load_campaign(s, actor, campaign_id)
        if campaign.script_id is None:
            raise InvalidInput(f"campaign_id: campaign {campaign.id} has no script version pinned "
                               "(give it a script and launch it)")
        if script_id not in (None, campaign.script_id):
            raise InvalidInput(f"script_id: campaign {campaign.id} runs script version id {campaign.script_id}")
        if code not in (None, campaign.script_code):
            raise InvalidInput(f"code: campaign {campaign.id} runs the script {campaign.script_code!r}")
        script_id = campaign.script_id
    elif (script_id is None) == (code is None):
        raise InvalidInput("give either script_id or code")
    elif script_id is None:
        assert code is not None
        latest = await _latest(s, clean_code(code))
        if latest is None:
            raise ScriptNotFound(f"no script with code {code!r}")
        return latest
    script = await s.get(CallScript, script_id) if fits_id(script_id) else None
    if script is None:
        raise ScriptNotFound()
    return script


async def _call_of(s: AsyncSession, client_id: int, call_id: int | None) -> Call | None:
    if call_id is None:
        return None
    call = await s.get(Call, call_id) if fits_id(call_id) else None
    # A call of another client (or none at all) is refused alike: no hint what it is.
    if call is None or call.client_id not in (None, client_id):
        raise NotFound(f"no call {call_id} with this client")
    return call


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


# Russian, Ukrainian and Belarusian patronymic endings (Андреевна, Петрович, Іванівна, Міхайлаўна).
_PATRONYMIC_ENDINGS = ("вич", "вна", "чна", "ич", "івна", "ївна", "віч", "ўна", "оглы", "кызы")


def _is_patronymic(word: str) -> bool:
    return word.lower().endswith(_PATRONYMIC_ENDINGS)


def _first_name(full_name: str) -> str:
    # "Смирнов Кирилл Андреевич" (surname first) or "Ольга Андреевна Иванова" (given name
    # first): the patronymic's place tells which; two words are "Кирилл Смирнов".
    words = full_name.split()
    if not words:
        return ""
    if len(words) >= 3:
        return words[0] if _is_patronymic(words[1]) and not _is_patronymic(words[2]) else words[1]
    return words[0]


async def call_facts(s: AsyncSession, actor: Actor, client: Client, call: Call | None) -> dict[str, Any]:
    """The call's data as plain JSON: the client card, its first contact, the operator, the
    number talked to, and `today` in the client's zone (UTC when it is unknown)."""
    client_data = {c.key: _plain(getattr(client, c.key)) for c in Client.__table__.columns
                   if c.key not in _HIDDEN_CLIENT_COLUMNS}
    contact = (await s.execute(select(Contact).where(Contact.client_id == client.id).order_by(Contact.id).limit(1))
               ).scalar_one_or_none()
    contact_data: dict[str, Any] = {}
    if contact is not None:
        contact_data = {c.key: _plain(getattr(contact, c.key)) for c in Contact.__table__.columns}
        contact_data["full_name"] = " ".join(p for p in (contact.last_name, contact.first_name, contact.middle_name) if p)
    user = await s.get(User, actor.user_id)
    assert user is not None
    operator = {"id": user.id, "name": user.full_name, "first_name": _first_name(user.full_name), "login": user.login,
                "extension": user.phone_endpoint, "team": user.team.name if user.team else None}
    phone = call.client_number if call is not None else None
    if phone is None:
        phone = await s.scalar(select(Phone.e164).where(Phone.client_id == client.id).order_by(Phone.id).limit(1))
    zone = client_timezone(client.region, client.timezone, phone)
    today = datetime.now(ZoneInfo(zone)).date() if zone else datetime.now(UTC).date()
    return {"client": client_data, "contact": contact_data, "operator": operator, "phone": phone,
            "today": today.isoformat()}


def _insert_entries(s: AsyncSession, protocol_id: int, entries: Sequence[Mapping[str, Any]]) -> None:
    now = utcnow()
    for e in entries:
        s.add(ScriptProtocolEntry(
            protocol_id=protocol_id, seq=e["seq"], kind=e["kind"], step_id=e["step"], text=e.get("text"),
            value=e.get("value"), route=e.get("route"), superseded=bool(e.get("superseded")),
            outcome=dict(e["outcome"]) if e.get("outcome") is not None else None, at=now,
        ))


async def _record(s: AsyncSession, protocol: ScriptProtocol, script: CallScript) -> ProtocolRecord:
    rows = (await s.execute(select(ScriptProtocolEntry).where(ScriptProtocolEntry.protocol_id == protocol.id)
                            .order_by(ScriptProtocolEntry.seq).execution_options(populate_existing=True))).scalars()
    entries = [{"seq": e.seq, "kind": e.kind, "step": e.step_id, "text": e.text, "value": e.value, "route": e.route,
                "superseded": e.superseded, "outcome": e.outcome, "at": e.at} for e in rows]
    return ProtocolRecord(
        id=protocol.id, script=script, client_id=protocol.client_id, call_id=protocol.call_id, user_id=protocol.user_id,
        campaign_id=protocol.campaign_id, context=dict(protocol.context or {}), status=protocol.status,
        started_at=protocol.started_at, finished_at=protocol.finished_at,
        outcomes=list(protocol.outcomes) if protocol.outcomes is not None else None, entries=entries,
    )


async def _visible_protocol(s: AsyncSession, actor: Actor, protocol_id: int, *, lock: bool = False) -> ScriptProtocol:
    if not fits_id(protocol_id):
        raise ScriptSessionNotFound()
    stmt = (select(ScriptProtocol)
            .join(Client, Client.id == ScriptProtocol.client_id)
            .join(User, User.id == ScriptProtocol.user_id)
            .where(ScriptProtocol.id == protocol_id, client_scope(actor), user_scope(actor)))
    if lock:
        # Two clicks at once must not both append seq N+1: the second waits (PostgreSQL);
        # on SQLite the unique (protocol_id, seq) refuses it.
        stmt = stmt.with_for_update(of=ScriptProtocol)
    found = (await s.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise ScriptSessionNotFound()
    return found


async def get_protocol(db: Database, actor: Actor, protocol_id: int) -> ProtocolRecord:
    """A session with every entry, for its operator, their supervisor or an admin."""
    async with db.reading() as s:
        protocol = await _visible_protocol(s, actor, protocol_id)
        script = await s.get(CallScript, protocol.script_id)
        assert script is not None
        return await _record(s, protocol, script)


async def act_on_protocol(db: Database, actor: Actor, protocol_id: int, act: Act) -> ProtocolRecord:
    """Apply one operator action: `act(record)` says what to add; it is written in one
    transaction, and on the last step the outcomes crm_core can carry out are applied."""
    try:
        async with db.transaction() as s:
            protocol = await _visible_protocol(s, actor, protocol_id, lock=True)
            if protocol.user_id != actor.user_id:
                raise Forbidden("only the operator running this session may act on it")
            if protocol.status != "active":
                raise Conflict(f"the session is {protocol.status}; its protocol no longer changes")
            script = await s.get(CallScript, protocol.script_id)
            assert script is not None
            result = act(await _record(s, protocol, script))
            _insert_entries(s, protocol.id, result.new_entries)
            if result.superseded:
                await s.execute(update(ScriptProtocolEntry)
                                .where(ScriptProtocolEntry.protocol_id == protocol.id,
                                       ScriptProtocolEntry.seq.in_(list(result.superseded)))
                                .values(superseded=True))
            if result.finished:
                protocol.outcomes = await _apply_outcomes(s, protocol, script, result.outcomes)
                protocol.status = "finished"
                protocol.finished_at = utcnow()
            await s.flush()
            record = await _record(s, protocol, script)
    except IntegrityError as exc:
        raise Conflict("the session changed meanwhile; reload it and try again") from exc
    log.info("script_session.action id=%s entries=%s superseded=%s finished=%s by=%s", protocol_id,
             len(result.new_entries), len(result.superseded), result.finished, actor.login)
    if result.finished and any(o.get("note") == LEAD_PENDING for o in record.outcomes or ()):
        record = await _apply_lead_outcomes(db, actor, record)
    return record


# --- outcomes -------------------------------------------------------------------------------


def _planned_at(params: Mapping[str, Any]) -> tuple[datetime | None, str | None]:
    local_time, zone = params.get("local_time"), params.get("timezone")
    if not local_time:
        return None, "no moment: the script gave neither a date answer nor a day offset"
    if not zone:
        return None, "the client's time zone is unknown (no region, zone or known number): plan it by hand"
    try:
        moment = datetime.fromisoformat(str(local_time)).replace(tzinfo=ZoneInfo(str(zone)))
    except (ValueError, KeyError) as exc:
        return None, f"cannot read the moment {str(local_time)[:40]} in {str(zone)[:64]}: {exc}"
    return moment.astimezone(UTC), None


async def _plan_event(s: AsyncSession, protocol: ScriptProtocol, script: CallScript, type_code: str,
                      params: Mapping[str, Any], subject: str) -> dict[str, Any]:
    planned_at, problem = _planned_at(params)
    if planned_at is None:
        return {"applied": False, "note": problem}
    _, status = await resolve_status(s, type_code, None, planned=True)
    body = params.get("comment")
    details = {"script_protocol_id": protocol.id, "script_id": script.id, "script_code": script.code,
               "outcome": params.get("kind")}
    for key in ("duration_minutes", "reminder_minutes", "timezone", "local_time"):
        if params.get(key) is not None:
            details[key] = params[key]
    event = Interaction(client_id=protocol.client_id, type_id=status.type_id, status_id=status.id,
                        user_id=protocol.user_id, call_id=protocol.call_id, subject=subject[:300],
                        body=str(body)[:20_000] if body else None, planned_at=planned_at, details=details)
    s.add(event)
    await s.flush()
    return {"applied": True, "interaction_id": event.id, "planned_at": planned_at.isoformat()}


async def _add_dnc(s: AsyncSession, protocol: ScriptProtocol, params: Mapping[str, Any]) -> dict[str, Any]:
    # The person asked not to be called: the global list, not only this campaign's.
    phone = params.get("phone") or await s.scalar(
        select(Phone.e164).where(Phone.client_id == protocol.client_id).order_by(Phone.id).limit(1))
    if not phone:
        return {"applied": False, "note": "no number to put on the do-not-call list (no call, no phone on the card)"}
    try:
        e164 = dnc_service.normalise(str(phone))
    except DomainError as exc:
        return {"applied": False, "note": exc.message}
    reason = str(params.get("reason") or "Попросил не звонить")[:300]
    row, new = await dnc_service.add_in(s, protocol.user_id, e164, None, reason, "script", utcnow())
    return {"applied": True, "dnc_id": row.id, "phone": e164, "already_listed": not new}


async def _draft_proposal(s: AsyncSession, protocol: ScriptProtocol, params: Mapping[str, Any]) -> dict[str, Any]:
    codes = [str(p) for p in params.get("products") or ()]
    names = [str(n) for n in params.get("product_names") or ()]
    # Prices are the manager's to fill in: the draft lists what the client asked about.
    items = [ItemInput(product=(names[i] if i < len(names) else code)[:300], product_code=code[:64], quantity=1, price=0)
             for i, code in enumerate(codes)]
    data = ProposalInput(subject=str(params.get("subject") or "Коммерческое предложение")[:300],
                         comment=str(params["comment"])[:20_000] if params.get("comment") else None, items=items)
    try:
        # Every check comes before the first write, so a refusal leaves the transaction clean.
        proposal = await insert_proposal(s, client_id=protocol.client_id, author_id=protocol.user_id, data=data,
                                         script_protocol_id=protocol.id)
    except DomainError as exc:
        return {"applied": False, "note": exc.message}
    return {"applied": True, "proposal_id": proposal.id}


async def _find_lead(s: AsyncSession, protocol: ScriptProtocol) -> Lead | None:
    if protocol.call_id is not None:
        lead_id = await s.scalar(select(Attempt.lead_id).where(Attempt.call_id == protocol.call_id)
                                 .order_by(Attempt.id.desc()).limit(1))
        if lead_id is not None:
            return await s.get(Lead, lead_id)
    phone = (protocol.context or {}).get("phone")
    stmt = (select(Lead).where(Lead.campaign_id == protocol.campaign_id, Lead.client_id == protocol.client_id)
            .order_by((Lead.phone_e164 == phone).desc() if phone else Lead.id, Lead.updated_at.desc(), Lead.id.desc())
            .limit(1))
    return (await s.execute(stmt)).scalar_one_or_none()


async def _lead_outcome(s: AsyncSession, protocol: ScriptProtocol, params: Mapping[str, Any]) -> dict[str, Any]:
    if protocol.campaign_id is None:
        return {"applied": False, "note": "not a campaign call: there is no lead to mark"}
    lead = await _find_lead(s, protocol)
    if lead is None:
        return {"applied": False, "note": f"campaign {protocol.campaign_id} has no lead for this client"}
    return {"applied": False, "note": LEAD_PENDING, "campaign_id": protocol.campaign_id, "lead_id": lead.id}


async def _apply_lead_outcomes(db: Database, actor: Actor, record: ProtocolRecord) -> ProtocolRecord:
    """Set the lead's disposition for each pending lead outcome, then store how it went."""
    outcomes = [dict(o) for o in record.outcomes or ()]
    for item in outcomes:
        if item.get("note") != LEAD_PENDING:
            continue
        del item["note"]
        try:
            lead = await leads_service.set_disposition(db, actor, item["campaign_id"], item["lead_id"],
                                                       str(item.get("disposition") or ""), item.get("comment"))
        except DomainError as exc:
            item.update(applied=False, note=exc.message)
            log.warning("script_session.lead_outcome_refused id=%s lead=%s error=%s", record.id, item["lead_id"], exc)
        else:
            item.update(applied=True, lead_state=lead.state)
    async with db.transaction() as s:
        await s.execute(update(ScriptProtocol).where(ScriptProtocol.id == record.id).values(outcomes=outcomes))
    return replace(record, outcomes=outcomes)


async def _apply_outcomes(s: AsyncSession, protocol: ScriptProtocol, script: CallScript,
                          outcomes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Carry out the outcomes: set_status, callback (a planned outgoing call), meeting, add_dnc,
    proposal_draft here; lead_done / lead_failed are marked pending for _apply_lead_outcomes."""
    done: list[dict[str, Any]] = []
    for outcome in outcomes:
        item = dict(outcome)
        kind = item.get("kind")
        if kind == "set_status":
            status = item.get("status")
            if status not in CLIENT_STATUSES:
                item.update(applied=False, note=f"unknown client status {str(status)[:40]!r}")
            else:
                client = await s.get(Client, protocol.client_id)
                assert client is not None
                item.update(applied=True, previous=client.status)
                client.status = status
        elif kind == "callback":
            subject = item.get("comment") or f"Перезвонить: «{script.name}»"
            item.update(await _plan_event(s, protocol, script, "outgoing_call", item, str(subject)))
        elif kind == "meeting":
            subject = item.get("subject") or script.name
            item.update(await _plan_event(s, protocol, script, "meeting", item, str(subject)))
        elif kind == "add_dnc":
            item.update(await _add_dnc(s, protocol, item))
        elif kind == "proposal_draft":
            item.update(await _draft_proposal(s, protocol, item))
        elif kind in LEAD_OUTCOMES:
            item.update(await _lead_outcome(s, protocol, item))
        else:
            item.update(applied=True)  # "end": nothing to do
        done.append(item)
    return done


# --- results --------------------------------------------------------------------------------


async def answer_rows(db: Database, actor: Actor, script_id: int, start: datetime | None, end: datetime | None, *,
                      campaign_id: int | None = None) -> AnswerRows:
    """Answers in force (not superseded) of the finished protocols of one script version
    started in [start, end) and/or run in one campaign, over the protocols the actor may see."""
    if start is None or end is None:
        if campaign_id is None or (start, end) != (None, None):
            raise InvalidInput("give the period (from and to), or a campaign_id")
    else:
        period_days(start, end, RESULTS_MAX_DAYS)
    async with db.reading() as s:
        script = await s.get(CallScript, script_id) if fits_id(script_id) else None
        if script is None:
            raise ScriptNotFound()
        visible = (select(ScriptProtocol.id)
                   .join(Client, Client.id == ScriptProtocol.client_id)
                   .join(User, User.id == ScriptProtocol.user_id)
                   .where(ScriptProtocol.script_id == script.id, ScriptProtocol.status == "finished",
                          client_scope(actor), user_scope(actor)))
        if start is not None and end is not None:
            visible = visible.where(ScriptProtocol.started_at >= start, ScriptProtocol.started_at < end)
        if campaign_id is not None:
            campaign = await load_campaign(s, actor, campaign_id)
            visible = visible.where(ScriptProtocol.campaign_id == campaign.id)
        count = await s.scalar(select(func.count()).select_from(visible.subquery()))
        rows = await s.execute(select(ScriptProtocolEntry.protocol_id, ScriptProtocolEntry.step_id, ScriptProtocolEntry.value)
                               .where(ScriptProtocolEntry.protocol_id.in_(visible),
                                      ScriptProtocolEntry.kind == "answer",
                                      ScriptProtocolEntry.superseded.is_(False))
                               .order_by(ScriptProtocolEntry.protocol_id, ScriptProtocolEntry.seq))
        return AnswerRows(script, int(count or 0), [(r[0], r[1], r[2]) for r in rows])


# --- the list of sessions (the supervisor's protocol viewer) ----------------------------------


@dataclass(frozen=True)
class ProtocolSummary:
    """One session in a list: who ran which script on whom, on which call, how far."""

    id: int
    script: CallScript
    client_id: int
    client_name: str
    call_id: int | None
    user_id: int
    user_name: str
    campaign_id: int | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    answers: int
    call: dict[str, Any] | None


async def list_protocols(db: Database, actor: Actor, *, client_id: int | None = None, campaign_id: int | None = None,
                         call_id: int | None = None, limit: int = 50, offset: int = 0) -> tuple[list[ProtocolSummary], int]:
    """Sessions the actor may see (``_visible_protocol``'s rule), newest first, narrowed to a
    client, a campaign or a call; a client or campaign the actor may not see is "not found"."""
    if not 1 <= limit <= 500 or not 0 <= offset <= 10_000_000:
        raise InvalidInput("limit must be 1..500 and offset 0..10000000")
    answers = (select(func.count(ScriptProtocolEntry.id))
               .where(ScriptProtocolEntry.protocol_id == ScriptProtocol.id, ScriptProtocolEntry.kind == "answer",
                      ScriptProtocolEntry.superseded.is_(False))
               .correlate(ScriptProtocol).scalar_subquery())
    async with db.reading() as s:
        where = [client_scope(actor), user_scope(actor)]
        if client_id is not None:
            where.append(ScriptProtocol.client_id == (await load_visible_client(s, actor, client_id)).id)
        if campaign_id is not None:
            where.append(ScriptProtocol.campaign_id == (await load_campaign(s, actor, campaign_id)).id)
        if call_id is not None:
            where.append(ScriptProtocol.call_id == (call_id if fits_id(call_id) else -1))
        base = (select(ScriptProtocol.id).join(Client, Client.id == ScriptProtocol.client_id)
                .join(User, User.id == ScriptProtocol.user_id).where(*where))
        total = await s.scalar(select(func.count()).select_from(base.subquery()))
        rows = await s.execute(
            select(ScriptProtocol, CallScript, Client.name, User.full_name, Call, answers)
            .join(CallScript, CallScript.id == ScriptProtocol.script_id)
            .join(Client, Client.id == ScriptProtocol.client_id)
            .join(User, User.id == ScriptProtocol.user_id)
            .outerjoin(Call, Call.id == ScriptProtocol.call_id)
            .where(*where)
            .order_by(ScriptProtocol.started_at.desc(), ScriptProtocol.id.desc())
            .limit(limit).offset(offset)
        )
        items = [
            ProtocolSummary(
                id=p.id, script=script, client_id=p.client_id, client_name=client_name, call_id=p.call_id,
                user_id=p.user_id, user_name=user_name, campaign_id=p.campaign_id, status=p.status,
                started_at=p.started_at, finished_at=p.finished_at, answers=int(count or 0),
                call=None if call is None else {
                    "id": call.id, "direction": call.direction, "number": call.client_number, "outcome": call.outcome,
                    "talk_seconds": call.talk_seconds, "started_at": call.started_at},
            )
            for p, script, client_name, user_name, call, count in rows
        ]
    return items, int(total or 0)
