"""Typed events (события): types and their statuses are data an administrator edits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, UtcDateTime, utcnow


class InteractionType(Base):
    __tablename__ = "interaction_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    color: Mapped[str] = mapped_column(String(16), default="#808080")

    statuses: Mapped[list[InteractionStatus]] = relationship(back_populates="type", order_by="InteractionStatus.id")


class InteractionStatus(Base):
    __tablename__ = "interaction_statuses"
    __table_args__ = (UniqueConstraint("type_id", "code", name="uq_interaction_statuses_type_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("interaction_types.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)

    type: Mapped[InteractionType] = relationship(back_populates="statuses")


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    type_id: Mapped[int] = mapped_column(ForeignKey("interaction_types.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("interaction_statuses.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    planned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # The planned_at a reminder.due went out for (crm_core/services/reminders.py): each
    # reminder is sent once, and a rescheduled event is reminded again.
    reminded_for: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)

    type: Mapped[InteractionType] = relationship(lazy="joined")
    status: Mapped[InteractionStatus] = relationship(lazy="joined")
