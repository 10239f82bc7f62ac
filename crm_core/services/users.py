"""Users, teams, login and sessions."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from crm_core.db import Database
from crm_core.errors import AuthenticationFailed, Conflict, InvalidInput, NotAuthenticated, UserNotFound
from crm_core.models import ApiSession, Role, Team, User, utcnow
from crm_core.passwords import DEFAULT_HASHING, PasswordHashing
from crm_core.rights import Actor, require_role, user_scope
from crm_core.session_cache import SessionCache

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LoginResult:
    token: str
    user: User
    expires_at: object


async def ensure_team(db: Database, name: str) -> int:
    async with db.transaction() as s:
        team = (await s.execute(select(Team).where(Team.name == name))).scalar_one_or_none()
        if team is None:
            team = Team(name=name)
            s.add(team)
            await s.flush()
        return team.id


async def create_user(
    db: Database,
    *,
    login: str,
    full_name: str,
    role: Role,
    password: str,
    team_id: int | None = None,
    phone_endpoint: str | None = None,
    actor: Actor | None = None,
    passwords: PasswordHashing = DEFAULT_HASHING,
) -> User:
    """Create a user; ``actor`` None means the CLI/bootstrap (an admin's act)."""
    if actor is not None:
        require_role(actor, Role.admin)
    login = login.strip().lower()
    if not login or not login.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise InvalidInput(f"login {login!r} may hold only letters, digits, '.', '_' and '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if phone_endpoint is not None and any(c in phone_endpoint for c in "\r\n/@ "):
        raise InvalidInput("phone endpoint must be a bare endpoint name such as 101")
    user = User(
        login=login,
        full_name=full_name.strip(),
        role=role,
        team_id=team_id,
        phone_endpoint=phone_endpoint,
        password_hash=await passwords.hash_async(password),
    )
    try:
        async with db.transaction() as s:
            s.add(user)
    except IntegrityError as exc:
        raise Conflict(f"login {login!r} or endpoint {phone_endpoint!r} is already taken") from exc
    log.info("user.created login=%s role=%s", login, role.value)
    return user


async def login(
    db: Database, login_name: str, password: str, ttl: timedelta, passwords: PasswordHashing = DEFAULT_HASHING
) -> LoginResult:
    """Check the password and open a session; the token is returned once, stored hashed.

    A hash made at another cost than ``passwords`` is redone with it.
    """
    async with db.reading() as s:
        user = (await s.execute(select(User).where(User.login == login_name.strip().lower()))).scalar_one_or_none()
    # Hashing is slow on purpose: done outside any transaction, so no lock is held meanwhile.
    ok = await passwords.verify_async(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise AuthenticationFailed()
    new_hash = await passwords.hash_async(password) if passwords.needs_rehash(user.password_hash) else None
    async with db.transaction() as s:
        if new_hash is not None:
            await s.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
        token = secrets.token_urlsafe(32)
        expires = utcnow() + ttl
        s.add(ApiSession(token_hash=_token_hash(token), user_id=user.id, expires_at=expires))
        # Expired sessions of this user are cleaned here rather than by a separate job.
        await s.execute(delete(ApiSession).where(ApiSession.user_id == user.id, ApiSession.expires_at < utcnow()))
    log.info("auth.login login=%s", user.login)
    return LoginResult(token=token, user=user, expires_at=expires)


async def actor_for_token(db: Database, token: str, sessions: SessionCache) -> Actor:
    """The active user behind a bearer token (or NotAuthenticated): from ``sessions`` when read recently, else the store."""
    token_hash = _token_hash(token)
    actor = sessions.get(token_hash, utcnow())
    if actor is None:
        user, expires_at = await _session_of(db, token_hash)
        actor = Actor.of(user)
        sessions.put(token_hash, actor, expires_at)
    return actor


async def _session_of(db: Database, token_hash: str) -> tuple[User, datetime]:
    """The user of a live session and when it expires, or NotAuthenticated."""
    async with db.reading() as s:
        row = (
            await s.execute(
                select(User, ApiSession.expires_at)
                .join(ApiSession, ApiSession.user_id == User.id)
                .where(ApiSession.token_hash == token_hash)
            )
        ).first()
    if row is None:
        raise NotAuthenticated("unknown or expired session; log in again")
    user, expires_at = row
    if expires_at < utcnow() or not user.is_active:
        raise NotAuthenticated("session expired; log in again")
    return user, expires_at


async def logout(db: Database, token: str, sessions: SessionCache) -> None:
    """End the session of ``token`` (and forget it in this server's ``sessions`` at once)."""
    token_hash = _token_hash(token)
    async with db.transaction() as s:
        await s.execute(delete(ApiSession).where(ApiSession.token_hash == token_hash))
    sessions.forget(token_hash)


async def get_user(db: Database, actor: Actor, user_id: int) -> User:
    async with db.reading() as s:
        user = (await s.execute(select(User).where(User.id == user_id, user_scope(actor)))).scalar_one_or_none()
    if user is None:
        # Responsible users of visible clients are looked up by id elsewhere; unknown here.
        raise UserNotFound()
    return user


async def list_users(db: Database, actor: Actor) -> list[User]:
    """Users ``actor`` may see: themselves; a supervisor their team; an admin everyone."""
    async with db.reading() as s:
        return list((await s.execute(select(User).where(user_scope(actor)).order_by(User.id))).scalars())


async def team_of(db: Database, user_id: int) -> int | None:
    """The team of a user (None: no team, or no such user); used by the AMI bridge to route call events."""
    async with db.reading() as s:
        return await s.scalar(select(User.team_id).where(User.id == user_id))


async def user_by_endpoint(db: Database, endpoint: str) -> User | None:
    """The user whose phone endpoint (extension) this is; used by the AMI bridge."""
    async with db.reading() as s:
        return (await s.execute(select(User).where(User.phone_endpoint == endpoint))).scalar_one_or_none()
