"""AMI actions of the simulator: each handler reads an action and answers like Asterisk's manager.c/app_queue.c.

Handlers are small functions over a :class:`SessionPort` (what a session can do:
send, close, log in, reach the PBX); the TCP plumbing lives in ``server.py``.
Messages and their wording are Asterisk's (main/manager.c, apps/app_queue.c).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from ami_bridge.pbx_sim.config import AmiUser
from ami_bridge.pbx_sim.dialplan import OriginateRequest
from ami_bridge.pbx_sim.pbx import BadChannelPattern, NoSuchChannel, Pbx
from ami_bridge.pbx_sim.queues import QueueError
from ami_bridge.pbx_sim.scheduler import Signal

log = logging.getLogger(__name__)

Message = dict[str, str]

# Write classes an action needs (any one of them), as registered by Asterisk 20/22.
ACTION_CLASSES: dict[str, frozenset[str]] = {
    "login": frozenset(),
    "logoff": frozenset(),
    "challenge": frozenset(),
    "ping": frozenset(),
    "events": frozenset(),
    "originate": frozenset({"originate"}),
    "hangup": frozenset({"system", "call"}),
    "status": frozenset({"system", "call", "reporting"}),
    "coreshowchannels": frozenset({"system", "reporting"}),
    "queueadd": frozenset({"agent"}),
    "queueremove": frozenset({"agent"}),
    "queuepause": frozenset({"agent"}),
    "queuestatus": frozenset(),
    "queuesummary": frozenset(),
    "command": frozenset({"command"}),
}
UNAUTHENTICATED_OK = frozenset({"login", "logoff", "challenge"})


class SessionPort(Protocol):
    """What an action handler may do with the session that sent it."""

    pbx: Pbx
    user: AmiUser | None
    challenge: str | None

    def send(self, message: Mapping[str, str | list[str]]) -> None: ...
    def close(self) -> None: ...
    def set_event_mask(self, mask: str) -> None: ...
    def logged_in(self, user: AmiUser, events: str | None) -> None: ...
    def login_failed(self, username: str, known_user: bool) -> None: ...
    def users(self) -> Mapping[str, AmiUser]: ...
    def wait_sim(self, signal: Signal) -> Awaitable[object]: ...
    def sleep_sim(self, seconds: float) -> Awaitable[None]: ...
    def catch_up(self) -> None: ...


def classes(text: str) -> frozenset[str]:
    return frozenset(c.strip().lower() for c in text.split(",") if c.strip())


def is_true(value: str | None) -> bool:
    """Asterisk's ast_true()."""
    return (value or "").strip().lower() in {"yes", "true", "y", "t", "1", "on"}


def parse_callerid(text: str) -> tuple[str, str] | None:
    """``"Name" <number>`` / ``Name <number>`` / ``<number>`` / ``number`` -> (number, name)."""
    text = text.strip()
    if not text:
        return None
    if "<" in text and text.endswith(">"):
        name, _, rest = text.rpartition("<")
        number = rest[:-1].strip()
        name = name.strip().strip('"').strip()
        return number or "<unknown>", name or "<unknown>"
    if all(c.isdigit() or c in "+*#" for c in text):
        return text, "<unknown>"
    return "<unknown>", text.strip('"')


class Action:
    """One received action with case-insensitive headers (AMI header names are case-insensitive)."""

    def __init__(self, message: Mapping[str, str | list[str]]) -> None:
        self._headers: dict[str, list[str]] = {}
        for key, value in message.items():
            values = value if isinstance(value, list) else [value]
            self._headers.setdefault(key.strip().lower(), []).extend(values)
        self.name = self.get("Action").strip()
        self.action_id = self.get("ActionID") or None

    def get(self, key: str, default: str = "") -> str:
        values = self._headers.get(key.lower())
        return values[0] if values else default

    def all(self, key: str) -> list[str]:
        return list(self._headers.get(key.lower(), []))

    def has(self, key: str) -> bool:
        return key.lower() in self._headers


def response(action: Action, status: str, message: str | None = None, **extra: str) -> Message:
    """``Response: <status>`` with the ActionID echoed and ``Message`` after it, like astman_send_response."""
    msg: Message = {"Response": status}
    if action.action_id is not None:
        msg["ActionID"] = action.action_id
    if message is not None:
        msg["Message"] = message
    msg.update(extra)
    return msg


