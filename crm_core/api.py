"""The toolkit every room's HTTP routes are declared with.

A route is a handler plus pydantic models for its query, body and response. The
composition root (zvonar/app.py) mounts the routes, authenticates, validates the input
with these models and writes the OpenAPI document from the very same models, so the
document cannot drift from what the handlers accept and return.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from crm_core.db import Database
from crm_core.errors import NotAuthenticated, NotFound
from crm_core.login_throttle import LoginThrottle
from crm_core.passwords import DEFAULT_HASHING, PasswordHashing
from crm_core.rights import Actor
from crm_core.session_cache import SessionCache


@dataclass
class ApiContext:
    """What handlers need from the running process (set once by the composition root)."""

    db: Database
    bus: Any
    default_region: str = "RU"
    session_ttl_hours: float = 12.0
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    passwords: PasswordHashing = DEFAULT_HASHING
    sessions: SessionCache = field(default_factory=lambda: SessionCache(ttl=5.0))


CONTEXT_KEY = web.AppKey("zvonar_api_context", ApiContext)


class ApiModel(BaseModel):
    """Base of request and response bodies: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(ResponseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageQuery(ApiModel):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10_000_000)


class Ok(ResponseModel):
    ok: bool = True


@dataclass
class ApiRequest:
    """What a handler receives: the parsed input and the acting user."""

    request: web.Request
    actor: Actor | None
    body: Any = None
    query: Any = None
    token: str | None = None

    @property
    def ctx(self) -> ApiContext:
        return self.request.app[CONTEXT_KEY]

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def user(self) -> Actor:
        if self.actor is None:
            raise NotAuthenticated()
        return self.actor

    def path_int(self, name: str) -> int:
        raw = self.request.match_info[name]
        # No row can have such an id; refused here so it never reaches the database as a 500.
        if not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
            raise not_found_for(name)(f"nothing has {name} {raw[:20]}")
        return int(raw)


def not_found_for(param: str) -> type[NotFound]:
    """The specific NotFound of a path parameter (``client_id`` -> ClientNotFound)."""
    wanted = f"{param.removesuffix('_id')}_not_found"
    for cls in _all_subclasses(NotFound):
        if cls.code == wanted:
            return cls
    return NotFound


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


Handler = Callable[[ApiRequest], Awaitable[Any]]
MAX_ID = 2_147_483_647
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    public: bool = False
    raw_response: bool = False
    # Media types of a body the handler reads itself (a file upload), instead of ``body``.
    raw_body: tuple[str, ...] = ()

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


class ApiRoutes:
    """A room's routes; ``@routes.get("/api/x", response=Model)`` declares one."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str = "",
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        public: bool = False,
        raw_response: bool = False,
        raw_body: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            doc = summary or (handler.__doc__ or "").strip().splitlines()[0] if (summary or handler.__doc__) else path
            self.endpoints.append(
                Endpoint(
                    method.upper(), path, handler, doc, self.tag, body, query, response, status, public, raw_response,
                    raw_body,
                )
            )
            return handler

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)
