"""The rights matrix: every route that touches a client, for every kind of user, over HTTP.

The routes come from the OpenAPI document itself: any operation with a client, contact,
event, appeal or call id (in its path, query, body or response), or under /api/clients,
must have a case here, so a new client route without one fails this test.

The rule (crm_core/rights.py): an operator or manager sees their own clients; a
supervisor their team's; an admin all. Someone else's client is "not found" (404), or a
403 where the role itself may not act (reassignment by an operator).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from crm_core.models import User
from crm_core.rights import Actor
from crm_core.services import appeals as appeals_service
from crm_core.services import calls as calls_service
from crm_core.services import clients as clients_service
from crm_core.services import contacts as contacts_service
from crm_core.services import interactions as interactions_service
from crm_core.services.appeals import AppealInput
from crm_core.services.calls import CallRecord
from crm_core.services.clients import ClientInput, ContactInput, PhoneInput
from crm_core.services.interactions import InteractionInput

CLIENT_KEYS = {"client_id", "client_ids", "contact_id", "interaction_id", "appeal_id", "call_id"}
WEEK_START = datetime(2026, 11, 30, tzinfo=timezone.utc)
ACTORS = ("ivanova", "petrov", "sales_sup", "kovalenko", "kyiv_sup", "admin")


@dataclass
class Person:
    user: User
    http: Any  # a logged-in aiohttp TestClient

    @property
    def actor(self) -> Actor:
        return Actor.of(self.user)


@dataclass
class Objects:
    client: int
    contact: int
    interaction: int
    appeal: int
    call: int


@dataclass
class World:
    people: dict[str, Person]
    target: Objects  # Ivanova's: the object of every case
    by_owner: dict[str, int]  # one client each for Ivanova, Petrov and Kovalenko

    def user_id(self, name: str) -> int:
        return self.people[name].user.id


async def _client_with_everything(api, owner: Person, name: str, phone: str, hours: int) -> Objects:
    db, actor = api.db, owner.actor
    client = await clients_service.create_client(
        db, actor, ClientInput(name=name, phones=[PhoneInput(phone)],
                               contacts=[ContactInput(first_name="Мария", last_name="Кузнецова")]),
    )
    [contact] = await contacts_service.list_contacts(db, actor, client.id)
    event = await interactions_service.create_interaction(
        db, actor, client.id,
        InteractionInput(type_code="outgoing_call", subject="Перезвонить", planned_at=WEEK_START + timedelta(hours=hours)),
    )
    appeal = await appeals_service.create_appeal(
        db, actor, AppealInput(purpose="Запрос цены", client_id=client.id, channel_code="website"), now=WEEK_START)
    e164 = client.phones[0].e164
    call = await calls_service.record_finished_call(
        db, CallRecord(direction="inbound", outcome="answered", number=e164, linkedid=f"1732356{hours:03d}.1",
                       started_at=WEEK_START),
    )
    return Objects(client.id, contact.id, event.id, appeal.id, call.call_id)


async def build_world(api) -> World:
    people = {
        "ivanova": await api.user("operator", team="Отдел продаж", login="i.ivanova", endpoint="101"),
        "petrov": await api.user("operator", team="Отдел продаж", login="s.petrov", endpoint="102"),
        "sales_sup": await api.user("supervisor", team="Отдел продаж", login="a.smirnova"),
        "kovalenko": await api.user("operator", team="Киевский филиал", login="o.kovalenko", endpoint="201"),
        "kyiv_sup": await api.user("supervisor", team="Киевский филиал", login="t.shevchenko"),
        "admin": await api.user("admin", team=None, login="admin"),
    }
    persons = {name: Person(user, http) for name, (user, http) in people.items()}
    target = await _client_with_everything(api, persons["ivanova"], "ООО «Ромашка»", "+7 916 123-45-67", 1)
    petrovs = await _client_with_everything(api, persons["petrov"], "ОАО «Минский тракторный завод»", "+375 29 612-45-67", 2)
    kyivs = await _client_with_everything(api, persons["kovalenko"], "ИП Коваленко Олег Петрович", "+380 67 123 45 67", 3)
    return World(persons, target, {"ivanova": target.client, "petrov": petrovs.client, "kovalenko": kyivs.client})


# --- the cases -------------------------------------------------------------------------------

Request = tuple[str, Any]  # (url, json body or None)
Make = Callable[[World, Any], Awaitable[Request]]


def _succeeded(status: int) -> bool:
    return status < 300


def _past_the_rights_gate(status: int) -> bool:
    # Click-to-call ends at the PBX, which these tests do not run: 503 (no PBX) or 422
    # (the user has no phone of their own) come only after the client was found visible.
    return status < 300 or status in (422, 503)


@dataclass(frozen=True)
class ObjectCase:
    """A route on Ivanova's client (or something of it): who gets through."""

    make: Make | tuple[Make, ...]
    allowed: frozenset[str] = frozenset({"ivanova", "sales_sup", "admin"})
    passes: Callable[[int], bool] = _succeeded

    @property
    def makes(self) -> tuple[Make, ...]:
        return self.make if isinstance(self.make, tuple) else (self.make,)


