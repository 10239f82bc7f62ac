"""The AMI connection Zvonar relies on: panoramisk 1.4's protocol and actions, faults fixed.

panoramisk 1.4 gives us the asyncio protocol skeleton, ActionID correlation and the
case-insensitive ``Action`` / ``Message`` objects. Each fault it showed against a real
Asterisk is fixed here, at the method where it lives:

1. It decodes every TCP read on its own with errors ignored, so a Cyrillic letter split
   across two reads vanishes. ``_AmiProtocol.data_received`` feeds ``AmiParser`` instead,
   which decodes incrementally.
2. An Originate without ``Async`` raises ``KeyError: 'async'`` and drops the link; with
   ``Async`` the ``OriginateResponse`` event is swallowed into the action's result.
   ``_AmiAction.multi`` has no such heuristic, every Originate goes out with ``Async: true``
   and ``OriginateResponse`` always goes to the event callbacks.
3. "Added interface to queue" (QueueAdd) is taken for the start of a list, so the action
   never resolves. Lists are recognised by ``EventList: start`` only (plus "will follow"
   for AMI v1), and every action has a timeout ending in ``AmiActionTimeout``.
4. Pings are sent but their answers never checked. ``_watch`` drops the link when a Ping
   is unanswered and nothing at all arrived for a whole interval (so within two intervals
   of the link dying) and reconnects with capped exponential backoff.
5. Unanswered actions are resent after a reconnect with the same ActionID (one click, two
   calls). Here nothing is ever resent: pending actions fail (``AmiConnectionLost``,
   ``AmiOriginateLost`` for an Originate) and the caller decides.
6. ``panoramisk.testing`` rewrites the global line ending; this module never imports it,
   and frames with ``ami_bridge.protocol`` which does not read ``panoramisk.utils.EOL``.
7. ``connect()`` returns before the Login is answered and a wrong secret leaves later
   actions hanging. ``connect()`` and every reconnect wait for the Login's answer and
   raise ``AmiAuthenticationError``; a refused re-login slows retries to the maximum
   backoff and makes ``send_action`` fail at once with that error.
8. Nothing is checked before writing. ``encode_action`` refuses CR/LF (``UnsafeAmiValue``)
   before an action is registered or a byte is written.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from panoramisk.actions import Action as _PanoramiskAction
from panoramisk.ami_protocol import AMIProtocol as _PanoramiskProtocol
from panoramisk.message import Message as _PanoramiskMessage

from ami_bridge.errors import (
    AmiActionTimeout,
    AmiAuthenticationError,
    AmiConnectError,
    AmiConnectionLost,
    AmiError,
    AmiLinkDead,
    AmiNotConnected,
    AmiOriginateLost,
    AmiOriginateRejected,
    AmiOriginateTimeout,
)
from ami_bridge.protocol import AmiParser, Message, check_field, encode_action

log = logging.getLogger(__name__)

EventCallback = Callable[[Message, float], object]
ConnectedCallback = Callable[[], object]
DisconnectedCallback = Callable[[AmiError], object]

BANNER_PREFIX = "Asterisk Call Manager/"
ACTION_ID_PREFIX = "zv-"
# Actions whose session-level meaning AmiConnection owns; sending them by hand would
# desynchronise its idea of the session.
_MANAGED_ACTIONS = frozenset({"login", "logoff", "challenge"})
# Actions this module sends for itself; when a session ends nobody awaits them.
_INTERNAL_ACTIONS = frozenset({"login", "logoff", "ping"})
_FAILURE_RESPONSES = frozenset({"error", "fail", "failure"})
_TRUE_VALUES = frozenset({"true", "yes", "1", "on"})
# Late answers to timed-out actions are recognised (and dropped) this long back.
_FORGOTTEN_KEEP = 1024
_LOGOFF_WAIT = 2.0
# 2**64 times any sane initial delay is beyond any cap; keeps the float finite.
_MAX_EXPONENT = 64


def new_action_id() -> str:
    """A fresh ActionID: ``zv-`` and 16 hex digits."""
    return ACTION_ID_PREFIX + secrets.token_hex(8)


def reconnect_delay(
    attempt: int,
    initial: float,
    maximum: float,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): doubling from ``initial``, capped.

    ``jitter`` (0..1) spreads the delay by up to that fraction either way, so several
    Zvonar processes do not reconnect to one Asterisk in lockstep; never above ``maximum``.
    """
    base = min(maximum, initial * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT))
    if jitter:
        base *= 1.0 - jitter + 2.0 * jitter * rand()
    return max(0.0, min(maximum, base))


