"""What the live campaign runner is told (plain values, built by the composition root)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from crm_core.services.client_access import DEFAULT_ACCESS_DAYS
from dialer.owners import new_owner_id


@dataclass(frozen=True)
class DialerConfig:
    """Timings and the Asterisk contract of the runner.

    ``tick_seconds``: how often each running campaign is paced (and how soon a pause or a
    stop is seen); ``stats_seconds``: how often ``campaign.stats`` is published.
    ``lease_seconds``: how long a lead taken for dialing is held before another dialer
    may take it back (it is dialled at once, so this only matters after a crash);
    ``preview_lease_seconds``: how long an operator may read a preview card.
    ``campaign_lease_seconds``: how long a dialer's hold on a campaign lasts unrenewed
    (crm_core/services/campaign_dialers.py); another dialer takes the campaign over then.
    ``recover_after_seconds``: an attempt still ``dialing`` this long after it started
    belongs to a dead dialer (checked at start-up and every ``recover_every_seconds``; it
    must be longer than any call, since dialers of other hosts may still be on it). A dead
    dialer of this host (its process is gone) is recovered at once.
    """

    owner: str = ""
    tick_seconds: float = 1.0
    stats_seconds: float = 1.0
    lease_seconds: float = 60.0
    preview_lease_seconds: float = 300.0
    preview_skip_minutes: float = 60.0
    recover_after_seconds: float = 3 * 3600.0
    recover_every_seconds: float = 300.0
    # A campaign is paced by one dialer at a time: its lease, renewed every poll, lapses after this.
    campaign_lease_seconds: float = 15.0
    max_dials_per_tick: int = 20
    # Campaign calls: the client leg goes out through the trunk into zvonar-campaign.
    trunk_dial_template: str = "PJSIP/{number}@trunk"
    campaign_context: str = "zvonar-campaign"
    # Preview calls: the operator's phone first, then the client (click-to-call's context).
    agent_channel_template: str = "PJSIP/{endpoint}"
    click_to_call_context: str = "zvonar-outbound"
    preview_timeout_ms: int = 30000
    company_caller_id: str = ""
    # What an abandoned campaign call hears when its campaign names no recording (an Asterisk sound; "": the stock apology).
    abandon_message: str = ""
    # Pause reasons that mean "writing up the last call" (the operator desk's wrap-up pause).
    wrapup_pause_reasons: tuple[str, ...] = ("wrap-up",)
    default_ring_timeout: float = 25.0
    # On a graceful stop, calls still ringing get this long to be answered or to fail (their
    # ends still reach this dialer); what is still ringing then is finished as lost.
    stop_drain_seconds: float = 30.0
    # Put a campaign's assigned operators into its queue while it runs (QueueAdd/QueueRemove).
    login_agents: bool = True
    # Operators the PBX would not put into the queue (no such queue yet, a refused or lost
    # QueueAdd), or none with a phone, are looked at again this often: queues.conf fixed and
    # reloaded, or a phone given, they join by themselves.
    login_retry_seconds: float = 15.0
    # The calendar day of the day_* figures.
    day_timezone: str = "Europe/Moscow"
    # Rolling window of the plain dials/answered/abandoned figures and of the pacing cap.
    window_seconds: float = 1800.0
    # An operator shown a colleague's client on a preview card may see that client this long (crm_core.rights).
    call_access_seconds: float = DEFAULT_ACCESS_DAYS * 86400.0

    def with_owner(self) -> DialerConfig:
        """This config with an owner id (a fresh one unless set)."""
        if self.owner:
            return self
        return replace(self, owner=new_owner_id())
