"""Dialing modes side by side on simulated campaign days, and issue 6's bars for predictive.

    .venv/bin/python benchmarks/bench_dialer.py            # 1, 5, 20, 100 agents x 20 seeds x 8 h, both models
    .venv/bin/python benchmarks/bench_dialer.py --quick    # 3 seeds x 2 h: a smoke run in a couple of minutes

Every mode dials the same clients for a seed (dialer/simulation/model.py): one job per
(client model, agents, seed) runs all five modes and the clairvoyant bound on one draw
sequence; jobs run on ``--jobs`` processes (2 by default). Two client models: the issue's
default, and "human 0.15, talk 60 s" (the answers taken away from humans ring out as no
answers: no answer 0.60). Columns: ``occ`` mean occupancy over the seeds, ``abandon``
mean abandon rate (abandons / human answers) and ``worst`` the worst seed's, ``talk``
talk minutes per agent hour, ``bound`` the clairvoyant occupancy (dialer/simulation/bound.py).
The bars (issue 6), for predictive with the default model: abandon <= 3 % on every seed,
occupancy >= 0.80 at 5 agents, >= 0.89 at 20, >= 0.96 at 100; in every cell, occupancy
above adaptive-baseline's. Last, the cost of one ``decide()`` call (CPU time, replayed
snapshots of a predictive day).
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dialer.pacing import PacingConfig, PacingStats, decide  # noqa: E402
from dialer.simulation.bound import bound_occupancy  # noqa: E402
from dialer.simulation.engine import Order, run_day  # noqa: E402
from dialer.simulation.model import ClientDraws, ClientModel  # noqa: E402
from dialer.simulation.modes import MODES, Predictive, make_controller  # noqa: E402

MODELS = {
    "default": ClientModel(),
    "human 0.15, talk 60 s": ClientModel(p_human=0.15, p_no_answer=0.60, talk_mean=60.0),
}
OCCUPANCY_BARS = {5: 0.80, 20: 0.89, 100: 0.96}  # predictive, default model
CAP = 0.03


def run_job(job: tuple[str, int, int, float, float]) -> dict[str, Any]:
    """All modes and the bound for one (model, agents, seed)."""
    model_name, agents, seed, hours, ratio = job
    draws = ClientDraws(seed, MODELS[model_name])
    figures = {}
    for mode in MODES:
        controller = make_controller(mode, hours * 3600.0, ratio=ratio, cap=CAP,
                                     preview_seconds=draws.model.preview_seconds)
        figures[mode] = run_day(draws, agents, hours, controller, cap=CAP)
    return {"model": model_name, "agents": agents, "seed": seed, "figures": figures,
            "bound": bound_occupancy(draws, agents, hours)}


class _Recorder(Predictive):
    """Predictive, keeping the snapshots it decided on (to time decide() afterwards)."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshots: list[PacingStats] = []

    def decide(self, stats: PacingStats) -> Order:
        if len(self.snapshots) < 3000 and stats.time > 1800:
            self.snapshots.append(stats)
        return super().decide(stats)


def decide_cost(agents: int) -> float:
    """Microseconds of CPU per decide() call on snapshots of a predictive day with ``agents``."""
    recorder = _Recorder()
    run_day(ClientDraws(1, ClientModel()), agents, 1.0, recorder, cap=CAP)
    config = PacingConfig()
    started = time.process_time()
    for stats in recorder.snapshots:
        decide(stats, config)
    return (time.process_time() - started) / max(1, len(recorder.snapshots)) * 1e6


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds x 2 h days")
    parser.add_argument("--hours", type=float, default=None, help="length of each day (8; 2 with --quick)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per cell (20; 3 with --quick)")
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 5, 20, 100])
    parser.add_argument("--ratio", type=float, default=2.0, help="lines per free agent in mode ratio")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args()
    hours = args.hours or (2.0 if args.quick else 8.0)
    seeds = args.seeds or (3 if args.quick else 20)

    jobs = [(name, agents, seed, hours, args.ratio)
            for name in MODELS for agents in args.agents for seed in range(1, seeds + 1)]
    jobs.sort(key=lambda job: -job[1])  # the long ones first, so the pool ends together
    started = time.time()
    with Pool(args.jobs) as pool:
        results = pool.map(run_job, jobs, chunksize=1)
    elapsed = time.time() - started

    print(f"{hours:g} h days, {seeds} seeds per cell, cap {CAP:.0%}, fixed ratio {args.ratio:g}; "
          f"{len(jobs)} jobs on {args.jobs} processes in {elapsed / 60:.1f} min")
    verdicts = []
    for name in MODELS:
        print(f"\nclient model: {name}")
        header = (f"{'agents':>6} {'mode':<18} {'occ':>6} {'abandon':>8} {'worst':>7} "
                  f"{'talk':>6} {'dials':>7} {'bound':>6}")
        print(header)
        print("-" * len(header))
        for agents in args.agents:
            cell = [r for r in results if r["model"] == name and r["agents"] == agents]
            bound = _mean([r["bound"] for r in cell])
            occupancy = {}
            for mode in MODES:
                days = [r["figures"][mode] for r in cell]
                occupancy[mode] = _mean([d.occupancy for d in days])
                print(f"{agents:>6} {mode:<18} {occupancy[mode]:>6.3f} {_mean([d.abandon_rate for d in days]):>8.4f} "
                      f"{max(d.abandon_rate for d in days):>7.4f} "
                      f"{_mean([d.talk_minutes_per_agent_hour for d in days]):>6.1f} "
                      f"{_mean([d.dials for d in days]):>7.0f} {bound:>6.3f}")
            print()
            worst = max(r["figures"]["predictive"].abandon_rate for r in cell)
            checks = [(f"abandon <= 3 % on every seed (worst {worst:.4f})", worst <= CAP),
                      (f"ahead of adaptive-baseline ({occupancy['predictive']:.3f} vs "
                       f"{occupancy['adaptive-baseline']:.3f})",
                       occupancy["predictive"] > occupancy["adaptive-baseline"])]
            if name == "default" and agents in OCCUPANCY_BARS:
                bar = OCCUPANCY_BARS[agents]
                checks.append((f"occupancy >= {bar} ({occupancy['predictive']:.3f})", occupancy["predictive"] >= bar))
            for text, ok in checks:
                verdicts.append(f"  {'met   ' if ok else 'NOT met'}  {name}, {agents} agents: {text}")

    print("predictive against the bars:")
    print("\n".join(verdicts))
    print("\ndecide() cost, CPU microseconds per call:",
          ", ".join(f"{agents} agents {decide_cost(agents):.0f}" for agents in args.agents))


if __name__ == "__main__":
    main()
