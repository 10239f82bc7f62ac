"""Scripts in campaigns and the outcomes that reach beyond the protocol, on both stores.

A running campaign keeps the script version it was launched with; a protocol records it.
lead_done / lead_failed set the lead's disposition through the campaign's wrap-up;
add_dnc lists the number; proposal_draft drafts a commercial proposal; results can be
read per campaign.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm_core.campaign_settings import DispositionSpec
from crm_core.db import Database
from crm_core.errors import CampaignNotFound, InvalidInput
from crm_core.models import Attempt, Lead
from crm_core.rights import Actor
from crm_core.services import campaigns as campaigns_service
from crm_core.services import clients as clients_service
from crm_core.services import dnc as dnc_service
from crm_core.services import leads as leads_service
from crm_core.services import proposals as proposals_service
from crm_core.services.campaigns import CampaignInput, CampaignView
from scripts_engine.protocol_store import ProtocolStore, Session
from tests.crm_core.crm_world import World, build_world, romashka
from tests.scripts_engine.walks import COLD_CALL

V1 = COLD_CALL.read_text(encoding="utf-8")
# The second version greets differently, so a session shows which one it runs.
V2 = V1.replace("version: 3", "version: 4").replace("Добрый день, {contact.first_name", "Здравствуйте, {contact.first_name")
ALWAYS = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}
IN_THREE_DAYS = (date.today() + timedelta(days=3)).isoformat()
MEETING = [("greeting", True), ("decision_maker", "self"), ("current_solution", "excel"), ("team_size", 15),
           ("pain_points", ["lost_calls", "no_recording"]), ("budget", "10k_30k"), ("interest", 9),
           ("offer_meeting", True), ("meeting_time", f"{IN_THREE_DAYS} 11:30")]
PROPOSAL = [("greeting", True), ("decision_maker", "self"), ("current_solution", "amocrm"), ("team_size", 12),
            ("pain_points", ["lost_calls"]), ("budget", "10k_30k"), ("interest", 6), ("offer_proposal", True),
            ("proposal_items", ["telephony", "crm"]), ("proposal_email", "zakupki@romashka.ru")]
DNC = [("greeting", True), ("objection", "do_not_call"), "finish"]
SCRIPT_DISPOSITIONS = [
    DispositionSpec("meeting_booked", "Назначена встреча", final=True, success=True),
    DispositionSpec("proposal_requested", "Запросили КП", final=True, success=True),
    DispositionSpec("not_interested", "Не интересно", final=True),
    DispositionSpec("dnc_request", "Просит не звонить", final=True, add_to_dnc=True),
]


async def _walk(store: ProtocolStore, actor: Actor, session: Session, actions) -> Session:  # type: ignore[no-untyped-def]
    for action in actions:
        sid = session.record.id
        if action == "finish":
            session = await store.finish(actor, sid)
        elif action[0] == "objection":
            session = await store.objection(actor, sid, action[1])
        else:
            session = await store.answer(actor, sid, action[0], action[1])
    return session


async def _campaign(db: Database) -> tuple[World, int, ProtocolStore, int, CampaignView]:
    """Romashka in «Осенняя акция», launched on v1 of the cold call; then v2 is published."""
    world = await build_world(db)
    client_id = await romashka(db, world.ivanova)
    store = ProtocolStore(db)
    v1 = await store.publish(world.sales_sup, "cold_call", V1)
    campaign = await campaigns_service.create_campaign(db, world.sales_sup, CampaignInput(
        name="Осенняя акция", script_code="cold_call", hours=ALWAYS, dispositions=SCRIPT_DISPOSITIONS))
    await campaigns_service.set_agents(db, world.sales_sup, campaign.id, [world.ivanova.user_id])
    await campaigns_service.add_list_from_filter(db, world.sales_sup, campaign.id, "Вся база отдела", {})
    campaign = await campaigns_service.launch(db, world.sales_sup, campaign.id)
    assert campaign.script_id == v1.id
    await store.publish(world.admin, "cold_call", V2)
    return world, client_id, store, v1.id, campaign


async def _dial(db: Database, campaign: CampaignView, agent: Actor) -> int:
    """The dialer takes the lead and calls it for the agent: an attempt in progress; its lead id."""
    now = datetime.now(UTC)
    [lead] = await leads_service.lease_leads(db, campaign.id, "dialer-1", now, 10, 60)
    await leads_service.start_attempt(db, lead.id, "dialer-1", f"zv-{lead.id}-1", "progressive", now,
                                      agent_id=agent.user_id)
    return lead.id


async def test_a_running_campaign_keeps_its_version_while_other_calls_run_the_newest(db: Database) -> None:
    world, client_id, store, v1, campaign = await _campaign(db)
    inside = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id)
    outside = await store.start(world.ivanova, client_id=client_id, code="cold_call")
    assert (inside.record.script.id, inside.record.script.version, inside.record.campaign_id) == (v1, 1, campaign.id)
    assert inside.to_dict()["current"]["text"].startswith("Добрый день")
    assert (outside.record.script.version, outside.record.campaign_id) == (2, None)
    assert outside.to_dict()["current"]["text"].startswith("Здравствуйте")
    # The protocol says which version it followed, after a reload too.
    assert (await store.get(world.sales_sup, inside.record.id)).to_dict()["script"]["version"] == 1
    # Naming the same script is fine; naming another version or script is refused.
    same = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id, code="cold_call")
    assert same.record.script.id == v1
    newest = (await store.list_latest())[0].id
    with pytest.raises(InvalidInput, match="script_id"):
        await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id, script_id=newest)
    with pytest.raises(InvalidInput, match="code"):
        await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id, code="nps")
    # A campaign the user is no agent of does not exist for them.
    await clients_service.reassign_clients(db, world.sales_sup, [client_id], world.petrov.user_id)
    with pytest.raises(CampaignNotFound):
        await store.start(world.petrov, client_id=client_id, campaign_id=campaign.id)


async def test_lead_done_sets_the_leads_disposition_through_the_wrap_up(db: Database) -> None:
    world, client_id, store, v1, campaign = await _campaign(db)
    lead_id = await _dial(db, campaign, world.ivanova)
    session = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id)
    session = await _walk(store, world.ivanova, session, MEETING)
    outcomes = {o["kind"]: o for o in session.record.outcomes}
    lead_done = outcomes["lead_done"]
    assert lead_done["applied"] is True and lead_done["lead_id"] == lead_id, lead_done
    assert lead_done["disposition"] == "meeting_booked" and "note" not in lead_done
    # The call is still on: the lead waits in dialing and finishes when the call ends.
    assert lead_done["lead_state"] == "dialing"
    async with db.reading() as s:
        lead = await s.get(Lead, lead_id)
        attempt = (await s.execute(select(Attempt).where(Attempt.lead_id == lead_id))).scalar_one()
    assert lead.disposition_code == "meeting_booked" and attempt.disposition_code == "meeting_booked"
    # What the API shows later is what was stored.
    assert (await store.get(world.ivanova, session.record.id)).record.outcomes == session.record.outcomes


async def test_a_lead_outcome_that_cannot_be_applied_says_why(db: Database) -> None:
    world, client_id, store, v1, campaign = await _campaign(db)
    # No call was made for this lead: the operator is not the one who took it.
    session = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id)
    session = await _walk(store, world.ivanova, session, PROPOSAL)
    lead_done = next(o for o in session.record.outcomes if o["kind"] == "lead_done")
    assert lead_done["applied"] is False and "only the operator who took the call" in lead_done["note"]
    # Outside a campaign there is no lead at all.
    other = await store.start(world.ivanova, client_id=client_id, script_id=v1)
    other = await _walk(store, world.ivanova, other, PROPOSAL)
    assert next(o for o in other.record.outcomes if o["kind"] == "lead_done")["note"].startswith("not a campaign call")


async def test_unknown_disposition_codes_are_named(db: Database) -> None:
    world, client_id, store, v1, campaign = await _campaign(db)
    await campaigns_service.stop(db, world.sales_sup, campaign.id)
    await campaigns_service.update_campaign(db, world.sales_sup, campaign.id, {"dispositions": [
        {"code": "agreed", "name": "Согласие", "final": True, "success": True}]})
    campaign = await campaigns_service.launch(db, world.sales_sup, campaign.id)
    await _dial(db, campaign, world.ivanova)
    session = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id)
    session = await _walk(store, world.ivanova, session, MEETING)
    lead_done = next(o for o in session.record.outcomes if o["kind"] == "lead_done")
    assert lead_done["applied"] is False and "meeting_booked" in lead_done["note"] and "agreed" in lead_done["note"]
    # Relaunched: the campaign now runs the newest version, and says so.
    assert session.record.script.version == 2


async def test_add_dnc_lists_the_number_the_client_asked_not_to_call(db: Database) -> None:
    world, client_id, store, v1, campaign = await _campaign(db)
    lead_id = await _dial(db, campaign, world.ivanova)
    session = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id)
    phone = session.record.context["phone"]
    session = await _walk(store, world.ivanova, session, DNC)
    outcomes = {o["kind"]: o for o in session.record.outcomes}
    assert outcomes["add_dnc"]["applied"] and outcomes["add_dnc"]["phone"] == phone == "+74951234567"
    # On the global list: the person asked not to be called by anyone.
    assert await dnc_service.is_dnc(db, phone, None)
    entry = (await dnc_service.dnc_numbers(db, world.sales_sup, scope="global")).items[0]
    assert (entry.source, entry.reason, entry.added_by_id) == ("script", "Клиент попросил не звонить (возражение)",
                                                               world.ivanova.user_id)
    assert outcomes["lead_failed"]["applied"] and outcomes["lead_failed"]["lead_id"] == lead_id
    assert outcomes["set_status"]["applied"]
    # Twice is fine: already listed.
    again = await store.start(world.ivanova, client_id=client_id, script_id=v1)
    again = await _walk(store, world.ivanova, again, DNC)
    assert next(o for o in again.record.outcomes if o["kind"] == "add_dnc")["already_listed"] is True


async def test_proposal_draft_drafts_a_proposal_with_the_products_asked_about(db: Database) -> None:
    world = await build_world(db)
    client_id = await romashka(db, world.ivanova)
    store = ProtocolStore(db)
    script = await store.publish(world.admin, "cold_call", V1)
    session = await store.start(world.ivanova, client_id=client_id, script_id=script.id)
    session = await _walk(store, world.ivanova, session, PROPOSAL)
    draft_outcome = next(o for o in session.record.outcomes if o["kind"] == "proposal_draft")
    assert draft_outcome["applied"] is True, draft_outcome
    proposal = await proposals_service.get_proposal(db, world.ivanova, draft_outcome["proposal_id"])
    assert (proposal.status, proposal.author_id, proposal.script_protocol_id) == ("draft", world.ivanova.user_id,
                                                                                   session.record.id)
    assert proposal.subject == "Коммерческое предложение Звонарь CRM для «ООО «Ромашка»»"
    assert proposal.comment.startswith("Отправить на zakupki@romashka.ru")
    assert [(i.product, i.product_code, i.quantity, i.price) for i in proposal.items] == [
        ("Телефония и запись звонков", "telephony", 1, 0), ("Клиентская база и история", "crm", 1, 0)]
    card = await clients_service.get_card(db, world.ivanova, client_id)
    assert proposal.id in [h.id for h in card.history if h.kind == "proposal"]


async def test_results_per_campaign(db: Database) -> None:
    world, client_id, store, v1, campaign = await _campaign(db)
    await _dial(db, campaign, world.ivanova)
    inside = await store.start(world.ivanova, client_id=client_id, campaign_id=campaign.id)
    await _walk(store, world.ivanova, inside, MEETING)
    outside = await store.start(world.ivanova, client_id=client_id, script_id=v1)
    await _walk(store, world.ivanova, outside, PROPOSAL)
    whole = await store.results(world.sales_sup, v1, None, None, campaign_id=campaign.id)
    assert whole["protocols"] == 1
    interest = next(q for q in whole["questions"] if q["step_id"] == "interest")
    assert interest["answered"] == 1 and {a["value"]: a["count"] for a in interest["answers"]}[9] == 1
    day = (datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    assert (await store.results(world.sales_sup, v1, *day))["protocols"] == 2
    assert (await store.results(world.sales_sup, v1, *day, campaign_id=campaign.id))["protocols"] == 1
    with pytest.raises(InvalidInput, match="period"):
        await store.results(world.sales_sup, v1, None, None)
    with pytest.raises(CampaignNotFound):
        await store.results(world.kyiv_sup, v1, None, None, campaign_id=campaign.id)


async def test_campaign_sessions_and_results_over_http(api) -> None:
    sup, sup_http = await api.user("supervisor", login="a.smirnova")
    ivanova, http = await api.user("operator", login="i.ivanova", endpoint="101")
    client = await (await http.post("/api/clients", json={"name": "ООО «Ромашка»", "region": "Москва",
                                                          "phones": [{"number": "+7 495 123-45-67"}]})).json()
    v1 = await (await sup_http.post("/api/scripts", json={"code": "cold_call", "yaml": V1})).json()
    actor = Actor.of(sup)
    campaign = await campaigns_service.create_campaign(api.db, actor, CampaignInput(
        name="Осенняя акция", script_code="cold_call", hours=ALWAYS, dispositions=SCRIPT_DISPOSITIONS))
    await campaigns_service.set_agents(api.db, actor, campaign.id, [ivanova.id])
    await campaigns_service.add_list_from_filter(api.db, actor, campaign.id, "Вся база отдела", {})
    await campaigns_service.launch(api.db, actor, campaign.id)
    assert (await sup_http.post("/api/scripts", json={"code": "cold_call", "yaml": V2})).status == 201
    resp = await http.post("/api/script-sessions", json={"client_id": client["id"], "campaign_id": campaign.id})
    assert resp.status == 201, await resp.text()
    session = await resp.json()
    assert (session["script"]["version"], session["campaign_id"]) == (1, campaign.id)
    for step, value in MEETING:
        resp = await http.post(f"/api/script-sessions/{session['id']}/answer", json={"step_id": step, "value": value})
        assert resp.status == 200, await resp.text()
    results = await (await sup_http.get(f"/api/scripts/{v1['id']}/results?campaign_id={campaign.id}")).json()
    assert results["protocols"] == 1 and results["script"]["version"] == 1
    csv = await sup_http.get(f"/api/scripts/{v1['id']}/results?campaign_id={campaign.id}&format=csv")
    assert csv.status == 200 and "interest" in await csv.text()
    bad = await sup_http.get(f"/api/scripts/{v1['id']}/results")
    assert bad.status == 422 and "period" in (await bad.json())["error"]["message"]
    wrong = await http.post("/api/script-sessions", json={"client_id": client["id"], "campaign_id": campaign.id,
                                                          "code": "nps"})
    assert wrong.status == 422
