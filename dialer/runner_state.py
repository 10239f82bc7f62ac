"""The campaign runner's pure core: what one campaign's calls and agents are doing, and what to do next.

No I/O and no clock: every method takes the time (``t``, the event loop's monotonic
seconds) from the caller, so the runner's decisions can be tested as plain data. The
async edge (dialer/campaign_runner.py) feeds it AMI and bus events and carries out what
it decides.

A campaign call goes through: dialled -> (client picked up: OriginateResponse Success)
-> (an agent took it: ``call.answered``) -> ended (``call.ended`` with the tracker's
outcome). "Ringing" is a call dialled and not yet resolved; "waiting" is a client who
picked up and has no agent yet (abandoned after 2 s by the dialplan).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from dialer.campaign_problems import Problems, as_list
from dialer.pacing_window import amd_misread


def day_start(now: datetime, zone: str) -> tuple[date, datetime]:
    """The calendar day of ``now`` in ``zone`` and its first moment in UTC."""
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date()
    return day, datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


PHASES = ("free", "talk", "wrap", "paused", "unavailable")
# ami_bridge.agent_states.AgentStatus values -> what pacing sees; logged_out agents are not counted.
_PHASE_OF_STATUS = {
    "ready": "free",
    "ringing": "talk",
    "on_call": "talk",
    "wrap_up": "wrap",
    "paused": "paused",
    "unavailable": "unavailable",
}
# What the tracker may say about a campaign call, and what the attempts table stores.
TRACKER_OUTCOMES = ("answered", "busy", "no_answer", "congestion", "failed", "abandoned", "machine")
PENDING_ABANDONS = 1000


@dataclass(frozen=True)
class CampaignInfo:
    """The stored campaign, as much of it as the runner needs (read every tick)."""

    id: int
    name: str
    team_id: int | None
    state: str
    mode: str
    queue: str
    hours: Mapping[str, Any] = field(default_factory=dict)
    retry_rules: Mapping[str, Any] = field(default_factory=dict)
    pacing: Mapping[str, Any] = field(default_factory=dict)
    script_id: int | None = None
    caller_id: str | None = None
    abandon_message: str | None = None
    agents: tuple[int, ...] = ()
    created_by_id: int | None = None  # a campaign of no team is its creator's to watch

    @classmethod
    def of(cls, view: Any) -> CampaignInfo:
        """From ``crm_core.services.campaigns.CampaignView`` (or anything with those attributes)."""
        return cls(
            id=view.id, name=view.name, team_id=getattr(view, "team_id", None), state=view.state, mode=view.mode,
            queue=view.queue, hours=dict(getattr(view, "hours", None) or {}),
            retry_rules=dict(getattr(view, "retry_rules", None) or {}), pacing=dict(getattr(view, "pacing", None) or {}),
            script_id=getattr(view, "script_id", None), caller_id=getattr(view, "caller_id", None),
            abandon_message=getattr(view, "abandon_message", None),
            agents=tuple(getattr(view, "agents", None) or ()), created_by_id=getattr(view, "created_by_id", None),
        )

    @property
    def abandon_cap(self) -> float:
        return float(self.pacing.get("abandon_cap") or 0.03)

    @property
    def lines_per_agent(self) -> int:
        return int(self.pacing.get("lines_per_agent") or 3)

    @property
    def max_lines(self) -> int | None:
        value = self.pacing.get("max_lines")
        return int(value) if value else None

    def ring_timeout(self, default: float) -> float:
        return float(self.pacing.get("ring_timeout") or default)

    @property
    def amd(self) -> bool:
        """Whether answering machines are detected (and dropped) before the queue."""
        return self.pacing.get("amd") is True

    @property
    def amd_misread_share(self) -> float:
        """The estimated share of dropped machines that were people (counted as abandons)."""
        value = self.pacing.get("amd_misread_share")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass(frozen=True)
class AgentSeen:
    """One queue agent as the bridge knows it: extension, AgentStatus value, seconds in it, queues."""

    agent: str
    state: str
    seconds: float
    queues: tuple[str, ...] = ()
    reason: str | None = None  # the pause reason, when paused


def effective_status(status: str, reason: str | None, wrapup_pause_reasons: Iterable[str]) -> str:
    """The agent's status for the dialer: paused for a wrap-up reason is a wrap-up.

    The operator desk pauses its agent with reason "wrap-up" until the wrap-up is saved
    (so Asterisk rings nobody mid-form); that agent frees as a wrap-up does, and its time
    is wrap-up for occupancy, not a break.
    """
    if status == "paused" and reason is not None and reason in wrapup_pause_reasons:
        return "wrap_up"
    return status


class WrapUpClock:
    """Measures wrap-ups from agent state changes: from the end of a call to the next state that is not a wrap-up.

    Asterisk's wrap-up and the desk's wrap-up pause after it (see :func:`effective_status`)
    are one wrap-up; a length over an hour is a forgotten pause, not a wrap-up.
    """

    MAX_SECONDS = 3600.0

    def __init__(self) -> None:
        self._since: dict[str, datetime] = {}

    def observe(self, agent: str, status: str, since: datetime) -> float | None:
        """Note ``agent`` in ``status`` (an effective status) from ``since``; the seconds of a wrap-up it ends."""
        if status == "wrap_up":
            self._since.setdefault(agent, since)
            return None
        started = self._since.pop(agent, None)
        if started is None:
            return None
        seconds = (since - started).total_seconds()
        return seconds if 0 <= seconds < self.MAX_SECONDS else None


def agent_phase(status: str) -> str | None:
    """Pacing's view of an agent state: free, talk, wrap, paused, unavailable (None: logged out)."""
    return _PHASE_OF_STATUS.get(status)


