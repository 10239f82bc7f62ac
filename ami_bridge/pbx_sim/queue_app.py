"""The Queue() application: a caller waits, members are rung by strategy, one answers or nobody does.

Events and their order follow app_queue as recorded in ../shared/ami-traces:
QueueCallerJoin, AgentCalled + DialBegin per member rung, AgentRingNoAnswer (also
RingTime=0 for a busy member), duplicated DialEnd CANCEL for the ringall losers,
QueueCallerLeave before AgentConnect, AgentComplete when the bridge ends, and
QueueCallerAbandon + QueueCallerLeave for a caller hang-up *and* for the Queue()
timeout (which also sets QUEUESTATUS=TIMEOUT and returns to the dialplan).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from ami_bridge.pbx_sim import ami_events as ev
from ami_bridge.pbx_sim.channels import Channel
from ami_bridge.pbx_sim.config import DialplanConfig
from ami_bridge.pbx_sim.phones import Program, wait
from ami_bridge.pbx_sim.queue_manager import QueueManager
from ami_bridge.pbx_sim.queues import Member, QueueEntry, QueueState
from ami_bridge.pbx_sim.scheduler import Process, Signal
from ami_bridge.pbx_sim.switch import Leg, Switch, parse_target

log = logging.getLogger(__name__)

CONNECTED = "CONNECTED"
ABANDON = "ABANDON"
# app_queue reads retry as whole seconds and takes 0 or less as its default (q->retry <= 0:
# DEFAULT_RETRY): a queue configured retry=0 waits 5 s after a failed ring attempt.
APP_QUEUE_DEFAULT_RETRY = 5.0
RECHECK_SECONDS = 1.0  # app_queue's RECHECK: how often a caller not at the head looks for its turn


def effective_retry(retry: float) -> float:
    """The wait after a ring attempt that connected nobody, as app_queue applies ``retry``."""
    return retry if retry >= 1.0 else APP_QUEUE_DEFAULT_RETRY


@dataclass(eq=False)
class Attempt:
    member: Member
    leg: Leg
    rang: bool = False


def whole_seconds(epoch_start: float, epoch_end: float) -> int:
    """Seconds between two instants the way app_queue counts them: difference of time(NULL) values."""
    return max(0, int(epoch_end) - int(epoch_start))


class QueueApp:
    """Runs Queue() for a caller channel (a generator used with ``yield from``)."""

    def __init__(self, sw: Switch, queues: QueueManager, dialplan: DialplanConfig, rng: random.Random,
                 epoch: Callable[[], float], start_far_end: Callable[[Leg], Process],
                 endpoint_name: Callable[[str], str]) -> None:
        self._sw = sw
        self._queues = queues
        self._dialplan = dialplan
        self._rng = rng
        self._epoch = epoch
        self._start_far_end = start_far_end
        self._endpoint_name = endpoint_name

    def _sim_epoch(self, sim_time: float) -> float:
        return self._epoch() - (self._sw.scheduler.now - sim_time)

    def run(self, caller: Channel, queue_name: str, timeout: float | None) -> Program:
        """Queue(<queue_name>,,,,<timeout>); returns QUEUESTATUS, or CONNECTED once the caller was bridged and hung up."""
        sw = self._sw
        sched = sw.scheduler
        queue = self._queues.get(queue_name)
        sw.varset(caller, "ANSWEREDTIME", "")
        sw.varset(caller, "DIALEDTIME", "")
        if queue is None:
            log.warning("pbx_sim.queue.unknown queue=%s channel=%s", queue_name, caller.name)
            sw.varset(caller, "QUEUESTATUS", "UNKNOWN")
            return "UNKNOWN"
        device = self._queues.device
        if queue.config.maxlen and len(queue.entries) >= queue.config.maxlen:
            sw.varset(caller, "QUEUESTATUS", "FULL")
            return "FULL"
        if queue.is_empty_for(queue.config.joinempty, device, sched.now):
            sw.varset(caller, "QUEUESTATUS", "JOINEMPTY")
            return "JOINEMPTY"
        entry = QueueEntry(channel=caller, joined_at=sched.now, original_position=len(queue.entries) + 1,
                           wake=sched.signal(f"wake {queue.name}"))
        queue.entries.append(entry)
        sw.emit(ev.queue_caller("QueueCallerJoin", caller, queue.name, Position=entry.original_position,
                                Count=len(queue.entries)))
        deadline = sched.timeout(timeout if timeout else None, "queue timeout")
        try:
            while True:
                if caller.hangup_requested.fired:
                    return self._abandon(queue, entry)
                if deadline.fired:
                    return self._timeout(queue, entry)
                if queue.is_empty_for(queue.config.leavewhenempty, device, sched.now):
                    return self._leave(queue, entry, "LEAVEEMPTY")
                our_turn = self._our_turn(queue, entry)
                members = queue.pick(entry, device, sched.now, self._rng) if our_turn else []
                if not members:
                    # app_queue polls; a member who frees meanwhile wakes nobody. The caller
                    # whose turn it is tries again after ``retry`` (wait_a_bit), the others
                    # look again every second (wait_our_turn's RECHECK).
                    poll = effective_retry(queue.config.retry) if our_turn else RECHECK_SECONDS
                    yield sched.any_of(sched.timeout(poll, "queue poll"), caller.hangup_requested, deadline)
                    continue
                result = yield from self._ring(queue, entry, members, deadline)
                if result == CONNECTED:
                    return CONNECTED
                if result == ABANDON:
                    return self._abandon(queue, entry)
                if deadline.fired:
                    return self._timeout(queue, entry)
                yield from wait(sched, effective_retry(queue.config.retry), caller.hangup_requested, deadline)
        finally:
            if entry in queue.entries:
                queue.entries.remove(entry)
                self._queues.poke(queue)

    def _our_turn(self, queue: QueueState, entry: QueueEntry) -> bool:
        """autofill: a caller may ring when fewer callers ahead of it wait than members are free."""
        now = self._sw.scheduler.now
        free = sum(1 for m in queue.members if queue.usable(m, self._queues.device, now))
        if queue.config.strategy == "ringall":
            free = min(free, 1)
        ahead = [e for e in queue.entries[: queue.entries.index(entry)] if not e.ringing]
        return len(ahead) < free

    def _ring(self, queue: QueueState, entry: QueueEntry, members: list[Member], deadline: Signal) -> Program:
        sw = self._sw
        sched = sw.scheduler
        caller = entry.channel
        attempts: list[Attempt] = []
        entry.ringing = True
        for member in members:
            target = parse_target(member.interface)
            if target is None:
                log.warning("pbx_sim.queue.bad_interface queue=%s interface=%s", queue.name, member.interface)
                continue
            queue.ringing.add(member.interface)
            entry.tried.add(member.interface)
            cid = (caller.conn_num, caller.conn_name) if caller.conn_num != "<unknown>" else (caller.cid_num, caller.cid_name)
            leg = sw.open_leg(
                target, "queue", caller.linkedid, cid=cid, connected=(caller.cid_num, caller.cid_name),
                near_app="AppQueue", agents_context=self._dialplan.agents_context,
                trunk_context=self._dialplan.inbound_context, endpoint_name=self._endpoint_name, caller=caller,
            )
            attempts.append(Attempt(member, leg))
            sw.emit(ev.agent_event("AgentCalled", caller, leg.near, queue.name, member.interface, member.name,
                                   dest_override={"Exten": caller.exten}))
            sw.emit(ev.dial_event("DialBegin", caller, leg.near, DialString=member.interface))
        for attempt in attempts:
            attempt.leg.program = self._start_far_end(attempt.leg)
        remaining = None if deadline.fired else queue.config.timeout
        ring_timer = sched.timeout(remaining, "member timeout")
        app_deadline = deadline
        try:
            while attempts:
                waits: list[Signal] = [ring_timer, app_deadline, caller.hangup_requested]
                for a in attempts:
                    waits += [a.leg.answered, a.leg.rejected, a.leg.near.hangup_requested]
                    if not a.rang:
                        waits += [a.leg.ringing, a.leg.progress]
                winner = yield sched.any_of(*waits)
                if winner is caller.hangup_requested:
                    for a in attempts:
                        self._cancel(queue, caller, a, cause=0)
                    return ABANDON
                if winner is ring_timer or winner is app_deadline:
                    for a in attempts:
                        self._ring_no_answer(queue, caller, a)
                    return "NOANSWER"
                attempt = next(a for a in attempts if winner in (
                    a.leg.answered, a.leg.rejected, a.leg.near.hangup_requested, a.leg.ringing, a.leg.progress))
                if winner is attempt.leg.ringing or winner is attempt.leg.progress:
                    attempt.rang = True
                    status = "RINGING" if winner is attempt.leg.ringing else "PROGRESS"
                    sw.emit(ev.dial_event("DialState", caller, attempt.leg.near, DialStatus=status))
                    continue
                if winner is attempt.leg.answered:
                    others = [a for a in attempts if a is not attempt]
                    attempts = []
                    return (yield from self._connect(queue, entry, attempt, others))
                # Busy, congestion, or the member's channel went away before answering.
                status = winner.value if winner is attempt.leg.rejected else "CHANUNAVAIL"
                sw.emit(ev.dial_event("DialEnd", caller, attempt.leg.near, DialStatus=str(status)))
                sw.emit(ev.agent_event("AgentRingNoAnswer", caller, attempt.leg.near, queue.name,
                                       attempt.member.interface, attempt.member.name, RingTime=0))
                sw.hangup(attempt.leg.near, 0)
                queue.ringing.discard(attempt.member.interface)
                attempts.remove(attempt)
            return "NOANSWER"
        finally:
            ring_timer.discard()
            entry.ringing = False
            for a in attempts:
                queue.ringing.discard(a.member.interface)

    def _cancel(self, queue: QueueState, caller: Channel, attempt: Attempt, cause: int) -> None:
        """Stop ringing a member (caller gone or answered elsewhere): app_queue reports DialEnd CANCEL twice."""
        sw = self._sw
        near = attempt.leg.near
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus="CANCEL"))
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus="CANCEL"))
        sw.hangup(near, cause)
        queue.ringing.discard(attempt.member.interface)

    def _ring_no_answer(self, queue: QueueState, caller: Channel, attempt: Attempt) -> None:
        sw = self._sw
        near = attempt.leg.near
        ring_ms = int(round((sw.scheduler.now - attempt.leg.started_at) * 1000))
        sw.emit(ev.agent_event("AgentRingNoAnswer", caller, near, queue.name, attempt.member.interface,
                               attempt.member.name, RingTime=ring_ms))
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus="NOANSWER"))
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus="CANCEL"))
        sw.hangup(near, 0)
        queue.ringing.discard(attempt.member.interface)
        if queue.config.autopause:
            self._queues.auto_pause(queue, attempt.member)

    def _connect(self, queue: QueueState, entry: QueueEntry, attempt: Attempt, others: list[Attempt]) -> Program:
        sw = self._sw
        sched = sw.scheduler
        caller = entry.channel
        member = attempt.member
        near = attempt.leg.near
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus="ANSWER"))
        for other in others:
            self._cancel(queue, caller, other, cause=26)
        queue.ringing.discard(member.interface)
        entry.ringing = False
        position = queue.position(entry)
        queue.entries.remove(entry)
        sw.emit(ev.queue_caller("QueueCallerLeave", caller, queue.name, Position=position, Count=len(queue.entries)))
        connected_at = sched.now
        hold = whole_seconds(self._sim_epoch(entry.joined_at), self._epoch())
        ring = whole_seconds(self._sim_epoch(attempt.leg.started_at), self._epoch())
        member.in_call = True
        queue.answered_by(member)
        sw.emit(ev.agent_event("AgentConnect", caller, near, queue.name, member.interface, member.name,
                               HoldTime=hold, RingTime=ring))
        self._queues.poke(queue)
        bridge = sw.bridge_create()
        sw.bridge_enter(bridge, near)
        sw.bridge_enter(bridge, caller)
        winner = yield sched.any_of(caller.hangup_requested, near.hangup_requested)
        talk = whole_seconds(self._sim_epoch(connected_at), self._epoch())
        by_agent = winner is near.hangup_requested
        sw.emit(ev.agent_event("AgentComplete", caller, near, queue.name, member.interface, member.name,
                               HoldTime=hold, TalkTime=talk, Reason="agent" if by_agent else "caller"))
        answered_time = int(sched.now - connected_at)
        dialed_time = int(sched.now - caller.created_at)
        if by_agent:
            sw.bridge_leave(bridge, near)
            sw.bridge_leave(bridge, caller)
            self._queues.call_finished(queue, member)
            sw.hangup(near, 16)
            sw.bridge_destroy(bridge)
            sw.varset(caller, "ANSWEREDTIME", answered_time)
            sw.varset(caller, "DIALEDTIME", dialed_time)
        else:
            sw.bridge_leave(bridge, caller)
            sw.varset(caller, "ANSWEREDTIME", answered_time)
            sw.varset(caller, "DIALEDTIME", dialed_time)
            sw.bridge_leave(bridge, near)
            self._queues.call_finished(queue, member)
            sw.hangup(near, 16)
            sw.bridge_destroy(bridge)
        queue.stats.record_completed(connected_at - entry.joined_at, sched.now - connected_at,
                                     queue.config.servicelevel)
        sw.hangup(caller, 16, own=True)
        return CONNECTED

    def _abandon(self, queue: QueueState, entry: QueueEntry) -> str:
        """The caller hung up while waiting."""
        sw = self._sw
        sched = sw.scheduler
        caller = entry.channel
        self._exit_vars(caller, entry)
        sw.varset(caller, "ABANDONED", "TRUE")
        self._leave_events(queue, entry, abandon=True)
        queue.stats.record_abandoned(sched.now - entry.joined_at, queue.config.servicelevel)
        return ABANDON

    def _timeout(self, queue: QueueState, entry: QueueEntry) -> str:
        """Queue()'s own timeout: app_queue reports it as an abandon, then returns to the dialplan."""
        sw = self._sw
        caller = entry.channel
        sw.varset(caller, "ABANDONED", "TRUE")
        self._leave_events(queue, entry, abandon=True)
        self._exit_vars(caller, entry)
        queue.stats.record_abandoned(sw.scheduler.now - entry.joined_at, queue.config.servicelevel)
        sw.varset(caller, "QUEUESTATUS", "TIMEOUT")
        return "TIMEOUT"

    def _leave(self, queue: QueueState, entry: QueueEntry, status: str) -> str:
        self._leave_events(queue, entry, abandon=False)
        self._sw.varset(entry.channel, "QUEUESTATUS", status)
        return status

    def _exit_vars(self, caller: Channel, entry: QueueEntry) -> None:
        sw = self._sw
        sw.varset(caller, "DIALEDTIME", int(sw.scheduler.now - caller.created_at))
        sw.varset(caller, "ANSWEREDTIME", 0)

    def _leave_events(self, queue: QueueState, entry: QueueEntry, abandon: bool) -> None:
        sw = self._sw
        caller = entry.channel
        position = queue.position(entry) if entry in queue.entries else 1
        if abandon:
            hold = whole_seconds(self._sim_epoch(entry.joined_at), self._epoch())
            sw.emit(ev.queue_caller("QueueCallerAbandon", caller, queue.name, Position=position,
                                    OriginalPosition=entry.original_position, HoldTime=hold))
        if entry in queue.entries:
            queue.entries.remove(entry)
        sw.emit(ev.queue_caller("QueueCallerLeave", caller, queue.name, Position=position, Count=len(queue.entries)))
        self._queues.poke(queue)
