"""The cache of recently checked bearer tokens: fresh for ttl seconds, never past the session's own expiry."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crm_core.models import Role
from crm_core.rights import Actor
from crm_core.session_cache import SessionCache

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)
PETROVA = Actor(user_id=7, role=Role.operator, team_id=2, login="i.petrova", endpoint="101")
KOVALENKO = Actor(user_id=8, role=Role.supervisor, team_id=2, login="o.kovalenko", endpoint="102")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_token_read_recently_is_answered_until_its_ttl_runs_out() -> None:
    clock = Clock()
    cache = SessionCache(ttl=5.0, clock=clock)
    assert cache.get("a1", NOW) is None
    cache.put("a1", PETROVA, NOW + timedelta(hours=12))
    clock.t += 4.9
    assert cache.get("a1", NOW) == PETROVA
    clock.t += 0.1
    assert cache.get("a1", NOW) is None, "read 5 s ago: asked of the store again"
    assert len(cache) == 0


def test_an_expired_session_is_never_answered_from_the_cache() -> None:
    cache = SessionCache(ttl=5.0, clock=Clock())
    cache.put("a1", PETROVA, NOW + timedelta(seconds=1))
    assert cache.get("a1", NOW) == PETROVA
    assert cache.get("a1", NOW + timedelta(seconds=2)) is None


def test_a_session_ended_here_is_forgotten_at_once() -> None:
    cache = SessionCache(ttl=5.0, clock=Clock())
    cache.put("a1", PETROVA, NOW + timedelta(hours=12))
    cache.put("b2", KOVALENKO, NOW + timedelta(hours=12))
    cache.forget("a1")
    assert cache.get("a1", NOW) is None and cache.get("b2", NOW) == KOVALENKO


def test_ttl_zero_caches_nothing() -> None:
    cache = SessionCache(ttl=0.0, clock=Clock())
    cache.put("a1", PETROVA, NOW + timedelta(hours=12))
    assert cache.get("a1", NOW) is None and len(cache) == 0


def test_a_full_cache_drops_lapsed_entries_then_the_oldest() -> None:
    clock = Clock()
    cache = SessionCache(ttl=5.0, max_entries=3, clock=clock)
    for key in ("a", "b"):
        cache.put(key, PETROVA, NOW + timedelta(hours=12))
    clock.t += 3
    cache.put("c", KOVALENKO, NOW + timedelta(hours=12))
    clock.t += 2.5  # a and b have lapsed, c has not
    cache.put("d", KOVALENKO, NOW + timedelta(hours=12))
    assert len(cache) == 2 and cache.get("c", NOW) == KOVALENKO and cache.get("d", NOW) == KOVALENKO
    cache.put("e", PETROVA, NOW + timedelta(hours=12))
    cache.put("f", PETROVA, NOW + timedelta(hours=12))  # full of fresh entries: the oldest read (c) goes
    assert len(cache) == 3 and cache.get("c", NOW) is None
    assert [cache.get(k, NOW) is not None for k in ("d", "e", "f")] == [True, True, True]


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl"):
        SessionCache(ttl=-1.0)
    with pytest.raises(ValueError, match="max_entries"):
        SessionCache(ttl=5.0, max_entries=0)
