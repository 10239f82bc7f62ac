"""Click-to-call latency: POST /api/calls leaving the client -> the Originate's bytes reaching Asterisk.

    .venv/bin/python benchmarks/bench_click_to_call.py [--clients 6000] [--clicks 1000] [--stores sqlite,postgres]

For each store (a SQLite file, and a fresh PostgreSQL database dropped at the end): migrate,
five operators with endpoints 101..105, --clients generated clients (zvonar.demo_data,
RU/UA/BY, unique E.164 numbers) spread over them. The real app runs on a real port with
the real bridge and AMI connection (init_app(telephony=True), settings pointing at an AMI
server), so the path is: HTTP, auth, rights, the tracker, the Originate (the calls row is
written after it).

Asterisk is played by a minimal AMI endpoint in its own process: it greets, accepts the
Login, answers Ping and the bridge's resync lists (CoreShowChannels, QueueStatus) empty,
stamps every Originate with time.monotonic() in ``data_received`` (the read that brought
its last byte), answers "Originate successfully queued" and right after it an
OriginateResponse Failure (Reason 3, nobody picked up), as Asterisk would for an agent
who does not answer. The operator's browser is another process: --clicks sequential
POSTs (after --warmup ones, not counted), each for a distinct client of operator 101,
alternately by the number as people type it and by client_id, --pause seconds apart; it
stamps time.monotonic() just before each POST. Both stamps are CLOCK_MONOTONIC, so
latency = Originate arrival - POST start. Goal: p99 <= 10 ms.

Where the time goes, without changing the app: authenticate, resolve_target,
place_click_to_call and the bridge's originate are wrapped where their callers look them
up and stamp each click, so the figures come split by stage. --profile adds a cProfile of
the app process.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from latency_stats import percentile, summary
from live_app import start_connected

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

GOAL_P99_MS = 10.0
ENDPOINTS = ("101", "102", "103", "104", "105")
PASSWORD = "correct horse battery"
AMI_USER, AMI_SECRET = "zvonar", "bench-ami-secret"


# ----------------------------------------------------------------------------- Asterisk


def _encode(message: dict[str, str]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in message.items()) + "\r\n").encode("utf-8")


class MinimalAmi(asyncio.Protocol):
    """Just enough of Asterisk's manager interface for the bridge to log in and originate."""

    def __init__(self, originates: dict[str, dict[str, Any]]) -> None:
        self.originates = originates
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"Asterisk Call Manager/13.0.0\r\n")

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            block, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            fields: dict[str, str] = {}
            variables = []
            for line in block.decode("utf-8").split("\r\n"):
                key, _, value = line.partition(": ")
                if key.lower() == "variable":
                    variables.append(value)
                fields.setdefault(key.lower(), value)
            self.handle(fields, variables, arrived)

    def reply(self, *messages: dict[str, str]) -> None:
        assert self.transport is not None
        self.transport.write(b"".join(_encode(m) for m in messages))

    def handle(self, f: dict[str, str], variables: list[str], arrived: float) -> None:
        action, action_id = f.get("action", "").lower(), f.get("actionid", "")
        if action == "login":
            ok = f.get("username") == AMI_USER and f.get("secret") == AMI_SECRET
            self.reply({"Response": "Success" if ok else "Error", "ActionID": action_id,
                        "Message": "Authentication accepted" if ok else "Authentication failed"},
                       *([{"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "26", "LastReload": "26",
                           "Status": "Fully Booted"}] if ok else []))
        elif action == "ping":
            self.reply({"Response": "Success", "ActionID": action_id, "Ping": "Pong", "Timestamp": f"{time.time():.6f}"})
        elif action == "coreshowchannels":
            self.reply({"Response": "Success", "ActionID": action_id, "EventList": "start",
                        "Message": "Channels will follow"},
                       {"Event": "CoreShowChannelsComplete", "ActionID": action_id, "EventList": "Complete",
                        "ListItems": "0"})
        elif action == "queuestatus":
            self.reply({"Response": "Success", "ActionID": action_id, "EventList": "start",
                        "Message": "Queue status will follow"},
                       {"Event": "QueueStatusComplete", "ActionID": action_id, "EventList": "Complete",
                        "ListItems": "0"})
        elif action == "originate":
            self.originates[action_id] = {"t": arrived, "channel": f.get("channel"), "exten": f.get("exten"),
                                          "variables": variables}
            self.reply({"Response": "Success", "ActionID": action_id, "Message": "Originate successfully queued"})
            self.reply({"Event": "OriginateResponse", "Privilege": "call,all", "ActionID": action_id,
                        "Response": "Failure", "Channel": f.get("channel", ""), "Context": f.get("context", ""),
                        "Exten": f.get("exten", ""), "Reason": "3", "Uniqueid": "<unknown>",
                        "CallerIDNum": "<unknown>", "CallerIDName": "<unknown>"})
        elif action == "logoff":
            self.reply({"Response": "Goodbye", "ActionID": action_id, "Message": "Thanks for all the fish."})
            assert self.transport is not None
            self.transport.close()
        else:
            self.reply({"Response": "Error", "ActionID": action_id, "Message": "Invalid/unknown command"})


