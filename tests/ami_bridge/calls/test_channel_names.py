"""Channel names, interfaces and caller IDs exactly as Asterisk wrote them in the recordings."""

from __future__ import annotations

import pytest

from ami_bridge.calls.channel_names import (
    clean_caller,
    extension_of,
    interface_of,
    local_partner_name,
    looks_like_number,
    parse_caller_id,
)


@pytest.mark.parametrize(
    ("channel", "interface"),
    [
        ("Local/101@agents-00000000;1", "Local/101@agents"),
        ("Local/201@queue-agents-0000001a;2", "Local/201@queue-agents"),
        ("PJSIP/202-00000000", "PJSIP/202"),
        ("PJSIP/trunk-00000004", "PJSIP/trunk"),
        ("SIP/voipgrid-siproute-docker-00000009", "SIP/voipgrid-siproute-docker"),
        ("Local/+31260010001@osvpi_world_call_permittedplus-00000013;1", "Local/+31260010001@osvpi_world_call_permittedplus"),
        ("PJSIP/201", "PJSIP/201"),
    ],
)
def test_interface_of(channel: str, interface: str) -> None:
    assert interface_of(channel) == interface


@pytest.mark.parametrize(
    ("interface", "extension"),
    [
        ("Local/201@queue-agents", "201"),
        ("Local/101@agents", "101"),
        ("PJSIP/203", "203"),
        ("Local/79160000001@pstn", "79160000001"),
        ("pjsip/380501234567@trunk", "380501234567"),
        ("SIP/trunk/79161234567", "79161234567"),
        ("PJSIP/trunk/sip:+79161234567@10.0.0.1:5060", "+79161234567"),
        ("Local/ID400379@osvpi_proc_connectab_ctd/n", "ID400379"),
        (None, None),
    ],
)
def test_extension_of(interface: str | None, extension: str | None) -> None:
    assert extension_of(interface) == extension


def test_local_partner_name() -> None:
    assert local_partner_name("Local/101@agents-00000000;1") == "Local/101@agents-00000000;2"
    assert local_partner_name("Local/101@agents-00000000;2") == "Local/101@agents-00000000;1"
    assert local_partner_name("PJSIP/202-00000000") is None


@pytest.mark.parametrize(
    ("caller_id", "parsed"),
    [
        ('"Иван Петров" <79161234567>', ("Иван Петров", "79161234567")),
        ('"Сяргей Лукашэвіч" <375447654321>', ("Сяргей Лукашэвіч", "375447654321")),
        ("Panoramisk tests", ("Panoramisk tests", None)),
        ("<380671112233>", (None, "380671112233")),
        ("+380671112233", (None, "+380671112233")),
        ("", (None, None)),
    ],
)
def test_parse_caller_id(caller_id: str, parsed: tuple) -> None:
    assert parse_caller_id(caller_id) == parsed


def test_unknown_caller_placeholders() -> None:
    assert clean_caller("<unknown>") is None and clean_caller("") is None
    assert clean_caller("Оператор 201") == "Оператор 201"


@pytest.mark.parametrize(("value", "number"), [("79161234567", True), ("+380671234567", True), ("s", False), ("_X.", False), ("12", False), (None, False)])
def test_looks_like_number(value: str | None, number: bool) -> None:
    assert looks_like_number(value) is number