def _header(fields: Mapping[str, object], name: str) -> str | None:
    """The key under which ``name`` is present, compared case-insensitively (AMI keys are)."""
    wanted = name.lower()
    for key in fields:
        if key.lower() == wanted:
            return key
    return None


def _first(value: object) -> str:
    """One string for a header that Asterisk might (rarely) have repeated."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


class _AmiAction(_PanoramiskAction):
    """A panoramisk Action whose reply ends when AMI says so, not by guessing from text.

    panoramisk's ``multi`` reads ``self['async']`` (KeyError when absent) and treats
    "Added interface to queue" and "successfully queued" as list openers; both are plain
    one-message answers.
    """

    @property
    def name(self) -> str:
        return _first(self["Action"])

    @property
    def multi(self) -> bool:
        if self.name.lower() == "originate":
            # One "queued" answer; the call's OriginateResponse is an event for the tracker.
            return False
        if self.as_list is not None:
            return bool(self.as_list)
        first = self.responses[0]
        if _first(first.get("EventList", "")).lower() == "start":
            return True
        if _first(first.get("SubEvent", "")) == "Start":  # AMI v1 lists
            return True
        # AMI v1 lists (e.g. QueueStatus on Asterisk 11) open with "... will follow" and
        # no EventList header.
        return "will follow" in _first(first.get("Message", "")).lower()

    def add_message(self, message: _PanoramiskMessage) -> bool:
        """Record one answer; True once the reply is complete and the future resolved."""
        self.responses.append(message)
        if self.future.done():
            return True
        if not self.multi:
            self.future.set_result(self.responses[0])
            return True
        if len(self.responses) == 1:
            if _first(message.get("Response", "")).lower() in _FAILURE_RESPONSES:
                self.future.set_result(list(self.responses))
                return True
            return False
        if _ends_list(message):
            self.future.set_result(list(self.responses))
            return True
        return False


def _ends_list(message: _PanoramiskMessage) -> bool:
    event = _first(message.get("Event", ""))
    return (
        event.endswith("Complete")
        or _first(message.get("EventList", "")).lower() == "complete"
        or _first(message.get("SubEvent", "")) == "End"
    )


def _to_message(fields: Message, received_at: float) -> _PanoramiskMessage:
    headers = {k: v for k, v in fields.items() if k != "__text__"}
    text = fields.get("__text__")
    content = "\n".join(text) if isinstance(text, list) else ""
    message = _PanoramiskMessage(headers, content)
    # The parsed dict keeps Asterisk's key case and order; callers get that, not the
    # panoramisk object (which also grows a synthetic "content" key).
    message.fields = fields
    message.received_at = received_at
    return message


class _AmiProtocol(_PanoramiskProtocol):
    """panoramisk's protocol for one TCP connection, reading and writing through protocol.py."""

    def __init__(
        self,
        *,
        peer: str,
        deliver_event: Callable[[Message, float], None],
        on_lost: Callable[[_AmiProtocol], None],
    ) -> None:
        super().__init__()
        self._peer = peer
        self._deliver_event = deliver_event
        self._on_lost = on_lost
        self._parser = AmiParser()
        self._loop = asyncio.get_running_loop()
        # Set by connection_made; present earlier so end()/send() never meet a half-built object.
        self.transport = None
        self.closed = False
        self.responses = {}
        self._forgotten: OrderedDict[str, None] = OrderedDict()
        self.last_received = self._loop.time()
        self.greeting: asyncio.Future[str] = self._loop.create_future()
        self.lost: asyncio.Future[AmiError] = self._loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.log = log

    def data_received(self, data: bytes) -> None:
        received_at = self.last_received = self._loop.time()
        for fields in self._parser.feed(data):
            try:
                self._receive(fields, received_at)
            except Exception:
                # One bad message or callback must not take the session down with it.
                log.exception(
                    "ami.message.failed peer=%s event=%s response=%s",
                    self._peer,
                    _first(fields.get("Event", "")),
                    _first(fields.get("Response", "")),
                )

    def _receive(self, fields: Message, received_at: float) -> None:
        if len(fields) == 1 and "Banner" in fields:
            banner = _first(fields["Banner"])
            self.version = banner.partition("/")[2].strip() or None
            if not self.greeting.done():
                self.greeting.set_result(banner)
            return
        message = _to_message(fields, received_at)
        if "event" not in message and "response" not in message:
            log.warning("ami.message.skipped peer=%s keys=%s", self._peer, sorted(fields)[:8])
            return
        self.handle_message(message)

    def handle_message(self, message: _PanoramiskMessage) -> None:
        event = _first(message.get("Event", ""))
        action_id = _first(message.action_id) if message.action_id else ""
        if event.lower() == "originateresponse":
            # The call tracker needs it, matched by its ActionID. It is never the Originate's
            # own answer, even if it overtakes the "queued" response (it also carries a
            # Response: header, which would otherwise be taken for that answer).
            self._deliver_event(message.fields, message.received_at)
            return
        if action_id:
            action = self.responses.get(action_id)
            if action is not None:
                if action.add_message(message):
                    self.responses.pop(action_id, None)
                return
            if action_id in self._forgotten:
                log.debug("ami.late_answer.dropped peer=%s action_id=%s", self._peer, action_id)
                return
        if event:
            self._deliver_event(message.fields, message.received_at)
            if event.lower() == "shutdown":
                self.end(AmiConnectionLost(f"Asterisk at {self._peer} announced Shutdown"), abort=True)
        else:
            log.debug("ami.response.unmatched peer=%s action_id=%s", self._peer, action_id)

    def send(self, data: _AmiAction, as_list: bool | None = None) -> asyncio.Future:
        """Register and write one action; raises before writing anything if it is unsafe."""
        payload = encode_action(dict(data.items()))
        if self.closed or self.transport is None or self.transport.is_closing():
            raise AmiNotConnected(
                f"AMI connection to {self._peer} is closed; {data.name} not sent",
                action=data.name,
                action_id=data.action_id,
            )
        self.responses[data.action_id] = data
        self.transport.write(payload)
        return data.future

    def forget(self, action_id: str) -> None:
        """Stop waiting for ``action_id``; an answer arriving later is dropped."""
        self.responses.pop(action_id, None)
        self._forgotten[action_id] = None
        while len(self._forgotten) > _FORGOTTEN_KEEP:
            self._forgotten.popitem(last=False)

    def end(self, reason: AmiError, *, abort: bool) -> None:
        """End this session: fail what is pending (never requeue it) and close the socket.

        ``abort`` drops the socket without flushing, for a link that no longer carries data.
        """
        if not self.lost.done():
            self._fail_pending(reason)
            self.lost.set_result(reason)
            self._on_lost(self)
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                if abort:
                    self.transport.abort()
                else:
                    self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        detail = f"{exc}" if exc else "closed by the peer"
        self.end(AmiConnectionLost(f"AMI connection to {self._peer} lost: {detail}"), abort=False)

    def close(self) -> None:
        self.end(AmiConnectionLost(f"AMI connection to {self._peer} closed by Zvonar"), abort=False)

    def _fail_pending(self, reason: AmiError) -> None:
        pending = list(self.responses.values())
        self.responses.clear()
        for action in pending:
            if action.future.done():
                continue
            name = action.name
            if name.lower() in _INTERNAL_ACTIONS:
                action.future.cancel()
            elif name.lower() == "originate":
                action.future.set_exception(
                    AmiOriginateLost(
                        f"Originate ActionID={action.action_id} was sent to {self._peer} but the "
                        f"connection was lost before Asterisk answered ({reason}); it was NOT resent, "
                        "a call may or may not have been placed",
                        action=name,
                        action_id=action.action_id,
                    )
                )
            else:
                action.future.set_exception(
                    AmiConnectionLost(
                        f"{name} ActionID={action.action_id} was sent to {self._peer} but the "
                        f"connection was lost before its answer ({reason}); it was not resent",
                        action=name,
                        action_id=action.action_id,
                    )
                )


