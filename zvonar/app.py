"""The aiohttp application: mounts each room's routes, owns start-up and shutdown."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from crm_core.api import CONTEXT_KEY, ApiContext, ApiRoutes, Endpoint
from crm_core.db import Database
from crm_core.login_throttle import LoginThrottle
from crm_core.migrate import ensure_schema
from crm_core.session_cache import SessionCache
from zvonar import __version__
from zvonar.bus import EventBus, InProcessBus
from zvonar.errors import error_middleware
from zvonar.http_dispatch import make_handler
from zvonar.openapi import build_openapi
from zvonar.reminders import install_reminders
from zvonar.settings import Settings
from zvonar.ws import websocket_handler

log = logging.getLogger(__name__)

SETTINGS_KEY = web.AppKey("zvonar_settings", Settings)
OPENAPI_KEY = web.AppKey("zvonar_openapi", dict)


def route_tables() -> list[ApiRoutes]:
    """Every room's routes, in the order they appear in the OpenAPI document."""
    from ami_bridge import routes as telephony
    from crm_core.routes import appeals, auth, calls, campaigns, clients, contacts, dnc, imports, interactions
    from crm_core.routes import proposals, reminders
    from dialer import routes as dialer_routes
    from scripts_engine import routes as scripts

    return [auth.routes, clients.routes, contacts.routes, interactions.routes, appeals.routes, calls.routes, telephony.routes,
            imports.routes, scripts.routes, proposals.routes, reminders.routes, campaigns.routes, dnc.routes,
            dialer_routes.routes]


def make_bus(settings: Settings) -> EventBus:
    if settings.bus == "redis":
        from zvonar.bus_redis import RedisBus

        return RedisBus(settings.redis_url)
    return InProcessBus()


def init_app(
    settings: Settings,
    *,
    db: Database | None = None,
    bus: EventBus | None = None,
    extra_cleanup: list[Callable[[web.Application], Any]] | None = None,
    telephony: bool = False,
    sim_override: Any = None,
) -> web.Application:
    """Build the application; the store and the bus are opened and closed with it."""
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024 * 1024)
    from dialer.heard_stats import HeardStats
    from dialer.routes import DAY_ZONE_KEY, HEARD_STATS_KEY

    app[SETTINGS_KEY] = settings
    app[DAY_ZONE_KEY] = settings.dialer.day_timezone
    database = db or Database(settings.effective_database_url)
    event_bus = bus or make_bus(settings)
    app[CONTEXT_KEY] = ApiContext(
        db=database,
        bus=event_bus,
        default_region=settings.default_region,
        session_ttl_hours=settings.http.session_ttl_hours,
        throttle=LoginThrottle(limit=settings.http.login_attempts_per_minute, window=60.0),
        passwords=settings.passwords.hashing(),
        sessions=SessionCache(ttl=settings.http.session_cache_seconds),
    )

    async def store_and_bus(app: web.Application) -> AsyncIterator[None]:
        await ensure_schema(database)
        log.info("app.started store=%s bus=%s", database.safe_url(), settings.bus)
        yield
        if bus is None:
            await event_bus.close()
        if db is None:
            await database.dispose()

    app.cleanup_ctx.append(store_and_bus)
    install_reminders(app, database, event_bus)
    app[HEARD_STATS_KEY] = heard = HeardStats()
    app.cleanup_ctx.append(heard.running(event_bus))
    if telephony:
        from zvonar.telephony import telephony_context

        app.cleanup_ctx.append(telephony_context(settings, sim_override))
    for ctx in extra_cleanup or []:
        app.cleanup_ctx.append(ctx)

    endpoints: list[Endpoint] = []
    for table in route_tables():
        for ep in table.endpoints:
            # Ids are digits only, so /api/clients/search is never taken for /api/clients/{client_id}.
            route_path = re.sub(r"{(\w+)}", r"{\1:\\d+}", ep.path)
            app.router.add_route(ep.method, route_path, make_handler(ep), name=f"{ep.tag}.{ep.handler.__name__}")
            endpoints.append(ep)
    app[OPENAPI_KEY] = build_openapi(endpoints, "Zvonar API", __version__)
    app.router.add_get("/api/openapi.json", _openapi)
    app.router.add_get("/api/health", _health)
    app.router.add_get("/api/ws", websocket_handler)
    return app


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_KEY], dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})
