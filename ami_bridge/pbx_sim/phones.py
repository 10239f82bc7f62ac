"""Simulated phones: the far end of a leg (a client or an agent), as scheduler processes.

A Local-channel phone is the ``;2`` half running a tiny dialplan, exactly like the
recording lab (``[client-answer]``, ``[client-busy]``, ``[agents]`` ...); a SIP phone
is a user agent without a channel of its own that answers 180/183/200/486/BYE on
the PJSIP channel being dialled.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from ami_bridge.pbx_sim.channels import BUSY, Channel
from ami_bridge.pbx_sim.config import AgentBehaviour, ClientBehaviour
from ami_bridge.pbx_sim.scheduler import Scheduler, Signal
from ami_bridge.pbx_sim.switch import Leg, Switch

FOREVER = 3600.0
Program = Generator[Signal, Any, Any]


def fmt(seconds: float) -> str:
    """Seconds the way a dialplan writes them: ``2``, ``4.5``."""
    return f"{seconds:g}"


def wait(scheduler: Scheduler, seconds: float | None, *signals: Signal) -> Program:
    """Wait ``seconds`` (forever if None) or until one of ``signals``; returns the signal or None."""
    timer = scheduler.timeout(seconds)
    winner = yield scheduler.any_of(timer, *signals)
    timer.discard()
    return None if winner is timer else winner


def _finish(sw: Switch, far: Channel) -> None:
    """The phone's channel ends (its own thread): SoftHangupRequest + Hangup with its cause."""
    sw.hangup(far, 16, own=True)


def _client_sub(b: ClientBehaviour) -> tuple[str, str]:
    if b.outcome == "answer":
        if b.talk_seconds is None:
            return "client-answer-stay", f"({fmt(b.ring_seconds)})"
        return "client-answer", f"({fmt(b.ring_seconds)},{fmt(b.talk_seconds)})"
    if b.outcome == "busy":
        return "client-busy", f"({fmt(b.ring_seconds)})"
    if b.outcome == "congestion":
        return "client-congestion", f"({fmt(b.ring_seconds)})"
    return "client-noanswer", ""


def local_client_phone(sw: Switch, leg: Leg, b: ClientBehaviour, settle: float) -> Program:
    """A client reached as ``Local/<number>@<pstn>``: rings, then answers/busy/congestion/never."""
    far = leg.far
    assert far is not None
    sched = sw.scheduler
    hang = far.hangup_requested
    sub, args = _client_sub(b)
    sw.newexten(far, far.context, far.exten, 1, "Gosub", f"{sub},s,1{args}")
    sw.newexten(far, sub, "s", 1, "Ringing", "")
    sw.leg_ringing(leg)
    ring = FOREVER if b.outcome == "no_answer" else b.ring_seconds
    sw.newexten(far, sub, "s", 2, "Wait", fmt(ring))
    if (yield from wait(sched, ring, hang)) is not None:
        return _finish(sw, far)
    if b.outcome in ("busy", "congestion"):
        app, cause, status = ("Busy", 17, "BUSY") if b.outcome == "busy" else ("Congestion", 34, "CONGESTION")
        sw.newexten(far, sub, "s", 3, app, "30")
        far.cause = cause
        sw.set_state(far, BUSY)
        leg.rejected.fire(status)
        yield from wait(sched, 30.0, hang)
        return _finish(sw, far)
    sw.newexten(far, sub, "s", 3, "Answer", "")
    leg.near.machine = b.machine
    sw.leg_answer(leg)
    if (yield from wait(sched, settle, hang)) is not None:
        return _finish(sw, far)
    talk = b.talk_seconds
    sw.newexten(far, sub, "s", 4, "Wait", fmt(FOREVER if talk is None else talk))
    if (yield from wait(sched, talk, hang)) is not None:
        return _finish(sw, far)
    sw.newexten(far, sub, "s", 5, "Hangup", "16")
    return _finish(sw, far)


def describe_agent(ext: str, b: AgentBehaviour) -> str:
    if b.busy:
        return f"agent {ext}: busy"
    if b.answer_after is None:
        return f"agent {ext}: rings, never answers"
    if b.talk_seconds is None:
        return f"agent {ext}: answers after {fmt(b.answer_after)} s, stays until the call ends"
    return f"agent {ext}: rings {fmt(b.answer_after)} s, talks {fmt(b.talk_seconds)} s, hangs up"


