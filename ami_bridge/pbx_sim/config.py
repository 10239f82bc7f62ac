"""Configuration of the PBX simulator: plain frozen dataclasses, passed in, never read from globals.

The defaults mirror ``asterisk-config/`` (the production dialplan, queues and
endpoints), so code tested against the simulator talks to the same contexts,
queues and endpoints it meets on a real Asterisk. All times are simulated seconds;
``SimConfig.time_scale`` maps them to wall-clock time (0.1 = ten times faster).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

CLIENT_OUTCOMES = ("answer", "busy", "no_answer", "congestion")
QUEUE_STRATEGIES = ("ringall", "linear", "leastrecent", "fewestcalls", "random", "rrmemory")
EMPTY_CONDITIONS = ("paused", "penalty", "inuse", "ringing", "unavailable", "invalid", "unknown", "wrapup")


class SimConfigError(ValueError):
    """A simulator setting that cannot work (names the setting and the value)."""


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


def _check_seconds(owner: str, name: str, value: float | None, allow_none: bool = True) -> None:
    if value is None:
        if not allow_none:
            raise SimConfigError(f"{owner}.{name} must be a number of seconds, not None")
        return
    if not isinstance(value, (int, float)) or value < 0:
        raise SimConfigError(f"{owner}.{name} must be >= 0 seconds, got {value!r}")


@dataclass(frozen=True)
class ClientBehaviour:
    """What a simulated client phone does when it is called.

    ``outcome``: ``answer`` (after ``ring_seconds``; hangs up after ``talk_seconds``,
    or stays until the other side hangs up when that is None), ``busy`` / ``congestion``
    (after ``ring_seconds``), ``no_answer`` (rings until the caller gives up).
    ``early_media``: a SIP client answers 183 Session Progress instead of 180 Ringing.
    ``machine``: the phone that answers is an answering machine (its greeting lasts
    ``talk_seconds``); the dialplan's AMD tells it from a human.
    """

    outcome: str = "answer"
    ring_seconds: float = 2.0
    talk_seconds: float | None = 30.0
    early_media: bool = False
    machine: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in CLIENT_OUTCOMES:
            raise SimConfigError(f"ClientBehaviour.outcome must be one of {CLIENT_OUTCOMES}, got {self.outcome!r}")
        _check_seconds("ClientBehaviour", "ring_seconds", self.ring_seconds, allow_none=False)
        _check_seconds("ClientBehaviour", "talk_seconds", self.talk_seconds)


@dataclass(frozen=True)
class AgentBehaviour:
    """What a simulated agent's phone does when it rings.

    ``answer_after`` None: rings until the caller gives up. ``talk_seconds`` None: the
    agent stays on the line until the other side hangs up. ``busy``: rejects at once.
    """

    answer_after: float | None = 1.0
    talk_seconds: float | None = None
    busy: bool = False

    def __post_init__(self) -> None:
        _check_seconds("AgentBehaviour", "answer_after", self.answer_after)
        _check_seconds("AgentBehaviour", "talk_seconds", self.talk_seconds)


@dataclass(frozen=True)
class RandomClients:
    """Client numbers not in the behaviour table draw their behaviour from these odds."""

    answer: float = 0.6
    busy: float = 0.12
    no_answer: float = 0.23
    congestion: float = 0.05
    ring_seconds: tuple[float, float] = (2.0, 10.0)
    talk_seconds: tuple[float, float] | None = (20.0, 150.0)
    early_media: float = 0.3
    machine: float = 0.0  # the share of answers that are answering machines

    def __post_init__(self) -> None:
        odds = (self.answer, self.busy, self.no_answer, self.congestion)
        if any(p < 0 for p in odds) or sum(odds) <= 0:
            raise SimConfigError(f"RandomClients odds must be >= 0 with a positive sum, got {odds}")
        if not 0 <= self.machine <= 1:
            raise SimConfigError(f"RandomClients.machine must be a share from 0 to 1, got {self.machine!r}")
        for name in ("ring_seconds", "talk_seconds"):
            span = getattr(self, name)
            if span is None:
                continue
            low, high = span
            if low < 0 or high < low:
                raise SimConfigError(f"RandomClients.{name} must be (low, high) with 0 <= low <= high, got {span!r}")


@dataclass(frozen=True)
class QueueMemberConfig:
    """A static queue member as in queues.conf ``member => <interface>,<penalty>,<name>``."""

    interface: str
    name: str = ""
    penalty: int = 0


@dataclass(frozen=True)
class QueueConfig:
    """One app_queue queue; ``timeout`` is how long each member is rung per attempt."""

    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 1.0
    wrapuptime: float = 0.0
    ringinuse: bool = False
    autopause: bool = False
    autopausebusy: bool = False
    joinempty: frozenset[str] = frozenset()
    leavewhenempty: frozenset[str] = frozenset()
    servicelevel: int = 20
    weight: int = 0
    maxlen: int = 0
    members: tuple[QueueMemberConfig, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or "," in self.name:
            raise SimConfigError(f"QueueConfig.name must be a plain queue name, got {self.name!r}")
        if self.strategy not in QUEUE_STRATEGIES:
            raise SimConfigError(f"queue {self.name}: strategy must be one of {QUEUE_STRATEGIES}, got {self.strategy!r}")
        for name in ("timeout", "retry", "wrapuptime"):
            _check_seconds(f"queue {self.name}", name, getattr(self, name), allow_none=False)
        for name in ("joinempty", "leavewhenempty"):
            bad = set(getattr(self, name)) - set(EMPTY_CONDITIONS)
            if bad:
                raise SimConfigError(f"queue {self.name}: unknown {name} conditions {sorted(bad)}")


@dataclass(frozen=True)
class AmiUser:
    """A manager.conf user: ``read``/``write`` are comma-separated class lists ("all" = every class)."""

    username: str
    secret: str
    read: str = "all"
    write: str = "all"


@dataclass(frozen=True)
class DialplanConfig:
    """The dialplan facts the simulator follows (asterisk-config/extensions.conf and pjsip.conf).

    The four ``*_context`` names are the contract with the bridge and the dialer.
    ``local_client_context`` is where a Local-channel call dials clients
    (``Local/<number>@<it>``); with PJSIP agents the client goes out through
    ``PJSIP/<number>@<trunk_endpoint>``. ``prompt_seconds`` is how long each sound
    file of a ``Playback()`` lasts.
    """

    outbound_context: str = "zvonar-outbound"
    campaign_context: str = "zvonar-campaign"
    inbound_context: str = "zvonar-inbound"
    agents_context: str = "zvonar-agents"
    local_client_context: str = "zvonar-pstn"
    trunk_endpoint: str = "trunk"
    company_cid_name: str = "ООО Звонарь"
    company_cid_num: str = "74952223344"
    dial_timeout: float = 40.0
    inbound_queue_timeout: float = 300.0
    campaign_queue_timeout: float = 2.0
    # Answering-machine detection (AMD() in zvonar-campaign, asterisk-config/amd.conf): the
    # verdict on a human comes after a short greeting and 0.8 s of silence, on a machine
    # once its greeting runs too long; a human then waits at most 1 s more for an agent.
    amd_human_seconds: float = 1.6
    amd_machine_seconds: float = 3.0
    amd_queue_timeout: float = 1.0
    inbound_routes: Mapping[str, str] = field(
        default_factory=lambda: _frozen({"74951234567": "support", "74951234568": "support"})
    )
    prompt_seconds: Mapping[str, float] = field(
        default_factory=lambda: _frozen(
            {"ss-noservice": 3.0, "vm-nobodyavail": 2.5, "all-circuits-busy-now": 2.0, "pls-try-call-later": 1.5}
        )
    )
    default_prompt_seconds: float = 2.0
    # zvonar-sub-who-called: the subroutine abandoned campaign calls hear, and the sounds this PBX
    # lacks (Playback() of one sets PLAYBACKSTATUS=FAILED and goes on).
    who_called_context: str = "zvonar-sub-who-called"
    missing_sounds: frozenset[str] = frozenset()
    answer_settle_seconds: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "inbound_routes", _frozen(self.inbound_routes))
        object.__setattr__(self, "prompt_seconds", _frozen(self.prompt_seconds))
        object.__setattr__(self, "missing_sounds", frozenset(self.missing_sounds))
        for name in ("dial_timeout", "inbound_queue_timeout", "campaign_queue_timeout", "answer_settle_seconds",
                     "amd_human_seconds", "amd_machine_seconds", "amd_queue_timeout"):
            _check_seconds("DialplanConfig", name, getattr(self, name), allow_none=False)


def _production_queues() -> tuple[QueueConfig, ...]:
    agents = tuple(QueueMemberConfig(f"PJSIP/{ext}", f"Оператор {ext}") for ext in ("101", "102", "103", "104", "105"))
    empty = frozenset({"paused", "invalid", "unavailable"})
    return (
        QueueConfig(
            "support", strategy="leastrecent", timeout=15.0, retry=2.0, wrapuptime=5.0, autopause=True,
            joinempty=empty, leavewhenempty=empty, members=agents,
        ),
        QueueConfig(
            "campaign", strategy="leastrecent", timeout=2.0, retry=1.0, wrapuptime=5.0, autopause=True,
            joinempty=empty, leavewhenempty=empty,
        ),
    )


def _production_endpoints() -> Mapping[str, str]:
    return _frozen({ext: f"Оператор {ext}" for ext in ("101", "102", "103", "104", "105")})


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator needs. ``port=0`` picks a free port.

    ``clients``: client number -> behaviour (numbers without a leading "+"); others
    follow ``random_clients`` (or ``default_client`` when that is None) drawn from a
    ``random.Random(seed)``. ``agents``: extension -> behaviour, others follow
    ``default_agent``. ``endpoints``: PJSIP agent endpoint -> caller ID name.
    ``timestamp_events`` adds Asterisk's ``Timestamp:`` header (simulated epoch).
    """

    host: str = "127.0.0.1"
    port: int = 5038
    users: tuple[AmiUser, ...] = (AmiUser("zvonar", "zvonar"),)
    time_scale: float = 1.0
    seed: int = 0
    dialplan: DialplanConfig = field(default_factory=DialplanConfig)
    queues: tuple[QueueConfig, ...] = field(default_factory=_production_queues)
    endpoints: Mapping[str, str] = field(default_factory=_production_endpoints)
    agents: Mapping[str, AgentBehaviour] = field(default_factory=dict)
    default_agent: AgentBehaviour = AgentBehaviour(answer_after=1.5, talk_seconds=None)
    clients: Mapping[str, ClientBehaviour] = field(default_factory=dict)
    random_clients: RandomClients | None = RandomClients()
    default_client: ClientBehaviour = ClientBehaviour()
    timestamp_events: bool = False
    banner: str = "Asterisk Call Manager/13.0.0"
    asterisk_version: str = "GIT-master-zvonar-pbx-sim"
    auth_failure_delay: float = 1.0
    epoch_start: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.time_scale, (int, float)) or self.time_scale <= 0:
            raise SimConfigError(f"SimConfig.time_scale must be > 0, got {self.time_scale!r}")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise SimConfigError(f"SimConfig.port must be 0..65535, got {self.port!r}")
        if not self.users:
            raise SimConfigError("SimConfig.users must name at least one AMI user")
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise SimConfigError(f"SimConfig.queues has duplicate names: {names}")
        object.__setattr__(self, "agents", _frozen(self.agents))
        object.__setattr__(self, "clients", _frozen({k.lstrip("+"): v for k, v in self.clients.items()}))
        object.__setattr__(self, "endpoints", _frozen(self.endpoints))
        _check_seconds("SimConfig", "auth_failure_delay", self.auth_failure_delay, allow_none=False)