def _static(url: str, body: Any = None) -> Make:
    """A request on the target; "{client}"-style values in the body become the target's ids."""
    async def make(w: World, api: Any) -> Request:
        t = w.target
        ids = {"client": t.client, "contact": t.contact, "interaction": t.interaction, "appeal": t.appeal, "call": t.call}
        filled = body
        if isinstance(body, dict):
            filled = {k: ids[v[1:-1]] if isinstance(v, str) and v[1:-1] in ids and v.startswith("{") else v
                      for k, v in body.items()}
        return url.format(**ids), filled
    return make


async def _fresh_contact(w: World, api: Any) -> Request:
    contact = await contacts_service.add_contact(api.db, w.people["admin"].actor, w.target.client, ContactInput(first_name="Ольга"))
    return f"/api/contacts/{contact.id}", None


async def _reassign_one(w: World, api: Any) -> Request:
    # Back to Ivanova: a no-op for whoever may do it, so the world stays as it is.
    return f"/api/clients/{w.target.client}/reassign", {"to_user_id": w.user_id("ivanova"), "reason": "Проверка прав"}


async def _reassign_many(w: World, api: Any) -> Request:
    return "/api/clients/reassign", {"client_ids": [w.target.client], "to_user_id": w.user_id("ivanova")}


async def _new_client_for_ivanova(w: World, api: Any) -> Request:
    return "/api/clients", {"name": "ООО «Лютик»", "responsible_id": w.user_id("ivanova")}


async def _appeal_on_target(w: World, api: Any) -> Request:
    return "/api/appeals", {"client_id": w.target.client, "purpose": "Повторный запрос", "channel": "phone"}



COLD_CALL_YAML = (Path(__file__).resolve().parents[2] / "scripts_engine" / "examples" / "cold_call_b2b.yaml").read_text(
    encoding="utf-8")


async def _new_session_body(w: World, api: Any) -> Request:
    # Publishing the same text again is a no-op, so every case may do it.
    resp = await w.people["admin"].http.post("/api/scripts", json={"code": "cold_call", "yaml": COLD_CALL_YAML})
    assert resp.status == 201, await resp.text()
    return "/api/script-sessions", {"code": "cold_call", "client_id": w.target.client, "call_id": w.target.call}


def _ivanovas_session(tail: str, body: Any = None, steps: tuple[tuple[str, Any], ...] = ()) -> Make:
    """A fresh session of Ivanova's on her client, walked through `steps` (url tail, json) by her."""
    async def make(w: World, api: Any) -> Request:
        url, start = await _new_session_body(w, api)
        resp = await w.people["ivanova"].http.post(url, json=start)
        assert resp.status == 201, await resp.text()
        session = (await resp.json())["id"]
        for step_tail, step_body in steps:
            done = await w.people["ivanova"].http.post(f"/api/script-sessions/{session}/{step_tail}", json=step_body)
            assert done.status == 200, await done.text()
        return f"/api/script-sessions/{session}{tail}", body
    return make


_ANSWER_GREETING = ("answer", {"step_id": "greeting", "value": True})
_TO_HANDOFF = (_ANSWER_GREETING, ("answer", {"step_id": "decision_maker", "value": "other"}),
               ("answer", {"step_id": "decision_maker_contact", "value": "Бурцев Игорь, +7 913 555-01-02"}))