async def ami_endpoint() -> None:
    """The child process: serve AMI on a free port, print it; on "quit" print the Originates as JSON."""
    loop = asyncio.get_running_loop()
    originates: dict[str, dict[str, Any]] = {}
    server = await loop.create_server(lambda: MinimalAmi(originates), "127.0.0.1", 0)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    server.close()
    print(json.dumps(originates), flush=True)


# ----------------------------------------------------------------------------- the browser


async def click_client(base_url: str, token: str, bodies_file: str, warmup: int, pause: float) -> None:
    """The child process: the POSTs one after another; prints [{t_sent, t_done, status, action_id}] as JSON."""
    import aiohttp

    bodies = json.loads(Path(bodies_file).read_text())
    results = []
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        for i, body in enumerate(bodies):
            sent = time.monotonic()
            async with session.post(f"{base_url}/api/calls", json=body) as resp:
                answer = await resp.json()
                done = time.monotonic()
            results.append({"sent": sent, "done": done, "status": resp.status, "warmup": i < warmup,
                            "action_id": answer.get("action_id"), "by": next(iter(body)), "answer": answer})
            await asyncio.sleep(pause)
    print(json.dumps(results), flush=True)


# ----------------------------------------------------------------------------- figures




def as_typed(e164: str, rng: random.Random) -> str:
    """A number the way an operator pastes it: 8 (916) 123-45-67, +380 67 123 45 67, +375291234567."""
    if e164.startswith("+7") and rng.random() < 0.7:
        d = e164[2:]
        return f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}"
    if rng.random() < 0.5:
        if e164.startswith("+7"):
            d = e164[2:]
            return f"+7 {d[:3]} {d[3:6]}-{d[6:8]}-{d[8:]}"
        cc, d = e164[1:4], e164[4:]
        return f"+{cc} {d[:2]} {d[2:5]} {d[5:7]} {d[7:]}"
    return e164


class ClickStages:
    """Stamps each click on its way through the app, without touching the app's code.

    ``authenticate`` is wrapped where the HTTP dispatch looks it up, ``resolve_target`` where
    click_to_call does, ``place_click_to_call`` where the route does, and the bridge's
    ``originate`` on the instance; a request is one task, so the stamps of one click are
    found by its task and filed under its ActionID.
    """

    def __init__(self) -> None:
        self.open: dict[int, dict[str, float]] = {}
        self.by_action: dict[str, dict[str, float]] = {}

    def _stamp(self, name: str) -> None:
        self.open.setdefault(id(asyncio.current_task()), {})[name] = time.monotonic()

    def install(self, bridge: Any) -> None:
        import ami_bridge.click_to_call
        import ami_bridge.routes
        import zvonar.http_dispatch

        place, resolve, originate = (ami_bridge.routes.place_click_to_call, ami_bridge.click_to_call.resolve_target,
                                     bridge.originate)
        authenticate = zvonar.http_dispatch.authenticate

        async def timed_authenticate(request: Any) -> Any:
            self._stamp("auth")
            found = await authenticate(request)
            self._stamp("authed")
            return found

        async def timed_place(*args: Any, **kwargs: Any) -> Any:
            self._stamp("place")
            try:
                return await place(*args, **kwargs)
            finally:
                self.open.pop(id(asyncio.current_task()), None)

        async def timed_resolve(*args: Any, **kwargs: Any) -> Any:
            self._stamp("resolve")
            target = await resolve(*args, **kwargs)
            self._stamp("resolved")
            return target

        async def timed_originate(action: dict[str, Any], **kwargs: Any) -> str:
            self._stamp("originate")
            self.by_action[str(action["ActionID"])] = self.open.get(id(asyncio.current_task()), {})
            return await originate(action, **kwargs)

        zvonar.http_dispatch.authenticate = timed_authenticate
        ami_bridge.routes.place_click_to_call = timed_place
        ami_bridge.click_to_call.resolve_target = timed_resolve
        bridge.originate = timed_originate

    def split(self, action_id: str, sent: float, on_wire: float) -> dict[str, float] | None:
        s = self.by_action.get(action_id)
        if not s or len(s) < 6:
            return None
        return {"sent -> request handled": s["auth"] - sent, "auth (token -> user)": s["authed"] - s["auth"],
                "body, route -> service": s["place"] - s["authed"], "client and rights (reads)": s["resolved"] - s["resolve"],
                "read closed, Originate built": s["originate"] - s["resolved"],
                "tracker, AMI write -> wire": on_wire - s["originate"]}


