"""Test helpers (no tests here): the recording lab as simulator configs, and an AMI client that records.

``lab_config()`` / ``pjsip_lab_config()`` configure the simulator with the
behaviours of the recording dialplan in ../shared/ami-traces/README.md: which
client number answers/busies/rings, how each agent extension behaves, the lab's
queues and timeouts. Contexts the bridge originates into are Zvonar's
(``zvonar-outbound``...); ``CONTEXT_MAP`` translates the lab's names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ami_bridge.pbx_sim import (
    AgentBehaviour,
    AmiUser,
    ClientBehaviour,
    DialplanConfig,
    PbxSimulator,
    QueueConfig,
    QueueMemberConfig,
    SimConfig,
)
from ami_bridge.protocol import AmiParser, encode_action

EPOCH = 1795441640.0
USER, SECRET = "zvonar", "lab-secret"

# The lab's context names -> Zvonar's (the contract with asterisk-config and the bridge).
CONTEXT_MAP = {
    "outbound": "zvonar-outbound",
    "outbound-pjsip": "zvonar-outbound",
    "campaign": "zvonar-campaign",
    "inbound": "zvonar-inbound",
    "from-trunk": "zvonar-inbound",
    "from-agents": "zvonar-agents",
}

Record = dict[str, Any]


def _members(*exts: str, tech: str = "Local") -> tuple[QueueMemberConfig, ...]:
    if tech == "Local":
        return tuple(QueueMemberConfig(f"Local/{e}@queue-agents", f"Оператор {e}") for e in exts)
    return tuple(QueueMemberConfig(f"PJSIP/{e}", f"Оператор {e}") for e in exts)


def lab_config(time_scale: float, **overrides: Any) -> SimConfig:
    """The Local-channel recording lab (README: extensions.conf and queues.conf)."""
    answer = lambda ring, talk: ClientBehaviour("answer", ring, talk)  # noqa: E731
    clients = {
        "79161234567": answer(2, 3),
        "380671234567": ClientBehaviour("busy", 1),
        "375291234567": ClientBehaviour("no_answer"),
        "79160000001": answer(1, None),
        "79160000002": answer(2, None),
        "79160000003": answer(3, None),
        "79160000004": answer(4.5, None),
        "79160000005": answer(5.5, None),
        "380670000006": ClientBehaviour("busy", 1),
        "380670000007": ClientBehaviour("busy", 0),
        "375290000008": ClientBehaviour("no_answer"),
        "375290000009": ClientBehaviour("congestion", 0),
        "79160000010": ClientBehaviour("no_answer"),
        "79160000011": answer(18, None),
        "380670000012": ClientBehaviour("congestion", 1),
        "79167654321": answer(2, 20),
        "380939876543": answer(2, 20),
        "375447654321": answer(2, 20),
    }
    agents = {ext: AgentBehaviour(answer_after=1.0) for ext in ("101", "102", "103", "104", "105")}
    agents.update({
        "201": AgentBehaviour(answer_after=2.0, talk_seconds=4.0),
        "202": AgentBehaviour(answer_after=None),
        "203": AgentBehaviour(answer_after=None),
        "204": AgentBehaviour(busy=True),
        "301": AgentBehaviour(answer_after=1.0, talk_seconds=10.0),
        "302": AgentBehaviour(answer_after=1.0, talk_seconds=10.0),
        "303": AgentBehaviour(answer_after=1.0, talk_seconds=10.0),
    })
    queues = (
        QueueConfig("support", strategy="ringall", timeout=15, retry=1, members=_members("201", "202")),
        QueueConfig("sales", strategy="ringall", timeout=4, retry=1, members=_members("203", "204")),
        QueueConfig("campaign", strategy="linear", timeout=15, retry=1, members=_members("301", "302", "303")),
    )
    dialplan = DialplanConfig(
        local_client_context="pstn", dial_timeout=5, inbound_queue_timeout=120, campaign_queue_timeout=4,
        inbound_routes={"74951234567": "support", "74951234568": "sales"},
        prompt_seconds={}, default_prompt_seconds=0.0,
    )
    base = dict(port=0, users=(_user(),), time_scale=time_scale, dialplan=dialplan, queues=queues, agents=agents,
                clients=clients, random_clients=None, timestamp_events=True, epoch_start=EPOCH)
    base.update(overrides)
    return SimConfig(**base)


def pjsip_lab_config(scenario: str, time_scale: float, **overrides: Any) -> SimConfig:
    """The chan_pjsip lab: sipp phones 201-203 and the carrier, per scenario (README ``pjsip/``)."""
    agents = {
        "click_to_call_pjsip_answered": {"202": AgentBehaviour(answer_after=1.5)},
        "click_to_call_pjsip_busy": {"203": AgentBehaviour(answer_after=1.0)},
        "inbound_pjsip_queue_answered": {
            "201": AgentBehaviour(answer_after=None),
            "202": AgentBehaviour(answer_after=None),
            "203": AgentBehaviour(answer_after=2.0),
        },
    }[scenario]
    clients = {
        "380501234567": ClientBehaviour("answer", 2.0, 4.0, early_media=True),
        "79269876543": ClientBehaviour("busy", 2.0),
    }
    queues = (QueueConfig("support-sip", strategy="ringall", timeout=15, retry=1,
                          members=_members("201", "202", "203", tech="PJSIP")),)
    dialplan = DialplanConfig(
        dial_timeout=6, inbound_queue_timeout=120, inbound_routes={"74951234567": "support-sip"},
        prompt_seconds={}, default_prompt_seconds=0.0,
    )
    base = dict(port=0, users=(_user(),), time_scale=time_scale, dialplan=dialplan, queues=queues,
                endpoints={e: f"Оператор {e}" for e in ("201", "202", "203")}, agents=agents, clients=clients,
                random_clients=None, timestamp_events=True, epoch_start=EPOCH)
    base.update(overrides)
    return SimConfig(**base)


def _user() -> AmiUser:
    return AmiUser(USER, SECRET)


def read_trace(path: Path) -> list[Record]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


class RecordingClient:
    """An AMI client over real TCP that keeps what it receives as shared-trace records."""

    def __init__(self, sim: PbxSimulator, conn: int, records: list[Record]) -> None:
        self.sim = sim
        self.conn = conn
        self.records = records
        self.received: list[dict[str, Any]] = []
        self.sent_ids: list[str] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Condition()

    async def connect(self) -> None:
        assert self.sim.address is not None
        self._reader, self._writer = await asyncio.open_connection(*self.sim.address)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._reader is not None
        parser = AmiParser()
        epoch = self.sim.config.epoch_start or 0.0
        while True:
            data = await self._reader.read(65536)
            if not data:
                break
            for msg in parser.feed(data):
                stamp = msg.pop("Timestamp", None) if "Event" in msg else None
                t = float(stamp) - epoch if isinstance(stamp, str) else self.sim.now()
                self.records.append({"t": t, "dir": "in", "conn": self.conn, "msg": msg})
                async with self._arrived:
                    self.received.append(msg)
                    self._arrived.notify_all()

    async def send(self, action: Mapping[str, Any]) -> None:
        await self.send_together([action])

    async def wait_for(self, predicate, timeout: float = 5.0) -> dict[str, Any]:
        """The first received message (old or new) for which ``predicate`` is true."""

        async def find() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for msg in self.received:
                        if predicate(msg):
                            return msg
                    await self._arrived.wait()

        return await asyncio.wait_for(find(), timeout)

    async def response(self, action_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return await self.wait_for(lambda m: "Response" in m and "Event" not in m and m.get("ActionID") == action_id,
                                   timeout)

    async def send_together(self, actions: list[Mapping[str, Any]]) -> None:
        """Send ``actions`` in one write, so the simulator reads them together (as a dialer's batch)."""
        assert self._writer is not None
        for action in actions:
            self.records.append({"t": self.sim.now(), "dir": "out", "conn": self.conn, "msg": dict(action)})
            if action.get("ActionID"):
                self.sent_ids.append(str(action["ActionID"]))
        self._writer.write(b"".join(encode_action(action) for action in actions))
        await self._writer.drain()

    async def answered(self, timeout: float = 5.0) -> None:
        """Wait for the response to every action sent so far: then the simulator has taken them all in."""
        for action_id in self.sent_ids:
            await self.response(action_id, timeout)

    async def login(self, action_id: str = "login-1", secret: str = SECRET, username: str = USER,
                    events: str = "on") -> dict[str, Any]:
        await self.send({"Action": "Login", "ActionID": action_id, "Username": username, "Secret": secret,
                         "Events": events})
        return await self.response(action_id)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("Event") == name]

    async def drop(self) -> None:
        """Close the TCP connection without Logoff."""
        assert self._writer is not None
        self._writer.transport.abort()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5.0)

    async def logoff(self, action_id: str = "logoff-1") -> None:
        await self.send({"Action": "Logoff", "ActionID": action_id})
        if self._task is not None:
            await asyncio.wait_for(self._task, 5.0)

    async def closed(self, timeout: float = 5.0) -> None:
        """Wait until the server closed the connection."""
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), timeout)


