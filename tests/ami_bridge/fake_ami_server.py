"""A scripted Asterisk Manager Interface server on loopback, for connection tests.

Real TCP, real bytes. It greets like Asterisk, checks Login credentials, answers Ping and
Logoff, and lets each test script the rest: per-action handlers, events sent whole or
split at chosen byte offsets, pings left unanswered (a half-open link), sockets closed.
It parses what it receives with its own strict CRLF reader (not ami_bridge.protocol), so
a framing mistake by the client shows up in ``framing_errors`` instead of being forgiven.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping

BANNER = "Asterisk Call Manager/13.0.0"
CRLF = b"\r\n"

Fields = dict[str, "str | list[str]"]
Handler = Callable[["FakeAmiConnection", Fields], Awaitable[None]]


def encode_message(message: Mapping[str, object]) -> bytes:
    """One AMI message as Asterisk writes it: ``Key: Value`` CRLF lines and a blank line."""
    lines = []
    for key, value in message.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        lines.extend(f"{key}: {item}" for item in values)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _parse_action(block: bytes) -> tuple[Fields, list[str]]:
    errors: list[str] = []
    text = block.decode("utf-8")
    if "\n" in text.replace("\r\n", ""):
        errors.append(f"bare LF in action block {text[:120]!r}")
    if "\r" in text.replace("\r\n", ""):
        errors.append(f"bare CR in action block {text[:120]!r}")
    fields: Fields = {}
    for line in text.split("\r\n"):
        if not line:
            continue
        key, sep, value = line.partition(": ")
        if not sep:
            errors.append(f"line without ': ' {line[:120]!r}")
            continue
        if key in fields:
            existing = fields[key]
            fields[key] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            fields[key] = value
    return fields, errors


def _get(fields: Mapping[str, object], name: str) -> str:
    """A header's (first) value, looked up case-insensitively as Asterisk does."""
    for key, value in fields.items():
        if key.lower() == name.lower():
            if isinstance(value, list):
                return str(value[0]) if value else ""
            return str(value)
    return ""


