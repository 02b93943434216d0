"""Baseline agents and the agent registry used by the CLI."""
from __future__ import annotations

from typing import Callable

from agentgym.agents.base import Agent
from agentgym.agents.scripted import NaiveAgent, ScriptedAgent

AGENTS: dict[str, Callable[[], Agent]] = {"scripted": ScriptedAgent, "naive": NaiveAgent}


def make_agent(name: str) -> Agent:
    try:
        return AGENTS[name]()
    except KeyError:
        raise ValueError(f"Unknown agent '{name}'. Choose one of: {', '.join(sorted(AGENTS))}.") from None


__all__ = ["AGENTS", "Agent", "NaiveAgent", "ScriptedAgent", "make_agent"]
