"""`zvonar script check` and `zvonar script run` through their command functions."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from scripts_engine.cli_commands import check_command, run_command
from tests.scripts_engine.walks import COLD_CALL, NPS

BAD = """\
name: Плохой сценарий
language: ru
version: 1
steps:
  - id: greeting
    text: "Здравствуйте, {client.nmae}!"
    question: {kind: yes_no}
    branches: [{when: {answer: greeting, op: "==", value: true}, next: offer}]
  - id: lost
    text: Сюда не попасть
    outcomes: [{kind: end}]
"""

CONTEXT = {
    "client": {"name": "ООО «Вектор-Сибирь»", "region": "Новосибирская область"},
    "contact": {"first_name": "Ольга", "middle_name": "Петровна"},
    "operator": {"name": "Кирилл Смирнов", "first_name": "Кирилл"},
    "phone": "+73832001122",
    "today": "2025-03-14",
}


def run(tmp_path: Path, script: Path, context: object, answers: object) -> tuple[int, str, str]:
    client_file = tmp_path / "client.json"
    answers_file = tmp_path / "answers.json"
    client_file.write_text(json.dumps(context, ensure_ascii=False), "utf-8")
    answers_file.write_text(answers if isinstance(answers, str) else json.dumps(answers, ensure_ascii=False), "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = run_command(script, client_file, answers_file, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("path", [COLD_CALL, NPS], ids=["cold_call", "nps"])
def test_check_passes_the_examples(path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert check_command(path, out, err) == 0
    assert out.getvalue().startswith(f"{path}: ok: «")
    assert err.getvalue() == ""


def test_check_names_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, "utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert check_command(bad, out, err) == 1
    assert out.getvalue().splitlines() == [
        "step greeting: branches[0].next: unknown step 'offer'",
        "step greeting: next: no way out when no branch matches: add 'next' as the fallback",
        ("step greeting: text: {client.nmae}: client has no field 'nmae'; known: abc_class, comment, created_at, id, "
         "industry, kind, name, region, responsible_id, segment, source_channel, status, tax_id, timezone, updated_at"),
        "step lost: id: unreachable: no step or objection leads here",
    ]
    assert err.getvalue() == f"{bad}: 4 problem(s)\n"


def test_check_reports_malformed_yaml_and_a_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nsteps: [\n", "utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert check_command(broken, out, err) == 1
    assert out.getvalue().startswith("script: line ")
    out = io.StringIO()
    assert check_command(tmp_path / "nope.yaml", out, io.StringIO()) == 1
    assert out.getvalue().startswith("script: file: cannot read")


def test_run_prints_the_protocol_as_json(tmp_path: Path) -> None:
    answers = [{"step": "intro", "value": True}, {"step": "nps", "value": 4}, {"back": True},
               {"step": "nps", "value": 10}, {"step": "promoter_why", "value": "Быстро отвечают"},
               {"objection": "no_time"}, {"step": "no_time", "value": False},
               {"step": "promoter_review", "value": True}, {"finish": True}]
    code, out, err = run(tmp_path, NPS, CONTEXT, answers)
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["finished"] is True and report["current_step"] is None
    assert report["script"] == {"name": "Обратная связь: индекс NPS", "version": "2", "language": "ru"}
    assert report["answers"] == {"intro": True, "nps": 10, "promoter_why": "Быстро отвечают", "no_time": False,
                                 "promoter_review": True, "promoter_end": None}
    assert report["outcomes"] == [{"kind": "lead_done", "disposition": "nps_promoter",
                                   "comment": "Оценка 10. Нравится: Быстро отвечают. Отзыв можно публиковать: да."}]
    first = report["protocol"][0]
    assert first["kind"] == "shown" and first["text"].startswith("Здравствуйте, Ольга Петровна! Меня зовут Кирилл")
    superseded = [(e["kind"], e["step"], e["value"]) for e in report["protocol"] if e["superseded"]]
    assert superseded == [("answer", "nps", 4), ("shown", "detractor_why", None)]
    assert report["error"] is None


def test_run_takes_a_file_with_only_the_clients_fields(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, COLD_CALL, {"name": "ИП Гусейнов Р. А.", "region": "Москва"},
                       [{"step": "greeting", "value": False}, {"step": "callback_time", "value": "2030-01-10 10:00"}])
    assert code == 0
    callback = json.loads(out)["outcomes"][0]
    assert (callback["local_time"], callback["timezone"]) == ("2030-01-10T10:00", "Europe/Moscow")


def test_run_stops_at_a_refused_answer_naming_step_and_field(tmp_path: Path) -> None:
    answers = [{"step": "intro", "value": True}, {"step": "nps", "value": 11}, {"step": "promoter_why", "value": "x"}]
    code, out, err = run(tmp_path, NPS, CONTEXT, answers)
    assert code == 1
    report = json.loads(out)
    assert report["error"] == {"step": "nps", "field": "answer", "reason": "11 is outside 0..10", "code": "out_of_range"}
    assert report["current_step"] == "nps" and report["answers"] == {"intro": True}
    assert "action 2: step 'nps': field 'answer': 11 is outside 0..10" in err


@pytest.mark.parametrize(("answers", "message"), [
    ("[{\"step\": ", "not JSON"),
    ({"step": "intro"}, "must be a JSON list"),
    ([{"stp": "intro"}], "item 1 is not an action"),
])
def test_run_refuses_a_bad_answers_file(tmp_path: Path, answers: object, message: str) -> None:
    code, out, err = run(tmp_path, NPS, CONTEXT, answers)
    assert (code, out) == (1, "")
    assert message in err


def test_run_refuses_a_bad_script(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, "utf-8")
    code, out, err = run(tmp_path, bad, CONTEXT, [])
    assert (code, out) == (1, "")
    assert "step greeting: branches[0].next: unknown step 'offer'" in err
