"""Dialplan steps and Asterisk-style argument splitting for the asterisk-config checks."""

from __future__ import annotations

import pytest

from tests.asterisk_config.conf_reader import ConfSyntaxError, parse_conf
from tests.asterisk_config.dialplan_reader import split_args, steps

CAMPAIGN = """\
[zvonar-campaign]
exten => s,1,NoOp(campaign ${ZVONAR_CAMPAIGN})
 same => n,Queue(${ZVONAR_QUEUE},b(zvonar-sub-autoanswer^s^1),,,2)
 same => n(abandon),UserEvent(ZvonarAbandon,Campaign: ${ZVONAR_CAMPAIGN},Reason: ${QUEUESTATUS})
 same => n,Set(CALLERID(all)="ООО Звонарь, отдел продаж" <74952223344>)
exten => 101,hint,PJSIP/101
exten => h,1,Hangup()
"""


def test_steps_carry_exten_priority_label_and_split_arguments() -> None:
    (context,) = parse_conf(CAMPAIGN, "extensions.conf").sections
    result = steps(context)
    assert [(s.exten, s.priority, s.label, s.app) for s in result] == [
        ("s", "1", None, "NoOp"),
        ("s", "n", None, "Queue"),
        ("s", "n", "abandon", "UserEvent"),
        ("s", "n", None, "Set"),
        ("h", "1", None, "Hangup"),
    ]
    queue, event, set_cid = result[1], result[2], result[3]
    assert queue.args == ("${ZVONAR_QUEUE}", "b(zvonar-sub-autoanswer^s^1)", "", "", "2")
    assert event.args == ("ZvonarAbandon", "Campaign: ${ZVONAR_CAMPAIGN}", "Reason: ${QUEUESTATUS}")
    assert set_cid.args == ('CALLERID(all)="ООО Звонарь, отдел продаж" <74952223344>',)
    assert result[4].args == ()
    assert queue.line == 3


def test_split_args_respects_nesting_and_escapes() -> None:
    guard = "$[${LEN(${FILTER(0-9,${EXTEN})})} > 15]?s"
    assert split_args(f"{guard},1") == [guard, "1"]
    assert split_args(r"a\,b,c") == [r"a\,b", "c"]
    assert split_args("") == [""]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[x]\n same => n,NoOp()\n", "'same =>' before any 'exten =>'"),
        ("[x]\nexten => s,1\n", "exten needs"),
        ("[x]\nexten => s,first,NoOp()\n", "bad priority"),
        ("[x]\nexten => s,1,(oops)\n", "bad application call"),
    ],
)
def test_malformed_steps_are_refused_with_the_line(text: str, fragment: str) -> None:
    (context,) = parse_conf(text, "extensions.conf").sections
    with pytest.raises(ConfSyntaxError) as err:
        steps(context)
    assert fragment in str(err.value)
    assert str(err.value).startswith("extensions.conf:2: ")
