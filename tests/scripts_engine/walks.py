"""Shared test data for scripts_engine: the shipped examples, real-looking call data, a walker."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from scripts_engine import runner
from scripts_engine.loader import load_script_file
from scripts_engine.model import Script

EXAMPLES = Path(__file__).resolve().parents[2] / "scripts_engine" / "examples"
COLD_CALL = EXAMPLES / "cold_call_b2b.yaml"
NPS = EXAMPLES / "nps_feedback.yaml"

VECTOR = runner.ScriptContext(
    client={"id": 41, "name": "ООО «Вектор-Сибирь»", "region": "Новосибирская область", "industry": "Оптовая торговля",
            "status": "new", "timezone": None},
    contact={"id": 7, "first_name": "Ольга", "middle_name": "Петровна", "last_name": "Кравцова", "position": "коммерческий директор"},
    operator={"id": 3, "name": "Кирилл Смирнов", "first_name": "Кирилл", "login": "k.smirnov", "extension": "101"},
    phone="+73832001122",
    today=date(2025, 3, 14),
)
# A Kharkiv client with no contact person on file: the scripts' defaults must carry the talk.
TEPLODOM = runner.ScriptContext(
    client={"id": 88, "name": "ТОВ «Теплодім»", "region": "Харьковская область"},
    contact={"first_name": "Тарас"},
    operator={"name": "Олена Бондар", "first_name": "Олена"},
    phone="+380577001020",
    today=date(2025, 3, 14),
)


def load(path: Path) -> Script:
    return load_script_file(path)


def walk(script: Script, context: runner.ScriptContext, actions: Iterable[Any]) -> runner.RunnerState:
    """Apply actions: ("step", value) answers, "back", ("objection", id), "return", "finish"."""
    state = runner.start(script, context)
    for action in actions:
        if action == "back":
            state = runner.back(state)
        elif action == "return":
            state = runner.return_from_objection(state)
        elif action == "finish":
            state = runner.finish(state)
        elif action[0] == "objection":
            state = runner.jump_objection(state, action[1])
        else:
            state = runner.answer(state, action[0], action[1])
    return state


def routes_taken(state: runner.RunnerState) -> set[tuple[str, str]]:
    """(step, route) of every answer still in force."""
    return {(e.step_id, e.route) for e in state.entries if e.kind == "answer" and not e.superseded and e.route}


def all_routes(script: Script) -> set[tuple[str, str]]:
    """(step, route) for every way on the script has."""
    out: set[tuple[str, str]] = set()
    for node in script.all_nodes():
        out.update((node.id, f"branches[{i}]") for i in range(len(node.branches)))
        if node.next is not None:
            out.add((node.id, "next"))
        if node.returns:
            out.add((node.id, "return"))
        if node.outcomes:
            out.add((node.id, "outcomes"))
    return out


def outcome_dicts(state: runner.RunnerState) -> list[Mapping[str, Any]]:
    return [o.to_dict() for o in runner.outcomes(state)]
