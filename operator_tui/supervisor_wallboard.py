"""The wallboard's state (pure): agents, calls in progress, the campaign's figures and their recent history.

It is fed the API's answers (GET /api/agents, GET /api/campaigns/{id}/stats) and the bus
events from /api/ws (``agent.state``, ``campaign.stats``, ``campaign.state``, ``call.*``);
the widgets only draw what it holds. Durations are counted from the event's own moment
against the clock the screen passes in, so a frozen clock gives the same picture every run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

# Sparkline series, newest last: dials and answers per stats tick, rates in percent.
SERIES = ("dials", "answered", "abandon_rate", "occupancy")
HISTORY_POINTS = 60
MAX_LIVE_CALLS = 200
# The order agents are counted in on the board's summary line.
AGENT_STATES = ("ready", "ringing", "on_call", "wrap_up", "paused", "unavailable", "logged_out")


def moment(value: Any) -> datetime | None:
    """An ISO string or a Unix time as an aware datetime (None for anything else)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def seconds_since(since: datetime | None, now: datetime) -> int | None:
    if since is None:
        return None
    return max(0, int((now - since).total_seconds()))


@dataclass(frozen=True)
class AgentRow:
    """One agent on the board."""

    key: str
    user_id: int | None
    name: str
    endpoint: str
    state: str
    reason: str | None = None
    since: datetime | None = None
    call_id: str | None = None


@dataclass(frozen=True)
class LiveCall:
    """A call still going: ``phase`` is ringing (an agent's phone), talking, or dialing (no agent yet)."""

    call_id: str
    direction: str
    number: str | None
    agent: str | None
    phase: str
    since: datetime


def short_name(full_name: str) -> str:
    """``Иванова Ольга Андреевна`` -> ``Иванова О. А.`` (a wallboard's column is narrow); one word stays."""
    words = full_name.split()
    if len(words) < 2:
        return full_name
    return " ".join([words[0], *(f"{w[0]}." for w in words[1:] if w[:1].isalpha())])


def gauge_level(rate: float | None, cap: float | None) -> str:
    """``ok`` below two thirds of the cap, ``warn`` up to it, ``over`` past it (``none`` without figures)."""
    if rate is None or not cap:
        return "none"
    if rate > cap:
        return "over"
    return "warn" if rate >= cap * 2 / 3 else "ok"


