"""Call scripts (immutable versions) and the protocols of their runs, entry by entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime, utcnow

PROTOCOL_STATUSES = ("active", "finished", "abandoned")


class CallScript(Base):
    """One published version of a script; a change is a new row, so a protocol always
    replays on exactly the text it was run with."""

    __tablename__ = "call_scripts"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_call_scripts_code_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ScriptProtocol(Base):
    """One run of a script with a client: who, on which call, where it stands, what it did."""

    __tablename__ = "script_protocols"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    script_id: Mapped[int] = mapped_column(ForeignKey("call_scripts.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Campaigns arrive with the dialer issue; the column is here so protocols can be tagged now.
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The call's data as the runner saw it at the start (with `today`): a resume must see the same.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcomes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class ScriptProtocolEntry(Base):
    """One protocol row; rows are only added, and a step gone back from is marked superseded."""

    __tablename__ = "script_protocol_entries"
    __table_args__ = (UniqueConstraint("protocol_id", "seq", name="uq_script_protocol_entries_protocol_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[int] = mapped_column(ForeignKey("script_protocols.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    step_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    value: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    route: Mapped[str | None] = mapped_column(String(64))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
