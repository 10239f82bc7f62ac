"""What every screen is handed: the API client, the clock, the settings, where to keep local state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from operator_tui.api_client import ApiClient
from operator_tui.clock import Clock, SystemClock
from operator_tui.i18n import N_
from operator_tui.local_state import default_state_dir


@dataclass(frozen=True)
class DeskConfig:
    """The desk's knobs (passed in; tests shorten the waits)."""

    pause_reasons: tuple[str, ...] = (N_("lunch"), N_("short break"), N_("training"), N_("technical break"))
    # After a call the operator is paused with this reason until the wrap-up is saved,
    # so the queue does not hand them the next call while they are still typing.
    pause_during_wrapup: bool = True
    wrapup_pause_reason: str = "wrap-up"
    reminder_ahead_seconds: float = 0.0
    calendar_refresh_seconds: float = 300.0
    outbox_retry_base: float = 1.0
    outbox_retry_cap: float = 30.0
    ws_backoff_base: float = 0.5
    ws_backoff_cap: float = 30.0
    login_retry_base: float = 1.0
    login_retry_cap: float = 15.0
    history_items: int = 8
    search_limit: int = 30


@dataclass
class DeskContext:
    api: ApiClient
    clock: Clock = field(default_factory=SystemClock)
    config: DeskConfig = field(default_factory=DeskConfig)
    state_dir: Path = field(default_factory=default_state_dir)
