"""Call scripts over HTTP: publish, a whole call step by step, refusals, the protocol, results as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from crm_core.rights import Actor
from crm_core.services import clients as clients_service
from crm_core.services.clients import ClientInput, ContactInput, PhoneInput
from tests.scripts_engine.walks import COLD_CALL, NPS

COLD_SOURCE = COLD_CALL.read_text(encoding="utf-8")
IN_TWO_DAYS = (date.today() + timedelta(days=2)).isoformat()
PERIOD = f"from={(date.today() - timedelta(days=1)).isoformat()}&to={(date.today() + timedelta(days=1)).isoformat()}"


async def _vector(api, owner) -> int:  # type: ignore[no-untyped-def]
    client = await clients_service.create_client(
        api.db, Actor.of(owner),
        ClientInput(name="ООО «Вектор-Сибирь»", region="Новосибирская область", industry="Оптовая торговля",
                    phones=[PhoneInput("+7 383 200-11-22")],
                    contacts=[ContactInput(first_name="Ольга", middle_name="Петровна", last_name="Кравцова",
                                           position="коммерческий директор")]),
    )
    return client.id


async def test_publish_needs_a_supervisor_and_a_clean_script(api) -> None:  # type: ignore[no-untyped-def]
    _, operator = await api.user("operator", endpoint="101")
    _, supervisor = await api.user("supervisor")
    refused = await operator.post("/api/scripts", json={"code": "cold_call", "yaml": COLD_SOURCE})
    assert refused.status == 403
    broken = COLD_SOURCE.replace("kind: yes_no", "kind: maybe", 1)
    bad = await supervisor.post("/api/scripts", json={"code": "cold_call", "yaml": broken})
    assert bad.status == 422
    error = (await bad.json())["error"]
    assert error["code"] == "script_invalid" and "greeting" in error["message"] and "kind" in error["message"]
    # Every problem comes back structured, with its step and field, for an editor to point at.
    assert any(p["step"] == "greeting" and "kind" in (p["field"] or "") for p in error["details"]), error
    garbage = await supervisor.post("/api/scripts", json={"code": "cold_call", "yaml": "steps: [unclosed"})
    assert garbage.status == 422 and (await garbage.json())["error"]["code"] == "script_invalid"
    ok = await supervisor.post("/api/scripts", json={"code": "cold_call", "yaml": COLD_SOURCE})
    assert ok.status == 201
    body = await ok.json()
    assert (body["code"], body["version"], body["language"]) == ("cold_call", 1, "ru")
    await supervisor.post("/api/scripts", json={"code": "nps", "yaml": NPS.read_text(encoding="utf-8")})
    listed = await (await operator.get("/api/scripts")).json()
    assert [(s["code"], s["version"]) for s in listed] == [("cold_call", 1), ("nps", 1)]


async def test_a_call_step_by_step_over_http(api) -> None:  # type: ignore[no-untyped-def]
    user, operator = await api.user("operator", endpoint="101", full_name="Смирнов Кирилл Андреевич")
    _, supervisor = await api.user("supervisor")
    _, colleague = await api.user("operator", endpoint="102")
    client_id = await _vector(api, user)
    script = await (await supervisor.post("/api/scripts", json={"code": "cold_call", "yaml": COLD_SOURCE})).json()

    started = await operator.post("/api/script-sessions", json={"code": "cold_call", "client_id": client_id})
    assert started.status == 201, await started.text()
    session = await started.json()
    sid = session["id"]
    assert session["script"]["id"] == script["id"] and session["status"] == "active"
    step = session["current"]
    assert step["step_id"] == "greeting" and step["input"]["kind"] == "yes_no"
    assert step["text"].startswith("Добрый день, Ольга! Меня зовут Кирилл")
    assert {o["id"] for o in step["objections"]} >= {"expensive", "no_time"}

    # A refused answer: 422 naming the step and the field; nothing changes.
    wrong = await operator.post(f"/api/script-sessions/{sid}/answer", json={"step_id": "greeting", "value": "наверное"})
    assert wrong.status == 422
    error = (await wrong.json())["error"]
    assert error["code"] == "answer_refused" and "step 'greeting'" in error["message"] and "field 'answer'" in error["message"]
    assert len((await (await operator.get(f"/api/script-sessions/{sid}/protocol")).json())["entries"]) == 1

    async def post(tail: str, body=None):  # type: ignore[no-untyped-def]
        resp = await operator.post(f"/api/script-sessions/{sid}/{tail}", json=body)
        assert resp.status == 200, (tail, await resp.text())
        return await resp.json()

    await post("answer", {"step_id": "greeting", "value": True})
    after = await post("objection", {"handler_id": "expensive"})
    assert after["current"]["step_id"] == "expensive" and after["current"]["objection"] == "Дорого"
    after = await post("return")
    assert after["current"]["step_id"] == "decision_maker"
    await post("answer", {"step_id": "decision_maker", "value": "other"})
    after = await post("back")
    assert after["current"]["step_id"] == "decision_maker"
    for step_id, value in [("decision_maker", "self"), ("current_solution", "excel"), ("team_size", "15"),
                           ("pain_points", ["lost_calls"]), ("budget", "10k_30k"), ("interest", 9),
                           ("offer_meeting", True)]:
        after = await post("answer", {"step_id": step_id, "value": value})
    assert after["current"]["input"]["with_time"] is True
    # The call drops here; the screen reloads the session by id.
    reloaded = await (await operator.get(f"/api/script-sessions/{sid}")).json()
    assert reloaded["current"]["step_id"] == "meeting_time" and reloaded["answers"]["team_size"] == 15
    done = await post("answer", {"step_id": "meeting_time", "value": f"{IN_TWO_DAYS} 11:30"})
    assert done["status"] == "finished" and done["current"]["finished"]
    kinds = {o["kind"]: o for o in done["outcomes"]}
    assert kinds["meeting"]["applied"] and kinds["meeting"]["timezone"] == "Asia/Novosibirsk"
    assert kinds["lead_done"]["applied"] is False and "not a campaign call" in kinds["lead_done"]["note"]
    card = await (await operator.get(f"/api/clients/{client_id}")).json()
    assert card["client"]["status"] == "prospect"
    assert any(h["kind"] == "interaction" and h["id"] == kinds["meeting"]["interaction_id"] for h in card["history"])
    events = await (await operator.get(f"/api/clients/{client_id}/interactions")).json()
    assert [e["type"] for e in events["items"]] == ["meeting"]

    protocol = await (await supervisor.get(f"/api/script-sessions/{sid}/protocol")).json()
    entries = protocol["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert any(e["kind"] == "answer" and e["value"] == "other" and e["superseded"] for e in entries)
    assert [e["kind"] for e in entries if e["kind"] == "outcome"] == ["outcome"] * 3
    assert (await colleague.get(f"/api/script-sessions/{sid}/protocol")).status == 404
    late = await operator.post(f"/api/script-sessions/{sid}/back")
    assert late.status == 409


async def test_results_as_json_and_csv(api) -> None:  # type: ignore[no-untyped-def]
    user, operator = await api.user("operator", endpoint="101")
    _, supervisor = await api.user("supervisor")
    client_id = await _vector(api, user)
    script = await (await supervisor.post("/api/scripts", json={"code": "cold_call", "yaml": COLD_SOURCE})).json()
    walks = [[("greeting", False), ("callback_time", f"{IN_TWO_DAYS} 10:00")],
             [("greeting", False), ("callback_time", f"{IN_TWO_DAYS} 12:00")],
             [("greeting", True), ("decision_maker", "shared"), ("current_solution", "bitrix24"), ("team_size", 300),
              ("enterprise_handoff", None)]]
    for walk in walks:
        sid = (await (await operator.post("/api/script-sessions", json={"script_id": script["id"], "client_id": client_id})
                      ).json())["id"]
        for step_id, value in walk:
            resp = await operator.post(f"/api/script-sessions/{sid}/answer", json={"step_id": step_id, "value": value})
            assert resp.status == 200, await resp.text()

    resp = await supervisor.get(f"/api/scripts/{script['id']}/results?{PERIOD}")
    assert resp.status == 200, await resp.text()
    results = await resp.json()
    assert results["protocols"] == 3
    greeting = next(q for q in results["questions"] if q["step_id"] == "greeting")
    assert [(a["value"], a["count"]) for a in greeting["answers"]] == [(True, 1), (False, 2)]

    as_csv = await supervisor.get(f"/api/scripts/{script['id']}/results?{PERIOD}&format=csv")
    assert as_csv.status == 200 and as_csv.content_type == "text/csv"
    assert "cold_call-v1-results.csv" in as_csv.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await as_csv.text())))
    solution = {r["value"]: r["count"] for r in rows if r["step_id"] == "current_solution"}
    assert solution["bitrix24"] == "1" and solution["excel"] == "0"
    callbacks = [r for r in rows if r["step_id"] == "callback_time"]
    assert sorted(r["value"] for r in callbacks) == [f"{IN_TWO_DAYS}T10:00", f"{IN_TWO_DAYS}T12:00"]

    assert (await supervisor.get(f"/api/scripts/{script['id']}/results?{PERIOD}&format=xml")).status == 422
    assert (await supervisor.get(f"/api/scripts/999999/results?{PERIOD}")).status == 404
    anon = await api.client()
    assert (await anon.get(f"/api/scripts/{script['id']}/results?{PERIOD}")).status == 401
