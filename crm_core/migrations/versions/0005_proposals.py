"""proposals with an approval workflow (statuses and transitions seeded); interactions remember their reminder

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 19:08:42.837435
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (code, name, colour, position, initial, final, editable)
PROPOSAL_STATUSES = [
    ("draft", "Черновик", "#9e9e9e", 10, True, False, True),
    ("on_approval", "На согласовании", "#ff9800", 20, False, False, False),
    ("approved", "Согласовано", "#2196f3", 30, False, False, False),
    ("sent", "Отправлено", "#3f51b5", 40, False, False, False),
    ("accepted", "Принято", "#4caf50", 50, False, True, False),
    ("rejected", "Отклонено", "#f44336", 60, False, True, False),
]
# (from, to, name, approval, comment required)
PROPOSAL_TRANSITIONS = [
    ("draft", "on_approval", "Отправить на согласование", False, False),
    ("on_approval", "approved", "Согласовать", True, False),
    ("on_approval", "draft", "Вернуть на доработку", True, True),
    ("approved", "sent", "Отправить клиенту", False, False),
    ("sent", "accepted", "Клиент принял", False, False),
    ("sent", "rejected", "Клиент отклонил", False, True),
]


def upgrade() -> None:
    op.create_table(
        "proposal_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_initial", sa.Boolean(), nullable=False),
        sa.Column("is_final", sa.Boolean(), nullable=False),
        sa.Column("editable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_statuses")),
        sa.UniqueConstraint("code", name=op.f("uq_proposal_statuses_code")),
    )
    op.create_table(
        "proposal_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_status_id", sa.Integer(), nullable=False),
        sa.Column("to_status_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("approval", sa.Boolean(), nullable=False),
        sa.Column("comment_required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["from_status_id"], ["proposal_statuses.id"],
                                name=op.f("fk_proposal_transitions_from_status_id_proposal_statuses"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_status_id"], ["proposal_statuses.id"],
                                name=op.f("fk_proposal_transitions_to_status_id_proposal_statuses"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_transitions")),
        sa.UniqueConstraint("from_status_id", "to_status_id", name="uq_proposal_transitions_from_to"),
    )
    with op.batch_alter_table("proposal_transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_transitions_from_status_id"), ["from_status_id"], unique=False)

    # Money and quantities are scaled integers (crm_core.models.proposals.Money / Quantity).
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("status_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("script_protocol_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["approver_id"], ["users.id"], name=op.f("fk_proposals_approver_id_users")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_proposals_author_id_users")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_proposals_client_id_clients"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_proposals_contact_id_contacts"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["script_protocol_id"], ["script_protocols.id"],
                                name=op.f("fk_proposals_script_protocol_id_script_protocols"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["status_id"], ["proposal_statuses.id"], name=op.f("fk_proposals_status_id_proposal_statuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        for column in ("author_id", "client_id", "created_at", "status_id"):
            batch_op.create_index(batch_op.f(f"ix_proposals_{column}"), [column], unique=False)

    op.create_table(
        "proposal_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("from_status_id", sa.Integer(), nullable=True),
        sa.Column("to_status_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["from_status_id"], ["proposal_statuses.id"],
                                name=op.f("fk_proposal_history_from_status_id_proposal_statuses")),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name=op.f("fk_proposal_history_proposal_id_proposals"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_status_id"], ["proposal_statuses.id"],
                                name=op.f("fk_proposal_history_to_status_id_proposal_statuses")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_proposal_history_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_history")),
    )
    with op.batch_alter_table("proposal_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_history_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "proposal_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=300), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name=op.f("fk_proposal_items_proposal_id_proposals"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_items")),
    )
    with op.batch_alter_table("proposal_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_items_proposal_id"), ["proposal_id"], unique=False)

    # The planned_at a reminder.due went out for: each reminder once, a rescheduled event again.
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminded_for", sa.DateTime(timezone=True), nullable=True))

    _seed_workflow()


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("reminded_for")
    with op.batch_alter_table("proposal_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_items_proposal_id"))
    op.drop_table("proposal_items")
    with op.batch_alter_table("proposal_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_history_proposal_id"))
    op.drop_table("proposal_history")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        for column in ("status_id", "created_at", "client_id", "author_id"):
            batch_op.drop_index(batch_op.f(f"ix_proposals_{column}"))
    op.drop_table("proposals")
    with op.batch_alter_table("proposal_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_transitions_from_status_id"))
    op.drop_table("proposal_transitions")
    op.drop_table("proposal_statuses")


def _seed_workflow() -> None:
    bind = op.get_bind()
    statuses = sa.table(
        "proposal_statuses", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String),
        sa.column("color", sa.String), sa.column("position", sa.Integer), sa.column("is_initial", sa.Boolean),
        sa.column("is_final", sa.Boolean), sa.column("editable", sa.Boolean),
    )
    transitions = sa.table(
        "proposal_transitions", sa.column("from_status_id", sa.Integer), sa.column("to_status_id", sa.Integer),
        sa.column("name", sa.String), sa.column("approval", sa.Boolean), sa.column("comment_required", sa.Boolean),
    )
    bind.execute(statuses.insert(), [
        dict(code=c, name=n, color=col, position=p, is_initial=i, is_final=f, editable=e)
        for c, n, col, p, i, f, e in PROPOSAL_STATUSES
    ])
    ids = dict(bind.execute(sa.select(statuses.c.code, statuses.c.id)).all())
    bind.execute(transitions.insert(), [
        dict(from_status_id=ids[a], to_status_id=ids[b], name=n, approval=ap, comment_required=cr)
        for a, b, n, ap, cr in PROPOSAL_TRANSITIONS
    ])
