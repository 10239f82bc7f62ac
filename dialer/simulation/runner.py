"""One simulated campaign day for a mode, with its clairvoyant bound, as a plain dict."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dialer.simulation.bound import bound_occupancy
from dialer.simulation.engine import run_day
from dialer.simulation.model import ClientDraws, ClientModel
from dialer.simulation.modes import make_controller


def simulate(
    mode: str,
    agents: int,
    hours: float,
    seed: int,
    model: ClientModel | None = None,
    ratio: float = 2.0,
    cap: float = 0.03,
) -> dict[str, Any]:
    """Run ``mode`` for ``hours`` with ``agents`` on the clients of ``seed``; figures rounded for print."""
    model = model or ClientModel()
    controller = make_controller(mode, hours * 3600.0, ratio=ratio, cap=cap, preview_seconds=model.preview_seconds)
    draws = ClientDraws(seed, model)  # drawn lazily and kept: the bound walks the same clients
    figures = run_day(draws, agents, hours, controller, cap=cap)
    result: dict[str, Any] = {"mode": mode, "agents": agents, "hours": hours, "seed": seed}
    if mode == "ratio":
        result["ratio"] = ratio
    result.update(asdict(figures))
    result["bound_occupancy"] = bound_occupancy(draws, agents, hours)
    for key in ("occupancy", "abandon_rate", "talk_minutes_per_agent_hour", "bound_occupancy"):
        result[key] = round(result[key], 6)
    return result
