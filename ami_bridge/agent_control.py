"""Agent control: pause/ready and queue login/logout, for oneself or (supervisors) one's team."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ami_bridge.agent_states import AgentState
from ami_bridge.bridge import AmiBridge
from ami_bridge.errors import AmiError
from ami_bridge.queue_actions import (
    InvalidQueueField,
    QueueActionError,
    QueueNotFound,
    QueueOutcome,
    send_queue_login,
    send_queue_logout,
    send_queue_pause,
)
from crm_core.db import Database
from crm_core.errors import Forbidden, InvalidInput, NotFound, ServiceUnavailable, UserNotFound
from crm_core.models import Role, User
from crm_core.rights import Actor, user_scope


@dataclass(frozen=True)
class AgentView:
    user_id: int
    login: str
    full_name: str
    endpoint: str
    state: str
    reason: str | None
    queues: tuple[str, ...]
    since: float | None
    call_id: str | None


async def target_user(db: Database, actor: Actor, user_id: int | None) -> User:
    """The agent an action is for: oneself, or a team member for a supervisor, anyone for an admin."""
    wanted = user_id or actor.user_id
    if wanted != actor.user_id and actor.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only a supervisor may change another agent's state")
    async with db.reading() as s:
        user = (await s.execute(select(User).where(User.id == wanted, user_scope(actor)))).scalar_one_or_none()
    if user is None:
        raise UserNotFound()
    if not user.phone_endpoint:
        raise InvalidInput(f"user {user.login} has no phone endpoint")
    return user


def _interface(bridge: AmiBridge, user: User) -> str:
    return bridge.config.agent_channel_template.format(endpoint=user.phone_endpoint)


async def _run(coro):  # type: ignore[no-untyped-def]
    try:
        return await coro
    except InvalidQueueField as exc:
        raise InvalidInput(str(exc)) from exc
    except QueueActionError as exc:
        if isinstance(exc, QueueNotFound):
            raise NotFound(str(exc)) from exc
        raise InvalidInput(str(exc)) from exc
    except AmiError as exc:
        raise ServiceUnavailable(f"the PBX did not confirm: {exc}") from exc


def _need(bridge: AmiBridge | None) -> AmiBridge:
    if bridge is None:
        raise ServiceUnavailable("the PBX is not connected; try again in a moment")
    return bridge


async def set_paused(db: Database, bridge: AmiBridge | None, actor: Actor, paused: bool, reason: str | None,
                     user_id: int | None = None) -> QueueOutcome:
    """Pause (with a reason: обед, обучение...) or make ready in every queue."""
    user = await target_user(db, actor, user_id)
    b = _need(bridge)
    return await _run(send_queue_pause(b.conn, _interface(b, user), paused, reason if paused else None))


async def queue_login(db: Database, bridge: AmiBridge | None, actor: Actor, queue: str, user_id: int | None = None) -> QueueOutcome:
    user = await target_user(db, actor, user_id)
    b = _need(bridge)
    return await _run(send_queue_login(b.conn, queue, _interface(b, user), user.full_name[:79]))


async def queue_logout(db: Database, bridge: AmiBridge | None, actor: Actor, queue: str, user_id: int | None = None) -> QueueOutcome:
    user = await target_user(db, actor, user_id)
    b = _need(bridge)
    return await _run(send_queue_logout(b.conn, queue, _interface(b, user)))


async def agent_views(db: Database, bridge: AmiBridge | None, actor: Actor) -> list[AgentView]:
    """Live states of the agents ``actor`` may watch (own; team; all for an admin).

    Without a bridge nothing is known of anyone: ServiceUnavailable, not a list of
    agents who all look logged out.
    """
    b = _need(bridge)
    async with db.reading() as s:
        users = list((await s.execute(
            select(User).where(user_scope(actor), User.phone_endpoint.is_not(None)).order_by(User.full_name)
        )).scalars())
    states: dict[str, AgentState] = {a.agent: a for a in b.agents.snapshot()}
    views = []
    for u in users:
        st = states.get(u.phone_endpoint or "")
        views.append(AgentView(
            user_id=u.id, login=u.login, full_name=u.full_name, endpoint=u.phone_endpoint or "",
            state=str(st.state) if st else "logged_out", reason=st.reason if st else None,
            queues=tuple(st.queues) if st else (), since=b.wall_time(st.since).timestamp() if (st and st.since is not None) else None,
            call_id=st.call_id if st else None,
        ))
    return views
