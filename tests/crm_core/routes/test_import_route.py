"""POST /api/import/clients: the file as the request body, the summary as JSON, over the real app."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_core.routes import imports
from tests.workbooks import workbook_after_a_cover

ONE_C = Path(__file__).resolve().parents[1] / "data" / "1c_kontragenty_cp1251.csv"
CSV = {"Content-Type": "text/csv"}


async def test_a_supervisor_imports_a_1c_export(api) -> None:
    petrova, _ = await api.user("manager", login="petrova", full_name="Петрова Анна Сергеевна")
    _, http = await api.user("supervisor", login="orlov", full_name="Орлов Евгений Максимович")
    resp = await http.post("/api/import/clients?filename=kontragenty.csv", data=ONE_C.read_bytes(), headers=CSV)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["inserted"], body["updated"], body["duplicates"]) == (5, 0, 0)
    assert [r["line"] for r in body["rejected"]] == [5, 6, 7, 8, 12]
    assert body["rejected"][0] == {"line": 5, "reason": "phone '8 (916) 12' is not a valid number: too short"}
    # «Смирнов Д.В.» is no user here: his rows are the importing supervisor's, and the answer says so.
    assert body["reassigned"] == [{"responsible": "Смирнов Д.В.", "rows": 2, "first_line": 4, "given_to": "orlov"}]
    assert body["sheet"] is None  # a CSV has no sheets

    # The rows naming «Петрова А.С.» are hers, the rest the importing supervisor's, and he sees them all.
    listed = await (await http.get("/api/clients?limit=50")).json()
    owners = {c["name"]: c["responsible_id"] for c in listed["items"]}
    assert owners['ООО "Ромашка"'] == petrova.id and len(owners) == 5

    again = await http.post("/api/import/clients?on_duplicate=merge", data=ONE_C.read_bytes(), headers=CSV)
    assert (await again.json())["updated"] == 5


async def test_a_workbook_answer_names_the_sheet_its_clients_came_from(api) -> None:
    data = workbook_after_a_cover("Титул", "Выгрузка для обзвона, ноябрь 2026", "База", [
        ["Наименование", "Телефон"], ["ИП Коваленко Олег Петрович", "+375 29 123-45-67"]])
    _, http = await api.user("supervisor", login="orlov", full_name="Орлов Евгений Максимович")
    resp = await http.post("/api/import/clients?filename=baza.xlsx", data=data,
                           headers={"Content-Type": imports.XLSX_TYPE})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"inserted": 1, "updated": 0, "duplicates": 0, "rejected": [], "reassigned": [],
                                 "sheet": "База"}


async def test_operators_and_managers_may_not_import(api) -> None:
    for role in ("operator", "manager"):
        _, http = await api.user(role)
        resp = await http.post("/api/import/clients", data=ONE_C.read_bytes(), headers=CSV)
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "forbidden"
    anon = await api.client()
    assert (await anon.post("/api/import/clients", data=b"x", headers=CSV)).status == 401


async def test_what_is_not_a_client_file_is_a_clear_422(api) -> None:
    _, http = await api.user("admin", team=None)
    empty = await http.post("/api/import/clients", data=b"", headers=CSV)
    assert empty.status == 422
    assert (await empty.json())["error"] == {"code": "import_file_invalid", "message": "the file is empty"}

    form = await http.post("/api/import/clients", data={"file": ONE_C.read_bytes().decode("cp1251")})
    assert form.status == 422
    assert "send the file itself as the request body" in (await form.json())["error"]["message"]

    bad = await http.post("/api/import/clients?on_duplicate=replace", data=ONE_C.read_bytes(), headers=CSV)
    assert bad.status == 422
    unknown = await http.post("/api/import/clients?responsible=nobody", data=ONE_C.read_bytes(), headers=CSV)
    assert unknown.status == 404 and "nobody" in (await unknown.json())["error"]["message"]


async def test_a_file_over_the_limit_is_413(api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", 1000)
    _, http = await api.user("admin", team=None)
    resp = await http.post("/api/import/clients", data=ONE_C.read_bytes(), headers=CSV)
    assert resp.status == 413
    error = (await resp.json())["error"]
    assert error["code"] == "too_large" and "zvonar import clients" in error["message"]

    async def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(3):
            yield b"x" * 600

    resp = await http.post("/api/import/clients", data=chunks(), headers=CSV)
    assert resp.status == 413


async def test_openapi_documents_the_upload(api) -> None:
    anon = await api.client()
    spec = await (await anon.get("/api/openapi.json")).json()
    op = spec["paths"]["/api/import/clients"]["post"]
    assert set(op["requestBody"]["content"]) == {
        "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert op["requestBody"]["content"]["text/csv"]["schema"] == {"type": "string", "format": "binary"}
    assert {p["name"] for p in op["parameters"] if p["in"] == "query"} == {"filename", "on_duplicate", "responsible"}
    # An import sent again after its answer was lost is not imported twice.
    assert [p["name"] for p in op["parameters"] if p["in"] == "header"] == ["Idempotency-Key"]
    result = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(result["properties"]) == {"inserted", "updated", "duplicates", "rejected", "reassigned", "sheet"}