def agents_in_queue(agents: Iterable[AgentSeen], queue: str) -> list[AgentSeen]:
    return [a for a in agents if queue in a.queues and agent_phase(a.state) is not None]


def agents_by_phase(agents: Iterable[AgentSeen]) -> dict[str, int]:
    counts = dict.fromkeys(PHASES, 0)
    for a in agents:
        phase = agent_phase(a.state)
        if phase is not None:
            counts[phase] += 1
    return counts


def pacing_agents(agents: Iterable[AgentSeen]) -> list[tuple[str, float]]:
    """(phase, seconds in it) of the agents who can take calls (free, talking or wrapping up)."""
    out = []
    for a in agents:
        phase = agent_phase(a.state)
        if phase in ("free", "talk", "wrap"):
            out.append((phase, max(0.0, a.seconds)))
    return out


@dataclass
class LiveCall:
    """One call this runner placed and has not seen end."""

    action_id: str
    campaign_id: int
    lead_id: int
    attempt_id: int
    client_id: int | None
    phone: str
    attempts: int
    mode: str
    dialed_at: float
    agent_id: int | None = None
    answered_at: float | None = None  # a human picked up (with AMD: the dialplan's verdict)
    connected_at: float | None = None  # an agent took the call
    resolved_at: float | None = None  # the Originate's answer: picked up, or busy/no answer/...
    linkedid: str | None = None
    abandoned: bool = False
    day: date | None = None  # the calendar day it was dialled on: its answer and abandon count in that day
    amd: bool = False  # the dialplan tells a human from a machine before the queue
    picked_up_at: float | None = None  # with AMD: the line was answered, the verdict is pending
    machine: bool = False  # with AMD: an answering machine, dropped by the dialplan

    @property
    def ringing(self) -> bool:
        return self.resolved_at is None and self.connected_at is None

    @property
    def waiting(self) -> bool:
        return self.answered_at is not None and self.connected_at is None and not self.abandoned

    def ring_seconds(self, ended_at: float) -> float:
        """Dial to the client's answer (or to whatever resolved the call)."""
        until = next((x for x in (self.picked_up_at, self.resolved_at) if x is not None), ended_at)
        return round(max(0.0, until - self.dialed_at), 3)


@dataclass(frozen=True)
class Resolution:
    """What an OriginateResponse (or the AMD verdict) told: a human picked up after ``seconds``, or not (and when)."""

    human: bool
    seconds: float
    machine: bool = False  # the dialplan's AMD found an answering machine


@dataclass(frozen=True)
class AttemptResult:
    """A finished call, ready for ``finish_attempt`` (the retry rule is applied by the edge)."""

    action_id: str
    lead_id: int
    attempts: int
    outcome: str
    ring_seconds: float
    talk_seconds: int | None
    call_db_id: int | None
    answered_at: datetime | None
    agent_id: int | None


