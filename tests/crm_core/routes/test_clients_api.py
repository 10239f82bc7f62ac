"""The client routes end to end: create, card, change, list, search, reassign; bad input is 4xx."""

from __future__ import annotations

from urllib.parse import quote


async def _create_romashka(http) -> dict:
    resp = await http.post("/api/clients", json={
        "name": "ООО «Ромашка»", "tax_id": "7701234567", "region": "Москва", "industry": "Торговля", "status": "client",
        "abc_class": "A", "phones": [{"number": "8 (495) 123-45-67"}],
        "contacts": [{"first_name": "Мария", "last_name": "Кузнецова", "middle_name": "Ивановна",
                      "emails": ["m.kuznetsova@romashka.ru"], "phones": [{"number": "+7 916 123-45-67", "kind": "mobile"}]}],
    })
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_create_card_patch_list_and_search(api) -> None:
    user, http = await api.user("operator", login="i.ivanova", full_name="Ирина Иванова", endpoint="101")
    created = await _create_romashka(http)
    assert created["responsible_id"] == user.id and created["status"] == "client"
    assert sorted(p["e164"] for p in created["phones"]) == ["+74951234567", "+79161234567"]

    card = await (await http.get(f"/api/clients/{created['id']}")).json()
    assert card["client"]["name"] == "ООО «Ромашка»" and card["responsible"]["full_name"] == "Ирина Иванова"
    assert card["contacts"][0]["last_name"] == "Кузнецова" and card["history"] == []
    assert card["timezone"] == "Europe/Moscow" and card["local_time"].endswith("+03:00")

    resp = await http.patch(f"/api/clients/{created['id']}", json={"segment": "Опт", "timezone": "UTC+5"})
    assert resp.status == 200 and (await resp.json())["timezone"] == "Etc/GMT-5"
    assert (await resp.json())["industry"] == "Торговля"

    await http.post("/api/clients", json={"name": "ОАО «Минский тракторный завод»", "region": "Минск",
                                          "phones": [{"number": "+375 29 612-34-56"}]})
    page = await (await http.get("/api/clients?sort=-name&limit=1")).json()
    assert page["total"] == 2 and page["limit"] == 1 and [c["name"] for c in page["items"]] == ["ООО «Ромашка»"]
    page = await (await http.get("/api/clients?status=client&abc_class=A&kind=company")).json()
    assert [c["id"] for c in page["items"]] == [created["id"]]
    page = await (await http.get("/api/clients?q=" + quote("минский"))).json()
    assert [c["name"] for c in page["items"]] == ["ОАО «Минский тракторный завод»"]
    for q in ("8 (916) 123-45-67", "+7 916 1234567", "9161234567", "4567", "КУЗНЕЦОВА", "ромашка", "7701234567"):
        found = await (await http.get("/api/clients/search?q=" + quote(q))).json()
        assert [c["id"] for c in found["items"]] == [created["id"]], q


async def test_reassign_routes(api) -> None:
    ivanova, ivanova_http = await api.user("operator", login="i.ivanova")
    petrov, petrov_http = await api.user("operator", login="s.petrov")
    _, sup_http = await api.user("supervisor", login="a.smirnova")
    client = await _create_romashka(ivanova_http)
    resp = await ivanova_http.post(f"/api/clients/{client['id']}/reassign", json={"to_user_id": petrov.id})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    resp = await sup_http.post(f"/api/clients/{client['id']}/reassign", json={"to_user_id": petrov.id, "reason": "Отпуск"})
    assert resp.status == 200 and await resp.json() == {"to_user_id": petrov.id, "reassigned": [client["id"]], "unchanged": []}
    assert (await ivanova_http.get(f"/api/clients/{client['id']}")).status == 404
    card = await (await petrov_http.get(f"/api/clients/{client['id']}")).json()
    [move] = card["history"]
    assert move["kind"] == "reassignment" and move["title"] == "Отпуск" and move["details"]["from_user_id"] == ivanova.id
    resp = await sup_http.post("/api/clients/reassign", json={"client_ids": [client["id"]], "to_user_id": ivanova.id})
    assert resp.status == 200 and (await resp.json())["reassigned"] == [client["id"]]
    resp = await sup_http.post("/api/clients/reassign", json={"client_ids": [client["id"], 999_999], "to_user_id": ivanova.id})
    assert resp.status == 404 and "999999" in (await resp.json())["error"]["message"]


async def test_bad_input_is_a_clear_4xx(api) -> None:
    _, http = await api.user("operator")
    client = await _create_romashka(http)
    cases = [
        ("GET", "/api/clients/999999999999", None, 404, "client_not_found"),
        # Ids are digits in the route itself: anything else is simply no such resource.
        ("GET", "/api/clients/abc", None, 404, "not_found"),
        ("GET", "/api/clients?status=vip", None, 422, "invalid_input"),
        ("GET", "/api/clients?limit=0", None, 422, "invalid_input"),
        ("GET", "/api/clients?sort=responsible", None, 422, "invalid_input"),
        ("GET", "/api/clients?created_from=2026-11-01T00:00:00", None, 422, "invalid_input"),
        ("GET", "/api/clients?created_from=yesterday", None, 422, "invalid_input"),
        ("GET", "/api/clients?responsible_id=99999999999", None, 422, "invalid_input"),
        ("GET", "/api/clients/search?q=%00", None, 422, "invalid_input"),
        ("GET", "/api/clients/search", None, 422, "invalid_input"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "kind": "planet"}, 422, "invalid_input"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "timezone": "Mars/Olympus"}, 422, "invalid_input"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "tax_id": "abc"}, 422, "invalid_input"),
        ("POST", "/api/clients", {"name": "ООО «Ма\u0000рс»"}, 422, "invalid_input"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "phones": [{"number": "12"}]}, 422, "invalid_phone"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "phones": [{"number": "89161234567"}]}, 409, "duplicate_phone"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "responsible_id": 2**40}, 422, "invalid_input"),
        ("POST", "/api/clients", {"name": "ООО «Марс»", "owner": 1}, 422, "invalid_input"),
        ("PATCH", f"/api/clients/{client['id']}", {"name": None}, 422, "invalid_input"),
        ("PATCH", f"/api/clients/{client['id']}", {"responsible_id": 1}, 422, "invalid_input"),
        ("POST", "/api/clients/reassign", {"client_ids": [], "to_user_id": 1}, 422, "invalid_input"),
    ]
    for method, url, body, status, code in cases:
        resp = await http.request(method, url, json=body)
        assert resp.status == status, (method, url, body, resp.status, await resp.text())
        assert (await resp.json())["error"]["code"] == code, (method, url, body)
