"""Zvonar's dialplan (asterisk-config/extensions.conf) as simulator programs, plus Originate and Dial().

Contract contexts (names from :class:`DialplanConfig`):

* ``zvonar-outbound``, exten = client number: click-to-call. The originated agent
  channel sets the company caller ID and dials the client: ``Local/<n>@<pstn>``
  when the agent channel is a Local channel, ``PJSIP/<n>@trunk`` otherwise.
* ``zvonar-campaign``, exten ``s``: the answered client joins the queue named by
  the channel variable ``ZVONAR_QUEUE`` (Queue timeout ``campaign_queue_timeout``);
  on timeout/empty queue ``UserEvent ZvonarAbandon`` is sent, an apology plays and
  the call ends; a client hanging up while queued gets ``Reason: CALLERHANGUP``.
* ``zvonar-inbound``, exten = DID: routed to a queue by ``inbound_routes``; unknown
  DIDs are rejected with cause 1.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ami_bridge.pbx_sim import ami_events as ev
from ami_bridge.pbx_sim.behaviour import BehaviourBook
from ami_bridge.pbx_sim.channels import LOCAL, PJSIP, RING, UNKNOWN, UP, Channel
from ami_bridge.pbx_sim.config import SimConfig
from ami_bridge.pbx_sim.phones import (
    FOREVER,
    Program,
    fmt,
    inbound_caller_ua,
    local_agent_phone,
    local_client_phone,
    sip_agent_ua,
    sip_client_ua,
    wait,
)
from ami_bridge.pbx_sim.queue_app import ABANDON, CONNECTED, QueueApp
from ami_bridge.pbx_sim.queue_manager import QueueManager
from ami_bridge.pbx_sim.scheduler import Process, Signal
from ami_bridge.pbx_sim.switch import DialTarget, Leg, Switch, parse_target

log = logging.getLogger(__name__)

_CLICK_TO_CALL_EXTEN = re.compile(r"^[0-9]{6}.+$")
_DID_WITH_PLUS = re.compile(r"^\+[0-9]{6}.+$")

REASON_FAILED, REASON_HANGUP, REASON_RINGING, REASON_ANSWERED, REASON_BUSY, REASON_CONGESTION = 0, 1, 3, 4, 5, 8


@dataclass(frozen=True)
class OriginateRequest:
    """An Originate as the AMI action gives it (times in simulated seconds)."""

    channel: str
    context: str | None = None
    exten: str | None = None
    priority: int = 1
    application: str | None = None
    data: str = ""
    caller_id: tuple[str, str] | None = None
    timeout: float = 30.0
    variables: Mapping[str, str] = field(default_factory=dict)
    action_id: str | None = None
    report: bool = True


class Dialplan:
    """Starts the far ends of legs and runs the contexts of Zvonar's dialplan."""

    def __init__(self, sw: Switch, config: SimConfig, book: BehaviourBook, queues: QueueManager,
                 rng: random.Random, epoch: Callable[[], float]) -> None:
        self.sw = sw
        self.config = config
        self.dp = config.dialplan
        self.book = book
        self.queue_app = QueueApp(sw, queues, config.dialplan, rng, epoch, self.start_far_end, self.endpoint_name)

    # ------------------------------------------------------------------ endpoints

    def known_endpoint(self, endpoint: str) -> bool:
        return endpoint == self.dp.trunk_endpoint or endpoint in self.config.endpoints or endpoint in self.config.agents

    def endpoint_name(self, endpoint: str) -> str:
        return self.config.endpoints.get(endpoint) or f"Оператор {endpoint}"

    # ------------------------------------------------------------------ far ends

    def start_far_end(self, leg: Leg) -> Process:
        """Start whatever answers ``leg``: a simulated phone, or the inbound dialplan on a Local ;2."""
        target = leg.target
        settle = self.dp.answer_settle_seconds
        if target.tech == LOCAL:
            assert leg.far is not None
            if target.context == self.dp.inbound_context:
                program = self._inbound(leg.far, target.exten, leg)
            elif target.context == self.dp.local_client_context:
                program = local_client_phone(self.sw, leg, self.book.client(target.exten), settle)
            else:
                program = local_agent_phone(self.sw, leg, self.book.agent(target.exten), settle)
        elif target.trunk:
            program = sip_client_ua(self.sw, leg, self.book.client(target.exten))
        else:
            program = sip_agent_ua(self.sw, leg, self.book.agent(target.exten))
        return self.sw.scheduler.spawn(program, f"far end {leg.near.name}")

    def _open(self, target: DialTarget, kind: str, linkedid: str | None, cid: tuple[str, str] | None,
              connected: tuple[str, str] | None, app: str, caller: Channel | None = None) -> Leg:
        return self.sw.open_leg(
            target, kind, linkedid, cid=cid, connected=connected, near_app=app,
            agents_context=self.dp.agents_context, trunk_context=self.dp.inbound_context,
            endpoint_name=self.endpoint_name, caller=caller,
        )

    # ------------------------------------------------------------------ Originate

    def originate(self, request: OriginateRequest) -> tuple[Process, Signal]:
        """Start an Originate: the process runs the whole call; the signal fires True/False at answer/failure."""
        result = self.sw.scheduler.signal(f"originate result {request.action_id}")
        process = self.sw.scheduler.spawn(self._originate(request, result), f"originate {request.action_id}")
        return process, result

    def _originate(self, req: OriginateRequest, result: Signal) -> Program:
        sw = self.sw
        sched = sw.scheduler
        target = parse_target(req.channel)
        fields = ({"Application": req.application, "Data": req.data} if req.application
                  else {"Context": req.context or "", "Exten": req.exten or ""})
        cid_num, cid_name = req.caller_id or (UNKNOWN, UNKNOWN)
        if target is None or (target.tech == PJSIP and not self.known_endpoint(target.trunk or target.exten)):
            log.info("pbx_sim.originate.unroutable channel=%s action_id=%s", req.channel, req.action_id)
            if req.report:
                sw.emit(ev.originate_response(req.action_id, False, req.channel, fields, REASON_FAILED, None,
                                              cid_num, cid_name))
            result.fire(False)
            return False
        leg = self._open(target, "originate", None, req.caller_id, req.caller_id, "AppDial2")
        near = leg.near
        for name, value in req.variables.items():
            near.variables[name.lstrip("_")] = value
        sw.emit(ev.dial_event("DialBegin", None, near, DialString=target.resource))
        leg.program = self.start_far_end(leg)
        deadline = sched.timeout(req.timeout, "originate timeout")
        winner, alerted = yield from self._ring(leg, None, deadline, near.hangup_requested)
        deadline.discard()
        if winner is leg.answered:
            if req.report:
                sw.emit(ev.originate_response(req.action_id, True, near.name, fields, REASON_ANSWERED, near.uniqueid,
                                              cid_num, cid_name))
            sw.emit(ev.dial_event("DialEnd", None, near, DialStatus="ANSWER"))
            result.fire(True)
            if req.application:
                yield from self._application(near, req.application, req.data)
            else:
                yield from self.run_context(near, req.context or "", req.exten or "s")
            return True
        if winner is leg.rejected:
            status = str(winner.value)
            sw.emit(ev.dial_event("DialEnd", None, near, DialStatus=status))
            sw.hangup(near, 0)
            reason = REASON_BUSY if status == "BUSY" else REASON_CONGESTION
        elif winner is deadline:
            sw.hangup(near, 19)
            reason = REASON_RINGING if alerted else REASON_FAILED
        else:
            sw.hangup(near, 16)
            reason = REASON_HANGUP
        log.info("pbx_sim.originate.failed channel=%s reason=%s action_id=%s", req.channel, reason, req.action_id)
        if req.report:
            sw.emit(ev.originate_response(req.action_id, False, req.channel, fields, reason, None, cid_num, cid_name))
        result.fire(False)
        return False

    def _application(self, chan: Channel, app: str, data: str) -> Program:
        """Application= of an Originate, run on the answered channel (no Newexten, as in Asterisk)."""
        sched = self.sw.scheduler
        chan.application, chan.app_data = app, data
        name = app.lower()
        if name == "wait":
            try:
                seconds: float | None = max(0.0, float(data or 0))
            except ValueError:
                seconds = 0.0
        elif name == "playback":
            seconds = self._prompt_seconds(data)
        else:
            seconds = None
        got = yield from wait(sched, seconds, chan.hangup_requested)
        # A Wait() that ran out ends the channel with cause 0 (as recorded).
        self.sw.hangup(chan, 0 if got is None else 16)

    def _prompt_seconds(self, data: str) -> float:
        prompts = [p for p in data.split(",", 1)[0].split("&") if p]
        return sum(self.dp.prompt_seconds.get(p, self.dp.default_prompt_seconds) for p in prompts)

    def _playback(self, chan: Channel, priority: int, data: str) -> Program:
        """Playback(); returns True when the channel was hung up meanwhile."""
        self.sw.newexten(chan, chan.context, chan.exten, priority, "Playback", data)
        got = yield from wait(self.sw.scheduler, self._prompt_seconds(data), chan.hangup_requested)
        return got is not None

    def _who_called(self, chan: Channel, priority: int) -> Program:
        """Gosub(zvonar-sub-who-called): the campaign's recording, else (none, or missing) the stock apology.

        Returns True when the channel was hung up meanwhile.
        """
        sw = self.sw
        ctx, exten = chan.context, chan.exten
        sub = self.dp.who_called_context
        sw.newexten(chan, ctx, exten, priority, "Gosub", f"{sub},s,1")
        message = chan.variables.get("ZVONAR_ABANDON_MESSAGE", "")
        sw.newexten(chan, sub, "s", 1, "GotoIf", f'$["{message}" = ""]?stock')
        if message:
            if (yield from self._playback(chan, 2, message)):
                return True
            status = "FAILED" if message in self.dp.missing_sounds else "SUCCESS"
            sw.varset(chan, "PLAYBACKSTATUS", status)
            sw.newexten(chan, sub, "s", 3, "GotoIf", f'$["{status}" = "SUCCESS"]?done')
        if not message or chan.variables.get("PLAYBACKSTATUS") != "SUCCESS":
            if (yield from self._playback(chan, 4, "all-circuits-busy-now&pls-try-call-later")):
                return True
        sw.newexten(chan, sub, "s", 5, "Return", "")
        chan.context, chan.exten = ctx, exten
        return False

    def run_context(self, chan: Channel, context: str, exten: str) -> Program:
        """Run ``context``/``exten`` on an answered channel."""
        if context == self.dp.outbound_context:
            yield from self._outbound(chan, exten)
        elif context == self.dp.campaign_context:
            yield from self._campaign(chan)
        elif context == self.dp.inbound_context:
            yield from self._inbound(chan, exten, None)
        else:
            log.warning("pbx_sim.dialplan.no_such_context context=%s exten=%s channel=%s", context, exten, chan.name)
            self.sw.hangup(chan, 16, own=True)

    # ------------------------------------------------------------------ zvonar-outbound

    def _outbound(self, agent: Channel, exten: str) -> Program:
        sw = self.sw
        ctx = self.dp.outbound_context
        if _CLICK_TO_CALL_EXTEN.match(exten):
            digits_ok = exten.isdigit() and len(exten) <= 15
            sw.newexten(agent, ctx, exten, 1, "NoOp", f"zvonar click-to-call: client {exten}")
            digits = len(re.sub(r"[^0-9]", "", exten))
            sw.newexten(agent, ctx, exten, 2, "GotoIf", f"$[{digits} != {len(exten)} | {len(exten)} > 15]?s,1")
            if digits_ok:
                yield from self._click_to_call(agent, exten)
                return
        yield from self._invalid_number(agent)

    def _click_to_call(self, agent: Channel, number: str) -> Program:
        sw = self.sw
        ctx = self.dp.outbound_context
        name, num = self.dp.company_cid_name, self.dp.company_cid_num
        sw.newexten(agent, ctx, number, 3, "Set", f'CALLERID(all)="{name}" <{num}>')
        sw.set_callerid(agent, num, name)
        own = agent.variables.get("ZVONAR_CALLER_ID", "")
        sw.newexten(agent, ctx, number, 4, "GotoIf", f"$[{len(own)} = 0]?dial")
        if own:
            sw.newexten(agent, ctx, number, 5, "Set", f"CALLERID(all)={own}")
            sw.set_callerid(agent, *_callerid_parts(own))
        if agent.tech == LOCAL:
            target = DialTarget(LOCAL, number, context=self.dp.local_client_context)
        else:
            target = DialTarget(PJSIP, number, trunk=self.dp.trunk_endpoint)
        timeout = self.dp.dial_timeout
        sw.newexten(agent, ctx, number, 6, "Dial", f"{target.text},{fmt(timeout)}")
        status, cause = yield from self.dial(agent, target, timeout)
        if agent.dead:
            return
        if agent.hangup_requested.fired:
            sw.hangup(agent, 16)
            return
        sw.newexten(agent, ctx, number, 7, "NoOp", f"zvonar click-to-call: DIALSTATUS={status} HANGUPCAUSE={cause}")
        sw.newexten(agent, ctx, number, 8, "Hangup", "")
        sw.hangup(agent, 16, own=True)

    def _invalid_number(self, agent: Channel) -> Program:
        sw = self.sw
        ctx = self.dp.outbound_context
        sw.newexten(agent, ctx, "s", 1, "NoOp", "zvonar click-to-call: invalid client number")
        if (yield from self._playback(agent, 2, "ss-noservice")):
            sw.hangup(agent, 16)
            return
        sw.newexten(agent, ctx, "s", 3, "Hangup", "28")
        agent.cause = agent.cause if agent.cause is not None else 28
        sw.hangup(agent, 28, own=True)

    def _ring(self, leg, caller: Channel | None, deadline: Signal, *hangups: Signal) -> Program:  # type: ignore[no-untyped-def]
        """Wait for the far end, reporting Ringing/Progress once each as DialState.

        Returns what ended the wait and whether the far end ever rang or sent progress.
        """
        sched = self.sw.scheduler
        rang = progressed = False
        while True:
            waits = [leg.answered, leg.rejected, deadline, *hangups]
            waits += [] if rang else [leg.ringing]
            waits += [] if progressed else [leg.progress]
            winner = yield sched.any_of(*waits)
            if winner is not leg.ringing and winner is not leg.progress:
                return winner, rang or progressed
            rang = rang or winner is leg.ringing
            progressed = progressed or winner is leg.progress
            status = "RINGING" if winner is leg.ringing else "PROGRESS"
            self.sw.emit(ev.dial_event("DialState", caller, leg.near, DialStatus=status))

    # ------------------------------------------------------------------ Dial()

    def dial(self, caller: Channel, target: DialTarget, timeout: float) -> Program:
        """Dial(target, timeout) from ``caller``; returns (DIALSTATUS, HANGUPCAUSE).

        On ANSWER the two are bridged until one side hangs up, and then both are gone.
        """
        sw = self.sw
        sched = sw.scheduler
        sw.varset(caller, "DIALSTATUS", "")
        sw.varset(caller, "ANSWEREDTIME", "")
        sw.varset(caller, "DIALEDTIME", "")
        cid = ((caller.conn_num, caller.conn_name) if caller.conn_num != UNKNOWN
               else (caller.cid_num, caller.cid_name))
        leg = self._open(target, "dial", caller.linkedid, cid, (caller.cid_num, caller.cid_name), "AppDial", caller)
        near = leg.near
        sw.emit(ev.dial_event("DialBegin", caller, near, DialString=target.resource))
        leg.program = self.start_far_end(leg)
        deadline = sched.timeout(timeout, "dial timeout")
        winner, _alerted = yield from self._ring(leg, caller, deadline, caller.hangup_requested, near.hangup_requested)
        deadline.discard()
        if winner is leg.answered:
            yield from self._bridge_dialled(caller, near)
            return "ANSWER", 16
        if winner is leg.rejected:
            status = str(winner.value)
        elif winner is deadline:
            status = "NOANSWER"
        elif winner is caller.hangup_requested:
            status = "CANCEL"
        else:
            status = "CHANUNAVAIL"
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus=status))
        sw.hangup(near, 0)
        cause = (near.cause or 0) if near.tech == PJSIP else 0
        if cause and caller.cause is None:
            # A SIP failure is what the caller's own channel hangs up with (as recorded).
            caller.cause, caller.tech_cause = near.cause, near.tech_cause
        sw.varset(caller, "DIALSTATUS", status)
        return status, cause

    def _bridge_dialled(self, caller: Channel, near: Channel) -> Program:
        sw = self.sw
        sw.varset(caller, "DIALSTATUS", "ANSWER")
        near.exten = ""
        sw.emit(ev.dial_event("DialEnd", caller, near, DialStatus="ANSWER"))
        bridge = sw.bridge_create()
        sw.newexten(near, near.context, "", 1, "AppDial", "(Outgoing Line)")
        sw.bridge_enter(bridge, near)
        sw.bridge_enter(bridge, caller)
        winner = yield sw.scheduler.any_of(caller.hangup_requested, near.hangup_requested)
        if winner is near.hangup_requested:
            sw.bridge_leave(bridge, near)
            sw.bridge_leave(bridge, caller)
            self._dial_times(caller)
            sw.hangup(caller, 16, own=True)
            sw.bridge_destroy(bridge)
            sw.hangup(near, 16)
        else:
            sw.bridge_leave(bridge, caller)
            sw.bridge_leave(bridge, near)
            self._dial_times(caller)
            sw.hangup(near, 16)
            sw.bridge_destroy(bridge)
            sw.hangup(caller, 16)

    def _dial_times(self, caller: Channel) -> None:
        sw = self.sw
        now = sw.scheduler.now
        answered = now - (caller.answered_at if caller.answered_at is not None else now)
        dialed = now - caller.created_at
        sw.varset(caller, "ANSWEREDTIME", int(answered))
        sw.varset(caller, "ANSWEREDTIME_MS", int(answered * 1000))
        sw.varset(caller, "DIALEDTIME", int(dialed))
        sw.varset(caller, "DIALEDTIME_MS", int(dialed * 1000))
        sw.varset(caller, "DIALSTATUS", "ANSWER")

    # ------------------------------------------------------------------ zvonar-campaign

    def _campaign(self, client: Channel) -> Program:
        sw = self.sw
        ctx = self.dp.campaign_context
        queue = client.variables.get("ZVONAR_QUEUE", "")
        campaign = client.variables.get("ZVONAR_CAMPAIGN", "")
        client.h_exten = lambda: self._campaign_h(client, campaign, queue)
        sw.newexten(client, ctx, "s", 1, "NoOp", f"zvonar campaign {campaign}: client answered, queue {queue}")
        sw.newexten(client, ctx, "s", 2, "Set", "__ZVONAR_DIRECTION=campaign")
        client.variables["ZVONAR_DIRECTION"] = "campaign"
        sw.newexten(client, ctx, "s", 3, "GotoIf", f'$["{queue}" = ""]?noqueue')
        if queue:
            num = client.variables.get("ZVONAR_CLIENT_NUM", "")
            name = client.variables.get("ZVONAR_CLIENT_NAME", "")
            sw.newexten(client, ctx, "s", 4, "ExecIf", f'$["{num}" != ""]?Set(CALLERID(num)={num})')
            if num:
                sw.set_callerid(client, num, client.cid_name)
            sw.newexten(client, ctx, "s", 5, "ExecIf", f'$["{name}" != ""]?Set(CALLERID(name)={name})')
            if name:
                sw.set_callerid(client, client.cid_num, name)
            timeout = self.dp.campaign_queue_timeout
            if client.variables.get("ZVONAR_AMD") == "1":
                if not (yield from self._amd(client, campaign)):
                    return  # a machine, dropped; or the client hung up during the analysis
                timeout = self.dp.amd_queue_timeout
            sw.newexten(client, ctx, "s", 6, "Queue", f"{queue},b(zvonar-sub-autoanswer^s^1),,,{fmt(timeout)}")
            status = yield from self.queue_app.run(client, queue, timeout)
            if status == CONNECTED or client.dead:
                return
            if status == ABANDON:
                sw.hangup(client, 16, own=True)
                return
            sw.newexten(client, ctx, "s", 7, "Set", f"ZVONAR_ABANDON_REASON={status}")
            reason = status
        else:
            sw.newexten(client, ctx, "s", 12, "NoOp", f"zvonar campaign {campaign}: originated without ZVONAR_QUEUE")
            sw.newexten(client, ctx, "s", 13, "Set", "ZVONAR_ABANDON_REASON=NOQUEUE")
            sw.newexten(client, ctx, "s", 14, "Goto", "abandon")
            reason = "NOQUEUE"
        sw.newexten(client, ctx, "s", 8, "Set", "ZVONAR_ABANDON_SENT=1")
        client.variables["ZVONAR_ABANDON_SENT"] = "1"
        sw.newexten(client, ctx, "s", 9, "UserEvent",
                    f"ZvonarAbandon,Campaign: {campaign},Queue: {queue},Reason: {reason}")
        sw.user_event(client, "ZvonarAbandon", {"Campaign": campaign, "Queue": queue, "Reason": reason})
        if (yield from self._who_called(client, 10)):
            sw.hangup(client, 16)
            return
        sw.newexten(client, ctx, "s", 11, "Hangup", "")
        sw.hangup(client, 16, own=True)

    def _amd(self, client: Channel, campaign: str) -> Program:
        """AMD() and its verdict as UserEvent ZvonarHuman / ZvonarMachine; True if a human goes on to the queue."""
        sw = self.sw
        ctx = self.dp.campaign_context
        sw.newexten(client, ctx, "s", 17, "AMD", "")
        machine = client.machine
        seconds = self.dp.amd_machine_seconds if machine else self.dp.amd_human_seconds
        if (yield from wait(sw.scheduler, seconds, client.hangup_requested)) is not None:
            sw.varset(client, "AMDSTATUS", "HANGUP")
            sw.hangup(client, 16)
            return False
        status, cause = ("MACHINE", f"MAXWORDLENGTH-{int(seconds * 1000)}-5000") if machine else ("HUMAN", "HUMAN-1-800")
        sw.varset(client, "AMDSTATUS", status)
        sw.varset(client, "AMDCAUSE", cause)
        sw.newexten(client, ctx, "s", 18, "GotoIf", f'$["{status}" = "MACHINE"]?machine')
        if machine:
            sw.newexten(client, ctx, "s", 22, "UserEvent", f"ZvonarMachine,Campaign: {campaign},Cause: {cause}")
            sw.user_event(client, "ZvonarMachine", {"Campaign": campaign, "Cause": cause})
            if (yield from self._who_called(client, 23)):
                sw.hangup(client, 16)
                return False
            sw.newexten(client, ctx, "s", 24, "Hangup", "")
            sw.hangup(client, 16, own=True)
            return False
        sw.newexten(client, ctx, "s", 19, "UserEvent", f"ZvonarHuman,Campaign: {campaign},Status: {status}")
        sw.user_event(client, "ZvonarHuman", {"Campaign": campaign, "Status": status})
        return True

    def _campaign_h(self, client: Channel, campaign: str, queue: str) -> None:
        """The ``h`` extension of zvonar-campaign: report a client who hung up while queued."""
        sw = self.sw
        ctx = self.dp.campaign_context
        abandoned = client.variables.get("ABANDONED") == "TRUE"
        sent = client.variables.get("ZVONAR_ABANDON_SENT") == "1"
        sw.newexten(client, ctx, "h", 1, "GotoIf",
                    f'$["{client.variables.get("ABANDONED", "")}" != "TRUE" | "{"1" if sent else ""}" = "1"]?done')
        if abandoned and not sent:
            sw.newexten(client, ctx, "h", 2, "UserEvent",
                        f"ZvonarAbandon,Campaign: {campaign},Queue: {queue},Reason: CALLERHANGUP")
            sw.user_event(client, "ZvonarAbandon", {"Campaign": campaign, "Queue": queue, "Reason": "CALLERHANGUP"})
        sw.newexten(client, ctx, "h", 3, "NoOp", f"zvonar campaign {campaign}: client leg ended")

    # ------------------------------------------------------------------ zvonar-inbound

    def _inbound(self, chan: Channel, exten: str, leg: Leg | None) -> Program:
        """A caller entering zvonar-inbound at its DID (``leg`` set when it is a Local ;2)."""
        sw = self.sw
        ctx = self.dp.inbound_context
        caller_id = f'"{chan.cid_name}" <{chan.cid_num}>'
        if _DID_WITH_PLUS.match(exten):
            sw.newexten(chan, ctx, exten, 1, "Goto", f"{exten[1:]},1")
            exten = exten[1:]
        queue = self.dp.inbound_routes.get(exten)
        if queue is None:
            sw.newexten(chan, ctx, exten, 1, "NoOp", f"zvonar inbound: unknown DID {exten} from {caller_id}")
            sw.newexten(chan, ctx, exten, 2, "Hangup", "1")
            chan.cause = 1
            sw.hangup(chan, 1, own=True)
            return
        sw.newexten(chan, ctx, exten, 1, "Set", f"__ZVONAR_DID={exten}")
        chan.variables["ZVONAR_DID"] = exten
        sw.newexten(chan, ctx, exten, 2, "Goto", f"{queue},1")
        sw.newexten(chan, ctx, queue, 1, "NoOp", f"zvonar inbound: {caller_id} called {exten}")
        sw.newexten(chan, ctx, queue, 2, "Answer", "")
        if leg is not None:
            sw.leg_answer(leg)
        else:
            sw.set_state(chan, UP)
        if (yield from wait(sw.scheduler, self.dp.answer_settle_seconds, chan.hangup_requested)) is not None:
            sw.hangup(chan, 16, own=True)
            return
        for priority, assignment in ((3, "__ZVONAR_DIRECTION=inbound"), (4, f"__ZVONAR_CALLER={chan.cid_num}"),
                                     (5, f"__ZVONAR_QUEUE={queue}")):
            sw.newexten(chan, ctx, queue, priority, "Set", assignment)
            name, _, value = assignment.partition("=")
            chan.variables[name.lstrip("_")] = value
        timeout = self.dp.inbound_queue_timeout
        sw.newexten(chan, ctx, queue, 6, "Queue", f"{queue},,,,{fmt(timeout)}")
        status = yield from self.queue_app.run(chan, queue, timeout)
        if status == CONNECTED or chan.dead:
            return
        if status == ABANDON:
            sw.hangup(chan, 16, own=True)
            return
        sw.newexten(chan, ctx, queue, 7, "NoOp", f"zvonar inbound: QUEUESTATUS={status}")
        if (yield from self._playback(chan, 8, "vm-nobodyavail")):
            sw.hangup(chan, 16)
            return
        sw.newexten(chan, ctx, queue, 9, "Hangup", "")
        sw.hangup(chan, 16, own=True)

    def inject_inbound(self, number: str, name: str, did: str, patience: float | None, shape: str,
                       action_id: str | None) -> tuple[Channel | None, Process]:
        """A caller from the carrier: a ``PJSIP/<trunk>`` channel, or a Local pair like the recording lab.

        Returns the trunk channel (None for the Local shape, whose pair appears when the
        originate runs) and the process that ends with the call.
        """
        if shape == "pjsip":
            sw = self.sw
            trunk = sw.new_pjsip(self.dp.trunk_endpoint, RING, self.dp.inbound_context, did, None,
                                 cid=(number or UNKNOWN, name or UNKNOWN))
            program = sw.scheduler.spawn(self._inbound(trunk, did, None), f"inbound {trunk.name}")
            sw.scheduler.spawn(inbound_caller_ua(sw, trunk, patience), f"caller {trunk.name}")
            return trunk, program
        request = OriginateRequest(
            channel=f"Local/{did}@{self.dp.inbound_context}", application="Wait",
            data=fmt(FOREVER * 24 if patience is None else patience), caller_id=(number, name), timeout=30.0,
            action_id=action_id, report=action_id is not None,
        )
        return None, self.originate(request)[0]


def _callerid_parts(value: str) -> tuple[str, str]:
    """(number, name) of a caller ID as CALLERID(all) reads it: '"Name" <number>' or a bare number."""
    match = re.fullmatch(r'\s*(?:"([^"]*)"|([^<]*?))\s*<([^>]*)>\s*', value)
    if match is None:
        return value.strip(), ""
    return match.group(3).strip(), (match.group(1) if match.group(1) is not None else match.group(2) or "").strip()
