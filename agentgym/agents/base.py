"""The agent interface the runner, CLI and notebooks drive."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from agentgym.types import StepInfo


@runtime_checkable
class Agent(Protocol):
    """Anything with `reset(info)` and `act(observation, info) -> action` plays an episode."""

    name: str

    def reset(self, observation: str, info: StepInfo) -> None: ...

    def act(self, observation: str, info: StepInfo) -> Any: ...
