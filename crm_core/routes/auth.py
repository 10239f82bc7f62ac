"""Login, logout, the current user, the user list."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from crm_core.api import ApiModel, ApiRequest, ApiRoutes, Ok, ResponseModel
from crm_core.errors import AuthenticationFailed, TooManyAttempts
from crm_core.models import Role
from crm_core.services import users as users_service

routes = ApiRoutes("auth")


class LoginBody(ApiModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserOut(ResponseModel):
    id: int
    login: str
    full_name: str
    role: Role
    team_id: int | None
    phone_endpoint: str | None
    locale: str


class LoginOut(ResponseModel):
    token: str
    expires_at: datetime
    user: UserOut


@routes.post("/api/auth/login", body=LoginBody, response=LoginOut, public=True)
async def login(req: ApiRequest) -> LoginOut:
    """Log in with login and password; returns a bearer token."""
    body: LoginBody = req.body
    peer = req.request.remote or "unknown"
    login_key, peer_key = f"login:{body.login.strip().lower()}", f"peer:{peer}"
    throttle = req.ctx.throttle
    if throttle.blocked(login_key, peer_key):
        raise TooManyAttempts()
    try:
        result = await users_service.login(
            req.db, body.login, body.password, timedelta(hours=req.ctx.session_ttl_hours), req.ctx.passwords
        )
    except AuthenticationFailed:
        throttle.failed(login_key, peer_key)
        raise
    throttle.succeeded(login_key)
    return LoginOut(token=result.token, expires_at=result.expires_at, user=UserOut.model_validate(result.user))


@routes.post("/api/auth/logout", response=Ok)
async def logout(req: ApiRequest) -> Ok:
    """End the current session."""
    assert req.token is not None
    await users_service.logout(req.db, req.token, req.ctx.sessions)
    return Ok()


@routes.get("/api/auth/me", response=UserOut)
async def me(req: ApiRequest) -> UserOut:
    """The logged-in user."""
    return UserOut.model_validate(await users_service.get_user(req.db, req.user, req.user.user_id))


@routes.get("/api/users", response=list[UserOut])
async def list_users(req: ApiRequest) -> list[UserOut]:
    """Users you may see: yourself; a supervisor's team; everyone for an admin."""
    return [UserOut.model_validate(u) for u in await users_service.list_users(req.db, req.user)]
