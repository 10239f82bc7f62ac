"""The switching core: channel life cycles, legs being dialled, bridges and device states.

Every operation emits the AMI events Asterisk emits for it, in Asterisk's order
(see ../shared/ami-traces). A channel that runs a program (a simulated phone or a
dialplan) ends itself: others only *request* its hangup (``HangupRequest`` plus its
``hangup_requested`` signal) and the program reacts, as Asterisk's channel threads do.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ami_bridge.pbx_sim import ami_events as ev
from ami_bridge.pbx_sim.channels import (
    BUSY,
    DOWN,
    LOCAL,
    PJSIP,
    RING,
    RINGING,
    UNKNOWN,
    UP,
    Channel,
    ChannelFactory,
)
from ami_bridge.pbx_sim.queues import INUSE, INVALID, NOT_INUSE, RINGING as DEV_RINGING, RINGINUSE
from ami_bridge.pbx_sim.scheduler import Process, Scheduler, Signal

log = logging.getLogger(__name__)

Emit = Callable[[dict[str, str]], None]


@dataclass(frozen=True)
class DialTarget:
    """What an Originate ``Channel`` or a dial string names.

    ``Local/<exten>@<context>``, ``PJSIP/<endpoint>`` (an agent phone) or
    ``PJSIP/<number>@<trunk>`` (a client reached through the carrier).
    """

    tech: str
    exten: str
    context: str | None = None
    trunk: str | None = None

    @property
    def resource(self) -> str:
        """The part after ``tech/``: what DialBegin shows as DialString for Dial()/Originate."""
        if self.tech == LOCAL:
            return f"{self.exten}@{self.context}"
        return f"{self.exten}@{self.trunk}" if self.trunk else self.exten

    @property
    def text(self) -> str:
        return f"{self.tech}/{self.resource}"

    @property
    def interface(self) -> str:
        if self.tech == LOCAL:
            return f"Local/{self.exten}@{self.context}"
        return f"PJSIP/{self.trunk or self.exten}"


def parse_target(text: str) -> DialTarget | None:
    """Read ``Local/x@ctx[/n]``, ``PJSIP/ext`` or ``PJSIP/number@trunk``; None if it is neither."""
    tech, sep, rest = text.strip().partition("/")
    if not sep or not rest or any(c in rest for c in "&,\r\n "):
        return None
    if tech.lower() == "local":
        rest = rest.split("/", 1)[0]
        exten, at, context = rest.partition("@")
        if not exten or not at or not context:
            return None
        return DialTarget(LOCAL, exten, context=context)
    if tech.upper() == "PJSIP":
        if "/" in rest:
            # PJSIP/<endpoint>/sip:<number>@host: the endpoint carries the call.
            endpoint, _, uri = rest.partition("/")
            number = uri.split(":", 1)[-1].split("@", 1)[0]
            return DialTarget(PJSIP, number, trunk=endpoint) if number and endpoint else None
        user, at, endpoint = rest.partition("@")
        if at:
            return DialTarget(PJSIP, user, trunk=endpoint) if user and endpoint else None
        return DialTarget(PJSIP, user)
    return None


@dataclass(eq=False)
class Bridge:
    uid: str
    channels: list[Channel] = field(default_factory=list)


@dataclass(eq=False)
class Leg:
    """A channel being dialled and the far end that answers it.

    ``near`` is what the dialling side holds (Local ``;1`` or the PJSIP channel);
    ``far`` is the Local ``;2`` running the far end's program (None for PJSIP,
    whose far end is a simulated SIP user agent without a channel).
    """

    target: DialTarget
    kind: str
    near: Channel
    far: Channel | None
    ringing: Signal
    progress: Signal
    answered: Signal
    rejected: Signal
    started_at: float
    caller: Channel | None = None
    program: Process | None = None


class Switch:
    """Channels, bridges and device states, with the events each change produces."""

    def __init__(self, scheduler: Scheduler, channels: ChannelFactory, emit: Emit,
                 known_endpoints: Callable[[str], bool]) -> None:
        self.scheduler = scheduler
        self.channels = channels
        self._emit = emit
        self._known_endpoint = known_endpoints
        self._device_cache: dict[str, int] = {}
        self.device_listeners: list[Callable[[str, int], None]] = []
        self.bridges: dict[str, Bridge] = {}

    # ------------------------------------------------------------------ events

    def emit(self, event: dict[str, str]) -> None:
        self._emit(event)

    # ------------------------------------------------------------------ channels

    def _created(self, chan: Channel) -> None:
        self.emit(ev.channel_event("Newchannel", chan))
        self._device_touch(chan.interface)

    def new_local_pair(self, exten: str, context: str, linkedid: str | None) -> tuple[Channel, Channel]:
        one, two = self.channels.local_pair(exten, context, linkedid)
        self._created(one)
        self._created(two)
        return one, two

    def new_pjsip(self, endpoint: str, state: int, context: str, exten: str, linkedid: str | None,
                  cid: tuple[str, str] | None = None) -> Channel:
        chan = self.channels.pjsip(endpoint, state, context, exten, linkedid)
        if cid is not None:
            chan.cid_num, chan.cid_name = cid
        self._created(chan)
        return chan

    def set_state(self, chan: Channel, state: int) -> None:
        if chan.dead or chan.state == state:
            return
        chan.state = state
        if state == UP and chan.answered_at is None:
            chan.answered_at = self.scheduler.now
        self.emit(ev.channel_event("Newstate", chan))
        self._device_touch(chan.interface)
        if state == UP:
            chan.up.fire()

    def newexten(self, chan: Channel, context: str, exten: str, priority: int, app: str, data: str) -> None:
        if chan.dead:
            return
        chan.context, chan.exten, chan.priority = context, exten, priority
        chan.application, chan.app_data = app, data
        self.emit(ev.newexten(chan, app, data))

    def set_callerid(self, chan: Channel, num: str, name: str) -> None:
        if chan.dead:
            return
        chan.cid_num, chan.cid_name = num or UNKNOWN, name or UNKNOWN
        self.emit(ev.new_callerid(chan))

    def set_connected(self, chan: Channel, num: str, name: str) -> None:
        if chan.dead:
            return
        chan.conn_num, chan.conn_name = num or UNKNOWN, name or UNKNOWN
        self.emit(ev.channel_event("NewConnectedLine", chan))

    def varset(self, chan: Channel, name: str, value: object) -> None:
        if chan.dead:
            return
        chan.variables[name.lstrip("_")] = str(value)
        self.emit(ev.var_set(chan, name, str(value)))

    def user_event(self, chan: Channel, name: str, headers: dict[str, str]) -> None:
        if not chan.dead:
            self.emit(ev.user_event(chan, name, headers))

    def request_hangup(self, chan: Channel, cause: int | None, tech_cause: int | None = None,
                       show_cause: bool = True) -> None:
        """Someone else asks ``chan`` to hang up (``HangupRequest``); its owner reacts."""
        if chan.dead:
            return
        if chan.cause is None and cause is not None:
            chan.cause, chan.tech_cause = cause, tech_cause
        self.emit(ev.hangup_request(chan, cause if show_cause else None, tech_cause if show_cause else None))
        chan.hangup_requested.fire(cause)

    def soft_hangup(self, chan: Channel, cause: int = 16) -> None:
        """The channel's own dialplan (or the AMI) starts its hangup (``SoftHangupRequest``)."""
        if chan.dead or chan.soft_hangup_sent:
            return
        chan.soft_hangup_sent = True
        self.emit(ev.soft_hangup_request(chan, cause))

    def hangup(self, chan: Channel, cause: int = 16, own: bool = False) -> None:
        """End ``chan``: its Local peer is asked to hang up, then ``Hangup`` with the channel's cause.

        A cause already set on the channel (by a HangupRequest it received, or by
        Busy()/Congestion()/Hangup(n)) wins over ``cause``.
        """
        if chan.dead:
            return
        if own:
            self.soft_hangup(chan)
        if chan.h_exten is not None:
            # The dialplan's "h" extension runs after the soft hangup, before the channel goes.
            hook, chan.h_exten = chan.h_exten, None
            hook()
        final = chan.cause if chan.cause is not None else cause
        if chan.cause is None:
            chan.cause = final
        peer = chan.local_peer
        if peer is not None and not peer.dead:
            self.request_hangup(peer, final)
        if chan.bridge is not None:
            self.bridge_leave(chan.bridge, chan)
        chan.dead = True
        self.emit(ev.hangup(chan, final, chan.tech_cause))
        self.channels.forget(chan)
        chan.gone.fire(final)
        if not chan.hangup_requested.fired:
            chan.hangup_requested.fire(final)
        self._device_touch(chan.interface)

    # ------------------------------------------------------------------ legs

    def open_leg(self, target: DialTarget, kind: str, linkedid: str | None, cid: tuple[str, str] | None,
                 connected: tuple[str, str] | None, near_app: str, agents_context: str, trunk_context: str,
                 endpoint_name: Callable[[str], str], caller: Channel | None = None) -> Leg:
        """Create the channel(s) of an outgoing leg with their creation events (up to LocalBridge).

        ``cid``/``connected`` are what the near channel shows as its caller and connected
        line (an Originate gives both the Originate CallerID; Dial() and Queue() the
        caller's connected line and caller ID).
        """
        if target.tech == LOCAL:
            one, two = self.new_local_pair(target.exten, target.context or "", linkedid)
            one.application, one.app_data = near_app, "(Outgoing Line)"
            self.emit(ev.newexten(one, near_app, "(Outgoing Line)"))
            if cid is not None:
                one.cid_num, one.cid_name = cid
                self.emit(ev.new_callerid(one))
                one.conn_num, one.conn_name = connected or cid
                self.emit(ev.channel_event("NewConnectedLine", one))
                two.cid_num, two.cid_name = one.conn_num, one.conn_name
                two.conn_num, two.conn_name = one.cid_num, one.cid_name
                self.emit(ev.new_callerid(two))
                self.emit(ev.channel_event("NewConnectedLine", two))
            self.emit(ev.local_bridge(one, two))
            near, far = one, two
        elif target.trunk:
            near = self.new_pjsip(target.trunk, DOWN, trunk_context, "s", linkedid)
            # A dialled trunk channel shows the number it dials; an originated one starts at "s".
            self.newexten(near, trunk_context, target.exten if kind == "dial" else "s", 1, near_app,
                          "(Outgoing Line)")
            if cid is not None:
                self.set_callerid(near, *cid)
                self.set_connected(near, *(connected or cid))
            far = None
        else:
            own = (target.exten, endpoint_name(target.exten))
            near = self.new_pjsip(target.exten, DOWN, agents_context, "s", linkedid, cid=own)
            if kind == "originate":
                self.newexten(near, agents_context, "s", 1, near_app, "(Outgoing Line)")
                if cid is not None:
                    self.set_callerid(near, *cid)
                    self.set_connected(near, *(connected or cid))
            else:
                near.application, near.app_data = near_app, "(Outgoing Line)"
            far = None
        sched = self.scheduler
        return Leg(
            target=target, kind=kind, near=near, far=far, ringing=sched.signal("ringing"),
            progress=sched.signal("progress"), answered=sched.signal("answered"), rejected=sched.signal("rejected"),
            started_at=sched.now, caller=caller,
        )

    def leg_ringing(self, leg: Leg) -> None:
        """The far end rings: the near channel shows Ringing (queue members switch to the caller's exten)."""
        near = leg.near
        if near.dead:
            return
        if leg.kind == "queue" and leg.caller is not None:
            near.exten = leg.caller.exten
        self.set_state(near, RINGING)
        if leg.kind == "queue" and leg.caller is not None:
            self.newexten(near, near.context, near.exten, 1, "AppQueue", "(Outgoing Line)")
            if near.tech == PJSIP:
                self.set_connected(near, leg.caller.cid_num, leg.caller.cid_name)
        leg.ringing.fire()

    def leg_answer(self, leg: Leg) -> None:
        """The far end answers: both Local halves (or the PJSIP channel) go Up."""
        if leg.far is not None:
            self.set_state(leg.far, UP)
        self.set_state(leg.near, UP)
        leg.answered.fire()

    # ------------------------------------------------------------------ bridges

    def bridge_create(self) -> Bridge:
        bridge = Bridge(str(uuid.uuid4()))
        self.bridges[bridge.uid] = bridge
        self.emit(ev.bridge_event("BridgeCreate", bridge.uid, 0))
        return bridge

    def bridge_enter(self, bridge: Bridge, chan: Channel) -> None:
        if chan.dead:
            return
        bridge.channels.append(chan)
        chan.bridge = bridge
        self.emit(ev.bridge_event("BridgeEnter", bridge.uid, len(bridge.channels), chan))

    def bridge_leave(self, bridge: Bridge, chan: Channel) -> None:
        if chan not in bridge.channels:
            return
        bridge.channels.remove(chan)
        chan.bridge = None
        self.emit(ev.bridge_event("BridgeLeave", bridge.uid, len(bridge.channels), chan))

    def bridge_destroy(self, bridge: Bridge) -> None:
        if self.bridges.pop(bridge.uid, None) is None:
            return
        for chan in list(bridge.channels):
            self.bridge_leave(bridge, chan)
        self.emit(ev.bridge_event("BridgeDestroy", bridge.uid, 0))

    # ------------------------------------------------------------------ device states

    def device_state(self, interface: str) -> int:
        """Asterisk device state of an interface, from the live channels on it."""
        if interface.startswith("PJSIP/") and not self._known_endpoint(interface[6:]):
            return INVALID
        states = [c.state for c in self.channels.live.values() if c.interface == interface and not c.dead]
        if not states:
            return NOT_INUSE
        if interface.startswith("Local/"):
            # Local channels cannot report ringing: any channel means "in use".
            return INUSE
        up = any(s in (UP, BUSY) for s in states)
        ringing = any(s == RINGING for s in states)
        if up and ringing:
            return RINGINUSE
        if ringing:
            return DEV_RINGING
        if up or any(s == RING for s in states):
            return INUSE
        return NOT_INUSE

    def _device_touch(self, interface: str) -> None:
        state = self.device_state(interface)
        if self._device_cache.get(interface, NOT_INUSE) == state:
            self._device_cache[interface] = state
            return
        self._device_cache[interface] = state
        for listener in self.device_listeners:
            listener(interface, state)