def outcome_at_shutdown(call: LiveCall) -> str:
    """What a call still up when the dialer stops is known to be: its end will not reach this dialer.

    A client already talking to an operator was reached (``answered``: the lead is done,
    the operator's disposition decides the rest) and must not be rung again an hour
    later; an abandon already reported stays one, and a machine the dialplan dropped
    stays one; anything else is ``lost`` (retried).
    """
    if call.connected_at is not None:
        return "answered"
    if call.abandoned:
        return "abandoned"
    if call.machine:
        return "machine"
    return "lost"


def attempt_outcome(tracker_outcome: str | None, abandon_seen: bool, machine_seen: bool = False) -> str:
    """The attempt's outcome: the tracker's, or ``abandoned`` / ``machine`` when the dialplan reported it.

    A client dropped because nobody could take the call never joins the queue
    (JOINEMPTY), so the tracker alone may call it something else; the UserEvent is the
    dialplan's own word that it was an abandon (ZvonarAbandon) or a machine (ZvonarMachine).
    """
    if machine_seen and tracker_outcome != "answered":
        return "machine"
    if abandon_seen and tracker_outcome != "answered":
        return "abandoned"
    if tracker_outcome in TRACKER_OUTCOMES:
        return str(tracker_outcome)
    return "failed"


def parse_wall(value: Any) -> datetime | None:
    """An ISO timestamp from a bus payload (None if absent or unreadable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class _Window:
    """Times of events over the last ``seconds`` (rolling counts)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._times: deque[float] = deque()

    def add(self, t: float) -> None:
        self._times.append(t)

    def remove(self, t: float) -> None:
        """Take back one event at ``t`` (counted, then found not to be one)."""
        try:
            self._times.remove(t)
        except ValueError:
            pass  # already out of the window

    def count(self, t: float) -> int:
        while self._times and self._times[0] < t - self.seconds:
            self._times.popleft()
        return len(self._times)


