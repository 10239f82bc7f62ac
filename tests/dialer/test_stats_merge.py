"""Merging a campaign's live figures from the parts of the dialers that run it (dialer/stats_merge.py), as plain data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from dialer.runner_state import CampaignInfo, CampaignLive, LiveCall, stats_payload
from dialer.stats_merge import PartBook, StatsPart, merge, part_of, publisher

AT = datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)
INFO = CampaignInfo(id=7, name="Предпросмотр: тёплые клиенты", team_id=2, state="running", mode="preview",
                    queue="campaign")
# Two servers on one Asterisk (they see the same queue agents), a third on the branch office's.
PBX, BRANCH_PBX = "10.0.0.5:5038", "10.1.0.5:5038"
A, B, C = "zvonar-a:4242:0123456789ab", "zvonar-b:5151:0123456789ab", "zvonar-c:6161:0123456789ab"


def call(action_id: str, lead_id: int, t: float) -> LiveCall:
    return LiveCall(action_id=action_id, campaign_id=7, lead_id=lead_id, attempt_id=lead_id * 10, client_id=lead_id,
                    phone=f"+7916000000{lead_id}", attempts=1, mode="preview", dialed_at=t)


def part(dialer: str, pbx: str, **figures: object) -> StatsPart:
    return StatsPart(campaign_id=7, dialer=dialer, pbx=pbx, **figures)  # type: ignore[arg-type]


def test_one_dialer_alone_publishes_exactly_its_own_figures() -> None:
    """A single server's campaign.stats does not change: the merge of its one part is its own payload."""
    live = CampaignLive(7, date(2026, 12, 3), day_dials=40, day_answered=12, day_abandoned=1)
    live.observe_agents({"free": 1, "talk": 2, "wrap": 0, "paused": 1}, 0.0)
    live.observe_agents({"free": 2, "talk": 1, "wrap": 1, "paused": 0}, 90.0)
    for i in range(3):
        live.dialed(call(f"zv-{i}", i, 100.0 + i))
    live.connected("zv-0", 104.0, linkedid="L0")
    live.ended("zv-1", {"outcome": "answered", "talk_seconds": 40}, 150.0)
    own = stats_payload(INFO, live, 160.0, AT)
    mine = part_of(live, 160.0, A, PBX)
    assert {**own, **merge([mine])} == own
    assert list({**own, **merge([mine])}) == list(own), "the same fields, in the same order"
    assert own["occupancy"] == round(180 / 270, 4) and (own["dials"], own["answered"], own["in_flight"]) == (3, 2, 2)
    assert StatsPart.from_json(mine.to_json()) == mine, "a part survives the bus"


def test_three_servers_merge_into_one_view_of_the_campaign() -> None:
    """Calls and dials add up; agents and occupancy count once per PBX; the day is the most recent store count."""
    # Server A: 3 operators' calls up, its part of the day rebased on the store a moment ago.
    a = part(A, PBX, dials=37, answered=21, abandoned=0, window_dials=30, window_answered=18, ringing=1, waiting=0,
             in_flight=3, day_dials=120, day_answered=64, day_abandoned=0, day_machines=9,
             agents={"free": 2, "talk": 3, "wrap": 1, "paused": 1, "unavailable": 0}, busy_seconds=5400.0,
             logged_seconds=7200.0)
    # Server B, same Asterisk: the same 7 agents (one has just been rung), its own 2 calls, rebased later.
    b = part(B, PBX, dials=25, answered=15, abandoned=1, machines=4, window_dials=25, window_answered=15, window_abandoned=1,
             ringing=1, waiting=0, in_flight=2, day_dials=122, day_answered=63, day_abandoned=1, day_machines=11,
             agents={"free": 1, "talk": 4, "wrap": 1, "paused": 1, "unavailable": 0}, busy_seconds=2700.0,
             logged_seconds=3500.0)
    # Server C, the branch office's Asterisk: 3 agents of its own, 1 call.
    c = part(C, BRANCH_PBX, dials=10, answered=6, abandoned=0, machines=1, window_dials=10, window_answered=6, ringing=0, waiting=0,
             in_flight=1, day_dials=121, day_answered=65, day_abandoned=0, day_machines=10,
             agents={"free": 1, "talk": 2, "wrap": 0, "paused": 0, "unavailable": 0}, busy_seconds=1800.0,
             logged_seconds=2400.0)
    merged = merge([c, b, a])
    assert (merged["dials"], merged["answered"], merged["abandoned"]) == (72, 42, 1)
    assert merged["abandon_rate"] == round(1 / 42, 4)
    assert merged["machines"] == 5, "answering machines the dialplan dropped add up like dials"
    assert (merged["ringing"], merged["waiting"], merged["in_flight"]) == (2, 0, 6)
    assert (merged["window_dials"], merged["window_answered"], merged["window_abandoned"]) == (65, 39, 1)
    # The head office's agents once (A's view: the smallest owner id of that PBX), the branch's added.
    assert merged["agents"] == {"free": 3, "talk": 5, "wrap": 1, "paused": 1, "unavailable": 0}
    assert merged["occupancy"] == round((5400 + 1800) / (7200 + 2400), 4) == 0.75
    # Each day figure is the whole campaign's up to its dialer's last rebase: the largest is the latest.
    assert (merged["day_dials"], merged["day_answered"], merged["day_abandoned"]) == (122, 65, 1)
    assert merged["day_abandon_rate"] == round(1 / 65, 4)
    assert merged["day_machines"] == 11 and merged["day_amd_misread"] == 0
    # With 10 % of the machines estimated to be people: one more answer and abandon in the day's rate.
    estimated = merge([a, b, c], amd_misread_share=0.1)
    assert (estimated["day_amd_misread"], estimated["day_abandon_rate"]) == (1, round(2 / 66, 4))
    assert merge([a, b, c]) == merged, "whatever order the parts come in"
    assert publisher([c, b, a]) == A