_OPERATOR_ONLY = frozenset({"ivanova"})

OBJECT_CASES: dict[tuple[str, str], ObjectCase] = {
    ("GET", "/api/clients/{client_id}"): ObjectCase(_static("/api/clients/{client}")),
    ("PATCH", "/api/clients/{client_id}"): ObjectCase(_static("/api/clients/{client}", {"comment": "Проверено"})),
    ("POST", "/api/clients/{client_id}/reassign"): ObjectCase(_reassign_one, frozenset({"sales_sup", "admin"})),
    ("POST", "/api/clients/reassign"): ObjectCase(_reassign_many, frozenset({"sales_sup", "admin"})),
    ("POST", "/api/clients"): ObjectCase(_new_client_for_ivanova),
    ("GET", "/api/clients/{client_id}/contacts"): ObjectCase(_static("/api/clients/{client}/contacts")),
    ("POST", "/api/clients/{client_id}/contacts"): ObjectCase(
        _static("/api/clients/{client}/contacts", {"first_name": "Пётр", "last_name": "Сидоренко"})),
    ("GET", "/api/contacts/{contact_id}"): ObjectCase(_static("/api/contacts/{contact}")),
    ("PATCH", "/api/contacts/{contact_id}"): ObjectCase(_static("/api/contacts/{contact}", {"position": "Бухгалтер"})),
    ("DELETE", "/api/contacts/{contact_id}"): ObjectCase(_fresh_contact),
    ("GET", "/api/clients/{client_id}/interactions"): ObjectCase(_static("/api/clients/{client}/interactions")),
    ("POST", "/api/clients/{client_id}/interactions"): ObjectCase(
        _static("/api/clients/{client}/interactions", {"type": "note", "subject": "Звонил сам"})),
    ("GET", "/api/interactions/{interaction_id}"): ObjectCase(_static("/api/interactions/{interaction}")),
    ("PATCH", "/api/interactions/{interaction_id}"): ObjectCase(_static("/api/interactions/{interaction}", {"body": "Перенесли"})),
    ("GET", "/api/appeals/{appeal_id}"): ObjectCase(_static("/api/appeals/{appeal}")),
    ("PATCH", "/api/appeals/{appeal_id}"): ObjectCase(_static("/api/appeals/{appeal}", {"comment": "В работе"})),
    ("POST", "/api/appeals"): ObjectCase(_appeal_on_target),
    ("GET", "/api/clients/{client_id}/calls"): ObjectCase(_static("/api/clients/{client}/calls")),
    ("POST", "/api/calls"): ObjectCase(
        (_static("/api/calls", {"client_id": "{client}"}), _static("/api/calls", {"contact_id": "{contact}"}),
         _static("/api/calls", {"phone": "8 (916) 123-45-67"})),
        passes=_past_the_rights_gate,
    ),
    ("POST", "/api/script-sessions"): ObjectCase(_new_session_body),
    ("GET", "/api/script-sessions/{session_id}"): ObjectCase(_ivanovas_session("")),
    ("GET", "/api/script-sessions/{session_id}/protocol"): ObjectCase(_ivanovas_session("/protocol")),
    # Only the operator running a session acts on it: a supervisor or an admin gets a 403.
    ("POST", "/api/script-sessions/{session_id}/answer"): ObjectCase(
        _ivanovas_session("/answer", {"step_id": "greeting", "value": True}), _OPERATOR_ONLY),
    ("POST", "/api/script-sessions/{session_id}/back"): ObjectCase(
        _ivanovas_session("/back", steps=(_ANSWER_GREETING,)), _OPERATOR_ONLY),
    ("POST", "/api/script-sessions/{session_id}/objection"): ObjectCase(
        _ivanovas_session("/objection", {"handler_id": "expensive"}), _OPERATOR_ONLY),
    ("POST", "/api/script-sessions/{session_id}/return"): ObjectCase(
        _ivanovas_session("/return", steps=(("objection", {"handler_id": "no_time"}),)), _OPERATOR_ONLY),
    ("POST", "/api/script-sessions/{session_id}/finish"): ObjectCase(
        _ivanovas_session("/finish", steps=_TO_HANDOFF), _OPERATOR_ONLY),
}

