"""leads: a partial index of the numbers on an abandon hold, which every lease checks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_leads_on_hold', 'leads', ['phone_e164', 'abandon_hold_until'], unique=False,
                    postgresql_where=sa.text('abandon_hold_until IS NOT NULL'),
                    sqlite_where=sa.text('abandon_hold_until IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_leads_on_hold', table_name='leads')