class Board:
    """Everything the wallboard shows, folded from answers and events."""

    def __init__(self, campaign_id: int | None = None, history: int = HISTORY_POINTS) -> None:
        self.campaign_id = campaign_id
        self.campaign: dict[str, Any] | None = None
        self.agents: dict[str, AgentRow] = {}
        self.stats: dict[str, Any] | None = None
        self.series: dict[str, deque[float]] = {name: deque(maxlen=history) for name in SERIES}
        self.calls: dict[str, LiveCall] = {}
        self.pacing: dict[str, Any] | None = None
        self._last_totals: tuple[int, int] | None = None

    # ------------------------------------------------------------------ what the API said

    def set_campaign(self, campaign: Mapping[str, Any]) -> None:
        """The campaign being watched (GET /api/campaigns/{id}); its stats history starts afresh."""
        if campaign.get("id") != self.campaign_id:
            self.stats = None
            self._last_totals = None
            for series in self.series.values():
                series.clear()
        self.campaign_id = int(campaign["id"])
        self.campaign = dict(campaign)
        self.pacing = dict(campaign.get("pacing") or {})

    def load_agents(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """GET /api/agents: the team's agents as the PBX knows them now.

        An agent.state event newer than the answer (it came while the request was on its
        way) keeps its state: the answer is older news. An answer without a time wins.
        """
        before, self.agents = self.agents, {}
        for row in rows:
            user_id = row.get("user_id")
            key = f"u{user_id}" if user_id is not None else f"a{row.get('endpoint', '')}"
            loaded = AgentRow(
                key=key, user_id=user_id, name=str(row.get("full_name") or row.get("login") or row.get("endpoint") or ""),
                endpoint=str(row.get("endpoint") or ""), state=str(row.get("state") or "logged_out"),
                reason=row.get("reason"), since=moment(row.get("since")), call_id=row.get("call_id"))
            seen = before.get(key)
            if seen is not None and seen.since is not None and loaded.since is not None and seen.since > loaded.since:
                loaded = replace(loaded, state=seen.state, reason=seen.reason, since=seen.since, call_id=seen.call_id)
            self.agents[key] = loaded
            self._call_of_agent(loaded)

    def load_stats(self, stats: Mapping[str, Any]) -> bool:
        """A stats answer or a ``campaign.stats`` event; False when it is another campaign's."""
        if self.campaign_id is None or stats.get("campaign_id") != self.campaign_id:
            return False
        self.stats = dict(stats)
        dials, answered = int(stats.get("day_dials") or 0), int(stats.get("day_answered") or 0)
        last = self._last_totals
        # Per tick: what was added since the last figures (a new day starts the counts again).
        self.series["dials"].append(float(max(0, dials - last[0])) if last else 0.0)
        self.series["answered"].append(float(max(0, answered - last[1])) if last else 0.0)
        self._last_totals = (dials, answered)
        self.series["abandon_rate"].append(float(stats.get("day_abandon_rate") or 0.0) * 100)
        self.series["occupancy"].append(float(stats.get("occupancy") or 0.0) * 100)
        if self.campaign is not None and stats.get("state"):
            self.campaign["state"] = stats["state"]
        return True

    def set_pacing(self, pacing: Mapping[str, Any]) -> None:
        """PATCH /api/campaigns/{id}/pacing's answer."""
        self.pacing = {k: v for k, v in pacing.items() if k != "campaign_id"}
        if self.stats is not None and "abandon_cap" in pacing:
            self.stats["abandon_cap"] = pacing["abandon_cap"]
        if self.campaign is not None:
            self.campaign["pacing"] = dict(self.pacing)

    # ------------------------------------------------------------------ events

    def apply(self, topic: str, payload: Mapping[str, Any], now: datetime) -> bool:
        """Fold one bus event in; True when the board changed."""
        if topic == "agent.state":
            return self._agent_event(payload, now)
        if topic == "campaign.stats":
            return self.load_stats(payload)
        if topic == "campaign.state":
            if payload.get("campaign_id") != self.campaign_id or self.campaign is None:
                return False
            self.campaign["state"] = payload.get("state")
            if self.stats is not None:
                self.stats["state"] = payload.get("state")
            return True
        if topic.startswith("call."):
            return self._call_event(topic, payload, now)
        return False

    def _find_agent(self, payload: Mapping[str, Any]) -> AgentRow | None:
        user_id = payload.get("user_id")
        if user_id is not None and f"u{user_id}" in self.agents:
            return self.agents[f"u{user_id}"]
        endpoint = str(payload.get("agent") or "")
        return next((a for a in self.agents.values() if endpoint and a.endpoint == endpoint), None)

    def _agent_event(self, payload: Mapping[str, Any], now: datetime) -> bool:
        row = self._find_agent(payload)
        if row is None:
            endpoint = str(payload.get("agent") or "")
            if not endpoint:
                return False
            user_id = payload.get("user_id")
            key = f"u{user_id}" if user_id is not None else f"a{endpoint}"
            row = AgentRow(key=key, user_id=user_id, name=endpoint, endpoint=endpoint, state="logged_out")
        self.agents[row.key] = replace(
            row, state=str(payload.get("state") or row.state), reason=payload.get("reason"),
            since=moment(payload.get("since")) or now, call_id=payload.get("call_id"))
        self._call_of_agent(self.agents[row.key])
        return True

    def _call_of_agent(self, agent: AgentRow) -> None:
        """A call an agent rings or talks on is in progress, even if its start came before the board opened."""
        if agent.state not in ("ringing", "on_call") or not agent.call_id or agent.since is None:
            return
        phase = "ringing" if agent.state == "ringing" else "talking"
        known = self.calls.get(agent.call_id)
        if known is None:
            self.calls[agent.call_id] = LiveCall(agent.call_id, "", None, agent.endpoint, phase, agent.since)
        elif known.phase != phase or known.agent is None:
            self.calls[agent.call_id] = replace(known, phase=phase, agent=agent.endpoint, since=agent.since)

    def _call_event(self, topic: str, payload: Mapping[str, Any], now: datetime) -> bool:
        call_id = payload.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            return False
        known = self.calls.get(call_id)
        if topic == "call.ended":
            return self.calls.pop(call_id, None) is not None
        if topic == "call.started":
            direction = str(payload.get("direction") or "")
            if known is None:
                self.calls[call_id] = LiveCall(call_id, direction, payload.get("number"), None, "dialing", now)
            else:
                # The agent's state may have told of the call first: the start fills in what it knows.
                self.calls[call_id] = replace(known, direction=known.direction or direction,
                                              number=known.number or payload.get("number"))
        elif topic in ("call.ringing", "call.answered", "call.bridged"):
            phase = "ringing" if topic == "call.ringing" else "talking"
            base = known or LiveCall(call_id, "", payload.get("number"), None, phase, now)
            since = base.since if known is not None and known.phase == phase else now
            self.calls[call_id] = replace(base, phase=phase, agent=payload.get("agent") or base.agent,
                                          number=payload.get("number") or base.number, since=since)
        else:
            return False
        while len(self.calls) > MAX_LIVE_CALLS:
            self.calls.pop(next(iter(self.calls)))
        return True

    # ------------------------------------------------------------------ what the widgets draw

    def agent_list(self) -> list[AgentRow]:
        """Agents by name (a stable order: a row does not jump when its state changes)."""
        return sorted(self.agents.values(), key=lambda a: (a.name.casefold(), a.endpoint))

    def agent_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(AGENT_STATES, 0)
        for agent in self.agents.values():
            counts[agent.state] = counts.get(agent.state, 0) + 1
        return counts

    def agent_name(self, endpoint: str | None) -> str | None:
        """The name of the agent on a phone (the phone itself when nobody known has it)."""
        if not endpoint:
            return None
        return next((a.name for a in self.agents.values() if a.endpoint == endpoint), endpoint)

    def call_list(self) -> list[LiveCall]:
        """Calls in progress, the longest first."""
        return sorted(self.calls.values(), key=lambda c: (c.since, c.call_id))

    def figure(self, name: str, default: Any = 0) -> Any:
        return (self.stats or {}).get(name, default)

    @property
    def abandon_cap(self) -> float | None:
        cap = (self.stats or {}).get("abandon_cap") or (self.pacing or {}).get("abandon_cap")
        return float(cap) if isinstance(cap, int | float) else None

    @property
    def abandon_rate(self) -> float | None:
        rate = (self.stats or {}).get("day_abandon_rate")
        return float(rate) if isinstance(rate, int | float) else None
