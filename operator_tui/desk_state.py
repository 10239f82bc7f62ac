"""What the desk knows about the operator's line, as plain data: server events in, state out.

Pure: no Textual, no I/O. ``DeskState.apply(topic, payload, now)`` folds one WebSocket
event in; the desk screen holds the result and hands it down to the status bar.
A call that rang this operator and was answered elsewhere ends without a wrap-up; a
call the operator talked on (or placed) ends *into* the wrap-up, which stays until the
operator finishes it, whatever the PBX says in the meantime.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from operator_tui.ws_client import Link

Phase = Literal["ringing", "talking", "ended"]
# The PBX's agent states (ami_bridge.agent_states.AgentStatus) plus "unknown" before the first word.
AGENT_STATES = ("unknown", "logged_out", "ready", "ringing", "on_call", "wrap_up", "paused", "unavailable")


@dataclass(frozen=True)
class CallInfo:
    """One call of this operator: from the screen pop, the click-to-call answer and call.* events."""

    call_id: str | None = None
    action_id: str | None = None
    db_call_id: int | None = None
    number: str | None = None
    caller_name: str | None = None
    direction: str = "inbound"
    queue: str | None = None
    client_id: int | None = None
    campaign_id: int | None = None
    lead_id: int | None = None
    script_id: int | None = None
    phase: Phase = "ringing"
    ringing_since: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str | None = None
    placed_here: bool = False  # this desk dialled it (click-to-call, a preview card): wrapped up even unanswered

    def matches(self, payload: dict[str, Any]) -> bool:
        """Whether an event's call_id or action_id is this call's."""
        cid, aid = payload.get("call_id"), payload.get("action_id")
        return bool((cid and cid == self.call_id) or (aid and aid == self.action_id))

    @property
    def live(self) -> bool:
        return self.phase != "ended"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallInfo:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("ringing_since", "answered_at", "ended_at"):
            if isinstance(known.get(name), str):
                known[name] = datetime.fromisoformat(known[name])
        return cls(**known)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def call_from_pop(payload: dict[str, Any], now: datetime) -> CallInfo:
    """The call a ``screen.pop`` announces (campaign fields when the dialer adds them)."""
    client = payload.get("client") if isinstance(payload.get("client"), dict) else {}
    campaign = payload.get("campaign") if isinstance(payload.get("campaign"), dict) else {}
    script = payload.get("script")
    script_id = _int(script.get("id")) if isinstance(script, dict) else _int(script)
    return CallInfo(
        call_id=payload.get("call_id"), action_id=payload.get("action_id"), number=payload.get("number"),
        caller_name=payload.get("caller_name"), direction=str(payload.get("direction") or "inbound"),
        queue=payload.get("queue"), client_id=_int(client.get("client_id")),
        campaign_id=_int(payload.get("campaign_id")) or _int(campaign.get("id")),
        lead_id=_int(payload.get("lead_id")), script_id=script_id or _int(payload.get("script_id")),
        phase="ringing", ringing_since=now,
    )


@dataclass(frozen=True)
class DeskState:
    """The operator's line: agent state, the current call, the pending wrap-up, the link."""

    user_id: int | None = None
    agent_state: str = "unknown"
    pause_reason: str | None = None
    call: CallInfo | None = None
    wrapup: CallInfo | None = None
    campaign_names: dict[int, str] = field(default_factory=dict)
    link: Link = Link("connecting")
    unsent: int = 0

    # ------------------------------------------------------------------ reading

    @property
    def shown_state(self) -> str:
        """The state the status bar shows: the live call first, then the wrap-up, then the PBX's word."""
        if self.call is not None and self.call.live:
            return "on_call" if self.call.phase == "talking" else "ringing"
        if self.wrapup is not None:
            return "wrap_up"
        return self.agent_state

    @property
    def campaign_id(self) -> int | None:
        current = self.call if self.call is not None else self.wrapup
        return current.campaign_id if current else None

    @property
    def campaign_name(self) -> str | None:
        cid = self.campaign_id
        if cid is None:
            return None
        return self.campaign_names.get(cid) or f"#{cid}"

    def call_seconds(self, now: datetime) -> int | None:
        """Talk time of the current call (ringing time before answer); None without a call."""
        call = self.call
        if call is None:
            return None
        start = call.answered_at or call.ringing_since
        if start is None:
            return None
        end = call.ended_at or now
        return max(0, int((end - start).total_seconds()))

    # ------------------------------------------------------------------ folding in

    def apply(self, topic: str, payload: dict[str, Any], now: datetime) -> DeskState:
        """This state after one server event (events for other users are ignored)."""
        uid = payload.get("user_id")
        if uid is not None and self.user_id is not None and uid != self.user_id:
            return self
        if topic == "agent.state":
            return self._agent_state(payload, now)
        if topic == "screen.pop":
            return self.popped(payload, now)
        if topic == "call.ringing":
            if self.call is not None and (self.call.matches(payload) or self.call.live):
                return self
            return replace(self, call=CallInfo(call_id=payload.get("call_id"), action_id=payload.get("action_id"),
                                               number=payload.get("number"), queue=payload.get("queue"),
                                               ringing_since=now))
        if topic == "call.started":
            call = self.call
            if call is not None and call.action_id and call.action_id == payload.get("action_id"):
                return replace(self, call=replace(call, call_id=payload.get("call_id") or call.call_id))
            return self
        if topic == "call.answered":
            return self._answered(payload, now)
        if topic == "call.ended":
            return self._ended(payload, now)
        return self

    def popped(self, payload: dict[str, Any], now: datetime) -> DeskState:
        fresh = call_from_pop(payload, now)
        if self.call is not None and self.call.matches(payload):
            kept = self.call
            fresh = replace(fresh, phase=kept.phase, ringing_since=kept.ringing_since, answered_at=kept.answered_at,
                            action_id=fresh.action_id or kept.action_id, db_call_id=kept.db_call_id,
                            placed_here=kept.placed_here)
        return replace(self, call=fresh)

    def placed(self, placed: dict[str, Any], now: datetime) -> DeskState:
        """A click-to-call the server accepted: the operator's phone rings first."""
        call = CallInfo(action_id=placed.get("action_id"), db_call_id=_int(placed.get("call_id")),
                        number=placed.get("number"), direction="outbound", client_id=_int(placed.get("client_id")),
                        ringing_since=now, placed_here=True)
        return replace(self, call=call)

    def _agent_state(self, payload: dict[str, Any], now: datetime) -> DeskState:
        state = str(payload.get("state") or "unknown")
        out = replace(self, agent_state=state, pause_reason=payload.get("reason") if state == "paused" else None)
        call = out.call
        # Rang here, then stopped ringing without being talked on: someone else took it, or the caller hung up.
        if call is not None and call.phase == "ringing" and call.direction != "outbound" and state in (
                "ready", "paused", "wrap_up", "unavailable", "logged_out"):
            out = replace(out, call=replace(call, phase="ended", ended_at=now, outcome="missed"))
        return out

    def _answered(self, payload: dict[str, Any], now: datetime) -> DeskState:
        call = self.call
        if call is not None and (call.matches(payload) or (call.live and call.call_id is None)):
            if call.answered_at is not None:
                return self
            return replace(self, call=replace(call, phase="talking", answered_at=now,
                                              call_id=call.call_id or payload.get("call_id")))
        return replace(self, call=CallInfo(call_id=payload.get("call_id"), action_id=payload.get("action_id"),
                                           number=payload.get("number"), queue=payload.get("queue"),
                                           phase="talking", ringing_since=now, answered_at=now))

    def _ended(self, payload: dict[str, Any], now: datetime) -> DeskState:
        call = self.call
        if call is None or not call.matches(payload) or not call.live:
            return self
        ended = replace(call, phase="ended", ended_at=now, outcome=payload.get("outcome"),
                        db_call_id=_int(payload.get("call_db_id")) or call.db_call_id,
                        client_id=call.client_id or _int(payload.get("client_id")))
        # A campaign's call that rang here and was gone before it was picked up had no conversation to wrap up.
        needs_wrapup = ended.answered_at is not None or ended.placed_here
        return replace(self, call=ended, wrapup=ended if needs_wrapup else self.wrapup)

    def wrapped_up(self) -> DeskState:
        """The operator finished the wrap-up."""
        return replace(self, wrapup=None)

    def linked(self, link: Link) -> DeskState:
        return replace(self, link=link)

    def named_campaign(self, campaign_id: int, name: str) -> DeskState:
        return replace(self, campaign_names={**self.campaign_names, campaign_id: name})

    def with_client(self, client_id: int) -> DeskState:
        """The current call's client became known (a new client was created for the caller)."""
        if self.call is None:
            return self
        return replace(self, call=replace(self.call, client_id=client_id))
