"""The AMI wire format against real captures: framing, UTF-8 across reads, refusal of CR/LF."""

from __future__ import annotations

import random
import re

import pytest

from ami_bridge.protocol import (
    TEXT_KEY,
    AmiParser,
    UnsafeAmiValue,
    check_field,
    encode_action,
    parse_stream,
)
from tests.ami_bridge.trace_files import (
    MISSING,
    raw_files,
    records,
    require,
    third_party_dir,
    trace_path,
)

NAME = "Иван Петров"


def _first_block_with(data: bytes, needle: bytes) -> bytes:
    """The exact bytes (greeting stripped) of the first message in a capture containing ``needle``."""
    body = data.split(b"\r\n", 1)[1]
    for block in body.split(b"\r\n\r\n"):
        if needle in block:
            return block + b"\r\n\r\n"
    raise AssertionError(f"{needle!r} not in capture")


@pytest.fixture(scope="module")
def cyrillic_message() -> bytes:
    data = trace_path("click_to_call_answered", ".raw").read_bytes()
    return _first_block_with(data, f"CallerIDName: {NAME}".encode())


def test_cyrillic_name_split_at_every_byte_offset_decodes_intact(cyrillic_message: bytes) -> None:
    greeting = b"Asterisk Call Manager/13.0.0\r\n"
    name_at = cyrillic_message.index(NAME.encode())
    offsets = range(1, len(cyrillic_message))
    assert name_at + 1 in offsets  # the split inside the first two-byte letter is covered
    for offset in offsets:
        parser = AmiParser()
        assert parser.feed(greeting) == [{"Banner": "Asterisk Call Manager/13.0.0"}]
        first = parser.feed(cyrillic_message[:offset])
        second = parser.feed(cyrillic_message[offset:])
        messages = first + second
        assert len(messages) == 1, offset
        assert messages[0]["CallerIDName"] == NAME, offset
        assert messages[0]["Event"] == "NewCallerid"
        assert parser.pending == ""


def test_cyrillic_name_fed_one_byte_at_a_time(cyrillic_message: bytes) -> None:
    parser = AmiParser()
    parser.feed(b"Asterisk Call Manager/13.0.0\r\n")
    messages = []
    for index in range(len(cyrillic_message)):
        messages += parser.feed(cyrillic_message[index : index + 1])
    assert [m["CallerIDName"] for m in messages] == [NAME]


def _recorded_messages(raw_name: str) -> list[dict]:
    if raw_name.endswith(".conn2.raw"):
        scenario, conn = raw_name[: -len(".conn2.raw")], 2
    else:
        scenario, conn = raw_name[: -len(".raw")], 1
    return [r["msg"] for r in records(scenario) if r["dir"] == "in" and r["conn"] == conn]


@pytest.mark.parametrize("raw_name", raw_files())
def test_raw_capture_splits_into_exactly_the_recorded_messages(raw_name: str) -> None:
    if raw_name == MISSING:
        trace_path(MISSING, "")
    data = trace_path(raw_name[: -len(".raw")], ".raw").read_bytes()
    expected = _recorded_messages(raw_name)
    assert expected, raw_name
    assert parse_stream(data) == expected


@pytest.mark.parametrize("raw_name", raw_files())
def test_raw_capture_split_into_random_reads_gives_the_same_messages(raw_name: str) -> None:
    if raw_name == MISSING:
        trace_path(MISSING, "")
    data = trace_path(raw_name[: -len(".raw")], ".raw").read_bytes()
    expected = _recorded_messages(raw_name)
    rng = random.Random(raw_name)
    for max_read in (3, 97, 1500):
        parser = AmiParser()
        got = []
        pos = 0
        while pos < len(data):
            size = rng.randint(1, max_read)
            got += parser.feed(data[pos : pos + size])
            pos += size
        assert got == expected, (raw_name, max_read)
        assert parser.pending == ""


def _panoramisk_files() -> list[str]:
    root = third_party_dir() / "panoramisk" / "fixtures"
    if not root.is_dir():
        return [MISSING]
    return sorted(p.name for p in root.iterdir() if p.is_file())


@pytest.mark.parametrize("name", _panoramisk_files())
def test_panoramisk_fixture_parses_into_its_blocks(name: str) -> None:
    path = require(third_party_dir() / "panoramisk" / "fixtures" / name)
    data = path.read_bytes()
    text = data.decode("utf-8")
    # Counted independently: blocks between empty lines, the greeting being a line of its own.
    blocks = [b for b in re.split(r"\n\r?\n", text) if b.strip()]
    expected_count = len(blocks) + (1 if text.lstrip().startswith("Asterisk Call Manager") else 0)
    parser = AmiParser()
    # The captures stop without the blank line after their last message; a message
    # is only complete once it arrives.
    messages = parser.feed(data) + parser.feed(b"\n\n")
    assert len(messages) == expected_count
    for message in messages:
        assert message and all(isinstance(key, str) and key for key in message)


