"""A client's calls over HTTP."""

from __future__ import annotations

from datetime import datetime, timezone

from crm_core.services import calls as calls_service
from crm_core.services.calls import CallRecord


async def test_calls_of_a_client(api) -> None:
    user, http = await api.user("operator", login="i.ivanova", endpoint="101")
    client = await (await http.post("/api/clients", json={"name": "ООО «Ромашка»", "phones": [{"number": "+7 916 123-45-67"}]})).json()
    started = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    await calls_service.record_finished_call(api.db, CallRecord(
        direction="inbound", outcome="answered", number="89161234567", agent="PJSIP/101", linkedid="1732356005.101",
        started_at=started, talk_seconds=95))
    page = await (await http.get(f"/api/clients/{client['id']}/calls")).json()
    assert page["total"] == 1
    [call] = page["items"]
    assert (call["client_number"], call["agent_id"], call["outcome"], call["talk_seconds"]) == ("+79161234567", user.id, "answered", 95)
    assert call["started_at"] == "2026-11-23T10:00:00Z"
    assert (await http.get(f"/api/clients/{client['id']}/calls?limit=501")).status == 422
