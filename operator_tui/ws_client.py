"""The event stream from /api/ws: reconnects by itself with backoff and says how it stands.

``EventStream.run`` never returns while the login is valid: each lost connection is
reported (``offline`` with the seconds until the next try), retried after
``backoff_delay``, and reported ``online`` again. A refused login (401) ends it with
state ``unauthorized``, since retrying cannot help.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from operator_tui.api_client import ApiError, ServerUnreachable

log = logging.getLogger(__name__)

LinkState = Literal["connecting", "online", "offline", "unauthorized"]


@dataclass(frozen=True)
class Link:
    """The connection to the server as the status bar shows it."""

    state: LinkState
    retry_in: float | None = None
    attempt: int = 0
    reason: str | None = None


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds before try number ``attempt`` (1, 2, ...): doubling from ``base``, at most ``cap``."""
    if attempt <= 0:
        return 0.0
    return min(cap, base * (2 ** min(attempt - 1, 30)))


OnEvent = Callable[[str, dict[str, Any]], None]
OnLink = Callable[[Link], None]
Connect = Callable[[], Awaitable[aiohttp.ClientWebSocketResponse]]


class EventStream:
    """Reads ``{"topic", "payload"}`` messages and hands them on, reconnecting as needed."""

    def __init__(self, connect: Connect, *, backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._connect = connect
        self._base = backoff_base
        self._cap = backoff_cap
        self._sleep = sleep

    async def run(self, on_event: OnEvent, on_link: OnLink) -> None:
        attempt = 0
        while True:
            on_link(Link("connecting", attempt=attempt))
            try:
                ws = await self._connect()
            except ApiError as exc:
                if exc.status == 401:
                    on_link(Link("unauthorized", reason=exc.message))
                    return
                reason = str(exc)
            except ServerUnreachable as exc:
                reason = str(exc)
            else:
                attempt = 0
                on_link(Link("online"))
                reason = await self._read(ws, on_event)
            attempt += 1
            delay = backoff_delay(attempt, self._base, self._cap)
            log.info("ws.offline reason=%s retry_in=%.1f", reason, delay)
            on_link(Link("offline", retry_in=delay, attempt=attempt, reason=reason))
            await self._sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, on_event: OnEvent) -> str:
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    event = parse_event(msg.data)
                    if event is not None:
                        on_event(*event)
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
            return f"closed ({ws.close_code})"
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return str(exc) or type(exc).__name__
        finally:
            await ws.close()


def parse_event(text: str) -> tuple[str, dict[str, Any]] | None:
    """``(topic, payload)`` of one message, or None for anything that is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("topic"), str):
        return None
    payload = data.get("payload")
    return data["topic"], payload if isinstance(payload, dict) else {}
