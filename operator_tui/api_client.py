"""Zvonar's HTTP API as the desk uses it (aiohttp): one method per route, errors as exceptions.

The desk never sees a traceback from here: a server that cannot be reached is
``ServerUnreachable``, an answer that says no is ``ApiError`` with the server's code,
message and details. Campaign routes live apart in ``CampaignCalls`` (``api.campaigns``)
because their API is still being settled on the server side.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

DEFAULT_SERVER = "http://127.0.0.1:8080"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_idempotency_key: ContextVar[str | None] = ContextVar("zvonar_idempotency_key", default=None)


@contextlib.contextmanager
def idempotency_key(key: str) -> Iterator[None]:
    """Writes sent inside carry ``Idempotency-Key: key``: sent again, the server answers without redoing them."""
    token = _idempotency_key.set(key)
    try:
        yield
    finally:
        _idempotency_key.reset(token)


class ServerUnreachable(Exception):
    """No answer from the server (refused, timed out, not resolvable)."""


@dataclass
class ApiError(Exception):
    """The server answered with an error: ``{"error": {code, message, details?}}``."""

    status: int
    code: str
    message: str
    details: Any = None

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def field_messages(self) -> list[str]:
        """Each detail as ``field: message`` (validation errors name the field)."""
        out = []
        details = self.details if isinstance(self.details, list) else [self.details] if self.details else []
        for d in details:
            if isinstance(d, dict):
                where = d.get("field") or d.get("step") or ""
                what = d.get("message") or d.get("reason") or ""
                out.append(f"{where}: {what}" if where else str(what))
        return out

    def describe(self) -> str:
        """The message with the fields it names, for a notification."""
        fields = self.field_messages()
        return self.message + (" (" + "; ".join(fields) + ")" if fields else "")


def normalise_server_url(url: str) -> str:
    """``host:8080`` -> ``http://host:8080``; no trailing slash (ValueError when it is not a URL)."""
    url = (url or "").strip()
    if not url:
        raise ValueError("the server address is empty")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) address: {url}")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"bad port in {url}") from exc
    return url.rstrip("/")


