"""dispositions: their order, and codes retired from a campaign's set instead of deleted

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dispositions") as batch:
        batch.add_column(sa.Column("position", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("retired", sa.Boolean(), server_default=sa.false(), nullable=False))
    # The order so far was the insertion order.
    op.execute("UPDATE dispositions SET position = id")


def downgrade() -> None:
    # A retired code has no place in the old schema, where replacing the set deleted it.
    op.execute("DELETE FROM dispositions WHERE retired")
    with op.batch_alter_table("dispositions") as batch:
        batch.drop_column("retired")
        batch.drop_column("position")