class FakeAmiConnection:
    """One client connection: what it sent, and ways to talk back or misbehave."""

    def __init__(self, server: FakeAmiServer, number: int, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.number = number
        self.reader = reader
        self.writer = writer
        self.actions: list[Fields] = []
        self.raw = bytearray()
        self.framing_errors: list[str] = []
        self.answer_pings = True
        self.unanswered_pings = 0
        self.closed = False
        # One message at a time on the wire: a Ping answer must not land inside an event
        # that a test is writing in pieces (Asterisk never interleaves messages).
        self._write_lock = asyncio.Lock()

    def actions_named(self, name: str) -> list[Fields]:
        return [a for a in self.actions if _get(a, "Action").lower() == name.lower()]

    def action_names(self) -> list[str]:
        return [_get(a, "Action") for a in self.actions]

    async def send(self, *messages: Mapping[str, object]) -> None:
        """Write whole messages (one write)."""
        if self.closed:
            return
        async with self._write_lock:
            self.writer.write(b"".join(encode_message(m) for m in messages))
            await self.writer.drain()

    async def send_split(self, data: bytes, offsets: Iterable[int], pause: float = 0.02) -> None:
        """Write ``data`` cut at ``offsets``, pausing between pieces so each is its own TCP read."""
        cuts = sorted(set(o for o in offsets if 0 < o < len(data)))
        start = 0
        async with self._write_lock:
            for cut in [*cuts, len(data)]:
                self.writer.write(data[start:cut])
                await self.writer.drain()
                start = cut
                if cut != len(data):
                    await asyncio.sleep(pause)

    async def send_chunked(self, data: bytes, size: int) -> None:
        """Write ``data`` in ``size``-byte pieces, yielding to the loop between them."""
        async with self._write_lock:
            for start in range(0, len(data), size):
                self.writer.write(data[start:start + size])
                await self.writer.drain()
                await asyncio.sleep(0)

    async def close(self) -> None:
        """Close the socket like Asterisk does after Logoff or a failed Login."""
        if not self.closed:
            self.closed = True
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    def abort(self) -> None:
        """Drop the socket at once (RST), like a crashed or restarted Asterisk."""
        self.closed = True
        self.writer.transport.abort()


def with_action_id(message: Mapping[str, object], action_id: str) -> dict[str, object]:
    """``message`` carrying ``action_id``: in place of its own ActionID, else second (as Asterisk does)."""
    m = dict(message)
    if "ActionID" in m:
        m["ActionID"] = action_id
        return m
    first_key = next(iter(m))
    return {first_key: m.pop(first_key), "ActionID": action_id, **m}


def answer(*messages: Mapping[str, object]) -> Handler:
    """A handler replying with ``messages`` in one write, each carrying the action's ActionID."""

    async def handler(conn: FakeAmiConnection, action: Fields) -> None:
        action_id = _get(action, "ActionID")
        await conn.send(*(with_action_id(m, action_id) for m in messages))

    return handler


async def swallow(conn: FakeAmiConnection, action: Fields) -> None:
    """A handler that never answers."""


async def hang_up(conn: FakeAmiConnection, action: Fields) -> None:
    """A handler that closes the socket without answering (a dropped link mid-action)."""
    conn.abort()


class FakeAmiServer:
    """The server; ``handlers`` maps lower-case action names to scripted replies."""

    def __init__(self, *, username: str = "zvonar", secret: str = "Zv0nar-test-s3cret",
                 banner: str = BANNER) -> None:
        self.username = username
        self.secret = secret
        self.banner = banner
        self.handlers: dict[str, Handler] = {}
        self.connections: list[FakeAmiConnection] = []
        self.logins: list[tuple[int, bool]] = []
        self.hold_logins: asyncio.Event | None = None
        # Copied to each new connection; False plays a half-open link (pings vanish).
        self.answer_pings = True
        self._server: asyncio.base_events.Server | None = None
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> FakeAmiServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self.hold_logins is not None:
            self.hold_logins.set()
        for conn in self.connections:
            if not conn.closed:
                conn.abort()
        # Let the per-connection tasks see their socket gone and end on their own:
        # asyncio's start_server callback chokes on a cancelled one.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def on(self, name: str, handler: Handler) -> None:
        self.handlers[name.lower()] = handler

    async def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; fail naming ``what`` if it never does (a hang guard).

        The predicate may look at client state too, so it is re-checked every few ms as
        well as on every server-side change.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"fake AMI server: gave up waiting for {what}")
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), 0.005)
                except TimeoutError:
                    pass

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = FakeAmiConnection(self, len(self.connections) + 1, reader, writer)
        conn.answer_pings = self.answer_pings
        self.connections.append(conn)
        try:
            writer.write(self.banner.encode() + CRLF)
            await writer.drain()
            await self._notify()
            while not conn.closed:
                try:
                    block = await reader.readuntil(CRLF + CRLF)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                conn.raw += block
                action, errors = _parse_action(block)
                conn.framing_errors.extend(errors)
                conn.actions.append(action)
                await self._dispatch(conn, action)
                await self._notify()
        finally:
            conn.closed = True
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()
            await self._notify()

    async def _dispatch(self, conn: FakeAmiConnection, action: Fields) -> None:
        name = _get(action, "Action").lower()
        handler = self.handlers.get(name)
        if handler is not None:
            await handler(conn, action)
        elif name == "login":
            await self._login(conn, action)
        elif name == "ping":
            if conn.answer_pings:
                await answer({"Response": "Success", "Ping": "Pong", "Timestamp": "1795441645.502692"})(conn, action)
            else:
                conn.unanswered_pings += 1
        elif name == "logoff":
            await answer({"Response": "Goodbye", "Message": "Thanks for all the fish."})(conn, action)
            await conn.close()
        else:
            await answer({"Response": "Error",
                          "Message": f"Invalid/unknown command: {_get(action, 'Action')}."})(conn, action)

    async def _login(self, conn: FakeAmiConnection, action: Fields) -> None:
        if self.hold_logins is not None:
            await self.hold_logins.wait()
        ok = _get(action, "Username") == self.username and _get(action, "Secret") == self.secret
        self.logins.append((conn.number, ok))
        if ok:
            # As recorded in shared/ami-traces: the answer, then FullyBooted, in one write.
            await conn.send(
                with_action_id({"Response": "Success", "Message": "Authentication accepted"},
                               _get(action, "ActionID")),
                {"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "26",
                 "LastReload": "26", "Status": "Fully Booted"},
            )
        else:
            await answer({"Response": "Error", "Message": "Authentication failed"})(conn, action)
            await conn.close()
