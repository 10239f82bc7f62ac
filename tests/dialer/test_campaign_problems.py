"""What keeps a running campaign from dialing, as the supervisor's screens receive it (dialer/campaign_problems.py)."""

from __future__ import annotations

import pytest

from dialer.campaign_problems import PROBLEMS, Problems, as_list, flag, from_list, merged


def test_a_problem_is_flagged_with_its_params_and_cleared_when_it_no_longer_holds() -> None:
    problems: Problems = {}
    flag(problems, "outside_hours", True)
    flag(problems, "queue_missing", True, queue="sales")
    flag(problems, "agents_not_in_queue", True, count=2)
    # In the order of PROBLEMS, whatever the order they were met in; params as text.
    assert as_list(problems) == [{"code": "queue_missing", "queue": "sales"}, {"code": "agents_not_in_queue", "count": "2"},
                                 {"code": "outside_hours"}]
    flag(problems, "queue_missing", False, queue="sales")
    flag(problems, "pbx_disconnected", False)
    assert [p["code"] for p in as_list(problems)] == ["agents_not_in_queue", "outside_hours"]
    with pytest.raises(ValueError, match="unknown campaign problem"):
        flag(problems, "queue_mising", True)


def test_problems_survive_the_bus_and_what_is_not_them_is_refused() -> None:
    problems: Problems = {"queue_missing": {"queue": "sales"}, "no_phones": {}}
    assert from_list(as_list(problems)) == problems
    # A newer dialer's code this one does not know is left out, not a reason to drop the whole part.
    assert from_list([{"code": "queue_missing", "queue": "sales"}, {"code": "trunk_down", "trunk": "mts"},
                      {"code": "sip_storm", "a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": 6}]) == {
        "queue_missing": {"queue": "sales"}}
    for bad in ({"code": "no_phones"}, [{"queue": "sales"}], [{"code": 7}], [{"code": "queue_missing", "queue": 7}],
                [{"code": "queue_missing", "queue": "x" * 201}], ["no_phones"],
                [{"code": "no_phones", "a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}], [None]):
        assert from_list(bad) is None, bad


def test_every_dialers_problems_count_and_the_first_keeps_its_params() -> None:
    head_office = {"queue_missing": {"queue": "sales"}}
    branch = {"queue_missing": {"queue": "sales-minsk"}, "pbx_disconnected": {}}
    assert merged([head_office, branch]) == {"queue_missing": {"queue": "sales"}, "pbx_disconnected": {}}
    assert merged([]) == {}
    assert len(PROBLEMS) == len(set(PROBLEMS))
