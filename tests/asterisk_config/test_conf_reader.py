"""The .conf reader used by the asterisk-config checks: Asterisk syntax in, sections out, bad lines named."""

from __future__ import annotations

import pytest

from tests.asterisk_config.conf_reader import ConfSyntaxError, parse_conf

PJSIP_SNIPPET = """\
[agent-endpoint](!)
type=endpoint
context=zvonar-agents
allow=alaw
allow=ulaw

[agent-aor](!)
type=aor
max_contacts=1

[101](agent-endpoint)   ; the phone of Ольга Мельник
aors=101
callerid="Ольга Мельник" <101>
context=zvonar-outbound

[101](agent-aor)
"""


def test_templates_are_inherited_and_own_values_win() -> None:
    conf = parse_conf(PJSIP_SNIPPET, "pjsip.conf")
    assert [s.name for s in conf.concrete()] == ["101", "101"]
    endpoint, aor = conf.concrete()
    assert endpoint.get("type") == "endpoint"
    assert endpoint.get_all("allow") == ["alaw", "ulaw"]
    assert endpoint.get("context") == "zvonar-outbound"  # set after the template's value
    assert endpoint.get("callerid") == '"Ольга Мельник" <101>'
    assert aor.get("type") == "aor" and aor.get("max_contacts") == "1"
    assert conf.of_type("aor") == [aor]


def test_template_chain_and_arrow_assignments() -> None:
    text = (
        "[common](!)\nringinuse=no\n\n"
        "[campaign-tpl](!,common)\ntimeout=2\n\n"
        "[autumn](campaign-tpl)\nmember => PJSIP/102,0,Тарас Шевчук\n"
    )
    conf = parse_conf(text, "queues.conf")
    (autumn,) = conf.concrete()
    assert autumn.get("ringinuse") == "no" and autumn.get("timeout") == "2"
    (member,) = [e for e in autumn.entries if e.key == "member"]
    assert member.arrow and member.value == "PJSIP/102,0,Тарас Шевчук"
    assert member.line == 8


def test_comments_escaped_semicolons_and_block_comments() -> None:
    text = (
        "[zvonar-sub-autoanswer]\n"
        "exten => s,1,Set(PJSIP_HEADER(add,Call-Info)=<sip:127.0.0.1>\\;answer-after=0) ; auto answer\n"
        ";-- the next line is switched off\n"
        "exten => s,2,Hangup()\n"
        "--;\n"
        " same => n,Return()\n"
    )
    (section,) = parse_conf(text, "extensions.conf").sections
    assert [e.value for e in section.own] == [
        "s,1,Set(PJSIP_HEADER(add,Call-Info)=<sip:127.0.0.1>;answer-after=0)",
        "n,Return()",
    ]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[zvonar]\nsecret\n", 2, "expected 'key = value'"),
        ("read=call\n", 1, "before any [section]"),
        ("[101](agent-endpoint)\ntype=endpoint\n", 1, "template 'agent-endpoint' is not defined"),
        ("[general]\n#include manager.d/*.conf\n", 2, "'#include' is not supported"),
        ("[support]\nstrategy=leastrecent\n[support](+)\ntimeout=15\n", 3, "'(+)'"),
        ("[general\nenabled=yes\n", 1, "malformed section header"),
        ("[general]\n;-- never closed\nenabled=yes\n", 3, "never closed"),
        ("[a](!)\nx=1\n[a](!)\nx=2\n[b](a)\n", 5, "ambiguous"),
    ],
)
def test_bad_input_names_file_and_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfSyntaxError) as err:
        parse_conf(text, "manager.conf")
    assert err.value.line == line
    assert str(err.value).startswith(f"manager.conf:{line}: ")
    assert fragment in str(err.value)
