"""Idempotency-Key: a write sent again after its answer was lost is answered, not done twice."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from crm_core.models import IdempotentRequest, Interaction, utcnow
from crm_core.services import idempotency

MEETING = {"type": "meeting", "subject": "Встреча в офисе «Ромашки»", "planned_at": "2026-12-07T11:00:00+03:00"}


async def _client(http) -> int:  # type: ignore[no-untyped-def]
    resp = await http.post("/api/clients", json={"name": "ООО «Ромашка»", "region": "Москва"})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def _interactions(api) -> int:  # type: ignore[no-untyped-def]
    async with api.db.reading() as s:
        return (await s.execute(select(func.count(Interaction.id)))).scalar_one()


async def test_a_write_sent_again_under_its_key_is_answered_from_the_first_time(api) -> None:
    _, http = await api.user("operator", login="ivanova")
    client_id = await _client(http)
    url = f"/api/clients/{client_id}/interactions"
    first = await http.post(url, json=MEETING, headers={"Idempotency-Key": "outbox-4f1c2a9b"})
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers
    again = await http.post(url, json=MEETING, headers={"Idempotency-Key": "outbox-4f1c2a9b"})
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    assert await _interactions(api) == 1
    # Without a key (or with another one) a second request is a second meeting.
    assert (await http.post(url, json=MEETING, headers={"Idempotency-Key": "outbox-77aa"})).status == 201
    assert (await http.post(url, json=MEETING)).status == 201
    assert await _interactions(api) == 3


async def test_a_key_is_per_user_and_never_for_another_request(api) -> None:
    _, ivanova = await api.user("operator", login="ivanova", team="Продажи")
    _, petrenko = await api.user("operator", login="petrenko", team="Продажи")
    mine, theirs = await _client(ivanova), await _client(petrenko)
    key = {"Idempotency-Key": "same-key-1"}
    assert (await ivanova.post(f"/api/clients/{mine}/interactions", json=MEETING, headers=key)).status == 201
    assert (await petrenko.post(f"/api/clients/{theirs}/interactions", json=MEETING, headers=key)).status == 201
    other = await ivanova.post(f"/api/clients/{mine}/interactions", json={**MEETING, "subject": "Другая"}, headers=key)
    assert other.status == 422 and (await other.json())["error"]["code"] == "idempotency_key_reused"
    assert await _interactions(api) == 2


async def test_a_refused_write_frees_its_key(api) -> None:
    _, http = await api.user("operator", login="ivanova")
    client_id = await _client(http)
    url, key = f"/api/clients/{client_id}/interactions", {"Idempotency-Key": "outbox-0001"}
    refused = await http.post(url, json={**MEETING, "type": "no-such-type"}, headers=key)
    assert refused.status == 422
    # Corrected and sent again under the same key: handled afresh, not "reused".
    assert (await http.post(url, json=MEETING, headers=key)).status == 201
    async with api.db.reading() as s:
        assert (await s.execute(select(func.count(IdempotentRequest.id)))).scalar_one() == 1


async def test_a_repeat_while_the_first_is_still_handled_is_told_to_wait(api) -> None:
    user, http = await api.user("operator", login="ivanova")
    client_id = await _client(http)
    url = f"/api/clients/{client_id}/interactions"
    digest = idempotency.body_hash(json.dumps(MEETING).encode())
    await idempotency.claim(api.db, user.id, "in-flight", "POST", url, digest, utcnow())
    busy = await http.post(url, data=json.dumps(MEETING), headers={"Idempotency-Key": "in-flight",
                                                                   "Content-Type": "application/json"})
    assert busy.status == 409 and (await busy.json())["error"]["code"] == "request_in_progress"
    # A claim pending for minutes died with its process: the retry takes it over.
    await idempotency.claim(api.db, user.id, "orphan", "POST", url, digest, utcnow() - timedelta(minutes=5))
    taken = await http.post(url, data=json.dumps(MEETING), headers={"Idempotency-Key": "orphan",
                                                                    "Content-Type": "application/json"})
    assert taken.status == 201 and await _interactions(api) == 1


async def test_a_malformed_key_is_refused_with_the_rule(api) -> None:
    _, http = await api.user("operator", login="ivanova")
    client_id = await _client(http)
    for key in ("", "x" * 65, "ключ", "a b", "a\tb"):
        resp = await http.post(f"/api/clients/{client_id}/interactions", json=MEETING, headers={"Idempotency-Key": key})
        assert resp.status == 422 and "Idempotency-Key" in (await resp.json())["error"]["message"], key
    assert await _interactions(api) == 0


async def test_the_api_document_offers_the_key_on_every_authenticated_write(api) -> None:
    _, http = await api.user("operator", login="ivanova")
    spec = await (await http.get("/api/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            headers = [p["name"] for p in op["parameters"] if p["in"] == "header"]
            writes = method in ("post", "put", "patch", "delete") and op["security"]
            assert (headers == ["Idempotency-Key"]) == bool(writes), (method, path)