def list_ack(action: Action, message: str) -> Message:
    msg: Message = {"Response": "Success"}
    if action.action_id is not None:
        msg["ActionID"] = action.action_id
    msg["EventList"] = "start"
    msg["Message"] = message
    return msg


def list_complete(action: Action, event: str, items: int, **extra: str) -> Message:
    msg: Message = {"Event": event}
    if action.action_id is not None:
        msg["ActionID"] = action.action_id
    msg["EventList"] = "Complete"
    msg["ListItems"] = str(items)
    msg.update(extra)
    return msg


# ---------------------------------------------------------------------- session actions


async def login(port: SessionPort, action: Action) -> None:
    if port.user is not None:
        port.send(response(action, "Success", "Already authenticated"))
        return
    username = action.get("Username")
    user = port.users().get(username)
    ok = False
    if user is not None:
        if action.get("AuthType").lower() == "md5":
            expected = hashlib.md5(f"{port.challenge or ''}{user.secret}".encode()).hexdigest()
            ok = port.challenge is not None and action.get("Key").lower() == expected
        else:
            ok = action.get("Secret") == user.secret
    if not ok or user is None:
        log.info("pbx_sim.ami.login_failed username=%s", username)
        port.login_failed(username, user is not None)
        # Asterisk sleeps a second before refusing, then drops the connection.
        await port.sleep_sim(port.pbx.config.auth_failure_delay)
        port.send(response(action, "Error", "Authentication failed"))
        port.close()
        return
    port.send(response(action, "Success", "Authentication accepted"))
    port.logged_in(user, action.get("Events") or None)


async def challenge(port: SessionPort, action: Action) -> None:
    if action.get("AuthType").lower() != "md5":
        port.send(response(action, "Error", "Must specify AuthType"))
        return
    port.challenge = f"{random.SystemRandom().randrange(10**8, 10**9)}"
    msg: Message = {"Response": "Success"}
    if action.action_id is not None:
        msg["ActionID"] = action.action_id
    msg["Challenge"] = port.challenge
    port.send(msg)


async def logoff(port: SessionPort, action: Action) -> None:
    port.send(response(action, "Goodbye", "Thanks for all the fish."))
    port.close()


async def ping(port: SessionPort, action: Action) -> None:
    msg: Message = {"Response": "Success"}
    if action.action_id is not None:
        msg["ActionID"] = action.action_id
    msg["Ping"] = "Pong"
    msg["Timestamp"] = f"{port.pbx.epoch():.6f}"
    port.send(msg)


async def events(port: SessionPort, action: Action) -> None:
    mask = action.get("EventMask", "off")
    port.set_event_mask(mask)
    port.send(response(action, "Success", None, Events="Off" if mask.strip().lower() in ("off", "no", "0", "false") else "On"))


# ---------------------------------------------------------------------- calls


def _originate_request(action: Action, report: bool) -> OriginateRequest | str:
    channel = action.get("Channel").strip()
    if not channel:
        return "Channel not specified"
    if "/" not in channel:
        return "Invalid channel"
    priority_text = action.get("Priority", "1").strip() or "1"
    try:
        priority = int(priority_text)
    except ValueError:
        return "Invalid priority"
    timeout_text = action.get("Timeout").strip()
    try:
        timeout_ms = int(timeout_text) if timeout_text else 30000
    except ValueError:
        return "Invalid timeout"
    variables: dict[str, str] = {}
    for header in action.all("Variable"):
        for assignment in header.split(","):
            name, sep, value = assignment.partition("=")
            if sep and name.strip():
                variables[name.strip()] = value
    application = action.get("Application").strip() or None
    return OriginateRequest(
        channel=channel,
        context=None if application else (action.get("Context").strip() or "default"),
        exten=None if application else (action.get("Exten").strip() or "s"),
        priority=priority,
        application=application,
        data=action.get("Data"),
        caller_id=parse_callerid(action.get("CallerID")),
        timeout=max(0, timeout_ms) / 1000.0,
        variables=variables,
        action_id=action.action_id,
        report=report,
    )


