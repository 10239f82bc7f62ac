"""Starts the AMI bridge with the app (to a real Asterisk, or to the built-in simulator), and the dialer with it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from ami_bridge.bridge import AmiBridge, BridgeConfig
from ami_bridge.connection import AmiConnection, reconnect_delay
from ami_bridge.errors import AmiAuthenticationError, AmiError
from ami_bridge.pbx_sim import AgentBehaviour, AmiUser, PbxSimulator, RandomClients, SimConfig
from ami_bridge.routes import BRIDGE_KEY
from crm_core.api import CONTEXT_KEY
from dialer.campaign_runner import Dialer
from dialer.routes import DIALER_KEY
from dialer.runner_config import DialerConfig
from zvonar.settings import Settings

log = logging.getLogger(__name__)

SIM_KEY = web.AppKey("zvonar_pbx_sim", PbxSimulator)
# The simulator listens on loopback only; this secret never protects a real PBX.
SIM_SECRET = "zvonar-pbx-sim"


def bridge_config(settings: Settings) -> BridgeConfig:
    ami = settings.ami
    return BridgeConfig(
        default_region=settings.default_region,
        agent_channel_template=ami.agent_channel_template,
        click_to_call_context=ami.click_to_call_context,
        originate_timeout_ms=ami.originate_timeout_ms,
        company_caller_id=ami.company_caller_id,
        call_access_seconds=settings.rights.call_access_days * 86400.0,
    )


def dialer_config(settings: Settings) -> DialerConfig:
    ami, d = settings.ami, settings.dialer
    return DialerConfig(
        tick_seconds=d.tick_seconds, stats_seconds=1.0, lease_seconds=d.lease_seconds,
        campaign_lease_seconds=d.campaign_lease_seconds,
        preview_lease_seconds=d.preview_lease_seconds, recover_after_seconds=d.recover_after_seconds,
        trunk_dial_template=ami.trunk_dial_template, campaign_context=ami.campaign_context,
        agent_channel_template=ami.agent_channel_template, click_to_call_context=ami.click_to_call_context,
        preview_timeout_ms=ami.originate_timeout_ms, company_caller_id=ami.company_caller_id,
        abandon_message=ami.abandon_message, login_agents=d.login_agents, day_timezone=d.day_timezone, wrapup_pause_reasons=d.wrapup_pause_reasons,
        stop_drain_seconds=d.stop_drain_seconds, call_access_seconds=settings.rights.call_access_days * 86400.0,
    )


def sim_config(settings: Settings) -> SimConfig:
    return SimConfig(
        host=settings.pbx_sim.host,
        port=settings.pbx_sim.port,
        users=(AmiUser(settings.ami.username, settings.ami.secret.get_secret_value() or SIM_SECRET),),
        time_scale=settings.pbx_sim.time_scale,
        seed=settings.pbx_sim.seed,
        random_clients=RandomClients(machine=settings.pbx_sim.machine_share),
        # The agents' phones answer by themselves, as zvonar-sub-autoanswer asks: after answering-
        # machine detection a client has 1 s left for an agent, a phone picked up by hand is too slow.
        default_agent=AgentBehaviour(answer_after=0.3, talk_seconds=None),
    )


async def _connect_until_up(bridge: AmiBridge, backoff_max: float) -> None:
    """The first connection, retried with backoff: the API serves while Asterisk is away.

    The bridge is not stopped between attempts: stopping closes its AmiConnection for good.
    """
    attempt = 0
    while True:
        try:
            await bridge.start()
            return
        except AmiAuthenticationError:
            log.error("ami.bridge.login_refused host=%s user=%s: fix the AMI secret", bridge.conn.host, bridge.conn.username)
            return
        except AmiError as exc:
            attempt += 1
            delay = reconnect_delay(attempt, 0.5, backoff_max)
            log.warning("ami.bridge.unreachable host=%s error=%s retry_in=%.1f", bridge.conn.host, exc, delay)
            await asyncio.sleep(delay)


def telephony_context(settings: Settings, sim_override: SimConfig | None = None) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: the simulator (if no Asterisk is configured) and the bridge.

    ``sim_override`` replaces the simulator's configuration (tests script the callers).
    """

    async def telephony(app: web.Application) -> AsyncIterator[None]:
        sim: PbxSimulator | None = None
        ami = settings.ami
        host, port, username, secret = ami.host, ami.port, ami.username, ami.secret.get_secret_value()
        if settings.uses_pbx_simulator:
            config = sim_override or sim_config(settings)
            sim = PbxSimulator(config)
            host, port = await sim.start()
            username, secret = config.users[0].username, config.users[0].secret
            app[SIM_KEY] = sim
            log.info("pbx_sim.started host=%s port=%s", host, port)
        ctx = app[CONTEXT_KEY]
        conn = AmiConnection(
            host, port, username, secret, ping_interval=ami.ping_interval,
            action_timeout=ami.action_timeout, reconnect_backoff_max=ami.reconnect_backoff_max,
        )
        bridge = AmiBridge(conn, ctx.db, ctx.bus, bridge_config(settings))
        app[BRIDGE_KEY] = bridge
        dialer = Dialer(ctx.db, ctx.bus, bridge, dialer_config(settings)) if settings.dialer.enabled else None
        if dialer is not None:
            app[DIALER_KEY] = dialer
            await dialer.start()
        starter = asyncio.create_task(_connect_until_up(bridge, ami.reconnect_backoff_max))
        try:
            yield
        finally:
            starter.cancel()
            await asyncio.gather(starter, return_exceptions=True)
            if dialer is not None:
                await dialer.stop()
            await bridge.stop()
            if sim is not None:
                await sim.stop()

    return telephony


