"""Commercial proposals (коммерческие предложения): items, an approval workflow kept as data, history.

Statuses and the transitions between them are rows an administrator edits (seeded by
the migration: черновик → на согласовании → согласовано → отправлено → принято /
отклонено, and back to черновик with a comment). Money and quantities are stored as
scaled integers, so sums are exact on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from crm_core.models.base import Base, UtcDateTime, utcnow


class _Scaled(TypeDecorator[Decimal]):
    """A Decimal with a fixed number of places, stored as an exact integer (value × 10^places)."""

    impl = BigInteger
    cache_ok = True
    places = 0

    def process_bind_param(self, value: Decimal | int | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        scaled = Decimal(value).scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


class Money(_Scaled):
    """An amount with kopecks (2 places)."""

    places = 2


class Quantity(_Scaled):
    """A quantity with up to 3 places (1.5 hours, 0.250 t)."""

    places = 3


class ProposalStatus(Base):
    """A step of the proposal lifecycle; an administrator may add more."""

    __tablename__ = "proposal_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    color: Mapped[str] = mapped_column(String(16), default="#808080")
    # The order in the sales funnel (воронка продаж).
    position: Mapped[int] = mapped_column(Integer, default=0)
    # New proposals start in the (one) initial status.
    is_initial: Mapped[bool] = mapped_column(Boolean, default=False)
    is_final: Mapped[bool] = mapped_column(Boolean, default=False)
    # Items and text change only in an editable status (a draft), never under approval.
    editable: Mapped[bool] = mapped_column(Boolean, default=False)


class ProposalTransition(Base):
    """An allowed move between two statuses, with who may make it and whether it needs a comment."""

    __tablename__ = "proposal_transitions"
    __table_args__ = (UniqueConstraint("from_status_id", "to_status_id", name="uq_proposal_transitions_from_to"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_status_id: Mapped[int] = mapped_column(ForeignKey("proposal_statuses.id", ondelete="CASCADE"), index=True)
    to_status_id: Mapped[int] = mapped_column(ForeignKey("proposal_statuses.id", ondelete="CASCADE"))
    # The button's label: "Отправить на согласование", "Согласовать", "Вернуть на доработку".
    name: Mapped[str] = mapped_column(String(120))
    # An approval decision: only a supervisor (of the client's team) or an admin makes it.
    approval: Mapped[bool] = mapped_column(Boolean, default=False)
    comment_required: Mapped[bool] = mapped_column(Boolean, default=False)


class Proposal(Base):
    """A commercial proposal to a client: who wrote it, who approved it, where it stands, its total."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # Who made the last approval decision (approved, or sent back to draft).
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("proposal_statuses.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    comment: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    valid_until: Mapped[date | None] = mapped_column(Date)
    # The call script run that drafted it (a proposal_draft outcome), if any.
    script_protocol_id: Mapped[int | None] = mapped_column(ForeignKey("script_protocols.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    status: Mapped[ProposalStatus] = relationship(lazy="joined")
    # Loaded only where asked for (selectinload): lists and the card's history do not need them.
    items: Mapped[list[ProposalItem]] = relationship(order_by="ProposalItem.position", lazy="raise",
                                                     cascade="all, delete-orphan")


class ProposalItem(Base):
    """One line: product, quantity, price and their sum."""

    __tablename__ = "proposal_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(300))
    # A product code where one is known (a questionnaire choice, a catalogue article).
    product_code: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)


class ProposalHistory(Base):
    """One move of a proposal (its creation too), with who made it and why."""

    __tablename__ = "proposal_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    from_status_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_statuses.id"))
    to_status_id: Mapped[int] = mapped_column(ForeignKey("proposal_statuses.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