def map_action(msg: Mapping[str, Any]) -> dict[str, Any]:
    """A lab action with Zvonar's contexts (and the campaign queue variable the dialer sends)."""
    action = dict(msg)
    if action.get("Secret") == "********":
        action["Secret"] = SECRET
    context = action.get("Context")
    if isinstance(context, str) and context in CONTEXT_MAP:
        action["Context"] = CONTEXT_MAP[context]
        if context == "campaign":
            action["Variable"] = "ZVONAR_QUEUE=campaign"
    return action


BURST_SECONDS = 0.01  # actions this close in a trace were one burst


async def replay_lab_session(sim: PbxSimulator, trace: list[Record]) -> list[Record]:
    """Do what the recorder did in ``trace`` (same actions at the same simulated times) against ``sim``.

    Inbound callers the lab injected with ``Originate Channel=Local/<DID>@inbound
    Application=Wait`` are injected with ``sim.inject_inbound_call`` instead.
    """
    records: list[Record] = []
    scale = sim.config.time_scale
    conn = 1
    client = RecordingClient(sim, conn, records)
    await client.connect()
    previous = float("-inf")
    for record in trace:
        if record["dir"] == "in":
            continue
        # Actions the recorder sent in one burst (the dialer's batch of Originates, 0.04 ms apart)
        # go out in one write: a sleep between them would let the simulator take each in alone,
        # its clock running on meanwhile, and break the ties the lab designed.
        burst, previous = record["t"] - previous < BURST_SECONDS, record["t"]
        wait = (record["t"] - sim.now()) * scale
        if wait > 0 and not burst:
            await asyncio.sleep(wait)
        msg = record["msg"]
        if record["dir"] == "meta":
            await client.answered()
            await client.drop()
            records.append({"t": sim.now(), "dir": "meta", "conn": conn, "msg": dict(msg)})
            continue
        if record["conn"] != conn:
            conn = record["conn"]
            client = RecordingClient(sim, conn, records)
            await client.connect()
        action = map_action(msg)
        name = str(action.get("Action", "")).lower()
        if name == "originate" and action.get("Application") and "@inbound" in str(action.get("Channel")):
            did = str(action["Channel"]).split("/", 1)[1].split("@", 1)[0]
            number, caller_name = _callerid(str(action.get("CallerID", "")))
            sim.inject_inbound_call(number, caller_name, did, float(action.get("Data") or 0), shape="local",
                                    action_id=str(action["ActionID"]))
            continue
        if name == "logoff":
            # A stall of this process after an Originate is written can take the simulated clock past the
            # Logoff's time: then nothing above awaited, the simulator has not read the Originate yet and
            # is idle, and the Logoff would follow it at once (the call cut off as it starts ringing).
            # Its response proves the simulator took the Originate in (and counts it in idle()).
            await client.answered()
            await sim.wait_until_idle()
            await client.logoff(str(action.get("ActionID")))
            continue
        await client.send(action)
        if name == "login":
            await client.response(str(action["ActionID"]))
    return records


def _callerid(text: str) -> tuple[str, str]:
    name, _, rest = text.rpartition("<")
    return rest.rstrip(">").strip(), name.strip().strip('"')


async def pjsip_inbound_session(sim: PbxSimulator, trace: list[Record]) -> list[Record]:
    """The pjsip inbound session: the carrier's INVITE arrives when the trace's first trunk Newchannel did."""
    records: list[Record] = []
    client = RecordingClient(sim, 1, records)
    await client.connect()
    first = next(r for r in trace if r["dir"] == "in" and r["msg"].get("Event") == "Newchannel")
    scale = sim.config.time_scale
    for record in trace:
        if record["dir"] != "out":
            continue
        if record["msg"].get("Action") == "Logoff":
            await asyncio.sleep(max(0.0, (first["t"] - sim.now()) * scale))
            msg = first["msg"]
            sim.inject_inbound_call(msg["CallerIDNum"], msg["CallerIDName"], msg["Exten"], 10.0, shape="pjsip")
            await asyncio.sleep(0.01 * scale)
            await sim.wait_until_idle()
            await client.logoff(str(record["msg"]["ActionID"]))
            continue
        await client.send(map_action(record["msg"]))
        await client.response(str(record["msg"]["ActionID"]))
    return records
