"""Finished calls from the bridge: upserted, linked to client and agent, written into the history."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from crm_core.errors import ClientNotFound, InvalidInput
from crm_core.models import Call, Interaction
from crm_core.services import calls as calls_service
from crm_core.services import clients as clients_service
from crm_core.services.calls import CallRecord, agent_endpoint
from tests.crm_core.crm_world import build_world, kovalenko_fop, romashka

T0 = datetime(2026, 11, 23, 10, 0, 5, tzinfo=timezone.utc)


async def _count(db, model) -> int:
    async with db.reading() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


def test_agent_endpoint_from_what_the_bridge_saw() -> None:
    assert agent_endpoint("101") == "101"
    assert agent_endpoint("PJSIP/101") == "101"
    assert agent_endpoint("PJSIP/101-0000002a") == "101"
    assert agent_endpoint("PJSIP/ivanova-desk") == "ivanova-desk"
    assert agent_endpoint(None) is None and agent_endpoint("  ") is None


async def test_inbound_answered_call_lands_in_the_client_history(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    recorded = await calls_service.record_finished_call(db, CallRecord(
        direction="inbound", outcome="answered", number="89161234567", caller_name="Kuznetsova", did="74951112233",
        queue="sales", agent="PJSIP/101-0000002a", linkedid="1732356005.101", uniqueid="1732356005.101",
        started_at=T0, answered_at=T0 + timedelta(seconds=9), ended_at=T0 + timedelta(seconds=129), talk_seconds=120,
        hangup_cause=16,
    ))
    assert recorded.created and recorded.client_id == client_id and recorded.agent_id == w.ivanova.user_id
    page = await calls_service.list_calls(db, w.ivanova, client_id)
    [call] = page.items
    assert (call.client_number, call.outcome, call.talk_seconds, call.hangup_cause, call.agent_extension) == (
        "+79161234567", "answered", 120, "16", "101")
    card = await clients_service.get_card(db, w.ivanova, client_id)
    # The call shows once: as its history line (the bare call row is folded into it).
    [line] = card.history
    assert (line.kind, line.status, line.user_id, line.details["type"], line.details["call_id"]) == (
        "interaction", "done", w.ivanova.user_id, "incoming_call", call.id)
    assert line.at == T0 + timedelta(seconds=129) and line.title == "Входящий звонок +79161234567"


async def test_upsert_by_action_id_then_linkedid(db) -> None:
    w = await build_world(db)
    client_id = await kovalenko_fop(db, w.kovalenko)
    first = await calls_service.record_finished_call(db, CallRecord(
        direction="outbound", outcome="no_answer", number="+380671234567", agent="201", action_id="zv-c2c-0001",
        started_at=T0, ended_at=T0 + timedelta(seconds=30), requested_by_id=w.kovalenko.user_id,
    ), default_region="UA")
    again = await calls_service.record_finished_call(db, CallRecord(
        direction="outbound", outcome="answered", number="+380671234567", agent="201", action_id="zv-c2c-0001",
        linkedid="1732356100.7", started_at=T0, answered_at=T0 + timedelta(seconds=12), ended_at=T0 + timedelta(seconds=80),
        talk_seconds=68,
    ), default_region="UA")
    assert not again.created and again.call_id == first.call_id and again.interaction_id == first.interaction_id
    by_linkedid = await calls_service.record_finished_call(db, CallRecord(
        direction="outbound", outcome="answered", number="+380671234567", linkedid="1732356100.7", talk_seconds=70,
    ), default_region="UA")
    assert by_linkedid.call_id == first.call_id
    assert await _count(db, Call) == 1 and await _count(db, Interaction) == 1
    [call] = (await calls_service.list_calls(db, w.kyiv_sup, client_id)).items
    assert (call.outcome, call.talk_seconds, call.requested_by_id, call.action_id) == ("answered", 70, w.kovalenko.user_id, "zv-c2c-0001")
    [line] = (await clients_service.get_card(db, w.kovalenko, client_id)).history
    assert (line.status, line.details["type"]) == ("done", "outgoing_call")



async def test_a_call_ending_while_its_click_row_is_being_written_updates_that_row(db) -> None:
    """Click-to-call writes its row just after the Originate; a call that fails at once may end first."""
    w = await build_world(db)
    client_id = await kovalenko_fop(db, w.kovalenko)
    row_added, commit = asyncio.Event(), asyncio.Event()

    async def click_row() -> int:
        async with db.transaction() as s:
            await db.write_lock(s)
            row = Call(direction="outbound", client_number="+380671234567", client_id=client_id,
                       agent_id=w.kovalenko.user_id, agent_extension="201", action_id="zv-c2c-0002",
                       requested_by_id=w.kovalenko.user_id)
            s.add(row)
            await s.flush()
            row_added.set()
            await commit.wait()
        return row.id

    click = asyncio.create_task(click_row())
    await row_added.wait()
    recording = asyncio.create_task(calls_service.record_finished_call(db, CallRecord(
        direction="outbound", outcome="no_answer", number="+380671234567", agent="201", action_id="zv-c2c-0002",
        started_at=T0, ended_at=T0 + timedelta(seconds=25), requested_by_id=w.kovalenko.user_id,
    ), default_region="UA"))
    # The bridge's write now waits: on the ActionID's unique index (PostgreSQL), on the write lock (SQLite).
    await asyncio.sleep(0.3)
    assert not recording.done()
    commit.set()
    row_id = await click
    recorded = await recording
    assert (recorded.call_id, recorded.created) == (row_id, False), "the click's row gets the outcome"
    assert await _count(db, Call) == 1 and await _count(db, Interaction) == 1
    [call] = (await calls_service.list_calls(db, w.kovalenko, client_id)).items
    assert (call.outcome, call.ended_at, call.requested_by_id) == ("no_answer", T0 + timedelta(seconds=25), w.kovalenko.user_id)

async def test_unanswered_calls_are_missed_or_no_answer(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    cases = [("inbound", "abandoned", "missed"), ("inbound", "no_answer", "missed"), ("outbound", "busy", "no_answer"),
             ("outbound", "congestion", "no_answer"), ("outbound", "failed", "no_answer")]
    for n, (direction, outcome, _) in enumerate(cases):
        await calls_service.record_finished_call(db, CallRecord(direction=direction, outcome=outcome, number="+74951234567",
                                                                linkedid=f"1732356200.{n}", started_at=T0 + timedelta(minutes=n)))
    history = (await clients_service.get_card(db, w.ivanova, client_id)).history
    assert [(h.details["type"], h.status, h.user_id) for h in reversed(history)] == [
        ("incoming_call" if d == "inbound" else "outgoing_call", status, None) for d, _, status in cases]


async def test_unknown_or_hidden_numbers_are_kept_unlinked(db) -> None:
    await build_world(db)
    stranger = await calls_service.record_finished_call(db, CallRecord(
        direction="inbound", outcome="abandoned", number="+79990001122", linkedid="1732356300.1", started_at=T0))
    hidden = await calls_service.record_finished_call(db, CallRecord(
        direction="inbound", outcome="answered", number="anonymous", agent="PJSIP/999", linkedid="1732356301.1"))
    assert (stranger.client_id, stranger.interaction_id) == (None, None)
    assert (hidden.client_id, hidden.agent_id, hidden.interaction_id) == (None, None, None)
    async with db.reading() as s:
        numbers = (await s.execute(select(Call.client_number).order_by(Call.id))).scalars().all()
    assert numbers == ["+79990001122", "anonymous"]
    assert await _count(db, Interaction) == 0


async def test_bad_records_are_refused(db) -> None:
    for record in [
        CallRecord(direction="sideways", outcome="answered", linkedid="1"),
        CallRecord(direction="inbound", outcome="hung", linkedid="1"),
        CallRecord(direction="inbound", outcome="answered"),
        CallRecord(direction="inbound", outcome="answered", linkedid="1", started_at=datetime(2026, 11, 23, 10, 0)),
        CallRecord(direction="inbound", outcome="answered", linkedid="1", talk_seconds=-5),
    ]:
        with pytest.raises(InvalidInput):
            await calls_service.record_finished_call(db, record)


async def test_calls_of_a_client_are_scoped(db) -> None:
    w = await build_world(db)
    client_id = await romashka(db, w.ivanova)
    await calls_service.record_finished_call(db, CallRecord(direction="inbound", outcome="answered", number="+79161234567",
                                                            linkedid="1732356400.1", started_at=T0))
    for outsider in (w.petrov, w.kovalenko, w.kyiv_sup):
        with pytest.raises(ClientNotFound):
            await calls_service.list_calls(db, outsider, client_id)
    assert (await calls_service.list_calls(db, w.sales_sup, client_id)).total == 1
