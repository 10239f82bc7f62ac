"""The AMI TCP server of the simulator: sessions, event fan-out, and the real-time clock driver.

Wire format through ami_bridge.protocol (AmiParser in, encode_action out, so
nothing with CR/LF ever reaches a socket). Each session writes through its own
queue, so a response always precedes the events its action caused.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
from collections.abc import Awaitable, Mapping

from ami_bridge.pbx_sim import ami_events as ev
from ami_bridge.pbx_sim.actions import classes, dispatch
from ami_bridge.pbx_sim.config import AmiUser, SimConfig
from ami_bridge.pbx_sim.pbx import Pbx
from ami_bridge.pbx_sim.scheduler import Scheduler, Signal
from ami_bridge.protocol import AmiParser, UnsafeAmiValue, encode_action

log = logging.getLogger(__name__)

# A client that stops reading is dropped, like Asterisk's writetimeout does.
MAX_PENDING_WRITES = 50_000


class RealTimeDriver:
    """Runs the scheduler at ``time_scale`` wall seconds per simulated second."""

    def __init__(self, scheduler: Scheduler, time_scale: float) -> None:
        self._scheduler = scheduler
        self._scale = time_scale
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0 = 0.0
        self._base = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()
        self._base = self._scheduler.now
        self._task = self._loop.create_task(self._run(), name="pbx-sim-clock")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def sim_now(self) -> float:
        assert self._loop is not None
        return self._base + (self._loop.time() - self._t0) / self._scale

    def catch_up(self, until: float | None = None) -> None:
        """Run everything due by now, or by ``until`` if earlier (call before touching the PBX from outside)."""
        if self._loop is not None:
            target = self.sim_now() if until is None else min(until, self.sim_now())
            self._scheduler.run_until(max(self._scheduler.now, target))

    def poke(self) -> None:
        """Something was scheduled from outside: re-plan the next wake-up."""
        self._wake.set()

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(max(0.0, sim_seconds) * self._scale)

    async def _run(self) -> None:
        while True:
            self.catch_up()
            due = self._scheduler.next_time()
            self._wake.clear()
            if due is None:
                await self._wake.wait()
                continue
            delay = (due - self.sim_now()) * self._scale
            if delay <= 0:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)


def _event_classes(event: Mapping[str, str]) -> frozenset[str]:
    return classes(event.get("Privilege", "")) - {"all"}


class AmiSession:
    """One TCP connection from a manager client."""

    _numbers = itertools.count(1)

    def __init__(self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.pbx = server.pbx
        self.user: AmiUser | None = None
        self.challenge: str | None = None
        self.number = next(self._numbers)
        self.session_id = f"0x{id(self):012x}"
        self._reader = reader
        self._writer = writer
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._events_mask: frozenset[str] = frozenset()
        self._closing = False
        sock = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local_address = f"IPV4/TCP/{sock[0]}/{sock[1]}"
        self.remote_address = f"IPV4/TCP/{peer[0]}/{peer[1]}"

    # ------------------------------------------------------------------ SessionPort

    def send(self, message: Mapping[str, str | list[str]]) -> None:
        try:
            data = encode_action(message)
        except UnsafeAmiValue as exc:
            log.error("pbx_sim.ami.unsafe_message session=%s error=%s", self.number, exc)
            return
        self.send_bytes(data)

    def send_bytes(self, data: bytes) -> None:
        if self._closing:
            return
        if self._queue.qsize() > MAX_PENDING_WRITES:
            log.warning("pbx_sim.ami.slow_client_dropped session=%s", self.number)
            self.close()
            return
        self._queue.put_nowait(data)

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._queue.put_nowait(None)

    def set_event_mask(self, mask: str | None) -> None:
        text = (mask or "on").strip().lower()
        if text in ("on", "yes", "true", "1"):
            self._events_mask = frozenset({"all"})
        elif text in ("off", "no", "false", "0"):
            self._events_mask = frozenset()
        else:
            self._events_mask = classes(text)

    def logged_in(self, user: AmiUser, events: str | None) -> None:
        self.user = user
        self.set_event_mask(events)
        log.info("pbx_sim.ami.login session=%s user=%s remote=%s", self.number, user.username, self.remote_address)
        if self.wants(ev.fully_booted(0)):
            self.send(ev.fully_booted(self.pbx.uptime()))
        self.server.broadcast(self._security_event("SuccessfulAuth", "Informational", user.username,
                                                   UsingPassword="0"))

    def login_failed(self, username: str, known_user: bool) -> None:
        if known_user:
            event = self._security_event("InvalidPassword", "Error", username, version="2",
                                         Challenge=self.challenge or "", ReceivedChallenge="", ReceivedHash="")
        else:
            event = self._security_event("InvalidAccountID", "Error", username)
        self.server.broadcast(event, skip=self)

    def users(self) -> Mapping[str, AmiUser]:
        return self.server.users

    def wait_sim(self, signal: Signal) -> Awaitable[object]:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()

        def done(sig: Signal) -> None:
            if not future.done():
                future.set_result(sig.value)

        signal.add_waiter(done)
        self.server.driver.poke()
        return future

    def sleep_sim(self, seconds: float) -> Awaitable[None]:
        return self.server.driver.sleep(seconds)

    def catch_up(self) -> None:
        self.server.driver.catch_up()

    # ------------------------------------------------------------------ events

    def _security_event(self, name: str, severity: str, account: str, version: str = "1",
                        **extra: str) -> dict[str, str]:
        now = dt.datetime.fromtimestamp(self.pbx.epoch(), dt.timezone.utc)
        event_tv = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
        return ev.security_event(name, event_tv, severity, account, self.session_id, self.local_address,
                                 self.remote_address, version, **extra)

    def wants(self, event: Mapping[str, str]) -> bool:
        """Logged in, events on for the event's class, and allowed to read it."""
        if self.user is None or not self._events_mask:
            return False
        kinds = _event_classes(event)
        read = classes(self.user.read)
        if "all" not in read and not (read & kinds):
            return False
        return "all" in self._events_mask or bool(self._events_mask & kinds)

    # ------------------------------------------------------------------ I/O

    async def run(self) -> None:
        writer_task = asyncio.create_task(self._write_loop(), name=f"pbx-sim-ami-writer-{self.number}")
        self.send_bytes((self.pbx.config.banner + "\r\n").encode("utf-8"))
        parser = AmiParser()
        try:
            while not self._closing:
                data = await self._reader.read(65536)
                if not data:
                    break
                # Actions read together arrived together: each is handled at the simulated moment its
                # bytes came in, not after the time its predecessors took (x33 at a test's time scale).
                arrived = self.server.driver.sim_now()
                for message in parser.feed(data):
                    if "Banner" in message:
                        continue
                    self.server.driver.catch_up(arrived)
                    await dispatch(self, message)
                    self.server.driver.poke()
                    if self._closing:
                        break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.server.forget(self)
            self.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer_task, 5.0)
            log.info("pbx_sim.ami.session_closed session=%s", self.number)

    async def _write_loop(self) -> None:
        try:
            while True:
                data = await self._queue.get()
                if data is None:
                    break
                self._writer.write(data)
                await self._writer.drain()
        except (ConnectionError, RuntimeError):
            self._closing = True
        finally:
            with contextlib.suppress(Exception):
                self._writer.close()
                await self._writer.wait_closed()


class AmiServer:
    """Listens for manager clients and fans the PBX's events out to them."""

    def __init__(self, pbx: Pbx, config: SimConfig, driver: RealTimeDriver) -> None:
        self.pbx = pbx
        self.config = config
        self.driver = driver
        self.users = {u.username: u for u in config.users}
        self._sessions: list[AmiSession] = []
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port)
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for session in list(self._sessions):
            session.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self._sessions.append(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        except asyncio.CancelledError:
            # Only stop() cancels sessions; ending quietly keeps asyncio from logging it as an error.
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)

    def forget(self, session: AmiSession) -> None:
        if session in self._sessions:
            self._sessions.remove(session)

    def broadcast(self, event: Mapping[str, str], skip: AmiSession | None = None) -> None:
        data: bytes | None = None
        for session in self._sessions:
            if session is skip or not session.wants(event):
                continue
            if data is None:
                try:
                    data = encode_action(event)
                except UnsafeAmiValue as exc:
                    log.error("pbx_sim.ami.unsafe_event event=%s error=%s", event.get("Event"), exc)
                    return
            session.send_bytes(data)
