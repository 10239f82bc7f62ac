"""Start-up and shutdown of the long-running roles (API server, PBX simulator)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from zvonar.app import init_app
from zvonar.settings import Settings

log = logging.getLogger(__name__)


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except NotImplementedError:  # pragma: no cover - non-Unix
            pass
    await stop.wait()


async def serve_async(settings: Settings, host: str | None = None, port: int | None = None, ready: asyncio.Event | None = None) -> None:
    """Run the API until SIGINT/SIGTERM."""
    app = init_app(settings, telephony=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or settings.http.host, port or settings.http.port)
    await site.start()
    log.info("http.listening url=http://%s:%s", host or settings.http.host, port or settings.http.port)
    if ready is not None:
        ready.set()
    try:
        await _wait_for_stop()
    finally:
        await runner.cleanup()


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    asyncio.run(serve_async(settings, host, port))
    return 0


def run_pbx_sim(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """``zvonar pbx-sim``: the simulator alone, for a bridge in another process."""
    from dataclasses import replace

    from ami_bridge.pbx_sim import serve_forever
    from zvonar.telephony import sim_config

    config = replace(sim_config(settings), host=host or settings.pbx_sim.host, port=port if port is not None else settings.pbx_sim.port)
    try:
        asyncio.run(serve_forever(config))
    except KeyboardInterrupt:
        pass
    return 0
