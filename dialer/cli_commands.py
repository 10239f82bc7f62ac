"""``zvonar dialer ...`` commands: argument definitions and the command bodies (no settings needed)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from typing import Any, TextIO

from dialer.simulation.model import ClientModel
from dialer.simulation.modes import MODES
from dialer.simulation.runner import simulate

MAX_AGENTS = 2000  # a day of 1000 agents takes minutes; more is no campaign this simulator is for

# Client-model options: --p-human, --talk-mean, ... one per ClientModel field.
_MODEL_OPTIONS = {f.name: "--" + f.name.replace("_", "-") for f in fields(ClientModel)}


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``zvonar dialer simulate``."""
    parser.add_argument("--mode", choices=MODES, default="predictive")
    parser.add_argument("--agents", type=int, default=10, help="agents logged in all day")
    parser.add_argument("--hours", type=float, default=8.0, help="length of the simulated campaign day")
    parser.add_argument("--seed", type=int, default=1, help="the client draws; the same for every mode")
    parser.add_argument("--ratio", type=float, default=None, help="lines per free agent in --mode ratio (default 2)")
    parser.add_argument("--cap", type=float, default=0.03, help="abandons / human-answered allowed (FTC, Ofcom: 0.03)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    defaults = ClientModel()
    group = parser.add_argument_group("client model")
    for name, option in _MODEL_OPTIONS.items():
        default = getattr(defaults, name)
        group.add_argument(option, dest=f"model_{name}", type=type(default), default=default,
                           metavar="N", help=f"default {default}")


def simulate_command(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Run one simulated day and print its figures; exit 2 on bad options."""
    try:
        model = ClientModel(**{name: getattr(args, f"model_{name}") for name in _MODEL_OPTIONS})
        if not 1 <= args.agents <= MAX_AGENTS:
            raise ValueError(f"--agents must be 1..{MAX_AGENTS}, got {args.agents}")
        if not 0 < args.hours <= 24 * 31:
            raise ValueError(f"--hours must be in (0, 744], got {args.hours}")
        if not 0 < args.cap < 1:
            raise ValueError(f"--cap must be in (0, 1), got {args.cap}")
        if args.ratio is not None and args.mode != "ratio":
            raise ValueError(f"--ratio applies to --mode ratio only, not {args.mode}")
        ratio = 2.0 if args.ratio is None else args.ratio
        if not 1 <= ratio <= model.lines_per_agent:
            raise ValueError(f"--ratio must be in [1, {model.lines_per_agent}] (the lines per agent), got {ratio}")
        result = simulate(args.mode, args.agents, args.hours, args.seed, model=model, ratio=ratio, cap=args.cap)
    except ValueError as exc:
        print(f"zvonar dialer simulate: {exc}", file=err)
        return 2
    except ArithmeticError as exc:  # what the bounds above let through: say so, not a traceback
        print(f"zvonar dialer simulate: these numbers are too extreme to simulate ({type(exc).__name__}: {exc})", file=err)
        return 2
    if args.json:
        print(json.dumps(result, sort_keys=True), file=out)
    else:
        _print_table(result, out)
    return 0


def _print_table(result: dict[str, Any], out: TextIO) -> None:
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        print(f"{key:<{width}}  {shown}", file=out)
