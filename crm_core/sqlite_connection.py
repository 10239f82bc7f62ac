"""aiosqlite connections whose close() cannot hang once their worker thread has stopped.

aiosqlite 0.22's ``Connection.close()`` ends by queueing a stop for its worker thread and
awaiting it. SQLAlchemy, when a task is cancelled in the middle of a statement (a server
shutting down, a screen pop given up), invalidates the connection: it starts a graceful
``close()`` and, if it is cancelled meanwhile, a forced ``stop()``. When the forced stop
reaches the worker first, the thread exits and the graceful close then waits for a second
stop nobody will ever run: the task never ends, and closing the event loop hangs on it.

Here a stop asked for while one is already under way returns the first stop's future,
which the worker resolves as it closes the sqlite3 connection and exits: close() waits for
that, so it neither hangs nor leaves the thread answering a loop that has closed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from functools import partial

import aiosqlite


class SafelyClosingConnection(aiosqlite.Connection):
    """An aiosqlite connection that stops its worker thread once, however close and stop interleave."""

    def stop(self) -> asyncio.Future | None:  # type: ignore[override]
        if self._running:
            self._stopping = super().stop()
        # A stop is queued (or done) already: its future is the one the worker will answer.
        return getattr(self, "_stopping", None)


async def connect_sqlite(path: str) -> aiosqlite.Connection:
    """Open ``path`` as SQLAlchemy's aiosqlite dialect would (``check_same_thread`` off), safely closing."""
    connection = SafelyClosingConnection(partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy's dialect does: a stuck query must not keep the process alive
    return await connection
