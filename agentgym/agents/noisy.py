"""A baseline with a dial: another agent whose every action is, with probability `epsilon`, replaced by a
stalling message. `NoisyAgent("scripted", epsilon=0.3)` is an agent of known, graded weakness — the
yardstick that calibrates a comparison (A vs A must come out even; a planted epsilon gap must be found)."""
from __future__ import annotations

from typing import Any

import numpy as np

from agentgym.types import StepInfo

STALL = "Sorry, could you say that again?"


class NoisyAgent:
    """`base` (a registry name or an agent) with each action replaced by a stall with probability `epsilon`.
    Its own random stream (`seed`) is separate from the environment's, so two copies under the same
    episode seeds still differ — as two runs of a sampling policy do."""

    def __init__(self, base: Any = "scripted", epsilon: float = 0.2, seed: int = 0) -> None:
        if not 0.0 <= float(epsilon) <= 1.0:
            raise ValueError(f"epsilon is a probability in [0, 1], got {epsilon!r}.")
        if isinstance(base, str):
            from agentgym.agents.make import make_agent

            base = make_agent(base)
        self.base, self.epsilon = base, float(epsilon)
        self.rng = np.random.default_rng(seed)
        self.name = f"{getattr(base, 'name', type(base).__name__)}-eps{self.epsilon:g}"

    def reset(self, observation: str, info: StepInfo) -> None:
        self.base.reset(observation, info)

    def act(self, observation: str, info: StepInfo) -> Any:
        action = self.base.act(observation, info)
        if action == "[finish]" or self.rng.random() >= self.epsilon:
            return action
        return STALL


class NoopAgent:
    """Ends every conversation at once: the floor a comparison's numbers are read against."""

    name = "noop"

    def reset(self, observation: str, info: StepInfo) -> None:
        pass

    def act(self, observation: str, info: StepInfo) -> Any:
        return "[finish]"
