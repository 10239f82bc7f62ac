"""Who may see and change which clients: the one place the rule lives.

An operator and a manager see only the clients they are responsible for; a supervisor
sees their team's; an admin sees all. Besides, a user sees:

* for a while, the clients the PBX put through to them or the dialer showed them
  (``ClientAccess``: an inbound queue or a campaign rings whoever is free, whoever's
  client it is);
* while it is open, the client of a contact planned for them (a callback they set on a
  campaign call, a contact a supervisor handed over to them: переадресация).

Every read and write path (card, list, search, history, calendar, scripts) filters
through ``client_scope``, or ``one_client_scope`` (the same rule) where it reads one client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, ScalarSelect, exists, or_, select, true, union_all

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
    """A WHERE clause on ``Client`` limiting rows to those ``actor`` may see (at ``now``); for lists.

    The parts are a union inside IN, not an OR: each keeps its index on PostgreSQL, so a
    list of an operator's clients does not scan the whole base.
    """
    if actor.is_admin:
        return true()
    if actor.is_supervisor and actor.team_id is not None:
        own = select(Client.id).where(Client.responsible_id.in_(_team_users(actor)))
    else:
        own = select(Client.id).where(Client.responsible_id == actor.user_id)
    granted = select(ClientAccess.client_id).where(ClientAccess.user_id == actor.user_id,
                                                   ClientAccess.until > (now or utcnow()))
    planned_for_them = select(Interaction.client_id).where(
        Interaction.user_id == actor.user_id, Interaction.planned_at.is_not(None), Interaction.done_at.is_(None))
    return Client.id.in_(union_all(own, granted, planned_for_them))


def one_client_scope(actor: Actor, now: datetime | None = None) -> ColumnElement[bool]:
    """The same rule as :func:`client_scope`, shaped for reading one client (by id or number).

    Each part is checked against that row (indexed probes) instead of gathering every
    client the actor sees first: a card or a click reads faster this way, a list slower.
    """
    if actor.is_admin:
        return true()
    if actor.is_supervisor and actor.team_id is not None:
        own = Client.responsible_id.in_(_team_users(actor))
    else:
        own = Client.responsible_id == actor.user_id
    granted = exists().where(ClientAccess.user_id == actor.user_id, ClientAccess.client_id == Client.id,
                             ClientAccess.until > (now or utcnow()))
    planned_for_them = exists().where(Interaction.client_id == Client.id, Interaction.user_id == actor.user_id,
                                      Interaction.planned_at.is_not(None), Interaction.done_at.is_(None))
    return or_(own, granted, planned_for_them)


def _team_users(actor: Actor) -> ScalarSelect[int]:
    return select(User.id).where(User.team_id == actor.team_id).scalar_subquery()


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
