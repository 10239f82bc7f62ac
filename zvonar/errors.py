"""Domain errors -> HTTP, in one place; every error leaves as JSON ``{"error": {...}}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from crm_core import errors as e

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[e.DomainError], int]] = [
    (e.NotAuthenticated, 401),
    (e.AuthenticationFailed, 401),
    (e.TooManyAttempts, 429),
    (e.Forbidden, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.InvalidInput, 422),
    (e.ServiceUnavailable, 503),
]


def status_for(exc: e.DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


def error_response(status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return web.json_response(body, status=status, headers=headers, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def _domain_error_to_response(exc: e.DomainError) -> web.Response:
    return error_response(status_for(exc), exc.code, exc.message, exc.details)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Turn every failure into a JSON error; an unexpected one is logged and is a 500."""
    try:
        return await handler(request)
    except e.DomainError as exc:
        return _domain_error_to_response(exc)
    except ValidationError as exc:
        return error_response(422, "invalid_input", "the request does not match the schema", validation_details(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "http_error")
        # RFC 9110: a 405 lists the methods the resource does support.
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, code, exc.reason or "error", headers=allow)
    except Exception:
        log.exception("http.unhandled method=%s path=%s", request.method, request.path)
        return error_response(500, "internal_error", "internal error; it has been logged")
