"""``python -m operator_tui [--server URL] [--lang ru|en|uk]``: the desk without the rest of Zvonar installed."""

from __future__ import annotations

import argparse
import sys

from operator_tui.api_client import DEFAULT_SERVER
from operator_tui.app import run_tui

parser = argparse.ArgumentParser(prog="python -m operator_tui", description="Zvonar's operator desk")
parser.add_argument("--server", default=DEFAULT_SERVER)
parser.add_argument("--lang", choices=["ru", "en", "uk"], default="ru")
parser.add_argument("--user", default="")
args = parser.parse_args()
sys.exit(run_tui(args.server, lang=args.lang, login=args.user))
