"""initial crm core

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 15:05:08.001189
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('interaction_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('color', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_types')),
    sa.UniqueConstraint('code', name=op.f('uq_interaction_types_code'))
    )
    op.create_table('marketing_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketing_channels')),
    sa.UniqueConstraint('code', name=op.f('uq_marketing_channels_code'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('interaction_statuses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('is_final', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['type_id'], ['interaction_types.id'], name=op.f('fk_interaction_statuses_type_id_interaction_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interaction_statuses')),
    sa.UniqueConstraint('type_id', 'code', name='uq_interaction_statuses_type_code')
    )
    with op.batch_alter_table('interaction_statuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interaction_statuses_type_id'), ['type_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('operator', 'manager', 'supervisor', 'admin', name='user_role', native_enum=False, length=16), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('phone_endpoint', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_users_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('login', name=op.f('uq_users_login')),
    sa.UniqueConstraint('phone_endpoint', name=op.f('uq_users_phone_endpoint'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_team_id'), ['team_id'], unique=False)

    op.create_table('api_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_api_sessions'))
    )
    with op.batch_alter_table('api_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('company', 'person', name='client_kind', native_enum=False, length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_search', sa.String(length=300), nullable=False),
    sa.Column('tax_id', sa.String(length=20), nullable=True),
    sa.Column('region', sa.String(length=120), nullable=True),
    sa.Column('industry', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('segment', sa.String(length=60), nullable=True),
    sa.Column('abc_class', sa.String(length=1), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['responsible_id'], ['users.id'], name=op.f('fk_clients_responsible_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients'))
    )
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clients_name_search'), ['name_search'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_responsible_id'), ['responsible_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clients_tax_id'), ['tax_id'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('client_number', sa.String(length=32), nullable=True),
    sa.Column('caller_name', sa.String(length=200), nullable=True),
    sa.Column('did', sa.String(length=32), nullable=True),
    sa.Column('queue', sa.String(length=80), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('agent_extension', sa.String(length=64), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('ami_uniqueid', sa.String(length=64), nullable=True),
    sa.Column('ami_linkedid', sa.String(length=64), nullable=True),
    sa.Column('action_id', sa.String(length=64), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('talk_seconds', sa.Integer(), nullable=True),
    sa.Column('hangup_cause', sa.String(length=8), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_calls_agent_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_calls_client_id_clients'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_calls_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('action_id', name=op.f('uq_calls_action_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_ami_linkedid'), ['ami_linkedid'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_client_number'), ['client_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_started_at'), ['started_at'], unique=False)

    op.create_table('client_reassignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_client_reassignments_by_user_id_users')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_reassignments_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_client_reassignments_from_user_id_users')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_client_reassignments_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_reassignments'))
    )
    with op.batch_alter_table('client_reassignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_reassignments_client_id'), ['client_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('position', sa.String(length=120), nullable=True),
    sa.Column('emails', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_contacts_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_client_id'), ['client_id'], unique=False)

    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('callback_requested', sa.Boolean(), nullable=False),
    sa.Column('callback_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['marketing_channels.id'], name=op.f('fk_appeals_channel_id_marketing_channels')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_appeals_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_appeals_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_appeals_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeals_callback_due_at'), ['callback_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appeals_created_at'), ['created_at'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_interactions_call_id_calls'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_interactions_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_interactions_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['status_id'], ['interaction_statuses.id'], name=op.f('fk_interactions_status_id_interaction_statuses')),
    sa.ForeignKeyConstraint(['type_id'], ['interaction_types.id'], name=op.f('fk_interactions_type_id_interaction_types')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_interactions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_planned_at'), ['planned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_interactions_user_id'), ['user_id'], unique=False)

    op.create_table('phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('e164', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.Enum('mobile', 'work', 'home', 'internal', 'other', name='phone_kind', native_enum=False, length=16), nullable=False),
    sa.Column('raw', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_phones_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_phones_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phones'))
    )
    with op.batch_alter_table('phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phones_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phones_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index('uq_phones_e164', ['e164'], unique=True)


    _seed_reference_data()


def downgrade() -> None:
    with op.batch_alter_table('phones', schema=None) as batch_op:
        batch_op.drop_index('uq_phones_e164')
        batch_op.drop_index(batch_op.f('ix_phones_contact_id'))
        batch_op.drop_index(batch_op.f('ix_phones_client_id'))

    op.drop_table('phones')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_user_id'))
        batch_op.drop_index(batch_op.f('ix_interactions_planned_at'))
        batch_op.drop_index(batch_op.f('ix_interactions_created_at'))
        batch_op.drop_index(batch_op.f('ix_interactions_client_id'))
        batch_op.drop_index(batch_op.f('ix_interactions_call_id'))

    op.drop_table('interactions')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeals_created_at'))
        batch_op.drop_index(batch_op.f('ix_appeals_client_id'))
        batch_op.drop_index(batch_op.f('ix_appeals_channel_id'))
        batch_op.drop_index(batch_op.f('ix_appeals_callback_due_at'))

    op.drop_table('appeals')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_client_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('client_reassignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_reassignments_client_id'))

    op.drop_table('client_reassignments')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_calls_client_number'))
        batch_op.drop_index(batch_op.f('ix_calls_client_id'))
        batch_op.drop_index(batch_op.f('ix_calls_campaign_id'))
        batch_op.drop_index(batch_op.f('ix_calls_ami_linkedid'))
        batch_op.drop_index(batch_op.f('ix_calls_agent_id'))

    op.drop_table('calls')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clients_tax_id'))
        batch_op.drop_index(batch_op.f('ix_clients_responsible_id'))
        batch_op.drop_index(batch_op.f('ix_clients_name_search'))

    op.drop_table('clients')
    with op.batch_alter_table('api_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_sessions_user_id'))

    op.drop_table('api_sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_team_id'))

    op.drop_table('users')
    with op.batch_alter_table('interaction_statuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interaction_statuses_type_id'))

    op.drop_table('interaction_statuses')
    op.drop_table('teams')
    op.drop_table('marketing_channels')
    op.drop_table('interaction_types')


# Reference data an administrator can edit later; the names are the ones users know
# from 1C:CRM and Bitrix24 (../shared/PRODUCT.md).
INTERACTION_TYPES = [
    ("incoming_call", "Входящий звонок", "#2e7d32", [("planned", "Запланирован", False), ("done", "Состоялся", True), ("missed", "Пропущен", True)]),
    ("outgoing_call", "Исходящий звонок", "#1565c0", [("planned", "Запланирован", False), ("done", "Состоялся", True), ("no_answer", "Недозвон", True), ("cancelled", "Отменён", True)]),
    ("meeting", "Встреча", "#6a1b9a", [("planned", "Запланирована", False), ("done", "Проведена", True), ("cancelled", "Отменена", True)]),
    ("email", "Письмо", "#ef6c00", [("draft", "Черновик", False), ("sent", "Отправлено", True), ("received", "Получено", True)]),
    ("task", "Задача", "#546e7a", [("planned", "Запланирована", False), ("done", "Выполнена", True), ("cancelled", "Отменена", True)]),
    ("note", "Заметка", "#795548", [("done", "Записана", True)]),
]

MARKETING_CHANNELS = [
    ("website", "Сайт"),
    ("phone", "Входящий звонок"),
    ("social", "Социальные сети"),
    ("referral", "Рекомендация"),
    ("exhibition", "Выставка"),
    ("cold_call", "Холодный звонок"),
    ("email", "E-mail рассылка"),
    ("ads", "Контекстная реклама"),
    ("other", "Другое"),
]


def _seed_reference_data() -> None:
    bind = op.get_bind()
    types = sa.table("interaction_types", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String), sa.column("color", sa.String))
    statuses = sa.table("interaction_statuses", sa.column("type_id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String), sa.column("is_final", sa.Boolean))
    channels = sa.table("marketing_channels", sa.column("code", sa.String), sa.column("name", sa.String))
    for code, name, color, type_statuses in INTERACTION_TYPES:
        bind.execute(types.insert().values(code=code, name=name, color=color))
        type_id = bind.execute(sa.select(types.c.id).where(types.c.code == code)).scalar_one()
        bind.execute(statuses.insert(), [dict(type_id=type_id, code=c, name=n, is_final=f) for c, n, f in type_statuses])
    bind.execute(channels.insert(), [dict(code=c, name=n) for c, n in MARKETING_CHANNELS])
