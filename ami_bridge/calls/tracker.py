"""The call tracker: a pure reducer from AMI events to calls.

``CallTracker().feed(event, t)`` takes one AMI event (a plain dict as the parser
returns it) and the time it arrived, and returns the updates it caused
(``CallStarted``, ``AgentRinging``, ``CallAnswered``, ``CallBridged``,
``CallEnded``). No sockets, no asyncio, no clock of its own: time only moves
when the caller says so, which is what makes replays exact.

How a call is understood, independently of the channel technology:

* A call is a Linkedid. Every channel carries the Uniqueid of the first channel
  of its call, queue member channels included.
* Every channel gets a role: ``client`` (the customer's side) or ``agent``. Roles
  come from what a channel is (a queue member -> agent; the channel an Originate
  rang first -> agent for click-to-call, client for predictive; the first channel
  of a call nobody originated -> client unless it is a known agent phone) and
  spread along Local channel pairs (both halves play the same party) and along
  Dials: the destination of a Dial is the other party, except when the dialler is
  the ``;2`` half of a Local pair, which only forwards the call it was given.
* The client is "answered" while a bridge holds a client channel and an agent
  channel; talk time is the sum of those intervals, truncated to whole seconds
  like Asterisk's own TalkTime. Without a clock (raw captures) it falls back to
  what Asterisk reported: AgentComplete TalkTime, else ANSWEREDTIME_MS (for a
  Dial that is the dialling channel's up time: an upper bound).
* Originate outcomes: the OriginateResponse is matched by ActionID (to a call by
  its Uniqueid on success; on failure by the dialled ``tech/resource``, because a
  failed response has ``Uniqueid: <unknown>`` and may even arrive before the
  channels' own events). ``originate_sent`` lets the bridge announce an Originate
  before any event arrives; without it the tracker works from events alone.
"""

from __future__ import annotations

import heapq
import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from itertools import count
from typing import Any

from .channel_names import (
    clean_caller,
    dial_target,
    extension_of,
    interface_of,
    local_partner_name,
    looks_like_number,
    normalise_target,
    parse_caller_id,
)
from .model import (
    AgentRinging,
    CallAnswered,
    CallBridged,
    CallEnded,
    CallStarted,
    Direction,
    FinishedCall,
    Outcome,
    TrackerUpdate,
)
from .originate_reasons import outcome_for_reason, parse_reason
from .outcomes import call_outcome, hangup_cause
from .state import (
    AGENT,
    CLIENT,
    K_AGENT_DIALS,
    K_AGENT_FIRST,
    K_CLIENT_FIRST,
    K_INBOUND,
    K_INJECTED,
    K_ORIGINATED,
    K_UNKNOWN,
    OUTBOUND_KINDS,
    Bridge,
    CallState,
    Channel,
    OriginateRecord,
)

log = logging.getLogger(__name__)

Event = Mapping[str, Any]

_NO_CLOCK = float("inf")
_DONE_ACTIONS_KEPT = 4096


ORIGINATE_GRACE_SECONDS = 5.0
"""How long a finished originated call waits for its OriginateResponse (and a failed
response for its channels) before it is closed with what is known."""
ORIGINATE_GRACE_EVENTS = 500
"""The same grace, counted in events, when the source has no clock (raw captures)."""
ORIGINATE_RESPONSE_MARGIN = 30.0
"""Extra seconds after an Originate's own Timeout before an unanswered one is given up."""

def _text(value: Any) -> bool:
    """A usable identifier: a non-empty string (junk of other types is refused)."""
    return isinstance(value, str) and value != ""


def _int(value: Any) -> int | None:
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
    return None


