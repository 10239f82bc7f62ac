"""The protocol store on both databases: walks, resume after a restart, going back, refusals, outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm_core.db import Database
from crm_core.errors import (
    AnswerRefused,
    ClientNotFound,
    Conflict,
    Forbidden,
    ScriptInvalid,
    ScriptSessionNotFound,
    ScriptStepRefused,
)
from crm_core.models import Client, Interaction, ScriptProtocolEntry
from crm_core.services import clients as clients_service
from crm_core.services import script_protocols as service
from scripts_engine import runner
from scripts_engine.loader import load_script
from scripts_engine.protocol_store import (
    ProtocolStore,
    Session,
    answer_distribution,
    results_csv,
)
from tests.crm_core.crm_world import World, build_world, romashka
from tests.scripts_engine.walks import COLD_CALL, NPS

COLD_SOURCE = COLD_CALL.read_text(encoding="utf-8")
NPS_SOURCE = NPS.read_text(encoding="utf-8")
IN_THREE_DAYS = (date.today() + timedelta(days=3)).isoformat()
MEETING = [("greeting", True), ("decision_maker", "self"), ("current_solution", "excel"), ("team_size", 15),
           ("pain_points", ["lost_calls", "no_recording"]), ("budget", "10k_30k"), ("interest", 9),
           ("offer_meeting", True), ("meeting_time", f"{IN_THREE_DAYS} 11:30")]
# Objections and a step answered again after going back: every kind of entry.
WINDING = [("greeting", True), ("objection", "expensive"), ("expensive", True), ("decision_maker", "other"), "back",
           ("decision_maker", "self"), ("current_solution", "amocrm"), ("objection", "no_time"), "return",
           ("team_size", 20), ("pain_points", ["manual_reports"]), ("budget", "gt_100k"), ("interest", 2),
           ("not_interested_reason", "has_supplier"), ("future_contact", True), "finish"]


async def _setup(db: Database) -> tuple[World, int, ProtocolStore, int]:
    world = await build_world(db)
    client_id = await romashka(db, world.ivanova)
    store = ProtocolStore(db)
    script = await store.publish(world.admin, "cold_call", COLD_SOURCE)
    return world, client_id, store, script.id


async def _do(store: ProtocolStore, actor, session_id: int, action) -> Session:  # type: ignore[no-untyped-def]
    if action == "back":
        return await store.back(actor, session_id)
    if action == "return":
        return await store.return_from_objection(actor, session_id)
    if action == "finish":
        return await store.finish(actor, session_id)
    if action[0] == "objection":
        return await store.objection(actor, session_id, action[1])
    return await store.answer(actor, session_id, action[0], action[1])


def _apply(state: runner.RunnerState, action) -> runner.RunnerState:  # type: ignore[no-untyped-def]
    if action == "back":
        return runner.back(state)
    if action == "return":
        return runner.return_from_objection(state)
    if action == "finish":
        return runner.finish(state)
    if action[0] == "objection":
        return runner.jump_objection(state, action[1])
    return runner.answer(state, action[0], action[1])


async def _stored(db: Database, session_id: int) -> list[tuple]:
    async with db.reading() as s:
        rows = (await s.execute(select(ScriptProtocolEntry).where(ScriptProtocolEntry.protocol_id == session_id)
                                .order_by(ScriptProtocolEntry.seq))).scalars()
        return [(e.seq, e.kind, e.step_id, e.text, e.value, e.route, e.superseded, e.outcome) for e in rows]


def _entries(state: runner.RunnerState) -> list[tuple]:
    return [(e.seq, e.kind, e.step_id, e.text, e.value, e.route, e.superseded,
             dict(e.outcome) if e.outcome is not None else None) for e in runner.protocol(state)]


async def test_a_walk_through_the_store_matches_the_pure_runner_step_by_step(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    session = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    assert session.to_dict()["current"]["step_id"] == "greeting"
    assert "Мария" in session.to_dict()["current"]["text"] and "Ирина" in session.to_dict()["current"]["text"]
    script = load_script(COLD_SOURCE)
    expected = runner.start(script, runner.ScriptContext.from_dict(session.record.context))
    for action in WINDING:
        session = await _do(store, world.ivanova, session.record.id, action)
        expected = _apply(expected, action)
        assert await _stored(db, session.record.id) == _entries(expected), action
        assert runner.current(session.state) == runner.current(expected)
    assert session.record.status == "finished" and session.record.finished_at is not None
    assert [o["kind"] for o in session.record.outcomes] == ["lead_failed"]
    assert session.record.outcomes[0]["applied"] is False and "not a campaign call" in session.record.outcomes[0]["note"]


async def test_a_new_store_resumes_where_the_call_dropped_and_ends_like_an_uninterrupted_walk(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    whole = await store.start(world.ivanova, client_id=client_id, code="cold_call")
    for action in WINDING:
        whole = await _do(store, world.ivanova, whole.record.id, action)

    dropped = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    for action in WINDING[:7]:
        dropped = await _do(store, world.ivanova, dropped.record.id, action)
    # The server restarts: a new database object and a new store, nothing kept in memory.
    again = Database(db.url.render_as_string(hide_password=False))
    try:
        restarted = ProtocolStore(again)
        resumed = await restarted.get(world.ivanova, dropped.record.id)
        assert resumed.to_dict()["current"]["step_id"] == "team_size"
        assert runner.current(resumed.state) == runner.current(dropped.state)
        for action in WINDING[7:]:
            resumed = await _do(restarted, world.ivanova, resumed.record.id, action)
    finally:
        await again.dispose()
    strip = lambda rows: [r[1:] for r in rows]
    assert strip(await _stored(db, resumed.record.id)) == strip(await _stored(db, whole.record.id))
    assert resumed.record.outcomes == whole.record.outcomes
    assert runner.answers(resumed.state) == runner.answers(whole.state)


async def test_back_and_a_new_answer_keep_the_old_rows_superseded(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    session = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    for action in [("greeting", True), ("decision_maker", "other"), "back", ("decision_maker", "shared")]:
        session = await _do(store, world.ivanova, session.record.id, action)
    rows = await _stored(db, session.record.id)
    kinds = [(r[1], r[2], r[4], r[6]) for r in rows]
    assert ("answer", "decision_maker", "other", True) in kinds
    assert ("shown", "decision_maker_contact", None, True) in kinds
    assert ("answer", "decision_maker", "shared", False) in kinds
    assert session.to_dict()["current"]["step_id"] == "current_solution"
    assert session.to_dict()["answers"] == {"greeting": True, "decision_maker": "shared"}


@pytest.mark.parametrize(("step", "value", "field_word"), [
    ("greeting", "может быть", "answer"),
    ("decision_maker", "self", "step"),  # not the current step
])
async def test_an_invalid_answer_is_refused_naming_step_and_field_and_nothing_is_written(
        db: Database, step: str, value: object, field_word: str) -> None:
    world, client_id, store, script_id = await _setup(db)
    session = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    before = await _stored(db, session.record.id)
    with pytest.raises(AnswerRefused) as refused:
        await store.answer(world.ivanova, session.record.id, step, value)
    assert refused.value.step_id == step and refused.value.field == field_word
    assert f"step '{step}'" in refused.value.message and f"field '{field_word}'" in refused.value.message
    assert await _stored(db, session.record.id) == before


async def test_refused_actions_and_rights(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    session = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    sid = session.record.id
    with pytest.raises(ScriptStepRefused) as at_start:
        await store.back(world.ivanova, sid)
    assert at_start.value.reason_code == "at_start"
    with pytest.raises(ScriptStepRefused):
        await store.objection(world.ivanova, sid, "no_such_objection")
    # Someone else's session: not found for another operator and another team; the
    # supervisor reads it but does not answer for the operator.
    for other in (world.petrov, world.kovalenko, world.kyiv_sup):
        with pytest.raises(ScriptSessionNotFound):
            await store.get(other, sid)
        with pytest.raises(ScriptSessionNotFound):
            await store.answer(other, sid, "greeting", True)
    assert (await store.get(world.sales_sup, sid)).record.id == sid
    with pytest.raises(Forbidden):
        await store.answer(world.sales_sup, sid, "greeting", True)
    # A client the operator does not see cannot get a session.
    with pytest.raises(ClientNotFound):
        await store.start(world.kovalenko, client_id=client_id, script_id=script_id)
    # A finished session no longer changes.
    for action in [("greeting", False), ("callback_time", f"{IN_THREE_DAYS} 10:00")]:
        await _do(store, world.ivanova, sid, action)
    with pytest.raises(Conflict):
        await store.answer(world.ivanova, sid, "callback_time", f"{IN_THREE_DAYS} 11:00")


async def test_publish_checks_the_script_and_keeps_versions(db: Database) -> None:
    world = await build_world(db)
    store = ProtocolStore(db)
    with pytest.raises(Forbidden):
        await store.publish(world.ivanova, "cold_call", COLD_SOURCE)
    first = await store.publish(world.sales_sup, "cold_call", COLD_SOURCE)
    assert (first.version, first.name, first.language) == (1, "Холодный звонок: CRM с телефонией для малого бизнеса", "ru")
    assert (await store.publish(world.admin, "cold_call", COLD_SOURCE)).id == first.id  # same text: same version
    second = await store.publish(world.admin, "cold_call", COLD_SOURCE.replace("version: 3", "version: 4"))
    assert second.version == 2
    await store.publish(world.admin, "nps", NPS_SOURCE)
    assert [(s.code, s.version) for s in await store.list_latest()] == [("cold_call", 2), ("nps", 1)]
    broken = COLD_SOURCE.replace("next: decision_maker\n", "next: decision_makr\n", 1)
    with pytest.raises(ScriptInvalid) as bad:
        await store.publish(world.admin, "cold_call", broken)
    assert any(p["step"] == "greeting" and "decision_makr" in p["message"] for p in bad.value.problems), bad.value.problems
    assert [(s.code, s.version) for s in await store.list_latest()] == [("cold_call", 2), ("nps", 1)]


async def test_outcomes_change_the_clients_status_and_plan_a_meeting_and_a_callback(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    meeting = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    for action in MEETING:
        meeting = await _do(store, world.ivanova, meeting.record.id, action)
    applied = {o["kind"]: o for o in meeting.record.outcomes}
    assert applied["set_status"]["applied"] and applied["set_status"]["previous"] == "client"
    assert applied["meeting"]["applied"] and applied["lead_done"]["applied"] is False
    callback = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    for action in [("greeting", False), ("callback_time", f"{IN_THREE_DAYS} 10:00")]:
        callback = await _do(store, world.ivanova, callback.record.id, action)
    [planned] = callback.record.outcomes
    assert planned["kind"] == "callback" and planned["applied"] and planned["timezone"] == "Europe/Moscow"

    async with db.reading() as s:
        client = await s.get(Client, client_id)
        events = {e.id: e for e in (await s.execute(select(Interaction).where(Interaction.client_id == client_id)))
                  .unique().scalars()}
    assert client.status == "prospect"
    demo = events[applied["meeting"]["interaction_id"]]
    moscow = ZoneInfo("Europe/Moscow")
    assert demo.type.code == "meeting" and demo.status.code == "planned" and demo.user_id == world.ivanova.user_id
    assert demo.planned_at == datetime.fromisoformat(f"{IN_THREE_DAYS}T11:30").replace(tzinfo=moscow).astimezone(UTC)
    assert demo.subject == "Демонстрация Звонарь CRM для «ООО «Ромашка»»"
    assert demo.details["script_protocol_id"] == meeting.record.id and demo.details["duration_minutes"] == 30
    ring = events[planned["interaction_id"]]
    assert ring.type.code == "outgoing_call" and ring.status.code == "planned"
    assert ring.planned_at == datetime.fromisoformat(f"{IN_THREE_DAYS}T10:00").replace(tzinfo=moscow).astimezone(UTC)
    # The card's history shows them.
    card = await clients_service.get_card(db, world.ivanova, client_id)
    assert {h.id for h in card.history if h.kind == "interaction"} >= {demo.id, ring.id}


async def test_results_count_the_answers_in_force_of_finished_protocols(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    walks = [MEETING,
             [("greeting", False), ("callback_time", f"{IN_THREE_DAYS} 10:00")],
             [("greeting", True), ("decision_maker", "other"), "back", ("decision_maker", "self"),
              ("current_solution", "nothing"), ("team_size", 400), ("enterprise_handoff", None)]]
    for walk in walks:
        session = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
        for action in walk:
            session = await _do(store, world.ivanova, session.record.id, action)
    unfinished = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    await store.answer(world.ivanova, unfinished.record.id, "greeting", False)
    period = (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))

    results = await store.results(world.ivanova, script_id, *period)
    assert results["protocols"] == 3
    by_step = {q["step_id"]: q for q in results["questions"]}
    assert [(a["value"], a["count"]) for a in by_step["greeting"]["answers"]] == [(True, 2), (False, 1)]
    dm = {a["value"]: a["count"] for a in by_step["decision_maker"]["answers"]}
    assert dm == {"self": 2, "shared": 0, "other": 0}  # the superseded "other" does not count
    pains = {a["value"]: a["count"] for a in by_step["pain_points"]["answers"]}
    assert pains["lost_calls"] == 1 and pains["no_recording"] == 1 and pains["none"] == 0
    assert [(a["value"], a["count"], a["share"]) for a in by_step["team_size"]["answers"]] == [(15, 1, 0.5), (400, 1, 0.5)]
    assert by_step["expensive"]["objection"] and by_step["expensive"]["answered"] == 0

    csv_text = results_csv(results)
    lines = csv_text.splitlines()
    assert lines[0] == "step_id,kind,answered,value,label,count,share"
    assert "greeting,yes_no,3,true,yes,2,0.6667" in lines
    assert "decision_maker,single,2,other,Решает другой человек,0,0.0" in lines
    # Other operators' protocols are not theirs to count; the supervisor counts the team's.
    assert (await store.results(world.petrov, script_id, *period))["protocols"] == 0
    assert (await store.results(world.sales_sup, script_id, *period))["protocols"] == 3


def test_csv_never_hands_a_spreadsheet_a_formula() -> None:
    script_row = type("Row", (), {"id": 1, "code": "cold_call", "name": "x", "language": "ru", "version": 1,
                                  "source": COLD_SOURCE})()
    rows = service.AnswerRows(script_row, 1, [(1, "decision_maker_contact", "=HYPERLINK(\"http://x\")")])  # type: ignore[arg-type]
    text = results_csv(answer_distribution(rows))
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


async def test_entries_are_numbered_once_per_session(db: Database) -> None:
    world, client_id, store, script_id = await _setup(db)
    session = await store.start(world.ivanova, client_id=client_id, script_id=script_id)
    await store.answer(world.ivanova, session.record.id, "greeting", True)
    async with db.reading() as s:
        seqs = (await s.execute(select(ScriptProtocolEntry.seq, func.count()).group_by(ScriptProtocolEntry.seq))).all()
    assert all(n == 1 for _, n in seqs) and [q for q, _ in sorted(seqs)] == [1, 2, 3]
