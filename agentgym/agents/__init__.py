"""Baseline agents and the agent registry used by the CLI."""
from __future__ import annotations

from collections.abc import Callable

from agentgym.agents.base import Agent
from agentgym.agents.scripted import NaiveAgent, ScriptedAgent


def _hf_agent() -> Agent:
    """The untrained SmolLM2 policy (needs the `train` extra); trained ones: `HFAgent.from_version`."""
    from agentgym.agents.hf_agent import HFAgent

    return HFAgent()


AGENTS: dict[str, Callable[[], Agent]] = {"scripted": ScriptedAgent, "naive": NaiveAgent, "hf": _hf_agent}


def make_agent(name: str) -> Agent:
    try:
        return AGENTS[name]()
    except KeyError:
        raise ValueError(f"Unknown agent '{name}'. Choose one of: {', '.join(sorted(AGENTS))}.") from None


__all__ = ["AGENTS", "Agent", "NaiveAgent", "ScriptedAgent", "make_agent"]
