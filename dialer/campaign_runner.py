"""The live campaign runner: every running campaign paced once a second and on every call or agent event.

One ``Dialer`` per process (started next to the AMI bridge by zvonar/telephony.py). It
polls the store for running campaigns and runs one loop per campaign: build the pacing
snapshot (the campaign queue's agents from the bridge's AgentStates, the calls in flight,
the day's figures), ask the mode how many calls to place, lease that many leads in the
store (open zones only), and for each one start the attempt in the store BEFORE the
Originate goes out. Outcomes come back from the bridge (``call.ended`` on the bus, keyed
by ActionID) and from the dialplan (UserEvent ZvonarAbandon and the OriginateResponse,
read straight from the AMI connection); each finishes its attempt with the next try from
the retry rules.

Nothing is held only in memory: a lead is leased, dialling or finished in the store, so a
dialer killed mid-campaign loses nothing; what it left ``dialing`` is recovered (outcome
``lost``, rescheduled, never redialled at once) by the next dialer. The decisions are the
pure functions of dialer/runner_state.py; this module only carries them out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ami_bridge.bridge import AmiBridge
from ami_bridge.calls.originate_reasons import outcome_for_reason, parse_reason
from ami_bridge.connection import new_action_id
from ami_bridge.errors import AmiError
from ami_bridge.queue_actions import (
    InvalidQueueField,
    QueueActionError,
    QueueNotFound,
    send_queue_login,
    send_queue_logout,
)
from crm_core.db import Database
from crm_core.errors import DomainError, InvalidInput, InvalidPhone, LeaseLost
from crm_core.models import utcnow
from crm_core.phones import phone_digits
from crm_core.services import campaign_dialers
from crm_core.services import leads as leads_service
from dialer import campaign_reads as reads
from dialer import hot_leads, windows
from dialer.campaign_problems import flag
from dialer.hot_leads import Escalation
from dialer.originates import abandon_sound, campaign_originate, company_caller_id, preview_originate
from dialer.owners import dead_here
from dialer.pacing import MIN_RING_SECONDS, PacingDecision, decide
from dialer.pacing_window import OUTCOMES as WINDOW_OUTCOMES
from dialer.pacing_window import PacingWindow
from dialer.retries import RetryRules, after_outcome
from dialer.runner_config import DialerConfig
from dialer.runner_state import (
    AgentSeen,
    AttemptResult,
    CampaignInfo,
    CampaignLive,
    LiveCall,
    Resolution,
    WrapUpClock,
    agents_by_phase,
    agents_in_queue,
    day_start,
    dials_wanted,
    effective_status,
    outcome_at_shutdown,
    pacing_agents,
    parse_wall,
    state_payload,
)
from dialer.campaign_stats import CampaignStats
from dialer.stats_merge import PART_TOPIC

log = logging.getLogger(__name__)

ZONES_TTL = 30.0
# A state change made through the campaign routes is announced by the route right after its
# commit; one the runner finds in the store is announced by it only if nobody did within this.
ANNOUNCE_GRACE = 1.0
HEARD_SECONDS = 10.0
HEARD_KEPT = 20
CALLBACKS_EVERY = 1.0  # how often free operators' own callbacks are looked for
# The Originate is sent before the client's phone starts to ring (trunk, network): a call is hung up only
# once it rang the legal minimum by this margin too, counted from when it was sent.
RING_SETUP_SECONDS = 2.0
AUTO_PAUSE_REASON = "Auto-Pause"  # app_queue's pause reason for a member paused by autopause=yes
ESCALATE_EVERY = 5.0  # how often overdue hot leads are handed on (they are due within 10 minutes)
STOP_GRACE_SECONDS = 5.0  # how long stop() lets the loops finish their round before cancelling them
# How long after answering a client still finds an agent, as Asterisk runs the dialplan's
# Queue(...,2) with retry=1: app_queue rings the free agents at once and once more a second
# later (it polls; an agent who frees meanwhile wakes nobody), and by the next poll the 2 s
# are over. So an agent free within a second takes the call: the pacing's forecast reads that.
ABANDON_AFTER = 1.0
# With answering-machine detection the dialplan queues a human with Queue(...,1) after the
# verdict: app_queue's second look falls on the deadline, so only an agent free at the
# verdict takes the call.
ABANDON_AFTER_AMD = 0.0
_ENDED = ("stopped", "draft")


def abandon_after(info: CampaignInfo) -> float:
    """Seconds an answered client still finds an agent, as the dialplan queues the campaign's calls."""
    return ABANDON_AFTER_AMD if info.amd else ABANDON_AFTER


def member_name(full_name: str, endpoint: str) -> str:
    """A queue MemberName app_queue can keep: at most 79 bytes, no ';' or '|', no outer spaces."""
    name = " ".join(full_name.replace(";", " ").replace("|", " ").split()) or f"Оператор {endpoint}"
    while len(name.encode("utf-8")) > 79:
        name = name[:-1]
    return name.strip()


@dataclass
class PreviewHold:
    """A card an operator is reading: the lead is leased to this dialer until ``until`` (monotonic)."""

    lead: Any  # crm_core.services.leads.LeasedLead
    user_id: int
    until: float


class CampaignRun:
    """One campaign in this dialer: what is stored of it, its live figures, its pacing facts and its loop."""

    def __init__(self, info: CampaignInfo, live: CampaignLive, window: PacingWindow) -> None:
        self.info = info
        self.live = live
        self.window = window
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.zones: set[str | None] = set()
        self.zones_at = float("-inf")
        self.logged_in: dict[str, str] = {}  # endpoint -> queue interface we put into the queue
        # Queues the campaign left while paused: (queue, endpoint -> interface, the calls placed into it).
        self.left_queues: list[tuple[str, dict[str, str], set[str]]] = []
        self.bad_caller_id: str | None = None  # the caller ID last refused (logged once, not every tick)
        self.bad_abandon_message: str | None = None  # likewise the abandon message
        self.synced_agents: tuple[int, ...] | None = None  # the assignment last put into the queue
        self.login_retry_at: float | None = None  # when to try again the operators the queue refused
        self.phones: dict[str, reads.AgentPhone] = {}  # endpoint -> the assigned operator on it
        self.phones_for: tuple[int, ...] | None = None
        self.callbacks_at = float("-inf")
        # State changes seen and not yet announced: (previous, new, when seen).
        self.unannounced: list[tuple[str | None, str, float]] = []
        self.last_stats = float("-inf")
        self.last_tick = float("-inf")
        self.taken_at = float("-inf")
        # Writes of this dialer's calls to the store (a start, an end) under way, and done so far:
        # a rebase of the day figures on the store must not straddle one.
        self.writing = 0
        self.written = 0
        self.decision: PacingDecision | None = None
        # Another dialer holds the campaign now: this one places nothing more, settles its calls, leaves.
        self.handed_over = False
        self.rules = RetryRules()
        self.set_rules(info)

    def set_rules(self, info: CampaignInfo) -> None:
        try:
            self.rules = RetryRules.from_json(info.retry_rules or None)
        except InvalidInput as exc:
            # Stored by the campaign service after the same check; never stop a campaign over it.
            log.warning("dialer.retry_rules_unreadable campaign_id=%s error=%s", info.id, exc)
            self.rules = RetryRules()

    @property
    def draining(self) -> bool:
        return self.info.state in _ENDED

    @contextmanager
    def write(self) -> Iterator[None]:
        """Around a write to the store of a call the live figures count (see CampaignStats._rebase_day)."""
        self.writing += 1
        try:
            yield
        finally:
            self.writing -= 1
            self.written += 1

    @property
    def shared(self) -> bool:
        """Other dialers may run this campaign too (a preview one takes no lease): its figures are merged."""
        return self.info.mode == "preview"


