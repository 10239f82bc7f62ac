"""Campaigns and DNC over HTTP, through the real app: a supervisor builds and runs a campaign."""

from __future__ import annotations

import csv
import io

from crm_core.rights import Actor
from crm_core.services.clients import ClientInput, PhoneInput, create_client

CSV = {"Content-Type": "text/csv"}
ALWAYS = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}
LIST_CSV = "Наименование;Телефон;Регион\nООО «Балтика-Сервис»;+7 812 315-22-11;Санкт-Петербург\nИП Петренко;8 (916) 12;Москва\n"


async def test_a_supervisor_builds_loads_and_runs_a_campaign(api) -> None:
    ivanova, operator_http = await api.user("operator", login="i.ivanova", endpoint="101")
    sup, http = await api.user("supervisor", login="a.smirnova")
    await create_client(api.db, Actor.of(ivanova), ClientInput(name="ООО «Ромашка»", region="Москва",
                                                              phones=[PhoneInput("+7 916 123-45-67")]))
    events = await api.bus.subscribe(["campaign.*"])

    created = await http.post("/api/campaigns", json={"name": "Осенняя акция", "mode": "predictive", "hours": ALWAYS,
                                                      "pacing": {"abandon_cap": 0.025}})
    assert created.status == 201, await created.text()
    campaign = await created.json()
    cid = campaign["id"]
    assert campaign["state"] == "draft" and campaign["pacing"]["abandon_cap"] == 0.025
    assert [d["name"] for d in campaign["dispositions"]][:3] == ["Согласие", "Интересно", "Перезвонить"]

    not_ready = await http.post(f"/api/campaigns/{cid}/launch")
    assert not_ready.status == 409
    assert (await not_ready.json())["error"]["code"] == "campaign_not_ready"

    agents = await http.put(f"/api/campaigns/{cid}/agents", json={"user_ids": [ivanova.id]})
    assert (await agents.json())["agents"] == [ivanova.id]
    from_filter = await http.post(f"/api/campaigns/{cid}/lists", json={"name": "Москва", "filter": {"region": "Москва"}})
    assert from_filter.status == 201 and (await from_filter.json())["leads_added"] == 1
    imported = await http.post(f"/api/campaigns/{cid}/lists/import?name=Питер&filename=piter.csv",
                               data=LIST_CSV.encode(), headers=CSV)
    assert imported.status == 201, await imported.text()
    report = await imported.json()
    assert (report["leads_added"], report["clients_inserted"], [r["line"] for r in report["rejected"]]) == (1, 1, [3])

    launched = await http.post(f"/api/campaigns/{cid}/launch")
    assert launched.status == 200 and (await launched.json())["state"] == "running"
    event = await events.get(timeout=5)
    assert (event.topic, event.payload["campaign_id"], event.payload["state"], event.payload["previous_state"]) == (
        "campaign.state", cid, "running", "draft")

    mine = await (await operator_http.get("/api/campaigns")).json()
    assert [c["id"] for c in mine] == [cid]
    assert (await operator_http.get(f"/api/campaigns/{cid}/leads")).status == 403

    leads = await (await http.get(f"/api/campaigns/{cid}/leads?state=ready&limit=1")).json()
    assert leads["total"] == 2 and len(leads["items"]) == 1
    assert leads["items"][0]["state"] == "ready"

    for action, state in (("pause", "paused"), ("resume", "running"), ("stop", "stopped")):
        resp = await http.post(f"/api/campaigns/{cid}/{action}")
        assert (resp.status, (await resp.json())["state"]) == (200, state)
    again = await http.post(f"/api/campaigns/{cid}/pause")
    assert again.status == 409 and (await again.json())["error"]["code"] == "campaign_state_conflict"

    export = await http.get(f"/api/campaigns/{cid}/attempts.csv")
    assert export.status == 200 and export.content_type == "text/csv"
    body = await export.read()
    assert next(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))[:3] == [
        "attempt_id", "started_at", "ended_at"]
    assert export.headers.get("Transfer-Encoding") == "chunked", "streamed, not built whole in memory"
    await events.close()


async def test_bad_settings_are_422_naming_the_field(api) -> None:
    _, http = await api.user("supervisor")
    for body, field in (
        ({"name": "А", "pacing": {"abandon_cap": 0.05}}, "abandon_cap"),
        ({"name": "А", "pacing": {"lines_per_agent": 4}}, "lines_per_agent"),
        ({"name": "А", "pacing": {"amd": "yes"}}, "pacing.amd"),
        ({"name": "А", "pacing": {"amd_misread_share": 0.75}}, "amd_misread_share"),
        ({"name": "А", "pacing": {"amd_misread_share": True}}, "amd_misread_share"),
        ({"name": "А", "queue": "sales\r\nAction: Originate"}, "queue"),
        ({"name": "А", "caller_id": "Отдел продаж\n<+74951234567>"}, "caller_id"),
        ({"name": "А", "caller_id": "Отдел продаж\r<+74951234567>"}, "caller_id"),
        ({"name": "А", "abandon_message": "zvonar/romashka\nAction: Hangup"}, "abandon_message"),
        ({"name": "А", "abandon_message": "/var/lib/asterisk/sounds/zvonar/romashka"}, "abandon_message"),
        ({"name": "А", "hours": {"start": "21:00", "end": "09:00"}}, "hours.end"),
        ({"name": "А", "hours": {"holiday_country": "XX"}}, "holiday_country"),
        ({"name": "А", "hours": {"holiday_country": "RU", "public_holidays": False}}, "holiday_country"),
    ):
        resp = await http.post("/api/campaigns", json=body)
        assert resp.status == 422, (body, await resp.text())
        assert field in await resp.text()
    russian = await (await http.post("/api/campaigns", json={"name": "Весна", "hours": {"holiday_country": "ru"}})).json()
    assert (russian["hours"]["holiday_country"], russian["hours"]["public_holidays"]) == ("RU", True)
    created = await (await http.post("/api/campaigns", json={"name": "Зима"})).json()
    assert created["abandon_message"] is None
    patched = await http.patch(f"/api/campaigns/{created['id']}", json={"pacing": {"lines_per_agent": 2}, "hot_appeals": True,
                                                                          "abandon_message": "zvonar/zima-abandon"})
    assert patched.status == 200
    assert (await patched.json())["abandon_message"] == "zvonar/zima-abandon"
    assert (await patched.json())["pacing"]["lines_per_agent"] == 2 and (await patched.json())["hot_appeals"]
    assert (await http.get("/api/campaigns/999999")).status == 404


