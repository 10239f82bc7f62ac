"""The desk's pure parts as plain data: the line state, typed times, wrap-up requests, the card, backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from operator_tui.api_client import ApiError, normalise_server_url
from operator_tui.app import key_label
from operator_tui.card_view import card_view
from operator_tui.datetime_input import BadMoment, parse_moment
from operator_tui.desk_state import DeskState
from operator_tui.formatting import duration, local_time, phone
from operator_tui.wrapup import Disposition, WrapUp, campaign_dispositions, requests_for
from operator_tui.ws_client import backoff_delay, parse_event
from tests.operator_tui.conftest import FROZEN_AT, MOSCOW

NOW = FROZEN_AT
POP = {"user_id": 3, "call_id": "1773.5", "action_id": None, "direction": "inbound", "number": "+79161234567",
       "known": True, "client": {"client_id": 7, "name": "ООО «Ромашка»", "kind": "company", "status": "client",
                                 "region": "Москва", "responsible_name": "Иванова", "contact_name": "Петров Иван",
                                 "e164": "+79161234567", "phone_kind": "mobile", "local_time": "10:30"},
       "open_interactions": [{"type_name": "Встреча", "subject": "Демо", "planned_at": "2027-03-17T08:00:00+00:00"}]}


def test_a_popped_call_rings_is_answered_ends_and_waits_for_its_wrap_up() -> None:
    s = DeskState(user_id=3).apply("agent.state", {"user_id": 3, "state": "ready"}, NOW)
    s = s.apply("screen.pop", POP, NOW)
    assert s.shown_state == "ringing" and s.call.client_id == 7 and s.call_seconds(NOW + timedelta(seconds=4)) == 4
    s = s.apply("call.answered", {"user_id": 3, "call_id": "1773.5"}, NOW + timedelta(seconds=5))
    assert s.shown_state == "on_call" and s.call_seconds(NOW + timedelta(seconds=65)) == 60
    s = s.apply("agent.state", {"user_id": 3, "state": "on_call"}, NOW + timedelta(seconds=6))
    s = s.apply("call.ended", {"user_id": 3, "call_id": "1773.5", "outcome": "answered", "call_db_id": 41},
                NOW + timedelta(seconds=95))
    assert s.shown_state == "wrap_up" and s.wrapup.db_call_id == 41 and s.call_seconds(NOW + timedelta(hours=1)) == 90
    # The PBX says ready after its own short wrap-up time; the desk's wrap-up stays until it is done.
    s = s.apply("agent.state", {"user_id": 3, "state": "ready"}, NOW + timedelta(seconds=100))
    assert s.shown_state == "wrap_up"
    assert s.wrapped_up().shown_state == "ready"


def test_a_call_that_rang_here_and_was_taken_elsewhere_needs_no_wrap_up() -> None:
    s = DeskState(user_id=3).apply("screen.pop", POP, NOW)
    s = s.apply("agent.state", {"user_id": 3, "state": "ready"}, NOW + timedelta(seconds=15))
    assert s.call.phase == "ended" and s.call.outcome == "missed" and s.wrapup is None and s.shown_state == "ready"


def test_a_campaign_call_gone_before_it_was_picked_up_ends_the_ringing_and_needs_no_wrap_up() -> None:
    """The dialer's call rang here; the client hung up first (an abandon): the desk is ready, nothing to wrap up."""
    campaign_pop = {**POP, "direction": "outbound", "campaign_id": 5, "lead_id": 77, "action_id": "zv-c1"}
    s = DeskState(user_id=3).apply("screen.pop", campaign_pop, NOW)
    assert s.shown_state == "ringing"
    s = s.apply("call.ended", {"user_id": 3, "call_id": "1773.5", "outcome": "abandoned"}, NOW + timedelta(seconds=3))
    assert s.call.phase == "ended" and s.wrapup is None and s.shown_state != "ringing"


def test_events_for_someone_else_change_nothing() -> None:
    s = DeskState(user_id=3)
    assert s.apply("screen.pop", {**POP, "user_id": 4}, NOW) is s
    assert s.apply("agent.state", {"user_id": 4, "state": "paused"}, NOW) is s


def test_click_to_call_is_followed_by_its_action_id() -> None:
    s = DeskState(user_id=3).placed({"action_id": "zv-1", "call_id": 9, "client_id": 7, "number": "+7916"}, NOW)
    s = s.apply("call.started", {"user_id": 3, "action_id": "zv-1", "call_id": "1773.9"}, NOW)
    s = s.apply("call.answered", {"user_id": 3, "call_id": "1773.9"}, NOW + timedelta(seconds=3))
    s = s.apply("call.ended", {"user_id": 3, "call_id": "1773.9", "outcome": "busy"}, NOW + timedelta(seconds=4))
    assert s.wrapup is not None and s.wrapup.direction == "outbound" and s.wrapup.db_call_id == 9


def test_campaign_fields_of_a_pop_are_kept() -> None:
    s = DeskState(user_id=3).apply("screen.pop", {**POP, "campaign_id": 5, "lead_id": 77, "script_id": 12}, NOW)
    assert (s.call.campaign_id, s.call.lead_id, s.call.script_id) == (5, 77, 12)
    assert s.campaign_name == "#5" and s.named_campaign(5, "Осень").campaign_name == "Осень"