# List routes: whose clients each user finds there (never anyone else's).
SEES = {
    "ivanova": {"ivanova"},
    "petrov": {"petrov"},
    "sales_sup": {"ivanova", "petrov"},
    "kovalenko": {"kovalenko"},
    "kyiv_sup": {"kovalenko"},
    "admin": {"ivanova", "petrov", "kovalenko"},
}


def _ids(key: str, paged: bool) -> Callable[[Any], set[int]]:
    def extract(payload: Any) -> set[int]:
        return {item[key] for item in (payload["items"] if paged else payload)}
    return extract


def _website_appeals(payload: Any) -> int:
    return {c["code"]: c["total"] for c in payload["channels"]}["website"]


LIST_CASES: dict[tuple[str, str], tuple[str, Callable[[Any], Any]]] = {
    ("GET", "/api/clients"): ("/api/clients?limit=500", _ids("id", True)),
    ("GET", "/api/clients/search"): ("/api/clients/search?q=4567", _ids("id", True)),
    ("GET", "/api/appeals"): ("/api/appeals", _ids("client_id", True)),
    ("GET", "/api/calendar"): ("/api/calendar?from=2026-11-30&to=2026-12-06", _ids("client_id", False)),
    ("GET", "/api/reports/channels"): ("/api/reports/channels?from=2026-11-01&to=2026-12-31", _website_appeals),
}


# Commercial proposals: visible with their client; the cases work on a fresh draft of Ivanova's.
def _ivanovas_proposal(tail: str, body: Any = None) -> Make:
    async def make(w: World, api: Any) -> Request:
        from crm_core.services import proposals as proposals_service
        from crm_core.services.proposals import ItemInput, ProposalInput

        draft = await proposals_service.create_proposal(
            api.db, w.people["ivanova"].actor, w.target.client,
            ProposalInput(subject="КП на внедрение", items=[ItemInput("Звонарь CRM", 12, "1490.00")]))
        return f"/api/proposals/{draft.id}{tail}", body
    return make


OBJECT_CASES.update({
    # The list narrowed to one client: that client's rights decide (the unfiltered list is
    # scoped the same way; tests/crm_core/test_proposals_service.py checks it).
    ("GET", "/api/proposals"): ObjectCase(_static("/api/proposals?client_id={client}")),
    ("GET", "/api/clients/{client_id}/proposals"): ObjectCase(_static("/api/clients/{client}/proposals")),
    ("POST", "/api/clients/{client_id}/proposals"): ObjectCase(
        _static("/api/clients/{client}/proposals", {"subject": "КП", "items": [{"product": "Звонарь CRM", "price": 1490}]})),
    ("GET", "/api/proposals/{proposal_id}"): ObjectCase(_ivanovas_proposal("")),
    ("PATCH", "/api/proposals/{proposal_id}"): ObjectCase(_ivanovas_proposal("", {"comment": "Скидка 5%"})),
    ("POST", "/api/proposals/{proposal_id}/move"): ObjectCase(_ivanovas_proposal("/move", {"to": "on_approval"})),
    # Everyone has a day: each user's own events only, on clients still theirs to see
    # (tests/crm_core/test_reminders_service.py::test_today_lists_the_users_own_open_events_of_their_day).
    ("GET", "/api/reminders/today"): ObjectCase(_static("/api/reminders/today"), frozenset(ACTORS)),
})


async def _ivanovas_sessions_listed(w: World, api: Any) -> Request:
    """The session list narrowed to Ivanova's client, with a session of hers in it."""
    await _ivanovas_session("")(w, api)
    return f"/api/script-sessions?client_id={w.target.client}", None


# The protocol viewer's list: the client's rights decide (unfiltered, it is scoped the same way).
OBJECT_CASES[("GET", "/api/script-sessions")] = ObjectCase(_ivanovas_sessions_listed)


# --- which routes must have a case ----------------------------------------------------------


