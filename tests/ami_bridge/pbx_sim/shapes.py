"""Call shapes of an AMI recording, to compare the simulator with a real Asterisk (test helper).

The normalisation, and why:

* Only call-relevant events count (``COMPARED``): channel life cycle, dials, Local
  and basic bridges, hang-ups, Originate results and app_queue's caller/agent/member
  events, plus the VarSets the bridge reads (DIALSTATUS, QUEUESTATUS, ABANDONED).
  Newexten, NewCallerid, RTCP and the rest are dialplan detail: Zvonar's dialplan
  (asterisk-config) differs from the recording lab's there by design.
* Channels become *roles* that do not depend on sequence numbers or Uniqueids:
  ``<call> | <interface>#<n>;<half>``, where the call is named after its first
  channel and ``n`` counts the channels of that interface in the call
  (``Local/203@queue-agents#2;1`` is the second ring of member 203).
* Per role, events form *steps*: runs of events less than ``GAP`` seconds apart.
  Inside a step the order is thread scheduling in Asterisk (the traces themselves
  differ there, e.g. OriginateResponse before or after DialEnd, Newstate Busy
  before or after the HangupRequest), so a step is compared as a multiset. Steps
  are compared in order, with their time since the call began (``TIME_TOLERANCE``).
* Position/Count of a queue caller event are compared only when no other caller of
  the same queue joined or left within ``GAP`` of it: otherwise they say which of two
  simultaneous callers Asterisk served first (the predictive lab has such a tie:
  client 2 answers at the instant client 1's agent answers).
* Relations are compared as such: which role's Uniqueid every Linkedid is; which
  roles each dial, bridge and queue event ties together; Causes, DialStatus, Reasons.
  Durations reported by Asterisk (HoldTime, TalkTime, ANSWEREDTIME, channel ages
  in CoreShowChannels/Status...) are compared within a second (they are
  differences of whole-second clocks).
* CoreShowChannel/Status items are compared per role (state, context, exten,
  application and data, bridged or not, caller and connected numbers); the
  priority is not, because Zvonar's dialplan has more steps than the lab's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COMPARED = {
    "Newchannel", "Newstate", "DialBegin", "DialState", "DialEnd", "LocalBridge", "BridgeCreate", "BridgeEnter",
    "BridgeLeave", "BridgeDestroy", "Hangup", "HangupRequest", "QueueCallerJoin", "QueueCallerLeave",
    "QueueCallerAbandon", "AgentCalled", "AgentRingNoAnswer", "AgentConnect", "AgentComplete", "VarSet",
}
LISTINGS = {"CoreShowChannel", "Status"}
VARSETS = {"DIALSTATUS", "QUEUESTATUS", "ABANDONED"}
DURATION_VARSETS = {"ANSWEREDTIME", "DIALEDTIME"}
GAP = 0.3
TIME_TOLERANCE = 0.35
SECONDS_TOLERANCE = 1
RINGTIME_MS_TOLERANCE = 300


@dataclass
class Shapes:
    steps: dict[str, list[tuple[float, Counter]]] = field(default_factory=dict)
    linked: dict[str, str] = field(default_factory=dict)
    member_status: dict[str, list[str]] = field(default_factory=dict)
    originates: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    durations: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    listings: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


def _map_context(context: str, context_map: Mapping[str, str]) -> str:
    return context_map.get(context, context)


def _interface(name: str, context_map: Mapping[str, str]) -> str:
    base = name[:-2] if name[-2:-1] == ";" else name
    dash = base.rfind("-")
    if dash > 0 and len(base) - dash - 1 == 8:
        base = base[:dash]
    if base.startswith("Local/") and "@" in base:
        exten, _, context = base[6:].partition("@")
        base = f"Local/{exten}@{_map_context(context, context_map)}"
    return base


def _hms_seconds(text: str) -> int:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def _dial_string(text: str, context_map: Mapping[str, str]) -> str:
    if "@" in text:
        head, _, context = text.rpartition("@")
        return f"{head}@{_map_context(context, context_map)}"
    return text


class _Roles:
    def __init__(self, context_map: Mapping[str, str]) -> None:
        self.context_map = context_map
        self.call_of_linkedid: dict[str, str] = {}
        self.role_of_channel: dict[str, str] = {}
        self.call_of_channel: dict[str, str] = {}
        self.role_of_uid: dict[str, str] = {}
        self.base_index: dict[tuple[str, str], int] = {}
        self.counts: Counter = Counter()
        self.call_start: dict[str, float] = {}

    def see(self, name: str, uniqueid: str | None, linkedid: str | None, t: float) -> str:
        role = self.role_of_channel.get(name)
        if role is None:
            iface = _interface(name, self.context_map)
            linked = linkedid or uniqueid or name
            call = self.call_of_linkedid.get(linked)
            if call is None:
                call = iface
                while call in self.call_start:
                    call += "+"
                self.call_of_linkedid[linked] = call
                self.call_start[call] = t
            base = name[:-2] if name[-2:-1] == ";" else name
            key = (call, base)
            if key not in self.base_index:
                self.counts[(call, iface)] += 1
                self.base_index[key] = self.counts[(call, iface)]
            half = name[-2:] if name[-2:-1] == ";" else ""
            role = f"{call} | {iface}#{self.base_index[key]}{half}"
            self.role_of_channel[name] = role
            self.call_of_channel[name] = call
        if uniqueid and uniqueid not in self.role_of_uid:
            self.role_of_uid[uniqueid] = role
        return role

    def local(self, role: str | None) -> str | None:
        """A role without its call prefix (how other roles of the same call refer to it)."""
        return None if role is None else role.split(" | ", 1)[1]


def _events(records: Iterable[Mapping[str, Any]]) -> list[tuple[float, dict[str, str]]]:
    out = []
    for record in records:
        msg = record.get("msg")
        if record.get("dir") == "in" and isinstance(msg, dict) and "Event" in msg:
            out.append((float(record["t"]), msg))
    return out


def shapes(records: Iterable[Mapping[str, Any]], context_map: Mapping[str, str]) -> Shapes:
    """Normalise the ``in`` events of one recorded session (the shared ``.jsonl`` record format)."""
    events = _events(records)
    roles = _Roles(context_map)
    result = Shapes()
    entries: dict[str, list[tuple[float, tuple]]] = defaultdict(list)
    linkedid_of_role: dict[str, str] = {}

    def channel(ev: Mapping[str, str], prefix: str, t: float) -> str | None:
        name = ev.get(prefix + "Channel")
        if not name:
            return None
        role = roles.see(name, ev.get(prefix + "Uniqueid"), ev.get(prefix + "Linkedid"), t)
        if ev.get(prefix + "Linkedid"):
            linkedid_of_role.setdefault(role, ev[prefix + "Linkedid"])
        return role

    # Bridges are named after the first channel that enters them.
    bridge_names: dict[str, str] = {}
    for t, ev in events:
        if ev["Event"] == "Newchannel":
            channel(ev, "", t)
        if ev["Event"] == "BridgeEnter" and ev["BridgeUniqueid"] not in bridge_names:
            role = channel(ev, "", t)
            assert role is not None
            call, local = role.split(" | ", 1)
            bridge_names[ev["BridgeUniqueid"]] = f"{call} | bridge[{local}]"

    queue_moves: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for t, ev in events:
        if ev["Event"] in ("QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon"):
            queue_moves[ev["Queue"]].append((t, ev["Channel"]))

    def crowded(ev: Mapping[str, str], t: float) -> bool:
        return any(abs(t - t2) <= GAP and other != ev["Channel"] for t2, other in queue_moves[ev["Queue"]])

    for t, ev in events:
        name = ev["Event"]
        if name == "QueueMemberStatus":
            key = f"{ev['Queue']} {ev['Interface']}"
            result.member_status.setdefault(key, []).append(f"{ev['Status']}/paused={ev['Paused']}")
            continue
        if name == "OriginateResponse":
            if ev.get("Response") == "Success":
                target = roles.local(channel(ev, "", t)) or ""
            else:
                target = _dial_string(ev.get("Channel", ""), context_map)
            result.originates[ev.get("ActionID", "")] = (ev.get("Response", ""), ev.get("Reason", ""), target)
            continue
        if name in LISTINGS:
            role = channel(ev, "", t)
            assert role is not None
            data = ev.get("ApplicationData", ev.get("Data", ""))
            bridge = ev.get("BridgeId", ev.get("BridgeID", ""))
            result.listings[(name, role)] = (
                ev["ChannelStateDesc"], _map_context(ev["Context"], context_map), ev["Exten"], ev["Application"],
                _dial_string(data.split(",", 1)[0], context_map) + ("," + data.split(",", 1)[1] if "," in data else ""),
                "bridged" if bridge else "not bridged", ev["CallerIDNum"], ev["ConnectedLineNum"],
            )
            seconds = ev.get("Seconds") or _hms_seconds(ev.get("Duration", "0:0:0"))
            result.durations.setdefault((role, name, "age"), []).append(int(seconds))
            continue
        if name not in COMPARED:
            continue
        if name == "LocalBridge":
            one, two = channel(ev, "LocalOne", t), channel(ev, "LocalTwo", t)
            entries[one].append((t, ("LocalBridge", 1)))
            entries[two].append((t, ("LocalBridge", 2)))
            continue
        if name in ("BridgeCreate", "BridgeDestroy"):
            bridge = bridge_names.get(ev["BridgeUniqueid"], f"? | bridge {ev['BridgeUniqueid']}")
            entries[bridge].append((t, (name,)))
            continue
        chan = channel(ev, "", t)
        dest = channel(ev, "Dest", t)
        if name in ("BridgeEnter", "BridgeLeave"):
            bridge = bridge_names[ev["BridgeUniqueid"]]
            entries[chan].append((t, (name, roles.local(bridge))))
            entries[bridge].append((t, (name, roles.local(chan), ev["BridgeNumChannels"])))
        elif name == "Newchannel":
            entries[chan].append((t, (name, ev["ChannelStateDesc"], _map_context(ev["Context"], context_map),
                                      ev["Exten"])))
        elif name == "Newstate":
            entries[chan].append((t, (name, ev["ChannelStateDesc"])))
        elif name in ("Hangup", "HangupRequest"):
            entries[chan].append((t, (name, ev.get("Cause"), ev.get("TechCause"))))
        elif name in ("DialBegin", "DialState", "DialEnd"):
            detail = _dial_string(ev["DialString"], context_map) if name == "DialBegin" else ev["DialStatus"]
            if chan is not None:
                entries[chan].append((t, (name, "to", roles.local(dest), detail)))
            entries[dest].append((t, (name, "from", roles.local(chan), detail)))
        elif name in ("QueueCallerJoin", "QueueCallerLeave"):
            where = ("~", "~") if crowded(ev, t) else (ev["Position"], ev["Count"])
            entries[chan].append((t, (name, ev["Queue"]) + where))
        elif name == "QueueCallerAbandon":
            where = ("~", "~") if crowded(ev, t) else (ev["Position"], ev["OriginalPosition"])
            entries[chan].append((t, (name, ev["Queue"]) + where))
            result.durations.setdefault((chan, name, "HoldTime"), []).append(int(ev["HoldTime"]))
        elif name.startswith("Agent"):
            extra: tuple = ()
            if name == "AgentComplete":
                extra = (ev["Reason"],)
            if name == "AgentRingNoAnswer":
                extra = ("RingTime=0" if ev["RingTime"] == "0" else "RingTime>0",)
                result.durations.setdefault((chan, name, "RingTime"), []).append(int(ev["RingTime"]))
            for field_name in ("HoldTime", "TalkTime") + (("RingTime",) if name == "AgentConnect" else ()):
                if field_name in ev:
                    result.durations.setdefault((chan, name, field_name), []).append(int(ev[field_name]))
            entries[chan].append((t, (name, roles.local(dest), ev["Queue"], ev["Interface"], ev["MemberName"]) + extra))
            entries[dest].append((t, (name, "from", roles.local(chan))))
        elif name == "VarSet":
            variable, value = ev.get("Variable", ""), ev.get("Value", "")
            if variable in VARSETS and value:
                entries[chan].append((t, (name, variable, value)))
            elif variable in DURATION_VARSETS and value:
                result.durations.setdefault((chan, name, variable), []).append(int(value))

    for role, items in entries.items():
        call = role.split(" | ", 1)[0]
        start = roles.call_start.get(call, items[0][0])
        steps: list[tuple[float, Counter]] = []
        last: float | None = None
        for t, entry in items:
            if last is None or t - last > GAP:
                steps.append((t - start, Counter()))
            steps[-1][1][entry] += 1
            last = t
        result.steps[role] = steps
    for role, linkedid in linkedid_of_role.items():
        result.linked[role] = roles.role_of_uid.get(linkedid, f"<uid {linkedid}>")
    return result


def differences(real: Shapes, simulated: Shapes) -> list[str]:
    """Human-readable differences between the real trace's shapes and the simulator's (empty = same)."""
    out: list[str] = []
    for role in sorted(set(real.steps) | set(simulated.steps)):
        a, b = real.steps.get(role, []), simulated.steps.get(role, [])
        if len(a) != len(b):
            out.append(f"{role}: {len(a)} steps in the trace, {len(b)} in the simulator\n"
                       f"  trace: {[sorted(c) for _, c in a]}\n  sim:   {[sorted(c) for _, c in b]}")
            continue
        for index, ((ta, ca), (tb, cb)) in enumerate(zip(a, b)):
            if ca != cb:
                out.append(f"{role} step {index}: trace {sorted(ca.items())} != sim {sorted(cb.items())}")
            if abs(ta - tb) > TIME_TOLERANCE:
                out.append(f"{role} step {index}: at +{ta:.3f}s in the trace, +{tb:.3f}s in the simulator")
    if real.linked != simulated.linked:
        out.append(f"Linkedid relations differ:\n  trace {real.linked}\n  sim   {simulated.linked}")
    if real.member_status != simulated.member_status:
        out.append(f"QueueMemberStatus differ:\n  trace {real.member_status}\n  sim   {simulated.member_status}")
    if real.listings != simulated.listings:
        out.append(f"CoreShowChannels/Status listings differ:\n  trace {real.listings}\n  sim   {simulated.listings}")
    if real.originates != simulated.originates:
        out.append(f"OriginateResponse differ:\n  trace {real.originates}\n  sim   {simulated.originates}")
    for key in sorted(set(real.durations) | set(simulated.durations)):
        a, b = real.durations.get(key, []), simulated.durations.get(key, [])
        tolerance = RINGTIME_MS_TOLERANCE if key[1] == "AgentRingNoAnswer" else SECONDS_TOLERANCE
        if len(a) != len(b) or any(abs(x - y) > tolerance for x, y in zip(a, b)):
            out.append(f"{key}: trace {a} != sim {b}")
    return out
