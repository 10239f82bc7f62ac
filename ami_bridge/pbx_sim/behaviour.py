"""Who does what when the simulator rings them: client numbers and agent extensions."""

from __future__ import annotations

import random

from ami_bridge.pbx_sim.config import AgentBehaviour, ClientBehaviour, SimConfig


class BehaviourBook:
    """Looks up behaviours: the explicit tables first, then the seeded random profile."""

    def __init__(self, config: SimConfig, rng: random.Random) -> None:
        self._config = config
        self._rng = rng

    def client(self, number: str) -> ClientBehaviour:
        """The behaviour of the client phone at ``number`` for this one call."""
        digits = number.lstrip("+")
        known = self._config.clients.get(digits)
        if known is not None:
            return known
        odds = self._config.random_clients
        if odds is None:
            return self._config.default_client
        outcome = self._rng.choices(
            ("answer", "busy", "no_answer", "congestion"),
            weights=(odds.answer, odds.busy, odds.no_answer, odds.congestion),
        )[0]
        ring = round(self._rng.uniform(*odds.ring_seconds), 1)
        talk = None if odds.talk_seconds is None else round(self._rng.uniform(*odds.talk_seconds), 1)
        if outcome == "busy" or outcome == "congestion":
            ring = min(ring, 3.0)
        early = self._rng.random() < odds.early_media
        machine = outcome == "answer" and odds.machine > 0 and self._rng.random() < odds.machine
        return ClientBehaviour(outcome=outcome, ring_seconds=ring, talk_seconds=talk, early_media=early, machine=machine)

    def agent(self, extension: str) -> AgentBehaviour:
        """The behaviour of the agent phone ``extension``."""
        return self._config.agents.get(extension, self._config.default_agent)