class CampaignLive:
    """The live figures of one campaign in this runner: calls in flight, counts, occupancy."""

    def __init__(self, campaign_id: int, day: date, window_seconds: float = 1800.0, *,
                 day_dials: int = 0, day_answered: int = 0, day_abandoned: int = 0, day_machines: int = 0) -> None:
        self.campaign_id = campaign_id
        self.calls: dict[str, LiveCall] = {}
        self._by_linkedid: dict[str, str] = {}
        # Abandons and AMD verdicts reported before the call's Linkedid was known to us.
        self._abandoned_linkedids: dict[str, float] = {}
        self._verdict_linkedids: dict[str, tuple[float, bool]] = {}
        self.day = day
        self.day_dials, self.day_answered, self.day_abandoned = day_dials, day_answered, day_abandoned
        self.day_machines = day_machines
        self.run_dials = self.run_answered = self.run_abandoned = 0
        self.run_machines = 0  # answering machines the dialplan's AMD dropped
        self._w_dials, self._w_answered, self._w_abandoned = (_Window(window_seconds) for _ in range(3))
        self._busy_seconds = 0.0
        self._logged_seconds = 0.0
        self._last_seen: float | None = None
        self.agents: dict[str, int] = dict.fromkeys(PHASES, 0)
        # What keeps the campaign from dialing as it should now (dialer/campaign_problems.py).
        self.problems: Problems = {}

    def recall(self, dialed_at: float, answered_at: float | None, abandoned: bool) -> None:
        """A dial of before this runner took the campaign (from the store), into the rolling figures only."""
        self._w_dials.add(dialed_at)
        if answered_at is not None:
            self._w_answered.add(answered_at)
            if abandoned:
                self._w_abandoned.add(answered_at)

    # ------------------------------------------------------------------ calls

    def dialed(self, call: LiveCall) -> None:
        self.calls[call.action_id] = call
        call.day = call.day or self.day
        self.run_dials += 1
        self.day_dials += 1
        self._w_dials.add(call.dialed_at)

    def _today(self, call: LiveCall) -> bool:
        """Whether the call was dialled today: a call from before midnight counts in its own day, as the store has it."""
        return call.day is None or call.day == self.day

    def undialed(self, action_id: str) -> LiveCall | None:
        """The Originate never went out (no AMI session, refused): forget it, uncount it."""
        call = self.calls.pop(action_id, None)
        if call is not None:
            self.run_dials -= 1
            self.day_dials -= self._today(call)
        return call

    def originate_response(self, action_id: str, success: bool, t: float, linkedid: str | None = None) -> Resolution | None:
        """The OriginateResponse of one of our calls: Success means the client picked up."""
        call = self.calls.get(action_id)
        # A preview call rings the operator first: its Originate answer says nothing of the client.
        if call is None or call.resolved_at is not None or call.mode == "preview":
            return None
        if success and call.amd:
            # Picked up, but by whom is the dialplan's AMD verdict to tell (``amd_verdict``);
            # to the pacing it is still a call that may bring a human.
            call.picked_up_at = t
            if linkedid:
                return self._bind(call, linkedid, t)
            return None
        call.resolved_at = t
        if success:
            call.answered_at = t
            self._count_answer(call, t)
        if linkedid:
            self._bind(call, linkedid, t)
        return Resolution(success, call.ring_seconds(t))

    def amd_verdict(self, t: float, human: bool, *, linkedid: str | None) -> Resolution | None:
        """The dialplan's UserEvent ZvonarHuman / ZvonarMachine: the call is resolved now (None if not ours or known)."""
        key = self._by_linkedid.get(linkedid or "")
        call = self.calls.get(key or "")
        if call is None:
            if linkedid:
                self._verdict_linkedids[linkedid] = (t, human)
                while len(self._verdict_linkedids) > PENDING_ABANDONS:
                    del self._verdict_linkedids[next(iter(self._verdict_linkedids))]
            return None
        return self._resolve_verdict(call, t, human)

    def _resolve_verdict(self, call: LiveCall, t: float, human: bool) -> Resolution | None:
        if call.resolved_at is not None or call.connected_at is not None or call.abandoned:
            return None
        call.resolved_at = t
        if call.picked_up_at is None:
            call.picked_up_at = t
        if human:
            call.answered_at = t
            self._count_answer(call, t)
        else:
            call.machine = True
            self.run_machines += 1
            self.day_machines += self._today(call)
        # The pacing's answer time runs to the verdict: that is when a human reaches the queue.
        return Resolution(human, round(max(0.0, t - call.dialed_at), 3), machine=not human)

    def connected(self, action_id: str, t: float, linkedid: str | None = None) -> bool:
        """An agent took the call (``call.answered``)."""
        call = self.calls.get(action_id)
        if call is None or call.connected_at is not None:
            return False
        if call.answered_at is None:
            # The OriginateResponse is late or was missed: the client did pick up.
            call.answered_at = t
            call.resolved_at = call.resolved_at if call.resolved_at is not None else t
            self._count_answer(call, t)
        call.connected_at = t
        if linkedid:
            self._bind(call, linkedid, t)
        return True

    def abandon_reported(self, t: float, *, linkedid: str | None = None, action_id: str | None = None) -> bool:
        """The dialplan's UserEvent ZvonarAbandon for a call of this campaign; True if newly counted."""
        key = action_id if action_id in self.calls else self._by_linkedid.get(linkedid or "")
        call = self.calls.get(key or "")
        if call is None:
            if linkedid:
                self._abandoned_linkedids[linkedid] = t
                # Calls of other dialers of the campaign are never bound here: keep the newest only.
                while len(self._abandoned_linkedids) > PENDING_ABANDONS:
                    del self._abandoned_linkedids[next(iter(self._abandoned_linkedids))]
            return False
        return self._mark_abandoned(call, t)

    def _mark_abandoned(self, call: LiveCall, t: float) -> bool:
        if call.abandoned or call.connected_at is not None:
            return False
        if call.answered_at is None:
            call.answered_at = t
            call.resolved_at = call.resolved_at if call.resolved_at is not None else t
            self._count_answer(call, t)
        call.abandoned = True
        self.run_abandoned += 1
        self.day_abandoned += self._today(call)
        self._w_abandoned.add(t)
        return True

    def ended(self, action_id: str, payload: Mapping[str, Any], t: float) -> AttemptResult | None:
        """``call.ended`` for one of our calls: the attempt's result (None if not ours)."""
        call = self.calls.pop(action_id, None)
        if call is None:
            return None
        linkedid = payload.get("call_id")
        if isinstance(linkedid, str) and linkedid:
            self._bind(call, linkedid, t)
        for key in [k for k, v in self._by_linkedid.items() if v == action_id]:
            del self._by_linkedid[key]
        tracker = payload.get("outcome")
        outcome = attempt_outcome(tracker if isinstance(tracker, str) else None, call.abandoned, call.machine)
        if outcome == "abandoned" and not call.abandoned and call.amd and call.picked_up_at is not None \
                and call.resolved_at is None:
            # Hung up while AMD listened to the greeting: the tracker sees a pickup nobody took,
            # but a person who hangs up within their own greeting was not abandoned by us (the
            # 2 s run from the greeting's end, and the verdict comes 0.8 s after it).
            outcome = "no_answer"
        if call.mode == "preview" and payload.get("client_dialled") is False:
            outcome = "operator_missed"  # the operator's own phone was not answered: the client never rang
            self.run_dials -= 1
            self.day_dials -= self._today(call)
            self._w_dials.remove(call.dialed_at)
        if outcome == "abandoned" and not call.abandoned:
            # The tracker saw the client leave the queue; no UserEvent reached us.
            self._mark_abandoned(call, t)
        elif outcome == "answered" and call.answered_at is None:
            self._count_answer(call, t)
        talk = payload.get("talk_seconds")
        db_id = payload.get("call_db_id")
        return AttemptResult(
            action_id=action_id, lead_id=call.lead_id, attempts=call.attempts, outcome=outcome,
            ring_seconds=call.ring_seconds(t),
            talk_seconds=int(talk) if isinstance(talk, (int, float)) and not isinstance(talk, bool) else None,
            call_db_id=db_id if isinstance(db_id, int) and not isinstance(db_id, bool) else None,
            answered_at=parse_wall(payload.get("answered_at")), agent_id=call.agent_id,
        )

    def _bind(self, call: LiveCall, linkedid: str, t: float) -> Resolution | None:
        """Learn a call's Linkedid; an AMD verdict or abandon reported under it before now counts for the call.

        Returns the resolution an early AMD verdict brings (None if none).
        """
        call.linkedid = call.linkedid or linkedid
        self._by_linkedid[linkedid] = call.action_id
        resolution = None
        verdict = self._verdict_linkedids.pop(linkedid, None)
        if verdict is not None:
            resolution = self._resolve_verdict(call, *verdict)
        if linkedid in self._abandoned_linkedids:
            del self._abandoned_linkedids[linkedid]
            self._mark_abandoned(call, t)
        return resolution

    def _count_answer(self, call: LiveCall, t: float) -> None:
        self.run_answered += 1
        self.day_answered += self._today(call)
        self._w_answered.add(t)

    # ------------------------------------------------------------------ agents and figures

    def observe_agents(self, counts: Mapping[str, int], t: float) -> None:
        """Agents by phase now; integrates occupancy (talk + wrap over free + talk + wrap time) since the last look.

        A pause (lunch, a meeting) is no working time of the campaign: counting it would make
        a team look idle while it is away. (The simulator's occupancy, as issue 6 defines it,
        counts every logged-in second: there a "pause" is a preview card being read.)
        """
        if self._last_seen is not None and t > self._last_seen:
            dt = t - self._last_seen
            prev = self.agents
            self._busy_seconds += (prev["talk"] + prev["wrap"]) * dt
            self._logged_seconds += (prev["free"] + prev["talk"] + prev["wrap"]) * dt
        self._last_seen = t
        self.agents = {p: int(counts.get(p, 0)) for p in PHASES}

    def roll_day(self, day: date) -> None:
        """A new calendar day starts the day_* figures from zero."""
        if day != self.day:
            self.day = day
            self.day_dials = self.day_answered = self.day_abandoned = self.day_machines = 0

    @property
    def ringing(self) -> list[LiveCall]:
        return [c for c in self.calls.values() if c.ringing]

    @property
    def waiting(self) -> int:
        return sum(1 for c in self.calls.values() if c.waiting)

    @property
    def unconnected(self) -> int:
        """Calls that may still need an agent: ringing, or picked up and waiting."""
        return sum(1 for c in self.calls.values() if c.ringing or c.waiting)

    @property
    def occupancy(self) -> float:
        return self._busy_seconds / self._logged_seconds if self._logged_seconds > 0 else 0.0

    @property
    def busy_seconds(self) -> float:
        """Agent-seconds in talk or wrap-up since this runner took the campaign up (occupancy's numerator)."""
        return self._busy_seconds

    @property
    def logged_seconds(self) -> float:
        """Agent-seconds free, in talk or in wrap-up since then (occupancy's denominator)."""
        return self._logged_seconds

    def rebase_day(self, dials: int, answered: int, abandoned: int, machines: int) -> None:
        """The day's figures from the store's counts (every dialer's attempts), plus what of ours it has not yet.

        An attempt is in the store from before its Originate, but its answer or abandon only
        once it ends: the calls still up here that were picked up (or dropped) are added.
        """
        self.day_dials = dials
        today = [c for c in self.calls.values() if self._today(c)]
        self.day_answered = answered + sum(1 for c in today if c.answered_at is not None)
        self.day_abandoned = abandoned + sum(1 for c in today if c.abandoned)
        self.day_machines = machines + sum(1 for c in today if c.machine)

    def window_counts(self, t: float) -> tuple[int, int, int]:
        """(dials, human-answered, abandoned) over the rolling window ending at ``t``."""
        return self._w_dials.count(t), self._w_answered.count(t), self._w_abandoned.count(t)


