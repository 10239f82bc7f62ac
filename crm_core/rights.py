"""Who may see and change which clients: the one place the rule lives.

An operator and a manager see only the clients they are responsible for; a supervisor
sees their team's; an admin sees all. Besides, a user sees:

* for a while, the clients the PBX put through to them or the dialer showed them
  (``ClientAccess``: an inbound queue or a campaign rings whoever is free, whoever's
  client it is);
* while it is open, the client of a contact planned for them (a callback they set on a
  campaign call, a contact a supervisor handed over to them: переадресация).

Every read and write path (card, list, search, history, calendar, scripts) filters
through ``client_scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, true, union_all

from crm_core.errors import Forbidden
from crm_core.models import Client, ClientAccess, Interaction, Role, User, utcnow


@dataclass(frozen=True)
class Actor:
    """The user a use case runs for (taken from the authenticated session)."""

    user_id: int
    role: Role
    team_id: int | None
    login: str = ""
    endpoint: str | None = None  # the user's own phone (extension), where click-to-call rings first

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user_id=user.id, role=user.role, team_id=user.team_id, login=user.login,
                   endpoint=user.phone_endpoint)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.supervisor


def client_scope(actor: Actor, now: datetime | None = None) -> ColumnElement[bool]:
    """A WHERE clause on ``Client`` limiting rows to those ``actor`` may see (at ``now``)."""
    if actor.is_admin:
        return true()
    if actor.is_supervisor and actor.team_id is not None:
        team_users = select(User.id).where(User.team_id == actor.team_id).scalar_subquery()
        own = select(Client.id).where(Client.responsible_id.in_(team_users))
    else:
        own = select(Client.id).where(Client.responsible_id == actor.user_id)
    granted = select(ClientAccess.client_id).where(ClientAccess.user_id == actor.user_id,
                                                   ClientAccess.until > (now or utcnow()))
    planned_for_them = select(Interaction.client_id).where(
        Interaction.user_id == actor.user_id, Interaction.planned_at.is_not(None), Interaction.done_at.is_(None))
    # A union inside IN, not an OR of conditions: each part keeps its index on PostgreSQL.
    return Client.id.in_(union_all(own, granted, planned_for_them))


def user_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``User``: whose work ``actor`` may look at (calls, protocols)."""
    if actor.is_admin:
        return true()
    if actor.is_supervisor and actor.team_id is not None:
        return User.team_id == actor.team_id
    return User.id == actor.user_id


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this action needs the role {' or '.join(r.value for r in roles)}")