async def originate(port: SessionPort, action: Action) -> None:
    asynchronous = is_true(action.get("Async"))
    request = _originate_request(action, report=asynchronous)
    if isinstance(request, str):
        port.send(response(action, "Error", request))
        return
    if asynchronous:
        port.send(response(action, "Success", "Originate successfully queued"))
        port.pbx.originate(request)
        return
    # Synchronous: Asterisk answers only once the originated channel answered or failed.
    answered = await port.wait_sim(port.pbx.originate(request))
    if answered:
        port.send(response(action, "Success", "Originate successfully queued"))
    else:
        port.send(response(action, "Error", "Originate failed"))


async def hangup(port: SessionPort, action: Action) -> None:
    target = action.get("Channel").strip()
    if not target:
        port.send(response(action, "Error", "No channel specified"))
        return
    cause_text = action.get("Cause").strip()
    cause: int | None = None
    if cause_text:
        try:
            cause = int(cause_text)
        except ValueError:
            port.send(response(action, "Error", f"Invalid hangup cause: {cause_text}"))
            return
    pbx = port.pbx
    is_pattern = len(target) >= 2 and target.startswith("/") and target.endswith("/")
    try:
        found = pbx.find_channels(target)
    except NoSuchChannel:
        port.send(response(action, "Error", "No such channel"))
        return
    except BadChannelPattern:
        port.send(response(action, "Error", f"Regex compile failed on: {target}"))
        return
    if not is_pattern:
        pbx.request_hangup(found[0], cause)
        port.send(response(action, "Success", "Channel Hungup"))
        return
    port.send(list_ack(action, "Channels hung up will follow"))
    for chan in found:
        pbx.request_hangup(chan, cause)
        item: Message = {"Event": "ChannelHungup", "Channel": chan.name}
        if action.action_id is not None:
            item["ActionID"] = action.action_id
        port.send(item)
    port.send(list_complete(action, "ChannelsHungupListComplete", len(found)))


async def core_show_channels(port: SessionPort, action: Action) -> None:
    port.catch_up()
    pbx = port.pbx
    port.send(list_ack(action, "Channels will follow"))
    live = pbx.live_channels()
    for chan in live:
        info = pbx.channel_status(chan)
        item: Message = {"Event": "CoreShowChannel"}
        if action.action_id is not None:
            item["ActionID"] = action.action_id
        item.update(info["snapshot"])
        item["Application"] = info["application"]
        item["ApplicationData"] = info["app_data"]
        item["Duration"] = info["duration"]
        item["BridgeId"] = info["bridge_id"]
        port.send(item)
    port.send(list_complete(action, "CoreShowChannelsComplete", len(live)))


async def status(port: SessionPort, action: Action) -> None:
    port.catch_up()
    pbx = port.pbx
    name = action.get("Channel").strip()
    if name:
        try:
            chans = pbx.find_channels(name)
        except (NoSuchChannel, BadChannelPattern):
            port.send(response(action, "Error", "No such channel"))
            return
    else:
        chans = pbx.live_channels()
    port.send(list_ack(action, "Channel status will follow"))
    for chan in chans:
        info = pbx.channel_status(chan)
        fmt = "slin" if chan.tech == "Local" else "ulaw"
        item: Message = {"Event": "Status", "Privilege": "Call"}
        item.update(info["snapshot"])
        item.update({
            "Type": chan.tech,
            "DNID": "",
            "EffectiveConnectedLineNum": info["conn_num"],
            "EffectiveConnectedLineName": info["conn_name"],
            "TimeToHangup": "0",
            "BridgeID": info["bridge_id"],
            "Application": info["application"],
            "Data": info["app_data"],
            "Nativeformats": f"({fmt})",
            "Readformat": fmt,
            "Readtrans": "",
            "Writeformat": fmt,
            "Writetrans": "",
            "Callgroup": "0",
            "Pickupgroup": "0",
            "Seconds": str(info["seconds"]),
        })
        if action.action_id is not None:
            item["ActionID"] = action.action_id
        port.send(item)
    port.send(list_complete(action, "StatusComplete", len(chans), Items=str(len(chans))))


# ---------------------------------------------------------------------- queues