def _is_integer(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "integer":
        return True
    if schema.get("type") == "array":
        return _is_integer(schema.get("items"))
    return any(_is_integer(alt) for alt in schema.get("anyOf", []))


def _id_names_in(schema: Any, components: dict[str, Any], seen: set[str]) -> set[str]:
    """Names of integer (or integer-list) properties reachable in a JSON schema, following $refs once each.

    Only integers: our row ids are integers, while e.g. an agent's live ``call_id`` is an
    Asterisk Linkedid string and no client data.
    """
    names: set[str] = set()
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                names |= _id_names_in(components.get(name, {}), components, seen)
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                names |= {prop for prop, sub in value.items() if _is_integer(sub)}
            names |= _id_names_in(value, components, seen)
    elif isinstance(schema, list):
        for item in schema:
            names |= _id_names_in(item, components, seen)
    return names


def client_routes(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """Operations that take or give clients or anything of a client."""
    components = spec["components"]["schemas"]
    found = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            names = {p["name"] for p in op.get("parameters", []) if _is_integer(p.get("schema"))}
            names |= _id_names_in(op.get("requestBody", {}), components, set())
            responses = op.get("responses", {})
            for status in ("200", "201", "202"):
                names |= _id_names_in(responses.get(status, {}), components, set())
            if names & CLIENT_KEYS or path.startswith("/api/clients"):
                found.add((method.upper(), path))
    return found


async def test_every_client_route_has_a_case(api) -> None:
    anon = await api.client()
    spec = await (await anon.get("/api/openapi.json")).json()
    every = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    detected = client_routes(spec)
    covered = set(OBJECT_CASES) | set(LIST_CASES)
    assert not detected - covered, f"client routes without a rights case: {sorted(detected - covered)}"
    assert not covered - every, f"cases for routes that no longer exist: {sorted(covered - every)}"
    # The detector itself must see the routes it is meant to guard.
    assert {("GET", "/api/calendar"), ("POST", "/api/appeals"), ("POST", "/api/clients/reassign")} <= detected


async def test_rights_matrix(api) -> None:
    w = await build_world(api)
    # Lists first: the object cases below add contacts, events and appeals.
    await _list_routes_never_show_someone_elses_client(w)
    await _object_routes_matrix(w, api)


async def _object_routes_matrix(w: World, api: Any) -> None:
    failures = []
    for (method, path), case in OBJECT_CASES.items():
        for make in case.makes:
            for name in ACTORS:
                url, body = await make(w, api)
                resp = await w.people[name].http.request(method, url, json=body)
                allowed = name in case.allowed
                ok = case.passes(resp.status) if allowed else resp.status in (403, 404)
                if not ok:
                    failures.append((method, path, body, name, resp.status, (await resp.text())[:200]))
                elif not allowed:
                    error = (await resp.json())["error"]["code"]
                    # Someone else's object is "not found" or "forbidden", never a hint of what it holds.
                    assert error.endswith("not_found") or error == "forbidden", (method, path, name, error)
    assert not failures, "\n".join(map(str, failures))


async def _list_routes_never_show_someone_elses_client(w: World) -> None:
    failures = []
    for (method, path), (url, extract) in LIST_CASES.items():
        for name in ACTORS:
            resp = await w.people[name].http.request(method, url)
            assert resp.status == 200, (path, name, resp.status, await resp.text())
            seen = extract(await resp.json())
            expected_owners = SEES[name]
            if isinstance(seen, int):  # a report: counts over visible clients only
                expected: Any = len(expected_owners)
            else:
                expected = {w.by_owner[owner] for owner in expected_owners}
            if seen != expected:
                failures.append((path, name, seen, expected))
    assert not failures, "\n".join(map(str, failures))


def test_the_detector_catches_a_new_client_route() -> None:
    spec = {
        "paths": {
            "/api/clients/{client_id}/leads": {"get": {"parameters": [{"name": "client_id", "in": "path", "schema": {"type": "integer"}}],
                                                       "responses": {}}},
            "/api/leads": {"post": {"parameters": [], "responses": {},
                                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/LeadIn"}}}}}},
            "/api/leads/today": {"get": {"parameters": [], "responses": {"200": {"content": {"application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/LeadOut"}}}}}}}},
            "/api/agents": {"get": {"parameters": [], "responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AgentOut"}}}}}}},
            "/api/health": {"get": {"parameters": [], "responses": {}}},
        },
        "components": {"schemas": {
            "LeadIn": {"properties": {"client_id": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}},
            "AgentOut": {"properties": {"call_id": {"type": "string"}}},
            "LeadOut": {"properties": {"lead": {"$ref": "#/components/schemas/LeadIn"}}},
        }},
    }
    assert client_routes(spec) == {
        ("GET", "/api/clients/{client_id}/leads"), ("POST", "/api/leads"), ("GET", "/api/leads/today"),
    }


