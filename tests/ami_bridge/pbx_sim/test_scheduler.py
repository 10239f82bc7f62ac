"""The simulator's discrete-event clock: exact instants, stable order, processes and signals."""

from __future__ import annotations

from ami_bridge.pbx_sim.scheduler import Scheduler


def test_callbacks_run_by_time_then_in_scheduling_order() -> None:
    sched = Scheduler()
    seen: list[str] = []
    sched.call_later(2.0, seen.append, "late")
    for name in ("a", "b", "c", "d", "e"):
        sched.call_later(1.0, seen.append, name)
    sched.call_soon(seen.append, "now")
    assert sched.run_until(1.5) == 6
    assert seen == ["now", "a", "b", "c", "d", "e"]
    assert sched.now == 1.5 and sched.next_time() == 2.0
    sched.run_until(10)
    assert seen[-1] == "late" and sched.next_time() is None


def test_a_process_waits_on_timeouts_and_signals_and_returns_a_value() -> None:
    sched = Scheduler()
    door = sched.signal("door")
    trace: list[tuple[float, str]] = []

    def visitor():
        yield sched.timeout(1.0)
        trace.append((sched.now, "knocks"))
        winner = yield sched.any_of(sched.timeout(5.0), door)
        trace.append((sched.now, "let in" if winner is door else "leaves"))
        return winner.value

    proc = sched.spawn(visitor())
    sched.call_later(3.0, door.fire, "welcome")
    sched.run_until(100)
    assert trace == [(1.0, "knocks"), (3.0, "let in")]
    assert proc.fired and proc.value == "welcome"


def test_a_signal_fired_before_the_wait_resumes_at_once_with_its_value() -> None:
    sched = Scheduler()
    ready = sched.signal()
    ready.fire(42)
    assert not ready.fire(43)
    got: list[int] = []

    def reader():
        got.append((yield ready))

    sched.spawn(reader())
    sched.run_until(0)
    assert got == [42]


def test_killing_a_process_runs_its_cleanup_and_drops_its_wait() -> None:
    sched = Scheduler()
    cleaned: list[bool] = []

    def sleeper():
        try:
            yield sched.timeout(10.0)
        finally:
            cleaned.append(True)

    proc = sched.spawn(sleeper())
    sched.run_until(1)
    proc.kill()
    assert cleaned == [True] and not proc.alive and proc.fired


def test_a_crashing_process_is_logged_and_does_not_stop_the_clock(caplog) -> None:
    sched = Scheduler()

    def broken():
        yield sched.timeout(1.0)
        raise RuntimeError("bad dialplan")

    proc = sched.spawn(broken())
    later: list[float] = []
    sched.call_later(2.0, lambda: later.append(sched.now))
    sched.run_until(5)
    assert proc.fired and later == [2.0]
    assert "pbx_sim.process.crashed" in caplog.text
