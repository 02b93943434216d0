"""Agents: the baselines, and `make_agent(name)` for every agent in the registry (`agentgym.registry`)."""
from __future__ import annotations

from agentgym.agents.base import Agent
from agentgym.agents.make import agent_names, check_agent_arguments, make_agent
from agentgym.agents.noisy import NoisyAgent, NoopAgent

__all__ = ["Agent", "NoisyAgent", "NoopAgent", "agent_names", "check_agent_arguments", "make_agent"]
