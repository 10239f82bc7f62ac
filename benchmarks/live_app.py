"""The real Zvonar app on a real loopback port, with its AMI bridge connected (for benchmarks)."""

from __future__ import annotations

import asyncio
import gc

from aiohttp import web

from ami_bridge.bridge import AmiBridge
from ami_bridge.routes import BRIDGE_KEY


async def start_connected(app: web.Application, what: str) -> tuple[web.AppRunner, str, AmiBridge]:
    """Serve ``app`` on a free port and wait (5 s at most) for its bridge to log in to ``what``."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    bridge = app[BRIDGE_KEY]
    for _ in range(500):
        if bridge.conn.connected:
            break
        await asyncio.sleep(0.01)
    if not bridge.conn.connected:
        raise RuntimeError(f"the bridge did not connect to {what}")
    gc.freeze()  # what `zvonar serve` does once started (zvonar/runtime.py): measure the app as it runs
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}", bridge
