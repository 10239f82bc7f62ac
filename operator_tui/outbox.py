"""Requests the server has not confirmed yet: kept (on disk too) and sent again until it has.

What the operator typed is never dropped because the network was away: a wrap-up or a
script answer that met ``ServerUnreachable`` (or a 5xx) waits here, in order, and is
retried with backoff. A request the server refuses (4xx) is moved to ``refused`` with
the reason, still kept, and the operator is told.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from operator_tui.api_client import ApiClient, ApiError, ServerUnreachable, idempotency_key


def new_item(kind: str, **args: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex[:12], "kind": kind, **args}


async def deliver(api: ApiClient, item: dict[str, Any]) -> Any:
    """Send one outbox item (its ``kind`` names the route), under its id as the Idempotency-Key.

    An item whose answer was lost is sent again; the key makes the server answer it
    from its first time instead of doing it twice (two callbacks, a refused disposition).
    """
    with idempotency_key(f"outbox-{item['id']}"):
        return await _send(api, item)


async def _send(api: ApiClient, item: dict[str, Any]) -> Any:
    kind = item["kind"]
    if kind == "interaction":
        return await api.create_interaction(item["client_id"], item["body"])
    if kind == "disposition":
        callback = datetime.fromisoformat(item["callback_at"]) if item.get("callback_at") else None
        return await api.campaigns.record_disposition(item["campaign_id"], item["lead_id"], item["code"],
                                                      item.get("comment"), callback)
    if kind == "script_answer":
        return await api.script_answer(item["session_id"], item["step_id"], item.get("value"))
    if kind == "script_back":
        return await api.script_back(item["session_id"])
    if kind == "script_objection":
        return await api.script_objection(item["session_id"], item["handler_id"])
    if kind == "script_return":
        return await api.script_return(item["session_id"])
    if kind == "script_finish":
        return await api.script_finish(item["session_id"])
    if kind == "pause":
        return await api.set_paused(bool(item["paused"]), item.get("reason"))
    raise ValueError(f"unknown outbox item kind {kind!r}")


def retryable(exc: Exception) -> bool:
    """Worth sending again later: the server was away or failed, not a refusal."""
    if isinstance(exc, ApiError) and exc.code == "request_in_progress":
        return True  # its first sending is still being handled on the server
    return isinstance(exc, ServerUnreachable) or (isinstance(exc, ApiError) and exc.status >= 500)


class Outbox:
    """An ordered queue of pending requests; ``on_change`` persists it after every change."""

    def __init__(self, items: list[dict[str, Any]] | None = None, refused: list[dict[str, Any]] | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
        self.items: list[dict[str, Any]] = list(items or [])
        self.refused: list[dict[str, Any]] = list(refused or [])
        self._on_change = on_change or (lambda: None)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        self._on_change()

    def done(self, item_id: str) -> None:
        self.items = [i for i in self.items if i["id"] != item_id]
        self._on_change()

    def refuse(self, item_id: str, reason: str) -> None:
        for item in self.items:
            if item["id"] == item_id:
                self.refused.append({**item, "reason": reason})
        self.done(item_id)

    async def flush(self, api: ApiClient, on_result: Callable[[dict[str, Any], Any], None],
                    on_refused: Callable[[dict[str, Any], ApiError], None]) -> bool:
        """Send items in order until one cannot go; True when the outbox is empty."""
        while self.items:
            item = self.items[0]
            try:
                result = await deliver(api, item)
            except (ApiError, ServerUnreachable) as exc:
                if retryable(exc):
                    return False
                assert isinstance(exc, ApiError)
                self.refuse(item["id"], exc.describe())
                on_refused(item, exc)
                continue
            self.done(item["id"])
            on_result(item, result)
        return True