def rate(abandoned: int, answered: int) -> float:
    """Abandons as a share of human-answered calls (0 before any answer)."""
    return round(abandoned / answered, 4) if answered else 0.0


def day_rate_figures(answered: int, abandoned: int, machines: int, misread_share: float) -> dict[str, Any]:
    """The day's machines, the people estimated among them, and the rate the cap is held against (with them)."""
    misread = amd_misread(machines, misread_share)
    return {"day_abandon_rate": rate(abandoned + misread, answered + misread), "day_machines": machines,
            "day_amd_misread": misread}


def dials_wanted(mode: str, *, free: int, logged_in: int, unconnected: int, in_flight: int,
                 lines_per_agent: int, max_lines: int | None, max_per_tick: int, predictive: int | None = None) -> int:
    """How many calls to place now.

    preview: none (the operator asks for each card); progressive: one per free agent not
    already covered by a call that may still reach one; predictive: what the pacing
    decided (``predictive``), never fewer than progressive. Always within the line limits:
    ``lines_per_agent`` per logged-in agent for calls not yet with an agent, ``max_lines``
    for every live call (each holds a trunk line), and ``max_per_tick``.
    """
    if mode == "preview" or logged_in <= 0:
        return 0
    progressive = max(0, free - unconnected)
    wanted = progressive if mode != "predictive" or predictive is None else max(progressive, predictive)
    room = logged_in * lines_per_agent - unconnected
    if max_lines is not None:
        room = min(room, max_lines - in_flight)
    return max(0, min(wanted, room, max_per_tick))


