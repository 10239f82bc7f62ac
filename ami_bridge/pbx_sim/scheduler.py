"""A small discrete-event scheduler: simulated time, one-shot signals, generator processes.

The simulator's telephony runs on this clock, not on asyncio timers: every step
happens at an exact simulated instant and steps due at the same instant run in the
order they were scheduled. That keeps event order deterministic (asyncio's timer
heap does not order equal deadlines) and lets tests drive the PBX without sockets.
A process is a generator that yields a :class:`Signal` and is resumed with the
signal's value once it fires; resumption is always deferred to the scheduler's
queue, never nested inside the code that fired the signal.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Generator
from typing import Any

log = logging.getLogger(__name__)

ProcessGen = Generator["Signal", Any, Any]


class Timer:
    """A scheduled callback; ``cancel()`` stops it from running."""

    __slots__ = ("when", "fn", "args", "cancelled")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Signal:
    """A one-shot event carrying a value; waiters are resumed through the scheduler."""

    __slots__ = ("_scheduler", "name", "fired", "value", "_waiters", "_timer")

    def __init__(self, scheduler: Scheduler, name: str = "") -> None:
        self._scheduler = scheduler
        self.name = name
        self.fired = False
        self.value: Any = None
        self._waiters: list[Callable[[Signal], None]] = []
        self._timer: Timer | None = None

    def fire(self, value: Any = None) -> bool:
        """Fire once; later calls are ignored (returns False)."""
        if self.fired:
            return False
        self.fired = True
        self.value = value
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            self._scheduler.call_soon(waiter, self)
        return True

    def add_waiter(self, waiter: Callable[[Signal], None]) -> None:
        if self.fired:
            self._scheduler.call_soon(waiter, self)
        else:
            self._waiters.append(waiter)

    def remove_waiter(self, waiter: Callable[[Signal], None]) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def discard(self) -> None:
        """Forget a timeout nobody waits for any more (keeps the timer heap small)."""
        if self._timer is not None and not self.fired:
            self._timer.cancel()

    def __repr__(self) -> str:
        return f"<Signal {self.name} fired={self.fired}>"


class Process(Signal):
    """Runs a generator; fires with its return value when it finishes."""

    __slots__ = ("_gen", "_waiting_on")

    def __init__(self, scheduler: Scheduler, gen: ProcessGen, name: str = "") -> None:
        super().__init__(scheduler, name)
        self._gen: ProcessGen | None = gen
        self._waiting_on: Signal | None = None
        scheduler.call_soon(self._step, None)

    @property
    def alive(self) -> bool:
        return self._gen is not None

    def kill(self) -> None:
        """Stop the generator where it waits (its ``finally`` blocks run)."""
        gen, self._gen = self._gen, None
        if gen is None:
            return
        if self._waiting_on is not None:
            self._waiting_on.remove_waiter(self._resume)
            self._waiting_on = None
        gen.close()
        self.fire(None)

    def _resume(self, signal: Signal) -> None:
        self._waiting_on = None
        self._step(signal.value)

    def _step(self, value: Any) -> None:
        gen = self._gen
        if gen is None:
            return
        try:
            target = gen.send(value)
        except StopIteration as stop:
            self._gen = None
            self.fire(stop.value)
            return
        except Exception:
            self._gen = None
            log.exception("pbx_sim.process.crashed name=%s", self.name)
            self.fire(None)
            return
        if not isinstance(target, Signal):
            self._gen = None
            gen.close()
            log.error("pbx_sim.process.bad_yield name=%s value=%r", self.name, target)
            self.fire(None)
            return
        self._waiting_on = target
        target.add_waiter(self._resume)


class Scheduler:
    """Simulated clock plus a queue of callbacks ordered by (time, scheduling order)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any) -> Timer:
        timer = Timer(max(when, self.now), fn, args)
        heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        return timer

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now + max(0.0, delay), fn, *args)

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now, fn, *args)

    def signal(self, name: str = "") -> Signal:
        return Signal(self, name)

    def timeout(self, delay: float | None, name: str = "timeout") -> Signal:
        """A signal firing after ``delay`` simulated seconds (never, if None)."""
        sig = Signal(self, name)
        if delay is not None:
            sig._timer = self.call_later(delay, sig.fire, None)
        return sig

    def any_of(self, *signals: Signal) -> Signal:
        """Fires with the first of ``signals`` to fire (the signal itself is the value)."""
        result = Signal(self, "any_of")

        def won(sig: Signal) -> None:
            if result.fired:
                return
            for other in signals:
                if other is not sig:
                    other.remove_waiter(won)
            result.fire(sig)

        for sig in signals:
            if sig.fired:
                won(sig)
                break
            sig.add_waiter(won)
        return result

    def spawn(self, gen: ProcessGen, name: str = "") -> Process:
        return Process(self, gen, name)

    def next_time(self) -> float | None:
        """When the next live callback is due, or None."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def run_until(self, until: float) -> int:
        """Run everything due up to ``until`` (inclusive); the clock ends at ``until``."""
        ran = 0
        while self._heap and self._heap[0][0] <= until:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self.now = when
            ran += 1
            try:
                timer.fn(*timer.args)
            except Exception:
                log.exception("pbx_sim.scheduler.callback_failed fn=%r", timer.fn)
        if until > self.now:
            self.now = until
        return ran

    def run_for(self, seconds: float) -> int:
        return self.run_until(self.now + seconds)
