"""The runner as plain data: every branch of both shipped scripts, going back, objections,
refused answers, resuming from the stored protocol."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from scripts_engine import runner
from scripts_engine.runner import AnswerRejected, RunnerError
from tests.scripts_engine.walks import (
    COLD_CALL,
    NPS,
    TEPLODOM,
    VECTOR,
    all_routes,
    load,
    outcome_dicts,
    routes_taken,
    walk,
)

COLD = load(COLD_CALL)
NPS_SCRIPT = load(NPS)

QUALIFIED = [("greeting", True), ("decision_maker", "self"), ("current_solution", "excel"), ("team_size", 15),
             ("pain_points", ["lost_calls", "no_recording"]), ("budget", "10k_30k")]

# Each walk: the actions, the final step, the outcome kinds, the disposition if any.
COLD_WALKS = {
    "meeting": (QUALIFIED + [("interest", 9), ("offer_meeting", True), ("meeting_time", "2025-03-17 11:30")],
                "meeting_time", ["meeting", "set_status", "lead_done"], "meeting_booked"),
    "busy_now": ([("greeting", False), ("callback_time", "2025-03-15T10:00")], "callback_time", ["callback"], None),
    "not_the_decision_maker": ([("greeting", True), ("decision_maker", "other"),
                                ("decision_maker_contact", "Игорь Николаевич Бурцев, +7 913 555-01-02"),
                                ("decision_maker_handoff", None)],
                               "decision_maker_handoff", ["callback", "lead_done"], "dm_referral"),
    "enterprise": ([("greeting", True), ("decision_maker", "shared"), ("current_solution", "other"),
                    ("current_solution_other", "Мегаплан"), ("team_size", "400"), ("enterprise_handoff", None)],
                   "enterprise_handoff", ["set_status", "lead_done"], "enterprise_referral"),
    "no_pain_then_proposal": ([("greeting", True), ("decision_maker", "self"), ("current_solution", "bitrix24"),
                               ("team_size", 8), ("pain_points", ["none"]), ("no_pain_probe", None),
                               ("budget", "30k_100k"), ("interest", 6), ("offer_proposal", True),
                               ("proposal_items", ["telephony", "scripts"]), ("proposal_email", "o.kravtsova@vektor-sib.ru")],
                              "proposal_email", ["proposal_draft", "callback", "set_status", "lead_done"], "proposal_requested"),
    "small_budget_declines": ([("greeting", True), ("decision_maker", "self"), ("current_solution", "nothing"),
                               ("team_size", 3), ("pain_points", ["slow_response"]), ("budget", "lt_10k"),
                               ("interest", 5), ("offer_proposal_small", False), ("not_interested_reason", "expensive"),
                               ("future_contact", True), ("goodbye_not_interested", None)],
                              "goodbye_not_interested", ["lead_failed"], "not_interested"),
    "small_budget_accepts": ([("greeting", True), ("decision_maker", "self"), ("current_solution", "one_c"),
                              ("team_size", 4), ("pain_points", ["no_history"]), ("budget", "lt_10k"),
                              ("interest", 7), ("offer_proposal_small", True), ("proposal_items", ["crm"]),
                              ("proposal_email", "info@teplodim.com.ua")],
                             "proposal_email", ["proposal_draft", "callback", "set_status", "lead_done"], "proposal_requested"),
    "later_please": (QUALIFIED[:5] + [("budget", "unknown"), ("interest", 3), ("not_interested_reason", "bad_time"),
                                      ("callback_time", "14.04.2025 15:00")],
                     "callback_time", ["callback"], None),
    "declines_everything": (QUALIFIED + [("interest", 8), ("offer_meeting", False), ("offer_proposal", False),
                                         ("not_interested_reason", "no_need"), ("future_contact", False),
                                         ("goodbye_dnc", None)],
                            "goodbye_dnc", ["add_dnc", "set_status", "lead_failed"], "dnc_request"),
    "objections_answered_and_back": ([("greeting", True), ("objection", "expensive"), ("expensive", True),
                                      ("decision_maker", "self"), ("objection", "has_supplier"), ("has_supplier", True),
                                      ("current_solution", "amocrm"), ("objection", "send_email"), ("send_email", True),
                                      ("team_size", 20), ("objection", "no_time"), ("no_time", False),
                                      ("pain_points", ["manual_reports"]), ("budget", "gt_100k"), ("interest", 2),
                                      ("not_interested_reason", "has_supplier"), ("future_contact", True), "finish"],
                                     "goodbye_not_interested", ["lead_failed"], "not_interested"),
    "expensive_then_small_offer": ([("greeting", True), ("decision_maker", "self"), ("objection", "expensive"),
                                    ("expensive", False), ("offer_proposal_small", False),
                                    ("not_interested_reason", "other"), ("future_contact", True), "finish"],
                                   "goodbye_not_interested", ["lead_failed"], "not_interested"),
    "no_time_callback": ([("greeting", True), ("objection", "no_time"), ("no_time", True),
                          ("callback_time", "2025-03-18 09:30")], "callback_time", ["callback"], None),
    "has_supplier_gives_up": ([("greeting", True), ("decision_maker", "self"), ("current_solution", "bitrix24"),
                               ("objection", "has_supplier"), ("has_supplier", False),
                               ("not_interested_reason", "has_supplier"), ("future_contact", False), "finish"],
                              "goodbye_dnc", ["add_dnc", "set_status", "lead_failed"], "dnc_request"),
    "just_send_email": ([("greeting", True), ("objection", "send_email"), ("send_email", False),
                         ("proposal_items", ["telephony", "analytics"]), ("proposal_email", "zakupki@vektor-sib.ru")],
                        "proposal_email", ["proposal_draft", "callback", "set_status", "lead_done"], "proposal_requested"),
    "do_not_call_me": ([("greeting", True), ("decision_maker", "self"), ("objection", "do_not_call"), "finish"],
                       "do_not_call", ["add_dnc", "set_status", "lead_failed"], "dnc_request"),
}

NPS_WALKS = {
    "promoter": ([("intro", True), ("nps", 10), ("promoter_why", "Удобная телефония и быстрая поддержка"),
                  ("promoter_review", True), ("promoter_end", None)], "promoter_end", ["lead_done"], "nps_promoter"),
    "promoter_silent": ([("intro", True), ("nps", 9), ("promoter_why", None), ("promoter_review", False), "finish"],
                        "promoter_end", ["lead_done"], "nps_promoter"),
    "passive": ([("intro", True), ("nps", 7), ("passive_why", "Хотелось бы мобильное приложение"),
                 ("passive_areas", ["features"]), "finish"], "passive_end", ["lead_done"], "nps_passive"),
    "passive_skips": ([("intro", True), ("nps", 8), ("passive_why", ""), ("passive_areas", []), "finish"],
                      "passive_end", ["lead_done"], "nps_passive"),
    "detractor_stays": ([("intro", True), ("nps", 6), ("detractor_why", "Поддержка отвечает по два дня"),
                         ("detractor_areas", ["support"]), ("detractor_leaving", "staying"), "finish"],
                        "detractor_end", ["callback", "lead_done"], "nps_detractor"),
    "detractor_leaves": ([("intro", True), ("nps", 0), ("detractor_why", "Связь рвётся, звонки теряются"),
                          ("detractor_areas", ["stability", "telephony"]), ("detractor_leaving", "leaving"),
                          ("detractor_churn_risk", "2025-03-15 16:00")],
                         "detractor_churn_risk", ["callback", "set_status", "lead_done"], "nps_churn_risk"),
    "busy": ([("intro", False), ("callback_time", "2025-03-20 12:00")], "callback_time", ["callback"], None),
    "no_time_objection": ([("intro", True), ("objection", "no_time"), ("no_time", True),
                           ("callback_time", "2025-03-17 10:00")], "callback_time", ["callback"], None),
    "no_time_then_answers": ([("intro", True), ("nps", 8), ("objection", "no_time"), ("no_time", False),
                              ("passive_why", "Цена выросла"), ("passive_areas", ["price"]), "finish"],
                             "passive_end", ["lead_done"], "nps_passive"),
    "stop_calling": ([("objection", "do_not_call"), "finish"], "do_not_call", ["add_dnc", "lead_failed"], "dnc_request"),
}


def _check_walk(script, context, walk_def):  # type: ignore[no-untyped-def]
    actions, last, kinds, disposition = walk_def
    state = walk(script, context, actions)
    assert state.finished
    assert runner.current(state).step_id == last
    assert [o.kind for o in runner.outcomes(state)] == kinds
    dispositions = [o.params["disposition"] for o in runner.outcomes(state) if "disposition" in o.params]
    assert dispositions == ([disposition] if disposition else [])
    # The protocol is plain JSON data, ready to be stored row by row.
    json.dumps([e.to_dict() for e in runner.protocol(state)], ensure_ascii=False)
    return state


@pytest.mark.parametrize("name", sorted(COLD_WALKS))
def test_cold_call_walks(name: str) -> None:
    _check_walk(COLD, VECTOR, COLD_WALKS[name])


@pytest.mark.parametrize("name", sorted(NPS_WALKS))
def test_nps_walks(name: str) -> None:
    _check_walk(NPS_SCRIPT, TEPLODOM, NPS_WALKS[name])


@pytest.mark.parametrize(("script", "walks"), [(COLD, COLD_WALKS), (NPS_SCRIPT, NPS_WALKS)], ids=["cold_call", "nps"])
def test_the_walks_take_every_branch_of_the_script(script, walks) -> None:  # type: ignore[no-untyped-def]
    taken: set[tuple[str, str]] = set()
    for actions, *_ in walks.values():
        taken |= routes_taken(walk(script, VECTOR, actions))
    assert all_routes(script) - taken == set()


@pytest.mark.parametrize(("score", "first"), [(10, "promoter_why"), (9, "promoter_why"), (8, "passive_why"),
                                               (7, "passive_why"), (6, "detractor_why"), (0, "detractor_why")])
def test_nps_score_boundaries(score: int, first: str) -> None:
    state = walk(NPS_SCRIPT, TEPLODOM, [("intro", True), ("nps", score)])
    assert runner.current(state).step_id == first


def test_meeting_outcome_is_in_the_clients_local_time_with_the_answers_filled_in() -> None:
    state = _check_walk(COLD, VECTOR, COLD_WALKS["meeting"])
    meeting = outcome_dicts(state)[0]
    assert meeting == {
        "kind": "meeting", "local_time": "2025-03-17T11:30", "timezone_basis": "client", "timezone": "Asia/Novosibirsk",
        "duration_minutes": 30, "reminder_minutes": 60,
        "subject": "Демонстрация Звонарь CRM для «ООО «Вектор-Сибирь»»",
        "comment": "Проблемы: Пропущенные звонки, никто не перезванивает, Нет записи разговоров. "
                   "Бюджет: 10 000 – 30 000 ₽. Сейчас: Excel или Google-таблицы.",
    }
    assert outcome_dicts(state)[1] == {"kind": "set_status", "status": "prospect"}


def test_relative_callback_counts_from_the_calls_day() -> None:
    state = _check_walk(COLD, VECTOR, COLD_WALKS["not_the_decision_maker"])
    callback = outcome_dicts(state)[0]
    assert callback["local_time"] == "2025-03-15T11:00"
    assert callback["in_days"] == 1
    assert callback["comment"] == "Связаться с ЛПР: Игорь Николаевич Бурцев, +7 913 555-01-02"
    no_day = walk(COLD, replace(VECTOR, today=None), COLD_WALKS["not_the_decision_maker"][0])
    assert outcome_dicts(no_day)[0]["local_time"] is None  # the store applies in_days itself


def test_proposal_draft_lists_the_products_and_marks_questions_never_asked() -> None:
    state = _check_walk(COLD, VECTOR, COLD_WALKS["just_send_email"])
    draft = outcome_dicts(state)[0]
    assert draft["products"] == ["telephony", "analytics"]
    assert draft["product_names"] == ["Телефония и запись звонков", "Отчёты и аналитика"]
    assert draft["comment"] == "Отправить на zakupki@vektor-sib.ru. Сотрудников: не спросили. Бюджет: не спросили."


def test_dnc_outcome_carries_the_called_number() -> None:
    state = _check_walk(COLD, VECTOR, COLD_WALKS["do_not_call_me"])
    assert outcome_dicts(state)[0] == {"kind": "add_dnc", "phone": "+73832001122", "reason": "Клиент попросил не звонить (возражение)"}


def test_current_step_is_rendered_with_the_clients_fields_and_its_input() -> None:
    state = runner.start(COLD, VECTOR)
    view = runner.current(state)
    assert view.step_id == "greeting"
    assert view.text.startswith("Добрый день, Ольга! Меня зовут Кирилл, компания «Звонарь».")
    assert view.hint == "Если собеседник спрашивает, откуда номер: из открытых источников, сайт ООО «Вектор-Сибирь»."
    assert view.input is not None and view.input.kind == "yes_no" and view.input.required
    assert ("expensive", "Дорого") in view.objections
    assert not view.can_back and not view.terminal and view.problems == ()
    state = walk(COLD, VECTOR, QUALIFIED[:3])
    team = runner.current(state).input
    assert team is not None and (team.kind, team.min, team.max, team.integer) == ("number", 1, 10000, True)


def test_nps_scale_runs_from_zero_to_ten() -> None:
    view = runner.current(walk(NPS_SCRIPT, TEPLODOM, [("intro", True)]))
    assert view.input is not None and (view.input.kind, view.input.min, view.input.max) == ("scale", 0, 10)


def test_missing_client_field_shows_the_field_name_not_an_error() -> None:
    bare = runner.ScriptContext(client={"name": "ИП Гусейнов"}, contact={}, operator={"name": "Анна"})
    view = runner.current(runner.start(COLD, bare))
    assert "Добрый день, коллега! Меня зовут [operator.first_name]" in view.text
    assert [p.field for p in view.problems] == ["operator.first_name"]


def test_back_and_a_different_answer_recompute_the_path_and_keep_the_old_one_superseded() -> None:
    state = walk(COLD, VECTOR, QUALIFIED + [("interest", 9), ("offer_meeting", True)])
    assert runner.current(state).step_id == "meeting_time"
    state = runner.back(state)
    assert runner.current(state).step_id == "offer_meeting"
    state = runner.back(state)
    assert runner.current(state).step_id == "interest"
    state = runner.answer(state, "interest", 3)
    assert runner.current(state).step_id == "not_interested_reason"
    assert runner.answers(state)["interest"] == 3
    assert "offer_meeting" not in runner.answers(state)
    old = [(e.kind, e.step_id, e.value) for e in runner.protocol(state) if e.superseded]
    assert old == [("answer", "interest", 9), ("shown", "offer_meeting", None), ("answer", "offer_meeting", True),
                   ("shown", "meeting_time", None)]
    backs = [e.step_id for e in runner.protocol(state) if e.kind == "back"]
    assert backs == ["offer_meeting", "interest"]
    state = walk(COLD, VECTOR, [])  # a fresh state is unaffected: states are values
    assert len(runner.protocol(state)) == 1


def test_back_out_of_an_objection_reopens_it_and_then_the_step_it_was_raised_on() -> None:
    state = walk(COLD, VECTOR, [("greeting", True), ("objection", "expensive"), ("expensive", True)])
    assert runner.current(state).step_id == "decision_maker"
    state = runner.back(state)
    assert runner.current(state).step_id == "expensive"
    state = runner.back(state)
    assert runner.current(state).step_id == "decision_maker"
    kinds = [(e.kind, e.step_id) for e in runner.protocol(state) if e.superseded]
    assert kinds == [("objection", "decision_maker"), ("shown", "expensive"), ("answer", "expensive"), ("shown", "decision_maker")]


def test_return_without_answering_the_objection() -> None:
    state = walk(COLD, VECTOR, [("greeting", True), ("decision_maker", "self"), ("objection", "has_supplier"), "return"])
    assert runner.current(state).step_id == "current_solution"
    assert "has_supplier" not in runner.answers(state)
    assert [e.kind for e in runner.protocol(state)][-3:] == ["shown", "return", "shown"]


def test_objection_raised_inside_an_objection_returns_to_it() -> None:
    state = walk(COLD, VECTOR, [("greeting", True), ("objection", "send_email"), ("objection", "expensive"), ("expensive", True)])
    assert runner.current(state).step_id == "send_email"
    state = runner.answer(state, "send_email", True)
    assert runner.current(state).step_id == "decision_maker"


@pytest.mark.parametrize(("prefix", "step", "value", "code"), [
    ([], "greeting", "да", "wrong_type"),
    ([], "greeting", None, "required"),
    ([("greeting", True)], "decision_maker", "boss", "unknown_choice"),
    ([("greeting", True)], "decision_maker", 1, "wrong_type"),
    (QUALIFIED[:3], "team_size", 0, "out_of_range"),
    (QUALIFIED[:3], "team_size", 12.5, "not_integer"),
    (QUALIFIED[:3], "team_size", "двенадцать", "wrong_type"),
    (QUALIFIED[:3], "team_size", True, "wrong_type"),
    (QUALIFIED[:4], "pain_points", "lost_calls", "wrong_type"),
    (QUALIFIED[:4], "pain_points", ["lost_calls", "lost_calls"], "duplicate_choice"),
    (QUALIFIED[:4], "pain_points", ["lost_calls", "fax"], "unknown_choice"),
    (QUALIFIED, "interest", 11, "out_of_range"),
    (QUALIFIED, "interest", 0, "out_of_range"),
    ([("greeting", False)], "callback_time", "2025-03-15", "no_time"),
    ([("greeting", False)], "callback_time", "2025-02-30 10:00", "wrong_type"),
    ([("greeting", False)], "callback_time", "2025-03-13 10:00", "in_past"),
    ([("greeting", False)], "callback_time", "2025-03-15 25:00", "wrong_type"),
    ([("greeting", True), ("decision_maker", "other")], "decision_maker_contact", "x" * 501, "too_long"),
    ([("greeting", True), ("decision_maker", "other")], "decision_maker_contact", "Игорь\x00", "bad_text"),
    ([], "budget", "lt_10k", "not_current"),
    ([("greeting", True), ("decision_maker", "other"), ("decision_maker_contact", "Игорь")], "decision_maker_handoff", "x", "no_question"),
])
def test_invalid_answers_are_refused_naming_the_step_and_the_state_is_unchanged(prefix, step, value, code) -> None:  # type: ignore[no-untyped-def]
    state = walk(COLD, VECTOR, prefix)
    before = runner.protocol(state)
    with pytest.raises(AnswerRejected) as info:
        runner.answer(state, step, value)
    assert info.value.step_id == step
    assert info.value.code == code
    assert info.value.field in ("answer", "step")
    assert f"step '{step}'" in str(info.value)
    assert runner.protocol(state) == before


def test_answers_typed_by_an_operator_are_read_kindly() -> None:
    state = walk(COLD, VECTOR, QUALIFIED[:3] + [("team_size", " 1 200 ")])
    assert runner.answers(state)["team_size"] == 1200
    state = walk(COLD, VECTOR, [("greeting", False), ("callback_time", "15.03.2025 9:05")])
    assert runner.outcomes(state)[0].params["local_time"] == "2025-03-15T09:05"


def test_refusals_outside_answers() -> None:
    state = runner.start(COLD, VECTOR)
    with pytest.raises(RunnerError) as info:
        runner.back(state)
    assert info.value.code == "at_start"
    with pytest.raises(RunnerError) as info:
        runner.jump_objection(state, "too_expensive")
    assert info.value.code == "unknown_objection" and "expensive" in info.value.reason
    with pytest.raises(RunnerError) as info:
        runner.return_from_objection(state)
    assert info.value.code == "not_in_objection"
    with pytest.raises(RunnerError) as info:
        runner.finish(state)
    assert info.value.code == "not_final"
    done = walk(COLD, VECTOR, COLD_WALKS["busy_now"][0])
    for action in (runner.back, runner.finish, lambda s: runner.answer(s, "callback_time", "2025-03-16 10:00")):
        with pytest.raises(RunnerError) as info:
            action(done)
        assert info.value.code == "finished"


@pytest.mark.parametrize("name", ["meeting", "objections_answered_and_back", "no_time_callback"])
def test_resume_from_stored_entries_equals_the_original_state(name: str) -> None:
    actions = COLD_WALKS[name][0]
    # Stop half-way through too: a dropped call resumes where it was.
    for cut in (len(actions) // 2, len(actions)):
        original = walk(COLD, VECTOR, actions[:cut] + ["back"] if cut < len(actions) else actions)
        stored = json.loads(json.dumps([e.to_dict() for e in runner.protocol(original)], ensure_ascii=False))
        resumed = runner.resume(COLD, VECTOR, stored)
        assert resumed == original
        assert runner.current(resumed) == runner.current(original)


def test_resume_refuses_a_protocol_that_does_not_fit_the_script() -> None:
    state = walk(COLD, VECTOR, QUALIFIED[:2])
    stored = [e.to_dict() for e in runner.protocol(state)]
    with pytest.raises(RunnerError) as info:
        runner.resume(NPS_SCRIPT, VECTOR, stored)
    assert info.value.step_id == "greeting"
    stored[1]["value"] = "может быть"
    with pytest.raises(AnswerRejected):
        runner.resume(COLD, VECTOR, stored)
    with pytest.raises(RunnerError) as info:
        runner.resume(COLD, VECTOR, [{"seq": "one", "kind": "answer"}])
    assert info.value.code == "bad_entry"


def test_protocol_changes_tell_a_store_what_to_insert_and_what_to_mark() -> None:
    before = walk(COLD, VECTOR, QUALIFIED[:2])
    after = runner.answer(before, "current_solution", "excel")
    added, superseded = runner.protocol_changes(before, after)
    assert [(e.seq, e.kind, e.step_id) for e in added] == [(6, "answer", "current_solution"), (7, "shown", "team_size")]
    assert superseded == []
    back = runner.back(after)
    added, superseded = runner.protocol_changes(after, back)
    assert [(e.kind, e.step_id) for e in added] == [("back", "current_solution")]
    assert superseded == [6, 7]


def test_an_optional_question_may_be_skipped_and_a_required_one_may_not() -> None:
    state = walk(NPS_SCRIPT, TEPLODOM, [("intro", True), ("nps", 9), ("promoter_why", None)])
    assert runner.answers(state)["promoter_why"] is None
    with pytest.raises(AnswerRejected) as info:
        runner.answer(walk(NPS_SCRIPT, TEPLODOM, [("intro", True), ("nps", 3)]), "detractor_why", "   ")
    assert info.value.code == "required"


def test_context_from_dict_refuses_bad_data() -> None:
    ctx = runner.ScriptContext.from_dict({"client": {"name": "ООО «Ромашка»"}, "today": "2025-03-14"})
    assert ctx.today == date(2025, 3, 14)
    with pytest.raises(RunnerError) as info:
        runner.ScriptContext.from_dict({"client": {}, "today": "14 марта"})
    assert info.value.field == "today"
    with pytest.raises(RunnerError) as info:
        runner.ScriptContext.from_dict({"client": ["ООО"]})
    assert info.value.field == "client"
