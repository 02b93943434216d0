"""Agents: the baselines, and `make_agent(name)` for every agent in the registry (`agentgym.registry`)."""
from __future__ import annotations

from agentgym.agents.base import Agent
from agentgym.agents.noisy import NoisyAgent, NoopAgent
from agentgym.agents.scripted import NaiveAgent, ScriptedAgent


def agent_names() -> list[str]:
    from agentgym.registry import registry

    return registry.names("agent")


def make_agent(name: str, **kwargs: object) -> Agent:
    """An agent by its registry name (`agentgym.registry.registry.names("agent")`)."""
    from agentgym.registry import registry

    try:
        cls = registry.get("agent", name)
    except KeyError:
        raise ValueError(f"Unknown agent '{name}'. Choose one of: {', '.join(agent_names())}.") from None
    return cls(**kwargs)


__all__ = ["Agent", "NaiveAgent", "NoisyAgent", "NoopAgent", "ScriptedAgent", "agent_names", "make_agent"]
