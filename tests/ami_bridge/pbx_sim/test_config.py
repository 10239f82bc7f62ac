"""Simulator settings: bad values are refused by name, and the defaults are asterisk-config's.

The simulator stands in for an Asterisk running ``asterisk-config/``; if someone
changes a timeout, a queue or an endpoint there, these tests say which default
of the simulator must follow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ami_bridge.pbx_sim import (
    AgentBehaviour,
    ClientBehaviour,
    DialplanConfig,
    QueueConfig,
    RandomClients,
    SimConfig,
    SimConfigError,
)

CONF_DIR = Path(__file__).resolve().parents[3] / "asterisk-config"


def _sections(name: str) -> dict[str, list[dict[str, list[str]]]]:
    """Asterisk .conf sections (templates applied); a name may have several sections (pjsip)."""
    raw: list[tuple[str, list[str], bool, dict[str, list[str]]]] = []
    for line in (CONF_DIR / name).read_text(encoding="utf-8").splitlines():
        line = re.sub(r"(?<!\\);.*$", "", line).strip()
        if not line:
            continue
        header = re.match(r"^\[([^\]]+)\](?:\(([^)]*)\))?$", line)
        if header:
            options = [o.strip() for o in (header.group(2) or "").split(",") if o.strip()]
            raw.append((header.group(1), [o for o in options if o != "!"], "!" in options, {}))
            continue
        key, _, value = line.partition("=>") if "=>" in line else line.partition("=")
        raw[-1][3].setdefault(key.strip(), []).append(value.strip())
    templates = {n: (parents, values) for n, parents, is_template, values in raw if is_template}

    def resolved(parents: list[str], values: dict[str, list[str]]) -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for parent in parents:
            merged.update(resolved(*templates[parent]))
        merged.update({key: list(vals) for key, vals in values.items()})
        return merged

    out: dict[str, list[dict[str, list[str]]]] = {}
    for section, parents, is_template, values in raw:
        if not is_template:
            out.setdefault(section, []).append(resolved(parents, values))
    return out


def test_bad_settings_are_refused_naming_the_setting() -> None:
    with pytest.raises(SimConfigError, match="time_scale"):
        SimConfig(time_scale=0)
    with pytest.raises(SimConfigError, match="ClientBehaviour.outcome"):
        ClientBehaviour(outcome="maybe")
    with pytest.raises(SimConfigError, match="ring_seconds"):
        ClientBehaviour(ring_seconds=-1)
    with pytest.raises(SimConfigError, match="AgentBehaviour.answer_after"):
        AgentBehaviour(answer_after=-0.5)
    with pytest.raises(SimConfigError, match="strategy"):
        QueueConfig("support", strategy="loudest")
    with pytest.raises(SimConfigError, match="joinempty"):
        QueueConfig("support", joinempty=frozenset({"sometimes"}))
    with pytest.raises(SimConfigError, match="odds"):
        RandomClients(answer=0, busy=0, no_answer=0, congestion=0)
    with pytest.raises(SimConfigError, match="RandomClients.machine"):
        RandomClients(machine=1.5)
    with pytest.raises(SimConfigError, match="amd_human_seconds"):
        DialplanConfig(amd_human_seconds=-1)
    with pytest.raises(SimConfigError, match="duplicate"):
        SimConfig(queues=(QueueConfig("q"), QueueConfig("q")))
    with pytest.raises(SimConfigError, match="port"):
        SimConfig(port=70000)


def test_client_numbers_are_looked_up_without_a_plus() -> None:
    config = SimConfig(clients={"+79161234567": ClientBehaviour("busy", 1)})
    assert config.clients["79161234567"].outcome == "busy"


def test_dialplan_defaults_are_asterisk_configs_globals_and_contexts() -> None:
    extensions = _sections("extensions.conf")
    globals_ = {k: v[0] for k, v in extensions["globals"][0].items()}
    dialplan = DialplanConfig()
    assert float(globals_["DIAL_TIMEOUT"]) == dialplan.dial_timeout
    assert float(globals_["INBOUND_QUEUE_TIMEOUT"]) == dialplan.inbound_queue_timeout
    assert (globals_["COMPANY_CID_NAME"], globals_["COMPANY_CID_NUM"]) == (
        dialplan.company_cid_name, dialplan.company_cid_num)
    for context in (dialplan.outbound_context, dialplan.campaign_context, dialplan.inbound_context,
                    dialplan.agents_context):
        assert context in extensions, f"{context} is not a context of asterisk-config/extensions.conf"
    campaign_section = extensions[dialplan.campaign_context][0]
    campaign = " ".join(campaign_section["exten"] + campaign_section.get("same", []))
    queue_call = re.search(r"Queue\(\$\{ZVONAR_QUEUE\},[^,]*,,,(\d+)\)", campaign)
    assert queue_call and float(queue_call.group(1)) == dialplan.campaign_queue_timeout
    inbound = extensions[dialplan.inbound_context][0]["exten"]
    dids = {line.split(",", 1)[0] for line in inbound if re.match(r"^\d+,1,", line)}
    assert dids == set(dialplan.inbound_routes)
    assert set(dialplan.inbound_routes.values()) == {"support"}


def test_queue_defaults_are_asterisk_configs_queues() -> None:
    queues = _sections("queues.conf")
    configured = {q.name: q for q in SimConfig().queues}
    assert set(configured) == set(queues) - {"general"}
    for name, queue in configured.items():
        conf = {k: v for k, v in queues[name][0].items()}
        assert queue.strategy == conf["strategy"][0], name
        assert queue.timeout == float(conf["timeout"][0]), name
        assert queue.retry == float(conf["retry"][0]), name
        assert queue.wrapuptime == float(conf["wrapuptime"][0]), name
        assert queue.ringinuse == (conf["ringinuse"][0] == "yes"), name
        assert queue.autopause == (conf["autopause"][0] == "yes"), name
        assert queue.joinempty == frozenset(conf["joinempty"][0].split(",")), name
        assert queue.leavewhenempty == frozenset(conf["leavewhenempty"][0].split(",")), name
        members = [tuple(m.split(",")) for m in conf.get("member", [])]
        assert [(m.interface, str(m.penalty), m.name) for m in queue.members] == members, name


def test_endpoint_defaults_are_asterisk_configs_agent_phones_and_trunk() -> None:
    pjsip = _sections("pjsip.conf")
    endpoints = {
        name: section for name, sections in pjsip.items() for section in sections
        if section.get("type") == ["endpoint"]
    }
    config = SimConfig()
    agents = {name: s for name, s in endpoints.items() if s["context"] == [config.dialplan.agents_context]}
    assert {name: re.match(r'"(.*)"', s["callerid"][0]).group(1) for name, s in agents.items()} == dict(
        config.endpoints)
    trunk = endpoints[config.dialplan.trunk_endpoint]
    assert trunk["context"] == [config.dialplan.inbound_context]
