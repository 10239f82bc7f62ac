"""campaigns, their lists, leads (leased), attempts, dispositions, DNC numbers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:04:24.044682
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('queue', sa.String(length=80), nullable=False),
    sa.Column('caller_id', sa.String(length=80), nullable=True),
    sa.Column('script_code', sa.String(length=64), nullable=True),
    sa.Column('script_id', sa.Integer(), nullable=True),
    sa.Column('hours', sa.JSON(), nullable=False),
    sa.Column('retry_rules', sa.JSON(), nullable=False),
    sa.Column('pacing', sa.JSON(), nullable=False),
    sa.Column('hot_appeals', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_campaigns_created_by_id_users')),
    sa.ForeignKeyConstraint(['script_id'], ['call_scripts.id'], name=op.f('fk_campaigns_script_id_call_scripts')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_campaigns_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaigns_team_id'), ['team_id'], unique=False)

    op.create_table('campaign_agents',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_agents_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_campaign_agents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'user_id', name=op.f('pk_campaign_agents'))
    )
    with op.batch_alter_table('campaign_agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_agents_user_id'), ['user_id'], unique=False)

    op.create_table('campaign_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('leads_added', sa.Integer(), nullable=False),
    sa.Column('leads_skipped', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_lists_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_campaign_lists_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_lists'))
    )
    with op.batch_alter_table('campaign_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_lists_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('dispositions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('retry_minutes', sa.Integer(), nullable=True),
    sa.Column('add_to_dnc', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_dispositions_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispositions')),
    sa.UniqueConstraint('campaign_id', 'code', name='uq_dispositions_campaign_code')
    )
    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispositions_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('dnc_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_e164', sa.String(length=20), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_dnc_numbers_added_by_id_users')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_dnc_numbers_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dnc_numbers'))
    )
    with op.batch_alter_table('dnc_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dnc_numbers_campaign_id'), ['campaign_id'], unique=False)
        # One entry per number and scope; NULL (global) would not collide in a plain unique index.
        batch_op.create_index('uq_dnc_numbers_phone_scope', ['phone_e164', sa.text('coalesce(campaign_id, 0)')], unique=True)

    op.create_table('leads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('phone_e164', sa.String(length=20), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('appeal_id', sa.Integer(), nullable=True),
    sa.Column('due_by', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=True),
    sa.Column('disposition_code', sa.String(length=40), nullable=True),
    sa.Column('abandon_hold_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_leads_agent_id_users')),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_leads_appeal_id_appeals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_leads_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_leads_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['campaign_lists.id'], name=op.f('fk_leads_list_id_campaign_lists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads')),
    sa.UniqueConstraint('campaign_id', 'phone_e164', name='uq_leads_campaign_phone')
    )
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_appeal_id'), ['appeal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_client_id'), ['client_id'], unique=False)
        # The order lease_leads takes leads in (crm_core/models/campaigns.py).
        batch_op.create_index('ix_leads_due', ['campaign_id', 'state', sa.text('priority DESC'), 'due_by', 'next_try_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_leads_lease', ['state', 'lease_expires_at'], unique=False)
        batch_op.create_index('ix_leads_phone_e164', ['phone_e164'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_list_id'), ['list_id'], unique=False)

    op.create_table('attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('action_id', sa.String(length=64), nullable=False),
    sa.Column('phone_e164', sa.String(length=20), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('dialer_id', sa.String(length=64), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('ring_seconds', sa.Float(), nullable=True),
    sa.Column('talk_seconds', sa.Integer(), nullable=True),
    sa.Column('disposition_code', sa.String(length=40), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_attempts_agent_id_users')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_attempts_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_attempts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_attempts_lead_id_leads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attempts')),
    sa.UniqueConstraint('action_id', name=op.f('uq_attempts_action_id'))
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_attempts_started_at'), ['started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_started_at'))
        batch_op.drop_index(batch_op.f('ix_attempts_outcome'))
        batch_op.drop_index(batch_op.f('ix_attempts_lead_id'))
        batch_op.drop_index(batch_op.f('ix_attempts_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_attempts_call_id'))
        batch_op.drop_index(batch_op.f('ix_attempts_agent_id'))

    op.drop_table('attempts')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_list_id'))
        batch_op.drop_index('ix_leads_phone_e164')
        batch_op.drop_index('ix_leads_lease')
        batch_op.drop_index('ix_leads_due')
        batch_op.drop_index(batch_op.f('ix_leads_client_id'))
        batch_op.drop_index(batch_op.f('ix_leads_appeal_id'))
        batch_op.drop_index(batch_op.f('ix_leads_agent_id'))

    op.drop_table('leads')
    with op.batch_alter_table('dnc_numbers', schema=None) as batch_op:
        batch_op.drop_index('uq_dnc_numbers_phone_scope')
        batch_op.drop_index(batch_op.f('ix_dnc_numbers_campaign_id'))

    op.drop_table('dnc_numbers')
    with op.batch_alter_table('dispositions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispositions_campaign_id'))

    op.drop_table('dispositions')
    with op.batch_alter_table('campaign_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_lists_campaign_id'))

    op.drop_table('campaign_lists')
    with op.batch_alter_table('campaign_agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_agents_user_id'))

    op.drop_table('campaign_agents')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_team_id'))
        batch_op.drop_index(batch_op.f('ix_campaigns_state'))

    op.drop_table('campaigns')
