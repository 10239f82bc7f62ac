"""Zvonar's built-in PBX simulator: an AMI server on loopback behaving like Asterisk with Zvonar's dialplan.

Public API::

    sim = PbxSimulator(SimConfig(port=0, time_scale=0.1))
    host, port = await sim.start()
    sim.inject_inbound_call("79031234567", "Мария Сидорова", "74951234567", patience_seconds=60)
    await sim.stop()

``serve_forever(config)`` / ``run_pbx_sim(...)`` run it as the ``zvonar pbx-sim`` command.
"""

from ami_bridge.pbx_sim.config import (
    AgentBehaviour,
    AmiUser,
    ClientBehaviour,
    DialplanConfig,
    QueueConfig,
    QueueMemberConfig,
    RandomClients,
    SimConfig,
    SimConfigError,
)
from ami_bridge.pbx_sim.pbx import Pbx
from ami_bridge.pbx_sim.simulator import PbxSimulator, SimulatorNotRunning, run_pbx_sim, serve_forever

__all__ = [
    "AgentBehaviour",
    "AmiUser",
    "ClientBehaviour",
    "DialplanConfig",
    "Pbx",
    "PbxSimulator",
    "QueueConfig",
    "QueueMemberConfig",
    "RandomClients",
    "SimConfig",
    "SimConfigError",
    "SimulatorNotRunning",
    "run_pbx_sim",
    "serve_forever",
]
