"""Login, sessions and the authentication wall, on both stores."""

from __future__ import annotations

from sqlalchemy import event, update

from crm_core.api import CONTEXT_KEY
from crm_core.models import User
from crm_core.session_cache import SessionCache


async def test_login_me_logout(api) -> None:
    user, client = await api.user("operator", login="i.petrova", full_name="Ирина Петрова", endpoint="101")
    resp = await client.get("/api/auth/me")
    assert resp.status == 200
    me = await resp.json()
    assert me["login"] == "i.petrova" and me["full_name"] == "Ирина Петрова" and me["phone_endpoint"] == "101"
    assert (await client.post("/api/auth/logout")).status == 200
    resp = await client.get("/api/auth/me")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "not_authenticated"


async def test_a_token_checked_recently_is_not_looked_up_again(api) -> None:
    """Every request is authenticated; the store is asked who a token is once, not at every request."""
    _, client = await api.user("operator", login="i.petrova", endpoint="101")
    lookups: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "api_sessions" in statement:
            lookups.append(statement)

    event.listen(api.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        for _ in range(3):
            assert (await client.get("/api/auth/me")).status == 200
    finally:
        event.remove(api.db.engine.sync_engine, "before_cursor_execute", note)
    assert len(lookups) == 1, lookups


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


async def test_a_user_deactivated_elsewhere_is_refused_once_the_cache_lapses(api) -> None:
    """Deactivated from the CLI or another server: honoured here for at most the cache's seconds."""
    clock = _Clock()
    api.server.app[CONTEXT_KEY].sessions = SessionCache(ttl=5.0, clock=clock)
    user, client = await api.user("operator", login="o.kovalenko", endpoint="102")
    assert (await client.get("/api/auth/me")).status == 200
    async with api.db.transaction() as s:
        await s.execute(update(User).where(User.id == user.id).values(is_active=False))
    clock.t += 4.0
    assert (await client.get("/api/auth/me")).status == 200, "within the cache's 5 s, as documented"
    clock.t += 1.0
    resp = await client.get("/api/auth/me")
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "not_authenticated"


async def test_wrong_password_is_401_json_and_rate_limited(api) -> None:
    await api.user("operator", login="o.kovalenko")
    anon = await api.client()
    for _ in range(api.settings.http.login_attempts_per_minute):
        resp = await anon.post("/api/auth/login", json={"login": "o.kovalenko", "password": "wrong password"})
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "authentication_failed"
    # Even the right password is refused while the login is throttled.
    resp = await anon.post("/api/auth/login", json={"login": "o.kovalenko", "password": "correct horse battery"})
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "too_many_attempts"


async def test_every_route_but_login_needs_a_token(api) -> None:
    anon = await api.client()
    spec = await (await anon.get("/api/openapi.json")).json()
    checked = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if op["security"] == []:
                continue
            url = path.replace("{", "").replace("}", "")
            url = "/".join("1" if part.endswith("_id") else part for part in url.split("/"))
            resp = await anon.request(method.upper(), url, json={})
            assert resp.status == 401, (method, path, resp.status)
            assert (await resp.json())["error"]["code"] == "not_authenticated"
            checked += 1
    assert checked >= 3
    public = [p for p, ops in spec["paths"].items() for op in ops.values() if op["security"] == []]
    assert public == ["/api/auth/login"]
    assert (await anon.get("/api/ws")).status == 401


async def test_bad_json_and_unknown_fields_are_422_not_500(api) -> None:
    anon = await api.client()
    resp = await anon.post("/api/auth/login", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 422
    resp = await anon.post("/api/auth/login", json={"login": "x", "password": "y", "admin": True})
    assert resp.status == 422
    body = await resp.json()
    assert body["error"]["code"] == "invalid_input"
    assert any(d["field"] == "admin" for d in body["error"]["details"])
    resp = await anon.get("/api/no/such/route")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_password_is_stored_as_argon2_hash(api) -> None:
    from sqlalchemy import select

    from crm_core.models import User

    await api.user("admin", login="admin1")
    async with api.db.reading() as s:
        stored = (await s.execute(select(User.password_hash).where(User.login == "admin1"))).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