def test_both_servers_see_the_same_figures_and_only_one_publishes_them() -> None:
    """Once a second each server publishes its part and hears the other's: one publisher, one view, no flapping."""
    books = {A: PartBook(), B: PartBook()}
    views: dict[str, list[dict]] = {A: [], B: []}
    publishers = []
    for second in range(1, 6):
        t = float(second)
        own = {A: part(A, PBX, dials=second, in_flight=1, day_dials=10 + 2 * second, busy_seconds=60.0 * second,
                       logged_seconds=100.0 * second, agents={"free": 1, "talk": 1}),
               B: part(B, PBX, dials=2 * second, in_flight=2, day_dials=10 + 2 * second, busy_seconds=30.0 * second,
                       logged_seconds=40.0 * second, agents={"free": 1, "talk": 1})}
        for me, other in ((A, B), (B, A)):
            books[other].heard(own[me], t + 0.1)
        for me in (A, B):
            parts = [own[me], *books[me].fresh(7, t + 0.2)]
            views[me].append(merge(parts))
            if publisher(parts) == me:
                publishers.append(me)
    assert publishers == [A] * 5, "one dialer publishes, every second"
    assert views[A] == views[B]
    assert [v["dials"] for v in views[A]] == [3, 6, 9, 12, 15] and {v["in_flight"] for v in views[A]} == {3}
    assert {v["occupancy"] for v in views[A]} == {0.6}, "the PBX's agents once: A's view of them"
    assert {v["agents"]["talk"] for v in views[A]} == {1}


def test_a_part_not_refreshed_goes_stale_and_a_part_that_left_goes_at_once() -> None:
    book = PartBook(stale_seconds=3.0)
    b, c = part(B, PBX, in_flight=2), part(C, BRANCH_PBX, in_flight=1)
    book.heard(b, 10.0)
    book.heard(c, 10.5)
    assert book.fresh(7, 13.0) == [b, c]
    assert book.fresh(7, 13.2) == [c], "B's server went quiet: its calls are not counted for ever"
    book.heard(StatsPart(campaign_id=7, dialer=C, pbx=BRANCH_PBX, left=True), 13.3)
    assert book.fresh(7, 13.4) == []
    # With B gone, A (the only one left) publishes; before that B was a candidate, A still the smallest id.
    assert publisher([part(A, PBX), b]) == A and publisher([part(B, PBX)]) == B
    assert publisher([StatsPart(campaign_id=7, dialer=A, pbx=PBX, left=True), b]) == B


def test_a_problem_one_server_finds_is_the_campaigns() -> None:
    """The branch's PBX lacks the campaign's queue: the merged view says so, whichever server publishes it."""
    live = CampaignLive(7, date(2026, 12, 3))
    live.problems["outside_hours"] = {}
    a = part_of(live, 10.0, A, PBX)
    c = part(C, BRANCH_PBX, problems={"queue_missing": {"queue": "campaign"}})
    assert merge([a, c])["problems"] == [{"code": "queue_missing", "queue": "campaign"}, {"code": "outside_hours"}]
    assert stats_payload(INFO, live, 10.0, AT)["problems"] == [{"code": "outside_hours"}]
    assert StatsPart.from_json(c.to_json()) == c, "problems survive the bus"
    live.problems.clear()
    assert merge([part_of(live, 11.0, A, PBX)])["problems"] == []


def test_a_part_from_the_bus_is_checked() -> None:
    good = part(A, PBX, dials=3, agents={"free": 1}).to_json()
    assert StatsPart.from_json(good) == part(A, PBX, dials=3, agents={"free": 1, "talk": 0, "wrap": 0, "paused": 0,
                                                                      "unavailable": 0})
    for bad in ({**good, "campaign_id": "7"}, {**good, "dialer": ""}, {**good, "dials": -1}, {**good, "in_flight": True},
                {**good, "agents": {"free": "2"}}, {**good, "busy_seconds": "x"}, {**good, "machines": -2},
                {**good, "problems": "queue_missing"}, {**good, "problems": [{"code": "no_phones", "who": 101}]},
                {"topic": "something else"}):
        assert StatsPart.from_json(bad) is None, bad


def test_the_day_rebased_on_the_store_keeps_our_answers_not_yet_written() -> None:
    """The store has every dialer's attempts from their start, their answers only once they end."""
    live = CampaignLive(7, date(2026, 12, 3), day_dials=5, day_answered=2, day_abandoned=0)
    for i in range(3):
        live.dialed(call(f"zv-{i}", i, float(i)))
    live.connected("zv-0", 5.0)  # talking: counted here, not yet in the store
    live.dialed(replace(call("zv-m", 3, 3.0), mode="predictive", amd=True))
    live.originate_response("zv-m", True, 8.0, linkedid="L3")
    live.amd_verdict(11.0, False, linkedid="L3")  # a machine, its call not yet hung up, so not yet in the store
    live.rebase_day(19, 9, 1, 4)  # the other servers' dials are in the store too
    assert (live.day_dials, live.day_answered, live.day_abandoned, live.day_machines) == (19, 10, 1, 5)
    assert (live.run_dials, live.run_answered, live.run_machines) == (4, 1, 1), "the run's own figures stay"
