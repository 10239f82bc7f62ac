"""Login attempt limiting: a sliding window per login and per remote address."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginThrottle:
    """Allows ``limit`` failed attempts per key in ``window`` seconds (in-process)."""

    def __init__(self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, key: str) -> deque[float]:
        q = self._failures[key]
        horizon = self._clock() - self.window
        while q and q[0] < horizon:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        return any(len(self._trim(k)) >= self.limit for k in keys)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for k in keys:
            self._trim(k).append(now)

    def succeeded(self, login_key: str) -> None:
        self._failures.pop(login_key, None)
