"""Password hashing with Argon2id (argon2-cffi), the field's standard KDF, at a configured cost.

The cost comes from the settings (``zvonar.settings.PasswordSettings``); a hash made at a
lower cost is upgraded at the next successful login (``needs_rehash``). Hashing takes tens
of milliseconds by design, so the async helpers run it in a worker thread: argon2-cffi
releases the GIL, and the event loop keeps serving AMI events and WebSockets meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

# Argon2's own floor is 8 KiB per lane; anything below these is refused, not silently raised.
MIN_MEMORY_KIB_PER_LANE = 8


@dataclass(frozen=True)
class PasswordHashing:
    """Argon2id at one cost: iterations, memory in KiB, lanes (RFC 9106's low-memory profile by default)."""

    time_cost: int = RFC_9106_LOW_MEMORY.time_cost
    memory_kib: int = RFC_9106_LOW_MEMORY.memory_cost
    parallelism: int = RFC_9106_LOW_MEMORY.parallelism

    def __post_init__(self) -> None:
        if self.time_cost < 1 or self.parallelism < 1:
            raise ValueError("time_cost and parallelism must be at least 1")
        if self.memory_kib < MIN_MEMORY_KIB_PER_LANE * self.parallelism:
            raise ValueError(f"memory_kib must be at least {MIN_MEMORY_KIB_PER_LANE} KiB per lane of parallelism")

    @functools.cached_property
    def _hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_kib,
                              parallelism=self.parallelism, type=Type.ID)

    @functools.cached_property
    def _dummy_hash(self) -> str:
        # Verified against when the login is unknown, so timing does not reveal which logins exist.
        return self._hasher.hash("zvonar-not-a-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; about the same time whether or not the user exists."""
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash was made with other parameters than these (it is redone at login)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    async def hash_async(self, password: str) -> str:
        """:meth:`hash` in a worker thread."""
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, password_hash: str | None, password: str) -> bool:
        """:meth:`verify` in a worker thread."""
        return await asyncio.to_thread(self.verify, password_hash, password)


DEFAULT_HASHING = PasswordHashing()
