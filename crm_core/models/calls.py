"""Calls as the AMI bridge saw them, with their true outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime, utcnow

CALL_OUTCOMES = ("answered", "busy", "no_answer", "congestion", "failed", "abandoned", "machine")


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound
    client_number: Mapped[str | None] = mapped_column(String(32), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(200))
    did: Mapped[str | None] = mapped_column(String(32))
    queue: Mapped[str | None] = mapped_column(String(80))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    agent_extension: Mapped[str | None] = mapped_column(String(64))
    # Campaigns arrive with the dialer issue; the column is here so calls can be tagged now.
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    ami_uniqueid: Mapped[str | None] = mapped_column(String(64))
    ami_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    action_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    hangup_cause: Mapped[str | None] = mapped_column(String(8))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
