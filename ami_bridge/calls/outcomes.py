"""How a call ended, decided from what the tracker saw (pure functions of its state).

Order of evidence: a client that talked to an agent is answered; a client that
waited in a queue and never got one abandoned (caller hung up or the queue timed
out); a failed Originate says why through its Reason; otherwise the Dial statuses
and hangup causes of the client's leg decide.
"""

from __future__ import annotations

from .model import Direction, Outcome
from .originate_reasons import REASON_ANSWER, outcome_for_reason
from .state import AGENT, CLIENT, K_AGENT_FIRST, CallState

_DIAL_STATUS_OUTCOME = {
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.NO_ANSWER,
    "CONGESTION": Outcome.CONGESTION,
    "CHANUNAVAIL": Outcome.FAILED,
    "INVALIDARGS": Outcome.FAILED,
    # Our side gave up while the client was still ringing.
    "CANCEL": Outcome.NO_ANSWER,
}
# Inbound: when several agents were rung, the most telling status wins.
_INBOUND_STATUS_ORDER = (
    ("CANCEL", Outcome.ABANDONED),
    ("NOANSWER", Outcome.NO_ANSWER),
    ("BUSY", Outcome.BUSY),
    ("CONGESTION", Outcome.CONGESTION),
    ("CHANUNAVAIL", Outcome.FAILED),
)
_BUSY_CAUSES = frozenset({17, 21})
_CONGESTION_CAUSES = frozenset({34, 38, 41, 42, 44, 47})
_FAILED_CAUSES = frozenset({1, 2, 3, 20, 22, 27, 28, 29, 50, 58, 65, 66, 79, 88, 111, 127})


def call_outcome(call: CallState) -> Outcome:
    """How the call ended for the client, from everything seen of it."""
    if call.ever_connected:
        return Outcome.ANSWERED
    if call.machine:
        return Outcome.MACHINE
    if call.queue_joined:
        # Queued, never got an agent: the caller gave up or the queue timed out.
        return Outcome.ABANDONED
    rec = call.originate
    kind = call.kind
    if rec is not None and rec.responded and not rec.success:
        return Outcome.FAILED if kind == K_AGENT_FIRST else outcome_for_reason(rec.reason)
    if call.direction == Direction.OUTBOUND:
        return _outbound_outcome(call)
    statuses = {ch.dial_status for ch in call.channels if ch.role == AGENT and ch.dial_status}
    for status, outcome in _INBOUND_STATUS_ORDER:
        if status in statuses:
            return outcome
    return Outcome.ABANDONED


def _outbound_outcome(call: CallState) -> Outcome:
    status = None
    for ch in call.channels:
        if ch.role == CLIENT and ch.dial_status:
            status = ch.dial_status
    if status == "ANSWER":
        # The client picked up but never met an agent.
        return Outcome.ABANDONED
    if status in _DIAL_STATUS_OUTCOME:
        return _DIAL_STATUS_OUTCOME[status]
    rec = call.originate
    if call.kind == K_AGENT_FIRST and not any(ch.role == CLIENT for ch in call.channels):
        # The agent leg never got as far as dialling the client.
        return Outcome.FAILED
    if rec is not None and rec.responded and rec.success and rec.reason not in (None, REASON_ANSWER):
        return outcome_for_reason(rec.reason)
    for ch in call.hangups:
        if ch.role == CLIENT and ch.cause:
            if ch.cause in _BUSY_CAUSES:
                return Outcome.BUSY
            if ch.cause in _CONGESTION_CAUSES:
                return Outcome.CONGESTION
            if ch.cause in _FAILED_CAUSES:
                return Outcome.FAILED
    return Outcome.NO_ANSWER


def hangup_cause(call: CallState) -> int | None:
    """The client leg's hangup cause (Q.850), preferring a non-zero one."""
    client_zero = None
    for ch in call.hangups:
        if ch.role == CLIENT and ch.cause is not None:
            if ch.cause:
                return ch.cause
            client_zero = 0
    if client_zero is not None:
        return client_zero
    for ch in call.hangups:
        if ch.cause:
            return ch.cause
    return call.hangups[0].cause if call.hangups else None
