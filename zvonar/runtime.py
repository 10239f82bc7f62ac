"""Start-up and shutdown of the long-running roles (API server, PBX simulator)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from typing import TYPE_CHECKING

from aiohttp import web

from zvonar.settings import Settings

if TYPE_CHECKING:
    from ami_bridge.pbx_sim import SimConfig

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
    # Imported here: ``zvonar pbx-sim`` needs none of the app (store, migrations, routes).
    from zvonar.app import init_app

    app = init_app(settings, telephony=True)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or settings.http.host, port or settings.http.port)
    await site.start()
    # Everything loaded at start-up lives for the whole run: keep it out of full GC passes,
    # which otherwise stall the loop for ~100 ms (a screen pop arriving late).
    gc.freeze()
    log.info("http.listening url=http://%s:%s", host or settings.http.host, port or settings.http.port)
    if ready is not None:
        ready.set()
    try:
        await _wait_for_stop()
    finally:
        await runner.cleanup()


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    try:
        asyncio.run(serve_async(settings, host, port))
    except OSError as exc:
        # A taken port (the API's or the simulator's) is a setup problem, not a crash.
        print(f"zvonar serve: {exc.strerror or exc}; is another Zvonar running? "
              "(ZVONAR_HTTP__PORT / ZVONAR_PBX_SIM__PORT choose other ports)", file=sys.stderr)
        return 1
    return 0


async def _pbx_sim_until_stopped(config: SimConfig) -> None:
    """Serve the simulator until SIGINT/SIGTERM; its own shutdown runs either way."""
    from ami_bridge.pbx_sim import serve_forever

    server = asyncio.ensure_future(serve_forever(config))
    stop = asyncio.ensure_future(_wait_for_stop())
    await asyncio.wait((server, stop), return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not server.done():
        server.cancel()
    await asyncio.gather(stop, return_exceptions=True)
    try:
        await server
    except asyncio.CancelledError:
        pass


def run_pbx_sim(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """``zvonar pbx-sim``: the simulator alone, for a bridge in another process."""
    from dataclasses import replace

    from zvonar.telephony import sim_config

    config = replace(sim_config(settings), host=host or settings.pbx_sim.host, port=port if port is not None else settings.pbx_sim.port)
    try:
        asyncio.run(_pbx_sim_until_stopped(config))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        # Mostly "address already in use": say where, not a traceback.
        print(f"zvonar pbx-sim: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
