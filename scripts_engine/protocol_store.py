"""The runner and the store together: every operator action is replayed, applied and saved.

Each action loads the session's protocol, resumes the pure runner from it, applies the
action and hands crm_core exactly what changed (new entries, newly superseded seqs), in
one transaction. Nothing lives only in memory, so a new store object (a restarted
server, another worker) picks a session up where it stopped. A refused answer raises
AnswerRefused (422) naming the step and the field, and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from crm_core.db import Database
from crm_core.errors import (
    AnswerRefused,
    InvalidInput,
    ScriptInvalid,
    ScriptStepRefused,
)
from crm_core.models import CallScript
from crm_core.rights import Actor
from crm_core.services import script_protocols as service
from crm_core.services.script_protocols import ActionResult, AnswerRows, ProtocolRecord
from scripts_engine import runner
from scripts_engine.loader import MAX_SCRIPT_BYTES, load_script
from scripts_engine.model import Script
from scripts_engine.problems import ScriptError

log = logging.getLogger(__name__)

Action = Callable[[runner.RunnerState], runner.RunnerState]


@lru_cache(maxsize=64)
def script_of(source: str) -> Script:
    """The script a stored version holds (versions never change, so parsing once is enough)."""
    return load_script(source, "<stored script>")


@dataclass(frozen=True)
class Session:
    """A stored session and the runner state rebuilt from it."""

    record: ProtocolRecord
    state: runner.RunnerState

    def to_dict(self) -> dict[str, Any]:
        """The session as the operator's screen needs it: where it stands and what it expects."""
        r = self.record
        return {
            "id": r.id, "client_id": r.client_id, "call_id": r.call_id, "user_id": r.user_id,
            "campaign_id": r.campaign_id, "status": r.status, "started_at": r.started_at, "finished_at": r.finished_at,
            "script": script_summary(r.script), "current": view_dict(runner.current(self.state)),
            "answers": runner.answers(self.state), "outcomes": r.outcomes,
        }

    def protocol_dict(self) -> dict[str, Any]:
        """The session with every protocol entry, superseded ones included."""
        return {**self.to_dict(), "entries": self.record.entries}


def script_summary(row: CallScript) -> dict[str, Any]:
    return {"id": row.id, "code": row.code, "name": row.name, "language": row.language, "version": row.version}


def view_dict(view: runner.StepView) -> dict[str, Any]:
    """A StepView as JSON: the rendered text, the input expected, the objections on offer."""
    spec = view.input
    return {
        "step_id": view.step_id, "text": view.text, "hint": view.hint, "terminal": view.terminal,
        "finished": view.finished, "can_back": view.can_back, "outcome_kinds": list(view.outcome_kinds),
        "objection": view.objection, "objections": [{"id": i, "label": label} for i, label in view.objections],
        "problems": [{"field": p.field, "message": p.message} for p in view.problems],
        "input": None if spec is None else {
            "kind": spec.kind, "required": spec.required,
            "choices": [{"value": c.value, "label": c.label} for c in spec.choices],
            "min": spec.min, "max": spec.max, "integer": spec.integer, "with_time": spec.with_time,
            "future_only": spec.future_only, "max_length": spec.max_length,
        },
    }


def _refused(exc: runner.RunnerError) -> ScriptStepRefused:
    cls = AnswerRefused if isinstance(exc, runner.AnswerRejected) else ScriptStepRefused
    return cls(exc.step_id, exc.field, exc.reason, exc.code)


def _resume(record: ProtocolRecord) -> runner.RunnerState:
    try:
        return runner.resume(script_of(record.script.source), runner.ScriptContext.from_dict(record.context),
                             record.entries)
    except runner.RunnerError as exc:
        # Versions are immutable, so this means a damaged protocol: say so, never guess.
        log.error("script_session.resume_failed id=%s error=%s", record.id, exc)
        raise _refused(exc) from exc


