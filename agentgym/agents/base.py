"""The agent interface the runner, CLI and notebooks drive."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from agentgym.types import StepInfo


@runtime_checkable
class Agent(Protocol):
    """Anything with a `name`, `reset(observation, info)` and `act(observation, info) -> action` plays an episode.

    `reset` gets the env's first observation (the user's opening) and its reset info (`StepInfo`: the task's
    tools, services, policy); `act` gets each later observation and step info and returns the action: a message
    to the user (a string), a tool call (`{"name": ..., "arguments": {...}}`, or that JSON as a string), or the
    tag `[finish]`. Every command and executor takes your class as `module:Class[:k=v,...]`
    (`agentgym.agents.make`); `__init__`'s keyword arguments are the `k=v` ones.
    """

    name: str

    def reset(self, observation: str, info: StepInfo) -> None: ...

    def act(self, observation: str, info: StepInfo) -> Any: ...
