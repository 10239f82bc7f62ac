"""Dialing modes compared on simulated campaign days: occupancy, abandons, talk time, bound.

    .venv/bin/python benchmarks/bench_dialer.py [--hours 8] [--seeds 1 2 3] [--agents 1 3 5 10 25]

Every mode dials the same client sequence for a seed (dialer/simulation/model.py). Figures
are means over the seeds; ``max_ab`` is the worst seed's abandon rate (the cap, 3 %, is
per campaign day). ``bound`` is the clairvoyant occupancy (dialer/simulation/bound.py).
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from typing import Any

from dialer.simulation.modes import MODES
from dialer.simulation.runner import simulate


def _mean(runs: list[dict[str, Any]], key: str) -> float:
    return sum(r[key] for r in runs) / len(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--agents", type=int, nargs="+", default=[1, 3, 5, 10, 25])
    parser.add_argument("--ratio", type=float, default=2.0)
    args = parser.parse_args()

    print(f"{args.hours:g} h days, seeds {args.seeds}, fixed ratio {args.ratio:g} lines per free agent")
    header = (
        f"{'agents':>6} {'mode':<18} {'occupancy':>9} {'abandon':>8} {'max_ab':>7} "
        f"{'talk_min/ah':>11} {'dials':>7} {'bound':>6} {'sec':>5}"
    )
    print(header)
    print("-" * len(header))
    for agents in args.agents:
        for mode in MODES:
            started = time.perf_counter()
            runs = [simulate(mode, agents, args.hours, seed, ratio=args.ratio) for seed in args.seeds]
            elapsed = time.perf_counter() - started
            mean = partial(_mean, runs)
            print(
                f"{agents:>6} {mode:<18} {mean('occupancy'):>9.3f} {mean('abandon_rate'):>8.4f} "
                f"{max(r['abandon_rate'] for r in runs):>7.4f} {mean('talk_minutes_per_agent_hour'):>11.1f} "
                f"{mean('dials'):>7.0f} {mean('bound_occupancy'):>6.3f} {elapsed:>5.1f}"
            )
        print()


if __name__ == "__main__":
    main()
