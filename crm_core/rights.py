"""Who may see and change which clients: the one place the rule lives.

An operator and a manager see only the clients they are responsible for; a supervisor
sees their team's; an admin sees all. Every read path (card, list, search, history)
filters through ``client_scope`` or ``check_client``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true

from crm_core.errors import ClientNotFound, Forbidden
from crm_core.models import Client, Role, User


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


def client_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``Client`` limiting rows to those ``actor`` may see."""
    if actor.is_admin:
        return true()
    if actor.is_supervisor and actor.team_id is not None:
        team_users = select(User.id).where(User.team_id == actor.team_id).scalar_subquery()
        return Client.responsible_id.in_(team_users)
    return Client.responsible_id == actor.user_id


def user_scope(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on ``User``: whose work ``actor`` may look at (calls, protocols)."""
    if actor.is_admin:
        return true()
    if actor.is_supervisor and actor.team_id is not None:
        return User.team_id == actor.team_id
    return User.id == actor.user_id


def may_see_client(actor: Actor, client: Client, responsible_team_id: int | None) -> bool:
    if actor.is_admin:
        return True
    if actor.is_supervisor and actor.team_id is not None:
        return responsible_team_id == actor.team_id
    return client.responsible_id == actor.user_id


def check_client(actor: Actor, client: Client | None, responsible_team_id: int | None) -> Client:
    """Return the client if visible; otherwise ClientNotFound (no hint that it exists)."""
    if client is None or not may_see_client(actor, client, responsible_team_id):
        raise ClientNotFound()
    return client


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this action needs the role {' or '.join(r.value for r in roles)}")
