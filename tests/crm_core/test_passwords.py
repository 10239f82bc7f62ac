"""Passwords: Argon2id at the configured cost, hashed off the event loop, upgraded at login."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from crm_core.errors import AuthenticationFailed
from crm_core.models import Role, User
from crm_core.passwords import DEFAULT_HASHING, PasswordHashing
from crm_core.services import users
from tests.password_cost import TEST_PASSWORDS
from zvonar.settings import PasswordSettings, load_settings

PASSWORD = "Весна-2026-Минск"


def test_the_default_cost_is_rfc_9106_low_memory_argon2id() -> None:
    stored = DEFAULT_HASHING.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PasswordSettings().hashing() == DEFAULT_HASHING


def test_verify_accepts_the_password_and_nothing_else() -> None:
    stored = TEST_PASSWORDS.hash(PASSWORD)
    assert TEST_PASSWORDS.verify(stored, PASSWORD)
    assert not TEST_PASSWORDS.verify(stored, PASSWORD.lower())
    assert not TEST_PASSWORDS.verify(None, PASSWORD)  # unknown login: checked against a dummy hash
    assert not TEST_PASSWORDS.verify("not-a-hash", PASSWORD)


def test_a_hash_made_at_another_cost_needs_rehash_and_still_verifies() -> None:
    cheap = TEST_PASSWORDS.hash(PASSWORD)
    assert DEFAULT_HASHING.needs_rehash(cheap)
    assert not TEST_PASSWORDS.needs_rehash(cheap)
    assert DEFAULT_HASHING.verify(cheap, PASSWORD)  # the parameters travel in the hash


@pytest.mark.parametrize("kwargs", [{"time_cost": 0}, {"parallelism": 0}, {"memory_kib": 16, "parallelism": 4}])
def test_too_low_a_cost_is_refused_with_the_field(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValidationError) as err:
        PasswordSettings(**kwargs)
    assert next(iter(kwargs)) in str(err.value) or "memory_kib" in str(err.value)
    with pytest.raises(ValueError):
        PasswordHashing(**{**{"time_cost": 1, "memory_kib": 1024, "parallelism": 1}, **kwargs})


def test_settings_read_the_cost_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVONAR_PASSWORDS__TIME_COST", "4")
    monkeypatch.setenv("ZVONAR_PASSWORDS__MEMORY_KIB", "131072")
    monkeypatch.setenv("ZVONAR_PASSWORDS__PARALLELISM", "2")
    assert load_settings().passwords.hashing() == PasswordHashing(time_cost=4, memory_kib=131072, parallelism=2)


async def test_login_upgrades_a_hash_made_at_a_lower_cost(db) -> None:
    await users.create_user(db, login="kovalenko", full_name="Тарас Коваленко", role=Role.operator,
                            password=PASSWORD, passwords=TEST_PASSWORDS)
    stronger = PasswordHashing(time_cost=2, memory_kib=2048, parallelism=1)
    await users.login(db, "kovalenko", PASSWORD, timedelta(hours=1), stronger)
    async with db.reading() as s:
        stored = (await s.execute(select(User.password_hash).where(User.login == "kovalenko"))).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    await users.login(db, "kovalenko", PASSWORD, timedelta(hours=1), stronger)  # the new hash verifies
    with pytest.raises(AuthenticationFailed):
        await users.login(db, "kovalenko", "wrong-password", timedelta(hours=1), stronger)


async def test_hashing_leaves_the_event_loop_free(db) -> None:
    """A login at the production cost must not stall AMI events and WebSockets meanwhile."""
    costly = DEFAULT_HASHING
    started = time.perf_counter()
    costly.hash(PASSWORD)
    one_hash = time.perf_counter() - started

    await users.create_user(db, login="shevchenko", full_name="Оксана Шевченко", role=Role.operator,
                            password=PASSWORD, passwords=costly)
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await users.login(db, "shevchenko", PASSWORD, timedelta(hours=1), costly)
    task.cancel()
    # Done on the loop, the hash would stall the ticker for the whole of one hash.
    assert gaps and max(gaps) < one_hash / 2, (max(gaps), one_hash)
