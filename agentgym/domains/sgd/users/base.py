"""The simulated-user interface the environment talks to."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentgym.domains.sgd.tasks import Act, Task


@dataclass(slots=True)
class UserTurn:
    """One user message, with the dialogue acts behind it so people and tests can see why."""

    text: str
    acts: list[Act] = field(default_factory=list)
    done: bool = False
    error: str | None = None  # an LLM user that could not answer (after retries) says why here
    fallback: str | None = None  # an LLM wording failed its check (why); the template wording was used

    def acts_as_dicts(self) -> list[dict[str, Any]]:
        return [{"service": s, "act": a, "slot": sl, "values": list(v)} for s, a, sl, v in self.acts]


@dataclass(slots=True)
class UserContext:
    """What the user may know about the episode so far (the agent's messages and tool results)."""

    agent_messages: list[str]
    tool_results: list[Any]
    turn: int


@runtime_checkable
class User(Protocol):
    name: str

    def reset(self, task: Task, seed: int) -> UserTurn:
        """Start an episode and return the user's opening turn."""
        ...

    def respond(self, agent_message: str, context: UserContext) -> UserTurn:
        """React to one agent message."""
        ...