class ProtocolStore:
    """Script versions and sessions over one database; holds no session state of its own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- versions --

    async def publish(self, actor: Actor, code: str, source: str) -> CallScript:
        """Check the YAML and store it as the next version of `code` (admin or supervisor)."""
        if len(source.encode("utf-8", "surrogatepass")) > MAX_SCRIPT_BYTES:
            raise InvalidInput(f"the script is larger than {MAX_SCRIPT_BYTES} bytes")
        service.clean_code(code)
        try:
            script = load_script(source, code)
        except ScriptError as exc:
            raise ScriptInvalid(str(exc), [{"step": p.step_id, "field": p.field, "message": p.message}
                                           for p in exc.problems]) from exc
        return await service.publish_version(self.db, actor, code=code, name=script.name, language=script.language,
                                             source=source)

    async def list_latest(self) -> list[CallScript]:
        return await service.list_latest(self.db)

    # -- sessions --

    async def start(self, actor: Actor, *, client_id: int, script_id: int | None = None, code: str | None = None,
                    call_id: int | None = None, campaign_id: int | None = None) -> Session:
        """Open a session on a client the actor sees, on a version (or the latest of a code); in a
        campaign (given, or the call's), on the version the campaign pinned at launch."""
        started: list[runner.RunnerState] = []

        def plan(row: CallScript, facts: dict[str, Any]) -> tuple[dict[str, Any], list[Mapping[str, Any]]]:
            try:
                state = runner.start(script_of(row.source), runner.ScriptContext.from_dict(facts))
            except runner.RunnerError as exc:
                raise _refused(exc) from exc
            started.append(state)
            return facts, [e.to_dict() for e in runner.protocol(state)]

        record = await service.start_protocol(self.db, actor, script_id=script_id, code=code, client_id=client_id,
                                              call_id=call_id, campaign_id=campaign_id, plan=plan)
        return Session(record, started[0])

    async def get(self, actor: Actor, session_id: int) -> Session:
        """A session as it stands (its operator, their supervisor or an admin)."""
        record = await service.get_protocol(self.db, actor, session_id)
        return Session(record, _resume(record))

    async def answer(self, actor: Actor, session_id: int, step_id: str, value: Any) -> Session:
        return await self._act(actor, session_id, lambda s: runner.answer(s, step_id, value))

    async def back(self, actor: Actor, session_id: int) -> Session:
        return await self._act(actor, session_id, runner.back)

    async def objection(self, actor: Actor, session_id: int, handler_id: str) -> Session:
        return await self._act(actor, session_id, lambda s: runner.jump_objection(s, handler_id))

    async def return_from_objection(self, actor: Actor, session_id: int) -> Session:
        return await self._act(actor, session_id, runner.return_from_objection)

    async def finish(self, actor: Actor, session_id: int) -> Session:
        return await self._act(actor, session_id, runner.finish)

    async def _act(self, actor: Actor, session_id: int, action: Action) -> Session:
        done: list[runner.RunnerState] = []

        def act(record: ProtocolRecord) -> ActionResult:
            before = _resume(record)
            try:
                after = action(before)
            except runner.RunnerError as exc:
                raise _refused(exc) from exc
            new, superseded = runner.protocol_changes(before, after)
            done.append(after)
            return ActionResult([e.to_dict() for e in new], superseded, after.finished,
                                [o.to_dict() for o in runner.outcomes(after)] if after.finished else [])

        record = await service.act_on_protocol(self.db, actor, session_id, act)
        return Session(record, done[0])

    # -- results --

    async def results(self, actor: Actor, script_id: int, start: datetime | None, end: datetime | None, *,
                      campaign_id: int | None = None) -> dict[str, Any]:
        """Per question, how the finished protocols started in [start, end) and/or of a campaign answered."""
        rows = await service.answer_rows(self.db, actor, script_id, start, end, campaign_id=campaign_id)
        return answer_distribution(rows)


def _key(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def answer_distribution(rows: AnswerRows) -> dict[str, Any]:
    """Per question step: how many protocols answered it and how often each answer was given.

    A step answered twice in one protocol (an objection came back to it) counts its latest
    answer; a multiple choice counts each option picked; choices given 0 times are listed.
    """
    script = script_of(rows.script.source)
    latest: dict[tuple[int, str], Any] = {}
    for protocol_id, step_id, value in rows.answers:
        latest[(protocol_id, step_id)] = value
    by_step: dict[str, list[Any]] = {}
    for (_, step_id), value in latest.items():
        by_step.setdefault(step_id, []).append(value)
    questions = []
    for node in script.all_nodes():
        q = node.question
        if q is None:
            continue
        given = by_step.get(node.id, [])
        counts: dict[str, int] = {}
        for value in given:
            for item in (value if q.kind == "multi" and isinstance(value, list) else [value]):
                counts[_key(item)] = counts.get(_key(item), 0) + 1
        answers: list[dict[str, Any]] = []
        if q.kind in ("single", "multi"):
            answers = [{"value": c.value, "label": c.label, "count": counts.pop(_key(c.value), 0)} for c in q.choices]
        elif q.kind == "yes_no":
            answers = [{"value": v, "label": label, "count": counts.pop(_key(v), 0)}
                       for v, label in ((True, "yes"), (False, "no"))]
        skipped = counts.pop(_key(None), 0)
        answers += sorted(({"value": json.loads(k), "label": None, "count": n} for k, n in counts.items()),
                          key=lambda a: (-a["count"], _key(a["value"])))
        if skipped:
            answers.append({"value": None, "label": "skipped", "count": skipped})
        for a in answers:
            a["share"] = round(a["count"] / len(given), 4) if given else 0.0
        questions.append({"step_id": node.id, "kind": q.kind, "objection": script.is_objection(node.id),
                          "answered": len(given), "answers": answers})
    return {"script": script_summary(rows.script), "protocols": rows.protocols, "questions": questions}


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def results_csv(results: Mapping[str, Any]) -> str:
    """The distribution as CSV: one row per (question, answer), with count and share."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["step_id", "kind", "answered", "value", "label", "count", "share"])
    for q in results["questions"]:
        for a in q["answers"]:
            value = a["value"]
            shown = "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
            if isinstance(value, str) and shown[:1] in _FORMULA_STARTS:
                shown = "'" + shown  # a spreadsheet must not run an operator's text as a formula
            writer.writerow([q["step_id"], q["kind"], q["answered"], shown, a["label"] or "", a["count"], a["share"]])
    return out.getvalue()
