"""What the call tracker tells the rest of Zvonar: frozen, plain-data updates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Direction(StrEnum):
    """Who placed the call, seen from the call centre."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Outcome(StrEnum):
    """How a call ended for the client.

    ``failed`` - the call could not be placed (or, for click-to-call, the agent leg
    never answered); ``abandoned`` - the client was on the line but gave up or was
    dropped before an agent took the call; ``machine`` - an answering machine picked up
    and the dialplan's detection (AMD) dropped it (UserEvent ZvonarMachine): not an abandon.
    """

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    FAILED = "failed"
    ABANDONED = "abandoned"
    MACHINE = "machine"


@dataclass(frozen=True, slots=True)
class FinishedCall:
    """One finished call, as the CRM and the reports store it.

    ``call_id`` is the Asterisk Linkedid (for an Originate that failed before any
    channel existed: its ActionID). Times are the tracker's clock (seconds, the
    ``t`` given to ``feed``) or None when the source had no clock (raw captures).
    ``talk_seconds`` is whole seconds, truncated like Asterisk's own TalkTime.
    ``end_observed`` is False when the call ended while the AMI link was down.
    """

    call_id: str
    action_id: str | None
    direction: Direction
    number: str | None
    caller_name: str | None
    did: str | None
    queue: str | None
    agent: str | None
    agent_channel: str | None
    outcome: Outcome
    hangup_cause: int | None
    started_at: float | None
    answered_at: float | None
    ended_at: float | None
    talk_seconds: int | None
    uniqueids: tuple[str, ...] = ()
    end_observed: bool = True
    # False only for an agent-first call (click-to-call, a preview card) whose agent leg never
    # got as far as dialling the client: the operator's own phone was not answered.
    client_dialled: bool = True

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (plain str/int/float/None/list values)."""
        return {
            "call_id": self.call_id,
            "action_id": self.action_id,
            "direction": str(self.direction),
            "number": self.number,
            "caller_name": self.caller_name,
            "did": self.did,
            "queue": self.queue,
            "agent": self.agent,
            "agent_channel": self.agent_channel,
            "outcome": str(self.outcome),
            "hangup_cause": self.hangup_cause,
            "started_at": self.started_at,
            "answered_at": self.answered_at,
            "ended_at": self.ended_at,
            "talk_seconds": self.talk_seconds,
            "uniqueids": list(self.uniqueids),
            "end_observed": self.end_observed,
            "client_dialled": self.client_dialled,
        }


@dataclass(frozen=True, slots=True)
class CallStarted:
    """A new call is known and classified (emitted once, before any other update for it)."""

    call_id: str
    direction: Direction
    number: str | None
    caller_name: str | None
    did: str | None
    action_id: str | None
    t: float | None


@dataclass(frozen=True, slots=True)
class AgentRinging:
    """An agent's phone started ringing for a call: the moment for the screen pop.

    ``agent`` is the extension ("201"), ``agent_channel`` the interface
    ("PJSIP/201", "Local/201@queue-agents"), ``channel``/``uniqueid`` the live
    channel that rings. ``action_id`` is the Originate (campaign or click-to-call)
    that placed the call, if any.
    """

    call_id: str
    agent: str | None
    agent_channel: str | None
    channel: str
    uniqueid: str
    number: str | None
    caller_name: str | None
    direction: Direction
    queue: str | None
    action_id: str | None
    t: float | None


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """The client is talking to an agent for the first time in this call."""

    call_id: str
    agent: str | None
    agent_channel: str | None
    number: str | None
    direction: Direction
    queue: str | None
    action_id: str | None
    t: float | None


@dataclass(frozen=True, slots=True)
class CallBridged:
    """The client got bridged with an agent (first answer and again after transfers)."""

    call_id: str
    bridge_id: str
    agent: str | None
    agent_channel: str | None
    t: float | None


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over; ``call`` holds everything known about it."""

    call: FinishedCall

    @property
    def call_id(self) -> str:
        return self.call.call_id


TrackerUpdate = CallStarted | AgentRinging | CallAnswered | CallBridged | CallEnded