def stats_payload(info: CampaignInfo, live: CampaignLive, t: float, at: datetime) -> dict[str, Any]:
    """The ``campaign.stats`` bus payload (JSON-ready)."""
    w_dials, w_answered, w_abandoned = live.window_counts(t)
    agents = dict(live.agents)
    return {
        "campaign_id": info.id,
        "team_id": info.team_id,
        "created_by_id": info.created_by_id,
        "name": info.name,
        "state": info.state,
        "mode": info.mode,
        "at": at.isoformat(),
        # Since this dialer took the campaign up (launch, resume or a dialer restart).
        "dials": live.run_dials,
        "answered": live.run_answered,
        "abandoned": live.run_abandoned,
        "abandon_rate": rate(live.run_abandoned, live.run_answered),
        "machines": live.run_machines,
        "occupancy": round(live.occupancy, 4),
        "agents": agents,
        "ringing": len(live.ringing),
        "waiting": live.waiting,
        "in_flight": len(live.calls),
        # The calendar day, what the 3 % cap is held against (also from before a restart).
        "day_dials": live.day_dials,
        "day_answered": live.day_answered,
        "day_abandoned": live.day_abandoned,
        **day_rate_figures(live.day_answered, live.day_abandoned, live.day_machines, info.amd_misread_share),
        # The rolling window the pacing also watches.
        "window_dials": w_dials,
        "window_answered": w_answered,
        "window_abandoned": w_abandoned,
        "window_abandon_rate": rate(w_abandoned, w_answered),
        "abandon_cap": info.abandon_cap,
        "problems": as_list(live.problems),
    }


def state_payload(info: CampaignInfo, previous: str | None, at: datetime) -> dict[str, Any]:
    """The ``campaign.state`` bus payload."""
    return {"campaign_id": info.id, "team_id": info.team_id, "created_by_id": info.created_by_id, "name": info.name,
            "state": info.state,
            "previous_state": previous, "mode": info.mode, "at": at.isoformat()}
