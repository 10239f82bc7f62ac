"""asterisk-config/: the dialplan passes asterisklint and the four files agree with each other and with Zvonar.

The AMI checks replay the real recorded traces (../shared/ami-traces) through
the read classes and event filters of manager.conf, the way Asterisk applies
them, so a change that would starve the call tracker fails here.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.asterisk_config.conf_reader import ConfFile, Section, read_conf
from tests.ami_bridge.trace_files import shared_dir
from tests.asterisk_config.dialplan_reader import Step, split_args, steps

REPO_ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = REPO_ROOT / "asterisk-config"
SHARED_DIR = shared_dir()
TRACES_DIR = SHARED_DIR / "ami-traces"

# The contract with ami_bridge and the dialer: they originate into these.
CONTRACT_CONTEXTS = {"zvonar-agents", "zvonar-outbound", "zvonar-inbound", "zvonar-campaign"}
AGENT_ENDPOINTS = {"101", "102", "103", "104", "105"}
TRUNK_ENDPOINT = "trunk"
DEFAULT_CAMPAIGN_QUEUE = "campaign"

# asterisklint message code -> why it is acceptable here. Empty: the dialplan
# is clean; add an entry only with the reason it is not a real problem.
ALLOWED_LINT: dict[str, str] = {}
# Applications asterisklint has no module for, though Asterisk 20/22 ship them ->
# where they live. Only E_APP_MISSING for these names is excused.
APPS_LINT_LACKS: dict[str, str] = {
    "AMD": "apps/app_amd.c (answering-machine detection, in Asterisk since 1.4)",
}
_APP_MISSING = re.compile(r"^app '(?P<app>[A-Za-z0-9_]+)' does not exist")

# Which write class each AMI action needs, as registered in Asterisk 20/22
# (main/manager.c __init_manager: ast_manager_register_xml_core; apps/app_queue.c
# load_module). An action runs when the user has ANY of its classes; an empty
# set means no class is needed.
AMI_ACTION_CLASSES: dict[str, set[str]] = {
    "Login": set(),
    "Logoff": set(),
    "Ping": set(),
    "Events": set(),
    "Originate": {"originate"},
    "Hangup": {"system", "call"},
    "Status": {"system", "call", "reporting"},
    "CoreShowChannels": {"system", "reporting"},
    "Redirect": {"call"},
    "Setvar": {"call"},
    "Getvar": {"call", "reporting"},
    "BlindTransfer": {"call"},
    "Atxfer": {"call"},
    "QueueAdd": {"agent"},
    "QueueRemove": {"agent"},
    "QueuePause": {"agent"},
    "QueuePenalty": {"agent"},
    "QueueLog": {"agent"},
    "QueueStatus": set(),
    "QueueSummary": set(),
}
# Write classes that would hand the AMI user the machine: CLI commands,
# rewriting config files (System() in the dialplan), module loading.
DANGEROUS_WRITE = {"all", "system", "command", "config"}
# queues.conf options removed from app_queue (12-21); Asterisk 20/22 ignore or refuse them.
REMOVED_QUEUE_OPTIONS = {
    "eventwhencalled",
    "eventmemberstatus",
    "monitor-join",
    "monitor-type",
    "monitor-format",
    "membermacro",
    "updatecdr",
}
# List responses to our own actions carry no event class and are never filtered.
LIST_RESPONSE_EVENTS = {"CoreShowChannel", "CoreShowChannelsComplete", "Status", "StatusComplete"}

_LINT_LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+) (?P<code>[EWHI]_[A-Z0-9_]+): (?P<text>.*)$")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def extensions() -> ConfFile:
    return read_conf(CONF_DIR / "extensions.conf")


@pytest.fixture(scope="module")
def manager() -> ConfFile:
    return read_conf(CONF_DIR / "manager.conf")


@pytest.fixture(scope="module")
def queues() -> ConfFile:
    return read_conf(CONF_DIR / "queues.conf")


@pytest.fixture(scope="module")
def pjsip() -> ConfFile:
    return read_conf(CONF_DIR / "pjsip.conf")


@pytest.fixture(scope="module")
def dialplan(extensions: ConfFile) -> list[Step]:
    out: list[Step] = []
    for section in extensions.concrete():
        if section.name not in ("general", "globals"):
            out.extend(steps(section))
    return out


@pytest.fixture(scope="module")
def zvonar_user(manager: ConfFile) -> Section:
    users = manager.named("zvonar")
    assert len(users) == 1, "manager.conf must define the [zvonar] AMI user exactly once"
    return users[0]


def _classes(value: str | None) -> set[str]:
    return {c.strip().lower() for c in (value or "").split(",") if c.strip()}


def _contexts(extensions: ConfFile) -> set[str]:
    return {s.name for s in extensions.concrete()} - {"general", "globals"}


def _queues(queues: ConfFile) -> set[str]:
    return {s.name for s in queues.concrete()} - {"general"}


def _endpoints(pjsip: ConfFile) -> dict[str, Section]:
    return {s.name: s for s in pjsip.of_type("endpoint")}


# ---------------------------------------------------------------- asterisklint


def _asterisklint() -> Path:
    exe = Path(sys.executable).with_name("asterisklint")
    assert exe.exists(), f"asterisklint not found next to {sys.executable}: install the dev extras"
    return exe


def test_asterisklint_dialplan_check_reports_nothing_unexplained() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ALINT_IGNORE"}  # nobody mutes checks from outside
    result = subprocess.run(
        [str(_asterisklint()), "dialplan-check", "--func-odbc", "", str(CONF_DIR / "extensions.conf")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    messages = [m.groupdict() for m in map(_LINT_LINE.match, result.stderr.splitlines()) if m]
    unexplained = [m for m in messages if m["code"] not in ALLOWED_LINT and not _lint_lacks_app(m)]
    assert not unexplained, "asterisklint:\n" + "\n".join(
        f"{m['file']}:{m['line']} {m['code']}: {m['text']}" for m in unexplained
    )
    if not messages:
        assert result.returncode == 0, f"asterisklint failed without a message:\n{result.stderr}"


def _lint_lacks_app(message: dict[str, str]) -> bool:
    """An E_APP_MISSING for an application Asterisk has and asterisklint does not know."""
    found = _APP_MISSING.match(message["text"]) if message["code"] == "E_APP_MISSING" else None
    return found is not None and found["app"] in APPS_LINT_LACKS


def test_asterisklint_catches_a_broken_dialplan(tmp_path: Path) -> None:
    # Proves the check above is live: the same invocation on a known-bad dialplan reports it.
    bad = tmp_path / "extensions.conf"
    bad.write_text("[zvonar-broken]\nexten => s,1,Goto(no-such-context,s,1)\n same => n,Dail(PJSIP/101)\n")
    env = {k: v for k, v in os.environ.items() if k != "ALINT_IGNORE"}
    result = subprocess.run(
        [str(_asterisklint()), "dialplan-check", "--func-odbc", "", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    codes = {m.group("code") for m in map(_LINT_LINE.match, result.stderr.splitlines()) if m}
    assert {"E_APP_MISSING", "E_DP_GOTO_NOCONTEXT"} <= codes
    assert result.returncode == 1


# ---------------------------------------------------------------- extensions.conf


def test_contract_contexts_exist(extensions: ConfFile) -> None:
    missing = CONTRACT_CONTEXTS - _contexts(extensions)
    assert not missing, f"extensions.conf lacks the contexts Zvonar originates into: {sorted(missing)}"


def test_globals_are_defined_and_used(extensions: ConfFile, dialplan: list[Step]) -> None:
    globals_ = extensions.named("globals")
    assert len(globals_) == 1
    defined = {e.key for e in globals_[0].own}
    assert {"COMPANY_CID_NAME", "COMPANY_CID_NUM", "DIAL_TIMEOUT"} <= defined
    used = {name for step in dialplan for name in re.findall(r"\$\{([A-Z_]+)\}", ",".join(step.args))}
    assert defined <= used, f"[globals] nobody reads: {sorted(defined - used)}"


def test_every_queue_the_dialplan_joins_exists(dialplan: list[Step], queues: ConfFile) -> None:
    names = {step.args[0].strip() for step in dialplan if step.app == "Queue"}
    literal = {n for n in names if "${" not in n}
    assert "support" in literal
    missing = literal - _queues(queues)
    assert not missing, f"Queue() names missing from queues.conf: {sorted(missing)}"
    # ${ZVONAR_QUEUE} comes from the dialer; the documented default must exist.
    assert DEFAULT_CAMPAIGN_QUEUE in _queues(queues)


def test_every_literal_pjsip_dial_target_is_an_endpoint(dialplan: list[Step], pjsip: ConfFile) -> None:
    targets = set()
    for step in dialplan:
        if step.app != "Dial":
            continue
        for dest in step.args[0].split("&"):
            tech, _, resource = dest.partition("/")
            assert tech == "PJSIP", f"line {step.line}: only PJSIP is dialled in production, got {dest!r}"
            endpoint = resource.split("@", 1)[1] if "@" in resource else resource
            if "${" not in endpoint:
                targets.add(endpoint)
    assert TRUNK_ENDPOINT in targets
    missing = targets - set(_endpoints(pjsip))
    assert not missing, f"Dial() to endpoints that pjsip.conf lacks: {sorted(missing)}"


def test_queue_predial_subroutines_exist(dialplan: list[Step], extensions: ConfFile) -> None:
    contexts = _contexts(extensions)
    gosubs = []
    for step in (s for s in dialplan if s.app == "Queue" and len(s.args) > 1):
        for match in re.finditer(r"[bB]\(([^)^]+)\^([^)^]+)\^([^)^]+)\)", step.args[1]):
            gosubs.append(match.groups())
    assert gosubs, "the campaign queue call is expected to auto-answer the agents' phones"
    for context, exten, _prio in gosubs:
        assert context in contexts, f"Queue b()/B() jumps to missing context {context!r}"
        assert any(s.context == context and s.exten == exten for s in steps(extensions.named(context)[0]))


def test_click_to_call_dials_the_client_through_the_trunk_with_the_company_cid(dialplan: list[Step]) -> None:
    outbound = [s for s in dialplan if s.context == "zvonar-outbound" and s.exten.startswith("_")]
    apps = [s.app for s in outbound]
    set_cid = next(s for s in outbound if s.app == "Set" and s.args[0].startswith("CALLERID(all)="))
    assert "${COMPANY_CID_NAME}" in set_cid.args[0] and "${COMPANY_CID_NUM}" in set_cid.args[0]
    dial = next(s for s in outbound if s.app == "Dial")
    assert dial.args[:2] == ("PJSIP/${EXTEN}@trunk", "${DIAL_TIMEOUT}")
    assert apps.index("Set") < apps.index("Dial") < apps.index("Hangup")
    # The number is proven digits-only before it can reach the dial string.
    guard = next(s for s in outbound if s.app == "GotoIf")
    assert apps.index("GotoIf") < apps.index("Dial")
    assert "FILTER(0-9,${EXTEN})" in guard.args[0]


def test_a_campaigns_preview_call_shows_the_campaigns_own_number(dialplan: list[Step]) -> None:
    outbound = [s for s in dialplan if s.context == "zvonar-outbound" and s.exten.startswith("_")]
    apps = [s.app for s in outbound]
    sets = [i for i, s in enumerate(outbound) if s.app == "Set" and s.args[0].startswith("CALLERID(all)=")]
    assert [outbound[i].args[0] for i in sets][1:] == ["CALLERID(all)=${ZVONAR_CALLER_ID}"]
    # The company number first, the campaign's over it when given, then the dial.
    assert sets[0] < sets[1] < apps.index("Dial")
    skip = outbound[sets[1] - 1]
    assert skip.app == "GotoIf" and "${LEN(${ZVONAR_CALLER_ID})}" in skip.args[0]
    assert outbound[apps.index("Dial")].label == skip.args[0].split("?")[1]


def _pattern(exten: str) -> re.Pattern[str]:
    """An Asterisk extension pattern (_X, Z, N, [..], ., !) as a regex; a plain extension matches itself."""
    if not exten.startswith("_"):
        return re.compile(re.escape(exten))
    out = []
    for ch in re.findall(r"\[[^\]]*\]|.", exten[1:]):
        out.append({"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(ch.upper(), ch if ch.startswith("[")
                                                                                  else re.escape(ch)))
    return re.compile("".join(out))


def test_agents_dial_out_through_the_click_to_call_context_only_to_the_clients_countries(dialplan: list[Step]) -> None:
    agents = [s for s in dialplan if s.context == "zvonar-agents"]
    gotos = {s.args[0] for s in agents if s.app == "Goto"}
    assert gotos == {"zvonar-outbound"}
    # Asterisk takes the most specific pattern; the country ones are all more specific than _X.,
    # so a number goes out exactly when one of them matches it.
    out = [_pattern(s.exten) for s in agents if s.app == "Goto" and s.priority == "1"]
    allowed = ["89161234567", "+79161234567", "74951234567", "80291234567", "+375291234567", "0671234567",
               "+380671234567", "380442351234"]
    refused = ["810442079460958", "00442079460958", "+442079460958", "+19005551234", "0900123456789", "8800"]
    assert [n for n in allowed if not any(p.fullmatch(n) for p in out)] == []
    assert [n for n in refused if any(p.fullmatch(n) for p in out)] == []


def test_inbound_answers_then_queues_in_support(dialplan: list[Step]) -> None:
    entry = [s for s in dialplan if s.context == "zvonar-inbound" and s.exten == "support"]
    apps = [s.app for s in entry]
    assert apps.index("Answer") < apps.index("Queue")
    queue = entry[apps.index("Queue")]
    assert queue.args[0] == "support"
    inherited = {s.args[0].split("=", 1)[0] for s in entry if s.app == "Set"}
    assert {"__ZVONAR_DIRECTION", "__ZVONAR_CALLER", "__ZVONAR_QUEUE"} <= inherited


def test_campaign_call_is_an_abandon_after_two_seconds_without_agent(dialplan: list[Step]) -> None:
    main = [s for s in dialplan if s.context == "zvonar-campaign" and s.exten == "s"]
    apps = [s.app for s in main]
    queue = main[apps.index("Queue")]
    assert queue.args[0] == "${ZVONAR_QUEUE}"
    assert queue.args[4] == "2", "the abandon limit is 2 seconds"
    after = apps[apps.index("Queue") + 1 :]
    # Reported before the message, so a client hanging up on it is still counted.
    assert after.index("UserEvent") < after.index("Gosub") < after.index("Hangup")
    message = main[apps.index("Queue") + 1 + after.index("Gosub")]
    assert message.args[0] == "zvonar-sub-who-called"
    events = [s for s in dialplan if s.context == "zvonar-campaign" and s.app == "UserEvent"
              and s.args[0] == "ZvonarAbandon"]
    assert {e.exten for e in events} == {"s", "h"}, "timeout and client hang-up are both reported"
    for event in events:
        assert event.args[0] == "ZvonarAbandon"
        headers = {a.split(":", 1)[0].strip() for a in event.args[1:]}
        assert {"Campaign", "Queue", "Reason"} <= headers


def test_answering_machines_are_dropped_and_humans_keep_the_two_second_rule(dialplan: list[Step]) -> None:
    main = [s for s in dialplan if s.context == "zvonar-campaign" and s.exten == "s"]
    labelled = {s.label: i for i, s in enumerate(main) if s.label}
    # Only a campaign that asks for it (Variable ZVONAR_AMD=1) runs the analysis.
    branch = main[labelled["queue"]]
    assert branch.app == "GotoIf" and '"${ZVONAR_AMD}" = "1"' in branch.args[0] and branch.args[0].endswith("?amd")
    amd = labelled["amd"]
    assert main[amd].app == "AMD"
    verdict = main[amd + 1]
    assert verdict.app == "GotoIf" and '"${AMDSTATUS}" = "MACHINE"' in verdict.args[0]
    assert verdict.args[0].endswith("?machine"), "only MACHINE is dropped: NOTSURE may be a person"
    human, queue, back = main[amd + 2 : amd + 5]
    assert human.app == "UserEvent" and human.args[0] == "ZvonarHuman"
    assert "Campaign: ${ZVONAR_CAMPAIGN}" in [a.strip() for a in human.args[1:]]
    assert queue.app == "Queue" and queue.args[0] == "${ZVONAR_QUEUE}"
    # The greeting ended after_greeting_silence before the verdict: the agent has the rest of 2 s.
    after_greeting = int(read_conf(CONF_DIR / "amd.conf").named("general")[0].get("after_greeting_silence"))
    assert after_greeting / 1000 + int(queue.args[4]) <= 2.0
    # No agent in time: the same abandon report as without AMD.
    assert back.app == "Goto" and back.args[0] == "noagent"
    noagent = main[labelled["noagent"]]
    assert noagent.app == "Set" and noagent.args[0].startswith("ZVONAR_ABANDON_REASON=")
    machine = main[labelled["machine"]]
    assert machine.app == "UserEvent" and machine.args[0] == "ZvonarMachine"
    assert "Campaign: ${ZVONAR_CAMPAIGN}" in [a.strip() for a in machine.args[1:]]
    after_machine = main[labelled["machine"] + 1 : labelled["machine"] + 3]
    assert [s.app for s in after_machine] == ["Gosub", "Hangup"], "a machine never reaches an agent"
    assert after_machine[0].args[0] == "zvonar-sub-who-called", "a person AMD misread hears who called"


def test_who_called_plays_the_campaigns_recording_else_the_stock_apology(dialplan: list[Step]) -> None:
    # FTC 16 CFR 310.4(b)(4)(iii) and Ofcom: the abandoned client hears the company's name and a number.
    sub = [s for s in dialplan if s.context == "zvonar-sub-who-called" and s.exten == "s"]
    labelled = {s.label: i for i, s in enumerate(sub) if s.label}
    none_named, recording, played, stock, back = sub
    assert none_named.app == "GotoIf" and '"${ZVONAR_ABANDON_MESSAGE}" = ""' in none_named.args[0]
    assert none_named.args[0].endswith("?stock")
    assert recording.app == "Playback" and recording.args == ("${ZVONAR_ABANDON_MESSAGE}",)
    # A file missing on this PBX (PLAYBACKSTATUS FAILED) must not leave the client in silence.
    assert played.app == "GotoIf" and '"${PLAYBACKSTATUS}" = "SUCCESS"' in played.args[0] and played.args[0].endswith("?done")
    assert sub[labelled["stock"]] is stock and stock.app == "Playback"
    assert stock.args[0] == "all-circuits-busy-now&pls-try-call-later"
    assert sub[labelled["done"]] is back and back.app == "Return"


def test_amd_settings_lean_towards_a_person(extensions: ConfFile) -> None:
    general = read_conf(CONF_DIR / "amd.conf").named("general")[0]
    # app_amd: MACHINE once the words counted reach maximum_number_of_words.
    assert int(general.get("maximum_number_of_words")) >= 4, "«Да, алло, слушаю» is a person, not a machine"
    assert int(general.get("after_greeting_silence")) < 1000
    assert int(general.get("total_analysis_time")) <= 3000, "a doubtful call reaches an agent soon after it"


# ---------------------------------------------------------------- manager.conf


def test_ami_listens_on_loopback_only(manager: ConfFile) -> None:
    general = manager.named("general")[0]
    assert general.get("enabled") == "yes"
    assert general.get("webenabled") == "no"
    assert ipaddress.ip_address(general.get("bindaddr")).is_loopback


def test_zvonar_user_is_accepted_from_loopback_only(zvonar_user: Section) -> None:
    rules = [(e.key.lower(), e.value) for e in zvonar_user.entries if e.key.lower() in ("deny", "permit")]
    assert rules[0] == ("deny", "0.0.0.0/0.0.0.0"), "deny everything first"
    permits = [ipaddress.ip_network(v, strict=False) for k, v in rules if k == "permit"]
    assert permits and all(net.is_loopback for net in permits)


def test_zvonar_user_has_least_privilege(zvonar_user: Section) -> None:
    read = _classes(zvonar_user.get("read"))
    write = _classes(zvonar_user.get("write"))
    assert "all" not in read and "all" not in write
    assert not write & DANGEROUS_WRITE, f"write grants {sorted(write & DANGEROUS_WRITE)}"
    assert read == {"system", "call", "agent", "user", "dialplan"}
    assert write == {"originate", "call", "agent", "reporting"}


@pytest.mark.parametrize("action", sorted(AMI_ACTION_CLASSES))
def test_every_action_the_bridge_sends_is_permitted(zvonar_user: Section, action: str) -> None:
    needed = AMI_ACTION_CLASSES[action]
    write = _classes(zvonar_user.get("write"))
    assert not needed or needed & write, f"{action} needs one of {sorted(needed)}; write has {sorted(write)}"


def test_dialplan_user_events_are_readable(zvonar_user: Section, dialplan: list[Step]) -> None:
    assert any(s.app == "UserEvent" for s in dialplan)
    assert "user" in _classes(zvonar_user.get("read"))


def test_secret_is_the_marked_placeholder(zvonar_user: Section) -> None:
    # A real secret must never be committed; the placeholder tells the admin what to do.
    assert zvonar_user.get("secret").startswith("CHANGE_ME")


def _delivered(event: dict[str, str], read: set[str], excludes: list[re.Pattern[str]]) -> bool:
    """Would Asterisk send this recorded event to a session with these read classes and exclude filters?"""
    if event["Event"] in LIST_RESPONSE_EVENTS:
        return True
    classes = _classes(event.get("Privilege")) - {"all"}
    if not classes <= read:  # manager.c: (readperm & category) == category
        return False
    # Legacy eventfilter: an unanchored regex over the whole event text (Python re
    # equals POSIX ERE for the literal patterns used in manager.conf).
    text = "".join(f"{k}: {v}\r\n" for k, v in event.items())
    return not any(p.search(text) for p in excludes)


def _recorded_events() -> list[dict[str, str]]:
    files = sorted(TRACES_DIR.glob("*.jsonl")) + sorted(TRACES_DIR.glob("pjsip/*.jsonl"))
    assert files, f"no AMI traces under {TRACES_DIR} (set ZVONAR_SHARED_DIR)"
    events = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["dir"] == "in" and "Event" in record["msg"]:
                events.append(record["msg"])
    return events


def test_recorded_traffic_reaches_the_bridge_except_the_noise(zvonar_user: Section) -> None:
    read = _classes(zvonar_user.get("read"))
    filters = zvonar_user.get_all("eventfilter")
    assert all(f.startswith("!") for f in filters), "only exclude filters: an include filter would drop the rest"
    excludes = [re.compile(f[1:]) for f in filters]
    events = _recorded_events()
    dropped = [e for e in events if not _delivered(e, read, excludes)]
    kept = [e for e in events if _delivered(e, read, excludes)]

    dropped_names = {e["Event"] for e in dropped if e["Event"] != "VarSet"}
    assert dropped_names == {"SuccessfulAuth", "RTCPSent"}
    dropped_vars = {e["Variable"] for e in dropped if e["Event"] == "VarSet"}
    assert dropped_vars and all(v.startswith("RTPAUDIOQOS") for v in dropped_vars)

    kept_names = {e["Event"] for e in kept}
    tracker_needs = {
        "FullyBooted", "Newchannel", "Newstate", "NewCallerid", "NewConnectedLine", "Hangup",
        "HangupRequest", "SoftHangupRequest", "DialBegin", "DialState", "DialEnd", "LocalBridge",
        "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "OriginateResponse",
        "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled",
        "AgentRingNoAnswer", "AgentConnect", "AgentComplete", "QueueMemberStatus", "Newexten",
        "VarSet", "CoreShowChannel", "CoreShowChannelsComplete", "Status", "StatusComplete",
    }  # fmt: skip
    assert tracker_needs <= kept_names, f"lost: {sorted(tracker_needs - kept_names)}"
    kept_vars = {e["Variable"] for e in kept if e["Event"] == "VarSet"}
    assert {"DIALSTATUS", "ANSWEREDTIME", "QUEUESTATUS", "ABANDONED"} <= kept_vars


def test_event_replay_drops_what_read_classes_exclude() -> None:
    # The replay model itself: a reporting event is dropped, a call event kept, a filter bites.
    rtcp = {"Event": "RTCPSent", "Privilege": "reporting,all"}
    hangup = {"Event": "Hangup", "Privilege": "call,all", "Channel": "PJSIP/101-00000000"}
    qos = {"Event": "VarSet", "Privilege": "dialplan,all", "Variable": "RTPAUDIOQOSJITTER", "Value": "0"}
    read = {"call", "dialplan"}
    excludes = [re.compile("Variable: RTPAUDIOQOS")]
    assert not _delivered(rtcp, read, excludes)
    assert _delivered(hangup, read, excludes)
    assert not _delivered(qos, read, excludes)
    assert _delivered({**qos, "Variable": "DIALSTATUS"}, read, excludes)


# ---------------------------------------------------------------- queues.conf


def test_queues_use_no_removed_options(queues: ConfFile) -> None:
    for section in queues.sections:
        used = {e.key.lower() for e in section.own} & REMOVED_QUEUE_OPTIONS
        assert not used, f"[{section.name}] uses options app_queue no longer has: {sorted(used)}"


def test_queues_never_ring_an_agent_who_is_on_a_call(queues: ConfFile) -> None:
    for name in _queues(queues):
        section = queues.named(name)[0]
        assert section.get("ringinuse") == "no", f"[{name}]"
        assert section.get("strategy"), f"[{name}] has no strategy"


def test_campaign_queue_honours_the_dialplan_timeout(queues: ConfFile) -> None:
    campaign = queues.named(DEFAULT_CAMPAIGN_QUEUE)[0]
    assert campaign.get("timeoutpriority") == "app"
    assert not campaign.get_all("member"), "campaign members are added by Zvonar (QueueAdd)"


def test_queue_retries_are_whole_seconds_app_queue_honours(queues: ConfFile) -> None:
    # app_queue: q->retry = atoi(val); if (q->retry <= 0) q->retry = DEFAULT_RETRY (5 s).
    for name in _queues(queues):
        retry = queues.named(name)[0].get("retry")
        assert retry is not None and retry.isdigit() and int(retry) >= 1, f"[{name}] retry={retry}"


def test_queue_members_are_pjsip_endpoints(queues: ConfFile, pjsip: ConfFile) -> None:
    members = [split_args(m)[0].strip() for s in queues.concrete() for m in s.get_all("member")]
    assert {f"PJSIP/{n}" for n in AGENT_ENDPOINTS} <= set(members)
    for interface in members:
        tech, _, name = interface.partition("/")
        assert tech == "PJSIP" and name in _endpoints(pjsip), f"member {interface} is no pjsip.conf endpoint"


# ---------------------------------------------------------------- pjsip.conf


def test_every_endpoint_context_exists_in_the_dialplan(pjsip: ConfFile, extensions: ConfFile) -> None:
    endpoints = _endpoints(pjsip)
    contexts = _contexts(extensions)
    for name, endpoint in endpoints.items():
        assert endpoint.get("context") in contexts, f"endpoint {name}: context {endpoint.get('context')!r}"
    assert AGENT_ENDPOINTS <= set(endpoints)
    assert {endpoints[n].get("context") for n in AGENT_ENDPOINTS} == {"zvonar-agents"}
    assert endpoints[TRUNK_ENDPOINT].get("context") == "zvonar-inbound"


def test_pjsip_references_point_at_objects_of_the_right_type(pjsip: ConfFile) -> None:
    by_type = {t: {s.name for s in pjsip.of_type(t)} for t in ("aor", "auth", "transport")}
    for endpoint in pjsip.of_type("endpoint"):
        for option, kind in (("aors", "aor"), ("auth", "auth"), ("outbound_auth", "auth"), ("transport", "transport")):
            for ref in filter(None, (r.strip() for v in endpoint.get_all(option) for r in v.split(","))):
                assert ref in by_type[kind], f"endpoint {endpoint.name}: {option}={ref} is no {kind}"
        assert endpoint.get("aors"), f"endpoint {endpoint.name} has no aor: it cannot be called"


def test_same_name_sections_are_different_object_types(pjsip: ConfFile) -> None:
    seen: dict[str, list[str]] = {}
    for section in pjsip.concrete():
        assert section.get("type"), f"[{section.name}] (line {section.line}) has no type"
        seen.setdefault(section.name, []).append(section.get("type"))
    for name, types in seen.items():
        assert len(types) == len(set(types)), f"[{name}] defined twice as {types}"


def test_the_client_never_sees_an_agents_extension(pjsip: ConfFile) -> None:
    # app_queue hands the agent's caller ID to the client leg as its connected line on answer.
    trunk = _endpoints(pjsip)[TRUNK_ENDPOINT]
    assert trunk.get("send_connected_line") == "no"


def test_agent_passwords_are_marked_placeholders(pjsip: ConfFile) -> None:
    passwords = [s.get("password") for s in pjsip.of_type("auth")]
    assert len(passwords) == len(AGENT_ENDPOINTS)
    assert all(p and p.startswith("CHANGE_ME") for p in passwords)