class ApiClient:
    """A logged-in (or not yet) client of one Zvonar server."""

    def __init__(self, base_url: str = DEFAULT_SERVER, *, timeout: float = 10.0, connect_timeout: float = 5.0) -> None:
        self.base_url = normalise_server_url(base_url)
        self.token: str | None = None
        self.user: dict[str, Any] | None = None
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None
        self.campaigns = CampaignCalls(self)

    # ------------------------------------------------------------------ plumbing

    def set_server(self, url: str) -> None:
        """Point at another server (forgets the login)."""
        self.base_url = normalise_server_url(url)
        self.token = None
        self.user = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop (the app's, or a test's).
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """One call: the decoded JSON answer (None for 204), ApiError or ServerUnreachable."""
        url = self.base_url + path
        try:
            headers = self._headers()
            key = _idempotency_key.get()
            if key is not None and method.upper() in _WRITE_METHODS:
                headers["Idempotency-Key"] = key
            async with self.session.request(method, url, json=body, params=params, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientConnectionError, aiohttp.InvalidURL, asyncio.TimeoutError, OSError) as exc:
            raise ServerUnreachable(str(exc) or type(exc).__name__) from exc
        data: Any = None
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
        if status >= 400:
            err = data.get("error") if isinstance(data, dict) else None
            if isinstance(err, dict):
                raise ApiError(status, str(err.get("code", "error")), str(err.get("message", "")), err.get("details"))
            raise ApiError(status, "http_error", raw[:200].decode("utf-8", "replace") or f"HTTP {status}")
        return data

    def ws_url(self) -> str:
        """The event stream's address, with the token in the query (as browsers do)."""
        base = self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return f"{base}/api/ws"

    async def ws_connect(self, heartbeat: float = 20.0) -> aiohttp.ClientWebSocketResponse:
        """Open /api/ws; ServerUnreachable when it cannot, ApiError(401) when the login is gone."""
        try:
            return await self.session.ws_connect(self.ws_url(), params={"token": self.token or ""}, heartbeat=heartbeat)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 401:
                raise ApiError(401, "not_authenticated", "the login has expired") from exc
            raise ServerUnreachable(f"WebSocket refused: {exc.status} {exc.message}") from exc
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, OSError) as exc:
            raise ServerUnreachable(str(exc) or type(exc).__name__) from exc

    # ------------------------------------------------------------------ login

    async def login(self, login: str, password: str) -> dict[str, Any]:
        """Log in; keeps the token and returns the user (id, login, full_name, role, ...)."""
        out = await self.request("POST", "/api/auth/login", body={"login": login, "password": password})
        self.token = out["token"]
        self.user = out["user"]
        return out["user"]

    async def logout(self) -> None:
        try:
            await self.request("POST", "/api/auth/logout")
        finally:
            self.token = None
            self.user = None

    async def me(self) -> dict[str, Any]:
        return await self.request("GET", "/api/auth/me")

    async def my_agent_state(self) -> dict[str, Any] | None:
        """This user's live agent state from GET /api/agents (None when the PBX knows nothing)."""
        me = (self.user or {}).get("id")
        for agent in await self.request("GET", "/api/agents") or []:
            if agent.get("user_id") == me:
                return agent
        return None

    # ------------------------------------------------------------------ clients

    async def search_clients(self, query: str, limit: int = 30) -> list[dict[str, Any]]:
        """Clients by name, code, tax id, contact surname or any phone format."""
        page = await self.request("GET", "/api/clients/search", params={"q": query, "limit": limit})
        return list(page.get("items", []))

    async def client_card(self, client_id: int, history_limit: int = 10) -> dict[str, Any]:
        return await self.request("GET", f"/api/clients/{int(client_id)}", params={"history_limit": history_limit})

    async def create_client(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/api/clients", body=body)

    async def create_interaction(self, client_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Record or plan an event on a client: a call's outcome, a callback, a meeting."""
        return await self.request("POST", f"/api/clients/{int(client_id)}/interactions", body=body)

    async def calendar(self, start: datetime, end: datetime, user_id: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
        if user_id is not None:
            params["user_id"] = user_id
        return list(await self.request("GET", "/api/calendar", params=params) or [])

    # ------------------------------------------------------------------ telephony

    async def click_to_call(self, *, phone: str | None = None, client_id: int | None = None,
                            contact_id: int | None = None) -> dict[str, Any]:
        """Ring the operator's own phone, then the client's number."""
        body = {k: v for k, v in (("phone", phone), ("client_id", client_id), ("contact_id", contact_id)) if v is not None}
        return await self.request("POST", "/api/calls", body=body)

    async def set_paused(self, paused: bool, reason: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"paused": paused}
        if paused and reason:
            body["reason"] = reason
        return await self.request("POST", "/api/agents/pause", body=body)

    # ------------------------------------------------------------------ scripts

    async def scripts(self) -> list[dict[str, Any]]:
        return list(await self.request("GET", "/api/scripts") or [])

    async def start_script(self, client_id: int, *, script_id: int | None = None, code: str | None = None,
                           call_id: int | None = None, campaign_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"client_id": client_id}
        if campaign_id is not None:
            body["campaign_id"] = campaign_id
        if script_id is not None:
            body["script_id"] = script_id
        if code is not None:
            body["code"] = code
        if call_id is not None:
            body["call_id"] = call_id
        return await self.request("POST", "/api/script-sessions", body=body)

    async def script_session(self, session_id: int) -> dict[str, Any]:
        return await self.request("GET", f"/api/script-sessions/{int(session_id)}")

    async def script_answer(self, session_id: int, step_id: str, value: Any) -> dict[str, Any]:
        return await self.request("POST", f"/api/script-sessions/{int(session_id)}/answer",
                                  body={"step_id": step_id, "value": value})

    async def script_back(self, session_id: int) -> dict[str, Any]:
        return await self.request("POST", f"/api/script-sessions/{int(session_id)}/back")

    async def script_objection(self, session_id: int, handler_id: str) -> dict[str, Any]:
        return await self.request("POST", f"/api/script-sessions/{int(session_id)}/objection",
                                  body={"handler_id": handler_id})

    async def script_return(self, session_id: int) -> dict[str, Any]:
        return await self.request("POST", f"/api/script-sessions/{int(session_id)}/return")

    async def script_finish(self, session_id: int) -> dict[str, Any]:
        return await self.request("POST", f"/api/script-sessions/{int(session_id)}/finish")

    # ------------------------------------------------------------------ discovery

    async def route_exists(self, method: str, path: str) -> bool:
        """Whether the server's OpenAPI document lists ``method path`` (for routes still being built)."""
        doc = await self.request("GET", "/api/openapi.json")
        return method.lower() in (doc.get("paths", {}).get(path) or {})

    # ------------------------------------------------------------------ supervisor (campaigns, wallboard, protocols)
    # Added for the supervisor's screens (operator_tui/screens/campaigns.py, wallboard.py, protocols.py).

    async def create_campaign(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new campaign (draft) with the standard dispositions."""
        return await self.request("POST", "/api/campaigns", body=body)

    async def update_campaign(self, campaign_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Change a campaign's settings (mode, queue and script only while it is not running)."""
        return await self.request("PATCH", f"/api/campaigns/{int(campaign_id)}", body=body)

    async def set_campaign_agents(self, campaign_id: int, user_ids: list[int]) -> dict[str, Any]:
        """Make exactly these operators the campaign's agents."""
        return await self.request("PUT", f"/api/campaigns/{int(campaign_id)}/agents", body={"user_ids": list(user_ids)})

    async def add_campaign_list(self, campaign_id: int, name: str, client_filter: dict[str, Any]) -> dict[str, Any]:
        """A lead for every client the filter matches; the report says how many were added and skipped."""
        return await self.request("POST", f"/api/campaigns/{int(campaign_id)}/lists",
                                  body={"name": name, "filter": client_filter})

    async def import_campaign_list(self, campaign_id: int, name: str, filename: str, data: bytes) -> dict[str, Any]:
        """Upload a CSV or XLSX client file as a list; the report names each refused line."""
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        kind = xlsx if filename.lower().endswith(".xlsx") else "text/csv"
        url = f"{self.base_url}/api/campaigns/{int(campaign_id)}/lists/import"
        try:
            async with self.session.post(url, data=data, params={"name": name, "filename": filename},
                                         headers={**self._headers(), "Content-Type": kind}) as resp:
                raw, status = await resp.read(), resp.status
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, OSError) as exc:
            raise ServerUnreachable(str(exc) or type(exc).__name__) from exc
        data_out: Any = None
        try:
            data_out = json.loads(raw) if raw else None
        except ValueError:
            pass
        if status >= 400:
            err = data_out.get("error") if isinstance(data_out, dict) else None
            if isinstance(err, dict):
                raise ApiError(status, str(err.get("code", "error")), str(err.get("message", "")), err.get("details"))
            raise ApiError(status, "http_error", raw[:200].decode("utf-8", "replace") or f"HTTP {status}")
        return data_out

    async def campaign_transition(self, campaign_id: int, action: str) -> dict[str, Any]:
        """launch, pause, resume or stop; the refusal (no leads, no agents, wrong state) is an ApiError."""
        if action not in ("launch", "pause", "resume", "stop"):
            raise ValueError(f"not a campaign transition: {action!r}")
        return await self.request("POST", f"/api/campaigns/{int(campaign_id)}/{action}")

    async def campaign_stats(self, campaign_id: int) -> dict[str, Any]:
        """The live figures (as in ``campaign.stats``), or the day's from the store when no dialer runs it."""
        return await self.request("GET", f"/api/campaigns/{int(campaign_id)}/stats")

    async def set_pacing(self, campaign_id: int, patch: dict[str, Any]) -> dict[str, Any]:
        """Change pacing limits live (abandon_cap, lines_per_agent, ring_timeout, max_lines)."""
        return await self.request("PATCH", f"/api/campaigns/{int(campaign_id)}/pacing", body=patch)

    async def agents(self) -> list[dict[str, Any]]:
        """The live states of the agents this user may watch (a supervisor: the team's)."""
        return list(await self.request("GET", "/api/agents") or [])

    async def users(self) -> list[dict[str, Any]]:
        """Users this user may see (a supervisor: the team)."""
        return list(await self.request("GET", "/api/users") or [])

    async def script_sessions(self, *, client_id: int | None = None, campaign_id: int | None = None,
                              call_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Script sessions this user may see, newest first, narrowed to a client, a campaign or a call."""
        params: dict[str, Any] = {"limit": limit}
        for name, value in (("client_id", client_id), ("campaign_id", campaign_id), ("call_id", call_id)):
            if value is not None:
                params[name] = int(value)
        page = await self.request("GET", "/api/script-sessions", params=params)
        return list((page or {}).get("items", []))

    async def protocol(self, session_id: int) -> dict[str, Any]:
        """A session with every protocol entry, superseded ones included."""
        return await self.request("GET", f"/api/script-sessions/{int(session_id)}/protocol")

    async def client_calls(self, client_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """A client's calls, newest first."""
        page = await self.request("GET", f"/api/clients/{int(client_id)}/calls", params={"limit": limit})
        return list((page or {}).get("items", []))


class CampaignCalls:
    """The campaign routes the desk uses, in one place: the campaign, its disposition, preview."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def get(self, campaign_id: int) -> dict[str, Any]:
        """The campaign with ``name`` and ``dispositions: [{code, name, final}]``."""
        return await self._api.request("GET", f"/api/campaigns/{int(campaign_id)}")

    async def list(self) -> list[dict[str, Any]]:
        """The campaigns this user works in."""
        out = await self._api.request("GET", "/api/campaigns")
        return list(out.get("items", [])) if isinstance(out, dict) else list(out or [])

    async def record_disposition(self, campaign_id: int, lead_id: int, code: str, comment: str | None,
                                 callback_at: datetime | None = None) -> Any:
        body: dict[str, Any] = {"code": code, "comment": comment or None}
        if callback_at is not None:
            body["callback_at"] = callback_at.isoformat()
        return await self._api.request("POST", f"/api/campaigns/{int(campaign_id)}/leads/{int(lead_id)}/disposition",
                                       body=body)

    async def preview_next(self, campaign_id: int) -> dict[str, Any] | None:
        """The next lead's card to look at before dialling (``{"card": ...}``; None when none is due)."""
        out = await self._api.request("POST", f"/api/campaigns/{int(campaign_id)}/preview/next")
        if isinstance(out, dict) and "card" in out:
            return out["card"]
        return out

    async def preview_accept(self, campaign_id: int, lead_id: int) -> Any:
        return await self._api.request("POST", f"/api/campaigns/{int(campaign_id)}/preview/{int(lead_id)}/accept")

    async def preview_skip(self, campaign_id: int, lead_id: int, reason: str) -> Any:
        return await self._api.request("POST", f"/api/campaigns/{int(campaign_id)}/preview/{int(lead_id)}/skip",
                                       body={"reason": reason})
