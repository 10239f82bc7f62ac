"""call scripts (immutable versions), script protocols and their entries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_scripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_call_scripts_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_scripts")),
        sa.UniqueConstraint("code", "version", name="uq_call_scripts_code_version"),
    )
    with op.batch_alter_table("call_scripts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_scripts_code"), ["code"], unique=False)

    op.create_table(
        "script_protocols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("script_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_script_protocols_call_id_calls"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_script_protocols_client_id_clients"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["script_id"], ["call_scripts.id"], name=op.f("fk_script_protocols_script_id_call_scripts")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_script_protocols_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_protocols")),
    )
    with op.batch_alter_table("script_protocols", schema=None) as batch_op:
        for column in ("script_id", "client_id", "call_id", "user_id", "campaign_id", "status", "started_at"):
            batch_op.create_index(batch_op.f(f"ix_script_protocols_{column}"), [column], unique=False)

    op.create_table(
        "script_protocol_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("protocol_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("value", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("route", sa.String(length=64), nullable=True),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["protocol_id"], ["script_protocols.id"],
                                name=op.f("fk_script_protocol_entries_protocol_id_script_protocols"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script_protocol_entries")),
        sa.UniqueConstraint("protocol_id", "seq", name="uq_script_protocol_entries_protocol_seq"),
    )
    with op.batch_alter_table("script_protocol_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_script_protocol_entries_protocol_id"), ["protocol_id"], unique=False)


def downgrade() -> None:
    op.drop_table("script_protocol_entries")
    op.drop_table("script_protocols")
    op.drop_table("call_scripts")