async def queue_add(port: SessionPort, action: Action) -> None:
    queue, interface = action.get("Queue").strip(), action.get("Interface").strip()
    if not queue:
        port.send(response(action, "Error", "'Queue' not specified."))
        return
    if not interface:
        port.send(response(action, "Error", "'Interface' not specified."))
        return
    try:
        penalty = max(0, int(action.get("Penalty") or 0))
    except ValueError:
        penalty = 0
    try:
        port.pbx.queues.add(queue, interface, action.get("MemberName").strip(), penalty, is_true(action.get("Paused")),
                            action.get("Reason").strip(), action.get("StateInterface").strip())
    except QueueError as exc:
        port.send(response(action, "Error", str(exc)))
        return
    port.send(response(action, "Success", "Added interface to queue"))


async def queue_remove(port: SessionPort, action: Action) -> None:
    queue, interface = action.get("Queue").strip(), action.get("Interface").strip()
    if not queue or not interface:
        port.send(response(action, "Error", "Need 'Queue' and 'Interface' parameters."))
        return
    try:
        port.pbx.queues.remove(queue, interface)
    except QueueError as exc:
        port.send(response(action, "Error", str(exc)))
        return
    port.send(response(action, "Success", "Removed interface from queue"))


async def queue_pause(port: SessionPort, action: Action) -> None:
    interface, paused_text = action.get("Interface").strip(), action.get("Paused").strip()
    if not interface or not paused_text:
        port.send(response(action, "Error", "Need 'Interface' and 'Paused' parameters."))
        return
    paused = is_true(paused_text)
    try:
        port.pbx.queues.pause(action.get("Queue").strip() or None, interface, paused, action.get("Reason").strip())
    except QueueError as exc:
        port.send(response(action, "Error", str(exc)))
        return
    port.send(response(action, "Success", "Interface paused successfully" if paused else "Interface unpaused successfully"))


async def queue_status(port: SessionPort, action: Action) -> None:
    port.catch_up()
    pbx = port.pbx
    wanted_queue, wanted_member = action.get("Queue").strip(), action.get("Member").strip()
    idtext = {"ActionID": action.action_id} if action.action_id is not None else {}
    port.send(list_ack(action, "Queue status will follow"))
    items = 0
    now = pbx.scheduler.now
    for queue in pbx.queues.queues.values():
        if wanted_queue and queue.name != wanted_queue:
            continue
        stats = queue.stats
        sl = 100.0 * stats.completed_in_sl / stats.completed if stats.completed else 0.0
        total = stats.completed + stats.abandoned
        sl2 = 100.0 * (stats.completed_in_sl + stats.abandoned_in_sl) / total if total else 0.0
        port.send({
            "Event": "QueueParams", "Queue": queue.name, "Max": str(queue.config.maxlen),
            "Strategy": queue.config.strategy, "Calls": str(len(queue.entries)), "Holdtime": str(int(stats.holdtime)),
            "TalkTime": str(int(stats.talktime)), "Completed": str(stats.completed), "Abandoned": str(stats.abandoned),
            "ServiceLevel": str(queue.config.servicelevel), "ServicelevelPerf": f"{sl:.1f}",
            "ServicelevelPerf2": f"{sl2:.1f}", "Weight": str(queue.config.weight), **idtext,
        })
        items += 1
        for member in queue.members:
            if wanted_member and wanted_member not in (member.interface, member.name):
                continue
            blob = member.blob(pbx.queues.device(member.state_interface))
            port.send({
                "Event": "QueueMember", "Queue": queue.name, "Name": member.name, "Location": member.interface,
                "StateInterface": member.state_interface, "Membership": blob["Membership"],
                "Penalty": blob["Penalty"], "CallsTaken": blob["CallsTaken"], "LastCall": blob["LastCall"],
                "LastPause": blob["LastPause"], "LoginTime": blob["LoginTime"], "InCall": blob["InCall"],
                "Status": blob["Status"], "Paused": blob["Paused"], "PausedReason": blob["PausedReason"],
                "Wrapuptime": blob["Wrapuptime"], **idtext,
            })
            items += 1
        for position, entry in enumerate(queue.entries, start=1):
            chan = entry.channel
            port.send({
                "Event": "QueueEntry", "Queue": queue.name, "Position": str(position), "Channel": chan.name,
                "Uniqueid": chan.uniqueid, "CallerIDNum": chan.cid_num, "CallerIDName": chan.cid_name,
                "ConnectedLineNum": chan.conn_num, "ConnectedLineName": chan.conn_name,
                "Wait": str(int(now - entry.joined_at)), "Priority": "0", **idtext,
            })
            items += 1
    port.send(list_complete(action, "QueueStatusComplete", items))


