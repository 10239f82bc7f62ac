"""The Argon2id cost the tests run at: the same KDF, cheap enough for hundreds of users.

Production keeps the settings' default (RFC 9106's low-memory profile); tests/crm_core/
test_passwords.py checks that default and that a cheaper hash is upgraded at login.
"""

from __future__ import annotations

from crm_core.passwords import PasswordHashing

TEST_PASSWORDS = PasswordHashing(time_cost=1, memory_kib=1024, parallelism=1)

# What load_settings() reads, in this process and in the servers tests start as subprocesses.
TEST_PASSWORD_ENV = {
    "ZVONAR_PASSWORDS__TIME_COST": str(TEST_PASSWORDS.time_cost),
    "ZVONAR_PASSWORDS__MEMORY_KIB": str(TEST_PASSWORDS.memory_kib),
    "ZVONAR_PASSWORDS__PARALLELISM": str(TEST_PASSWORDS.parallelism),
}
