"""Alembic environment: runs on the connection crm_core.migrate hands over."""

from __future__ import annotations

from alembic import context

from crm_core.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("Zvonar migrations run online only: use `zvonar db upgrade`")
run_migrations_online()
