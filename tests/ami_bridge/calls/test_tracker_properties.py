"""Properties of the tracker under disorder: real events shuffled, cut, repeated, mangled.

``feed`` catches everything, so "it did not raise" alone proves nothing: these
properties also require that no event hit an internal error (the tracker logs
``ami.tracker.event_skipped`` with a traceback when one does) and that the
update stream stays coherent.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_bridge.calls.model import CallEnded, CallStarted, Outcome
from ami_bridge.calls.tracker import CallTracker
from tests.ami_bridge.trace_files import events, trace_names

NAMES = trace_names()
CLEAN = "click_to_call_busy"  # replayed after the junk; its ActionIDs and Uniqueids appear nowhere else


@cache
def _events(name: str) -> list[tuple[float, dict[str, Any]]]:
    return events(name)  # fails the test (not the collection) when the traces are missing


class _InternalErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


def _run(tracker: CallTracker, stream: list[tuple[float | None, dict[str, Any]]]) -> list[Any]:
    handler = _InternalErrors()
    logger = logging.getLogger("ami_bridge.calls.tracker")
    logger.addHandler(handler)
    try:
        updates: list[Any] = []
        for t, msg in stream:
            updates += tracker.feed(msg, t)
        updates += tracker.drain()
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]
    return updates


def _coherent(updates: list[Any]) -> None:
    started: set[str] = set()
    ended: set[str] = set()
    for update in updates:
        if isinstance(update, CallStarted):
            assert update.call_id not in started
            started.add(update.call_id)
            continue
        assert update.call_id in started  # nothing about a call before it started
        assert update.call_id not in ended  # and nothing after it ended
        if isinstance(update, CallEnded):
            ended.add(update.call_id)
            call = update.call
            assert call.outcome in Outcome
            assert call.talk_seconds is None or call.talk_seconds >= 0
            if call.started_at is not None and call.ended_at is not None:
                assert call.started_at <= call.ended_at


@st.composite
def disordered(draw: st.DrawFn) -> list[tuple[float | None, dict[str, Any]]]:
    """Events of one or two real sessions, reordered, cut short and repeated."""
    picked = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))
    stream = [item for name in picked for item in _events(name)]
    start = draw(st.integers(0, len(stream) // 3))
    stop = draw(st.integers(max(start, len(stream) * 2 // 3), len(stream)))
    stream = stream[start:stop]
    if draw(st.booleans()):
        # Local disorder, as threads in Asterisk produce it: shuffle inside windows.
        window = draw(st.integers(2, 12))
        rng = draw(st.randoms(use_true_random=False))
        chunks = [stream[i : i + window] for i in range(0, len(stream), window)]
        for chunk in chunks:
            rng.shuffle(chunk)
        stream = [item for chunk in chunks for item in chunk]
    repeats = draw(st.lists(st.integers(0, max(len(stream) - 1, 0)), max_size=20))
    for index in sorted(repeats, reverse=True):
        if stream:
            stream.insert(index, stream[index])
    drops = draw(st.lists(st.integers(0, max(len(stream) - 1, 0)), max_size=30, unique=True))
    for index in sorted(drops, reverse=True):
        if index < len(stream):
            del stream[index]
    clock = draw(st.sampled_from(["real", "none", "frozen"]))
    if clock == "none":
        return [(None, msg) for _, msg in stream]
    if clock == "frozen":
        return [(0.0, msg) for _, msg in stream]
    return stream


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(disordered())
def test_disordered_real_events_never_hit_an_internal_error(stream: list[tuple[float | None, dict[str, Any]]]) -> None:
    _coherent(_run(CallTracker(), stream))


_MANGLED_VALUES = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.lists(st.text(max_size=4), max_size=3),
    st.integers(),
    st.sampled_from(["<unknown>", "", "-1", "99999999999999999999", "ANSWER", "Local/x@y-00000001;2"]),
)


@st.composite
def mangled(draw: st.DrawFn) -> list[tuple[float, dict[str, Any]]]:
    """Real events with fields removed or replaced by junk of any type."""
    name = draw(st.sampled_from([n for n in NAMES if n != CLEAN]))
    stream = _events(name)
    start = draw(st.integers(0, len(stream) - 1))
    chosen = stream[start : start + draw(st.integers(1, 150))]
    out = []
    for t, msg in chosen:
        msg = dict(msg)
        if draw(st.integers(0, 3)) == 0:
            key = draw(st.sampled_from(sorted(msg)))
            if draw(st.booleans()):
                del msg[key]
            else:
                msg[key] = draw(_MANGLED_VALUES)
        out.append((t, msg))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mangled())
def test_mangled_events_never_raise_and_leave_the_tracker_usable(stream: list[tuple[float, dict[str, Any]]]) -> None:
    tracker = CallTracker()
    logger = logging.getLogger("ami_bridge.calls.tracker")
    level = logger.level
    # Junk is expected to be logged (with tracebacks); captured by the test run by
    # the thousand, those records would keep every tracker alive.
    logger.setLevel(logging.CRITICAL)
    try:
        for t, msg in stream:
            assert isinstance(tracker.feed(msg, t), list)
    finally:
        logger.setLevel(level)
    tracker.connection_lost(50_000.0)
    tracker.resync([], 50_001.0)  # closes whatever the junk left open
    assert tracker.live_calls == 0
    # The same tracker then follows a clean session exactly.
    updates = _run(tracker, [(t + 60_000.0, msg) for t, msg in _events(CLEAN)])
    [ended] = [u.call for u in updates if isinstance(u, CallEnded)]
    assert (ended.outcome, ended.number, ended.agent) == (Outcome.BUSY, "380671234567", "102")
