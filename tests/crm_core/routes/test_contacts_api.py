"""Contact persons over HTTP."""

from __future__ import annotations


async def test_contact_lifecycle(api) -> None:
    _, http = await api.user("manager", login="o.bondarenko", team="Киевский филиал")
    client = await (await http.post("/api/clients", json={"name": "ТОВ «Дніпро-Агро»", "region": "Дніпро"})).json()
    resp = await http.post(f"/api/clients/{client['id']}/contacts", json={
        "first_name": "Олег", "last_name": "Коваленко", "middle_name": "Петрович", "position": "Директор",
        "emails": ["O.Kovalenko@Dnipro-Agro.UA"], "phones": [{"number": "+380 67 123 45 67"}, {"number": "+380 56 789 01 23"}],
    })
    assert resp.status == 201, await resp.text()
    contact = await resp.json()
    assert contact["emails"] == ["O.Kovalenko@dnipro-agro.ua"]
    assert [(p["e164"], p["kind"]) for p in contact["phones"]] == [("+380671234567", "mobile"), ("+380567890123", "work")]
    listed = await (await http.get(f"/api/clients/{client['id']}/contacts")).json()
    assert [c["id"] for c in listed] == [contact["id"]]
    resp = await http.patch(f"/api/contacts/{contact['id']}", json={"phones": [{"number": "+380671234567", "kind": "work"}]})
    assert resp.status == 200 and [(p["e164"], p["kind"]) for p in (await resp.json())["phones"]] == [("+380671234567", "work")]
    resp = await http.patch(f"/api/contacts/{contact['id']}", json={"emails": ["not-an-address"]})
    assert resp.status == 422 and "e-mail" in (await resp.json())["error"]["message"]
    assert (await http.delete(f"/api/contacts/{contact['id']}")).status == 204
    resp = await http.get(f"/api/contacts/{contact['id']}")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "contact_not_found"