# ----------------------------------------------------------------------------- one store


async def child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,
    )


async def run_store(kind: str, args: argparse.Namespace, tmp: Path) -> bool:
    from aiohttp import ClientSession, web
    from fresh_store import create_pg_database, drop_pg_database, load_clients, pg_url

    from crm_core.db import Database
    from crm_core.migrate import upgrade
    from crm_core.models import Role
    from crm_core.phones import phone_digits
    from crm_core.services import users
    from zvonar.app import init_app
    from zvonar.bus import InProcessBus
    from zvonar.settings import load_settings

    rng = random.Random(args.seed)
    pg_name = await create_pg_database("zvonar_bench_c2c") if kind == "postgres" else None
    url = pg_url(pg_name) if pg_name else f"sqlite+aiosqlite:///{tmp / 'zvonar.sqlite3'}"
    db = Database(url)
    runner: web.AppRunner | None = None
    asterisk: asyncio.subprocess.Process | None = None
    profiler = cProfile.Profile() if args.profile else None
    try:
        started = time.perf_counter()
        await upgrade(db)
        team = await users.ensure_team(db, "Отдел продаж")
        ids = {}
        for ext in ENDPOINTS:
            user = await users.create_user(db, login=f"operator{ext}", full_name=f"Оператор {ext}", role=Role.operator,
                                           password=PASSWORD, team_id=team, phone_endpoint=ext)
            ids[ext] = user.id
        stats = await load_clients(db, args.clients, list(ids.values()), keep=range(args.clients), seed=args.seed,
                                   pg_database=pg_name)
        mine = [c for c in stats.kept if c.responsible_id == ids["101"]]
        needed = args.clicks + args.warmup
        if len(mine) < needed:
            raise SystemExit(f"operator 101 has {len(mine)} clients, fewer than {needed} clicks: raise --clients")
        chosen = rng.sample(mine, needed)
        bodies = [{"phone": as_typed(c.e164, rng)} if i % 2 == 0 else {"client_id": c.client_id}
                  for i, c in enumerate(chosen)]
        bodies_file = tmp / f"bodies_{kind}.json"
        bodies_file.write_text(json.dumps(bodies, ensure_ascii=False))
        print(f"[{kind}] store: {stats.line()}; set-up {time.perf_counter() - started:.1f} s (not timed)")

        asterisk = await child("--ami-endpoint")
        assert asterisk.stdout is not None and asterisk.stdin is not None
        port = int((await asyncio.wait_for(asterisk.stdout.readline(), 30)).split()[1])
        settings = load_settings(database_url=url, ami={"host": "127.0.0.1", "port": port, "username": AMI_USER,
                                                        "secret": AMI_SECRET})
        app = init_app(settings, db=db, bus=InProcessBus(), telephony=True)
        runner, base_url, bridge = await start_connected(app, "the AMI endpoint")
        stages = ClickStages()
        stages.install(bridge)
        async with ClientSession() as http:
            resp = await http.post(f"{base_url}/api/auth/login", json={"login": "operator101", "password": PASSWORD})
            resp.raise_for_status()
            token = (await resp.json())["token"]

        if profiler:
            profiler.enable()
        run_started = time.perf_counter()
        browser = await child("--click-client", base_url, token, str(bodies_file), str(args.warmup), str(args.pause))
        assert browser.stdout is not None
        clicks = json.loads(await browser.stdout.readline())
        await browser.wait()
        run_seconds = time.perf_counter() - run_started
        if profiler:
            profiler.disable()
        load = os.getloadavg()
        await runner.cleanup()  # the bridge logs off before "Asterisk" goes away
        runner = None
        asterisk.stdin.write(b"quit\n")
        await asterisk.stdin.drain()
        originates = json.loads(await asyncio.wait_for(asterisk.stdout.readline(), 30))
        await asterisk.wait()
        asterisk = None

        to_wire, round_trip, by_kind, wrong = [], [], {"phone": [], "client_id": []}, []
        stage_ms: dict[str, list[float]] = {}
        for click, body, client in zip(clicks, bodies, chosen):
            seen = originates.get(click["action_id"] or "")
            if click["status"] != 202 or seen is None:
                wrong.append(f"{body}: HTTP {click['status']} {click['answer']}" if click["status"] != 202
                             else f"{body}: no Originate reached Asterisk")
                continue
            if (seen["exten"] != phone_digits(client.e164) or seen["channel"] != "PJSIP/101"
                    or f"ZVONAR_CLIENT_ID={client.client_id}" not in seen["variables"]):
                wrong.append(f"{body}: Originate {seen} is not for client {client.client_id} {client.e164}")
                continue
            if click["warmup"]:
                continue
            ms = (seen["t"] - click["sent"]) * 1000
            to_wire.append(ms)
            split = stages.split(click["action_id"], click["sent"], seen["t"])
            if split:
                for stage, seconds in split.items():
                    stage_ms.setdefault(stage, []).append(seconds * 1000)
            by_kind[click["by"]].append(ms)
            round_trip.append((click["done"] - click["sent"]) * 1000)
        print(f"[{kind}] {args.warmup} warm-up + {args.clicks} clicks in {run_seconds:.1f} s "
              f"({args.pause * 1000:.0f} ms pause after each); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"on {os.cpu_count()} cores")
        print(f"[{kind}] " + summary("POST sent -> Originate in", to_wire))
        print(f"[{kind}] " + summary("  by phone as typed", by_kind["phone"]))
        print(f"[{kind}] " + summary("  by client_id", by_kind["client_id"]))
        print(f"[{kind}] " + summary("POST sent -> 202 received", round_trip))
        print(f"[{kind}] the same clicks, stage by stage:")
        for stage, values in stage_ms.items():
            print(f"[{kind}]   " + summary(stage, values))
        for line in wrong[:5]:
            print(f"[{kind}] WRONG {line}")
        p99 = percentile(sorted(to_wire), 99)
        ok = not wrong and len(to_wire) == args.clicks and p99 <= GOAL_P99_MS
        print(f"[{kind}] goal p99 <= {GOAL_P99_MS:.0f} ms with every click placed right: "
              f"{'met' if ok else 'NOT met'} (p99 {p99:.2f} ms, {len(wrong)} wrong)")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return ok
    finally:
        if asterisk is not None:
            asterisk.kill()
            await asterisk.wait()
        if runner is not None:
            await runner.cleanup()
        await db.dispose()
        if pg_name:
            await drop_pg_database(pg_name)


async def run(args: argparse.Namespace) -> int:
    results = {}
    with tempfile.TemporaryDirectory(prefix="zvonar-c2c-") as tmp:
        for kind in args.stores.split(","):
            results[kind] = await run_store(kind, args, Path(tmp))
    print("goal met on: " + ", ".join(k for k, ok in results.items() if ok) if any(results.values())
          else "goal met on: none")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--ami-endpoint":
        asyncio.run(ami_endpoint())
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--click-client":
        base_url, token, bodies, warmup, pause = sys.argv[2:7]
        asyncio.run(click_client(base_url, token, bodies, int(warmup), float(pause)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=6000, help="clients in the store, spread over 5 operators")
    parser.add_argument("--clicks", type=int, default=1000, help="measured clicks")
    parser.add_argument("--warmup", type=int, default=20, help="clicks before the measured ones, left out")
    parser.add_argument("--pause", type=float, default=0.02, help="seconds between a 202 and the next click")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the app process during the clicks")
    args = parser.parse_args()
    if set(args.stores.split(",")) - {"sqlite", "postgres"}:
        parser.error("--stores takes sqlite and/or postgres")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
