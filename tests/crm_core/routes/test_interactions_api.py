"""Events and the calendar over HTTP."""

from __future__ import annotations

from urllib.parse import quote

from tests.crm_core.crm_world import reference_data_restored


async def test_types_events_and_calendar(api) -> None:
    async with reference_data_restored(api.db):
        await _types_events_and_calendar(api)


async def _types_events_and_calendar(api) -> None:
    _, admin = await api.user("admin", team=None)
    user, http = await api.user("operator", login="i.ivanova")
    types = await (await http.get("/api/interaction-types")).json()
    meeting = next(t for t in types if t["code"] == "meeting")
    assert meeting["name"] == "Встреча" and [s["code"] for s in meeting["statuses"]] == ["planned", "done", "cancelled"]
    new_type = {"code": "demo", "name": "Демонстрация", "color": "#00897b",
                "statuses": [{"code": "planned", "name": "Запланирована"}, {"code": "done", "name": "Проведена", "is_final": True}]}
    assert (await http.post("/api/interaction-types", json=new_type)).status == 403
    resp = await admin.post("/api/interaction-types", json=new_type)
    assert resp.status == 201
    demo = await resp.json()
    resp = await admin.post(f"/api/interaction-types/{demo['id']}/statuses", json={"code": "moved", "name": "Перенесена"})
    assert resp.status == 201 and [s["code"] for s in (await resp.json())["statuses"]] == ["planned", "done", "moved"]
    assert (await admin.post("/api/interaction-types/999999/statuses", json={"code": "x", "name": "x"})).status == 404

    # Names and colours are the administrator's to change; codes and finality stay.
    assert (await http.patch(f"/api/interaction-types/{meeting['id']}", json={"color": "#3949ab"})).status == 403
    resp = await admin.patch(f"/api/interaction-types/{meeting['id']}", json={"name": "Встреча с клиентом", "color": "#3949ab"})
    assert resp.status == 200, await resp.text()
    renamed = await resp.json()
    assert (renamed["code"], renamed["name"], renamed["color"]) == ("meeting", "Встреча с клиентом", "#3949ab")
    done = next(s for s in meeting["statuses"] if s["code"] == "done")
    resp = await admin.patch(f"/api/interaction-types/{meeting['id']}/statuses/{done['id']}", json={"name": "Состоялась"})
    assert resp.status == 200, await resp.text()
    assert [(s["code"], s["name"], s["is_final"]) for s in (await resp.json())["statuses"] if s["id"] == done["id"]] == [
        ("done", "Состоялась", True)]
    assert (await admin.patch(f"/api/interaction-types/{demo['id']}/statuses/{done['id']}", json={"name": "x"})).status == 404
    assert (await admin.patch(f"/api/interaction-types/{meeting['id']}", json={"color": "blue"})).status == 422
    assert (await admin.patch(f"/api/interaction-types/{meeting['id']}", json={})).status == 422
    assert (await admin.patch(f"/api/interaction-types/{meeting['id']}/statuses/{done['id']}", json={"is_final": False})).status == 422

    client = await (await http.post("/api/clients", json={"name": "ООО «Ромашка»"})).json()
    resp = await http.post(f"/api/clients/{client['id']}/interactions", json={
        "type": "demo", "subject": "Показ CRM", "planned_at": "2026-12-01T11:00:00+03:00"})
    assert resp.status == 201, await resp.text()
    event = await resp.json()
    assert (event["type"], event["status"], event["color"], event["user_id"]) == ("demo", "planned", "#00897b", user.id)
    assert event["planned_at"] == "2026-12-01T08:00:00Z"

    calendar = await (await http.get("/api/calendar?from=2026-12-01&to=2026-12-01")).json()
    assert [e["id"] for e in calendar] == [event["id"]]
    # A "+" typed into the URL arrives as a space; the offset is still understood.
    calendar = await (await http.get("/api/calendar?from=2026-12-01T12:00:00+03:00&to=2026-12-02")).json()
    assert calendar == []
    calendar = await (await http.get("/api/calendar?from=" + quote("2026-12-01T10:00:00+03:00") + "&to=2026-12-02")).json()
    assert [e["id"] for e in calendar] == [event["id"]]

    resp = await http.patch(f"/api/interactions/{event['id']}", json={"status": "done", "body": "Клиент в восторге"})
    assert resp.status == 200 and (await resp.json())["is_final"] is True
    page = await (await http.get(f"/api/clients/{client['id']}/interactions")).json()
    assert page["total"] == 1 and page["items"][0]["body"] == "Клиент в восторге"

    for url in ("/api/calendar?from=2026-12-02&to=2026-12-01", "/api/calendar?from=2026-12-01", "/api/calendar?from=x&to=y",
                "/api/calendar?from=2026-12-01T00:00:00&to=2026-12-02", "/api/calendar?from=0001-01-01&to=2026-12-02",
                "/api/calendar?from=2026-01-01&to=2028-01-01", f"/api/calendar?from=2026-12-01&to=2026-12-02&user_id={10**13}"):
        resp = await http.get(url)
        assert resp.status == 422, (url, resp.status, await resp.text())
    resp = await http.post(f"/api/clients/{client['id']}/interactions", json={"type": "meeting", "status": "sent", "subject": "x"})
    assert resp.status == 422 and "does not belong" in (await resp.json())["error"]["message"]
