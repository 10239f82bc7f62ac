"""Bearer tokens checked recently, so a request need not ask the store who sent it.

Every API request is authenticated, and on a small server the store round trip for it
(pool check-out, the session and user query, rollback) is about 3 ms: a third of a
click-to-call's time to the Originate. The price is staleness, bounded by ``ttl``: a
session ended or a user changed elsewhere (another server's logout, a user deactivated
from the CLI) is still honoured here for up to ``ttl`` seconds. This server's own logout
forgets the token at once, and a session's own expiry is always kept to the second.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from crm_core.rights import Actor


class SessionCache:
    """Token hash -> the session's user (an :class:`Actor`) for ``ttl`` seconds after the store said so.

    In-process and bounded (``max_entries``; the oldest entries go first). ``ttl`` 0 switches it off.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0 or max_entries < 1:
            raise ValueError(f"ttl must be >= 0 and max_entries >= 1, got {ttl!r} and {max_entries!r}")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[Actor, datetime, float]] = {}  # hash -> actor, session expiry, read until

    def get(self, token_hash: str, now: datetime) -> Actor | None:
        """The cached user of ``token_hash``, or None (never seen, read too long ago, or the session expired by ``now``)."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        actor, expires_at, fresh_until = entry
        if self._clock() >= fresh_until or expires_at < now:
            del self._entries[token_hash]
            return None
        return actor

    def put(self, token_hash: str, actor: Actor, expires_at: datetime) -> None:
        """Remember what the store just said of ``token_hash`` (its user and the session's expiry)."""
        if self.ttl <= 0:
            return
        entries = self._entries
        entries.pop(token_hash, None)
        if len(entries) >= self.max_entries:
            now = self._clock()
            for stale in [key for key, (_, _, until) in entries.items() if until <= now]:
                del entries[stale]
            while len(entries) >= self.max_entries:
                del entries[next(iter(entries))]  # insertion order: the oldest read
        entries[token_hash] = (actor, expires_at, self._clock() + self.ttl)

    def forget(self, token_hash: str) -> None:
        """Drop ``token_hash`` (its session was ended here)."""
        self._entries.pop(token_hash, None)

    def __len__(self) -> int:
        return len(self._entries)
