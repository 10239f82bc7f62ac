"""Appeals, marketing channels and the channel report over HTTP."""

from __future__ import annotations

from datetime import date, timedelta


async def test_appeal_from_a_new_caller_and_the_channel_report(api) -> None:
    user, http = await api.user("manager", login="g.bondarenko")
    channels = await (await http.get("/api/marketing-channels")).json()
    assert {"website", "phone", "social", "referral"} <= {c["code"] for c in channels}
    resp = await http.post("/api/appeals", json={
        "new_client": {"name": "Ганна Бондаренко", "phone": "+380 67 765 43 21"}, "purpose": "Підключення телефонії",
        "channel": "social", "products": ["Облачная АТС"], "callback_requested": True})
    assert resp.status == 201, await resp.text()
    appeal = await resp.json()
    assert appeal["channel"] == "social" and appeal["callback_due_at"] is not None and appeal["created_by_id"] == user.id
    card = await (await http.get(f"/api/clients/{appeal['client_id']}")).json()
    assert card["client"]["status"] == "primary" and card["client"]["phones"][0]["e164"] == "+380677654321"
    assert [h["kind"] for h in card["history"]] == ["appeal"]

    second = await (await http.post("/api/appeals", json={"client_id": appeal["client_id"], "purpose": "Повторный запрос",
                                                          "channel": "social"})).json()
    resp = await http.patch(f"/api/appeals/{second['id']}", json={"status": "done"})
    assert resp.status == 200 and (await resp.json())["status"] == "done"
    page = await (await http.get("/api/appeals?channel=social")).json()
    assert page["total"] == 2 and [a["id"] for a in page["items"]] == [second["id"], appeal["id"]]
    assert (await (await http.get("/api/appeals?status=done")).json())["total"] == 1

    today = date.today()
    period = f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    report = await (await http.get(f"/api/reports/channels?{period}")).json()
    social = next(c for c in report["channels"] if c["code"] == "social")
    assert (social["total"], social["done"], social["conversion"]) == (2, 1, 0.5)
    assert (report["total"], report["done"]) == (2, 1)

    bad = [
        {"purpose": "Нет клиента"},
        {"client_id": appeal["client_id"], "new_client": {"name": "x", "phone": "+79031234567"}, "purpose": "оба"},
        {"client_id": appeal["client_id"], "purpose": "x", "channel": "tv"},
        {"client_id": appeal["client_id"], "purpose": "x", "products": ["x" * 121]},
        {"new_client": {"name": "Ганна", "phone": "+380677654321"}, "purpose": "дубль"},
    ]
    for body in bad:
        resp = await http.post("/api/appeals", json=body)
        assert resp.status in (409, 422), (body, resp.status, await resp.text())
    assert (await http.patch(f"/api/appeals/{second['id']}", json={"status": "won"})).status == 422
    assert (await http.get("/api/appeals/999999")).status == 404