class Dialer:
    """Runs every running campaign of the store against one AMI bridge."""

    def __init__(self, db: Database, bus: Any, bridge: AmiBridge, config: DialerConfig) -> None:
        self.db = db
        self.bus = bus
        self.bridge = bridge
        self.config = config.with_owner()
        self.owner = self.config.owner
        self.runs: dict[int, CampaignRun] = {}
        self.holds: dict[tuple[int, int], PreviewHold] = {}
        # Queues a dialing (not preview) campaign sends calls into now: preview operators stay out of them.
        self.dialing_queues: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._sub: Any = None
        self._wrap_clock = WrapUpClock()
        self._stopping = False
        self._last_recovery = float("-inf")
        self._last_escalation = float("-inf")
        self._loop: asyncio.AbstractEventLoop | None = None
        # States announced on the bus by others (the campaign routes), per campaign: (state, when heard).
        self._heard: dict[int, list[tuple[str, float]]] = {}
        self._poll_now = asyncio.Event()
        self._handling_event = False  # the bus consumer is inside an event (it may be writing an attempt)
        self.figures = CampaignStats(db, bus, self.owner, lambda: bridge.conn.peer, self._now,
                                     stats_seconds=self.config.stats_seconds, day_timezone=self.config.day_timezone)
        bridge.conn.on_event(self._on_ami_event)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Recover what dead dialers left, then follow the store and the bus until ``stop``."""
        self._loop = asyncio.get_running_loop()
        self._sub = await self.bus.subscribe(["call.ended", "call.answered", "agent.state", "campaign.state", PART_TOPIC])
        await self.recover()
        self._tasks = [
            asyncio.create_task(self._consume_bus(), name="dialer-bus"),
            asyncio.create_task(self._poll_forever(), name="dialer-poll"),
        ]
        log.info("dialer.started owner=%s", self.owner)

    async def stop(self) -> None:
        """Stop pacing, let calls still ringing end (up to ``stop_drain_seconds``), finish the rest as what is known of them.

        What is known of them: :func:`outcome_at_shutdown`.
        """
        if self._stopping:
            return
        self._stopping = True
        # The poll and the campaign loops write to the store every second: they are let finish
        # the round they are in (a task cancelled inside a transaction can leave SQLite locked),
        # and cancelled only if one hangs.
        loops = [t for t in (*self._tasks, *(r.task for r in self.runs.values()))
                 if t is not None and t.get_name() != "dialer-bus"]
        self._poll_now.set()
        for run in self.runs.values():
            run.wake.set()
        if loops:
            await asyncio.wait(loops, timeout=STOP_GRACE_SECONDS)
        await self._let_ringing_calls_end()
        tasks = [*self._tasks, *(r.task for r in self.runs.values() if r.task is not None)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        if self._sub is not None:
            await self._sub.close()
        now = utcnow()
        for run in list(self.runs.values()):
            for call in list(run.live.calls.values()):
                run.live.calls.pop(call.action_id, None)
                result = AttemptResult(call.action_id, call.lead_id, call.attempts, outcome_at_shutdown(call),
                                       call.ring_seconds(self._now()), None, None, None, call.agent_id)
                await self._finish(run, result, now)
        for key in list(self.holds):
            await self._release_hold(key, now)
        for run in list(self.runs.values()):
            if run.shared:
                await self.figures.left(run, self._now())
            if not run.handed_over:
                if run.draining:  # stopped while its calls rang: they have ended now
                    await self._logout_agents(run, set(run.logged_in))
                await self._leave_old_queues(run, now=True)
                try:
                    await campaign_dialers.release(self.db, run.info.id, self.owner)
                except Exception:  # the lease then lapses by itself
                    log.warning("dialer.release_failed campaign_id=%s", run.info.id, exc_info=True)
        log.info("dialer.stopped owner=%s", self.owner)

    async def _let_ringing_calls_end(self) -> None:
        """Give calls still ringing (or answered and waiting for an operator) up to ``stop_drain_seconds`` to end.

        Their outcomes still reach this dialer over the bus; finished as ``lost`` at once,
        a call the client then picks up would be rung again by the retry rule.
        """
        deadline = self._now() + self.config.stop_drain_seconds
        # The poll no longer renews the leases: a campaign whose lease lapsed mid-drain would be
        # paced by another dialer blind to the calls still ringing here.
        renew_every = min(self.config.tick_seconds, self.config.campaign_lease_seconds / 3)
        renewed = float("-inf")
        # A call leaves live.calls before its attempt is written: the event's handling is waited for too.
        while self._now() < deadline and (self._handling_event or any(
            call.connected_at is None and not call.abandoned
            for run in self.runs.values() for call in run.live.calls.values()
        )):
            if self._now() - renewed >= renew_every:
                renewed = self._now()
                await self._renew_while_draining()
            await asyncio.sleep(0.05)

    async def _renew_while_draining(self) -> None:
        """Renew the lease of each campaign with calls still in flight here (released by stop() after the drain)."""
        for run in list(self.runs.values()):
            if run.handed_over or not run.live.calls:
                continue
            try:
                if not await self._hold(run.info):
                    run.handed_over = True
                    log.warning("dialer.campaign.handed_over campaign_id=%s calls_in_flight=%d",
                                run.info.id, len(run.live.calls))
            except Exception as exc:  # the lease then lapses by itself; the drain goes on
                log.warning("dialer.lease_renewal_failed campaign_id=%s error=%s", run.info.id, type(exc).__name__)

    def _now(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    async def recover(self) -> list[int]:
        """Attempts left ``dialing`` by dead dialers: this host's at once, others' after recover_after_seconds."""
        self._last_recovery = self._now()
        now = utcnow()
        recovered: list[int] = []
        try:
            for owner in sorted(await reads.dialing_owners(self.db)):
                if dead_here(owner, self.owner):
                    recovered += await leads_service.recover_dialing(self.db, owner, now, 0)
            recovered += await leads_service.recover_dialing(self.db, None, now, self.config.recover_after_seconds)
        except Exception:
            log.exception("dialer.recovery_failed")
        if recovered:
            log.warning("dialer.recovered leads=%d ids=%s", len(recovered), recovered[:20])
        return recovered

    async def escalate(self) -> list[Escalation]:
        """Hot leads nobody dialled in time go to another operator (dialer/hot_leads.py); each is told on the bus."""
        self._last_escalation = t = self._now()
        now = utcnow()
        zones = {cid: await self._open_zones(run, now, t) for cid, run in list(self.runs.items()) if not run.handed_over}
        done = await hot_leads.escalate_overdue(self.db, now, zones)
        for e in done:
            run = self.runs.get(e.campaign_id)
            await self.bus.publish("campaign.hot_lead", {
                "campaign_id": e.campaign_id, "team_id": run.info.team_id if run else None,
                "created_by_id": run.info.created_by_id if run else None, "lead_id": e.lead_id,
                "appeal_id": e.appeal_id, "from_user_id": e.from_user_id, "user_id": e.to_user_id,
                "due_by": e.due_by.isoformat(),
            })
        return done

    # ----------------------------------------------------------------- campaigns

    async def _poll_forever(self) -> None:
        while not self._stopping:
            try:
                await self.poll()
                if self._now() - self._last_recovery >= self.config.recover_every_seconds:
                    await self.recover()
                if self.runs and self._now() - self._last_escalation >= ESCALATE_EVERY:
                    await self.escalate()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dialer.poll_failed")
            try:
                await asyncio.wait_for(self._poll_now.wait(), timeout=self.config.tick_seconds)
            except TimeoutError:
                pass
            self._poll_now.clear()

    async def poll(self) -> None:
        """Follow the store: new running campaigns start, state changes are applied and published."""
        infos = {info.id: info for info in await reads.campaigns_to_run(self.db, list(self.runs))}
        await self._keep_preview_operators_out_of_dialing_queues(infos.values())
        for cid, info in infos.items():
            run = self.runs.get(cid)
            if run is None:
                if info.state == "running" and await self._hold(info):
                    await self._start_run(info)
            else:
                if not run.handed_over and not await self._hold(info):
                    run.handed_over = True
                    run.wake.set()
                    log.warning("dialer.campaign.handed_over campaign_id=%s calls_in_flight=%d",
                                cid, len(run.live.calls))
                await self._update_run(run, info)
        for cid in [c for c in self.runs if c not in infos]:
            # Deleted: as good as stopped.
            run = self.runs[cid]
            await self._update_run(run, replace(run.info, state="stopped"))

    async def _keep_preview_operators_out_of_dialing_queues(self, infos: Iterable[CampaignInfo]) -> None:
        """A queue a running campaign dials into (any server's, or one of ours still settling its calls) is no
        place for a preview campaign's operators: its calls would ring them while they read cards, and its
        pacing would count them as free. Done before a campaign is taken up or resumed here.
        """
        self.dialing_queues = {i.queue for i in infos if i.mode != "preview" and i.state == "running"} | {
            r.info.queue for r in self.runs.values() if r.info.mode != "preview" and r.live.calls}
        for run in self.runs.values():
            if run.logged_in and self._kept_out(run):
                log.info("dialer.preview_operators_leave campaign_id=%s queue=%s: a dialing campaign uses it",
                         run.info.id, run.info.queue)
                await self._logout_agents(run, set(run.logged_in))
                run.synced_agents = None

    def _kept_out(self, run: CampaignRun) -> bool:
        """Whether ``run`` is a preview campaign whose queue a dialing campaign uses now."""
        return run.info.mode == "preview" and run.info.queue in self.dialing_queues

    async def _hold(self, info: CampaignInfo) -> bool:
        """Take or renew this dialer's lease on the campaign (one pacer per campaign, whatever the servers).

        Preview campaigns need none: nothing is paced, every server may hand out cards
        (each lead is leased in the store) to the operators whose requests it gets.
        """
        if info.mode == "preview":
            return True
        return await campaign_dialers.claim(
            self.db, info.id, self.owner, utcnow(), timedelta(seconds=self.config.campaign_lease_seconds),
            is_dead=lambda owner: dead_here(owner, self.owner),
        )

    async def _start_run(self, info: CampaignInfo) -> None:
        now = utcnow()
        day, since = day_start(now, self.config.day_timezone)
        dials, answered, abandoned, machines = await reads.day_counts(self.db, info.id, since)
        live = CampaignLive(info.id, day, self.config.window_seconds, day_dials=dials, day_answered=answered,
                            day_abandoned=abandoned, day_machines=machines)
        # The last half hour's figures too, on this runner's clock: a restart must not zero the wallboard's window.
        t = self._now()
        for started, answered_at, outcome in await reads.recent_attempts(
                self.db, info.id, now - timedelta(seconds=self.config.window_seconds)):
            human = outcome in ("answered", "abandoned")
            live.recall(t - (now - started).total_seconds(),
                        t - (now - (answered_at or started)).total_seconds() if human else None, outcome == "abandoned")
        window = PacingWindow(cap=info.abandon_cap, lines_per_agent=info.lines_per_agent, abandon_after=abandon_after(info),
                              amd_misread_share=info.amd_misread_share)
        window.day_dials, window.day_answered, window.day_abandoned = dials, answered, abandoned
        window.day_machines = machines
        run = CampaignRun(info, live, window)
        run.taken_at = self._now()
        run.unannounced.append((None, info.state, self._now()))
        self.runs[info.id] = run
        run.task = asyncio.create_task(self._run_loop(run), name=f"dialer-campaign-{info.id}")
        log.info("dialer.campaign.taken campaign_id=%s mode=%s queue=%s day_dials=%d", info.id, info.mode, info.queue, dials)
        if info.mode != "preview" and not (info.caller_id or self.config.company_caller_id).strip():
            # The client leg is originated straight into the trunk: no dialplan can set its From afterwards.
            log.warning("dialer.no_caller_id campaign_id=%s: neither the campaign's caller ID nor ami.company_caller_id "
                        "is set; the carrier decides what the client's phone shows (often nothing)", info.id)
        if info.mode != "preview" and not (info.abandon_message or self.config.abandon_message):
            log.warning("dialer.no_abandon_message campaign_id=%s: neither the campaign's abandon_message nor "
                        "ami.abandon_message is set; a client no agent takes in time hears the stock apology, which "
                        "does not say who called (the FTC and Ofcom ask for the company's name and a number)", info.id)

    async def _update_run(self, run: CampaignRun, info: CampaignInfo) -> None:
        previous = run.info
        run.info = info
        if info.retry_rules != previous.retry_rules:
            run.set_rules(info)
        run.window.cap, run.window.lines_per_agent = info.abandon_cap, info.lines_per_agent
        run.window.abandon_after = abandon_after(info)
        run.window.amd_misread_share = info.amd_misread_share
        if info.queue != previous.queue:
            # Its operators join the new queue when it runs again; they leave the old one once
            # the calls placed into it have ended (a client answering there must find them).
            if run.logged_in:
                run.left_queues.append((previous.queue, run.logged_in, set(run.live.calls)))
            run.logged_in = {}
            run.synced_agents = None
        if info.state != previous.state:
            log.info("dialer.campaign.state campaign_id=%s state=%s previous=%s", info.id, info.state, previous.state)
            run.unannounced.append((previous.state, info.state, self._now()))
            run.wake.set()
            if info.state in _ENDED:
                await self._wind_down(run)
            elif info.state != "running":
                # The pause gave their leads back to the store: a card kept here could be shown
                # to a second operator after the resume.
                await self._give_back_cards(run)

    async def _wind_down(self, run: CampaignRun) -> None:
        """A stopped campaign: give back the cards being read; its agents leave the queue once its calls have ended.

        A client who answers a call placed before the stop must still find an operator:
        an empty queue would make the answer an abandon (and hold the number 72 hours).
        """
        await self._give_back_cards(run)
        run.synced_agents = None

    async def _give_back_cards(self, run: CampaignRun) -> None:
        """The preview cards being read in the campaign: their leads back to the store, the cards gone."""
        now = utcnow()
        for key in [k for k in self.holds if k[0] == run.info.id]:
            await self._release_hold(key, now)

    async def _announce(self, run: CampaignRun, t: float, *, now: bool = False) -> None:
        """``campaign.state`` for each change nobody announced within ANNOUNCE_GRACE (a service call, a dialer start)."""
        while run.unannounced and (now or t - run.unannounced[0][2] >= ANNOUNCE_GRACE):
            previous, state, seen = run.unannounced.pop(0)
            heard = [h for h in self._heard.get(run.info.id, []) if t - h[1] <= HEARD_SECONDS]
            self._heard[run.info.id] = heard
            said = next((h for h in heard if h[0] == state), None)
            if said is not None:
                heard.remove(said)  # the route that made the change has announced it
                continue
            if any(h[1] > seen for h in heard):
                continue  # a newer state is announced already: this one is history
            await self.bus.publish("campaign.state", {**state_payload(replace(run.info, state=state), previous, utcnow()),
                                                      "source": "dialer"})

    # ----------------------------------------------------------------- agents in the queue

    async def _sync_agents(self, run: CampaignRun) -> None:
        """Put the campaign's assigned operators into its queue (and take out those no longer assigned).

        Done when the campaign runs and whenever its assignment changes; an operator who
        logs out of the queue afterwards stays out (they pause or leave on purpose). A
        preview campaign's queue gets no calls, but its members are what the campaign's
        figures count: free while reading a card, talking on its call (the phone in use),
        in wrap-up while the desk pauses for it. Not while a dialing campaign shares the
        queue (its figures then show that campaign's operators, as the queue has them).
        """
        if not self.config.login_agents or not self.bridge.conn.connected:
            return
        problems = run.live.problems
        kept_out = self._kept_out(run)
        flag(problems, "kept_out_of_queue", kept_out, queue=run.info.queue)
        if kept_out:
            return
        run.synced_agents = run.info.agents
        phones = await reads.agent_phones(self.db, run.info.agents)
        flag(problems, "no_phones", not phones)
        wanted = {p.endpoint: p for p in phones}
        missing = refused = 0
        for endpoint, phone in wanted.items():
            if endpoint in run.logged_in:
                continue
            interface = self.config.agent_channel_template.format(endpoint=endpoint)
            try:
                await send_queue_login(self.bridge.conn, run.info.queue, interface, member_name(phone.full_name, endpoint))
                run.logged_in[endpoint] = interface
            except QueueNotFound as exc:
                missing += 1
                log.warning("dialer.agent_login_failed campaign_id=%s endpoint=%s error=%s", run.info.id, endpoint, exc)
            except (AmiError, InvalidQueueField) as exc:
                refused += 1
                log.warning("dialer.agent_login_failed campaign_id=%s endpoint=%s error=%s", run.info.id, endpoint, exc)
        flag(problems, "queue_missing", missing > 0, queue=run.info.queue)
        flag(problems, "agents_not_in_queue", refused > 0, count=refused)
        # Looked at again until everyone is in: a queue reloaded, an operator given a phone.
        retry = missing or refused or not phones
        run.login_retry_at = self._now() + self.config.login_retry_seconds if retry else None
        await self._logout_agents(run, set(run.logged_in) - set(wanted))

    async def _logout_agents(self, run: CampaignRun, endpoints: set[str],
                             queue: str | None = None, logged_in: dict[str, str] | None = None) -> None:
        """Take ``endpoints`` out of the campaign's queue (or of ``queue``, one it left, with its ``logged_in``)."""
        queue = queue or run.info.queue
        members = run.logged_in if logged_in is None else logged_in
        for endpoint in sorted(endpoints):
            interface = members.pop(endpoint, None)
            if interface is None:
                continue
            # Another running campaign of this queue still wants the agent there.
            if any(r is not run and not r.draining and r.info.queue == queue and endpoint in r.logged_in
                   for r in self.runs.values()):
                continue
            try:
                await send_queue_logout(self.bridge.conn, queue, interface)
            except (AmiError, InvalidQueueField, QueueActionError) as exc:
                log.warning("dialer.agent_logout_failed campaign_id=%s endpoint=%s error=%s", run.info.id, endpoint, exc)

    async def _leave_old_queues(self, run: CampaignRun, *, now: bool = False) -> None:
        """Take the operators out of the queues the campaign left, once the calls placed into each have ended."""
        for entry in list(run.left_queues):
            queue, members, calls = entry
            if now or not calls & run.live.calls.keys():
                run.left_queues.remove(entry)
                back = set(run.logged_in) if queue == run.info.queue else set()  # changed back to it meanwhile
                await self._logout_agents(run, set(members) - back, queue, members)

    def agents_seen(self) -> list[AgentSeen]:
        """Every queue agent the bridge knows, with the seconds it has been in its state."""
        t = self._now()
        wrapup = self.config.wrapup_pause_reasons
        return [AgentSeen(a.agent, effective_status(str(a.state), a.reason, wrapup), max(0.0, t - a.since), tuple(a.queues),
                          a.reason)
                for a in self.bridge.agents.snapshot()]

    # ----------------------------------------------------------------- the loop of one campaign

    async def _run_loop(self, run: CampaignRun) -> None:
        while True:
            wait = max(0.0, run.last_tick + self.config.tick_seconds - self._now())
            try:
                await asyncio.wait_for(run.wake.wait(), timeout=wait)
            except TimeoutError:
                pass
            run.wake.clear()
            if self._stopping:
                return
            try:
                await self.tick(run)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dialer.tick_failed campaign_id=%s", run.info.id)
            if (run.draining or run.handed_over) and not run.live.calls:
                if not run.handed_over:
                    await self._logout_agents(run, set(run.logged_in))
                    await self._leave_old_queues(run, now=True)
                    await self._announce(run, self._now(), now=True)
                    await self.figures.publish(run, self._now(), final=True)
                    await campaign_dialers.release(self.db, run.info.id, self.owner)
                if self.runs.get(run.info.id) is run:
                    del self.runs[run.info.id]
                log.info("dialer.campaign.released campaign_id=%s state=%s handed_over=%s",
                         run.info.id, run.info.state, run.handed_over)
                return

    async def tick(self, run: CampaignRun) -> int:
        """One pacing round of one campaign; returns how many calls were placed."""
        t = self._now()
        run.last_tick = t
        now = utcnow()
        day, midnight = day_start(now, self.config.day_timezone)
        if day != run.live.day:
            # The cap is held per day: a new day's abandons start from zero (the estimates carry on).
            run.window.day_dials = run.window.day_answered = run.window.day_abandoned = run.window.day_machines = 0
        run.live.roll_day(day)
        mine = agents_in_queue(self.agents_seen(), run.info.queue)
        run.live.observe_agents(agents_by_phase(mine), t)
        if run.handed_over:
            return 0
        await self._announce(run, t)
        if t - run.last_stats >= self.config.stats_seconds:
            await self.figures.publish(run, t)
        if run.left_queues:
            await self._leave_old_queues(run)
        running = run.info.state == "running"
        if not running:
            run.live.problems.clear()  # what keeps a running campaign from dialing: nothing to say of one at rest
        flag(run.live.problems, "pbx_disconnected", running and not self.bridge.conn.connected)
        # app_queue's autopause: an operator who let a call ring out takes none until they resume.
        auto_paused = sum(1 for a in mine if a.state == "paused" and a.reason == AUTO_PAUSE_REASON)
        flag(run.live.problems, "agents_auto_paused", running and auto_paused > 0, count=auto_paused)
        retry_logins = run.login_retry_at is not None and t >= run.login_retry_at
        if running and (run.synced_agents != run.info.agents or retry_logins):
            await self._sync_agents(run)
        if not running or run.info.mode == "preview" or not self.bridge.conn.connected:
            return 0
        caller_ids = self._caller_ids(run)
        if caller_ids is None:
            return 0
        placed = 0
        if t - run.callbacks_at >= CALLBACKS_EVERY and any(a.state == "ready" for a in mine):
            run.callbacks_at = t
            taken = await self._dial_callbacks(run, mine, now, t, caller_ids[1])
            placed += len(taken)
            # Those operators' phones ring now: not free for the queue's calls.
            mine = [replace(a, state="ringing", seconds=0.0) if a.agent in taken else a for a in mine]
        available = pacing_agents(mine)
        free = sum(1 for phase, _ in available if phase == "free")
        predictive = None
        if run.info.mode == "predictive":
            run.decision = decide(self.snapshot(run, available, t, (now - midnight).total_seconds()))
            predictive = run.decision.dials
            if run.decision.hang_up:
                await self.hang_up_rung_long(run, run.decision.hang_up, t)
        wanted = dials_wanted(
            run.info.mode, free=free, logged_in=len(available), unconnected=run.live.unconnected,
            in_flight=len(run.live.calls), lines_per_agent=run.info.lines_per_agent, max_lines=run.info.max_lines,
            max_per_tick=self.config.max_dials_per_tick, predictive=predictive,
        )
        if wanted <= 0:
            return placed
        zones = await self._open_zones(run, now, t)
        flag(run.live.problems, "outside_hours", not zones)
        if not zones:
            return placed
        leased = await leads_service.lease_leads(self.db, run.info.id, self.owner, now, wanted,
                                                 self.config.lease_seconds, zones)
        for lead in leased:
            placed += await self._dial(run, lead, caller_ids[0])
        return placed

    async def hang_up_rung_long(self, run: CampaignRun, count: int, t: float) -> int:
        """Hang up the ``count`` longest-ringing calls the pacing asked to; returns how many were.

        Only calls that rang the legal minimum since they were sent, and none picked up
        (the tracker checks again as it sends). Each ends as a no answer through its
        OriginateResponse, like any client who did not pick up.
        """
        rung = MIN_RING_SECONDS + RING_SETUP_SECONDS
        old = sorted((c for c in run.live.calls.values()
                      if c.ringing and c.mode != "preview" and c.picked_up_at is None and t - c.dialed_at >= rung),
                     key=lambda c: c.dialed_at)
        done = 0
        for call in old[:count]:
            try:
                done += await self.bridge.hang_up_ringing(call.action_id)
            except AmiError as exc:
                log.warning("dialer.hang_up_failed campaign_id=%s action_id=%s error=%s", run.info.id, call.action_id, exc)
                break
        if done:
            log.info("dialer.hung_up_rung_long campaign_id=%s calls=%d", run.info.id, done)
        return done

    async def _dial_callbacks(self, run: CampaignRun, mine: list[AgentSeen], now: datetime, t: float,
                              caller_id: str | None) -> set[str]:
        """Leads pinned to an operator who is free now go to that operator's phone first (an agent guaranteed).

        A personal callback or an escalated appeal must reach one person, which the queue
        cannot promise; so it is dialled like a preview card, operator first. Only their own
        leads: one whose client's window is shut now must not turn into a list lead rung
        operator-first. Returns the endpoints now ringing.
        """
        if run.phones_for != run.info.agents:
            run.phones = {p.endpoint: p for p in await reads.agent_phones(self.db, run.info.agents)}
            run.phones_for = run.info.agents
        free = {run.phones[a.agent].user_id: a.agent for a in mine if a.state == "ready" and a.agent in run.phones}
        due = await reads.agents_with_callbacks(self.db, run.info.id, now, free) if free else set()
        if not due:
            return set()
        zones = await self._open_zones(run, now, t)
        taken: set[str] = set()
        for user_id in sorted(due):
            if not zones:
                break
            for lead in await leads_service.lease_leads(self.db, run.info.id, self.owner, now, 1, self.config.lease_seconds,
                                                        zones, agent_id=user_id, agent_guaranteed=True, pinned=True):
                if await self._dial_to_agent(run, lead, user_id, free[user_id], caller_id):
                    taken.add(free[user_id])
        return taken

    def snapshot(self, run: CampaignRun, available: list[tuple[str, float]], t: float, day_seconds: float) -> Any:
        """The pacing snapshot of one campaign now (dialer.pacing.PacingStats); ``day_seconds`` since its midnight."""
        calls = run.live.calls.values()
        return run.window.snapshot(
            day_seconds, agents=available,
            ringing=[max(0.0, t - c.dialed_at) for c in calls if c.ringing and c.mode != "preview"],
            waiting=[max(0.0, t - (c.answered_at or t)) for c in calls if c.waiting and c.mode != "preview"],
        )

    async def _open_zones(self, run: CampaignRun, now: datetime, t: float) -> set[str | None]:
        if t - run.zones_at >= ZONES_TTL:
            run.zones = await leads_service.lead_zones(self.db, run.info.id)
            run.zones_at = t
        try:
            hours = windows.CallingHours.from_json(run.info.hours or None)
        except InvalidInput as exc:
            log.warning("dialer.hours_unreadable campaign_id=%s error=%s", run.info.id, exc)
            return set()
        return windows.open_zones(hours, run.zones, now)

    def _caller_ids(self, run: CampaignRun) -> tuple[str | None, str | None] | None:
        """What the client sees: (queue calls, operator-first calls; None there is the dialplan's company number).

        None when the campaign's caller ID cannot be sent (a line break stored before it was
        refused): its setting is at fault, not its leads, so none is leased until it is
        corrected; logged once, not every tick.
        """
        try:
            ids = (company_caller_id(run.info.caller_id, self.config.company_caller_id),
                   company_caller_id(run.info.caller_id, ""))
        except ValueError as exc:
            flag(run.live.problems, "caller_id_unusable", True)
            if run.bad_caller_id != run.info.caller_id:
                run.bad_caller_id = run.info.caller_id
                log.error("dialer.caller_id_unusable campaign_id=%s error=%s", run.info.id, exc)
            return None
        flag(run.live.problems, "caller_id_unusable", False)
        run.bad_caller_id = None
        return ids

    def _abandon_message(self, run: CampaignRun) -> str | None:
        """The sound an abandoned call hears: the campaign's, else the company's; None: the stock apology.

        A stored name that is no sound name (written past the API) falls back to the stock
        apology rather than stop the campaign or blame its leads; logged once.
        """
        try:
            sound = abandon_sound(run.info.abandon_message, self.config.abandon_message)
        except ValueError as exc:
            flag(run.live.problems, "abandon_message_unusable", True)
            refused = run.info.abandon_message or self.config.abandon_message
            if run.bad_abandon_message != refused:
                run.bad_abandon_message = refused
                log.error("dialer.abandon_message_unusable campaign_id=%s error=%s", run.info.id, exc)
            return None
        flag(run.live.problems, "abandon_message_unusable", False)
        return sound

    async def _dial(self, run: CampaignRun, lead: Any, caller_id: str | None) -> int:
        """A predictive/progressive call: the client's leg into the campaign context. Returns 1 if placed."""
        info = run.info
        if info.state != "running":
            await self._release(lead.id, utcnow(), "ready", None, "campaign no longer running")
            return 0
        try:
            digits = phone_digits(lead.phone)
            action_id = new_action_id()
            action = campaign_originate(
                action_id=action_id, digits=digits, campaign_id=info.id, lead_id=lead.id, queue=info.queue,
                client_name=getattr(lead, "client_name", None), trunk_dial_template=self.config.trunk_dial_template,
                context=self.config.campaign_context, timeout_ms=int(info.ring_timeout(self.config.default_ring_timeout) * 1000),
                caller_id=caller_id, amd=info.amd, abandon_message=self._abandon_message(run),
            )
        except (InvalidPhone, ValueError) as exc:
            await self._undialable(run, lead, exc)
            return 0
        # No agent/number hints: the tracker reads Channel as the client's leg (a predictive call).
        placed = await self.place(run, lead, action, info.mode, getattr(lead, "agent_id", None), {})
        return 1 if placed is not None else 0

    async def _dial_to_agent(self, run: CampaignRun, lead: Any, user_id: int, endpoint: str,
                             caller_id: str | None) -> int:
        """A lead pinned to one operator (a personal callback, an escalated appeal): their phone first, then the client."""
        try:
            digits = phone_digits(lead.phone)
            action_id = new_action_id()
            action = preview_originate(
                action_id=action_id, endpoint=endpoint, digits=digits, client_name=getattr(lead, "client_name", None),
                client_id=lead.client_id, user_id=user_id, campaign_id=run.info.id, lead_id=lead.id,
                agent_channel_template=self.config.agent_channel_template, context=self.config.click_to_call_context,
                timeout_ms=self.config.preview_timeout_ms, caller_id=caller_id,
            )
        except (InvalidPhone, ValueError) as exc:
            await self._undialable(run, lead, exc)
            return 0
        hints = {"requested_by": user_id, "agent": endpoint, "number": digits}
        return 1 if await self.place(run, lead, action, "preview", user_id, hints) is not None else 0

    async def _undialable(self, run: CampaignRun, lead: Any, exc: Exception) -> None:
        log.warning("dialer.lead_undialable campaign_id=%s lead_id=%s error=%s", run.info.id, lead.id, exc)
        await self._release(lead.id, utcnow(), "failed", None, f"cannot be dialled: {exc}"[:200])

    async def place(self, run: CampaignRun, lead: Any, action: dict[str, Any], mode: str, agent_id: int | None,
                    hints: Mapping[str, Any], *, raise_errors: bool = False) -> LiveCall | None:
        """The attempt in the store (DNC checked there, the last moment), then the Originate, exactly once.

        ``mode`` "preview" is a call that rings an operator first (a preview card, a
        callback): its Originate answer is the operator's, so it is not fed to the pacing.
        A lead lost or on a DNC list is not dialled (None); an Originate that fails
        finishes its attempt as ``failed`` (None). With ``raise_errors`` (an operator is
        waiting for the answer) those raise LeaseLost / LeadOnDnc / AmiError instead.
        """
        info = run.info
        action_id = str(action["ActionID"])
        now = utcnow()
        with run.write():
            try:
                attempt_id = await leads_service.start_attempt(self.db, lead.id, self.owner, action_id, mode, now,
                                                               agent_id=agent_id)
            except LeaseLost as exc:
                # LeadOnDnc is a LeaseLost: the number was listed; the lead is now dnc.
                log.info("dialer.not_dialled campaign_id=%s lead_id=%s reason=%s", info.id, lead.id, exc.code)
                if raise_errors:
                    raise
                return None
            call = LiveCall(action_id=action_id, campaign_id=info.id, lead_id=lead.id, attempt_id=attempt_id,
                            client_id=lead.client_id, phone=lead.phone, attempts=lead.attempts + 1, mode=mode,
                            dialed_at=self._now(), agent_id=agent_id,
                            amd="ZVONAR_AMD=1" in action.get("Variable", ()))  # what the dialplan was asked for
            run.live.dialed(call)
        if mode != "preview":
            run.window.dial_placed()
        try:
            await self.bridge.originate(action, client_id=lead.client_id, campaign_id=info.id, team_id=info.team_id,
                                        **hints)
        except AmiError as exc:
            # Not resent (it could ring twice): the attempt failed, the retry rule reschedules the lead.
            log.warning("dialer.originate_failed campaign_id=%s lead_id=%s action_id=%s error=%s", info.id, lead.id, action_id, exc)
            if run.live.undialed(action_id) is not None:
                if mode != "preview":
                    run.window.day_dials -= 1
                await self._finish(run, AttemptResult(action_id, lead.id, call.attempts, "failed", 0.0, None, None, None,
                                                      agent_id), utcnow())
            if raise_errors:
                raise
            return None
        log.info("dialer.dialled campaign_id=%s lead_id=%s action_id=%s mode=%s attempt=%d", info.id, lead.id, action_id,
                 mode, call.attempts)
        return call

    async def _release(self, lead_id: int, now: datetime, state: str, next_try_at: datetime | None, reason: str) -> None:
        # False (not ours any more) is fine: whoever holds it now decides.
        await leads_service.release_lead(self.db, lead_id, self.owner, now, state=state, next_try_at=next_try_at, reason=reason)

    def stats(self, campaign_id: int) -> dict[str, Any] | None:
        """The live figures of a campaign this dialer runs, merged with the other dialers' (None if it runs it not)."""
        run = self.runs.get(campaign_id)
        if run is None or run.handed_over:
            return None
        t = self._now()
        run.live.observe_agents(agents_by_phase(agents_in_queue(self.agents_seen(), run.info.queue)), t)
        return self.figures.view(run, t)

    def wake(self, campaign_id: int | None = None) -> None:
        """Re-read the store at once (a supervisor changed something)."""
        for cid, run in self.runs.items():
            if campaign_id is None or cid == campaign_id:
                run.wake.set()

    # ----------------------------------------------------------------- outcomes

    def run_of_action(self, action_id: str | None) -> CampaignRun | None:
        if not action_id:
            return None
        for run in self.runs.values():
            if action_id in run.live.calls:
                return run
        return None

    def _on_ami_event(self, event: Mapping[str, Any], t: float) -> None:
        """OriginateResponse and ZvonarAbandon, read as they arrive (no store access: cheap and in order)."""
        if self._stopping:
            return
        name = event.get("Event")
        try:
            if name == "OriginateResponse":
                self._originate_response(event, t)
            elif name == "UserEvent" and event.get("UserEvent") == "ZvonarAbandon":
                self._abandon_event(event, t)
            elif name == "UserEvent" and event.get("UserEvent") in ("ZvonarHuman", "ZvonarMachine"):
                self._amd_event(event, t)
        except Exception:
            log.exception("dialer.ami_event_failed event=%s", name)

    def _originate_response(self, event: Mapping[str, Any], t: float) -> None:
        run = self.run_of_action(_text(event.get("ActionID")))
        if run is None:
            return
        action_id = _text(event.get("ActionID"))
        success = _text(event.get("Response")) == "Success"
        uniqueid = _text(event.get("Uniqueid"))
        linkedid = uniqueid if success and uniqueid and uniqueid != "<unknown>" else None
        resolution = run.live.originate_response(action_id, success, t, linkedid)
        if resolution is None:
            return
        self._resolved(run, resolution, event)

    def _resolved(self, run: CampaignRun, resolution: Resolution, event: Mapping[str, Any]) -> None:
        """A dial's outcome is known: into the pacing window."""
        if resolution.human:
            outcome = "human"
        elif resolution.machine:
            outcome = "machine"
        else:
            outcome = str(outcome_for_reason(parse_reason(event.get("Reason"))))
        run.window.dial_resolved(outcome if outcome in WINDOW_OUTCOMES else "failed", resolution.seconds)
        run.wake.set()

    def _amd_event(self, event: Mapping[str, Any], t: float) -> None:
        """The dialplan's answering-machine verdict (UserEvent ZvonarHuman / ZvonarMachine) on a call of ours."""
        run = self._run_of_campaign(_text(event.get("Campaign")))
        if run is None:
            return
        human = event.get("UserEvent") == "ZvonarHuman"
        resolution = run.live.amd_verdict(t, human, linkedid=_text(event.get("Linkedid")))
        if resolution is not None:
            self._resolved(run, resolution, event)
            if not human:
                log.info("dialer.machine campaign_id=%s status=%s", run.info.id, _text(event.get("Cause")))

    def _run_of_campaign(self, campaign: str | None) -> CampaignRun | None:
        return self.runs.get(int(campaign)) if campaign and campaign.isdigit() and len(campaign) < 10 else None

    def _abandon_event(self, event: Mapping[str, Any], t: float) -> None:
        run = self._run_of_campaign(_text(event.get("Campaign")))
        if run is None:
            return
        if run.live.abandon_reported(t, linkedid=_text(event.get("Linkedid"))):
            run.window.abandoned()
            log.info("dialer.abandon campaign_id=%s reason=%s", run.info.id, _text(event.get("Reason")))
        run.wake.set()

    async def _consume_bus(self) -> None:
        async for event in self._sub:
            self._handling_event = True
            try:
                await self._on_bus(event.topic, event.payload)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dialer.bus_event_failed topic=%s", event.topic)
            finally:
                self._handling_event = False

    async def _on_bus(self, topic: str, payload: Mapping[str, Any]) -> None:
        t = self._now()
        if topic == PART_TOPIC:
            self.figures.heard(payload, t)
            return
        if topic == "campaign.state":
            await self._state_announced(payload)
            return
        if topic == "agent.state":
            self._agent_state(payload)
            for run in self.runs.values():
                run.wake.set()
            return
        action_id = _text(payload.get("action_id"))
        run = self.run_of_action(action_id)
        if run is None or action_id is None:
            return
        if topic == "call.answered":
            if run.live.connected(action_id, t, _text(payload.get("call_id"))):
                run.wake.set()
                await self._claim_attempt(run, action_id, payload.get("user_id"))
        elif topic == "call.ended":
            await self._settle(run, action_id, payload, t)

    async def _claim_attempt(self, run: CampaignRun, action_id: str, user_id: Any) -> None:
        """The operator a queue call reached is written on its attempt now: from then on only they wrap it up."""
        call = run.live.calls.get(action_id)
        if call is None or call.agent_id is not None or not isinstance(user_id, int) or isinstance(user_id, bool):
            return
        call.agent_id = user_id
        try:
            await leads_service.claim_attempt(self.db, action_id, user_id)
        except Exception as exc:  # the attempt gets its agent when the call ends anyway
            log.warning("dialer.claim_failed action_id=%s error=%s", action_id, type(exc).__name__)

    async def _state_announced(self, payload: Mapping[str, Any]) -> None:
        """A campaign's state changed (its route says so right after the commit): act on it now, not at the next poll."""
        cid, state = payload.get("campaign_id"), payload.get("state")
        if not isinstance(cid, int) or isinstance(cid, bool) or state not in ("draft", "running", "paused", "stopped"):
            return
        if payload.get("source") == "dialer":
            return  # our own (or another dialer's) announcement of a change already applied
        heard = self._heard.setdefault(cid, [])
        heard.append((str(state), self._now()))
        del heard[:-HEARD_KEPT]
        run = self.runs.get(cid)
        if run is None:
            if state == "running":
                self._poll_now.set()
        elif run.info.state != state:
            await self._update_run(run, replace(run.info, state=str(state)))

    def _agent_state(self, payload: Mapping[str, Any]) -> None:
        """Wrap-up lengths for the pacing: from the end of a call to the next state that is not a wrap-up.

        Asterisk's wrap-up and the desk's wrap-up pause that follows it are one wrap-up.
        """
        agent = _text(payload.get("agent"))
        since = parse_wall(payload.get("since"))
        if not agent or since is None:
            return
        reason = payload.get("reason")
        status = effective_status(str(payload.get("state")), reason if isinstance(reason, str) else None,
                                  self.config.wrapup_pause_reasons)
        seconds = self._wrap_clock.observe(agent, status, since)
        if seconds is not None:
            queues = payload.get("queues") or []
            for run in self.runs.values():
                if run.info.queue in queues:
                    run.window.wrap_ended(seconds)

    async def _settle(self, run: CampaignRun, action_id: str, payload: Mapping[str, Any], t: float) -> None:
        if action_id not in run.live.calls:
            return
        with run.write():
            await self._settle_call(run, action_id, payload, t)

    async def _settle_call(self, run: CampaignRun, action_id: str, payload: Mapping[str, Any], t: float) -> None:
        call = run.live.calls[action_id]
        was_resolved, was_abandoned = call.resolved_at is not None, call.abandoned
        result = run.live.ended(action_id, payload, t)
        if result is None:
            return
        if call.mode != "preview":
            if not was_resolved:
                human = result.outcome in ("answered", "abandoned")
                outcome = "human" if human else result.outcome
                run.window.dial_resolved(outcome if outcome in WINDOW_OUTCOMES else "failed", result.ring_seconds)
            if result.outcome == "abandoned" and not was_abandoned:
                run.window.abandoned()
            if result.outcome == "answered" and result.talk_seconds:
                run.window.talk_ended(float(result.talk_seconds))
        user_id = payload.get("user_id")
        if isinstance(user_id, int) and not isinstance(user_id, bool) and result.agent_id is None and result.outcome == "answered":
            result = replace(result, agent_id=user_id)
        await self._finish(run, result, utcnow())
        run.wake.set()

    async def _finish(self, run: CampaignRun, result: AttemptResult, now: datetime) -> None:
        """The attempt's outcome and the lead's next try, in the store (idempotent by ActionID)."""
        decision = after_outcome(run.rules, result.outcome, result.attempts, now)
        try:
            await leads_service.finish_attempt(
                self.db, result.action_id, result.outcome, now, call_id=result.call_db_id,
                ring_seconds=result.ring_seconds, talk_seconds=result.talk_seconds, answered_at=result.answered_at,
                next_try_at=decision.next_try_at, lead_state=decision.lead_state,
                abandon_hold_until=decision.abandon_hold_until, agent_id=result.agent_id,
            )
        except DomainError as exc:
            log.warning("dialer.finish_refused action_id=%s outcome=%s error=%s", result.action_id, result.outcome, exc)
        except Exception:
            # The attempt stays dialing; recovery reschedules it as lost.
            log.exception("dialer.finish_failed action_id=%s outcome=%s", result.action_id, result.outcome)
            return
        log.info("dialer.finished campaign_id=%s lead_id=%s action_id=%s outcome=%s lead=%s",
                 run.info.id, result.lead_id, result.action_id, result.outcome, decision.lead_state)

    # ----------------------------------------------------------------- preview cards

    async def _release_hold(self, key: tuple[int, int], now: datetime) -> None:
        hold = self.holds.pop(key, None)
        if hold is not None:
            await self._release(hold.lead.id, now, "ready", None, "preview card given back")


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None
