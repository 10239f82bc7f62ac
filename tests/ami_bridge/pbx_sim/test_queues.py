"""app_queue bookkeeping: who may be rung, by which strategy, and Asterisk's refusals."""

from __future__ import annotations

import random

import pytest

from ami_bridge.pbx_sim.config import QueueConfig, QueueMemberConfig
from ami_bridge.pbx_sim.queues import INUSE, INVALID, NOT_INUSE, QueueEntry, QueueError, QueueState
from ami_bridge.pbx_sim.scheduler import Scheduler

AGENTS = ("PJSIP/101", "PJSIP/102", "PJSIP/103")


def _queue(strategy: str, **options: object) -> QueueState:
    members = tuple(QueueMemberConfig(i, f"Оператор {i[-3:]}") for i in AGENTS)
    return QueueState(QueueConfig("sales", strategy=strategy, members=members, **options), login_time=1795441640)


def _entry() -> QueueEntry:
    sched = Scheduler()
    return QueueEntry(channel=None, joined_at=0.0, original_position=1, wake=sched.signal())  # type: ignore[arg-type]


def _devices(**states: int):
    return lambda interface: states.get(interface.replace("PJSIP/", "d"), NOT_INUSE)


def test_ringall_rings_every_free_member_of_the_best_penalty() -> None:
    queue = _queue("ringall")
    queue.members[2].penalty = 1
    picked = queue.pick(_entry(), _devices(d102=INUSE), now=0.0, rng=random.Random(0))
    assert [m.interface for m in picked] == ["PJSIP/101"]
    picked = queue.pick(_entry(), _devices(), now=0.0, rng=random.Random(0))
    assert [m.interface for m in picked] == ["PJSIP/101", "PJSIP/102"]


def test_linear_tries_members_in_order_and_starts_over() -> None:
    queue = _queue("linear")
    entry = _entry()
    order = []
    for _ in range(4):
        member = queue.pick(entry, _devices(), 0.0, random.Random(0))[0]
        entry.tried.add(member.interface)
        order.append(member.interface)
    assert order == ["PJSIP/101", "PJSIP/102", "PJSIP/103", "PJSIP/101"]


def test_leastrecent_and_fewestcalls_pick_by_history() -> None:
    recent = _queue("leastrecent")
    recent.members[0].last_call, recent.members[1].last_call, recent.members[2].last_call = 300, 100, 200
    assert recent.pick(_entry(), _devices(), 0.0, random.Random(0))[0].interface == "PJSIP/102"
    fewest = _queue("fewestcalls")
    fewest.members[0].calls_taken, fewest.members[1].calls_taken, fewest.members[2].calls_taken = 5, 7, 2
    assert fewest.pick(_entry(), _devices(), 0.0, random.Random(0))[0].interface == "PJSIP/103"


def test_paused_wrapping_up_ringing_and_busy_members_are_not_rung() -> None:
    queue = _queue("ringall")
    queue.members[0].paused = True
    queue.members[1].wrapup_until = 10.0
    queue.ringing.add("PJSIP/103")
    assert queue.pick(_entry(), _devices(), now=5.0, rng=random.Random(0)) == []
    queue.ringing.clear()
    assert queue.pick(_entry(), _devices(d103=INUSE), now=5.0, rng=random.Random(0)) == []
    assert [m.interface for m in queue.pick(_entry(), _devices(), now=10.0, rng=random.Random(0))] == [
        "PJSIP/102", "PJSIP/103"]


def test_joinempty_conditions() -> None:
    queue = _queue("ringall")
    conditions = frozenset({"paused", "invalid", "unavailable"})
    assert not queue.is_empty_for(conditions, _devices(d101=INUSE), 0.0)
    for member in queue.members:
        member.paused = True
    assert queue.is_empty_for(conditions, _devices(), 0.0)
    assert not queue.is_empty_for(frozenset(), _devices(), 0.0)
    queue.members[0].paused = False
    assert queue.is_empty_for(conditions, _devices(d101=INVALID), 0.0)
    empty = QueueState(QueueConfig("campaign"), login_time=0)
    assert empty.is_empty_for(conditions, _devices(), 0.0)


def test_member_changes_refused_with_asterisks_messages() -> None:
    queue = _queue("ringall")
    with pytest.raises(QueueError, match="^Unable to add interface: Already there$"):
        queue.add_member("PJSIP/101", "", 0, False, "", "", 0)
    with pytest.raises(QueueError, match="^Member not dynamic$"):
        queue.remove_member("PJSIP/101")
    with pytest.raises(QueueError, match="^Unable to remove interface: Not there$"):
        queue.remove_member("PJSIP/105")
    added = queue.add_member("PJSIP/105", "Оператор 105", 2, True, "обед", "", 1795441700)
    blob = added.blob(NOT_INUSE)
    assert (blob["Membership"], blob["Paused"], blob["PausedReason"], blob["LoginTime"], blob["Penalty"]) == (
        "dynamic", "1", "обед", "1795441700", "2")
    assert list(blob) == ["Queue", "MemberName", "Interface", "StateInterface", "Membership", "Penalty",
                          "CallsTaken", "LastCall", "LastPause", "LoginTime", "InCall", "Status", "Paused",
                          "PausedReason", "Ringinuse", "Wrapuptime"]
