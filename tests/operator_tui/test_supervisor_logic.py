"""The supervisor screens' pure parts: the campaign form's reading, the wallboard's folding of events,
the protocol's reading, the gauge's line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from operator_tui.i18n import set_language
from operator_tui.supervisor_campaigns import (
    agent_choices,
    allowed,
    format_days,
    leads_text,
    form_values,
    merged_settings,
    problem_lines,
    parse_days,
    report_text,
    start_action,
    settings_body,
)
from operator_tui.supervisor_protocol import client_rows, protocol_lines
from operator_tui.supervisor_wallboard import Board, gauge_level
from operator_tui.widgets.gauge import gauge_text
from operator_tui.screens.wallboard import pacing_patch

T0 = datetime(2027, 3, 15, 7, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def english():  # type: ignore[no-untyped-def]
    set_language("en")
    yield
    set_language("ru")


def test_days_read_and_written_back() -> None:
    assert parse_days("1-5") == [1, 2, 3, 4, 5]
    assert parse_days(" 1-3, 5 ,7") == [1, 2, 3, 5, 7]
    assert format_days([1, 2, 3, 4, 5, 7]) == "1-5,7"
    assert format_days(parse_days("6,7,1")) == "1,6-7"
    for bad in ("", "0-3", "5-2", "пн-пт", "8"):
        with pytest.raises(ValueError):
            parse_days(bad)


def test_settings_body_names_every_bad_field() -> None:
    body, errors = settings_body({"name": "", "start": "9", "end": "21:00", "days": "1-9", "max_attempts": "99",
                                  "abandon_cap": "5", "lines_per_agent": "0", "queue": "очередь",
                                  "amd_misread": "60"}, creating=True)
    assert [e.field for e in errors] == ["name", "queue", "start", "days", "max_attempts", "abandon_cap",
                                         "lines_per_agent", "amd_misread"]
    for bad in ("-1", "пять", "50,5"):
        assert [e.field for e in settings_body({"name": "X", "amd_misread": bad}, creating=True)[1]] == ["amd_misread"]
    body, errors = settings_body({"name": "Весенний обзвон", "mode": "predictive", "start": "10:00", "end": "09:00"},
                                 creating=True)
    assert [e.field for e in errors] == ["end"]


def test_settings_body_of_a_good_form() -> None:
    body, errors = settings_body({"name": " Весенний обзвон ", "mode": "predictive", "queue": "spring", "script": "",
                                  "start": "10:00", "end": "20:00", "days": "1-6", "max_attempts": "3",
                                  "busy_minutes": "15", "no_answer_minutes": "", "abandon_cap": "2,5",
                                  "lines_per_agent": "2"}, creating=True)
    assert errors == []
    assert body == {"name": "Весенний обзвон", "mode": "predictive", "queue": "spring",
                    "hours": {"start": "10:00", "end": "20:00", "days": [1, 2, 3, 4, 5, 6]},
                    "retry_rules": {"max_attempts": 3, "busy_minutes": 15},
                    "pacing": {"abandon_cap": 0.025, "lines_per_agent": 2}}
    # Editing: an emptied script field detaches the script.
    body, _ = settings_body({"name": "X", "script": ""}, creating=False)
    assert body["script_code"] is None
    # The answering-machine checkbox is a yes or a no, never left out.
    assert settings_body({"name": "X", "amd": "yes"}, creating=True)[0]["pacing"] == {"amd": True}
    assert settings_body({"name": "X", "amd": ""}, creating=True)[0]["pacing"] == {"amd": False}
    assert form_values({"pacing": {"amd": True}})["amd"] == "yes" and form_values({})["amd"] == ""
    # The estimate of people among the machines is a percent on the form, a share on the server.
    assert settings_body({"name": "X", "amd_misread": "2,5 %"}, creating=True)[0]["pacing"] == {"amd_misread_share": 0.025}
    assert "pacing" not in settings_body({"name": "X", "amd_misread": " "}, creating=True)[0], "empty: left as it is"
    assert form_values({"pacing": {"amd_misread_share": 0.025}})["amd_misread"] == "2.5"
    assert form_values({"pacing": {"amd_misread_share": 0.0}})["amd_misread"] == "0" and form_values({})["amd_misread"] == ""


def test_the_number_shown_and_the_recording_heard_by_the_client() -> None:
    body, errors = settings_body({"name": "X", "caller_id": ' "ООО Звонарь" <74952223344> ',
                                  "abandon_message": "zvonar/vesna-abandon"}, creating=True)
    assert errors == []
    assert (body["caller_id"], body["abandon_message"]) == ('"ООО Звонарь" <74952223344>', "zvonar/vesna-abandon")
    assert "abandon_message" not in settings_body({"name": "X", "abandon_message": " "}, creating=True)[0]
    # Editing: an emptied field goes back to the company's (null), and the stored value shows on the form.
    assert settings_body({"name": "X", "abandon_message": ""}, creating=False)[0]["abandon_message"] is None
    assert form_values({"abandon_message": "zvonar/vesna-abandon", "caller_id": None})["abandon_message"] == "zvonar/vesna-abandon"
    for bad in ("vesna-abandon.wav", "/var/lib/asterisk/sounds/vesna", "../vesna", "zvonar/весна", "a,b"):
        assert [e.field for e in settings_body({"name": "X", "abandon_message": bad}, creating=True)[1]] == [
            "abandon_message"], bad
    assert [e.field for e in settings_body({"name": "X", "caller_id": "74952223344\r\nAction: Hangup"},
                                           creating=True)[1]] == ["caller_id"]


def test_what_keeps_a_campaign_from_dialing_is_said_in_words() -> None:
    stats = {"problems": [{"code": "queue_missing", "queue": "sales"}, {"code": "outside_hours"},
                          {"code": "trunk_down", "trunk": "mts"}, {"code": "agents_not_in_queue"}, "garbage"]}
    assert problem_lines(stats) == [
        "The PBX has no queue «sales» (queues.conf): nobody can take the calls; the operators join once it is there",
        "No lead is within its calling hours now",
        "trunk_down",  # a newer dialer's code: shown as it is rather than hidden
        "The PBX did not put {count} operator(s) into the queue; trying again",  # its count missing: still said
    ]
    assert problem_lines(None) == [] and problem_lines({"problems": []}) == []


def test_a_list_report_says_whose_clients_went_to_whom() -> None:
    report = {"leads_added": 41, "leads_skipped": 1, "skipped_reasons": {"already a lead": 1},
              "rejected": [{"line": 7, "reason": "no phone"}],
              "reassigned": [{"responsible": "Петрва А.С.", "rows": 3, "first_line": 4, "given_to": "smirnova"},
                             {"responsible": "Олена Коваль", "rows": 1, "first_line": 9, "given_to": "smirnova"}]}
    assert report_text(report) == (
        "Leads added: 41, skipped: 1 (already a lead: 1); file lines refused: 1, first: line 7: no phone; "
        "new clients given to smirnova: the file names 2 responsible(s) you may not assign to, "
        "first «Петрва А.С.» (line 4)")
    from_a_workbook = {"leads_added": 2, "leads_skipped": 0, "rejected": [{"line": 5, "reason": "no phone"}],
                       "sheet": "Обзвон"}
    assert report_text(from_a_workbook) == (
        "Leads added: 2, skipped: 0; file lines refused: 1, first: line 5: no phone; read from sheet «Обзвон»")


def test_an_edit_sends_only_what_changed_over_what_is_stored() -> None:
    stored = {"name": "Обзвон", "mode": "progressive", "queue": "campaign", "script_code": "cold_call",
              "hours": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "21:00", "holidays": ["2027-05-09"]},
              "retry_rules": {"max_attempts": 5, "busy_minutes": 10}, "pacing": {"abandon_cap": 0.03}}
    form = {"name": "Обзвон", "mode": "progressive", "queue": "campaign", "script_code": "cold_call",
            "hours": {"start": "09:00", "end": "20:00", "days": [1, 2, 3, 4, 5]}, "retry_rules": {"max_attempts": 5}}
    patch = merged_settings(stored, form)
    # Mode, queue and script unchanged are not sent (a running campaign refuses them); holidays stay.
    assert patch == {"hours": {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "20:00", "holidays": ["2027-05-09"]}}


def test_transitions_and_lists() -> None:
    assert allowed("launch", "draft") and allowed("launch", "stopped") and not allowed("launch", "running")
    assert start_action("draft") == "launch" and start_action("stopped") == "launch"
    assert start_action("paused") == "resume" and start_action("running") is None
    assert allowed("pause", "running") and not allowed("pause", "paused")
    assert leads_text({"ready": 120, "leased": 2, "dialing": 1, "done": 40, "dnc": 2}) == (
        "120 to dial · 3 in work · 40 completed · 2 DNC")
    assert leads_text({}) == "no leads"
    users = [{"id": 3, "role": "operator", "full_name": "Петров Сергей", "phone_endpoint": "102"},
             {"id": 1, "role": "admin", "full_name": "Админ", "phone_endpoint": "100"},
             {"id": 4, "role": "supervisor", "full_name": "Смирнова Анна", "phone_endpoint": None},
             {"id": 2, "role": "operator", "full_name": "Иванова Ольга", "phone_endpoint": "101"}]
    assert agent_choices(users) == [(2, "Иванова Ольга (101)"), (3, "Петров Сергей (102)")]


def test_board_folds_agents_stats_and_calls() -> None:
    board = Board(7)
    board.set_campaign({"id": 7, "name": "Весна", "state": "running", "pacing": {"abandon_cap": 0.03}})
    board.load_agents([{"user_id": 1, "full_name": "Иванова", "endpoint": "101", "state": "ready",
                        "since": (T0 - timedelta(minutes=5)).timestamp()}])
    assert board.agents["u1"].since == T0 - timedelta(minutes=5)
    assert board.apply("agent.state", {"agent": "101", "user_id": 1, "state": "on_call", "since": T0.isoformat(),
                                       "call_id": "1773.1"}, T0)
    assert board.agents["u1"].state == "on_call" and board.agent_counts()["on_call"] == 1
    # Her call is in progress though its start came before the board opened.
    assert [(c.call_id, c.agent, c.phase, c.since) for c in board.call_list()] == [("1773.1", "101", "talking", T0)]
    # The list read again, answered with a state older than the event: the event's stays.
    board.load_agents([{"user_id": 1, "full_name": "Иванова", "endpoint": "101", "state": "ready",
                        "since": (T0 - timedelta(minutes=5)).timestamp()}])
    assert (board.agents["u1"].state, board.agents["u1"].call_id) == ("on_call", "1773.1")
    board.load_agents([{"user_id": 1, "full_name": "Иванова", "endpoint": "101", "state": "wrap_up",
                        "since": (T0 + timedelta(minutes=2)).timestamp()}])
    assert board.agents["u1"].state == "wrap_up", "a newer answer wins"
    board.load_agents([{"user_id": 1, "full_name": "Иванова", "endpoint": "101", "state": "logged_out"}])
    assert board.agents["u1"].state == "logged_out", "and one without a time (a phone the PBX does not know)"
    board.apply("agent.state", {"agent": "101", "user_id": 1, "state": "on_call", "since": T0.isoformat(),
                                "call_id": "1773.1"}, T0)
    # An agent the list did not have (a phone logged in meanwhile) is added.
    assert board.apply("agent.state", {"agent": "105", "user_id": None, "state": "paused", "reason": "обед"}, T0)
    assert [a.name for a in board.agent_list()] == ["105", "Иванова"]
    # Another campaign's figures are not ours.
    assert not board.apply("campaign.stats", {"campaign_id": 8, "day_dials": 100}, T0)
    for dials, answered in ((10, 4), (15, 6), (15, 6)):
        board.apply("campaign.stats", {"campaign_id": 7, "day_dials": dials, "day_answered": answered,
                                       "day_abandon_rate": 0.02, "occupancy": 0.8, "abandon_cap": 0.03}, T0)
    assert list(board.series["dials"]) == [0.0, 5.0, 0.0]
    assert list(board.series["answered"]) == [0.0, 2.0, 0.0]
    assert board.abandon_rate == 0.02 and board.abandon_cap == 0.03
    assert board.apply("campaign.state", {"campaign_id": 7, "state": "paused"}, T0)
    assert board.campaign["state"] == "paused"  # type: ignore[index]
    board.apply("call.started", {"call_id": "c1", "direction": "outbound", "number": "+79161234567"}, T0)
    board.apply("call.answered", {"call_id": "c1", "agent": "101"}, T0 + timedelta(seconds=20))
    call = board.calls["c1"]
    assert (call.phase, call.agent, call.number, call.since) == ("talking", "101", "+79161234567", T0 + timedelta(seconds=20))
    assert board.apply("call.ended", {"call_id": "c1"}, T0) and "c1" not in board.calls
    board.set_pacing({"campaign_id": 7, "abandon_cap": 0.02, "lines_per_agent": 2})
    assert board.abandon_cap == 0.02


def test_gauge_levels_and_line() -> None:
    assert gauge_level(None, 0.03) == "none"
    assert gauge_level(0.01, 0.03) == "ok" and gauge_level(0.025, 0.03) == "warn" and gauge_level(0.031, 0.03) == "over"
    line = gauge_text("Abandoned", 0.015, 0.03, 60, limit_label="cap").plain
    assert len(line) == 60 and line.startswith("Abandoned   1.5 %") and line.endswith("cap 3.0 %")
    bar = line[len("Abandoned   1.5 % "):-len(" cap 3.0 %")]
    # Half the cap fills half of the way to the cap mark, which stands three quarters along.
    assert bar.index("┃") == round(len(bar) * 3 / 4) and bar.count("█") == round(len(bar) * 0.015 / 0.04)


def test_pacing_patch_only_what_changed() -> None:
    current = {"abandon_cap": 0.03, "lines_per_agent": 3, "ring_timeout": 25, "max_lines": 20}
    assert pacing_patch({"abandon_cap": "2", "lines_per_agent": "3", "ring_timeout": "25", "max_lines": ""}, current) == (
        {"abandon_cap": 0.02, "max_lines": None}, None)
    patch, error = pacing_patch({"abandon_cap": "4"}, current)
    assert patch == {} and error and "3 %" in error
    patch, error = pacing_patch({"ring_timeout": "5"}, current)
    assert error and "10" in error
    # The estimate of people among the machines: a percent, sent when it changed (absent on the server: 0).
    form = {"abandon_cap": "3", "lines_per_agent": "3", "ring_timeout": "25", "max_lines": "20"}
    assert pacing_patch({**form, "amd_misread_share": "2,5"}, current) == ({"amd_misread_share": 0.025}, None)
    assert pacing_patch({**form, "amd_misread_share": "0"}, current) == ({}, None)
    assert pacing_patch({**form, "amd_misread_share": "2.5 %"}, {**current, "amd_misread_share": 0.025}) == ({}, None)
    for bad in ("51", "-1", "треть"):
        patch, error = pacing_patch({**form, "amd_misread_share": bad}, current)
        assert patch == {} and error and "50" in error, bad


def test_protocol_lines_keep_what_was_gone_back_on() -> None:
    protocol = {"entries": [
        {"seq": 1, "kind": "shown", "step": "greeting", "text": "Добрый день!"},
        {"seq": 2, "kind": "answer", "step": "greeting", "value": True},
        {"seq": 3, "kind": "shown", "step": "decision_maker", "text": "Кто решает?"},
        {"seq": 4, "kind": "answer", "step": "decision_maker", "value": "self", "superseded": True},
        {"seq": 5, "kind": "shown", "step": "current_solution", "text": "Чем пользуетесь?", "superseded": True},
        {"seq": 6, "kind": "back", "step": "decision_maker"},
        {"seq": 7, "kind": "answer", "step": "decision_maker", "value": "other"},
        {"seq": 8, "kind": "shown", "step": "handoff", "text": "Спасибо!"},
        {"seq": 9, "kind": "answer", "step": "handoff", "value": None, "route": "outcomes"},
        {"seq": 10, "kind": "outcome", "step": "handoff", "outcome": {"kind": "callback", "local_time": "2027-03-16T11:00",
                                                                     "timezone_basis": "client", "in_days": 1}},
    ]}
    lines = protocol_lines(protocol)
    assert [(line.kind, line.step, line.text, line.superseded, line.after_shown) for line in lines[:7]] == [
        ("step", "greeting", "Добрый день!", False, True),
        ("answer", "greeting", "Yes", False, True),
        ("step", "decision_maker", "Кто решает?", False, True),
        ("answer", "decision_maker", "self", True, True),
        ("step", "current_solution", "Чем пользуетесь?", True, True),
        ("back", "decision_maker", "", False, True),
        ("answer", "decision_maker", "other", False, False),
    ]
    assert [line.kind for line in lines[7:]] == ["step", "outcome"], "the final step's empty answer is left out"
    assert lines[-1].text == "callback" and lines[-1].notes == ("local_time: 2027-03-16T11:00",)


def test_client_rows_show_unscripted_calls_too() -> None:
    sessions = [{"id": 5, "call_id": 11, "started_at": "2027-03-15T07:05:10+00:00"}]
    calls = [{"id": 12, "started_at": "2027-03-15T08:00:00+00:00", "client_number": "+79161234567", "outcome": "busy"},
             {"id": 11, "started_at": "2027-03-15T07:05:00+00:00", "client_number": "+79161234567", "outcome": "answered"}]
    rows = client_rows(calls, sessions, "ООО «Ромашка»")
    assert [r["id"] for r in rows] == [None, 5]
    assert rows[0]["call"]["outcome"] == "busy" and rows[0]["client_name"] == "ООО «Ромашка»"


def test_short_names() -> None:
    from operator_tui.supervisor_wallboard import short_name

    assert short_name("Иванова Ольга Андреевна") == "Иванова О. А."
    assert short_name("Бондар Ганна") == "Бондар Г." and short_name("ivanova") == "ivanova"