async def test_a_list_filter_with_its_dates_the_wrong_way_round_is_refused(api) -> None:
    """«С 01.12 по 01.11» is a typo: a 422 naming the field, not a list of nobody."""
    _, http = await api.user("supervisor")
    campaign = await (await http.post("/api/campaigns", json={"name": "Декабрь"})).json()
    resp = await http.post(f"/api/campaigns/{campaign['id']}/lists", json={"name": "Новые за ноябрь", "filter": {
        "created_from": "2026-12-01T00:00:00+03:00", "created_to": "2026-11-01T00:00:00+03:00"}})
    assert resp.status == 422 and "created_to" in (await resp.json())["error"]["message"], await resp.text()
    assert (await (await http.get("/api/clients?created_from=2026-12-01T00:00:00%2B03:00"
                                  "&created_to=2026-11-01T00:00:00%2B03:00")).json())["error"]["code"] == "invalid_input"


async def test_a_patch_changes_only_the_settings_it_sends(api) -> None:
    """Shortening the day must not lift the abandon cap, drop the holidays or forget the retry rules."""
    _, http = await api.user("supervisor")
    created = await (await http.post("/api/campaigns", json={
        "name": "Осень", "mode": "predictive",
        "hours": {"start": "10:00", "end": "19:00", "holidays": ["2027-03-09"], "public_holidays": True,
                  "fallback_zone": "Asia/Yekaterinburg"},
        "retry_rules": {"max_attempts": 3, "abandon_hold_hours": 120, "recycles": 2},
        "pacing": {"abandon_cap": 0.01, "lines_per_agent": 2, "max_lines": 20}})).json()
    resp = await http.patch(f"/api/campaigns/{created['id']}", json={
        "pacing": {"lines_per_agent": 1}, "hours": {"end": "20:00"}, "retry_rules": {"max_attempts": 4}})
    assert resp.status == 200, await resp.text()
    after = await resp.json()
    assert after["pacing"] == {**created["pacing"], "lines_per_agent": 1}
    assert after["hours"] == {**created["hours"], "end": "20:00"}
    assert after["retry_rules"] == {**created["retry_rules"], "max_attempts": 4}
    # A field sent as null goes back to its default: here, no trunk limit.
    cleared = await (await http.patch(f"/api/campaigns/{created['id']}", json={"pacing": {"max_lines": None}})).json()
    assert (cleared["pacing"]["max_lines"], cleared["pacing"]["abandon_cap"]) == (None, 0.01)
    assert cleared["pacing"]["amd"] is False, "answering-machine detection is off unless asked for"
    amd = await (await http.patch(f"/api/campaigns/{created['id']}", json={"pacing": {"amd": True}})).json()
    assert amd["pacing"] == {**cleared["pacing"], "amd": True}


async def test_dnc_over_http(api) -> None:
    _, http = await api.user("supervisor")
    _, operator = await api.user("operator")
    bad = await http.post("/api/dnc", json={"phone": "8 (916) 12"})
    assert bad.status == 422
    error = (await bad.json())["error"]
    assert error["code"] == "invalid_phone" and "too short" in error["message"]
    added = await operator.post("/api/dnc", json={"phone": "8 (916) 123-45-67", "reason": "Просил не звонить"})
    assert added.status == 201 and (await added.json())["phone_e164"] == "+79161234567"
    listed = await (await http.get("/api/dnc?phone=8%20916%20123%2045%2067")).json()
    assert listed["total"] == 1 and listed["items"][0]["reason"] == "Просил не звонить"
    assert (await operator.get("/api/dnc")).status == 403
    imported = await http.post("/api/dnc/import?reason=Реестр", data="Телефон\n+380 67 123 45 67\n123\n".encode(), headers=CSV)
    assert imported.status == 200, await imported.text()
    assert await imported.json() == {"added": 1, "already": 0, "rejected": [{"line": 3, "reason": "phone '123': too short"}]}
    assert (await http.delete("/api/dnc?phone=%2B79161234567")).status == 403  # the global list: admins only
    _, admin = await api.user("admin", team=None)
    assert (await admin.delete("/api/dnc?phone=%2B79161234567")).status == 204
    gone = await admin.delete("/api/dnc?phone=%2B79161234567")
    assert gone.status == 404 and (await gone.json())["error"]["code"] == "dnc_not_found"
