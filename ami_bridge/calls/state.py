"""The call tracker's working state: mutable records, private to ``ami_bridge.calls``.

Nothing outside this package should hold on to these; the tracker hands out the
frozen updates of ``model.py`` instead.
"""

from __future__ import annotations

from .channel_names import is_local, local_half, looks_like_number
from .model import Direction

# The party a channel plays.
CLIENT = 1
AGENT = 2

# What placed the call.
K_UNKNOWN = 0
K_AGENT_FIRST = 1  # Originate rang the agent, the dialplan then dials the client (click-to-call)
K_CLIENT_FIRST = 2  # Originate rang the client (predictive)
K_INJECTED = 3  # Originate(Application) into our own dialplan through Local: a simulated caller
K_INBOUND = 4  # nobody originated it: a caller reached us
K_AGENT_DIALS = 5  # nobody originated it: an agent's phone dialled out
K_ORIGINATED = 6  # originated, but nothing yet says who was rung first

OUTBOUND_KINDS = frozenset({K_AGENT_FIRST, K_CLIENT_FIRST, K_AGENT_DIALS, K_ORIGINATED})


class Channel:
    """One Asterisk channel (a Uniqueid) and what the tracker learnt about it."""

    __slots__ = (
        "alive",
        "bridge",
        "call",
        "cause",
        "cid_name",
        "cid_num",
        "dial_status",
        "dialled_by",
        "dials",
        "exten",
        "forwarding",
        "half",
        "name",
        "originated",
        "partner",
        "ring_ext",
        "ringing",
        "role",
        "strong",
        "uid",
    )

    def __init__(self, uid: str, name: str, call: CallState) -> None:
        self.uid = uid
        self.name = name
        self.call = call
        self.role = 0
        self.strong = False
        self.partner: Channel | None = None
        self.half = local_half(name)
        self.forwarding = self.half == "2"
        self.alive = True
        self.bridge: Bridge | None = None
        self.cid_num: str | None = None
        self.cid_name: str | None = None
        self.exten: str | None = None
        self.ringing = False
        self.ring_ext: str | None = None
        self.dial_status: str | None = None
        self.cause: int | None = None
        self.dialled_by: Channel | None = None
        self.dials: list[Channel] = []
        self.originated = False


class Bridge:
    """An Asterisk bridge and the channels in it."""

    __slots__ = ("bid", "connected_call", "members")

    def __init__(self, bid: str) -> None:
        self.bid = bid
        self.members: list[Channel] = []
        self.connected_call: CallState | None = None


class OriginateRecord:
    """An Originate (by ActionID): what was asked, and its OriginateResponse once known."""

    __slots__ = (
        "action_id",
        "agent_hint",
        "application",
        "call",
        "cid_name",
        "cid_num",
        "done",
        "exten",
        "number_hint",
        "reason",
        "responded",
        "sent_at",
        "success",
        "t_response",
        "target",
    )

    def __init__(self, action_id: str, target: str) -> None:
        self.action_id = action_id
        self.target = target
        self.exten: str | None = None
        self.application: str | None = None
        self.cid_num: str | None = None
        self.cid_name: str | None = None
        self.agent_hint: str | None = None
        self.number_hint: str | None = None
        self.sent_at: float | None = None
        self.call: CallState | None = None
        self.responded = False
        self.success = False
        self.reason: int | None = None
        self.t_response: float | None = None
        self.done = False

    def kind(self) -> int:
        """What the Originate placed, from the action alone (see the K_* constants)."""
        if self.agent_hint:
            return K_AGENT_FIRST
        if self.application:
            # Ringing Local/<exten>@<context> from an application makes our own
            # dialplan see an incoming call from the Originate's CallerID.
            return K_INJECTED if is_local(self.target) else K_CLIENT_FIRST
        if self.number_hint or looks_like_number(self.exten):
            return K_AGENT_FIRST
        return K_CLIENT_FIRST


class CallState:
    """A call (a Linkedid) while it lasts."""

    __slots__ = (
        "abandoned",
        "agent_ch",
        "agent_iface",
        "answered_at",
        "answered_ms",
        "awaiting",
        "call_id",
        "caller_name",
        "channels",
        "client_dial_number",
        "connected_bridges",
        "connected_since",
        "deferred",
        "did",
        "direction",
        "ended_at",
        "ever_connected",
        "finished",
        "first",
        "hangups",
        "kind",
        "live",
        "machine",
        "number",
        "originate",
        "originated_ch",
        "originated_target",
        "queue",
        "queue_joined",
        "ringing_exts",
        "started",
        "started_at",
        "talk_clock",
        "talk_reported",
        "talk_total",
    )

    def __init__(self, call_id: str, t: float | None) -> None:
        self.call_id = call_id
        self.channels: list[Channel] = []
        self.live = 0
        self.kind = K_UNKNOWN
        self.started = False
        self.originate: OriginateRecord | None = None
        self.first: Channel | None = None
        self.originated_ch: Channel | None = None
        self.originated_target: str | None = None
        self.direction = Direction.INBOUND
        self.number: str | None = None
        self.caller_name: str | None = None
        self.did: str | None = None
        self.queue: str | None = None
        self.client_dial_number: str | None = None
        self.started_at = t
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.connected_bridges = 0
        self.connected_since: float | None = None
        self.talk_total = 0.0
        self.talk_clock: bool | None = None
        self.ever_connected = False
        self.agent_iface: str | None = None
        self.agent_ch: Channel | None = None
        self.talk_reported: int | None = None
        self.answered_ms: int | None = None
        self.queue_joined = False
        self.abandoned = False
        self.machine = False  # the dialplan's AMD found an answering machine
        self.ringing_exts: set[str] = set()
        self.hangups: list[Channel] = []
        self.awaiting: str | None = None
        self.deferred = False
        self.finished = False
