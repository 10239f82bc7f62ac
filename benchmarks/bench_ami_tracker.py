"""How fast AMI bytes become tracked calls, on one core.

A load-burst-like stream is synthesised from the recorded predictive_batch session
(12 Originates: answered, busy, no answer, congestion, queue timeouts): copies of
it get fresh Uniqueids/Linkedids, channel names, ActionIDs, bridge ids and client
numbers, and GROUP copies at a time are interleaved message by message, so a few
hundred calls are in flight at once. The stream is then
  1. parsed only (AmiParser, 64 KiB reads)            -> bare parsing speed
  2. parsed and fed to CallTracker (a fake clock)      -> the bridge's hot path
  3. the same messages, already parsed, fed to CallTracker -> the tracker's own cost
Goal: >= 50 000 events/s through parser+tracker, and at least half the bare parsing speed.

Run: .venv/bin/python benchmarks/bench_ami_tracker.py [--copies N] [--group G]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ami_bridge.calls.model import CallEnded, Outcome
from ami_bridge.calls.tracker import CallTracker
from ami_bridge.protocol import AmiParser

READ_SIZE = 65536
GOAL_EVENTS_PER_SECOND = 50_000
GOAL_SHARE_OF_PARSING = 0.5
_SUFFIX = re.compile(r"-000000([0-9a-f]{2})(?=;|\r)")


def shared_dir() -> Path:
    configured = os.environ.get("ZVONAR_SHARED_DIR")
    return Path(configured) if configured else REPO.parent / "shared"


def relabel(text: str, copy: int) -> str:
    """One copy of the session with identifiers no other copy uses."""
    text = text.replace("179544", f"{copy + 100000:06d}")  # Uniqueid / Linkedid epoch prefix
    text = _SUFFIX.sub(lambda m: f"-{copy:06x}{m.group(1)}", text)  # channel name sequence
    text = text.replace("zv-", f"zv{copy}-")  # ActionIDs
    text = text.replace("BridgeUniqueid: ", f"BridgeUniqueid: {copy}-")
    for prefix in ("79160000", "38067000", "37529000"):  # client numbers
        text = text.replace(prefix, f"{prefix[:4]}{copy:04d}")
    return text


def blocks_of(raw: bytes) -> list[str]:
    """The session's messages as text blocks, greeting dropped."""
    text = raw.decode("utf-8")
    body = text.split("\r\n", 1)[1]
    return [block + "\r\n\r\n" for block in body.split("\r\n\r\n") if block.strip()]


def synthesise(raw: bytes, copies: int, group: int) -> tuple[bytes, int]:
    blocks = "\x00".join(blocks_of(raw))
    out = ["Asterisk Call Manager/13.0.0\r\n"]
    messages = 0
    for first in range(0, copies, group):
        streams = [relabel(blocks, k).split("\x00") for k in range(first, min(first + group, copies))]
        for index in range(max(len(s) for s in streams)):
            for stream in streams:
                if index < len(stream):
                    out.append(stream[index])
                    messages += 1
    return "".join(out).encode("utf-8"), messages


def parse_only(data: bytes) -> tuple[float, int]:
    start = time.perf_counter()
    parser = AmiParser()
    count = 0
    for pos in range(0, len(data), READ_SIZE):
        count += len(parser.feed(data[pos : pos + READ_SIZE]))
    return time.perf_counter() - start, count


def track_only(messages: list) -> float:
    tracker = CallTracker()
    feed = tracker.feed
    clock = 0.0
    start = time.perf_counter()
    for msg in messages:
        clock += 0.0005
        feed(msg, clock)
    tracker.drain(clock)
    return time.perf_counter() - start


def parse_and_track(data: bytes) -> tuple[float, int, list]:
    start = time.perf_counter()
    parser = AmiParser()
    tracker = CallTracker()
    feed = tracker.feed
    count = 0
    ended = []
    clock = 0.0
    for pos in range(0, len(data), READ_SIZE):
        for msg in parser.feed(data[pos : pos + READ_SIZE]):
            count += 1
            clock += 0.0005
            for update in feed(msg, clock):
                if update.__class__ is CallEnded:
                    ended.append(update.call)
    for update in tracker.drain(clock):
        if update.__class__ is CallEnded:
            ended.append(update.call)
    return time.perf_counter() - start, count, ended


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--copies", type=int, default=240, help="copies of predictive_batch (12 calls each)")
    args.add_argument("--group", type=int, default=20, help="copies interleaved at once (calls in flight / 12)")
    args.add_argument("--rounds", type=int, default=3, help="best of N runs")
    opts = args.parse_args()

    raw_path = shared_dir() / "ami-traces" / "predictive_batch.raw"
    if not raw_path.is_file():
        print(f"bench_ami_tracker: {raw_path} not found (set ZVONAR_SHARED_DIR)", file=sys.stderr)
        return 2
    data, messages = synthesise(raw_path.read_bytes(), opts.copies, opts.group)
    print(f"stream: {opts.copies} x predictive_batch, {opts.group} interleaved -> {messages} messages, {len(data) / 1e6:.1f} MB")

    parsed = AmiParser().feed(data)
    parse_times, tracker_times, track_times = [], [], []
    ended: list = []
    for _ in range(opts.rounds):
        elapsed, count = parse_only(data)
        assert count == messages + 1, (count, messages)  # + the greeting
        parse_times.append(elapsed)
        tracker_times.append(track_only(parsed))
        elapsed, count, ended = parse_and_track(data)
        track_times.append(elapsed)
    parse_rate = messages / min(parse_times)
    track_rate = messages / min(track_times)
    tracker_only = messages / min(tracker_times)

    expected_calls = opts.copies * 12
    answered = sum(1 for c in ended if c.outcome == Outcome.ANSWERED)
    print(f"calls finished: {len(ended)} (expected {expected_calls}), answered {answered} (expected {opts.copies * 4})")
    print(f"bare parsing:      {parse_rate:12,.0f} events/s")
    print(f"parser + tracker:  {track_rate:12,.0f} events/s  ({track_rate / parse_rate:.0%} of bare parsing)")
    print(f"tracker alone:     {tracker_only:12,.0f} events/s  (pre-parsed messages)")
    ok = (
        len(ended) == expected_calls
        and track_rate >= GOAL_EVENTS_PER_SECOND
        and track_rate >= GOAL_SHARE_OF_PARSING * parse_rate
    )
    print(
        f"goal (>= {GOAL_EVENTS_PER_SECOND:,} events/s and >= {GOAL_SHARE_OF_PARSING:.0%} of parsing): "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
