"""Dialer owner ids (``host:pid:uuid``): who holds a lead's lease and placed an attempt.

A dialer on this host whose process is gone is dead for certain, so what it left
``dialing`` can be recovered at once; of a dialer on another host nothing is known but
the age of its attempts (see DialerConfig.recover_after_seconds).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable


def this_host() -> str:
    return socket.gethostname().split(".")[0][:30] or "host"


def new_owner_id(host: str | None = None, pid: int | None = None) -> str:
    """A fresh owner id for this process (at most 55 characters: fits leads.lease_owner)."""
    return f"{host or this_host()}:{pid if pid is not None else os.getpid()}:{uuid.uuid4().hex[:12]}"


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_here(owner: str, me: str, host: str | None = None, alive: Callable[[int], bool] = pid_alive) -> bool:
    """True if ``owner`` is a dialer of this host that no longer runs (never ``me``)."""
    if owner == me:
        return False
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != (host or this_host()) or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        # This process, an earlier incarnation of the dialer in it (stopped and started again).
        return True
    return not alive(pid)