@pytest.mark.parametrize(("typed", "expected"), [
    ("16.03.2027 10:00", datetime(2027, 3, 16, 10, 0, tzinfo=MOSCOW)),
    ("16.03 9:05", datetime(2027, 3, 16, 9, 5, tzinfo=MOSCOW)),
    ("2027-03-20 18:30", datetime(2027, 3, 20, 18, 30, tzinfo=MOSCOW)),
    ("11:00", datetime(2027, 3, 15, 11, 0, tzinfo=MOSCOW)),
    ("09:00", datetime(2027, 3, 16, 9, 0, tzinfo=MOSCOW)),  # passed today: tomorrow
    ("+2h", NOW + timedelta(hours=2)),
    ("+30м", NOW + timedelta(minutes=30)),
    ("", None),
])
def test_typed_moments(typed: str, expected: datetime | None) -> None:
    assert parse_moment(typed, MOSCOW, NOW) == expected


@pytest.mark.parametrize("typed", ["завтра", "32.01.2027 10:00", "10:61", "16.03.2027"])
def test_unreadable_moments_are_refused(typed: str) -> None:
    with pytest.raises(BadMoment):
        parse_moment(typed, MOSCOW, NOW)


def test_a_plain_call_wrap_up_is_an_event_a_callback_and_a_meeting() -> None:
    w = WrapUp(client_id=7, direction="inbound", disposition=Disposition("interested", "Интересно"), comment=" Ждёт КП ",
               callback_at=NOW + timedelta(days=1), meeting_at=NOW + timedelta(days=2), ended_at=NOW)
    out = requests_for(w)
    assert [r["body"]["type"] for r in out] == ["incoming_call", "outgoing_call", "meeting"]
    assert out[0]["body"] == {"type": "incoming_call", "status": "done", "subject": "Интересно", "body": "Ждёт КП",
                              "done_at": NOW.isoformat()}
    assert out[1]["body"]["status"] == "planned" and out[1]["body"]["planned_at"] == (NOW + timedelta(days=1)).isoformat()


def test_a_campaign_call_wrap_up_is_the_lead_disposition_with_its_callback() -> None:
    w = WrapUp(client_id=7, direction="outbound", disposition=Disposition("callback", "Перезвонить", final=False),
               comment="после обеда", callback_at=NOW + timedelta(hours=3), campaign_id=5, lead_id=77)
    assert requests_for(w) == [{"kind": "disposition", "campaign_id": 5, "lead_id": 77, "code": "callback",
                                "comment": "после обеда", "callback_at": (NOW + timedelta(hours=3)).isoformat()}]
    assert campaign_dispositions({"dispositions": [{"code": "sale", "name": "Продажа", "final": True}, {"x": 1}]}) == [
        Disposition("sale", "Продажа", True)]


def test_the_card_from_the_pop_alone_then_from_the_full_card() -> None:
    first = card_view(POP, None, None, None, NOW)
    assert first.title == "ООО «Ромашка»" and not first.complete and first.phones[0][0] == "+79161234567"
    assert ("Contact", "Петров Иван") in first.rows and first.open_items == ["17.03 11:00 [Встреча] Демо"]
    card = {"client": {"id": 7, "kind": "company", "name": "ООО «Ромашка»", "region": "Москва", "status": "client",
                       "phones": [{"e164": "+79161234567", "kind": "mobile"}]},
            "responsible": {"full_name": "Ольга Иванова"}, "timezone": "Asia/Vladivostok",
            "contacts": [{"first_name": "Иван", "last_name": "Петров", "position": "директор",
                          "phones": [{"e164": "+380671234567", "kind": "work"}]}],
            "history": [{"at": "2027-03-10T11:00:00+00:00", "title": "Звонок", "status": "done"},
                        {"at": "2027-03-09T11:00:00+00:00", "title": "Исходящий звонок +79161234567", "status": "done",
                         "details": {"body": "Итог: «Перезвонить». ЛПР в отпуске до 20.03\nвторая строка"}}]}
    full = card_view(POP, card, [], {"name": "Осень", "goal": "продлить договор"}, NOW)
    assert full.complete and [p for p, _label in full.phones] == ["+79161234567", "+380671234567"]
    assert ("Region", "Москва · 17:30 (UTC+10)") in full.rows and ("Responsible", "Ольга Иванова") in full.rows
    assert full.history == ["10.03 14:00 Звонок (состоялось)",
                            "09.03 14:00 Исходящий звонок +79161234567 (состоялось) — Итог: «Перезвонить». ЛПР в отпуске до 20.03"]
    assert ("Campaign", "Осень") in full.campaign and ("Goal", "продлить договор") in full.campaign


def test_small_helpers() -> None:
    assert [backoff_delay(n, 0.5, 4) for n in range(6)] == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert parse_event('{"topic": "ws.ready", "payload": {"user_id": 1}}') == ("ws.ready", {"user_id": 1})
    assert parse_event("ping") is None and parse_event('{"payload": {}}') is None
    assert normalise_server_url("zvonar.local:8080/") == "http://zvonar.local:8080"
    with pytest.raises(ValueError):
        normalise_server_url("ftp://x")
    assert duration(59) == "00:59" and duration(3725) == "1:02:05"
    assert phone("+79161234567") == "+7 916 123-45-67" and phone("abc") == "abc"
    assert local_time("Europe/Kyiv", NOW) == "09:30 (UTC+2)" and local_time("Nowhere/City", NOW) is None
    assert [key_label(k) for k in ("f2", "ctrl+s", "escape", "1")] == ["F2", "Ctrl+S", "Esc", "1"]
    err = ApiError(422, "invalid_input", "the request does not match the schema", [{"field": "name", "message": "empty"}])
    assert err.describe() == "the request does not match the schema (name: empty)"