def local_agent_phone(sw: Switch, leg: Leg, b: AgentBehaviour, settle: float) -> Program:
    """An agent reached as ``Local/<ext>@<context>`` (click-to-call agent leg or queue member)."""
    far = leg.far
    assert far is not None
    sched = sw.scheduler
    hang = far.hangup_requested
    ctx, ext = far.context, far.exten
    sw.newexten(far, ctx, ext, 1, "NoOp", describe_agent(ext, b))
    if b.busy:
        sw.newexten(far, ctx, ext, 2, "Busy", "30")
        far.cause = 17
        sw.set_state(far, BUSY)
        leg.rejected.fire("BUSY")
        yield from wait(sched, 30.0, hang)
        return _finish(sw, far)
    sw.newexten(far, ctx, ext, 2, "Ringing", "")
    sw.leg_ringing(leg)
    ring = b.answer_after
    sw.newexten(far, ctx, ext, 3, "Wait", fmt(FOREVER if ring is None else ring))
    if (yield from wait(sched, ring, hang)) is not None:
        return _finish(sw, far)
    sw.newexten(far, ctx, ext, 4, "Answer", "")
    sw.leg_answer(leg)
    if (yield from wait(sched, settle, hang)) is not None:
        return _finish(sw, far)
    talk = b.talk_seconds
    sw.newexten(far, ctx, ext, 5, "Wait", fmt(FOREVER if talk is None else talk))
    if (yield from wait(sched, talk, hang)) is not None:
        return _finish(sw, far)
    sw.newexten(far, ctx, ext, 6, "Hangup", "16")
    return _finish(sw, far)


def sip_client_ua(sw: Switch, leg: Leg, b: ClientBehaviour) -> Program:
    """The carrier side of ``PJSIP/<number>@trunk``: 180 or 183, then 200, 486, 503 or nothing."""
    near = leg.near
    sched = sw.scheduler
    gone = near.gone
    quick_reject = b.outcome in ("busy", "congestion") and b.ring_seconds == 0
    if not quick_reject:
        if b.early_media:
            leg.progress.fire()
        else:
            sw.leg_ringing(leg)
    ring = None if b.outcome == "no_answer" else b.ring_seconds
    if (yield from wait(sched, ring, gone)) is not None:
        return None
    if b.outcome in ("busy", "congestion"):
        cause, sip, status = (17, 486, "BUSY") if b.outcome == "busy" else (34, 503, "CONGESTION")
        # rejected first: a waiter on both signals must see the rejection, not a bare hangup.
        leg.rejected.fire(status)
        sw.request_hangup(near, cause, sip)
        return None
    near.machine = b.machine
    sw.leg_answer(leg)
    if (yield from wait(sched, b.talk_seconds, gone)) is not None:
        return None
    sw.request_hangup(near, 16)
    return None


def sip_agent_ua(sw: Switch, leg: Leg, b: AgentBehaviour) -> Program:
    """An agent's SIP phone ``PJSIP/<ext>``: rings (180), answers, or rejects 486."""
    near = leg.near
    sched = sw.scheduler
    gone = near.gone
    if b.busy:
        leg.rejected.fire("BUSY")
        sw.request_hangup(near, 17, 486)
        return None
    sw.leg_ringing(leg)
    if (yield from wait(sched, b.answer_after, gone)) is not None:
        return None
    sw.leg_answer(leg)
    if (yield from wait(sched, b.talk_seconds, gone)) is not None:
        return None
    sw.request_hangup(near, 16)
    return None


def inbound_caller_ua(sw: Switch, trunk: Channel, patience: float | None) -> Program:
    """The carrier's caller on an inbound trunk channel: sends BYE ``patience`` s after being answered."""
    sched = sw.scheduler
    if (yield from wait(sched, None, trunk.up, trunk.gone)) is not trunk.up:
        return None
    if (yield from wait(sched, patience, trunk.gone)) is not None:
        return None
    sw.request_hangup(trunk, 16, show_cause=False)
    return None
