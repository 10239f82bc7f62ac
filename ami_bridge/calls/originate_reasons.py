"""OriginateResponse ``Reason`` codes -> call outcome.

The Reason is NOT a hangup cause (Q.850): it is the last control frame the
originated channel produced while being dialled, Asterisk's
``enum ast_control_frame_type`` (include/asterisk/frame.h): HANGUP=1, RING=2,
RINGING=3, ANSWER=4, BUSY=5, CONGESTION=8; 0 means nothing came back at all
(no such channel / could not be created). Seen in the recorded traces: 4 on
success, 5 busy, 8 congestion, 3 when the Originate Timeout expired while ringing.
"""

from __future__ import annotations

from .model import Outcome

REASON_NOTHING = 0
REASON_HANGUP = 1
REASON_RING = 2
REASON_RINGING = 3
REASON_ANSWER = 4
REASON_BUSY = 5
REASON_CONGESTION = 8

_OUTCOMES: dict[int, Outcome] = {
    REASON_NOTHING: Outcome.FAILED,
    # The far end hung up before answering (declined, unavailable, 404...).
    REASON_HANGUP: Outcome.NO_ANSWER,
    REASON_RING: Outcome.NO_ANSWER,
    REASON_RINGING: Outcome.NO_ANSWER,
    REASON_ANSWER: Outcome.ANSWERED,
    REASON_BUSY: Outcome.BUSY,
    REASON_CONGESTION: Outcome.CONGESTION,
}


def parse_reason(value: object) -> int | None:
    """The Reason header as an int, or None when absent or not a number."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def outcome_for_reason(reason: int | None) -> Outcome:
    """Outcome of the dialled party for an OriginateResponse Reason (unknown -> failed)."""
    if reason is None:
        return Outcome.FAILED
    return _OUTCOMES.get(reason, Outcome.FAILED)