# --- the live dialer (dialer/routes.py): a running preview campaign of the sales team --------
# Ivanova is its only operator; her client is a lead, with one answered call of hers on it.
# These tests run no PBX, so taking a card ends in 503 once the rights let the caller through.


async def _dialer_campaign(w: World, api: Any) -> tuple[int, int]:
    cached = getattr(w, "dialer_campaign", None)
    if cached is not None:
        return cached
    from datetime import datetime as _dt

    from crm_core.services import campaigns as campaigns_service
    from crm_core.services import leads as leads_service

    sup, now = w.people["sales_sup"].actor, _dt.now(timezone.utc)
    campaign = await campaigns_service.create_campaign(api.db, sup, {
        "name": "Права: предпросмотр", "mode": "preview", "hours": {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}})
    await campaigns_service.set_agents(api.db, sup, campaign.id, [w.user_id("ivanova")])
    await campaigns_service.add_list_from_filter(api.db, sup, campaign.id, "Клиенты отдела", None)
    await campaigns_service.launch(api.db, sup, campaign.id)
    [lead] = [x for x in await leads_service.lease_leads(api.db, campaign.id, "rights:1:matrix", now, 10, 60)
              if x.client_id == w.target.client]
    await leads_service.start_attempt(api.db, lead.id, "rights:1:matrix", "zv-rights-matrix", "preview", now,
                                      agent_id=w.user_id("ivanova"))
    await leads_service.finish_attempt(api.db, "zv-rights-matrix", "answered", now, lead_state="done")
    w.dialer_campaign = (campaign.id, lead.id)  # type: ignore[attr-defined]
    return campaign.id, lead.id


def _dialer(tail: str, body: Any = None) -> Make:
    async def make(w: World, api: Any) -> Request:
        campaign_id, lead_id = await _dialer_campaign(w, api)
        return f"/api/campaigns/{campaign_id}{tail.format(lead=lead_id)}", body
    return make


OBJECT_CASES.update({
    ("GET", "/api/campaigns/{campaign_id}/stats"): ObjectCase(_dialer("/stats")),
    ("PATCH", "/api/campaigns/{campaign_id}/pacing"): ObjectCase(
        _dialer("/pacing", {"lines_per_agent": 2}), frozenset({"sales_sup", "admin"})),
    ("POST", "/api/campaigns/{campaign_id}/leads/{lead_id}/disposition"): ObjectCase(
        _dialer("/leads/{lead}/disposition", {"code": "callback", "comment": "Просили перезвонить после обеда"})),
    ("POST", "/api/campaigns/{campaign_id}/preview/next"): ObjectCase(
        _dialer("/preview/next"), _OPERATOR_ONLY, passes=_past_the_rights_gate),
    ("POST", "/api/campaigns/{campaign_id}/preview/{lead_id}/accept"): ObjectCase(
        _dialer("/preview/{lead}/accept"), _OPERATOR_ONLY, passes=_past_the_rights_gate),
    ("POST", "/api/campaigns/{campaign_id}/preview/{lead_id}/skip"): ObjectCase(
        _dialer("/preview/{lead}/skip", {"reason": "Уже наш клиент"}), _OPERATOR_ONLY, passes=_past_the_rights_gate),
})


# --- campaigns and DNC (crm_core/routes/campaigns.py, dnc.py): a campaign of the sales team -----
# Ivanova is its agent: she sees it and may list a number as do-not-call; only the sales
# supervisor and the admin change, load and run it. Each changing case gets a campaign of
# its own in the state it needs, so every user meets the same starting point.


