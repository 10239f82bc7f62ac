"""Screen pop latency: an agent's AgentCalled/DialBegin arriving over AMI -> the card on their WebSocket.

    .venv/bin/python benchmarks/bench_screen_pop.py [--clients 1000000] [--calls 500] [--profile]
        [--keep-database | --database NAME]

Set-up (not timed, but printed): a fresh PostgreSQL database (dropped at the end), migrated,
five operators with endpoints 101..105, and --clients generated clients (zvonar.demo_data,
RU/UA/BY, unique E.164 numbers, a third with open and closed interactions) written by
COPY. Then the real app runs on a real port: init_app(telephony=True) with the built-in
PBX simulator (time scale --time-scale; agents answer after --answer-after simulated
seconds, so the card must be up before they pick up). Each operator's WebSocket is opened
by aiohttp's client in a separate process (the browsers), which stamps every frame with
time.monotonic() on arrival. --calls inbound calls, --unknown-share of them from numbers no
client has and the rest from clients picked at random, are injected --interval seconds
apart into the "support" queue.

Measured per (call, agent): from the TCP read that brought the agent's first AgentCalled or
DialBegin to the bridge's AMI connection (``received_at`` = loop.time(), taken by an extra
``conn.on_event`` callback; the bridge's own callback runs first on the same read) to the
screen.pop frame's arrival at that agent's WebSocket (the same CLOCK_MONOTONIC). A few
warm-up calls are left out. Goal: p99 <= 20 ms. The simulator shares the app's event loop
(a real Asterisk would not), so the figures are if anything pessimistic.

Where the time goes, without changing the app: each pop is also stamped when the bridge
starts and ends building the card (its resolve_screen_pop, wrapped where the bridge looks
it up) and when it is published (the bus is a stamping InProcessBus), so the figures come
split by stage; SQL statement times (SQLAlchemy engine events), event-loop stalls and GC
pauses are recorded too, and the slowest pops are shown with what the app did meanwhile.
--profile adds a cProfile of the app process. --keep-database / --database NAME keep the
loaded base and rerun against it (not dropped then).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any

from latency_stats import percentile, summary
from live_app import start_connected

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

GOAL_P99_MS = 20.0
ENDPOINTS = ("101", "102", "103", "104", "105")
DID = "74951234567"  # routed to the "support" queue (asterisk-config, mirrored by the simulator)
PASSWORD = "correct horse battery"
WATCHED_TOPICS = {"screen.pop", "call.answered", "ws.ready"}


# ----------------------------------------------------------------------------- the browsers


async def websocket_clients(base_url: str, tokens: list[str]) -> None:
    """The child process: one WebSocket per token; frames stamped on arrival, dumped as JSON on "quit"."""
    import aiohttp

    frames: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(f"{base_url}/api/ws", headers={"Authorization": f"Bearer {t}"})
                   for t in tokens]

        async def pump(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                t = time.monotonic()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame["topic"] in WATCHED_TOPICS:
                    p = frame["payload"]
                    frames.append({"t": t, "ws": index, "topic": frame["topic"], "call_id": p.get("call_id"),
                                   "agent": p.get("agent"), "known": p.get("known")})

        pumps = [asyncio.create_task(pump(i, ws)) for i, ws in enumerate(sockets)]
        loop = asyncio.get_running_loop()
        while sum(f["topic"] == "ws.ready" for f in frames) < len(sockets):
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "quit"
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*pumps, return_exceptions=True)
    print(json.dumps(frames), flush=True)


# ----------------------------------------------------------------------------- figures




def agent_of(interface: str) -> str:
    """'PJSIP/101' or 'PJSIP/101-0000002a' -> '101'."""
    tail = interface.split("/", 1)[-1]
    return tail.split("@", 1)[0].rsplit("-", 1)[0] if "-" in tail else tail.split("@", 1)[0]


# ----------------------------------------------------------------------------- where the time goes


class Diagnostics:
    """Where a slow pop's time went: SQL round trips, event-loop stalls, garbage collections.

    Everything is stamped with time.monotonic() (= loop.time()), like the pops themselves.
    """

    LAG_STEP = 0.005

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.sql: list[tuple[float, float]] = []
        self.stalls: list[tuple[float, float]] = []
        self.gcs: list[tuple[float, float]] = []
        self._gc_started = 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)
        gc.callbacks.append(self._gc)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        context._bench_started = time.monotonic()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        self.sql.append((context._bench_started, time.monotonic()))

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.monotonic()
        else:
            self.gcs.append((self._gc_started, time.monotonic()))

    async def watch_loop(self) -> None:
        """Record each time the loop came back late from a short sleep (it was busy or starved)."""
        while True:
            asked = time.monotonic()
            await asyncio.sleep(self.LAG_STEP)
            late = time.monotonic() - asked - self.LAG_STEP
            if late > self.LAG_STEP:
                self.stalls.append((asked + self.LAG_STEP, asked + self.LAG_STEP + late))

    @staticmethod
    def _overlap(spans: list[tuple[float, float]], start: float, end: float) -> float:
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in spans)

    def stalled(self, start: float, end: float, limit: float = 0.010) -> bool:
        """Whether a SQL statement, a GC or a loop stall of over ``limit`` s fell in the window."""
        return (any(b - a > limit for a, b in self.sql if start <= a <= end)
                or self._overlap(self.gcs, start, end) > limit or self._overlap(self.stalls, start, end) > limit)

    def explain(self, start: float, end: float) -> str:
        """What happened in the app between ``start`` and ``end``, in ms."""
        sql = [(a, b) for a, b in self.sql if start <= a <= end]
        return (f"SQL {len(sql)} statements {sum(b - a for a, b in sql) * 1000:.1f} ms "
                f"(longest {max((b - a for a, b in sql), default=0) * 1000:.1f}), "
                f"loop stalled {self._overlap(self.stalls, start, end) * 1000:.1f} ms, "
                f"GC {self._overlap(self.gcs, start, end) * 1000:.1f} ms")


class PopStages:
    """Stamps each pop on its way through the app, without touching the app's code.

    The bridge's ``resolve_screen_pop`` (the card from the store) is wrapped where the bridge
    looks it up, and the bus is this benchmark's InProcessBus subclass, so a pop's time splits
    into: AMI read -> card lookup starts (parse, tracker, task start) -> card built (the
    store) -> published -> frame in the browser (bus fan-out, JSON, WebSocket, other process).
    """

    def __init__(self) -> None:
        self.stamps: dict[tuple[str, str | None], dict[str, float]] = {}

    def install(self) -> None:
        import ami_bridge.bridge

        resolve = ami_bridge.bridge.resolve_screen_pop
        stamps = self.stamps

        async def timed_resolve(db: Any, ringing: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
            started = time.monotonic()
            payload = await resolve(db, ringing, *args, **kwargs)
            stamps[(ringing.call_id, ringing.agent)] = {"resolve": started, "resolved": time.monotonic()}
            return payload

        ami_bridge.bridge.resolve_screen_pop = timed_resolve

    def bus(self) -> Any:
        from zvonar.bus import InProcessBus

        stamps = self.stamps

        class StampingBus(InProcessBus):
            async def publish(self, topic: str, payload: dict[str, Any]) -> None:
                if topic == "screen.pop":
                    stamps.setdefault((payload["call_id"], payload["agent"]), {})["published"] = time.monotonic()
                await super().publish(topic, payload)

        return StampingBus()

    def split(self, key: tuple[str, str | None], received_at: float, frame_at: float) -> dict[str, float] | None:
        s = self.stamps.get(key)
        if not s or len(s) < 3:
            return None
        return {"AMI read -> lookup starts": s["resolve"] - received_at, "card from the store": s["resolved"] - s["resolve"],
                "card -> bus publish": s["published"] - s["resolved"], "publish -> browser frame": frame_at - s["published"]}


# ----------------------------------------------------------------------------- the run


async def existing_callers(db: Any, count: int, seed: int) -> list[tuple[str, str, bool]]:
    """``count`` mobile numbers of clients already in a kept database, with their contact's name."""
    from sqlalchemy import text

    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        rows = (await conn.execute(text(
            "SELECT substr(p.e164, 2), c.first_name || ' ' || coalesce(c.last_name, '') FROM phones p "
            "JOIN contacts c ON c.id = p.contact_id WHERE p.kind = 'mobile' ORDER BY random() LIMIT :n"),
            {"n": count})).all()
    return [(digits, name, True) for digits, name in rows]


