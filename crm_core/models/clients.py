"""Clients, their contact persons, phones and the reassignment history."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import Base, UtcDateTime, utcnow


class ClientKind(str, enum.Enum):
    company = "company"
    person = "person"


class PhoneKind(str, enum.Enum):
    mobile = "mobile"
    work = "work"
    home = "home"
    internal = "internal"
    other = "other"


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ClientKind] = mapped_column(Enum(ClientKind, name="client_kind", native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(300))
    # casefold()ed name: SQLite's lower() only folds ASCII, so Cyrillic search needs this.
    name_search: Mapped[str] = mapped_column(String(300), index=True)
    tax_id: Mapped[str | None] = mapped_column(String(20), index=True)
    region: Mapped[str | None] = mapped_column(String(120))
    industry: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(40), default="new")
    segment: Mapped[str | None] = mapped_column(String(60))
    abc_class: Mapped[str | None] = mapped_column(String(1))
    timezone: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    # The code of the marketing channel (marketing_channels.code) the client came through.
    source_channel: Mapped[str | None] = mapped_column(String(40))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    contacts: Mapped[list[Contact]] = relationship(back_populates="client", cascade="all, delete-orphan", order_by="Contact.id")
    phones: Mapped[list[Phone]] = relationship(back_populates="client", cascade="all, delete-orphan", order_by="Phone.id")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[str | None] = mapped_column(String(120))
    emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)

    client: Mapped[Client] = relationship(back_populates="contacts")
    phones: Mapped[list[Phone]] = relationship(back_populates="contact", order_by="Phone.id")


class Phone(Base):
    """A phone number in E.164, unique across the base: the screen pop looks it up."""

    __tablename__ = "phones"
    __table_args__ = (Index("uq_phones_e164", "e164", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    e164: Mapped[str] = mapped_column(String(20))
    kind: Mapped[PhoneKind] = mapped_column(Enum(PhoneKind, name="phone_kind", native_enum=False, length=16))
    raw: Mapped[str | None] = mapped_column(String(64))

    client: Mapped[Client] = relationship(back_populates="phones")
    contact: Mapped[Contact | None] = relationship(back_populates="phones")


class ClientReassignment(Base):
    """Who handed which client to whom, when and why (переадресация)."""

    __tablename__ = "client_reassignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ClientAccess(Base):
    """A user who may see a client they are not responsible for, until ``until``.

    The PBX put a call with the client through to them (an inbound queue, a campaign), or
    the dialer showed them the client's card: without it an operator could not open the
    card, run the script or save the wrap-up of a colleague's client on their own call.
    """

    __tablename__ = "client_access"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True, index=True)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(16))  # "call" (rung for it) or "preview" (the dialer's card)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