async def queue_summary(port: SessionPort, action: Action) -> None:
    port.catch_up()
    pbx = port.pbx
    wanted = action.get("Queue").strip()
    idtext = {"ActionID": action.action_id} if action.action_id is not None else {}
    port.send(list_ack(action, "Queue summary will follow"))
    count = 0
    now = pbx.scheduler.now
    for queue in pbx.queues.queues.values():
        if wanted and queue.name != wanted:
            continue
        logged_in = [m for m in queue.members if pbx.queues.device(m.state_interface) not in (4, 5)]
        available = [m for m in logged_in if queue.usable(m, pbx.queues.device, now)]
        longest = max((int(now - e.joined_at) for e in queue.entries), default=0)
        port.send({
            "Event": "QueueSummary", "Queue": queue.name, "LoggedIn": str(len(logged_in)),
            "Available": str(len(available)), "Callers": str(len(queue.entries)),
            "HoldTime": str(int(queue.stats.holdtime)), "TalkTime": str(int(queue.stats.talktime)),
            "LongestHoldTime": str(longest), **idtext,
        })
        count += 1
    port.send(list_complete(action, "QueueSummaryComplete", count))


async def command(port: SessionPort, action: Action) -> None:
    pbx = port.pbx
    text = " ".join(action.get("Command").split())
    if text == "core show version":
        output = [f"Asterisk {pbx.config.asterisk_version} built by zvonar on a simulator (Zvonar PBX simulator)"]
    elif text == "core show uptime":
        output = [f"System uptime: {pbx.uptime()} seconds", f"Last reload: {pbx.uptime()} seconds"]
    elif text == "core show channels":
        live = pbx.live_channels()
        output = [f"{'Channel':<40} {'Location':<30} {'State':<8} Application(Data)"]
        output += [f"{c.name:<40} {c.exten + '@' + c.context:<30} {c.state_desc:<8} {c.application}({c.app_data})"
                   for c in live]
        output += [f"{len(live)} active channels"]
    else:
        output = [f"No such command '{text}' (type 'core show help {text}' for other possible commands)"]
    msg: dict[str, str | list[str]] = {"Response": "Success"}
    if action.action_id is not None:
        msg["ActionID"] = action.action_id
    msg["Message"] = "Command output follows"
    msg["Output"] = output
    port.send(msg)


HANDLERS: dict[str, Callable[[SessionPort, Action], Awaitable[None]]] = {
    "login": login,
    "challenge": challenge,
    "logoff": logoff,
    "ping": ping,
    "events": events,
    "originate": originate,
    "hangup": hangup,
    "status": status,
    "coreshowchannels": core_show_channels,
    "queueadd": queue_add,
    "queueremove": queue_remove,
    "queuepause": queue_pause,
    "queuestatus": queue_status,
    "queuesummary": queue_summary,
    "command": command,
}


async def dispatch(port: SessionPort, message: Mapping[str, str | list[str]]) -> None:
    """Answer one message from a client; never raises for bad input."""
    action = Action(message)
    key = action.name.lower()
    if not key:
        port.send(response(action, "Error", "Missing action in request"))
        return
    if port.user is None and key not in UNAUTHENTICATED_OK:
        port.send(response(action, "Error", "Permission denied"))
        return
    handler = HANDLERS.get(key)
    if handler is None:
        port.send(response(action, "Error", "Invalid/unknown command"))
        return
    needed = ACTION_CLASSES.get(key, frozenset())
    if needed and port.user is not None:
        granted = classes(port.user.write)
        if "all" not in granted and not (granted & needed):
            port.send(response(action, "Error", "Permission denied"))
            return
    try:
        await handler(port, action)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("pbx_sim.ami.action_failed action=%s", action.name)
        port.send(response(action, "Error", "Internal error"))
