"""Commercial proposals over HTTP: a draft with items, the approval round trip, the workflow's
configuration, and clear errors for bad input."""

from __future__ import annotations

from tests.crm_core.test_proposals_service import workflow_restored


async def test_draft_approve_send_accept_over_http(api) -> None:
    me, http = await api.user("operator", login="i.ivanova", full_name="Ирина Иванова")
    boss, sup = await api.user("supervisor", login="a.smirnova", full_name="Анна Смирнова")
    client = await (await http.post("/api/clients", json={
        "name": "ООО «Ромашка»", "phones": [{"number": "+7 916 123-45-67"}],
        "contacts": [{"first_name": "Мария", "last_name": "Кузнецова"}]})).json()
    contact = (await (await http.get(f"/api/clients/{client['id']}/contacts")).json())[0]
    resp = await http.post(f"/api/clients/{client['id']}/proposals", json={
        "subject": "КП: Звонарь CRM на 10 рабочих мест", "contact_id": contact["id"], "valid_until": "2026-12-31",
        "items": [{"product": "Звонарь CRM, тариф «Бизнес»", "unit": "мес.", "quantity": 12, "price": "14900"},
                  {"product": "Обучение операторов", "quantity": 0.5, "price": 0.1}]})
    assert resp.status == 201, await resp.text()
    draft = await resp.json()
    assert (draft["status"], draft["status_name"], draft["author_id"], draft["total"]) == (
        "draft", "Черновик", me.id, "178800.05")
    assert [(i["quantity"], i["price"], i["amount"]) for i in draft["items"]] == [
        ("12.000", "14900.00", "178800.00"), ("0.500", "0.10", "0.05")]
    assert draft["actions"] == [{"id": draft["actions"][0]["id"], "from_status": "draft", "to_status": "on_approval",
                                 "name": "Отправить на согласование", "approval": False, "comment_required": False}]
    url = f"/api/proposals/{draft['id']}"

    patched = await (await http.patch(url, json={"comment": "Скидка 10% до конца года", "items": [
        {"product": "Звонарь CRM, тариф «Бизнес»", "quantity": 12, "price": "13410.00"}]})).json()
    assert patched["total"] == "160920.00" and patched["comment"] == "Скидка 10% до конца года"
    assert patched["valid_until"] == "2026-12-31" and patched["contact_id"] == contact["id"]

    assert (await http.post(f"{url}/move", json={"to": "on_approval"})).status == 200
    assert (await http.patch(url, json={"subject": "Другое"})).status == 409
    refused = await http.post(f"{url}/move", json={"to": "approved"})
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "forbidden"
    waiting = await (await sup.get("/api/proposals?status=on_approval")).json()
    assert [p["id"] for p in waiting["items"]] == [draft["id"]] and waiting["items"][0]["total"] == "160920.00"
    no_comment = await sup.post(f"{url}/move", json={"to": "draft"})
    assert no_comment.status == 422 and "comment" in (await no_comment.json())["error"]["message"]
    approved = await (await sup.post(f"{url}/move", json={"to": "approved", "comment": "Согласовано"})).json()
    assert approved["approver_id"] == boss.id and approved["approver_name"] == "Анна Смирнова"
    wrong = await http.post(f"{url}/move", json={"to": "accepted"})
    assert wrong.status == 409 and (await wrong.json())["error"]["code"] == "proposal_transition_refused"
    await http.post(f"{url}/move", json={"to": "sent"})
    accepted = await (await http.post(f"{url}/move", json={"to": "accepted"})).json()
    assert accepted["is_final"] and [h["to_status"] for h in accepted["history"]] == [
        "draft", "on_approval", "approved", "sent", "accepted"]

    mine = await (await http.get(f"/api/clients/{client['id']}/proposals")).json()
    assert mine["total"] == 1 and mine["items"][0]["status"] == "accepted"
    card = await (await http.get(f"/api/clients/{client['id']}")).json()
    assert any(h["kind"] == "proposal" and h["id"] == draft["id"] for h in card["history"])


