"""Turns a declared Endpoint into an aiohttp handler: auth, input parsing, output."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, get_args, get_origin

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from crm_core.api import CONTEXT_KEY, ApiRequest, Endpoint
from crm_core.errors import InvalidInput, NotAuthenticated
from crm_core.models import utcnow
from crm_core.rights import Actor
from crm_core.services import idempotency
from crm_core.services import users as users_service

log = logging.getLogger(__name__)

MAX_JSON_BODY = 2 * 1024 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def bearer_token(request: web.Request) -> str | None:
    """The token from ``Authorization: Bearer``, or ``?token=`` for WebSocket clients."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    if request.path == "/api/ws":
        return request.query.get("token") or None
    return None


async def authenticate(request: web.Request) -> tuple[Actor, str]:
    token = bearer_token(request)
    if not token or len(token) > 200:
        raise NotAuthenticated()
    ctx = request.app[CONTEXT_KEY]
    return await users_service.actor_for_token(ctx.db, token, ctx.sessions), token


def _is_list_field(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        return True
    return any(get_origin(a) is list for a in get_args(annotation))


def parse_query(model: type[BaseModel], request: web.Request) -> BaseModel:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in request.query:
            continue
        data[name] = request.query.getall(name) if _is_list_field(info.annotation) else request.query[name]
    unknown = set(request.query) - set(model.model_fields) - {"token"}
    if unknown:
        raise InvalidInput(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
    return model.model_validate(data)


async def parse_body(model: type[BaseModel], request: web.Request) -> BaseModel:
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise InvalidInput("request body is too large")
    raw = await request.read()
    if not raw:
        raise InvalidInput("a JSON body is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc
    return model.model_validate(data)


def _dump(response_type: Any, result: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return TypeAdapter(response_type).dump_python(result, mode="json")


def takes_idempotency_key(ep: Endpoint) -> bool:
    """Whether a request to ``ep`` may carry an Idempotency-Key: authenticated writes answering JSON."""
    return not ep.public and not ep.raw_response and ep.method in WRITE_METHODS


async def _idempotent(request: web.Request, actor: Actor, key: str,
                      run: Callable[[], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """``run`` once per (user, Idempotency-Key): a repeat gets the first answer back (see services/idempotency.py)."""
    db = request.app[CONTEXT_KEY].db
    digest = idempotency.body_hash(await request.read())
    outcome = await idempotency.claim(db, actor.user_id, key, request.method, request.path_qs, digest, utcnow())
    if isinstance(outcome, idempotency.Replay):
        return web.Response(status=outcome.status, text=outcome.response or None,
                            content_type="application/json" if outcome.response else None,
                            headers={"Idempotent-Replayed": "true"})
    try:
        response = await run()
    except BaseException:
        await asyncio.shield(idempotency.release(db, outcome))
        raise
    if 200 <= response.status < 300 and isinstance(response, web.Response):
        await idempotency.complete(db, outcome, response.status, response.text or "")
    else:
        await idempotency.release(db, outcome)
    return response


def make_handler(ep: Endpoint) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        actor: Actor | None = None
        token = None
        if not ep.public:
            actor, token = await authenticate(request)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and actor is not None and takes_idempotency_key(ep):
            return await _idempotent(request, actor, key, lambda: respond(request, actor, token))
        return await respond(request, actor, token)

    async def respond(request: web.Request, actor: Actor | None, token: str | None) -> web.StreamResponse:
        api_req = ApiRequest(request=request, actor=actor, token=token)
        try:
            for name in ep.path_params:
                api_req.path_int(name)
            if ep.query is not None:
                api_req.query = parse_query(ep.query, request)
            if ep.body is not None:
                api_req.body = await parse_body(ep.body, request)
        except ValidationError:
            raise
        result = await ep.handler(api_req)
        if ep.raw_response:
            return result
        if ep.response is None or result is None:
            return web.Response(status=204 if ep.status == 204 else ep.status)
        if ep.response is not None and not isinstance(result, BaseModel):
            result = TypeAdapter(ep.response).validate_python(result, from_attributes=True)
        return web.json_response(
            _dump(ep.response, result), status=ep.status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
        )

    handle.__name__ = ep.handler.__name__
    return handle
