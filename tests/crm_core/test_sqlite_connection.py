"""aiosqlite's close() racing a stop: the library's fault, and the connection the store opens instead."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text

from crm_core.db import Database
from crm_core.sqlite_connection import SafelyClosingConnection, connect_sqlite


async def _close_racing_a_stop(connection: aiosqlite.Connection) -> asyncio.Task[None]:
    """What SQLAlchemy does to a connection whose task was cancelled mid-statement: a graceful close, then a forced stop."""
    closing = asyncio.create_task(connection.close())
    await asyncio.sleep(0)  # the close is queued for the worker thread
    connection.stop()
    await asyncio.wait({closing}, timeout=2.0)
    return closing


async def test_plain_aiosqlite_close_waits_for_ever_once_a_stop_ended_its_thread(tmp_path: Path) -> None:
    connection = await aiosqlite.connect(tmp_path / "plain.sqlite3")
    closing = await _close_racing_a_stop(connection)
    try:
        assert not closing.done(), "aiosqlite fixed close() racing stop(): SafelyClosingConnection may go"
        assert not connection._thread.is_alive()
    finally:
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing


async def test_the_stores_connection_closes_however_close_and_stop_interleave(tmp_path: Path) -> None:
    connection = await connect_sqlite(str(tmp_path / "zvonar.sqlite3"))
    closing = await _close_racing_a_stop(connection)
    assert closing.done() and closing.exception() is None
    connection._thread.join(timeout=2.0)
    assert not connection._thread.is_alive() and connection._connection is None
    stopped = connection.stop()  # the first stop's future: answered before close() returned
    assert stopped is not None and stopped.done()


async def test_the_sqlite_store_opens_its_connections_that_way(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'zvonar.sqlite3'}")
    try:
        async with db.reading() as s:
            assert await s.scalar(text("SELECT 1")) == 1
            raw = (await (await s.connection()).get_raw_connection()).driver_connection
        assert isinstance(raw, SafelyClosingConnection) and raw._thread.daemon
    finally:
        await db.dispose()
