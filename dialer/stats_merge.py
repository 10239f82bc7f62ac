"""One campaign's live figures out of the parts its dialers know (pure: plain data in, plain data out).

A predictive or progressive campaign is paced by one dialer at a time (its lease in
crm_core/services/campaign_dialers.py), so its figures are that dialer's. A preview
campaign takes no lease: every server hands cards to its own operators, and each dialer
knows only its part: its own calls, its own dials since it took the campaign up, the
agents its own PBX connection sees. So every dialer of a preview campaign publishes its
part (``dialer.stats_part`` on the bus, once a stats period; ``left`` when it lets the
campaign go), keeps the latest part of every other one (:class:`PartBook`), and the
figures it publishes on ``campaign.stats`` and answers on the API are the merge of the
fresh parts (:func:`merge`). Only one dialer publishes them, :func:`publisher` (the
smallest owner id among the fresh parts): every dialer hears the same parts, so they
agree on it, and the stream does not alternate between servers' views.

How each figure merges:

- calls in flight (``ringing``, ``waiting``, ``in_flight``), the dials, answers and
  abandons since the dialer took the campaign up and those of the rolling window: each
  dialer's own calls, so they add up;
- agents by state and occupancy: the campaign queue as the dialer's PBX connection sees
  it. Dialers connected to one Asterisk see the same agents, so each PBX counts once
  (the part of its smallest owner id: a fixed choice, no flapping between two dialers'
  slightly different moments), and PBXs add up; occupancy is the busy seconds over the
  logged-in seconds of those parts together, so weighted by agents and time;
- the day's dials, answers and abandons: the store's. Each dialer of a preview campaign
  rebases its day figures on the store at each publication (the store's counts, plus its
  own answers not yet written) and counts its own calls until the next; so each part's
  day figure is the whole campaign's up to its last rebase, and the merge takes the
  largest of each: the most recent count, never a dial counted twice;
- problems (dialer/campaign_problems.py): what any dialer finds wrong, together (a queue
  one server's PBX lacks is wrong for the campaign).

A part not refreshed within ``stale_seconds`` (its dialer died or lost the bus) is left
out. With one dialer the merge of its one part is exactly its own figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dialer.campaign_problems import as_list, from_list, merged
from dialer.runner_state import PHASES, CampaignLive, day_rate_figures, rate

PART_TOPIC = "dialer.stats_part"
STALE_SECONDS = 3.0

_COUNTS = ("dials", "answered", "abandoned", "machines", "window_dials", "window_answered", "window_abandoned",
           "ringing", "waiting", "in_flight", "day_dials", "day_answered", "day_abandoned", "day_machines")


@dataclass(frozen=True)
class StatsPart:
    """What one dialer knows of one campaign now (the ``dialer.stats_part`` payload)."""

    campaign_id: int
    dialer: str  # the dialer's owner id (dialer/owners.py)
    pbx: str  # the AMI server its bridge talks to (host:port): dialers on one PBX see the same agents
    dials: int = 0
    answered: int = 0
    abandoned: int = 0
    machines: int = 0
    window_dials: int = 0
    window_answered: int = 0
    window_abandoned: int = 0
    ringing: int = 0
    waiting: int = 0
    in_flight: int = 0
    day_dials: int = 0
    day_answered: int = 0
    day_abandoned: int = 0
    day_machines: int = 0
    agents: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    busy_seconds: float = 0.0
    logged_seconds: float = 0.0
    problems: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # what this dialer finds wrong
    left: bool = False  # the dialer let the campaign go: forget its part now

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["agents"] = dict(self.agents)
        out["problems"] = as_list(self.problems)
        return out

    @classmethod
    def from_json(cls, payload: Mapping[str, Any]) -> StatsPart | None:
        """A part from the bus; None if it is not one (another version, damaged)."""
        cid, dialer, pbx = payload.get("campaign_id"), payload.get("dialer"), payload.get("pbx")
        if not _count(cid) or not isinstance(dialer, str) or not dialer or not isinstance(pbx, str):
            return None
        counts = {name: payload.get(name, 0) for name in _COUNTS}
        agents = payload.get("agents") or {}
        seconds = (payload.get("busy_seconds", 0.0), payload.get("logged_seconds", 0.0))
        problems = from_list(payload.get("problems", []))
        if (problems is None or not all(_count(v) for v in counts.values()) or not isinstance(agents, Mapping)
                or not all(_count(agents.get(p, 0)) for p in PHASES)
                or not all(isinstance(s, int | float) and not isinstance(s, bool) and s >= 0 for s in seconds)):
            return None
        return cls(campaign_id=cid, dialer=dialer, pbx=pbx, **counts,
                   agents={p: int(agents.get(p, 0)) for p in PHASES},
                   busy_seconds=float(seconds[0]), logged_seconds=float(seconds[1]), problems=problems,
                   left=payload.get("left") is True)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def part_of(live: CampaignLive, t: float, dialer: str, pbx: str) -> StatsPart:
    """This dialer's part of the campaign's figures at ``t`` (the runner's clock)."""
    w_dials, w_answered, w_abandoned = live.window_counts(t)
    return StatsPart(
        campaign_id=live.campaign_id, dialer=dialer, pbx=pbx,
        dials=live.run_dials, answered=live.run_answered, abandoned=live.run_abandoned, machines=live.run_machines,
        window_dials=w_dials, window_answered=w_answered, window_abandoned=w_abandoned,
        ringing=len(live.ringing), waiting=live.waiting, in_flight=len(live.calls),
        day_dials=live.day_dials, day_answered=live.day_answered, day_abandoned=live.day_abandoned,
        day_machines=live.day_machines,
        agents=dict(live.agents), busy_seconds=live.busy_seconds, logged_seconds=live.logged_seconds,
        problems={code: dict(params) for code, params in live.problems.items()},
    )


def publisher(parts: Iterable[StatsPart]) -> str | None:
    """The dialer that publishes the merged figures: the smallest owner id among those still running the campaign."""
    return min((p.dialer for p in parts if not p.left), default=None)


def merge(parts: Sequence[StatsPart], amd_misread_share: float = 0.0) -> dict[str, Any]:
    """The figures of ``campaign.stats`` that depend on the dialers' parts (the rest is the stored campaign's)."""
    parts = [p for p in parts if not p.left]
    total = {name: sum(getattr(p, name) for p in parts) for name in ("dials", "answered", "abandoned", "machines",
                                                                       "window_dials", "window_answered",
                                                                       "window_abandoned", "ringing", "waiting",
                                                                       "in_flight")}
    day = {name: max((getattr(p, name) for p in parts), default=0) for name in ("day_dials", "day_answered",
                                                                                "day_abandoned", "day_machines")}
    per_pbx: dict[str, StatsPart] = {}
    for p in sorted(parts, key=lambda p: p.dialer):
        per_pbx.setdefault(p.pbx, p)
    agents = dict.fromkeys(PHASES, 0)
    for p in per_pbx.values():
        for phase in PHASES:
            agents[phase] += int(p.agents.get(phase, 0))
    busy = sum(p.busy_seconds for p in per_pbx.values())
    logged = sum(p.logged_seconds for p in per_pbx.values())
    return {
        "dials": total["dials"],
        "answered": total["answered"],
        "abandoned": total["abandoned"],
        "abandon_rate": rate(total["abandoned"], total["answered"]),
        "machines": total["machines"],
        "occupancy": round(busy / logged, 4) if logged > 0 else 0.0,
        "agents": agents,
        "ringing": total["ringing"],
        "waiting": total["waiting"],
        "in_flight": total["in_flight"],
        "day_dials": day["day_dials"],
        "day_answered": day["day_answered"],
        "day_abandoned": day["day_abandoned"],
        **day_rate_figures(day["day_answered"], day["day_abandoned"], day["day_machines"], amd_misread_share),
        "window_dials": total["window_dials"],
        "window_answered": total["window_answered"],
        "window_abandoned": total["window_abandoned"],
        "window_abandon_rate": rate(total["window_abandoned"], total["window_answered"]),
        "problems": as_list(merged(p.problems for p in sorted(parts, key=lambda p: p.dialer))),
    }


class PartBook:
    """The latest part of every other dialer, per campaign, with when it was heard (the runner's clock)."""

    def __init__(self, stale_seconds: float = STALE_SECONDS) -> None:
        self.stale_seconds = stale_seconds
        self._parts: dict[int, dict[str, tuple[StatsPart, float]]] = {}

    def heard(self, part: StatsPart, t: float) -> None:
        self._forget_stale(t)
        by_dialer = self._parts.setdefault(part.campaign_id, {})
        if part.left:
            by_dialer.pop(part.dialer, None)
        else:
            by_dialer[part.dialer] = (part, t)

    def fresh(self, campaign_id: int, t: float) -> list[StatsPart]:
        """The parts of ``campaign_id`` heard within ``stale_seconds``, by owner id."""
        self._forget_stale(t)
        return [part for _, (part, _) in sorted(self._parts.get(campaign_id, {}).items())]

    def _forget_stale(self, t: float) -> None:
        for campaign_id in list(self._parts):
            by_dialer = self._parts[campaign_id]
            for dialer in [d for d, (_, heard) in by_dialer.items() if t - heard > self.stale_seconds]:
                del by_dialer[dialer]
            if not by_dialer:
                del self._parts[campaign_id]
