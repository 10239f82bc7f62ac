"""Telemarketing campaigns: their lists, leads (leased in the store), attempts, dispositions, DNC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime, utcnow

CAMPAIGN_STATES = ("draft", "running", "paused", "stopped")
CAMPAIGN_MODES = ("preview", "progressive", "predictive")
# ready: waits for next_try_at; leased: a dialer holds it until lease_expires_at;
# dialing: an Originate went out (an attempt row exists); done/failed: final;
# dnc: found on a do-not-call list when it was about to be dialled.
LEAD_STATES = ("ready", "leased", "dialing", "done", "failed", "dnc")
LEAD_FINAL_STATES = ("done", "failed", "dnc")
ATTEMPT_OUTCOMES = (
    "answered", "busy", "no_answer", "congestion", "failed", "machine", "abandoned", "lost", "skipped",
    "operator_missed",  # an operator-first call (preview, callback) whose operator did not answer: no dial of the client
)
LIST_KINDS = ("filter", "import", "appeal")


class Campaign(Base):
    """A telemarketing campaign: who dials whom, how, when, and with which script version."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    mode: Mapped[str] = mapped_column(String(16), default="progressive")
    # The Asterisk queue answered calls go to (asterisk-config/queues.conf).
    queue: Mapped[str] = mapped_column(String(80))
    caller_id: Mapped[str | None] = mapped_column(String(80))
    # The recording an answered client hears when no agent takes the call in time (and a
    # machine AMD dropped): who called and a number to call back, as the FTC and Ofcom ask.
    # An Asterisk sound name; None: the company's (settings ami.abandon_message).
    abandon_message: Mapped[str | None] = mapped_column(String(120))
    # Script code chosen by the supervisor; script_id pins the exact version at launch so a
    # running campaign keeps the text it started with.
    script_code: Mapped[str | None] = mapped_column(String(64))
    script_id: Mapped[int | None] = mapped_column(ForeignKey("call_scripts.id"))
    # {"days": [1..7 ISO weekdays], "start": "09:00", "end": "21:00", "holidays": ["2027-01-01", ...],
    #  "public_holidays": bool} in the client's local time.
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"busy_minutes": 10, "no_answer_minutes": 120, ..., "max_attempts": 5, "abandon_hold_hours": 72}
    retry_rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"abandon_cap": 0.03, "lines_per_agent": 3, "ring_timeout": 25, "max_lines": null}
    pacing: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Takes hot appeals: a new appeal asking for a call back becomes a top-priority lead here
    # while the campaign runs (dialer/hot_leads.py chooses among several).
    hot_appeals: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CampaignDialer(Base):
    """Which dialer process paces a campaign, until when: one at a time, whatever the number of servers.

    The owner renews ``until`` every poll; another process takes the campaign over once
    ``until`` has passed (or at once when the owner is a dead process of its own host).
    """

    __tablename__ = "campaign_dialers"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignAgent(Base):
    """An operator assigned to a campaign (they see it and take its calls)."""

    __tablename__ = "campaign_agents"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class CampaignList(Base):
    """One load of leads into a campaign: a client filter, an imported file or hot appeals."""

    __tablename__ = "campaign_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    # The filter as given (for "filter"), or the file name and import report (for "import").
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    leads_added: Mapped[int] = mapped_column(Integer, default=0)
    leads_skipped: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Lead(Base):
    """A client's number to call in a campaign, with where it stands and when to try next."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("campaign_id", "phone_e164", name="uq_leads_campaign_phone"),
        Index("ix_leads_lease", "state", "lease_expires_at"),
        # A number put on a DNC list finds its waiting leads in every campaign.
        Index("ix_leads_phone_e164", "phone_e164"),
        # The numbers on an abandon hold, few among many: what every lease checks (a number's hold).
        Index("ix_leads_on_hold", "phone_e164", "abandon_hold_until",
              postgresql_where=text("abandon_hold_until IS NOT NULL"), sqlite_where=text("abandon_hold_until IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    list_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_lists.id", ondelete="SET NULL"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    phone_e164: Mapped[str] = mapped_column(String(20))
    # The client's zone when the lead was loaded (explicit, region, or unambiguous number);
    # None when unknown: such leads are dialled only inside every zone's window (see dialer/windows.py).
    timezone: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="ready")
    # Higher first: hot appeals asking for a call back outrank list leads.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set when the lead must reach one operator (a personal callback, an escalated appeal).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"), index=True)
    # Hot leads: dial before this moment, or escalate.
    due_by: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    disposition_code: Mapped[str | None] = mapped_column(String(40))
    # A human answered and no agent took the call: no redial before this moment (72 h by default).
    abandon_hold_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


# The dialer's hot path: a campaign's ready leads in exactly the order lease_leads takes them
# (priority desc, due_by, next_try_at, id), so PostgreSQL reads the first few and stops.
Index("ix_leads_due", Lead.campaign_id, Lead.state, Lead.priority.desc(), Lead.due_by, Lead.next_try_at, Lead.id)


class Attempt(Base):
    """One dial of a lead, with its real outcome from the call tracker."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    # The Originate's ActionID: how the tracker's outcome finds this row again, even after a restart.
    action_id: Mapped[str] = mapped_column(String(64), unique=True)
    phone_e164: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(16))
    dialer_id: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16), index=True)
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    disposition_code: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str | None] = mapped_column(Text)


class Disposition(Base):
    """A campaign's wrap-up code; a new campaign gets a copy of the default set to edit."""

    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_dispositions_campaign_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    # final: the lead is finished (done when success, failed otherwise); not final: retried
    # after retry_minutes (or at the callback time the operator set).
    final: Mapped[bool] = mapped_column(Boolean, default=True)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_minutes: Mapped[int | None] = mapped_column(Integer)
    add_to_dnc: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the order operators see
    # Dropped from the campaign's set: no longer offered or accepted, but the calls wrapped up
    # with it (one may still be in progress) keep its meaning and its name.
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DncNumber(Base):
    """A number not to be called: globally (campaign_id None) or in one campaign."""

    __tablename__ = "dnc_numbers"
    # One entry per number and scope; NULL (global) would not collide in a plain unique index.
    __table_args__ = (Index("uq_dnc_numbers_phone_scope", "phone_e164", text("coalesce(campaign_id, 0)"), unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(32), default="manual")  # manual | import | script | disposition
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