async def test_bad_input_names_the_field(api) -> None:
    _, http = await api.user("operator")
    client = await (await http.post("/api/clients", json={"name": "ОАО «Минский тракторный завод»"})).json()
    url = f"/api/clients/{client['id']}/proposals"
    for body, field in [
        ({"subject": "КП", "items": [{"product": "Трактор", "quantity": 0, "price": 1}]}, "items.0.quantity"),
        ({"subject": "КП", "items": [{"product": "Трактор", "quantity": 1, "price": "1.001"}]}, "items.0.price"),
        ({"subject": "КП", "items": [{"product": "Трактор", "price": "Infinity"}]}, "items.0.price"),
        ({"subject": "КП", "items": [{"product": "Трактор", "price": -1}]}, "items.0.price"),
        ({"subject": "КП", "currency": "XYZ"}, "currency"),
        ({"subject": "КП", "valid_until": "31.12.2026"}, "valid_until"),
        ({"subject": ""}, "subject"),
        ({"subject": "КП", "status": "accepted"}, "status"),
    ]:
        resp = await http.post(url, json=body)
        assert resp.status == 422, (body, resp.status, await resp.text())
        details = (await resp.json())["error"]["details"]
        assert any(d["field"] == field for d in details), (body, details)
    assert (await http.get("/api/proposals/99999")).status == 404
    assert (await http.get("/api/proposals/99999999999")).status == 404
    assert (await (await http.get("/api/proposals/99999")).json())["error"]["code"] == "proposal_not_found"
    draft = await (await http.post(url, json={"subject": "КП"})).json()
    empty = await http.post(f"/api/proposals/{draft['id']}/move", json={"to": "on_approval"})
    assert empty.status == 422 and "items" in (await empty.json())["error"]["message"]
    unknown = await http.post(f"/api/proposals/{draft['id']}/move", json={"to": "signed"})
    assert unknown.status == 422 and "unknown proposal status" in (await unknown.json())["error"]["message"]


async def test_an_administrator_edits_the_workflow(api) -> None:
    async with workflow_restored(api.db):
        _, admin = await api.user("admin", team=None)
        _, sup = await api.user("supervisor")
        flow = await (await sup.get("/api/proposal-workflow")).json()
        assert [s["code"] for s in flow["statuses"]] == ["draft", "on_approval", "approved", "sent", "accepted", "rejected"]
        assert [s["name"] for s in flow["statuses"]][:3] == ["Черновик", "На согласовании", "Согласовано"]
        back = next(t for t in flow["transitions"] if (t["from_status"], t["to_status"]) == ("on_approval", "draft"))
        assert back["approval"] and back["comment_required"] and back["name"] == "Вернуть на доработку"
        status = {"code": "paid", "name": "Оплачено", "position": 55, "is_final": True}
        assert (await sup.post("/api/proposal-workflow/statuses", json=status)).status == 403
        resp = await admin.post("/api/proposal-workflow/statuses", json=status)
        assert resp.status == 201 and "paid" in [s["code"] for s in (await resp.json())["statuses"]]
        resp = await admin.post("/api/proposal-workflow/transitions",
                                json={"from": "accepted", "to": "paid", "name": "Оплата получена"})
        assert resp.status == 201, await resp.text()
        move = next(t for t in (await resp.json())["transitions"] if t["to_status"] == "paid")
        assert (await admin.post("/api/proposal-workflow/transitions",
                                 json={"from": "accepted", "to": "paid", "name": "Дубль"})).status == 409
        assert (await sup.delete(f"/api/proposal-workflow/transitions/{move['id']}")).status == 403
        resp = await admin.delete(f"/api/proposal-workflow/transitions/{move['id']}")
        assert resp.status == 200 and all(t["to_status"] != "paid" for t in (await resp.json())["transitions"])
        assert (await admin.delete(f"/api/proposal-workflow/transitions/{move['id']}")).status == 404