class CallTracker:
    """Pure reducer: AMI events (plain dicts) + their times in, call updates out.

    ``agent_interfaces`` (e.g. ``["PJSIP/201"]``) names phones that belong to
    agents, so a call one of them dials out is outbound; queue members seen in
    events are learned on the way.
    """

    def __init__(self, agent_interfaces: Iterable[str] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        self._by_name: dict[str, Channel] = {}
        self._calls: dict[str, CallState] = {}
        self._bridges: dict[str, Bridge] = {}
        self._originates: dict[str, OriginateRecord] = {}
        self._unbound: dict[str, deque[OriginateRecord]] = {}
        self._awaiting: dict[str, list[CallState]] = {}
        self._early: dict[str, OriginateRecord] = {}
        self._timers: list[tuple[float, int, int, object]] = []
        self._timer_ids = count()
        self._agent_ifaces: set[str] = {normalise_target(i) for i in agent_interfaces}
        self._done_actions: dict[str, None] = {}
        self._finished_ids: dict[str, None] = {}
        self._stale: set[str] = set()
        self._link_down_at: float | None = None
        self._link_lost = False
        self._seq = 0
        self._handlers: dict[str, Callable[[Event, float | None, list[TrackerUpdate]], None]] = {
            "Newchannel": self._on_newchannel,
            "LocalBridge": self._on_local_bridge,
            "NewCallerid": self._on_new_callerid,
            "DialBegin": self._on_dial_begin,
            "DialEnd": self._on_dial_end,
            "Dial": self._on_dial_v1,
            "OriginateResponse": self._on_originate_response,
            "BridgeEnter": self._on_bridge_enter,
            "BridgeLeave": self._on_bridge_leave,
            "Bridge": self._on_bridge_v1,
            "Hangup": self._on_hangup,
            "QueueCallerJoin": self._on_queue_join,
            "Join": self._on_queue_join,
            "QueueCallerAbandon": self._on_queue_abandon,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_agent_ring_end,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "VarSet": self._on_varset,
            "UserEvent": self._on_user_event,
            "QueueMemberStatus": self._on_queue_member,
            "QueueMemberAdded": self._on_queue_member,
            "QueueMember": self._on_queue_member,
        }

    # ------------------------------------------------------------------ public API

    def feed(self, event: Event, t: float | None = None) -> list[TrackerUpdate]:
        """Apply one AMI event received at ``t`` (seconds; None if the source has no clock)."""
        out: list[TrackerUpdate] = []
        try:
            handler = self._handlers.get(event.get("Event"))  # type: ignore[arg-type]
        except (AttributeError, TypeError):
            log.warning("ami.tracker.malformed_event event=%r", _event_name(event))
            return out
        try:
            if handler is not None:
                self._seq += 1
                if self._stale:
                    self._stale.discard(event.get("Uniqueid"))  # type: ignore[arg-type]
                handler(event, t, out)
            if self._timers:
                self._run_timers(t, out)
        except Exception:  # one bad event must never stop call tracking
            log.warning("ami.tracker.event_skipped event=%r", _event_name(event), exc_info=True)
        return out

    def originate_sent(
        self,
        action: Mapping[str, Any],
        t: float | None = None,
        *,
        agent: str | None = None,
        number: str | None = None,
    ) -> list[TrackerUpdate]:
        """Tell the tracker about an Originate the bridge just sent (before its events).

        ``agent``/``number`` are optional hints from the caller (click-to-call knows
        both); without them the Originate is read as: a phone-number ``Exten`` means
        ``Channel`` is the agent (click-to-call), anything else means ``Channel``
        is the client (predictive).
        """
        out: list[TrackerUpdate] = []
        try:
            action_id = action.get("ActionID")
            channel = action.get("Channel")
            if not isinstance(action_id, str) or not action_id or not isinstance(channel, str):
                log.warning("ami.tracker.originate_unusable action_id=%r", action_id)
                return out
            if action_id in self._originates:
                log.debug("ami.tracker.originate_duplicate action_id=%s", action_id)
                return out
            rec = OriginateRecord(action_id, normalise_target(channel))
            exten = action.get("Exten")
            rec.exten = exten if isinstance(exten, str) else None
            application = action.get("Application")
            rec.application = application if isinstance(application, str) and application else None
            caller_id = action.get("CallerID")
            rec.cid_name, rec.cid_num = parse_caller_id(caller_id if isinstance(caller_id, str) else None)
            rec.agent_hint = agent
            rec.number_hint = number
            rec.sent_at = t
            self._originates[action_id] = rec
            self._unbound.setdefault(rec.target, deque()).append(rec)
            if t is not None:
                timeout_ms = _int(action.get("Timeout")) or 30000
                self._add_timer(t + timeout_ms / 1000.0 + ORIGINATE_RESPONSE_MARGIN, rec)
        except Exception:
            log.warning("ami.tracker.originate_skipped", exc_info=True)
        return out

    def connection_lost(self, t: float | None = None) -> list[TrackerUpdate]:
        """The AMI link dropped: every live channel is unconfirmed until ``resync``."""
        self._link_down_at = t
        self._link_lost = True
        self._stale = {uid for uid, ch in self._channels.items() if ch.alive}
        log.info("ami.tracker.connection_lost live_channels=%d", len(self._stale))
        return []

    def resync(self, channels: Iterable[Mapping[str, Any]], t: float | None = None) -> list[TrackerUpdate]:
        """Reconcile with a CoreShowChannels (or Status) listing taken after reconnecting.

        Channels known before the drop and missing from the listing ended while the
        link was down: their calls are closed with what is known (``end_observed``
        False, ended at the time the link dropped). Listed channels never seen are
        adopted, so later events can finish their calls. Calling it twice (with the
        CoreShowChannel and then the Status items) is harmless.
        """
        out: list[TrackerUpdate] = []
        try:
            self._resync(channels, t, out)
        except Exception:
            log.warning("ami.tracker.resync_failed", exc_info=True)
        return out

    def tick(self, t: float) -> list[TrackerUpdate]:
        """Let time pass without an event (a quiet link): close what waited too long."""
        out: list[TrackerUpdate] = []
        try:
            if self._timers:
                self._run_timers(t, out)
        except Exception:
            log.warning("ami.tracker.tick_failed", exc_info=True)
        return out

    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do (None: nothing timed is pending)."""
        if not self._timers or self._timers[0][0] == _NO_CLOCK:
            return None
        return self._timers[0][0]

    def drain(self, t: float | None = None) -> list[TrackerUpdate]:
        """End of input (a replay is over): close what only waited for a late response."""
        out: list[TrackerUpdate] = []
        try:
            for _, _, _, obj in sorted(self._timers, key=lambda item: (item[1], item[2])):
                self._expire(obj, t, out)
            self._timers.clear()
        except Exception:
            log.warning("ami.tracker.drain_failed", exc_info=True)
        return out

    def ringing_channel(self, action_id: str) -> str | None:
        """The channel an Originate rings now (the party it dials); None once answered or ended, or before it is seen."""
        rec = self._originates.get(action_id)
        if rec is None or rec.responded or rec.call is None:
            return None
        channel = rec.call.originated_ch
        return channel.name if channel is not None and channel.alive else None

    @property
    def live_calls(self) -> int:
        """Calls not yet finished (for metrics and tests)."""
        return len(self._calls)

    # ------------------------------------------------------------------ channels

    def _on_newchannel(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        uid = ev.get("Uniqueid")
        name = ev.get("Channel")
        linkedid = ev.get("Linkedid") or uid
        if not _text(uid) or not _text(name) or not _text(linkedid):
            log.debug("ami.tracker.newchannel_incomplete channel=%r", name)
            return
        if uid in self._channels:
            return
        if self._is_finished(linkedid):
            return
        ch = self._add_channel(uid, name, linkedid, t, out)
        ch.cid_num = clean_caller(ev.get("CallerIDNum"))
        ch.cid_name = clean_caller(ev.get("CallerIDName"))
        ch.exten = ev.get("Exten") or None
        if self._early:
            rec = self._early.pop(uid, None)
            if rec is not None:
                ch.originated = True
                ch.call.originated_ch = ch.call.originated_ch or ch
                self._bind(rec, ch.call, t, out)

    def _add_channel(self, uid: str, name: str, linkedid: str, t: float | None, out: list[TrackerUpdate]) -> Channel:
        call = self._calls.get(linkedid)
        if call is None:
            call = CallState(linkedid, t)
            self._calls[linkedid] = call
        ch = Channel(uid, name, call)
        self._channels[uid] = ch
        self._by_name[name] = ch
        call.channels.append(ch)
        call.live += 1
        if call.first is None or uid == linkedid:
            call.first = ch
        if ch.half is not None:
            partner_name = local_partner_name(name)
            partner = self._by_name.get(partner_name) if partner_name else None
            if partner is not None and partner.partner is None:
                self._pair(ch, partner, t, out)
        return ch

    def _pair(self, one: Channel, two: Channel, t: float | None, out: list[TrackerUpdate]) -> None:
        one.partner = two
        two.partner = one
        if one.call is not two.call:
            # AMI v1 has no Linkedid: the halves start as separate calls.
            self._merge(two.call, one.call)
        if one.role and not two.role:
            self._spread(one, out, t)
        elif two.role and not one.role:
            self._spread(two, out, t)

    def _on_local_bridge(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        one = self._channels.get(ev.get("LocalOneUniqueid"))  # type: ignore[arg-type]
        two = self._channels.get(ev.get("LocalTwoUniqueid"))  # type: ignore[arg-type]
        if one is None or two is None:
            return
        if one.partner is not two:
            self._pair(one, two, t, out)

    def _on_new_callerid(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is None:
            return
        num = clean_caller(ev.get("CallerIDNum"))
        if num is not None:
            ch.cid_num = num
        name = clean_caller(ev.get("CallerIDName"))
        if name is not None:
            ch.cid_name = name

    def _dest_channel(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> Channel | None:
        uid = ev.get("DestUniqueid")
        ch = self._channels.get(uid)  # type: ignore[arg-type]
        if ch is not None:
            return ch
        name = ev.get("DestChannel")
        linkedid = ev.get("DestLinkedid")
        if _text(uid) and _text(name) and _text(linkedid) and not self._is_finished(linkedid):
            # Its Newchannel was lost or came late: the Dest* fields describe it fully.
            ch = self._add_channel(uid, name, linkedid, t, out)
            ch.cid_num = clean_caller(ev.get("DestCallerIDNum"))
            ch.cid_name = clean_caller(ev.get("DestCallerIDName"))
            return ch
        log.debug("ami.tracker.unknown_channel event=%s channel=%r", ev.get("Event"), name)
        return None

    # ------------------------------------------------------------------ dials

    def _on_dial_begin(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        dest = self._dest_channel(ev, t, out)
        if dest is None:
            return
        dest.ringing = True
        dest.dial_status = None
        caller_uid = ev.get("Uniqueid")
        if not caller_uid:
            self._originated_dial(dest, ev, t, out)
            return
        caller = self._channels.get(caller_uid)  # type: ignore[arg-type]
        if caller is None:
            log.debug("ami.tracker.unknown_channel event=DialBegin uniqueid=%s", caller_uid)
            return
        self._link_dial(caller, dest, ev, t, out)

    def _link_dial(self, caller: Channel, dest: Channel, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        if dest.dialled_by is None:
            dest.dialled_by = caller
            caller.dials.append(dest)
        call = caller.call
        if call.client_dial_number is None:
            placer = call.originated_ch if call.originated_ch is not None else call.first
            if caller is placer:
                # What the first leg dials is the client (click-to-call, an agent dialling out).
                call.client_dial_number = _number_from_dial(ev)
        if call.kind in (K_UNKNOWN, K_ORIGINATED):
            if call.originated_ch is not None:
                if caller is call.originated_ch:
                    # The originated channel itself dials onward: it rang the agent first.
                    self._classify(call, K_AGENT_FIRST, t, out)
            else:
                self._classify_unoriginated(call, t, out)
        if caller.role:
            self._spread(caller, out, t)
        elif dest.role:
            self._spread(dest, out, t)
        if dest.role == AGENT:
            self._announce(dest, t, out)

    def _originated_dial(self, dest: Channel, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        """A Dial with no calling channel: the Originate ringing its ``Channel``."""
        dest.originated = True
        call = dest.call
        if call.originated_ch is None:
            call.originated_ch = dest
        target = dial_target(dest.name, ev.get("DialString") or "")
        if call.originated_target is None:
            call.originated_target = target
        if call.originate is None:
            queue = self._unbound.get(target)
            if queue:
                self._bind(queue.popleft(), call, t, out)
                if not queue:
                    del self._unbound[target]
            elif call.awaiting is None:
                call.awaiting = target
                self._awaiting.setdefault(target, []).append(call)
        if dest.role == AGENT:
            self._announce(dest, t, out)

    def _on_dial_end(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        dest = self._channels.get(ev.get("DestUniqueid"))  # type: ignore[arg-type]
        if dest is None:
            return
        status = ev.get("DialStatus")
        self._ring_ended(dest)
        if isinstance(status, str) and status:
            dest.dial_status = status

    def _on_dial_v1(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        """AMI v1 (Asterisk 1.8/11) ``Dial`` with ``SubEvent: Begin|End``."""
        sub = ev.get("SubEvent")
        caller = self._channels.get(ev.get("UniqueID") or ev.get("Uniqueid"))  # type: ignore[arg-type]
        if sub == "Begin":
            dest = self._channels.get(ev.get("DestUniqueID") or ev.get("DestUniqueid"))  # type: ignore[arg-type]
            if dest is None:
                return
            dest.ringing = True
            if caller is None:
                self._originated_dial(dest, {"DialString": ev.get("Dialstring") or ""}, t, out)
                return
            if dest.call is not caller.call:
                self._merge(dest.call, caller.call)
            self._link_dial(caller, dest, {"DialString": ev.get("Dialstring") or ""}, t, out)
        elif sub == "End" and caller is not None:
            status = ev.get("DialStatus")
            for dest in caller.dials:
                if dest.ringing:
                    self._ring_ended(dest)
                    if isinstance(status, str) and status:
                        dest.dial_status = status

    def _merge(self, src: CallState, dst: CallState) -> None:
        """AMI v1 has no Linkedid: a dialled channel's own call joins its caller's."""
        if src.finished or dst.finished or src.started:
            return
        for ch in src.channels:
            ch.call = dst
            dst.channels.append(ch)
        dst.live += src.live
        if self._calls.get(src.call_id) is src:
            del self._calls[src.call_id]

    def _ring_ended(self, ch: Channel) -> None:
        if ch.ringing:
            ch.ringing = False
            if ch.ring_ext is not None:
                ch.call.ringing_exts.discard(ch.ring_ext)
                ch.ring_ext = None

    # ------------------------------------------------------------------ roles

    def _set_role(self, ch: Channel, role: int, strong: bool, t: float | None, out: list[TrackerUpdate]) -> None:
        if ch.role == role:
            ch.strong = ch.strong or strong
            return
        if ch.role and ch.strong and not strong:
            return
        ch.role = role
        ch.strong = strong
        self._spread(ch, out, t)

    def _spread(self, start: Channel, out: list[TrackerUpdate], t: float | None = None) -> None:
        """Give roles to unassigned channels connected to ``start`` (Local pairs, Dials)."""
        stack = [start]
        changed: list[Channel] = []
        while stack:
            ch = stack.pop()
            changed.append(ch)
            role = ch.role
            other = AGENT if role == CLIENT else CLIENT
            partner = ch.partner
            if partner is not None and not partner.role:
                partner.role = role
                stack.append(partner)
            forwards = ch.forwarding and ch.half == "2"
            for dest in ch.dials:
                if not dest.role:
                    dest.role = role if forwards else other
                    stack.append(dest)
            parent = ch.dialled_by
            if parent is not None and not parent.role:
                parent_forwards = parent.forwarding and parent.half == "2"
                parent.role = role if parent_forwards else other
                stack.append(parent)
        for ch in changed:
            if ch.role == AGENT and ch.ringing:
                self._announce(ch, t, out)
            if ch.bridge is not None:
                self._evaluate_bridge(ch.bridge, t, out)

    # ------------------------------------------------------------------ classification

    def _classify_unoriginated(self, call: CallState, t: float | None, out: list[TrackerUpdate]) -> None:
        first = call.first
        if first is not None and normalise_target(interface_of(first.name)) in self._agent_ifaces:
            self._classify(call, K_AGENT_DIALS, t, out)
        else:
            self._classify(call, K_INBOUND, t, out)

    def _ensure_classified(self, call: CallState, t: float | None, out: list[TrackerUpdate]) -> None:
        if call.kind != K_UNKNOWN:
            return
        if call.originate is not None:
            self._classify(call, call.originate.kind(), t, out)
        elif call.originated_ch is not None:
            self._classify(call, K_ORIGINATED, t, out)
        else:
            self._classify_unoriginated(call, t, out)

    def _classify(self, call: CallState, kind: int, t: float | None, out: list[TrackerUpdate]) -> None:
        call.kind = kind
        call.direction = Direction.OUTBOUND if kind in OUTBOUND_KINDS else Direction.INBOUND
        # Identity before roles: giving roles can pop a screen, which must name the client.
        self._fill_identity(call)
        if not call.started:
            call.started = True
            out.append(
                CallStarted(
                    call_id=call.call_id,
                    direction=call.direction,
                    number=call.number,
                    caller_name=call.caller_name,
                    did=call.did,
                    action_id=call.originate.action_id if call.originate else None,
                    t=call.started_at,
                )
            )
        oc = call.originated_ch
        if kind == K_AGENT_FIRST and oc is not None:
            self._set_role(oc, AGENT, True, t, out)
        elif kind in (K_CLIENT_FIRST, K_INJECTED) and oc is not None:
            if kind == K_INJECTED and oc.partner is not None:
                # The ;2 half is the simulated caller entering our dialplan, not a forwarder.
                oc.partner.forwarding = False
            self._set_role(oc, CLIENT, True, t, out)
        elif kind == K_INBOUND and call.first is not None:
            self._set_role(call.first, CLIENT, True, t, out)
        elif kind == K_AGENT_DIALS and call.first is not None:
            self._set_role(call.first, AGENT, True, t, out)

    def _fill_identity(self, call: CallState) -> None:
        rec = call.originate
        kind = call.kind
        oc = call.originated_ch
        number = name = did = None
        if kind == K_AGENT_FIRST:
            if rec is not None:
                number = rec.number_hint or (rec.exten if looks_like_number(rec.exten) else None)
                name = rec.cid_name
            number = number or call.client_dial_number
        elif kind in (K_CLIENT_FIRST, K_ORIGINATED):
            target = rec.target if rec is not None else call.originated_target
            if rec is not None:
                number = rec.number_hint
                name = rec.cid_name
            number = number or extension_of(target) or (rec.cid_num if rec else None)
            if name is None and oc is not None:
                name = oc.cid_name
        elif kind == K_INJECTED:
            if rec is not None:
                number, name = rec.cid_num, rec.cid_name
                did = extension_of(rec.target)
            if oc is not None:
                number = number or oc.cid_num
                name = name or oc.cid_name
                did = did or oc.exten
        elif kind == K_INBOUND:
            first = call.first
            if first is not None:
                number, name, did = first.cid_num, first.cid_name, first.exten
        elif kind == K_AGENT_DIALS:
            number = call.client_dial_number
            if number is None and call.first is not None:
                number = call.first.exten
        if name is None and kind in (K_AGENT_FIRST, K_AGENT_DIALS):
            # No Originate CallerID to go by: the name the dialled client leg carries.
            for ch in call.channels:
                if ch.role == CLIENT and ch.dialled_by is not None and ch.cid_name:
                    name = ch.cid_name
                    break
        call.number = number or call.number
        call.caller_name = name or call.caller_name
        call.did = did or call.did

    # ------------------------------------------------------------------ originates

    def _on_originate_response(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        action_id = ev.get("ActionID")
        if not isinstance(action_id, str) or not action_id:
            log.debug("ami.tracker.originate_response_without_action_id")
            return
        rec = self._originates.get(action_id)
        channel = ev.get("Channel") or ""
        success = ev.get("Response") == "Success"
        if rec is None and action_id in self._done_actions:
            log.debug("ami.tracker.late_originate_response action_id=%s", action_id)
            return
        if rec is None:
            target = normalise_target(interface_of(channel) if success else channel)
            rec = OriginateRecord(action_id, target)
            exten = ev.get("Exten")
            rec.exten = exten if isinstance(exten, str) else None
            application = ev.get("Application")
            rec.application = application if isinstance(application, str) and application else None
            self._originates[action_id] = rec
        elif rec.responded:
            return
        rec.cid_num = rec.cid_num or clean_caller(ev.get("CallerIDNum"))
        rec.cid_name = rec.cid_name or clean_caller(ev.get("CallerIDName"))
        rec.responded = True
        rec.success = success
        rec.reason = parse_reason(ev.get("Reason"))
        rec.t_response = t
        if rec.done:
            return
        uid = ev.get("Uniqueid")
        if success:
            ch = self._channels.get(uid)  # type: ignore[arg-type]
            if ch is None:
                if isinstance(uid, str) and uid and uid != "<unknown>":
                    self._forget_unbound(rec)
                    self._early[uid] = rec
                return
            ch.originated = True
            call = ch.call
            if call.originated_ch is None:
                call.originated_ch = ch
            if rec.call is not call:
                self._rebind(rec, call, t, out)
            else:
                self._after_response(call, t, out)
            return
        if rec.call is not None:
            self._after_response(rec.call, t, out)
            return
        waiting = self._awaiting.get(rec.target)
        if waiting:
            call = waiting[0]
            self._forget_unbound(rec)
            self._bind(rec, call, t, out)
            return
        # Failed before its channels showed up (or with none at all): wait for them a little.
        queue = self._unbound.setdefault(rec.target, deque())
        if rec not in queue:
            queue.append(rec)
        self._add_timer(None if t is None else t + ORIGINATE_GRACE_SECONDS, rec)

    def _rebind(self, rec: OriginateRecord, call: CallState, t: float | None, out: list[TrackerUpdate]) -> None:
        """A success response names the call exactly; undo a FIFO guess that disagreed."""
        if rec.call is not None:
            wrong = rec.call
            wrong.originate = None
            rec.call = None
            if wrong.originated_target and not wrong.finished:
                wrong.awaiting = wrong.originated_target
                self._awaiting.setdefault(wrong.originated_target, []).append(wrong)
        other = call.originate
        if other is not None and other is not rec:
            other.call = None
            call.originate = None
            self._unbound.setdefault(other.target, deque()).appendleft(other)
        self._forget_unbound(rec)
        self._bind(rec, call, t, out)

    def _forget_unbound(self, rec: OriginateRecord) -> None:
        queue = self._unbound.get(rec.target)
        if queue and rec in queue:
            queue.remove(rec)
            if not queue:
                del self._unbound[rec.target]

    def _bind(self, rec: OriginateRecord, call: CallState, t: float | None, out: list[TrackerUpdate]) -> None:
        rec.call = call
        call.originate = rec
        if call.awaiting is not None:
            waiting = self._awaiting.get(call.awaiting)
            if waiting is not None:
                if call in waiting:
                    waiting.remove(call)
                if not waiting:
                    del self._awaiting[call.awaiting]
            call.awaiting = None
        if call.kind in (K_UNKNOWN, K_ORIGINATED):
            self._classify(call, rec.kind(), t, out)
        else:
            self._fill_identity(call)
        self._after_response(call, t, out)

    def _after_response(self, call: CallState, t: float | None, out: list[TrackerUpdate]) -> None:
        if call.deferred and call.originate is not None and call.originate.responded:
            self._finish(call, call.ended_at, out)

    # ------------------------------------------------------------------ bridges

    def _on_bridge_enter(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        bid = ev.get("BridgeUniqueid")
        if ch is None or not bid:
            return
        self._enter_bridge(ch, bid, t, out)

    def _enter_bridge(self, ch: Channel, bid: str, t: float | None, out: list[TrackerUpdate]) -> None:
        if ch.bridge is not None:
            if ch.bridge.bid == bid:
                return
            self._leave_bridge(ch, t, out)
        bridge = self._bridges.get(bid)
        if bridge is None:
            bridge = Bridge(bid)
            self._bridges[bid] = bridge
        bridge.members.append(ch)
        ch.bridge = bridge
        self._ring_ended(ch)
        if ch.call.kind == K_UNKNOWN:
            self._ensure_classified(ch.call, t, out)
        self._evaluate_bridge(bridge, t, out)

    def _on_bridge_leave(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is None or ch.bridge is None or ch.bridge.bid != ev.get("BridgeUniqueid"):
            return
        self._leave_bridge(ch, t, out)

    def _leave_bridge(self, ch: Channel, t: float | None, out: list[TrackerUpdate]) -> None:
        bridge = ch.bridge
        if bridge is None:
            return
        ch.bridge = None
        if ch in bridge.members:
            bridge.members.remove(ch)
        self._evaluate_bridge(bridge, t, out)
        if not bridge.members:
            self._bridges.pop(bridge.bid, None)

    def _on_bridge_v1(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        """AMI v1 ``Bridge`` (``Bridgestate: Link|Unlink``) between two channels."""
        one = self._channels.get(ev.get("Uniqueid1"))  # type: ignore[arg-type]
        two = self._channels.get(ev.get("Uniqueid2"))  # type: ignore[arg-type]
        if one is None or two is None:
            return
        bid = f"v1:{one.uid}:{two.uid}"
        if ev.get("Bridgestate") == "Unlink":
            for ch in (one, two):
                if ch.bridge is not None and ch.bridge.bid == bid:
                    self._leave_bridge(ch, t, out)
        else:
            self._enter_bridge(one, bid, t, out)
            self._enter_bridge(two, bid, t, out)

    def _evaluate_bridge(self, bridge: Bridge, t: float | None, out: list[TrackerUpdate]) -> None:
        client_call: CallState | None = None
        agent: Channel | None = None
        for member in bridge.members:
            if member.role == CLIENT and client_call is None:
                client_call = member.call
            elif member.role == AGENT and (agent is None or (member.half is None and agent.half is not None)):
                # A real phone says more about the agent than a Local proxy does.
                agent = member
        now = client_call if agent is not None else None
        before = bridge.connected_call
        if now is before:
            return
        bridge.connected_call = now
        if before is not None:
            self._disconnect(before, t)
        if now is not None and agent is not None:
            self._connect(now, bridge, agent, t, out)

    def _connect(self, call: CallState, bridge: Bridge, agent: Channel, t: float | None, out: list[TrackerUpdate]) -> None:
        call.connected_bridges += 1
        if call.connected_bridges == 1:
            call.connected_since = t
        call.agent_ch = agent
        self._ensure_classified(call, t, out)
        agent_iface = self._agent_interface(call)
        agent_ext = extension_of(agent_iface)
        if not call.ever_connected:
            call.ever_connected = True
            call.answered_at = t
            out.append(
                CallAnswered(
                    call_id=call.call_id,
                    agent=agent_ext,
                    agent_channel=agent_iface,
                    number=call.number,
                    direction=call.direction,
                    queue=call.queue,
                    action_id=call.originate.action_id if call.originate else None,
                    t=t,
                )
            )
        out.append(CallBridged(call_id=call.call_id, bridge_id=bridge.bid, agent=agent_ext, agent_channel=agent_iface, t=t))

    def _disconnect(self, call: CallState, t: float | None) -> None:
        if call.connected_bridges <= 0:
            return
        call.connected_bridges -= 1
        if call.connected_bridges == 0:
            since = call.connected_since
            if since is not None and t is not None:
                call.talk_total += max(0.0, t - since)
                if call.talk_clock is None:
                    call.talk_clock = True
            else:
                call.talk_clock = False
            call.connected_since = None

    def _agent_interface(self, call: CallState) -> str | None:
        if call.agent_iface:
            return call.agent_iface
        if call.kind == K_AGENT_FIRST:
            rec = call.originate
            if rec is not None and rec.agent_hint:
                return rec.agent_hint
            if rec is not None:
                return _display_interface(rec.target)
            if call.originated_ch is not None:
                return interface_of(call.originated_ch.name)
        if call.agent_ch is not None:
            return interface_of(call.agent_ch.name)
        if call.kind == K_AGENT_DIALS and call.first is not None:
            return interface_of(call.first.name)
        return None

    # ------------------------------------------------------------------ queues

    def _on_queue_join(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is None:
            log.debug("ami.tracker.unknown_channel event=QueueCallerJoin uniqueid=%r", ev.get("Uniqueid"))
            return
        call = ch.call
        call.queue_joined = True
        queue = ev.get("Queue")
        if isinstance(queue, str) and queue:
            call.queue = queue
        oc = call.originated_ch
        rec = call.originate
        if oc is not None and ch is oc and (call.kind in (K_UNKNOWN, K_ORIGINATED) or (call.kind == K_AGENT_FIRST and not (rec and rec.agent_hint))):
            # The originated channel itself waits for an agent: it rang the client.
            if call.kind == K_AGENT_FIRST:
                log.info("ami.tracker.reclassified call_id=%s kind=client_first", call.call_id)
            self._classify(call, K_CLIENT_FIRST, t, out)
        elif oc is not None and ch is oc.partner and call.kind in (K_UNKNOWN, K_ORIGINATED):
            self._classify(call, K_INJECTED, t, out)
        else:
            self._ensure_classified(call, t, out)
        self._set_role(ch, CLIENT, True, t, out)

    def _on_queue_abandon(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is not None:
            ch.call.abandoned = True

    def _on_agent_called(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        dest = self._dest_channel(ev, t, out)
        if dest is None:
            return
        interface = ev.get("Interface")
        if isinstance(interface, str) and interface:
            self._agent_ifaces.add(normalise_target(interface))
        else:
            interface = None
        call = dest.call
        queue = ev.get("Queue")
        if isinstance(queue, str) and queue and call.queue is None:
            call.queue = queue
        self._ensure_classified(call, t, out)
        # Role first, ringing after: the pop below then names the queue's interface.
        ringing, dest.ringing = dest.ringing, False
        if dest.role != AGENT:
            dest.role = 0
            self._set_role(dest, AGENT, True, t, out)
        dest.strong = True
        dest.ringing = True
        if ringing and dest.ring_ext is not None:
            return
        self._announce(dest, t, out, interface)

    def _on_agent_ring_end(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        dest = self._channels.get(ev.get("DestUniqueid"))  # type: ignore[arg-type]
        if dest is not None:
            self._ring_ended(dest)

    def _on_agent_connect(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is None:
            return
        call = ch.call
        interface = ev.get("Interface")
        if isinstance(interface, str) and interface:
            call.agent_iface = interface
        dest = self._channels.get(ev.get("DestUniqueid"))  # type: ignore[arg-type]
        if dest is not None:
            self._ring_ended(dest)
        if not call.ever_connected:
            # Usually BridgeEnter follows at once; this keeps the answer even when
            # bridge events are filtered out of the AMI user.
            self._ensure_classified(call, t, out)
            call.ever_connected = True
            call.answered_at = t
            agent_iface = self._agent_interface(call)
            out.append(
                CallAnswered(
                    call_id=call.call_id,
                    agent=extension_of(agent_iface),
                    agent_channel=agent_iface,
                    number=call.number,
                    direction=call.direction,
                    queue=call.queue,
                    action_id=call.originate.action_id if call.originate else None,
                    t=t,
                )
            )

    def _on_agent_complete(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is None:
            return
        talk = _int(ev.get("TalkTime"))
        if talk is not None:
            ch.call.talk_reported = talk
        interface = ev.get("Interface")
        if isinstance(interface, str) and interface and not ch.call.agent_iface:
            ch.call.agent_iface = interface
        # Bridge events may be filtered out on some systems; the queue still says it was answered.
        if not ch.call.ever_connected:
            ch.call.ever_connected = True

    def _on_queue_member(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        for key in ("Interface", "StateInterface", "Location"):
            value = ev.get(key)
            if isinstance(value, str) and value:
                self._agent_ifaces.add(normalise_target(value))

    def _on_varset(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        if ev.get("Variable") != "ANSWEREDTIME_MS":
            return
        value = _int(ev.get("Value"))
        if value is None:
            return
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is not None and ch.call.ever_connected:
            ch.call.answered_ms = value

    def _on_user_event(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        # The dialplan's answering-machine detection (extensions.conf [zvonar-campaign]).
        if ev.get("UserEvent") != "ZvonarMachine":
            return
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is not None and not ch.call.ever_connected:
            ch.call.machine = True

    # ------------------------------------------------------------------ ringing (screen pop)

    def _announce(self, ch: Channel, t: float | None, out: list[TrackerUpdate], interface: str | None = None) -> None:
        call = ch.call
        if not ch.ringing or ch.ring_ext is not None:
            return
        if call.kind == K_UNKNOWN:
            self._ensure_classified(call, t, out)
        iface = interface or interface_of(ch.name)
        if call.kind == K_AGENT_FIRST and ch is call.originated_ch:
            iface = self._agent_interface(call) or iface
        ext = extension_of(iface) or iface
        if ext in call.ringing_exts:
            # The same agent rung through a Local proxy and then its phone: one pop is enough.
            ch.ring_ext = ""
            return
        ch.ring_ext = ext
        call.ringing_exts.add(ext)
        out.append(
            AgentRinging(
                call_id=call.call_id,
                agent=extension_of(iface),
                agent_channel=iface,
                channel=ch.name,
                uniqueid=ch.uid,
                number=call.number,
                caller_name=call.caller_name,
                direction=call.direction,
                queue=call.queue,
                action_id=call.originate.action_id if call.originate else None,
                t=t,
            )
        )

    # ------------------------------------------------------------------ hangups and the end of a call

    def _on_hangup(self, ev: Event, t: float | None, out: list[TrackerUpdate]) -> None:
        ch = self._channels.get(ev.get("Uniqueid"))  # type: ignore[arg-type]
        if ch is None:
            log.debug("ami.tracker.unknown_channel event=Hangup uniqueid=%r", ev.get("Uniqueid"))
            return
        if not ch.alive:
            return
        ch.cause = _int(ev.get("Cause"))
        self._channel_gone(ch, t, out, observed=True)

    def _channel_gone(self, ch: Channel, t: float | None, out: list[TrackerUpdate], observed: bool) -> None:
        ch.alive = False
        self._ring_ended(ch)
        if ch.bridge is not None:
            self._leave_bridge(ch, t, out)
        call = ch.call
        call.hangups.append(ch)
        call.live -= 1
        if call.live > 0 or call.finished:
            return
        call.ended_at = t
        rec = call.originate
        waiting_for_response = call.originated_target is not None and (rec is None or not rec.responded)
        if observed and waiting_for_response:
            # The OriginateResponse (with its Reason) usually follows the hangups.
            call.deferred = True
            self._add_timer(None if t is None else t + ORIGINATE_GRACE_SECONDS, call)
            return
        self._finish(call, t, out, end_observed=observed)

    def _finish(self, call: CallState, t: float | None, out: list[TrackerUpdate], end_observed: bool = True) -> None:
        if call.finished:
            return
        call.finished = True
        call.deferred = False
        if call.ended_at is None:
            call.ended_at = t
        while call.connected_bridges > 0:
            self._disconnect(call, call.ended_at)
        self._ensure_classified(call, call.ended_at, out)
        self._fill_identity(call)
        finished = self._finished_call(call, end_observed)
        out.append(CallEnded(finished))
        self._forget_call(call)

    def _finished_call(self, call: CallState, end_observed: bool) -> FinishedCall:
        rec = call.originate
        agent_iface: str | None = None
        if call.ever_connected or call.kind == K_AGENT_FIRST or call.kind == K_AGENT_DIALS:
            agent_iface = self._agent_interface(call)
        talk: int | None = None
        if call.ever_connected:
            if call.talk_clock:
                talk = int(call.talk_total)
            elif call.talk_reported is not None:
                talk = call.talk_reported
            elif call.answered_ms is not None:
                talk = call.answered_ms // 1000
        return FinishedCall(
            call_id=call.call_id,
            action_id=rec.action_id if rec else None,
            direction=call.direction,
            number=call.number,
            caller_name=call.caller_name,
            did=call.did,
            queue=call.queue,
            agent=extension_of(agent_iface),
            agent_channel=agent_iface,
            outcome=call_outcome(call),
            hangup_cause=hangup_cause(call),
            started_at=call.started_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
            talk_seconds=talk,
            uniqueids=tuple(ch.uid for ch in call.channels),
            end_observed=end_observed,
            client_dialled=call.kind != K_AGENT_FIRST or any(ch.role == CLIENT for ch in call.channels),
        )

    def _forget_call(self, call: CallState) -> None:
        for ch in call.channels:
            if self._channels.get(ch.uid) is ch:
                del self._channels[ch.uid]
            if self._by_name.get(ch.name) is ch:
                del self._by_name[ch.name]
            if ch.bridge is not None:
                bridge = ch.bridge
                if ch in bridge.members:
                    bridge.members.remove(ch)
                if not bridge.members:
                    self._bridges.pop(bridge.bid, None)
                ch.bridge = None
            ch.dials = []
            ch.dialled_by = None
            ch.partner = None
        if self._calls.get(call.call_id) is call:
            del self._calls[call.call_id]
        finished_ids = self._finished_ids
        finished_ids[call.call_id] = None
        if len(finished_ids) > _DONE_ACTIONS_KEPT:
            del finished_ids[next(iter(finished_ids))]
        if call.awaiting is not None:
            waiting = self._awaiting.get(call.awaiting)
            if waiting is not None and call in waiting:
                waiting.remove(call)
                if not waiting:
                    del self._awaiting[call.awaiting]
            call.awaiting = None
        rec = call.originate
        if rec is not None:
            self._retire(rec)

    def _is_finished(self, call_id: str) -> bool:
        if call_id in self._finished_ids and call_id not in self._calls:
            # All its channels were gone, so Asterisk cannot add one: we missed events.
            log.debug("ami.tracker.late_channel_of_finished_call call_id=%s", call_id)
            return True
        return False

    def _retire(self, rec: OriginateRecord) -> None:
        rec.done = True
        self._forget_unbound(rec)
        if self._originates.get(rec.action_id) is rec:
            del self._originates[rec.action_id]
        done = self._done_actions
        done[rec.action_id] = None
        if len(done) > _DONE_ACTIONS_KEPT:
            del done[next(iter(done))]

    # ------------------------------------------------------------------ timers

    def _add_timer(self, deadline: float | None, obj: object) -> None:
        key = _NO_CLOCK if deadline is None else deadline
        heapq.heappush(self._timers, (key, self._seq + ORIGINATE_GRACE_EVENTS, next(self._timer_ids), obj))

    def _run_timers(self, t: float | None, out: list[TrackerUpdate]) -> None:
        timers = self._timers
        while timers:
            deadline, deadline_seq, _, obj = timers[0]
            if deadline == _NO_CLOCK:
                # Untimed entries sort after timed ones and among themselves by event count.
                if self._seq < deadline_seq:
                    return
            elif t is None or deadline > t:
                return
            heapq.heappop(timers)
            self._expire(obj, t, out)

    def _expire(self, obj: object, t: float | None, out: list[TrackerUpdate]) -> None:
        if isinstance(obj, CallState):
            if obj.deferred and not obj.finished:
                self._finish(obj, obj.ended_at, out)
            return
        if isinstance(obj, OriginateRecord) and obj.call is None and not obj.done:
            self._finish_without_channels(obj, t, out)

    def _finish_without_channels(self, rec: OriginateRecord, t: float | None, out: list[TrackerUpdate]) -> None:
        """An Originate that never produced a channel we saw: report it on its own."""
        self._retire(rec)
        kind = rec.kind()
        direction = Direction.INBOUND if kind == K_INJECTED else Direction.OUTBOUND
        if not rec.responded:
            outcome = Outcome.FAILED
        elif kind == K_AGENT_FIRST:
            outcome = Outcome.FAILED if not rec.success else Outcome.NO_ANSWER
        else:
            outcome = outcome_for_reason(rec.reason) if not rec.success else Outcome.NO_ANSWER
        if kind == K_AGENT_FIRST:
            number = rec.number_hint or (rec.exten if looks_like_number(rec.exten) else None)
            agent_iface: str | None = rec.agent_hint or _display_interface(rec.target)
        elif kind == K_INJECTED:
            number, agent_iface = rec.cid_num, None
        else:
            number = rec.number_hint or extension_of(rec.target) or rec.cid_num
            agent_iface = None
        ended = rec.t_response if rec.t_response is not None else t
        call_id = rec.action_id
        out.append(
            CallStarted(
                call_id=call_id,
                direction=direction,
                number=number,
                caller_name=rec.cid_name,
                did=extension_of(rec.target) if kind == K_INJECTED else None,
                action_id=rec.action_id,
                t=rec.sent_at if rec.sent_at is not None else ended,
            )
        )
        out.append(
            CallEnded(
                FinishedCall(
                    call_id=call_id,
                    action_id=rec.action_id,
                    direction=direction,
                    number=number,
                    caller_name=rec.cid_name,
                    did=extension_of(rec.target) if kind == K_INJECTED else None,
                    queue=None,
                    agent=extension_of(agent_iface),
                    agent_channel=agent_iface,
                    outcome=outcome,
                    hangup_cause=None,
                    started_at=rec.sent_at if rec.sent_at is not None else ended,
                    answered_at=None,
                    ended_at=ended,
                    talk_seconds=None,
                    uniqueids=(),
                    end_observed=rec.responded,
                    client_dialled=kind != K_AGENT_FIRST,
                )
            )
        )

    # ------------------------------------------------------------------ resync

    def _resync(self, items: Iterable[Mapping[str, Any]], t: float | None, out: list[TrackerUpdate]) -> None:
        listed: dict[str, Mapping[str, Any]] = {}
        for item in items:
            uid = item.get("Uniqueid")
            if isinstance(uid, str) and uid:
                listed[uid] = item
        lost_at = self._link_down_at if self._link_down_at is not None else t
        link_lost = self._link_lost
        if link_lost:
            # A response the old link still owed us will never come on this one.
            for call in [c for c in self._calls.values() if c.deferred]:
                self._finish(call, call.ended_at, out)
        gone = [self._channels[uid] for uid in self._stale if uid not in listed and uid in self._channels]
        self._stale = set()
        for ch in sorted(gone, key=lambda c: c.uid):
            if ch.alive:
                log.info("ami.tracker.channel_gone_while_down channel=%s", ch.name)
                self._channel_gone(ch, lost_at, out, observed=False)
        adopted: dict[str, Channel] = {}
        for uid, item in listed.items():
            if uid not in self._channels:
                ch = self._adopt(uid, item, t, out)
                if ch is not None:
                    adopted[uid] = ch
        for ch in adopted.values():
            self._adopted_dials(ch, listed[ch.uid])
        for call in {id(ch.call): ch.call for ch in adopted.values()}.values():
            self._classify_adopted(call, listed, t, out)
        for uid, item in listed.items():
            ch = self._channels.get(uid)
            if ch is None or not ch.alive:
                continue
            bid = item.get("BridgeId", item.get("BridgeID")) or ""
            current = ch.bridge.bid if ch.bridge is not None else ""
            if bid != current:
                if bid:
                    self._enter_bridge(ch, bid, t, out)
                else:
                    self._leave_bridge(ch, t, out)
        for ch in adopted.values():
            self._adopted_roles(ch, t, out)
        if link_lost:
            # Originates sent before the drop that no listed channel claimed: what the
            # old link owed about them is lost. (Ones sent since then are still pending.)
            lost = self._link_down_at
            for queue in list(self._unbound.values()):
                for rec in list(queue):
                    if rec.responded or (rec.sent_at is not None and lost is not None and rec.sent_at <= lost):
                        self._finish_without_channels(rec, t, out)
        self._link_down_at = None
        self._link_lost = False

    def _adopted_dials(self, ch: Channel, item: Mapping[str, Any]) -> None:
        """A listed channel running Dial(): link it to the listed channels it dials."""
        if item.get("Application") != "Dial":
            return
        data = item.get("ApplicationData", item.get("Data"))
        if not isinstance(data, str) or not data:
            return
        targets = {normalise_target(part.strip()) for part in data.split(",", 1)[0].split("&") if part.strip()}
        for other in ch.call.channels:
            if other is not ch and other.half != "2" and normalise_target(interface_of(other.name)) in targets:
                if other.dialled_by is None:
                    other.dialled_by = ch
                    ch.dials.append(other)
                if ch.call.client_dial_number is None:
                    ch.call.client_dial_number = extension_of(interface_of(other.name))

    def _classify_adopted(self, call: CallState, listed: Mapping[str, Mapping[str, Any]], t: float | None, out: list[TrackerUpdate]) -> None:
        """What a listing says about a call never seen before: who runs Queue() or Dial()."""
        if call.kind != K_UNKNOWN or call.first is None:
            return
        first = call.first
        item = listed.get(first.uid, {})
        application = item.get("Application")
        if application == "Queue":
            data = item.get("ApplicationData", item.get("Data"))
            if isinstance(data, str) and data:
                call.queue = data.split(",", 1)[0]
            call.queue_joined = True
            if first.half == "1":
                # An originated Local channel waiting in a queue: predictive.
                self._adopt_originated(call, first, t, out)
                self._classify(call, K_CLIENT_FIRST, t, out)
            else:
                self._classify(call, K_INBOUND, t, out)
        elif application == "Dial" and first.half == "1":
            # The originated half of a Local pair dialling out: click-to-call.
            self._adopt_originated(call, first, t, out)
            self._classify(call, K_AGENT_FIRST, t, out)
        else:
            self._classify_unoriginated(call, t, out)

    def _adopt_originated(self, call: CallState, first: Channel, t: float | None, out: list[TrackerUpdate]) -> None:
        """An adopted call placed by an Originate we announced before the link dropped."""
        call.originated_ch = first
        first.originated = True
        queue = self._unbound.get(normalise_target(interface_of(first.name)))
        if queue:
            rec = queue.popleft()
            if not queue:
                del self._unbound[rec.target]
            rec.call = call
            call.originate = rec

    def _adopted_roles(self, ch: Channel, t: float | None, out: list[TrackerUpdate]) -> None:
        """A call first seen in a listing has no Dial history: a two-party bridge joins opposite parties."""
        call = ch.call
        if call.finished:
            return
        self._ensure_classified(call, t, out)
        bridge = ch.bridge
        if bridge is None or len(bridge.members) != 2:
            return
        one, two = bridge.members
        if one.role and not two.role:
            self._set_role(two, AGENT if one.role == CLIENT else CLIENT, False, t, out)
        elif two.role and not one.role:
            self._set_role(one, AGENT if two.role == CLIENT else CLIENT, False, t, out)

    def _adopt(self, uid: str, item: Mapping[str, Any], t: float | None, out: list[TrackerUpdate]) -> Channel | None:
        name = item.get("Channel")
        if not isinstance(name, str) or not name:
            return None
        linkedid = item.get("Linkedid") or uid
        if not _text(linkedid) or self._is_finished(linkedid):
            return None
        started = t
        seconds = _duration_seconds(item)
        if t is not None and seconds is not None:
            started = t - seconds
        ch = self._add_channel(uid, name, linkedid, started, out)
        call = ch.call
        if call.started_at is not None and started is not None:
            call.started_at = min(call.started_at, started)
        ch.cid_num = clean_caller(item.get("CallerIDNum"))
        ch.cid_name = clean_caller(item.get("CallerIDName"))
        ch.exten = item.get("Exten") or None
        log.info("ami.tracker.channel_adopted channel=%s linkedid=%s", name, linkedid)
        return ch


def _duration_seconds(item: Mapping[str, Any]) -> int | None:
    seconds = _int(item.get("Seconds"))
    if seconds is not None:
        return seconds
    duration = item.get("Duration")
    if isinstance(duration, str) and duration.count(":") == 2:
        hours, minutes, secs = duration.split(":")
        if hours.isdigit() and minutes.isdigit() and secs.isdigit():
            return int(hours) * 3600 + int(minutes) * 60 + int(secs)
    return None


def _number_from_dial(ev: Event) -> str | None:
    exten = ev.get("DestExten")
    if isinstance(exten, str) and looks_like_number(exten):
        return exten
    dial_string = ev.get("DialString")
    channel = ev.get("DestChannel") or ""
    if isinstance(dial_string, str) and dial_string:
        number = extension_of(dial_target(channel or "x", dial_string))
        if number:
            return number
    return None


def _display_interface(target: str) -> str:
    """``local/101@agents`` (normalised key) -> ``Local/101@agents`` for people to read."""
    tech, sep, rest = target.partition("/")
    if not sep:
        return target
    pretty = {"local": "Local", "pjsip": "PJSIP", "sip": "SIP", "iax2": "IAX2", "dahdi": "DAHDI"}.get(tech, tech)
    return f"{pretty}/{rest}"


def _event_name(event: object) -> object:
    try:
        return event.get("Event")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001
        return type(event).__name__
