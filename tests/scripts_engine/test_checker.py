"""Static checks: each kind of problem in a small bad script, named by step and field."""

from __future__ import annotations

from textwrap import dedent

from scripts_engine.checker import check_script
from scripts_engine.fields import CLIENT_FIELDS, CONTACT_FIELDS
from scripts_engine.loader import parse_script
from scripts_engine.model import Outcome, Script, Step
from tests.scripts_engine.walks import COLD_CALL, NPS, load

HEAD = "name: Проверка\nlanguage: ru\nversion: 1\n"


def check(text: str) -> list[tuple[str | None, str, str]]:
    return [(p.step_id, p.field, p.message) for p in check_script(parse_script(HEAD + dedent(text)))]


def test_the_examples_are_clean() -> None:
    assert check_script(load(COLD_CALL)) == []
    assert check_script(load(NPS)) == []


def test_client_fields_come_from_the_crm_model() -> None:
    assert {"name", "region", "industry", "status", "segment", "timezone"} <= CLIENT_FIELDS
    assert "name_search" not in CLIENT_FIELDS
    assert {"first_name", "middle_name", "last_name", "position", "emails"} <= CONTACT_FIELDS


def test_unknown_steps_in_next_branches_and_start() -> None:
    found = check("""\
        start: hello
        steps:
          - id: greeting
            text: Здравствуйте
            question: {kind: yes_no}
            branches: [{when: {answer: greeting, op: "==", value: true}, next: offer}]
            next: bye
          - id: bye
            text: До свидания
            outcomes: [{kind: end}]
        """)
    assert (None, "start", "unknown step 'hello'") in found
    assert ("greeting", "branches[0].next", "unknown step 'offer'") in found


def test_unknown_step_as_an_objections_way_on() -> None:
    found = check("""\
        steps:
          - {id: a, text: Привет, outcomes: [{kind: end}]}
        objections:
          - id: expensive
            label: Дорого
            text: Понимаю
            question: {kind: yes_no}
            branches: [{when: {answer: expensive, op: "==", value: true}, return: true}]
            next: discount
        """)
    assert found == [("expensive", "next", "unknown step 'discount'")]


def test_unreachable_step() -> None:
    found = check("""\
        steps:
          - {id: a, text: Привет, next: c}
          - {id: b, text: Сюда никто не ведёт, next: c}
          - {id: c, text: Пока, outcomes: [{kind: end}]}
        """)
    assert found == [("b", "id", "unreachable: no step or objection leads here")]


def test_a_step_reached_only_through_an_objection_is_reachable() -> None:
    found = check("""\
        steps:
          - {id: a, text: Привет, outcomes: [{kind: end}]}
          - {id: later, text: "Когда перезвонить?", question: {kind: date, with_time: true}, outcomes: [{kind: callback, at: later}]}
        objections:
          - {id: busy, label: Занят, text: Перезвоню, next: later}
        """)
    assert found == []


def test_question_with_no_way_out() -> None:
    found = check("""\
        steps:
          - id: a
            text: Интересно?
            question: {kind: yes_no}
          - id: b
            text: Уверены?
            question: {kind: yes_no}
            branches: [{when: {answer: b, op: "==", value: true}, next: c}]
          - {id: c, text: Пока, outcomes: [{kind: end}]}
        objections:
          - {id: wait, label: Подождите, text: Жду}
        """)
    assert ("a", "next", "no way out: give 'next', 'branches' with a fallback 'next', or 'outcomes'") in found
    assert ("b", "next", "no way out when no branch matches: add 'next' as the fallback") in found
    assert ("wait", "next", "no way out: give 'next', 'branches' with a fallback 'next', or 'outcomes'") in found


def test_loop_with_no_exit() -> None:
    found = check("""\
        steps:
          - {id: a, text: Начало, next: b}
          - id: b
            text: Ещё вопрос?
            question: {kind: yes_no}
            branches: [{when: {answer: b, op: "==", value: true}, next: c}]
            next: b
          - {id: c, text: Снова, next: b}
        """)
    assert found == [("b", "next", "loop with no exit: b -> c -> b")]


def test_a_loop_with_an_exit_is_fine() -> None:
    found = check("""\
        steps:
          - id: more
            text: Что ещё важно?
            question: {kind: text}
            next: again
          - id: again
            text: Что-то ещё?
            question: {kind: yes_no}
            branches: [{when: {answer: again, op: "==", value: true}, next: more}]
            next: bye
          - {id: bye, text: Спасибо, outcomes: [{kind: end}]}
        """)
    assert found == []


def test_duplicate_ids() -> None:
    found = check("""\
        steps:
          - {id: a, text: Привет, next: b}
          - {id: b, text: Ещё, outcomes: [{kind: end}]}
          - {id: b, text: Снова, outcomes: [{kind: end}]}
        objections:
          - {id: a, label: Дорого, text: Понимаю, return: true}
        """)
    assert ("b", "id", "used twice: a step with this id is already defined") in found
    assert ("a", "id", "used twice: an objection with this id is already defined") in found


def test_fields_that_do_not_exist() -> None:
    found = check("""\
        custom_fields: [{name: product}]
        steps:
          - id: a
            text: "{client.nmae}, {contact.first_name}, {operator.nickname}, {custom.offer}, {custom.product}"
            hint: "{client.inn}"
            question: {kind: yes_no}
            branches:
              - when: {client: regoin, op: "==", value: Москва}
                next: b
              - when: {custom: campaign, op: is_empty}
                next: b
            next: b
          - {id: b, text: "Пока", outcomes: [{kind: lead_done, disposition: ok, comment: "{contact.phone}"}]}
        """)
    fields = {(s, f) for s, f, _ in found}
    assert fields == {
        ("a", "text: {client.nmae}"), ("a", "text: {operator.nickname}"), ("a", "text: {custom.offer}"),
        ("a", "hint: {client.inn}"), ("a", "branches[0].when.client"), ("a", "branches[1].when.custom"),
        ("b", "outcomes[0].comment: {contact.phone}"),
    }
    message = {(s, f): m for s, f, m in found}
    assert message[("a", "text: {custom.offer}")] == "custom field 'offer' is not declared in custom_fields"
    assert message[("a", "branches[0].when.client")].startswith("client has no field 'regoin'; known: abc_class, comment")


