"""Simulated channels: their state and the standard AMI channel snapshot fields.

Names and ids follow Asterisk: ``Local/<exten>@<context>-<8 hex>;1``/``;2`` (one
counter for Local pairs), ``PJSIP/<endpoint>-<8 hex>`` (another counter), and
Uniqueid ``<epoch>.<sequence>`` with one global sequence; the Linkedid of every
channel of a call is the Uniqueid of the call's first channel.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ami_bridge.pbx_sim.scheduler import Scheduler, Signal

if TYPE_CHECKING:
    from ami_bridge.pbx_sim.switch import Bridge

UNKNOWN = "<unknown>"

DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC = {0: "Down", 1: "Rsrvd", 2: "OffHook", 3: "Dialing", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}

LOCAL = "Local"
PJSIP = "PJSIP"


@dataclass(eq=False)
class Channel:
    """One live (or just hung up) channel."""

    name: str
    tech: str
    interface: str
    uniqueid: str
    linkedid: str
    state: int
    context: str
    exten: str
    created_at: float
    hangup_requested: Signal
    gone: Signal
    up: Signal
    priority: int = 1
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    application: str = ""
    app_data: str = ""
    answered_at: float | None = None
    bridge: Bridge | None = None
    local_peer: Channel | None = None
    dead: bool = False
    soft_hangup_sent: bool = False
    cause: int | None = None
    tech_cause: int | None = None
    variables: dict[str, str] = field(default_factory=dict)
    h_exten: Callable[[], None] | None = None
    machine: bool = False  # the far end that answered is an answering machine (for AMD)

    @property
    def state_desc(self) -> str:
        return STATE_DESC.get(self.state, "Unknown")

    def snapshot(self, prefix: str = "", **override: Any) -> dict[str, str]:
        """The standard channel block of an AMI event, optionally ``Dest``-prefixed."""
        values = {
            "Channel": self.name,
            "ChannelState": str(self.state),
            "ChannelStateDesc": self.state_desc,
            "CallerIDNum": self.cid_num,
            "CallerIDName": self.cid_name,
            "ConnectedLineNum": self.conn_num,
            "ConnectedLineName": self.conn_name,
            "Language": "en",
            "AccountCode": "",
            "Context": self.context,
            "Exten": self.exten,
            "Priority": str(self.priority),
            "Uniqueid": self.uniqueid,
            "Linkedid": self.linkedid,
        }
        values.update({k: str(v) for k, v in override.items()})
        return {prefix + k: v for k, v in values.items()}


class ChannelFactory:
    """Allocates channel names and Uniqueids and keeps the live channels by name."""

    def __init__(self, scheduler: Scheduler, epoch: Callable[[], float]) -> None:
        self._scheduler = scheduler
        self._epoch = epoch
        self._uid_seq = itertools.count()
        self._local_seq = itertools.count()
        self._pjsip_seq = itertools.count()
        self.live: dict[str, Channel] = {}

    def _uniqueid(self) -> str:
        return f"{int(self._epoch())}.{next(self._uid_seq)}"

    def _make(self, name: str, tech: str, interface: str, state: int, context: str, exten: str,
              linkedid: str | None) -> Channel:
        uid = self._uniqueid()
        chan = Channel(
            name=name, tech=tech, interface=interface, uniqueid=uid, linkedid=linkedid or uid, state=state,
            context=context, exten=exten, created_at=self._scheduler.now,
            hangup_requested=self._scheduler.signal(f"hangup-request {name}"),
            gone=self._scheduler.signal(f"gone {name}"),
            up=self._scheduler.signal(f"up {name}"),
        )
        self.live[name] = chan
        return chan

    def local_pair(self, exten: str, context: str, linkedid: str | None) -> tuple[Channel, Channel]:
        """The two halves of ``Local/<exten>@<context>``: ;1 Down, ;2 Ring."""
        base = f"Local/{exten}@{context}-{next(self._local_seq):08x}"
        interface = f"Local/{exten}@{context}"
        one = self._make(base + ";1", LOCAL, interface, DOWN, context, exten, linkedid)
        two = self._make(base + ";2", LOCAL, interface, RING, context, exten, one.linkedid)
        one.local_peer, two.local_peer = two, one
        return one, two

    def pjsip(self, endpoint: str, state: int, context: str, exten: str, linkedid: str | None) -> Channel:
        name = f"PJSIP/{endpoint}-{next(self._pjsip_seq):08x}"
        return self._make(name, PJSIP, f"PJSIP/{endpoint}", state, context, exten, linkedid)

    def forget(self, chan: Channel) -> None:
        self.live.pop(chan.name, None)
