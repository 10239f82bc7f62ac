"""`zvonar script check` and `zvonar script run`: the commands, with their streams passed in.

`check` names every problem as ``step <id>: <field>: <message>`` and exits 1 when there
is any. `run` walks a script without a person at the keyboard: the call's data from a
JSON file, the operator's actions from another, the protocol printed as JSON, so the
people who write scripts can test every branch in CI.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from scripts_engine import runner
from scripts_engine.checker import check_script
from scripts_engine.loader import parse_script, read_script_file
from scripts_engine.model import Script
from scripts_engine.problems import Problem, ScriptError

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 1_000_000


def check_command(path: str | Path, out: TextIO, err: TextIO) -> int:
    """Print every problem of the script file; 0 when it is clean, 1 otherwise."""
    problems, script = _problems(path)
    for problem in problems:
        print(problem.line(), file=out)
    if problems:
        print(f"{path}: {len(problems)} problem(s)", file=err)
        return 1
    assert script is not None
    print(f"{path}: ok: «{script.name}» version {script.version}, {len(script.steps)} steps, "
          f"{len(script.objections)} objections", file=out)
    return 0


def run_command(path: str | Path, client_json_path: str | Path, answers_json_path: str | Path, out: TextIO,
                err: TextIO | None = None) -> int:
    """Walk the script with the given actions and print the protocol as JSON; 1 on any refusal."""
    err = err if err is not None else sys.stderr
    problems, script = _problems(path)
    if problems:
        for problem in problems:
            print(problem.line(), file=err)
        return 1
    assert script is not None
    try:
        context = _context(_read_json(client_json_path, "client"))
        actions = _actions(_read_json(answers_json_path, "answers"))
    except _InputError as exc:
        print(f"{exc.path}: {exc}", file=err)
        return 1
    state = runner.start(script, context)
    error: runner.RunnerError | None = None
    for i, action in enumerate(actions):
        try:
            state = _apply(state, action)
        except runner.RunnerError as exc:
            error = exc
            print(f"{answers_json_path}: action {i + 1}: {exc}", file=err)
            break
    print(json.dumps(_report(script, state, error), ensure_ascii=False, indent=2), file=out)
    return 1 if error is not None else 0


class _InputError(ValueError):
    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(message)
        self.path = path


def _problems(path: str | Path) -> tuple[list[Problem], Script | None]:
    try:
        script = parse_script(read_script_file(path), str(path))
    except ScriptError as exc:
        return list(exc.problems), None
    return check_script(script), script


def _read_json(path: str | Path, what: str) -> Any:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise _InputError(path, f"cannot read the {what} file: {exc.strerror or exc}") from None
    if len(raw) > MAX_JSON_BYTES:
        raise _InputError(path, f"the {what} file is larger than {MAX_JSON_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _InputError(path, f"the {what} file is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _InputError(path, f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def _context(data: Any) -> runner.ScriptContext:
    """Either the whole context {"client": {...}, "contact": ..., ...} or just the client's fields."""
    if not isinstance(data, Mapping):
        raise _InputError("client", "the client file must hold a JSON object")
    if not isinstance(data.get("client"), Mapping):
        data = {"client": data}
    try:
        return runner.ScriptContext.from_dict(data)
    except runner.RunnerError as exc:
        raise _InputError("client", str(exc)) from None


def _actions(data: Any) -> list[Mapping[str, Any]]:
    if not isinstance(data, list):
        raise _InputError("answers", 'must be a JSON list of {"step": id, "value": ...}, {"back": true}, '
                                     '{"objection": id}, {"return": true} or {"finish": true}')
    for i, item in enumerate(data):
        if not isinstance(item, Mapping) or not ({"step", "back", "objection", "return", "finish"} & set(item)):
            raise _InputError("answers", f"item {i + 1} is not an action: {json.dumps(item, ensure_ascii=False)[:80]}")
    return data


def _apply(state: runner.RunnerState, action: Mapping[str, Any]) -> runner.RunnerState:
    if "step" in action:
        return runner.answer(state, str(action["step"]), action.get("value"))
    if action.get("back"):
        return runner.back(state)
    if "objection" in action:
        return runner.jump_objection(state, str(action["objection"]))
    if action.get("return"):
        return runner.return_from_objection(state)
    return runner.finish(state)


def _report(script: Script, state: runner.RunnerState, error: runner.RunnerError | None) -> dict[str, Any]:
    view = runner.current(state)
    return {
        "script": {"name": script.name, "version": script.version, "language": script.language},
        "finished": state.finished,
        "current_step": None if state.finished else view.step_id,
        "answers": runner.answers(state),
        "outcomes": [o.to_dict() for o in runner.outcomes(state)],
        "protocol": [e.to_dict() for e in runner.protocol(state)],
        "error": error.to_dict() if error is not None else None,
    }