def test_bad_placeholders_are_named() -> None:
    found = check("""\
        steps:
          - {id: a, text: "Здравствуйте, {name}! {clients.name}", outcomes: [{kind: end}]}
        """)
    assert [(s, f) for s, f, _ in found] == [("a", "text"), ("a", "text")]
    assert "needs a source" in found[0][2] and "unknown source 'clients'" in found[1][2]


def test_choices_referenced_in_conditions_that_do_not_exist() -> None:
    found = check("""\
        steps:
          - id: solution
            text: Чем пользуетесь?
            question:
              kind: single
              choices: [{value: excel, label: Excel}, {value: amocrm, label: amoCRM}]
            branches:
              - when: {answer: solution, op: "==", value: bitrix}
                next: pains
              - when: {answer: solution, op: in, value: [excel, one_c]}
                next: pains
            next: pains
          - id: pains
            text: Что беспокоит?
            question:
              kind: multi
              choices: [{value: calls, label: Звонки}]
            branches:
              - when: {answer: pains, op: contains, value: reports}
                next: score
            next: score
          - id: score
            text: Оценка?
            question: {kind: scale, min: 0, max: 10}
            branches:
              - when: {answer: score, op: ">=", value: 11}
                next: end
              - when: {answer: score, op: contains, value: 5}
                next: end
              - when: {answer: pains, op: "==", value: calls}
                next: end
            next: end
          - {id: end, text: Спасибо, outcomes: [{kind: end}]}
        """)
    assert ("solution", "branches[0].when.value", "'bitrix' is not one of the choices: excel, amocrm (step 'solution')") in found
    assert ("solution", "branches[1].when.value", "'one_c' is not one of the choices: excel, amocrm (step 'solution')") in found
    assert ("pains", "branches[0].when.value", "'reports' is not one of the choices: calls (step 'pains')") in found
    assert ("score", "branches[0].when.value", "11 is outside the range 0..10 (step 'score')") in found
    assert any(f[:2] == ("score", "branches[1].when.op") and "does not apply to the scale answer" in f[2] for f in found)
    assert any(f[:2] == ("score", "branches[2].when.op") and "does not apply to the multi answer" in f[2] for f in found)


def test_answers_used_before_they_can_be_given() -> None:
    found = check("""\
        steps:
          - id: hello
            text: "Вы сказали {answer.size} сотрудников"
            question: {kind: yes_no}
            branches: [{when: {answer: size, op: ">", value: 10}, next: size}, {when: {answer: hello, op: "==", value: true}, next: size}]
            next: size
          - {id: size, text: "Сколько?", question: {kind: number}, next: bye}
          - {id: bye, text: "Пока", outcomes: [{kind: end}]}
          - {id: unused, text: "{answer.ghost} {answer.bye}", next: bye}
        """)
    assert ("hello", "text: {answer.size}", "step 'size' cannot have been answered before this step") in found
    assert ("hello", "branches[0].when.answer", "step 'size' cannot have been answered before this step") in found
    assert ("unused", "text: {answer.ghost}", "unknown step 'ghost'") in found
    assert ("unused", "text: {answer.bye}", "step 'bye' asks no question") in found


def test_outcome_parameters() -> None:
    found = check("""\
        steps:
          - id: when
            text: Когда?
            question: {kind: date}
            next: end
          - id: end
            text: Спасибо
            outcomes:
              - {kind: callback}
              - {kind: meeting, at: when}
              - {kind: set_status, status: vip}
              - {kind: proposal_draft, products_from: when}
        """)
    assert ("end", "outcomes[0]", "a callback needs 'at' (a date question) or 'in_days' with 'time'") in found
    assert ("end", "outcomes[1].at", "step 'when' asks a date without time (with_time: true)") in found
    assert ("end", "outcomes[2].status", "unknown status 'vip'; known: primary, new, prospect, client, partner, inactive, lost") in found
    assert ("end", "outcomes[3].products_from", "step 'when' is a date question; needs multi or single") in found


def test_outcome_parameters_missing_in_a_model_built_by_code() -> None:
    # The schema stops these in YAML; a script built in code gets the same answer from the checker.
    script = Script(name="x", language="ru", version="1", start="end", steps=(
        Step(id="end", text="Пока", outcomes=(Outcome("meeting"), Outcome("lead_failed"), Outcome("set_status"))),))
    assert [(p.field, p.message) for p in check_script(script)] == [
        ("outcomes[0].at", "a meeting needs 'at': the date question with its time"),
        ("outcomes[1].disposition", "a lead_failed outcome needs a disposition code"),
        ("outcomes[2].status", "is required"),
    ]


def test_a_step_may_not_lead_into_an_objection() -> None:
    found = check("""\
        steps:
          - {id: a, text: Привет, next: expensive}
        objections:
          - {id: expensive, label: Дорого, text: Понимаю, outcomes: [{kind: end}]}
        """)
    assert found == [("a", "next", "'expensive' is an objection handler: the operator jumps to it, a step does not lead there")]


def test_the_problem_line_format() -> None:
    script = parse_script(HEAD + "steps:\n  - {id: a, text: Привет, next: b}\n")
    assert [p.line() for p in check_script(script)] == ["step a: next: unknown step 'b'"]
