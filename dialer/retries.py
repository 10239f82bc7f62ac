"""Retry rules: what an attempt's outcome does to its lead (pure).

``after_outcome(rules, outcome, attempts, now)`` gives the lead's next state, when to try
again and, after an abandon, until when it must not be redialled. The campaign keeps the
rules as JSON (``campaign.retry_rules``); every field has the default below.

- busy: again in 10 minutes; no answer: in 2 hours; congestion (the network, not the
  client): in 5 minutes; failed (the channel could not be placed): in 30 minutes;
  answering machine: in 4 hours (another time of the day), and for 24 hours only with an
  agent guaranteed (Ofcom: a number AMD took for a machine may be a person it misread);
  lost (the dialer died mid-call, the outcome is unknown): in 1 hour, never at once.
- abandoned (a human answered and no agent took the call): the number is held for 72
  hours; only a redial with an agent guaranteed (preview, or progressive for a reserved
  agent) may call it sooner, after ``abandoned_minutes``.
- answered: the lead is done; the operator's disposition decides what follows.
- operator missed (a preview card's or a callback's call rang the operator's own phone,
  which nobody answered, so the client was never dialled): not a dial; the lead is back
  in 5 minutes, its attempts as they were. A skipped preview card is not a dial either.
- max attempts: the lead fails after ``max_attempts`` dials, unless recycling is on:
  then it rests ``recycle_hours`` and gets ``max_attempts`` more, ``recycles`` times.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from crm_core.campaign_settings import RetryRules

__all__ = ["MACHINE_HOLD_HOURS", "NOT_DIALS", "OUTCOMES", "RetryDecision", "RetryRules", "after_outcome"]

# Ofcom's persistent-misuse policy: a number AMD identified as an answering machine may be
# called again within 24 hours only with a live operator guaranteed.
MACHINE_HOLD_HOURS = 24

OUTCOMES = ("answered", "busy", "no_answer", "congestion", "failed", "machine", "abandoned", "lost", "skipped",
            "operator_missed")
NOT_DIALS = ("skipped", "operator_missed")  # the client's phone never rang: no attempt spent


class RetryDecision(NamedTuple):
    """The lead after an attempt: its state, when to try next, the abandon hold."""

    lead_state: str  # ready | done | failed
    next_try_at: datetime | None
    abandon_hold_until: datetime | None


def _delay_minutes(rules: RetryRules, outcome: str) -> int:
    return int(getattr(rules, f"{outcome}_minutes"))


def after_outcome(rules: RetryRules, outcome: str, attempts: int, now: datetime) -> RetryDecision:
    """What ``outcome`` of the lead's ``attempts``-th dial (counting this one) does to the lead."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if outcome == "answered":
        return RetryDecision("done", None, None)
    hold = None
    if outcome == "abandoned":
        hold = now + timedelta(hours=rules.abandon_hold_hours)
    elif outcome == "machine":
        hold = now + timedelta(hours=MACHINE_HOLD_HOURS)
    if outcome in NOT_DIALS:
        return RetryDecision("ready", now + timedelta(minutes=_delay_minutes(rules, outcome)), hold)
    at = rules.retry_at(attempts, _delay_minutes(rules, outcome), now)
    return RetryDecision("failed", None, hold) if at is None else RetryDecision("ready", at, hold)
