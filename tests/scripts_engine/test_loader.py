"""Reading scripts: YAML, the shipped JSON Schema, the model; every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest
from jsonschema import Draft202012Validator

from scripts_engine.loader import (
    load_script,
    load_script_file,
    parse_script,
    read_yaml,
    script_schema,
)
from scripts_engine.model import AllOf, Answered, Compare, Not, Question
from scripts_engine.problems import ScriptError
from tests.scripts_engine.walks import COLD_CALL, NPS

HEAD = "name: Опрос\nlanguage: ru\nversion: 1\n"


def problems_of(text: str) -> list[tuple[str | None, str, str]]:
    with pytest.raises(ScriptError) as info:
        parse_script(HEAD + dedent(text))
    return [(p.step_id, p.field, p.message) for p in info.value.problems]


def test_the_schema_is_valid_draft_2020_12_and_the_examples_pass_it() -> None:
    schema = script_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for path in (COLD_CALL, NPS):
        Draft202012Validator(schema).validate(read_yaml(path.read_text("utf-8")))


def test_the_schema_ships_inside_the_package() -> None:
    import scripts_engine

    shipped = Path(scripts_engine.__file__).parent / "schema" / "script.schema.json"
    assert json.loads(shipped.read_text("utf-8")) == script_schema()


def test_examples_build_the_model() -> None:
    cold = load_script_file(COLD_CALL)
    assert (cold.name, cold.language, cold.version, cold.start) == (
        "Холодный звонок: CRM с телефонией для малого бизнеса", "ru", "3", "greeting")
    team = cold.node("team_size")
    assert team is not None and team.question == Question(kind="number", min=1, max=10000, integer=True)
    interest = cold.node("interest")
    assert interest is not None and interest.question is not None
    assert (interest.question.min, interest.question.max) == (1, 10)  # the default scale
    when = interest.branches[1].when
    assert when == AllOf((Compare("answer", "interest", ">=", 5), Not(Compare("answer", "budget", "==", "lt_10k"))))
    assert [h.label for h in cold.objections] == ["Дорого", "Нет времени", "Уже есть поставщик", "Пришлите на почту",
                                                  "Не звоните больше"]
    assert cold.node("expensive") is not None and cold.is_objection("expensive")
    nps = load_script_file(NPS)
    scale = nps.node("nps")
    assert scale is not None and scale.question is not None and (scale.question.min, scale.question.max) == (0, 10)
    leaving = nps.node("detractor_leaving")
    assert leaving is not None and leaving.branches[0].when == Compare("answer", "detractor_leaving", "in", ("considering", "leaving"))


def test_malformed_yaml_names_the_line() -> None:
    found = problems_of("steps:\n  - id: a\n    text: [unclosed\n")
    assert found[0][0] is None and found[0][1].startswith("line ")
    assert found[0][2].startswith("malformed YAML")


def test_a_key_written_twice_is_refused() -> None:
    found = problems_of("""\
        steps:
          - id: hello
            text: Здравствуйте
            text: Добрый день
        """)
    assert found[0][1].startswith("line 7")
    assert "'text' written twice" in found[0][2]


def test_an_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x]\n" + "".join(f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}, *{'a' if i == 0 else f'b{i - 1}'}]\n" for i in range(120))
    with pytest.raises(ScriptError) as info:
        parse_script(bomb)
    assert "aliases" in info.value.problems[0].message


def test_not_a_mapping() -> None:
    with pytest.raises(ScriptError) as info:
        parse_script("- просто список\n")
    assert info.value.problems[0].field == "document"


def test_schema_problems_name_the_step_and_the_field() -> None:
    found = problems_of("""\
        steps:
          - id: budget
            text: Какой бюджет?
            question: {kind: number, min: 10, maxx: 5}
            nxt: end
          - id: Плохой
            text: ""
          - id: end
            text: Спасибо
            outcomes: [{kind: meeting}]
        """)
    assert ("budget", "question.maxx", "unknown field (did you mean 'max'?)") in found
    assert ("budget", "nxt", "unknown field (did you mean 'next'?)") in found
    assert any(f[:2] == ("Плохой", "id") and "must be an id" in f[2] for f in found)
    assert ("Плохой", "text", "must be at least 1 character(s)") in found
    assert ("end", "outcomes[0].at", "is required") in found


def test_top_level_problems() -> None:
    with pytest.raises(ScriptError) as info:
        parse_script("name: x\nlanguage: russian\nsteps: []\n")
    found = {(p.step_id, p.field) for p in info.value.problems}
    assert found == {(None, "version"), (None, "language"), (None, "steps")}


def test_yaml_yes_no_is_explained() -> None:
    found = problems_of("""\
        steps:
          - id: q
            text: Да или нет?
            question:
              kind: single
              choices: [{value: yes, label: Да}, {value: no, label: Нет}]
            next: q
        """)
    assert found[0][:2] == ("q", "question.choices[0].value")
    assert "quote it" in found[0][2]


def test_question_rules_the_schema_cannot_say() -> None:
    found = problems_of("""\
        steps:
          - id: budget
            text: Бюджет?
            question: {kind: number, min: 100000, max: 1000}
            next: nps
          - id: nps
            text: Оценка?
            question: {kind: scale, min: 0, max: 10.5}
            next: pick
          - id: pick
            text: Выбор?
            question: {kind: single, choices: [{value: a, label: А}, {value: a, label: Б}]}
            next: talk
          - id: talk
            text: Комментарий
            question: {kind: text, min: 1, with_time: true}
            next: none
          - id: none
            text: Выбор без вариантов
            question: {kind: multi}
            outcomes: [{kind: end}]
        """)
    assert ("budget", "question.max", "must be greater than min") in found
    assert ("nps", "question.max", "a scale has whole-number ends") in found
    assert ("pick", "question.choices", "value 'a' used twice") in found
    assert ("talk", "question.min", "only number and scale questions have min, not text") in found
    assert ("talk", "question.with_time", "applies to date questions only, not text") in found
    assert ("none", "question.choices", "a multi question needs choices") in found


def test_branch_condition_and_outcome_rules() -> None:
    found = problems_of("""\
        steps:
          - id: a
            text: Вопрос
            question: {kind: yes_no}
            branches:
              - when: {answer: a, op: "==", value: true, answered: a}
                next: b
              - when: {answer: a, op: in, value: true}
                return: true
              - when: {answer: a, op: is_empty, value: true}
                next: b
              - when: {client: region, op: "=="}
                next: b
            next: b
          - id: b
            text: Конец
            next: b
            outcomes: [{kind: set_status, status: prospect, disposition: done}, {kind: callback, in_days: 1}]
        """)
    assert ("a", "branches[0].when", "a condition needs exactly one of answer, client, contact, operator, custom, answered, all, any, not; found answer, answered") in found
    assert ("a", "branches[1].return", "'return' is for objection handlers; a step goes on with 'next'") in found
    assert ("a", "branches[1].when.value", "must be a list with op 'in'") in found
    assert ("a", "branches[2].when.value", "'is_empty' takes no value") in found
    assert ("a", "branches[3].when.value", "is required with op '=='") in found
    assert ("b", "next", "a final step (with outcomes) has no way on: drop it or the outcomes") in found
    assert ("b", "outcomes[0].disposition", "does not apply to a set_status outcome") in found
    assert ("b", "outcomes[1].time", "in_days and time go together") in found


def test_load_script_also_runs_the_checker() -> None:
    text = HEAD + "steps:\n  - id: a\n    text: Привет\n    next: nowhere\n"
    parse_script(text)  # structurally fine
    with pytest.raises(ScriptError) as info:
        load_script(text, "bad.yaml")
    assert str(info.value) == "bad.yaml: step 'a': field 'next': unknown step 'nowhere'"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ScriptError) as info:
        load_script_file(tmp_path / "missing.yaml")
    assert info.value.problems[0].field == "file"
    cp1251 = tmp_path / "cp1251.yaml"
    cp1251.write_bytes((HEAD + "steps: [{id: a, text: Привет, outcomes: [{kind: end}]}]\n").encode("cp1251"))
    with pytest.raises(ScriptError) as info:
        load_script_file(cp1251)
    assert "not UTF-8" in info.value.problems[0].message


def test_answered_condition_and_start_default() -> None:
    script = parse_script(HEAD + dedent("""\
        steps:
          - id: first
            text: Комментарий?
            question: {kind: text, required: false}
            branches: [{when: {answered: first}, next: thanks}]
            next: thanks
          - id: thanks
            text: Спасибо
            outcomes: [{kind: end}]
        """))
    assert script.start == "first"
    assert script.steps[0].branches[0].when == Answered("first")
