"""AmiConnection against a scripted AMI server on loopback, fault by fault.

Each panoramisk 1.4 fault seen against a real Asterisk has two tests: one named
``test_stock_panoramisk_...`` that drives the stock ``panoramisk.Manager`` into the fault
and asserts the broken behaviour (so we notice if an upgrade fixes or changes it), and one
showing that AmiConnection does the right thing. Messages come from the recorded traces
in shared/ami-traces.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable

import panoramisk
import panoramisk.utils
import pytest

from ami_bridge.connection import AmiConnection, new_action_id, reconnect_delay
from ami_bridge.errors import (
    AmiActionTimeout,
    AmiAuthenticationError,
    AmiConnectError,
    AmiConnectionLost,
    AmiLinkDead,
    AmiNotConnected,
    AmiOriginateLost,
    AmiOriginateRejected,
    AmiOriginateTimeout,
    AmiOriginateUnconfirmed,
)
from ami_bridge.protocol import UnsafeAmiValue
from tests.ami_bridge.fake_ami_server import FakeAmiConnection, FakeAmiServer, answer, encode_message, hang_up, swallow
from tests.ami_bridge.trace_files import REPO_ROOT, records, trace_path

USERNAME = "zvonar"
SECRET = "Zv0nar-test-s3cret"


# -- fixtures and helpers -------------------------------------------------------------------


def received(scenario: str) -> list[dict]:
    """Every message Asterisk sent in a recorded scenario (events and responses), in order."""
    return [r["msg"] for r in records(scenario) if r["dir"] == "in"]


def first_event(scenario: str, name: str) -> dict:
    return next(m for m in received(scenario) if m.get("Event") == name)


@pytest.fixture
async def server() -> AsyncIterator[FakeAmiServer]:
    srv = await FakeAmiServer(username=USERNAME, secret=SECRET).start()
    yield srv
    await srv.stop()


@pytest.fixture
async def make_conn(server: FakeAmiServer) -> AsyncIterator[Callable[..., AmiConnection]]:
    made: list[AmiConnection] = []

    def make(**overrides: object) -> AmiConnection:
        params: dict = dict(
            ping_interval=0.05,
            action_timeout=2.0,
            reconnect_backoff_initial=0.01,
            reconnect_backoff_max=0.05,
            connect_timeout=2.0,
            reconnect_jitter=0.0,
        )
        secret = overrides.pop("secret", SECRET)
        params.update(overrides)
        conn = AmiConnection("127.0.0.1", server.port, USERNAME, secret, **params)
        made.append(conn)
        return conn

    yield make
    for conn in made:
        await conn.close()


@pytest.fixture
async def make_stock(server: FakeAmiServer) -> AsyncIterator[Callable[..., panoramisk.Manager]]:
    """The stock panoramisk 1.4 Manager, pointed at the fake server."""
    made: list[panoramisk.Manager] = []

    def make(**overrides: object) -> panoramisk.Manager:
        config: dict = dict(
            host="127.0.0.1",
            port=server.port,
            username=USERNAME,
            secret=SECRET,
            ping_delay=3600,
            ping_interval=3600,
            reconnect_timeout=3600,
            loop=asyncio.get_running_loop(),
        )
        config.update(overrides)
        manager = panoramisk.Manager(**config)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


class Recorder:
    """Collects what the connection hands to its callbacks."""

    def __init__(self) -> None:
        self.events: list[tuple[dict, float]] = []
        self.connected = 0
        self.disconnected: list[Exception] = []
        self._changed = asyncio.Event()

    def attach(self, conn: AmiConnection) -> Recorder:
        conn.on_event(self._event)
        conn.on_connected(self._connected)
        conn.on_disconnected(self._disconnected)
        return self

    def _event(self, event: dict, received_at: float) -> None:
        self.events.append((event, received_at))
        self._changed.set()

    def _connected(self) -> None:
        self.connected += 1
        self._changed.set()

    def _disconnected(self, reason: Exception) -> None:
        self.disconnected.append(reason)
        self._changed.set()

    def named(self, name: str) -> list[dict]:
        return [e for e, _ in self.events if e.get("Event") == name]

    async def wait_until(self, predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        async def waiter() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()
        try:
            await asyncio.wait_for(waiter(), timeout)
        except TimeoutError:
            raise AssertionError(f"gave up waiting for {what}") from None


async def connected(conn: AmiConnection) -> Recorder:
    rec = Recorder().attach(conn)
    await conn.connect()
    return rec


async def stock_connected(manager: panoramisk.Manager, server: FakeAmiServer) -> None:
    await manager.connect()
    await server.wait_until(lambda: len(server.logins) == 1, "the stock manager's Login")
    await server.wait_until(lambda: manager.authenticated, "the stock manager to see its Login answer")


CLICK_TO_CALL_FIELDS = {
    "Channel": "Local/101@agents",
    "Context": "outbound",
    "Exten": "79161234567",
    "Priority": "1",
    "CallerID": '"Иван Петров" <79161234567>',
    "Timeout": "30000",
}


def _name_cuts(data: bytes, name: str) -> list[int]:
    """Offsets inside every two-byte letter of ``name`` in ``data``: each read ends mid-letter."""
    start = data.index(name.encode("utf-8"))
    cuts, offset = [], start
    for letter in name:
        size = len(letter.encode("utf-8"))
        if size > 1:
            cuts.append(offset + 1)
        offset += size
    return cuts


# -- fault 1: UTF-8 split across TCP reads ---------------------------------------------------


async def test_stock_panoramisk_loses_letters_split_across_reads(make_stock, server) -> None:
    event = first_event("click_to_call_answered", "NewCallerid")
    assert event["CallerIDName"] == "Иван Петров"
    manager = make_stock()
    seen: list[str] = []
    manager.register_event("NewCallerid", lambda _m, msg: seen.append(msg["CallerIDName"]))
    await stock_connected(manager, server)

    data = encode_message(event)
    await server.connections[0].send_split(data, _name_cuts(data, "Иван Петров"))
    await server.connections[0].send({"Event": "UserEvent", "UserEvent": "marker"})
    await server.wait_until(lambda: len(seen) == 1, "the stock manager to dispatch NewCallerid")

    assert seen[0] != "Иван Петров"
    assert len(seen[0]) < len("Иван Петров")  # letters silently dropped, e.g. "Ивн Пр"


async def test_cyrillic_name_split_inside_every_letter_arrives_whole(make_conn, server) -> None:
    event = first_event("click_to_call_answered", "NewCallerid")
    rec = await connected(make_conn())
    data = encode_message(event)
    await server.connections[0].send_split(data, _name_cuts(data, "Иван Петров"), pause=0.005)
    await rec.wait_until(lambda: rec.named("NewCallerid"), "NewCallerid")

    assert rec.named("NewCallerid") == [event]


async def test_recorded_session_replayed_in_7_byte_reads_gives_the_recorded_events(
    make_conn, server
) -> None:
    raw = trace_path("inbound_queue_answered", ".raw").read_bytes()
    # Skip the greeting and the recorded Login answer: the fake server already sent its own.
    body = raw[raw.index(b"\r\n\r\n", raw.index(b"\r\n") + 2) + 4:]
    expected = [m for m in received("inbound_queue_answered") if "Event" in m]
    assert any("Мария Сидорова" in str(m) for m in expected)
    conn = make_conn()
    rec = await connected(conn)
    await conn.send_action({"Action": "Ping"})  # answered after the fake server's FullyBooted
    already = len(rec.events)

    await server.connections[0].send_chunked(body, 7)
    await rec.wait_until(lambda: len(rec.events) - already >= len(expected), "the replayed events")

    assert [e for e, _ in rec.events[already:]] == expected


# -- fault 2: Originate without Async / OriginateResponse swallowed -------------------------


async def test_stock_panoramisk_originate_without_async_drops_the_connection(make_stock, server) -> None:
    server.on("Originate", answer({"Response": "Success", "Message": "Originate successfully queued"}))
    manager = make_stock()
    await stock_connected(manager, server)

    future = manager.send_action({"Action": "Originate", **CLICK_TO_CALL_FIELDS})
    # KeyError: 'async' inside data_received: asyncio closes the transport.
    await server.wait_until(lambda: server.connections[0].closed, "the stock manager to drop the link")

    assert not future.done()


async def test_stock_panoramisk_folds_originate_response_into_the_action(make_stock, server) -> None:
    originate_response = first_event("click_to_call_answered", "OriginateResponse")
    server.on("Originate", answer({"Response": "Success", "Message": "Originate successfully queued"},
                                  originate_response))
    manager = make_stock()
    handled: list = []
    manager.register_event("OriginateResponse", lambda _m, msg: handled.append(msg))
    await stock_connected(manager, server)

    result = await asyncio.wait_for(
        manager.send_action({"Action": "Originate", "Async": "true", **CLICK_TO_CALL_FIELDS}), 5
    )

    assert isinstance(result, list)
    assert result[1]["Event"] == "OriginateResponse"
    assert handled == []  # the call tracker would never see it


async def test_originate_response_reaches_event_callbacks(make_conn, server) -> None:
    originate_response = first_event("click_to_call_answered", "OriginateResponse")
    server.on("Originate", answer({"Response": "Success", "Message": "Originate successfully queued"},
                                  originate_response))
    conn = make_conn()
    rec = await connected(conn)

    response = await conn.originate(**CLICK_TO_CALL_FIELDS)
    await rec.wait_until(lambda: rec.named("OriginateResponse"), "OriginateResponse")

    sent = server.connections[0].actions_named("Originate")
    assert len(sent) == 1
    assert sent[0]["Async"] == "true"
    assert re.fullmatch(r"zv-[0-9a-f]{16}", sent[0]["ActionID"])
    assert sent[0]["CallerID"] == '"Иван Петров" <79161234567>'
    assert response == {"Response": "Success", "ActionID": sent[0]["ActionID"],
                        "Message": "Originate successfully queued"}
    event = rec.named("OriginateResponse")[0]
    assert event["ActionID"] == sent[0]["ActionID"]
    assert event["Reason"] == "4" and event["CallerIDName"] == "Иван Петров"


async def test_originate_response_overtaking_its_queued_answer_still_reaches_callbacks(
    make_conn, server
) -> None:
    failure = next(m for m in received("predictive_batch")
                   if m.get("Event") == "OriginateResponse" and m.get("Reason") == "5")
    server.on("Originate", answer(failure, {"Response": "Success", "Message": "Originate successfully queued"}))
    conn = make_conn()
    rec = await connected(conn)

    response = await conn.originate(ActionID="zv-busy-client", Channel=failure["Channel"], Context="campaign",
                                    Exten="s", Priority=1, Timeout=30000,
                                    CallerID=f'"{failure["CallerIDName"]}" <{failure["CallerIDNum"]}>')
    await rec.wait_until(lambda: rec.named("OriginateResponse"), "OriginateResponse")

    assert response["Message"] == "Originate successfully queued"
    event = rec.named("OriginateResponse")[0]
    assert event["ActionID"] == "zv-busy-client" and event["Response"] == "Failure" and event["Reason"] == "5"


async def test_send_action_originate_is_forced_async_and_keeps_the_link(make_conn, server) -> None:
    server.on("Originate", answer({"Response": "Success", "Message": "Originate successfully queued"}))
    conn = make_conn()
    await connected(conn)

    response = await conn.send_action({"Action": "Originate", "ActionID": "zv-click-1", **CLICK_TO_CALL_FIELDS})
    with pytest.raises(ValueError, match="Async"):
        await conn.send_action({"Action": "Originate", "Async": "false", **CLICK_TO_CALL_FIELDS})
    pong = await conn.send_action({"Action": "Ping"})

    assert response["ActionID"] == "zv-click-1"
    assert [a["Async"] for a in server.connections[0].actions_named("Originate")] == ["true"]
    assert pong["Ping"] == "Pong"
    assert conn.connected


async def test_originate_error_response_is_raised(make_conn, server) -> None:
    server.on("Originate", answer({"Response": "Error", "Message": "Extension does not exist."}))
    conn = make_conn()
    await connected(conn)

    with pytest.raises(AmiOriginateRejected, match="Extension does not exist") as err:
        await conn.originate(ActionID="zv-bad-exten", **CLICK_TO_CALL_FIELDS)

    assert err.value.action_id == "zv-bad-exten"


# -- fault 3: QueueAdd never resolves; per-action timeouts ----------------------------------


QUEUE_ADD = {"Action": "QueueAdd", "Queue": "support", "Interface": "Local/201@queue-agents",
             "MemberName": "Оператор 201", "Penalty": "0"}


async def test_stock_panoramisk_queue_add_never_resolves(make_stock, server) -> None:
    server.on("QueueAdd", answer({"Response": "Success", "Message": "Added interface to queue"}))
    manager = make_stock()
    await stock_connected(manager, server)

    future = manager.send_action(dict(QUEUE_ADD))
    await server.wait_until(lambda: server.connections[0].actions_named("QueueAdd"), "QueueAdd")
    pong = await asyncio.wait_for(manager.send_action({"Action": "Ping"}), 5)  # answered after QueueAdd's

    assert pong["Ping"] == "Pong"
    assert not future.done()


async def test_queue_add_resolves_with_its_single_response(make_conn, server) -> None:
    server.on("QueueAdd", answer({"Response": "Success", "Message": "Added interface to queue"}))
    conn = make_conn()
    await connected(conn)

    response = await conn.send_action(QUEUE_ADD)

    assert response["Message"] == "Added interface to queue"
    assert server.connections[0].actions_named("QueueAdd")[0]["MemberName"] == "Оператор 201"


async def test_unanswered_action_times_out_naming_it_and_late_answer_is_dropped(make_conn, server) -> None:
    server.on("QueueStatus", swallow)
    conn = make_conn()
    rec = await connected(conn)

    with pytest.raises(AmiActionTimeout) as err:
        await conn.send_action({"Action": "QueueStatus", "Queue": "support", "ActionID": "zv-qs-1"}, timeout=0.2)
    assert err.value.action == "QueueStatus" and err.value.action_id == "zv-qs-1"
    assert "QueueStatus" in str(err.value) and "zv-qs-1" in str(err.value)

    # The answer turns up late: it must not leak to the event callbacks.
    await server.connections[0].send(
        {"Response": "Success", "ActionID": "zv-qs-1", "EventList": "start", "Message": "Queue status will follow"},
        {"Event": "QueueParams", "Queue": "support", "Max": "0", "Strategy": "ringall", "ActionID": "zv-qs-1"},
        {"Event": "QueueStatusComplete", "ActionID": "zv-qs-1", "EventList": "Complete", "ListItems": "1"},
        {"Event": "UserEvent", "UserEvent": "marker"},
    )
    await rec.wait_until(lambda: rec.named("UserEvent"), "the marker event")

    assert rec.named("QueueParams") == [] and rec.named("QueueStatusComplete") == []
    assert (await conn.send_action({"Action": "Ping"}))["Ping"] == "Pong"


async def test_unanswered_originate_times_out_unconfirmed_and_is_not_resent(make_conn, server) -> None:
    server.on("Originate", swallow)
    conn = make_conn()
    await connected(conn)

    with pytest.raises(AmiOriginateTimeout) as err:
        await conn.originate(response_timeout=0.2, **CLICK_TO_CALL_FIELDS)
    await conn.send_action({"Action": "Ping"})

    assert isinstance(err.value, AmiActionTimeout) and isinstance(err.value, AmiOriginateUnconfirmed)
    assert "NOT resent" in str(err.value)
    assert sum(len(c.actions_named("Originate")) for c in server.connections) == 1


# -- fault 4: unanswered pings; dead link detection and reconnect ---------------------------


async def test_stock_panoramisk_stays_connected_through_ten_unanswered_pings(make_stock, server) -> None:
    server.answer_pings = False
    # panoramisk int()s its intervals; 0 makes it ping on every loop turn, so ten pings
    # take milliseconds instead of the 100 s they took in production.
    manager = make_stock(ping_delay=0, ping_interval=0)
    await stock_connected(manager, server)

    await server.wait_until(lambda: server.connections[0].unanswered_pings >= 10, "ten unanswered pings")

    assert manager._connected
    assert not manager.protocol.closed
    assert not server.connections[0].closed
    assert len(server.connections) == 1


async def test_dead_link_is_dropped_within_two_ping_intervals_and_reconnected(make_conn, server) -> None:
    server.answer_pings = False
    conn = make_conn()
    rec = await connected(conn)
    server.answer_pings = True  # the next connection is healthy

    await rec.wait_until(lambda: rec.connected == 2, "the reconnect")
    dead = server.connections[0]
    await server.wait_until(lambda: dead.closed, "the dead link to be closed")

    assert len(rec.disconnected) == 1 and isinstance(rec.disconnected[0], AmiLinkDead)
    # Given up at the first tick that found a Ping unanswered: at most two ever went out.
    assert 1 <= dead.unanswered_pings <= 2
    assert server.logins == [(1, True), (2, True)]
    assert (await conn.send_action({"Action": "Ping"}))["Ping"] == "Pong"


async def test_closed_socket_reconnects_and_on_connected_runs_resync(make_conn, server) -> None:
    conn2 = received("reconnect_resync")
    channels = [m for m in conn2 if m.get("ActionID") == "resync-csc"]
    status = [m for m in conn2 if m.get("ActionID") == "resync-status"]
    server.on("CoreShowChannels", answer(*channels))
    server.on("Status", answer(*status))
    conn = make_conn()
    resyncs: list[tuple[list, list]] = []

    async def resync() -> None:
        resyncs.append((await conn.send_action({"Action": "CoreShowChannels"}),
                        await conn.send_action({"Action": "Status"})))

    conn.on_connected(resync)
    rec = await connected(conn)
    await server.wait_until(lambda: len(resyncs) == 1, "the first resync")
    server.connections[0].abort()  # Asterisk restarted

    await server.wait_until(lambda: len(resyncs) == 2, "the resync after the reconnect")

    assert rec.connected == 2 and isinstance(rec.disconnected[0], AmiConnectionLost)
    listed, statuses = resyncs[1]
    assert listed[0]["Message"] == "Channels will follow"
    assert [m["Event"] for m in listed[1:-1]] == ["CoreShowChannel"] * 12
    assert listed[-1]["Event"] == "CoreShowChannelsComplete" and listed[-1]["ListItems"] == "12"
    assert {m["CallerIDName"] for m in listed[1:-1]} >= {"Оксана Мельник", "Сяргей Лукашэвіч", "Пётр Иванов"}
    assert statuses[-1]["Event"] == "StatusComplete"
    assert len(statuses) == len(status)
    assert rec.named("CoreShowChannel") == []  # list items are the action's, not events


async def test_shutdown_event_is_delivered_and_the_connection_comes_back(make_conn, server) -> None:
    conn = make_conn()
    rec = await connected(conn)

    await server.connections[0].send({"Event": "Shutdown", "Privilege": "system,all",
                                      "Shutdown": "Cleanly", "Restart": "True"})
    await rec.wait_until(lambda: rec.connected == 2, "the reconnect after Shutdown")

    assert rec.named("Shutdown")[0]["Restart"] == "True"
    assert "Shutdown" in str(rec.disconnected[0])
    assert (await conn.send_action({"Action": "Ping"}))["Ping"] == "Pong"


async def test_action_sent_while_reconnecting_waits_for_the_new_session(make_conn, server) -> None:
    conn = make_conn()
    rec = await connected(conn)
    server.connections[0].abort()
    await rec.wait_until(lambda: rec.disconnected, "the disconnect")

    pong = await conn.send_action({"Action": "Ping"})

    assert pong["Ping"] == "Pong"
    assert server.connections[1].actions_named("Ping")


def test_reconnect_delay_doubles_from_initial_up_to_the_cap() -> None:
    assert [reconnect_delay(n, 0.5, 30.0) for n in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert reconnect_delay(10**6, 0.5, 30.0) == 30.0


def test_reconnect_delay_jitter_stays_within_its_fraction_and_the_cap() -> None:
    assert reconnect_delay(2, 0.5, 30.0, jitter=0.2, rand=lambda: 0.0) == pytest.approx(1.6)
    assert reconnect_delay(2, 0.5, 30.0, jitter=0.2, rand=lambda: 1.0) == pytest.approx(2.4)
    assert reconnect_delay(9, 0.5, 30.0, jitter=0.2, rand=lambda: 1.0) == 30.0


# -- fault 5: unanswered actions resent after a reconnect -----------------------------------


async def test_stock_panoramisk_resends_originate_after_reconnect(make_stock, server) -> None:
    async def drop_first(conn: FakeAmiConnection, action: dict) -> None:
        if conn.number == 1:
            await hang_up(conn, action)
        else:
            await answer({"Response": "Success", "Message": "Originate successfully queued"})(conn, action)

    server.on("Originate", drop_first)
    manager = make_stock(reconnect_timeout=0)
    await stock_connected(manager, server)

    manager.send_action({"Action": "Originate", "ActionID": "zv-one-click", "Async": "true", **CLICK_TO_CALL_FIELDS})
    await server.wait_until(lambda: len(server.connections) == 2
                            and server.connections[1].actions_named("Originate"), "the resent Originate")

    sent = [(c.number, a["ActionID"]) for c in server.connections for a in c.actions_named("Originate")]
    assert sent == [(1, "zv-one-click"), (2, "zv-one-click")]  # one click, two calls


async def test_originate_lost_with_the_link_fails_and_is_never_resent(make_conn, server) -> None:
    server.on("QueueStatus", swallow)
    server.on("Originate", hang_up)
    conn = make_conn()
    rec = await connected(conn)

    status = asyncio.ensure_future(conn.send_action({"Action": "QueueStatus", "ActionID": "zv-qs-2"}))
    await server.wait_until(lambda: server.connections[0].actions_named("QueueStatus"), "QueueStatus")
    with pytest.raises(AmiOriginateLost) as err:
        await conn.originate(ActionID="zv-one-click", **CLICK_TO_CALL_FIELDS)
    with pytest.raises(AmiConnectionLost, match="zv-qs-2"):
        await status
    await rec.wait_until(lambda: rec.connected == 2, "the reconnect")
    await conn.send_action({"Action": "Ping"})  # a resend would have gone out before this

    assert isinstance(err.value, AmiOriginateUnconfirmed) and isinstance(err.value, AmiConnectionLost)
    assert err.value.action_id == "zv-one-click" and "NOT resent" in str(err.value)
    assert sum(len(c.actions_named("Originate")) for c in server.connections) == 1
    assert server.connections[1].actions_named("QueueStatus") == []


# -- fault 6: panoramisk.testing rewrites the global line ending ----------------------------


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_stock_panoramisk_testing_rewrites_the_global_line_ending() -> None:
    out = _python(
        "import asyncio\n"
        "from panoramisk import testing, utils\n"
        "async def main():\n"
        "    testing.Manager()\n"
        "asyncio.run(main())\n"
        "print(repr(utils.EOL))\n"
    )
    assert out == repr("\n")


def test_connection_never_imports_panoramisk_testing() -> None:
    out = _python("import sys, ami_bridge.connection\nprint('panoramisk.testing' in sys.modules)\n")
    assert out == "False"


async def test_framing_is_crlf_even_when_panoramisk_eol_was_rewritten(make_conn, server, monkeypatch) -> None:
    monkeypatch.setattr(panoramisk.utils, "EOL", "\n")
    server.on("QueueAdd", answer({"Response": "Success", "Message": "Added interface to queue"}))
    conn = make_conn()
    await connected(conn)

    response = await conn.send_action(QUEUE_ADD)

    assert response["Message"] == "Added interface to queue"
    assert server.connections[0].framing_errors == []
    assert "QueueAdd" in server.connections[0].action_names()


# -- fault 7: connect() before the Login is answered; bad secret ----------------------------


async def test_stock_panoramisk_connect_returns_before_the_login_is_answered(make_stock, server) -> None:
    server.hold_logins = asyncio.Event()
    manager = make_stock()

    await manager.connect()
    await server.wait_until(lambda: server.connections and server.connections[0].actions_named("Login"), "Login")

    assert not manager.authenticated  # connect() is over; the Login is still unanswered
    server.hold_logins.set()
    await server.wait_until(lambda: manager.authenticated, "the stock manager to see its Login answer")


async def test_stock_panoramisk_raises_nothing_on_a_wrong_secret_and_then_hangs(make_stock, server) -> None:
    manager = make_stock(secret="wrong-secret-42")

    await manager.connect()  # no error
    await server.wait_until(lambda: server.logins == [(1, False)], "the refused Login")
    future = manager.send_action({"Action": "Ping"})

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(future), 0.5)
    assert not future.done() and not manager.authenticated


async def test_connect_returns_only_after_the_login_is_answered(make_conn, server) -> None:
    server.hold_logins = asyncio.Event()
    conn = make_conn()
    task = asyncio.ensure_future(conn.connect())
    await server.wait_until(lambda: server.connections and server.connections[0].actions_named("Login"), "Login")
    await asyncio.sleep(0.1)

    assert not task.done() and not conn.connected
    server.hold_logins.set()
    await task
    assert conn.connected and conn.version == "13.0.0"


async def test_wrong_secret_raises_authentication_error_and_never_logs_it(make_conn, server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    bad_secret = "wrong-Secret-42"
    conn = make_conn(secret=bad_secret)

    with pytest.raises(AmiAuthenticationError, match="zvonar") as err:
        await conn.connect()
    with pytest.raises(AmiNotConnected):
        await conn.send_action({"Action": "Ping"})

    assert "Authentication failed" in str(err.value)
    assert bad_secret not in str(err.value) and bad_secret not in repr(conn)
    assert bad_secret not in caplog.text and SECRET not in caplog.text
    assert not conn.connected and server.logins == [(1, False)]


async def test_secret_is_never_logged_over_a_whole_session(make_conn, server, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    conn = make_conn()
    await connected(conn)
    await conn.send_action({"Action": "Ping"})
    server.connections[0].abort()
    await server.wait_until(lambda: len(server.logins) == 2, "the re-login")
    await conn.close()

    assert server.connections[0].actions_named("Login")[0]["Secret"] == SECRET
    assert SECRET not in caplog.text


async def test_relogin_refused_surfaces_the_error_and_stops_retrying_fast(make_conn, server) -> None:
    conn = make_conn(reconnect_backoff_initial=0.01, reconnect_backoff_max=3600.0)
    rec = await connected(conn)
    server.secret = "rotated-on-the-pbx"
    server.connections[0].abort()

    await rec.wait_until(lambda: any(isinstance(r, AmiAuthenticationError) for r in rec.disconnected),
                         "the refused re-login to be reported")
    with pytest.raises(AmiAuthenticationError, match="refused the login"):
        await asyncio.wait_for(conn.send_action({"Action": "Ping"}, timeout=60), 5)  # fails now, no hang
    await asyncio.sleep(0.3)  # thirty initial backoffs: a fast retry loop would log in again and again

    assert server.logins == [(1, True), (2, False)]
    assert isinstance(conn.last_error, AmiAuthenticationError)
    assert not conn.connected


async def test_relogin_recovers_once_the_secret_is_fixed(make_conn, server) -> None:
    conn = make_conn(reconnect_backoff_initial=0.01, reconnect_backoff_max=0.05)
    rec = await connected(conn)
    server.secret = "rotated-on-the-pbx"
    server.connections[0].abort()
    await rec.wait_until(lambda: any(isinstance(r, AmiAuthenticationError) for r in rec.disconnected),
                         "the refused re-login")
    server.secret = SECRET

    await rec.wait_until(lambda: rec.connected == 2, "the successful re-login")

    assert (await conn.send_action({"Action": "Ping"}))["Ping"] == "Pong"
    assert conn.last_error is None


async def test_unreachable_or_non_ami_server_raises_connect_error(make_conn, server) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    free_port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    http = FakeAmiServer(banner="HTTP/1.1 400 Bad Request")
    await http.start()
    try:
        with pytest.raises(AmiConnectError, match=str(free_port)):
            await AmiConnection("127.0.0.1", free_port, USERNAME, SECRET, connect_timeout=2).connect()
        with pytest.raises(AmiConnectError, match="not an AMI server"):
            await AmiConnection("127.0.0.1", http.port, USERNAME, SECRET, connect_timeout=2).connect()
    finally:
        await http.stop()


# -- fault 8: CR/LF never reaches the socket ------------------------------------------------


async def test_stock_panoramisk_writes_injected_lines_to_the_socket(make_stock, server) -> None:
    manager = make_stock()
    await stock_connected(manager, server)

    manager.send_action({"Action": "Originate", "Async": "true",
                         **CLICK_TO_CALL_FIELDS, "CallerID": '"Иван" <79161234567>\r\nAction: Hangup'})
    await server.wait_until(lambda: b"Hangup" in server.connections[0].raw, "the Originate")

    assert b"\r\nAction: Hangup\r\n" in server.connections[0].raw
    assert server.connections[0].actions[-1]["Action"] == ["Originate", "Hangup"]


async def test_originate_with_crlf_in_callerid_raises_and_writes_nothing(make_conn, server) -> None:
    conn = make_conn()
    await connected(conn)

    with pytest.raises(UnsafeAmiValue, match="CallerID"):
        await conn.originate(**{**CLICK_TO_CALL_FIELDS, "CallerID": '"Иван Петров" <79161234567>\r\nAction: Hangup'})
    await conn.send_action({"Action": "Ping"})

    link = server.connections[0]
    assert link.actions_named("Originate") == [] and b"Hangup" not in link.raw
    assert set(link.action_names()) == {"Login", "Ping"}
    assert conn.connected


@pytest.mark.parametrize(
    "action",
    [
        {"Action": "Setvar", "Variable": "CLIENT", "Value": "Оксана\nAction: Hangup"},
        {"Action": "Originate", **CLICK_TO_CALL_FIELDS, "Variable": ["CAMPAIGN=7", "NOTE=a\rb"]},
        {"Action": "QueuePause", "Interface": "Local/201@queue-agents", "Paused": "true", "Reason\r\nX": "lunch"},
    ],
    ids=["lf-in-value", "cr-in-repeated-value", "crlf-in-key"],
)
async def test_send_action_refuses_cr_or_lf_anywhere(make_conn, server, action) -> None:
    conn = make_conn()
    await connected(conn)

    with pytest.raises(UnsafeAmiValue):
        await conn.send_action(action)
    await conn.send_action({"Action": "Ping"})

    assert set(server.connections[0].action_names()) == {"Login", "Ping"}


# -- hooks for the bridge -------------------------------------------------------------------


async def test_events_are_plain_dicts_with_their_receive_time(make_conn, server) -> None:
    conn = make_conn()
    rec = await connected(conn)
    newchannel = first_event("inbound_queue_answered", "Newchannel")
    with_vars = {**newchannel, "ChanVariable": ["FROM_DID=74951234567", "CAMPAIGN=весна-2026"]}
    loop = asyncio.get_running_loop()
    before = loop.time()

    await server.connections[0].send(with_vars)
    await rec.wait_until(lambda: rec.named("Newchannel"), "Newchannel")
    event, received_at = rec.named("Newchannel")[0], rec.events[-1][1]

    assert type(event) is dict and event == with_vars
    assert all(isinstance(k, str) and (isinstance(v, str) or all(isinstance(i, str) for i in v))
               for k, v in event.items())
    assert event["ChanVariable"] == ["FROM_DID=74951234567", "CAMPAIGN=весна-2026"]
    assert isinstance(received_at, float) and before <= received_at <= loop.time()


async def test_a_failing_callback_is_logged_and_the_others_still_run(make_conn, server, caplog) -> None:
    conn = make_conn()
    rec = Recorder()

    def broken(event: dict, received_at: float) -> None:
        raise RuntimeError("tracker bug")

    async def also_async(event: dict, received_at: float) -> None:
        raise RuntimeError("async tracker bug")

    conn.on_event(broken)
    conn.on_event(also_async)
    rec.attach(conn)
    await conn.connect()
    await server.connections[0].send({"Event": "UserEvent", "UserEvent": "marker"})
    await rec.wait_until(lambda: rec.named("UserEvent"), "the marker event")

    assert (await conn.send_action({"Action": "Ping"}))["Ping"] == "Pong"
    assert "tracker bug" in caplog.text and "async tracker bug" in caplog.text
    assert conn.connected


async def test_close_logs_off_fails_pending_actions_and_refuses_new_ones(make_conn, server) -> None:
    server.on("QueueStatus", swallow)
    conn = make_conn()
    rec = await connected(conn)
    pending = asyncio.ensure_future(conn.send_action({"Action": "QueueStatus"}))
    await server.wait_until(lambda: server.connections[0].actions_named("QueueStatus"), "QueueStatus")

    await conn.close()

    with pytest.raises(AmiConnectionLost):
        await pending
    with pytest.raises(AmiNotConnected, match="closed"):
        await conn.send_action({"Action": "Ping"})
    assert server.connections[0].actions_named("Logoff")
    await server.wait_until(lambda: server.connections[0].closed, "the socket to close")
    assert rec.disconnected == [] and len(server.connections) == 1


async def test_send_action_before_connect_and_managed_actions_are_refused(make_conn) -> None:
    conn = make_conn()

    with pytest.raises(AmiNotConnected, match="connect"):
        await conn.send_action({"Action": "Ping"})
    with pytest.raises(ValueError, match="Login"):
        await conn.send_action({"Action": "Login", "Username": "x", "Secret": "y"})
    with pytest.raises(ValueError, match="Action"):
        await conn.send_action({"Queue": "support"})


def test_new_action_ids_are_prefixed_and_unique() -> None:
    ids = {new_action_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(re.fullmatch(r"zv-[0-9a-f]{16}", i) for i in ids)