def _plain(result: _PanoramiskMessage | list[_PanoramiskMessage]) -> Message | list[Message]:
    if isinstance(result, list):
        return [dict(m.fields) for m in result]
    return dict(result.fields)


class AmiConnection:
    """One logged-in AMI session to one Asterisk, kept alive and re-established on loss.

    Build it with plain values, ``await connect()``, register callbacks, send actions,
    ``await close()``. Callbacks run in the event loop; a callback returning an awaitable
    has it scheduled as a task. Errors raised by callbacks are logged, never propagated.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        ping_interval: float = 5.0,
        action_timeout: float = 10.0,
        reconnect_backoff_initial: float = 0.5,
        reconnect_backoff_max: float = 30.0,
        connect_timeout: float = 10.0,
        reconnect_jitter: float = 0.1,
        events: str = "on",
    ) -> None:
        for label, value in (
            ("ping_interval", ping_interval),
            ("action_timeout", action_timeout),
            ("reconnect_backoff_initial", reconnect_backoff_initial),
            ("reconnect_backoff_max", reconnect_backoff_max),
            ("connect_timeout", connect_timeout),
        ):
            if not value > 0:
                raise ValueError(f"AmiConnection {label} must be > 0, got {value!r}")
        if reconnect_backoff_max < reconnect_backoff_initial:
            raise ValueError("AmiConnection reconnect_backoff_max must be >= reconnect_backoff_initial")
        if not 0.0 <= reconnect_jitter < 1.0:
            raise ValueError(f"AmiConnection reconnect_jitter must be in [0, 1), got {reconnect_jitter!r}")
        # Refuse CR/LF in the credentials now rather than at the first login; the error
        # names the field, never its value.
        check_field("Username", username)
        check_field("Secret", secret)
        check_field("Events", events)
        self.host = host
        self.port = int(port)
        self.username = username
        self._secret = secret
        self._events = events
        self._ping_interval = float(ping_interval)
        self._action_timeout = float(action_timeout)
        self._backoff_initial = float(reconnect_backoff_initial)
        self._backoff_max = float(reconnect_backoff_max)
        self._connect_timeout = float(connect_timeout)
        self._jitter = float(reconnect_jitter)

        self._event_callbacks: list[EventCallback] = []
        self._connected_callbacks: list[ConnectedCallback] = []
        self._disconnected_callbacks: list[DisconnectedCallback] = []
        self._callback_tasks: set[asyncio.Task] = set()

        self._protocol: _AmiProtocol | None = None
        self._runner: asyncio.Task | None = None
        self._closed = False
        self._auth_error: AmiAuthenticationError | None = None
        self._last_error: AmiError | None = None
        self._state_changed = asyncio.Event()

    def __repr__(self) -> str:
        state = "connected" if self.connected else ("closed" if self._closed else "disconnected")
        return f"<AmiConnection {self.username}@{self.host}:{self.port} {state}>"

    @property
    def peer(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """True while a logged-in session is up."""
        return self._protocol is not None and not self._protocol.closed

    @property
    def last_error(self) -> AmiError | None:
        """Why the last session ended or the last (re)connect failed; None once logged in."""
        return self._last_error

    @property
    def version(self) -> str | None:
        """The AMI version from the current session's greeting (e.g. ``13.0.0``)."""
        return self._protocol.version if self._protocol is not None else None

    # -- callback registries ------------------------------------------------------------

    def on_event(self, callback: EventCallback) -> EventCallback:
        """Call ``callback(event: dict, received_at: float)`` for every event, in wire order.

        ``event`` is a fresh plain dict (str -> str, or list of str for a repeated key);
        ``received_at`` is ``loop.time()`` of the TCP read that completed it. Returns the
        callback, so this works as a decorator.
        """
        self._event_callbacks.append(callback)
        return callback

    def on_connected(self, callback: ConnectedCallback) -> ConnectedCallback:
        """Call ``callback()`` after every successful login (first connect and each reconnect)."""
        self._connected_callbacks.append(callback)
        return callback

    def on_disconnected(self, callback: DisconnectedCallback) -> DisconnectedCallback:
        """Call ``callback(reason)`` when a session is lost or a re-login is refused (not on close())."""
        self._disconnected_callbacks.append(callback)
        return callback

    # -- lifecycle ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and log in; returns only once Asterisk accepted the Login.

        Raises ``AmiConnectError`` (unreachable, not AMI, Login unanswered) or
        ``AmiAuthenticationError`` (refused). After success the connection watches itself
        and reconnects on loss until ``close()``.
        """
        if self._closed:
            raise AmiNotConnected(f"AMI connection to {self.peer} was closed; build a new one")
        if self._runner is not None:
            raise RuntimeError(f"AMI connection to {self.peer} is already connected")
        try:
            protocol = await self._open_session()
        except AmiError as exc:
            self._last_error = exc
            raise
        if self._closed:  # close() ran while we were logging in
            protocol.close()
            self._protocol = None
            raise AmiNotConnected(f"AMI connection to {self.peer} was closed during connect()")
        self._runner = asyncio.get_running_loop().create_task(
            self._run(protocol), name=f"ami-connection {self.peer}"
        )

    async def close(self) -> None:
        """Log off, close the socket and stop reconnecting; pending actions fail."""
        if self._closed:
            return
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        protocol, self._protocol = self._protocol, None
        if protocol is not None and not protocol.closed:
            await self._logoff(protocol)
            protocol.close()
        self._signal()
        tasks = list(self._callback_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("ami.closed peer=%s", self.peer)

    async def _logoff(self, protocol: _AmiProtocol) -> None:
        try:
            future = protocol.send(_AmiAction({"Action": "Logoff", "ActionID": new_action_id()}, as_list=False))
        except AmiError:
            return
        await asyncio.wait((future, protocol.lost), timeout=min(self._action_timeout, _LOGOFF_WAIT),
                           return_when=asyncio.FIRST_COMPLETED)
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()  # retrieved: a Logoff lost with the session is of no interest

    # -- actions ------------------------------------------------------------------------

    async def send_action(
        self,
        action: Mapping[str, object],
        timeout: float | None = None,
        as_list: bool | None = None,
    ) -> Message | list[Message]:
        """Send one action and return its answer as plain dict(s).

        A list action (CoreShowChannels, Status, QueueStatus, ...: recognised by
        ``EventList: start`` or forced with ``as_list=True``) returns a list: its Response,
        then its events, ending with the ``...Complete`` event. An ``Error`` response is
        returned, not raised. ``timeout`` (default ``action_timeout``) covers waiting for
        the session and for the answer. An Originate is sent with ``Async: true``.
        Raises ``UnsafeAmiValue`` (nothing written), ``AmiActionTimeout``,
        ``AmiConnectionLost``, ``AmiNotConnected``, ``AmiAuthenticationError``, and for an
        Originate ``AmiOriginateTimeout`` / ``AmiOriginateLost``.
        """
        fields = self._prepare(action)
        return await self._send(fields, timeout, as_list)

    async def originate(self, response_timeout: float | None = None, **fields: object) -> Message:
        """Send an Async Originate and return Asterisk's "queued" response as a dict.

        ``fields`` are Originate headers (Channel, Context, Exten, Priority, CallerID,
        Timeout, Variable=[...], ActionID); an ``ActionID`` is generated if absent. The
        call's outcome arrives later as an ``OriginateResponse`` event with that ActionID.
        Raises ``AmiOriginateRejected`` if Asterisk answers with an error, and is never
        resent: see ``send_action`` for the other errors.
        """
        if _header(fields, "Action") is not None:
            raise ValueError("originate() sets the Action itself; do not pass Action=")
        action: dict[str, object] = {"Action": "Originate"}
        action.update(fields)
        prepared = self._prepare(action)
        # An Originate's answer is never a list (see _AmiAction.multi).
        response = cast(Message, await self._send(prepared, response_timeout, False))
        if _first(response.get("Response", "")) != "Success":
            action_id = _first(prepared[_header(prepared, "ActionID") or "ActionID"])
            raise AmiOriginateRejected(
                f"Asterisk at {self.peer} rejected Originate ActionID={action_id}: "
                f"{_first(response.get('Message', '')) or _first(response.get('Response', ''))}",
                action="Originate",
                action_id=action_id,
            )
        return response

    def _prepare(self, action: Mapping[str, object]) -> dict[str, object]:
        if not isinstance(action, Mapping):
            raise TypeError(f"an AMI action must be a mapping, got {type(action).__name__}")
        fields = dict(action)
        name_key = _header(fields, "Action")
        if name_key is None or not _first(fields[name_key]).strip():
            raise ValueError("an AMI action needs an 'Action' field")
        name = _first(fields[name_key])
        if name.lower() in _MANAGED_ACTIONS:
            raise ValueError(f"AMI action {name!r} is managed by AmiConnection (connect()/close())")
        if name.lower() == "originate":
            # A synchronous Originate blocks its answer for the whole ring time and makes
            # panoramisk-style clients misread it; Zvonar only ever originates Async.
            async_key = _header(fields, "Async")
            if async_key is None:
                fields["Async"] = "true"
            elif _first(fields[async_key]).strip().lower() not in _TRUE_VALUES:
                raise ValueError(f"Originate must be Async; got Async={_first(fields[async_key])!r}")
            else:
                fields[async_key] = "true"
        id_key = _header(fields, "ActionID")
        if id_key is None or not _first(fields[id_key]).strip():
            fields[id_key or "ActionID"] = new_action_id()
        else:
            # Answers carry it as text; an int ActionID would never match its answer.
            fields[id_key] = _first(fields[id_key])
        # Refuse CR/LF now, before waiting for a session: the action is never queued.
        encode_action(fields)
        return fields

    async def _send(
        self, fields: dict[str, object], timeout: float | None, as_list: bool | None
    ) -> Message | list[Message]:
        loop = asyncio.get_running_loop()
        timeout = self._action_timeout if timeout is None else float(timeout)
        deadline = loop.time() + timeout
        action = _AmiAction(fields, as_list=as_list)
        name, action_id = action.name, action.action_id
        protocol = await self._wait_ready(deadline, timeout, name, action_id)
        if action_id in protocol.responses:
            raise ValueError(f"ActionID {action_id!r} is already waiting for an answer")
        future = protocol.send(action)
        try:
            result = await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
        except TimeoutError:
            protocol.forget(action_id)
            log.warning(
                "ami.action.timeout peer=%s action=%s action_id=%s timeout=%s", self.peer, name, action_id, timeout
            )
            message = f"no answer from {self.peer} to {name} ActionID={action_id} within {timeout:g}s"
            if name.lower() == "originate":
                raise AmiOriginateTimeout(
                    message + "; it was NOT resent, a call may or may not have been placed",
                    action=name,
                    action_id=action_id,
                ) from None
            raise AmiActionTimeout(message, action=name, action_id=action_id) from None
        except asyncio.CancelledError:
            protocol.forget(action_id)
            raise
        return _plain(result)

    async def _wait_ready(self, deadline: float, timeout: float, name: str, action_id: str) -> _AmiProtocol:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise AmiNotConnected(
                    f"AMI connection to {self.peer} is closed; {name} not sent", action=name, action_id=action_id
                )
            if self._auth_error is not None:
                raise AmiAuthenticationError(str(self._auth_error), action=name, action_id=action_id)
            if self._runner is None:
                raise AmiNotConnected(
                    f"AMI connection to {self.peer} is not connected (call connect() first); {name} not sent",
                    action=name,
                    action_id=action_id,
                )
            protocol = self._protocol
            if protocol is not None and not protocol.closed:
                return protocol
            changed = self._state_changed
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                raise AmiNotConnected(
                    f"no AMI session to {self.peer} within {timeout:g}s; {name} ActionID={action_id} not sent"
                    f" (last error: {self._last_error})",
                    action=name,
                    action_id=action_id,
                ) from None

    # -- session machinery --------------------------------------------------------------

    def _signal(self) -> None:
        # Wake everyone waiting for a state change, then arm a fresh event for the next one.
        changed, self._state_changed = self._state_changed, asyncio.Event()
        changed.set()

    async def _open_session(self) -> _AmiProtocol:
        """TCP connect, wait for the greeting, log in and wait for the answer; or raise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._connect_timeout

        def remaining() -> float:
            return max(0.0, deadline - loop.time())

        def factory() -> _AmiProtocol:
            return _AmiProtocol(peer=self.peer, deliver_event=self._deliver_event, on_lost=self._protocol_lost)

        try:
            _, protocol = await asyncio.wait_for(loop.create_connection(factory, self.host, self.port), remaining())
        except TimeoutError:
            raise AmiConnectError(
                f"cannot connect to AMI at {self.peer}: no TCP connection within {self._connect_timeout:g}s"
            ) from None
        except OSError as exc:
            raise AmiConnectError(f"cannot connect to AMI at {self.peer}: {exc}") from exc
        try:
            await asyncio.wait((protocol.greeting, protocol.lost), timeout=remaining(),
                               return_when=asyncio.FIRST_COMPLETED)
            if not protocol.greeting.done():
                raise AmiConnectError(
                    f"no AMI greeting from {self.peer}"
                    + (" (connection closed)" if protocol.lost.done() else f" within {self._connect_timeout:g}s")
                )
            banner = protocol.greeting.result()
            if not banner.startswith(BANNER_PREFIX):
                raise AmiConnectError(f"{self.peer} is not an AMI server: greeting {banner[:80]!r}")
            login = _AmiAction(
                {
                    "Action": "Login",
                    "ActionID": new_action_id(),
                    "Username": self.username,
                    "Secret": self._secret,
                    "Events": self._events,
                },
                as_list=False,
            )
            answer = protocol.send(login)
            await asyncio.wait((answer, protocol.lost), timeout=remaining(), return_when=asyncio.FIRST_COMPLETED)
            if not answer.done() or answer.cancelled() or answer.exception() is not None:
                if not answer.done():
                    answer.cancel()
                raise AmiConnectError(
                    f"AMI at {self.peer} did not answer the Login of user {self.username!r}"
                    + (" (connection closed)" if protocol.lost.done() else f" within {self._connect_timeout:g}s")
                )
            response = answer.result()
            if _first(response.get("Response", "")) != "Success":
                raise AmiAuthenticationError(
                    f"AMI at {self.peer} refused the login of user {self.username!r}: "
                    f"{_first(response.get('Message', '')) or _first(response.get('Response', ''))}"
                )
        except BaseException as exc:
            reason = exc if isinstance(exc, AmiError) else AmiConnectError(f"login to {self.peer} interrupted")
            protocol.end(reason, abort=True)
            raise
        self._protocol = protocol
        self._auth_error = None
        self._last_error = None
        log.info("ami.connected peer=%s username=%s version=%s", self.peer, self.username, protocol.version)
        self._signal()
        self._call_hooks(self._connected_callbacks, (), "on_connected")
        return protocol

    def _protocol_lost(self, protocol: _AmiProtocol) -> None:
        # Synchronous, so no send_action slips onto a dead session before _run notices.
        if self._protocol is protocol:
            self._protocol = None
            self._signal()

    async def _run(self, protocol: _AmiProtocol) -> None:
        while True:
            try:
                reason = await self._watch(protocol)
                self._last_error = reason
                log.warning("ami.disconnected peer=%s reason=%s", self.peer, reason)
                self._call_hooks(self._disconnected_callbacks, (reason,), "on_disconnected")
                protocol = await self._reconnect()
            except asyncio.CancelledError:
                raise
            except Exception:
                # A bug here must not leave Zvonar silently without Asterisk: log and start over.
                log.exception("ami.supervisor.failed peer=%s", self.peer)
                if self._protocol is not None:
                    self._protocol.end(AmiConnectionLost(f"AMI supervisor for {self.peer} restarted"), abort=True)
                protocol = await self._reconnect()

    async def _watch(self, protocol: _AmiProtocol) -> AmiError:
        """Ping once per interval; return why the session ended (lost, or the link went silent).

        The link is dead when a Ping is unanswered and not one byte arrived for a whole
        interval: that catches a half-open TCP link within two intervals. While bytes keep
        coming (an event burst), the Ping's answer is merely queued behind them.
        """
        loop = asyncio.get_running_loop()
        ping: asyncio.Future | None = None
        checked_at = loop.time()
        try:
            while True:
                await asyncio.wait((protocol.lost,), timeout=self._ping_interval)
                if protocol.lost.done():
                    return protocol.lost.result()
                if ping is not None and not ping.done():
                    if protocol.last_received < checked_at:
                        reason = AmiLinkDead(
                            f"AMI at {self.peer} left a Ping unanswered and sent nothing for "
                            f"{self._ping_interval:g}s; dropping the link as dead"
                        )
                        protocol.end(reason, abort=True)
                        return reason
                    checked_at = loop.time()
                    continue
                try:
                    ping = protocol.send(_AmiAction({"Action": "Ping", "ActionID": new_action_id()}, as_list=False))
                except AmiNotConnected:
                    ping = None  # the session is ending; the next wait returns its reason
                checked_at = loop.time()
        finally:
            if ping is not None and not ping.done():
                ping.cancel()

    async def _reconnect(self) -> _AmiProtocol:
        attempt = 0
        while True:
            if self._auth_error is not None:
                # Hammering Asterisk with a refused secret only fills its security log
                # (and trips fail2ban): retry at the slowest pace until it is fixed.
                delay = reconnect_delay(_MAX_EXPONENT, self._backoff_initial, self._backoff_max, self._jitter)
            else:
                delay = reconnect_delay(attempt, self._backoff_initial, self._backoff_max, self._jitter)
            log.info("ami.reconnect.scheduled peer=%s attempt=%d delay=%.3f", self.peer, attempt + 1, delay)
            await asyncio.sleep(delay)
            attempt += 1
            try:
                return await self._open_session()
            except AmiAuthenticationError as exc:
                self._auth_error = exc
                self._last_error = exc
                log.error("ami.login.refused peer=%s username=%s detail=%s", self.peer, self.username, exc)
                self._signal()
                self._call_hooks(self._disconnected_callbacks, (exc,), "on_disconnected")
            except AmiError as exc:
                self._last_error = exc
                log.warning("ami.reconnect.failed peer=%s attempt=%d reason=%s", self.peer, attempt, exc)

    # -- callbacks ----------------------------------------------------------------------

    def _deliver_event(self, fields: Message, received_at: float) -> None:
        for callback in list(self._event_callbacks):
            self._call_one(callback, (dict(fields), received_at), "on_event")

    def _call_hooks(self, callbacks: Iterable[Callable[..., object]], args: tuple[Any, ...], hook: str) -> None:
        for callback in list(callbacks):
            self._call_one(callback, args, hook)

    def _call_one(self, callback: Callable[..., object], args: tuple[Any, ...], hook: str) -> None:
        try:
            result = callback(*args)
        except Exception:
            log.exception("ami.callback.failed peer=%s hook=%s callback=%r", self.peer, hook, callback)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callback_tasks.add(task)
            task.add_done_callback(lambda t, h=hook: self._callback_done(t, h))

    def _callback_done(self, task: asyncio.Future, hook: str) -> None:
        self._callback_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ami.callback.failed peer=%s hook=%s", self.peer, hook, exc_info=task.exception())