def test_panoramisk_command_output_is_kept_as_text() -> None:
    path = require(third_party_dir() / "panoramisk" / "fixtures" / "command_core_show_version.yaml")
    messages = parse_stream(path.read_bytes())
    response = messages[1]
    assert response["Response"] == "Follows"
    assert response[TEXT_KEY][-1] == "--END COMMAND--"


def test_panoramisk_greeting_of_an_ami_7_system() -> None:
    path = require(third_party_dir() / "panoramisk" / "fixtures" / "login_md5.yaml")
    messages = parse_stream(path.read_bytes())
    assert messages[0] == {"Banner": "Asterisk Call Manager/7.0.3"}
    assert messages[2]["Challenge"] == "145769581"


def test_bare_lf_terminators_and_repeated_keys() -> None:
    data = b"Asterisk Call Manager/1.3\nEvent: UserEvent\nVariable: A=1\nVariable: B=2\nVariable: C=3\n\n"
    assert parse_stream(data) == [
        {"Banner": "Asterisk Call Manager/1.3"},
        {"Event": "UserEvent", "Variable": ["A=1", "B=2", "C=3"]},
    ]


def test_terminator_split_between_reads_and_empty_values() -> None:
    parser = AmiParser()
    assert parser.feed(b"Asterisk Call Manager/13.0.0\r\nEvent: Hangup\r\nAccountCode: \r\nCause: 16\r\n\r") == [
        {"Banner": "Asterisk Call Manager/13.0.0"}
    ]
    assert parser.feed(b"\n") == [{"Event": "Hangup", "AccountCode": "", "Cause": "16"}]


def test_capture_started_mid_stream_has_no_banner() -> None:
    assert parse_stream(b"\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n") == [
        {"Event": "FullyBooted", "Status": "Fully Booted"}
    ]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    messages = parse_stream(b"Event: NewCallerid\r\nCallerIDName: \xff\xfe\xd0\r\n\r\nEvent: Hangup\r\n\r\n")
    assert messages[0]["CallerIDName"] == "\ufffd\ufffd\ufffd"
    assert messages[1] == {"Event": "Hangup"}


REAL_ORIGINATE = {
    "Action": "Originate",
    "ActionID": "zv-3237e177bb",
    "Channel": "Local/101@agents",
    "Context": "outbound",
    "Exten": "79161234567",
    "Priority": "1",
    "CallerID": '"Иван Петров" <79161234567>',
    "Timeout": "30000",
    "Async": "true",
}


def test_encode_action_round_trips_through_the_parser() -> None:
    wire = encode_action(REAL_ORIGINATE)
    assert wire.endswith(b"\r\n\r\n")
    assert parse_stream(wire) == [REAL_ORIGINATE]


def test_encode_action_repeats_list_values_and_skips_none() -> None:
    wire = encode_action({"Action": "Originate", "Variable": ["ZV_A=1", "ZV_B=Олена"], "Account": None})
    assert wire == "Action: Originate\r\nVariable: ZV_A=1\r\nVariable: ZV_B=Олена\r\n\r\n".encode()


@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n"])
@pytest.mark.parametrize("where", ["key", "value", "list_item", "object_value"])
def test_encode_action_refuses_line_breaks_anywhere(breaker: str, where: str) -> None:
    action: dict[str, object] = dict(REAL_ORIGINATE)
    injected = f"79161234567{breaker}Action: Command{breaker}Command: core stop now"
    if where == "key":
        action[f"Exten{breaker}Action: Command"] = "1"
    elif where == "value":
        action["Exten"] = injected
    elif where == "list_item":
        action["Variable"] = ["ZV_OK=1", f"ZV_NOTE={injected}"]
    else:

        class Sneaky:
            def __str__(self) -> str:
                return injected

        action["Data"] = Sneaky()
    with pytest.raises(UnsafeAmiValue):
        encode_action(action)


@pytest.mark.parametrize("key", ["Exten: 1", "", "   "])
def test_check_field_refuses_bad_header_names(key: str) -> None:
    with pytest.raises(UnsafeAmiValue, match="header name"):
        check_field(key, "x")


def test_check_field_error_names_the_field() -> None:
    with pytest.raises(UnsafeAmiValue, match="'CallerID'"):
        check_field("CallerID", "Иван\nПетров")
