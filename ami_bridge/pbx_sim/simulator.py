"""PbxSimulator: the simulated Asterisk as a service (AMI on loopback), plus the CLI entry points."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from ami_bridge.pbx_sim.config import AmiUser, SimConfig
from ami_bridge.pbx_sim.pbx import Listener, Pbx
from ami_bridge.pbx_sim.server import AmiServer, RealTimeDriver

log = logging.getLogger(__name__)


class SimulatorNotRunning(RuntimeError):
    """The simulator was used before ``start()`` or after ``stop()``."""


class PbxSimulator:
    """An AMI server that behaves like Asterisk running Zvonar's dialplan.

    ``start()`` returns the (host, port) it listens on; everything else must be
    called from the event loop it was started in.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._pbx: Pbx | None = None
        self._driver: RealTimeDriver | None = None
        self._server: AmiServer | None = None
        self.address: tuple[str, int] | None = None

    @property
    def pbx(self) -> Pbx:
        if self._pbx is None:
            raise SimulatorNotRunning("PbxSimulator is not started")
        return self._pbx

    async def start(self) -> tuple[str, int]:
        """Listen on ``config.host``/``config.port`` (0 = any free port)."""
        if self._pbx is not None:
            raise RuntimeError("PbxSimulator is already started")
        pbx = Pbx(self.config)
        driver = RealTimeDriver(pbx.scheduler, self.config.time_scale)
        server = AmiServer(pbx, self.config, driver)
        pbx.listeners.append(server.broadcast)
        self.address = await server.start()
        driver.start()
        self._pbx, self._driver, self._server = pbx, driver, server
        log.info("pbx_sim.started host=%s port=%s time_scale=%s", self.address[0], self.address[1],
                 self.config.time_scale)
        return self.address

    async def stop(self) -> None:
        """Close the listener and every session; calls in progress are dropped silently."""
        if self._server is not None:
            await self._server.stop()
        if self._driver is not None:
            await self._driver.stop()
        self._pbx = self._driver = self._server = None
        log.info("pbx_sim.stopped")

    def _sync(self) -> Pbx:
        pbx = self.pbx
        assert self._driver is not None
        self._driver.catch_up()
        return pbx

    def now(self) -> float:
        """Simulated seconds since start."""
        return self._sync().scheduler.now

    def inject_inbound_call(self, caller_number: str, caller_name: str, did: str,
                            patience_seconds: float | None = None, *, shape: str = "pjsip",
                            action_id: str | None = None) -> str:
        """A caller dials ``did`` from the carrier; it hangs up ``patience_seconds`` after being answered.

        ``shape="pjsip"`` (a ``PJSIP/trunk-…`` channel, as in production) or ``"local"``
        (a Local pair originated with Application=Wait, as in the recording lab; with
        ``action_id`` its OriginateResponse carries that ActionID). Returns the name of
        the caller's channel.
        """
        pbx = self._sync()
        name = pbx.inject_inbound_call(caller_number, caller_name, did, patience_seconds, shape, action_id)
        assert self._driver is not None
        self._driver.poke()
        return name

    def live_channels(self) -> list[dict[str, str]]:
        """The channels that exist now: name, state, ids, where they are in the dialplan, bridge."""
        pbx = self._sync()
        out = []
        for chan in pbx.live_channels():
            out.append({
                "channel": chan.name,
                "state": chan.state_desc,
                "uniqueid": chan.uniqueid,
                "linkedid": chan.linkedid,
                "context": chan.context,
                "exten": chan.exten,
                "application": chan.application,
                "app_data": chan.app_data,
                "caller_id_num": chan.cid_num,
                "bridge_id": chan.bridge.uid if chan.bridge is not None else "",
            })
        return out

    def queue_members(self, queue: str) -> list[dict[str, str]]:
        """Members of ``queue`` as QueueMemberStatus would show them."""
        pbx = self._sync()
        state = pbx.queues.get(queue)
        if state is None:
            raise KeyError(f"no queue named {queue!r}")
        return [m.blob(pbx.queues.device(m.state_interface)) for m in state.members]

    def add_listener(self, listener: Listener) -> None:
        """Also hand every event to ``listener`` (called synchronously, in emission order)."""
        self.pbx.listeners.append(listener)

    def idle(self) -> bool:
        return self._sync().idle()

    async def wait_until_idle(self, poll_seconds: float = 0.005) -> None:
        """Return once no call is in progress (no channels, no Originate pending)."""
        while not self.idle():
            await asyncio.sleep(poll_seconds)


async def serve_forever(config: SimConfig) -> None:
    """Run the simulator until cancelled (the ``zvonar pbx-sim`` command)."""
    sim = PbxSimulator(config)
    host, port = await sim.start()
    log.info("pbx_sim.listening host=%s port=%s users=%s", host, port, ",".join(u.username for u in config.users))
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


def run_pbx_sim(host: str = "127.0.0.1", port: int = 5038, username: str = "zvonar", secret: str = "zvonar",
                time_scale: float = 1.0, seed: int = 0, config: SimConfig | None = None, **overrides: Any) -> None:
    """Blocking entry point: serve AMI on ``host:port`` for one user until Ctrl-C.

    ``config`` (default: the asterisk-config mirror) is taken as the base; the
    arguments and ``overrides`` (any SimConfig field) replace its values.
    """
    base = config or SimConfig()
    cfg = replace(base, host=host, port=port, users=(AmiUser(username, secret),), time_scale=time_scale, seed=seed,
                  **overrides)
    try:
        asyncio.run(serve_forever(cfg))
    except KeyboardInterrupt:
        log.info("pbx_sim.interrupted")
