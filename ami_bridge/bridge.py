"""The live bridge: AMI events -> tracker -> bus events, screen pops and call records.

The tracker is pure; this module is the edge around it. Events are reduced in the
order they arrive; screen pops run at once in their own tasks (an agent must see the
card before they answer), everything else is handled in order by one worker so a
call's ``call.ended`` never overtakes its ``call.started``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ami_bridge.agent_states import AgentStateChanged, AgentStates
from ami_bridge.calls.model import AgentRinging, CallAnswered, CallBridged, CallEnded, CallStarted, TrackerUpdate
from ami_bridge.calls.tracker import CallTracker
from ami_bridge.connection import AmiConnection
from ami_bridge.errors import AmiError, AmiNotConnected
from ami_bridge.queue_actions import send_queue_status
from ami_bridge.screen_pop import resolve_screen_pop
from crm_core.db import Database
from crm_core.models import User, utcnow
from crm_core.services import users as users_service
from crm_core.services.calls import CallRecord, record_finished_call
from crm_core.services.client_access import DEFAULT_ACCESS_DAYS, hand_number_to

log = logging.getLogger(__name__)

USER_CACHE_SECONDS = 30.0
RUNG_KEPT = 10_000  # calls whose rung agent is remembered (their ends are waited for)


@dataclass(frozen=True)
class BridgeConfig:
    """The plain values the bridge needs (built from settings by the composition root)."""

    default_region: str = "RU"
    agent_channel_template: str = "PJSIP/{endpoint}"
    click_to_call_context: str = "zvonar-outbound"
    originate_timeout_ms: int = 30000
    company_caller_id: str = ""
    resync_timeout: float = 10.0
    wrapup_seconds: float = 5.0
    # A user rung for a call with a colleague's client may see that client this long (crm_core.rights).
    call_access_seconds: float = DEFAULT_ACCESS_DAYS * 86400.0


class AmiBridge:
    """Owns the tracker for one Asterisk; publishes what happens on the bus."""

    def __init__(self, conn: AmiConnection, db: Database, bus: Any, config: BridgeConfig) -> None:
        self.conn = conn
        self.db = db
        self.bus = bus
        self.config = config
        self.tracker = CallTracker()
        self.agents = AgentStates(wrapup_seconds=config.wrapup_seconds)
        self._updates: asyncio.Queue[TrackerUpdate | AgentStateChanged | None] = asyncio.Queue()
        self._ticker: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._pops: set[asyncio.Task[None]] = set()
        self._users: dict[str, tuple[float, User]] = {}
        self._teams: dict[int, tuple[float, int | None]] = {}
        # The user whose phone rang last for a call: whom its end concerns when nobody took it.
        self._rung: OrderedDict[str, User] = OrderedDict()
        self._clock_offset = 0.0
        # Originates placed by Zvonar: ActionID -> who asked and for which client.
        self._requests: dict[str, dict[str, Any]] = {}
        conn.on_event(self._on_event)
        conn.on_connected(self._on_connected)
        conn.on_disconnected(self._on_disconnected)

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the worker and the timers (once), then connect; after a failed connect, call it again."""
        if self._worker is None:
            loop = asyncio.get_running_loop()
            self._clock_offset = time.time() - loop.time()
            self._worker = asyncio.create_task(self._work(), name="ami-bridge-worker")
            self._ticker = asyncio.create_task(self._tick(), name="ami-bridge-ticker")
        await self.conn.connect()

    async def stop(self) -> None:
        await self.conn.close()
        stopping = [*self._pops, *([self._ticker] if self._ticker else [])]
        for task in stopping:
            task.cancel()
        # Waited for: a pop writes to the store, which the app closes right after the bridge.
        await asyncio.gather(*stopping, return_exceptions=True)
        self._ticker = None
        if self._worker is not None:
            self._updates.put_nowait(None)
            await self._worker
            self._worker = None

    def wall_time(self, t: float | None) -> datetime | None:
        """The tracker's monotonic time as an aware UTC datetime."""
        if t is None:
            return None
        return datetime.fromtimestamp(t + self._clock_offset, timezone.utc)

    # ----------------------------------------------------------------- AMI side

    def _on_event(self, event: Mapping[str, Any], received_at: float) -> None:
        for update in self.tracker.feed(event, received_at):
            self._dispatch(update)
        for change in self.agents.feed(event, received_at):
            self._updates.put_nowait(change)

    async def _tick(self) -> None:
        """Runs the reducers' timers on a quiet link: wrap-ups ending, late OriginateResponses."""
        loop = asyncio.get_running_loop()
        while True:
            deadlines = [d for d in (self.agents.next_deadline(), self.tracker.next_deadline()) if d is not None]
            await asyncio.sleep(min(max(min(deadlines) - loop.time(), 0.0), 0.5) if deadlines else 0.5)
            now = loop.time()
            for update in self.tracker.tick(now):
                self._dispatch(update)
            for change in self.agents.tick(now):
                self._updates.put_nowait(change)

    def _dispatch(self, update: TrackerUpdate) -> None:
        if isinstance(update, AgentRinging):
            task = asyncio.create_task(self._screen_pop(update))
            self._pops.add(task)
            task.add_done_callback(self._pops.discard)
        self._updates.put_nowait(update)

    async def _on_connected(self) -> None:
        """After every (re)login: re-read the live channels so the tracker is right again."""
        try:
            items = await self.conn.send_action({"Action": "CoreShowChannels"}, timeout=self.config.resync_timeout, as_list=True)
        except AmiError as exc:
            log.warning("ami.bridge.resync_failed error=%s", exc)
            return
        listing = items if isinstance(items, list) else [items]
        channels = [m for m in listing if m.get("Event") == "CoreShowChannel"]
        loop = asyncio.get_running_loop()
        for update in self.tracker.resync(channels, loop.time()):
            self._dispatch(update)
        log.info("ami.bridge.resynced channels=%d live_calls=%d", len(channels), self.tracker.live_calls)
        try:
            members = await send_queue_status(self.conn, timeout=self.config.resync_timeout)
        except AmiError as exc:
            log.warning("ami.bridge.queue_resync_failed error=%s", exc)
            return
        for change in self.agents.resync(members, loop.time()):
            self._updates.put_nowait(change)

    def _on_disconnected(self, reason: AmiError) -> None:
        loop = asyncio.get_running_loop()
        for update in self.tracker.connection_lost(loop.time()):
            self._dispatch(update)
        log.warning("ami.bridge.disconnected reason=%s", reason)

    # ----------------------------------------------------------------- originate

    async def originate(self, action: dict[str, Any], *, requested_by: int | None = None, client_id: int | None = None,
                        agent: str | None = None, number: str | None = None, campaign_id: int | None = None,
                        team_id: int | None = None) -> str:
        """Place a call: the tracker hears of it first, then it is sent (exactly once).

        With no AMI session right now it raises ``AmiNotConnected`` at once: a click is
        never held back to ring minutes later on the next session.
        """
        from ami_bridge.connection import new_action_id

        action = dict(action)
        action.setdefault("ActionID", new_action_id())
        action_id = str(action["ActionID"])
        if not self.conn.connected:
            # Checked with no await before the send below, so the session cannot go in between.
            raise AmiNotConnected(f"no AMI session to {self.conn.peer} now; Originate ActionID={action_id} not sent",
                                  action="Originate", action_id=action_id)
        loop = asyncio.get_running_loop()
        self._requests[action_id] = {"requested_by_id": requested_by, "client_id": client_id, "campaign_id": campaign_id,
                                     "team_id": team_id}
        self.tracker.originate_sent({"Action": "Originate", **action}, loop.time(), agent=agent, number=number)
        fields = {k: v for k, v in action.items() if k != "Action"}
        try:
            await self.conn.originate(**fields)
        except Exception:
            self._requests.pop(action_id, None)
            raise
        return action_id

    async def hang_up_ringing(self, action_id: str) -> bool:
        """Hang up an Originate while it still rings (never once answered); False if it rings no more or Asterisk refused.

        Raises what ``AmiConnection.send_action`` raises (no session, timeout).
        """
        channel = self.tracker.ringing_channel(action_id)
        if channel is None:
            return False
        answer = await self.conn.send_action({"Action": "Hangup", "Channel": channel}, as_list=False)
        done = isinstance(answer, Mapping) and answer.get("Response") == "Success"
        log.info("ami.bridge.hung_up_ringing action_id=%s channel=%s done=%s", action_id, channel, done)
        return done

    # ----------------------------------------------------------------- consumers

    async def _user_for(self, extension: str | None) -> User | None:
        if not extension:
            return None
        now = time.monotonic()
        cached = self._users.get(extension)
        if cached and now - cached[0] < USER_CACHE_SECONDS:
            return cached[1]
        user = await users_service.user_by_endpoint(self.db, extension)
        # Only hits are cached: an endpoint given to a user a second ago must pop at once.
        if user is not None:
            self._users[extension] = (now, user)
        return user

    async def _screen_pop(self, ringing: AgentRinging) -> None:
        try:
            user = await self._user_for(ringing.agent)
            if user is None:
                log.info("screen_pop.no_user agent=%s call_id=%s", ringing.agent, ringing.call_id)
                return
            # The access is given beside the card's read, and before the pop: the agent's screen
            # asks for the full card as soon as the pop shows.
            payload, _ = await asyncio.gather(
                resolve_screen_pop(self.db, ringing, user.id, self.config.default_region),
                hand_number_to(self.db, user.id, ringing.number, self.config.default_region,
                               seconds=self.config.call_access_seconds, reason="call", now=utcnow()),
            )
            await self.bus.publish("screen.pop", payload)
        except Exception:
            log.exception("screen_pop.failed call_id=%s", ringing.call_id)

    async def _work(self) -> None:
        while True:
            update = await self._updates.get()
            if update is None:
                return
            try:
                await self._handle(update)
            except Exception:
                # One failed write must not stop the calls after it from being recorded.
                log.exception("ami.bridge.update_failed update=%s", type(update).__name__)

    async def _handle(self, update: TrackerUpdate | AgentStateChanged) -> None:
        if isinstance(update, CallEnded):
            await self._record(update)
            return
        if isinstance(update, CallStarted):
            request = self._requests.get(update.action_id or "") or {}
            await self.bus.publish("call.started", {
                "call_id": update.call_id, "direction": str(update.direction), "number": update.number,
                "caller_name": update.caller_name, "action_id": update.action_id,
                **await self._addressed_to(request.get("requested_by_id"), request.get("team_id")),
            })
            return
        # The rest concern one agent: addressed to that agent's user and visible to their team.
        user = await self._user_for(update.agent)
        addressee = {"agent": update.agent, "call_id": update.call_id,
                     "user_id": user.id if user else None, "team_id": user.team_id if user else None}
        if isinstance(update, AgentRinging) and user is not None:
            self._rung[update.call_id] = user
            while len(self._rung) > RUNG_KEPT:
                self._rung.popitem(last=False)
        if isinstance(update, AgentStateChanged):
            since = self.wall_time(update.since)
            await self.bus.publish("agent.state", {
                **addressee, "state": str(update.state), "reason": update.reason, "queues": list(update.queues),
                "since": since.isoformat() if since else None,
                "previous_state": str(update.previous_state) if update.previous_state else None,
            })
        elif isinstance(update, (AgentRinging, CallAnswered)):
            topic = "call.ringing" if isinstance(update, AgentRinging) else "call.answered"
            await self.bus.publish(topic, {
                **addressee, "number": update.number, "queue": update.queue, "action_id": update.action_id,
            })
        elif isinstance(update, CallBridged):
            await self.bus.publish("call.bridged", {**addressee, "bridge_id": update.bridge_id})

    async def _addressed_to(self, user_id: int | None, team_id: int | None = None) -> dict[str, Any]:
        """``user_id`` and ``team_id`` for a call event about that user's call, else the team of the campaign
        that placed it; nothing when it is nobody's yet.

        A call event with no team reaches no supervisor (zvonar/ws.py): it carries the client's number.
        """
        if user_id is None:
            return {} if team_id is None else {"team_id": team_id}
        now = time.monotonic()
        cached = self._teams.get(user_id)
        if cached is None or now - cached[0] >= USER_CACHE_SECONDS:
            cached = self._teams[user_id] = (now, await users_service.team_of(self.db, user_id))
        return {"user_id": user_id, "team_id": cached[1]}

    async def _record(self, ended: CallEnded) -> None:
        call = ended.call
        request = self._requests.pop(call.action_id or "", {})
        record = CallRecord(
            direction=str(call.direction), outcome=str(call.outcome), number=call.number,
            caller_name=call.caller_name, did=call.did, queue=call.queue, agent=call.agent,
            linkedid=call.call_id, action_id=call.action_id,
            uniqueid=call.uniqueids[0] if call.uniqueids else None,
            started_at=self.wall_time(call.started_at), answered_at=self.wall_time(call.answered_at),
            ended_at=self.wall_time(call.ended_at), talk_seconds=call.talk_seconds,
            hangup_cause=call.hangup_cause, client_id=request.get("client_id"),
            requested_by_id=request.get("requested_by_id"), campaign_id=request.get("campaign_id"),
        )
        recorded = await record_finished_call(self.db, record, default_region=self.config.default_region)
        rung = self._rung.pop(call.call_id, None)
        # Nobody took it and nobody asked for it: it still ended on the phone that rang for it.
        user_id = recorded.agent_id or request.get("requested_by_id") or (rung.id if rung else None)
        payload = {**call.to_json(), "call_db_id": recorded.call_id, "client_id": recorded.client_id,
                   **await self._addressed_to(user_id, request.get("team_id"))}
        for key in ("started_at", "answered_at", "ended_at"):
            stamp = self.wall_time(call.to_json()[key])
            payload[key] = stamp.isoformat() if stamp else None
        await self.bus.publish("call.ended", payload)