async def run(args: argparse.Namespace) -> int:
    from aiohttp import ClientSession, web
    from fresh_store import create_pg_database, drop_pg_database, load_clients, pg_url, table_counts, unknown_numbers

    from ami_bridge.pbx_sim import AgentBehaviour, SimConfig
    from crm_core.db import Database
    from crm_core.migrate import upgrade
    from crm_core.models import Role
    from crm_core.phones import phone_digits
    from crm_core.services import users
    from zvonar.app import init_app
    from zvonar.settings import load_settings
    from zvonar.telephony import SIM_KEY

    rng = random.Random(args.seed)
    total_calls = args.calls + args.warmup
    unknown_count = round(total_calls * args.unknown_share)
    name = args.database or await create_pg_database("zvonar_bench_pop")
    db = Database(pg_url(name))
    runner: web.AppRunner | None = None
    browsers: asyncio.subprocess.Process | None = None
    try:
        started = time.perf_counter()
        if args.database:
            callers = await existing_callers(db, total_calls - unknown_count, args.seed)
            print(f"store: PostgreSQL {name} as it is: {await table_counts(db)}")
        else:
            await upgrade(db)
            team = await users.ensure_team(db, "Отдел продаж")
            operators = []
            for ext in ENDPOINTS:
                user = await users.create_user(db, login=f"operator{ext}", full_name=f"Оператор {ext}",
                                               role=Role.operator, password=PASSWORD, team_id=team, phone_endpoint=ext)
                operators.append(user.id)
            keep = set(rng.sample(range(args.clients), min(args.clients, total_calls - unknown_count)))
            stats = await load_clients(db, args.clients, operators, keep=keep, seed=args.seed, pg_database=name)
            callers = [(phone_digits(c.e164), c.contact_name, True) for c in stats.kept]
            print(f"store: PostgreSQL {name}: {stats.line()}")
            print(f"       {await table_counts(db)}")
        callers += [(phone_digits(e), "", False) for e in await unknown_numbers(db, unknown_count)]
        print(f"       set-up {time.perf_counter() - started:.1f} s (not timed)")
        rng.shuffle(callers)

        sim = SimConfig(
            port=0, time_scale=args.time_scale, seed=args.seed,
            default_agent=AgentBehaviour(answer_after=args.answer_after, talk_seconds=None),
        )
        settings = load_settings(database_url=pg_url(name))
        stages = PopStages()
        stages.install()
        app = init_app(settings, db=db, bus=stages.bus(), telephony=True, sim_override=sim)
        runner, base_url, bridge = await start_connected(app, "the PBX simulator")

        tokens = []
        async with ClientSession() as http:
            for ext in ENDPOINTS:
                resp = await http.post(f"{base_url}/api/auth/login", json={"login": f"operator{ext}", "password": PASSWORD})
                resp.raise_for_status()
                tokens.append((await resp.json())["token"])
        browsers = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--websocket-clients", base_url, *tokens,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024,
        )
        assert browsers.stdout is not None and browsers.stdin is not None
        if (await asyncio.wait_for(browsers.stdout.readline(), 30)).strip() != b"ready":
            raise RuntimeError("the WebSocket clients did not start")

        loop = asyncio.get_running_loop()
        arrivals: dict[tuple[str, str], tuple[float, float, str]] = {}

        def on_event(event: dict[str, Any], received_at: float) -> None:
            kind = event.get("Event")
            if kind == "AgentCalled":
                interface, linkedid = str(event.get("Interface") or ""), str(event.get("Linkedid") or "")
            elif kind == "DialBegin":
                interface = str(event.get("DestChannel") or "")
                linkedid = str(event.get("Linkedid") or event.get("DestLinkedid") or "")
            else:
                return
            agent = agent_of(interface)
            if agent in ENDPOINTS and linkedid:
                arrivals.setdefault((linkedid, agent), (received_at, loop.time(), kind))

        bridge.conn.on_event(on_event)
        diagnostics = Diagnostics(db.engine)
        watcher = asyncio.create_task(diagnostics.watch_loop())
        pbx = app[SIM_KEY]
        profiler = cProfile.Profile() if args.profile else None
        measured_from = float("inf")
        print(f"calls: {args.warmup} warm-up + {args.calls} measured ({unknown_count} from unknown numbers), "
              f"{args.interval * 1000:.0f} ms apart; time scale {args.time_scale}, agents answer after "
              f"{args.answer_after} s simulated = {args.answer_after * args.time_scale * 1000:.0f} ms")
        calls_started = time.perf_counter()
        for i, (digits, caller_name, _known) in enumerate(callers):
            if i == args.warmup:
                measured_from = loop.time()
                if profiler:
                    profiler.enable()
            pbx.inject_inbound_call(digits, caller_name, DID, patience_seconds=args.patience)
            await asyncio.sleep(args.interval)
        deadline = loop.time() + 60
        while not pbx.idle() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        if profiler:
            profiler.disable()
        calls_seconds = time.perf_counter() - calls_started
        watcher.cancel()
        load = os.getloadavg()

        browsers.stdin.write(b"quit\n")
        await browsers.stdin.drain()
        frames = json.loads(await asyncio.wait_for(browsers.stdout.readline(), 30))
        await browsers.wait()
        browsers = None

        pops = {(f["call_id"], f["agent"]): f for f in frames if f["topic"] == "screen.pop"}
        answered = {(f["call_id"], f["agent"]): f["t"] for f in frames if f["topic"] == "call.answered"}
        latencies, known_ms, unknown_ms, missing, late = [], [], [], [], 0
        first_events = {"AgentCalled": 0, "DialBegin": 0}
        callback_lag = []
        slowest: list[tuple[float, float, float, bool]] = []
        stage_ms: dict[str, list[float]] = {}
        unhit_ms: list[float] = []
        warm = 0
        for key, (received_at, seen_at, kind) in arrivals.items():
            if received_at < measured_from:
                warm += 1
                continue
            pop = pops.get(key)
            if pop is None:
                missing.append(key)
                continue
            ms = (pop["t"] - received_at) * 1000
            latencies.append(ms)
            if not diagnostics.stalled(received_at, pop["t"]):
                unhit_ms.append(ms)
            split = stages.split(key, received_at, pop["t"])
            if split:
                for stage, seconds in split.items():
                    stage_ms.setdefault(stage, []).append(seconds * 1000)
            slowest.append((ms, received_at, pop["t"], pop["known"]))
            (known_ms if pop["known"] else unknown_ms).append(ms)
            first_events[kind] += 1
            callback_lag.append((seen_at - received_at) * 1000)
            if key in answered and answered[key] < pop["t"]:
                late += 1
        print(f"ran {calls_seconds:.1f} s; load average during the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"on {os.cpu_count()} cores")
        print(f"agent rings seen on AMI: {len(arrivals)} ({warm} rung before the first measured call, left out); "
              f"first event per ring: {first_events}")
        print("event arrival -> screen.pop frame on the agent's WebSocket:")
        print("  " + summary("all pops", latencies))
        print("  " + summary("known clients", known_ms))
        print("  " + summary("unknown numbers", unknown_ms))
        print("  " + summary("(read -> our callback)", callback_lag))
        print("  " + summary("no stall >10 ms in window", unhit_ms)
              + "  (no SQL statement, GC or loop stall over 10 ms while it was on its way)")
        print("the same pops, stage by stage:")
        for stage, values in stage_ms.items():
            print("  " + summary(stage, values))
        print("slowest pops, and what the app did meanwhile:")
        for ms, start, end, known in sorted(slowest, reverse=True)[:5]:
            print(f"  {ms:7.1f} ms ({'known' if known else 'unknown'}, {start - measured_from:5.1f} s in): "
                  f"{diagnostics.explain(start, end)}")
        stalls = sorted((b - a) * 1000 for a, b in diagnostics.stalls if a >= measured_from)
        print(f"event-loop stalls over {Diagnostics.LAG_STEP * 1000:.0f} ms during the calls: {len(stalls)}, "
              f"longest {stalls[-1] if stalls else 0:.1f} ms; GC pauses: "
              f"{sum(1 for a, _ in diagnostics.gcs if a >= measured_from)}, longest "
              f"{max(((b - a) * 1000 for a, b in diagnostics.gcs if a >= measured_from), default=0):.1f} ms")
        print(f"pops missing: {len(missing)}; pops after the agent answered: {late}")
        p99 = percentile(sorted(latencies), 99)
        ok = bool(latencies) and p99 <= GOAL_P99_MS and not missing and late == 0
        print(f"goal p99 <= {GOAL_P99_MS:.0f} ms, every ring popped before answer: {'met' if ok else 'NOT met'} "
              f"(p99 {p99:.2f} ms)")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0
    finally:
        if browsers is not None:
            browsers.kill()
            await browsers.wait()
        if runner is not None:
            await runner.cleanup()
        await db.dispose()
        if args.keep_database or args.database:
            print(f"database {name} kept (drop it with: DROP DATABASE \"{name}\" WITH (FORCE))")
        else:
            await drop_pg_database(name)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--websocket-clients":
        asyncio.run(websocket_clients(sys.argv[2], sys.argv[3:]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=500, help="measured calls")
    parser.add_argument("--warmup", type=int, default=10, help="calls before the measured ones, left out")
    parser.add_argument("--unknown-share", type=float, default=0.1, help="share of calls from numbers no client has")
    parser.add_argument("--interval", type=float, default=0.25, help="wall seconds between two calls")
    parser.add_argument("--time-scale", type=float, default=0.05, help="wall seconds per simulated second")
    parser.add_argument("--answer-after", type=float, default=4.0, help="simulated seconds an agent lets it ring")
    parser.add_argument("--patience", type=float, default=12.0, help="simulated seconds a caller stays after answer")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", action="store_true", help="cProfile the app process during the measured calls")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--database", help="use this kept database as it is (no set-up, not dropped)")
    args = parser.parse_args()
    if args.calls < 1 or args.clients < args.calls:
        parser.error("--clients must be at least --calls, and --calls at least 1")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