async def _sales_campaign(w: World, api: Any, state: str = "draft") -> int:
    from crm_core.services import campaigns as campaigns_service

    sup = w.people["sales_sup"].actor
    campaign = await campaigns_service.create_campaign(api.db, sup, {
        "name": f"Права: {state}", "hours": {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}})
    await campaigns_service.set_agents(api.db, sup, campaign.id, [w.user_id("ivanova")])
    await campaigns_service.add_list_from_filter(api.db, sup, campaign.id, "Клиенты отдела", None)
    if state in ("running", "paused"):
        await campaigns_service.launch(api.db, sup, campaign.id)
    if state == "paused":
        await campaigns_service.pause(api.db, sup, campaign.id)
    return campaign.id


async def _shared_campaign(w: World, api: Any) -> int:
    """The sales campaign the read-only cases share (made once)."""
    campaign_id = getattr(w, "sales_campaign", None) or await _sales_campaign(w, api)
    w.sales_campaign = campaign_id  # type: ignore[attr-defined]
    return campaign_id


def _campaign(tail: str, body: Any = None, state: str | None = None) -> Make:
    """A request on a sales campaign: a fresh one in ``state``, or (None) the shared one."""
    async def make(w: World, api: Any) -> Request:
        campaign_id = await _shared_campaign(w, api) if state is None else await _sales_campaign(w, api, state)
        return tail.format(campaign=campaign_id), body(w) if callable(body) else body
    return make


async def _listed_number(w: World, api: Any) -> Request:
    """A number on the shared campaign's DNC list, listed again before each user tries to take it off."""
    from crm_core.services import dnc as dnc_service

    campaign_id = await _shared_campaign(w, api)
    await dnc_service.add_dnc(api.db, None, "+7 916 123-45-67", campaign_id, "Проверка прав", "manual")
    return f"/api/dnc?phone=%2B79161234567&campaign_id={campaign_id}", None


_MANAGERS = frozenset({"sales_sup", "admin"})
_SEERS = frozenset({"ivanova", "sales_sup", "admin"})

OBJECT_CASES.update({
    ("GET", "/api/campaigns/{campaign_id}"): ObjectCase(_campaign("/api/campaigns/{campaign}"), _SEERS),
    ("PATCH", "/api/campaigns/{campaign_id}"): ObjectCase(
        _campaign("/api/campaigns/{campaign}", {"pacing": {"abandon_cap": 0.02}}), _MANAGERS),
    ("PUT", "/api/campaigns/{campaign_id}/agents"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/agents", lambda w: {"user_ids": [w.user_id("ivanova")]}), _MANAGERS),
    ("POST", "/api/campaigns/{campaign_id}/lists"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/lists", {"name": "Москва", "filter": {"region": "Москва"}}), _MANAGERS),
    # No file is sent: the 422 "the file is empty" comes only past the rights gate.
    ("POST", "/api/campaigns/{campaign_id}/lists/import"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/lists/import?name=Файл"), _MANAGERS, passes=_past_the_rights_gate),
    ("POST", "/api/campaigns/{campaign_id}/launch"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/launch", state="draft"), _MANAGERS),
    ("POST", "/api/campaigns/{campaign_id}/pause"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/pause", state="running"), _MANAGERS),
    ("POST", "/api/campaigns/{campaign_id}/resume"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/resume", state="paused"), _MANAGERS),
    ("POST", "/api/campaigns/{campaign_id}/stop"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/stop", state="running"), _MANAGERS),
    ("GET", "/api/campaigns/{campaign_id}/leads"): ObjectCase(_campaign("/api/campaigns/{campaign}/leads"), _MANAGERS),
    ("GET", "/api/campaigns/{campaign_id}/attempts.csv"): ObjectCase(
        _campaign("/api/campaigns/{campaign}/attempts.csv"), _MANAGERS),
    ("GET", "/api/dnc"): ObjectCase(_campaign("/api/dnc?campaign_id={campaign}"), _MANAGERS),
    ("POST", "/api/dnc"): ObjectCase(
        _campaign("/api/dnc", lambda w: {"phone": "+7 916 123-45-67", "campaign_id": w.sales_campaign}), _SEERS),
    ("DELETE", "/api/dnc"): ObjectCase(_listed_number, _MANAGERS),
    ("POST", "/api/dnc/import"): ObjectCase(
        _campaign("/api/dnc/import?campaign_id={campaign}"), _MANAGERS, passes=_past_the_rights_gate),
})
