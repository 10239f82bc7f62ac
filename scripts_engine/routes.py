"""Call scripts over HTTP: publish a version, run a session step by step, read protocols and results."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field, create_model

from crm_core.api import ApiRequest, ApiRoutes, Page, ResponseModel
from crm_core.routes.fields import CrmBody, CrmPageQuery, CrmQuery, DbId, PeriodEnd, PeriodStart
from crm_core.services import script_protocols
from scripts_engine.loader import MAX_SCRIPT_BYTES
from scripts_engine.protocol_store import ProtocolStore, Session, results_csv, script_summary

routes = ApiRoutes("scripts")

ScriptCode = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="the script's code; each publish adds a version")


class ScriptIn(CrmBody):
    code: str = ScriptCode
    yaml: str = Field(min_length=1, max_length=MAX_SCRIPT_BYTES, description="the script as YAML")


class ScriptOut(ResponseModel):
    id: int
    code: str
    name: str
    language: str
    version: int
    created_by: int | None
    created_at: datetime


class SessionIn(CrmBody):
    script_id: DbId | None = Field(None, description="a script version; or give `code` for its latest")
    code: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    client_id: DbId
    call_id: DbId | None = Field(None, description="the call (crm_core calls.id) the script is run on")
    campaign_id: DbId | None = Field(None, description="a campaign call: the script is the version the campaign "
                                                       "pinned at launch (script_id and code may be left out)")


class AnswerIn(CrmBody):
    step_id: str = Field(min_length=1, max_length=64)
    value: Any = Field(None, description="the answer; null skips an optional question or goes on from a text step")


class ObjectionIn(CrmBody):
    handler_id: str = Field(min_length=1, max_length=64)


class ScriptRef(ResponseModel):
    id: int
    code: str
    name: str
    language: str
    version: int


class ChoiceOut(ResponseModel):
    value: str
    label: str


class InputOut(ResponseModel):
    kind: str
    required: bool
    choices: list[ChoiceOut]
    min: float | None
    max: float | None
    integer: bool
    with_time: bool
    future_only: bool
    max_length: int | None


class ObjectionOut(ResponseModel):
    id: str
    label: str


class TemplateProblemOut(ResponseModel):
    field: str
    message: str


class StepOut(ResponseModel):
    step_id: str
    text: str
    hint: str | None
    terminal: bool
    finished: bool
    can_back: bool
    outcome_kinds: list[str]
    objection: str | None = Field(description="the label of the objection this step handles, if it is one")
    objections: list[ObjectionOut]
    problems: list[TemplateProblemOut]
    input: InputOut | None


class SessionOut(ResponseModel):
    id: int
    client_id: int
    call_id: int | None
    user_id: int
    campaign_id: int | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    script: ScriptRef
    current: StepOut
    answers: dict[str, Any]
    outcomes: list[dict[str, Any]] | None = Field(description="on finish: each outcome, `applied` and a `note` if not")


class EntryOut(ResponseModel):
    seq: int
    kind: str
    step: str
    text: str | None
    value: Any
    route: str | None
    superseded: bool
    outcome: dict[str, Any] | None
    at: datetime


class ProtocolOut(SessionOut):
    entries: list[EntryOut]


class AnswerCountOut(ResponseModel):
    value: Any
    label: str | None
    count: int
    share: float


class QuestionResultOut(ResponseModel):
    step_id: str
    kind: str
    objection: bool
    answered: int
    answers: list[AnswerCountOut]


class ResultsOut(ResponseModel):
    script: ScriptRef
    protocols: int
    questions: list[QuestionResultOut]


# "from" is a Python keyword, so the query model is built by name.
ResultsQuery = create_model(
    "ScriptResultsQuery",
    __base__=CrmQuery,
    **{
        "from": (PeriodStart | None, Field(None, description="needed unless campaign_id is given")),
        "to": (PeriodEnd | None, Field(None, description="needed unless campaign_id is given")),
        "campaign_id": (DbId | None, Field(None, description="only this campaign's protocols (the whole campaign "
                                                             "when no period is given)")),
        "format": (Literal["json", "csv"], Field("json", description="json, or csv (one row per answer)")),
    },
)


def _store(req: ApiRequest) -> ProtocolStore:
    return ProtocolStore(req.db)


def _session(session: Session) -> dict[str, Any]:
    return session.to_dict()


@routes.post("/api/scripts", body=ScriptIn, response=ScriptOut, status=201)
async def publish_script(req: ApiRequest) -> object:
    """Publish a script version from YAML (admin, supervisor); every problem is named by step and field."""
    b: ScriptIn = req.body
    return await _store(req).publish(req.user, b.code, b.yaml)


@routes.get("/api/scripts", response=list[ScriptOut])
async def list_scripts(req: ApiRequest) -> object:
    """The latest version of every script."""
    return await _store(req).list_latest()


@routes.post("/api/script-sessions", body=SessionIn, response=SessionOut, status=201)
async def start_session(req: ApiRequest) -> object:
    """Start a script on a client (optionally on a call): the first step, rendered."""
    b: SessionIn = req.body
    session = await _store(req).start(req.user, client_id=b.client_id, script_id=b.script_id, code=b.code,
                                      call_id=b.call_id, campaign_id=b.campaign_id)
    return _session(session)


@routes.get("/api/script-sessions/{session_id}", response=SessionOut)
async def get_session(req: ApiRequest) -> object:
    """A session where it stands (after a dropped call or a restart too)."""
    return _session(await _store(req).get(req.user, req.path_int("session_id")))


@routes.post("/api/script-sessions/{session_id}/answer", body=AnswerIn, response=SessionOut)
async def answer(req: ApiRequest) -> object:
    """Answer the current step; a refused answer is a 422 naming the step and the field, and nothing is stored."""
    b: AnswerIn = req.body
    return _session(await _store(req).answer(req.user, req.path_int("session_id"), b.step_id, b.value))


@routes.post("/api/script-sessions/{session_id}/back", response=SessionOut)
async def back(req: ApiRequest) -> object:
    """Reopen the previous step; what followed stays in the protocol, superseded."""
    return _session(await _store(req).back(req.user, req.path_int("session_id")))


@routes.post("/api/script-sessions/{session_id}/objection", body=ObjectionIn, response=SessionOut)
async def objection(req: ApiRequest) -> object:
    """Jump to an objection handler ("дорого"); it comes back to this step."""
    b: ObjectionIn = req.body
    return _session(await _store(req).objection(req.user, req.path_int("session_id"), b.handler_id))


@routes.post("/api/script-sessions/{session_id}/return", response=SessionOut)
async def return_from_objection(req: ApiRequest) -> object:
    """Leave an objection handler without answering it, back where it was raised."""
    return _session(await _store(req).return_from_objection(req.user, req.path_int("session_id")))


@routes.post("/api/script-sessions/{session_id}/finish", response=SessionOut)
async def finish(req: ApiRequest) -> object:
    """End on a final step that asks nothing; its outcomes are applied (status, callback, meeting, proposal, DNC, lead)."""
    return _session(await _store(req).finish(req.user, req.path_int("session_id")))


@routes.get("/api/script-sessions/{session_id}/protocol", response=ProtocolOut)
async def protocol(req: ApiRequest) -> object:
    """Every protocol entry, superseded ones included (the operator's own; a supervisor: the team's)."""
    return (await _store(req).get(req.user, req.path_int("session_id"))).protocol_dict()


@routes.get("/api/scripts/{script_id}/results", query=ResultsQuery, response=ResultsOut, raw_response=True)
async def results(req: ApiRequest) -> web.StreamResponse:
    """Per question, the answers of finished protocols started in a period and/or of a campaign, as JSON or CSV."""
    q = req.query
    found = await _store(req).results(req.user, req.path_int("script_id"), getattr(q, "from"), q.to,
                                      campaign_id=q.campaign_id)
    if q.format == "csv":
        name = f"{found['script']['code']}-v{found['script']['version']}-results.csv"
        return web.Response(text=results_csv(found), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    body = ResultsOut.model_validate(found).model_dump(mode="json")
    return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))


# --- the list of sessions (the supervisor's protocol viewer) ----------------------------------


class SessionListQuery(CrmPageQuery):
    client_id: DbId | None = Field(None, description="only this client's sessions")
    campaign_id: DbId | None = Field(None, description="only this campaign's sessions")
    call_id: DbId | None = Field(None, description="only the sessions run on this call")


class CallBriefOut(ResponseModel):
    id: int
    direction: str
    number: str | None
    outcome: str | None
    talk_seconds: int | None
    started_at: datetime


class SessionSummaryOut(ResponseModel):
    id: int
    client_id: int
    client_name: str
    call_id: int | None
    user_id: int
    user_name: str
    campaign_id: int | None
    status: str
    started_at: datetime
    finished_at: datetime | None
    script: ScriptRef
    answers: int = Field(description="answers in force (superseded ones not counted)")
    call: CallBriefOut | None


@routes.get("/api/script-sessions", query=SessionListQuery, response=Page[SessionSummaryOut])
async def list_sessions(req: ApiRequest) -> object:
    """Sessions you may see (your own; a supervisor: the team's), newest first; by client, campaign or call."""
    q: SessionListQuery = req.query
    items, total = await script_protocols.list_protocols(req.db, req.user, client_id=q.client_id, campaign_id=q.campaign_id,
                                        call_id=q.call_id, limit=q.limit, offset=q.offset)
    return {"items": [{**{k: getattr(i, k) for k in SessionSummaryOut.model_fields if k != "script"},
                       "script": script_summary(i.script)} for i in items],
            "total": total, "limit": q.limit, "offset": q.offset}
