"""Appeals (обращения, inbound leads) and the marketing channels they came through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, UtcDateTime, utcnow

APPEAL_STATUSES = ("new", "in_work", "done", "lost")


class MarketingChannel(Base):
    __tablename__ = "marketing_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("marketing_channels.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(300))
    products: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="new")
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    channel: Mapped[MarketingChannel | None] = relationship(lazy="joined")
