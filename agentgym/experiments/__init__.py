"""Experiments on top of the env and the store: compare agent versions (paired, with a verdict you can
trust), locally, on a process pool or on Ray; route live traffic between versions."""
from __future__ import annotations

from agentgym.experiments.compare import CompareConfig, CompareResult, analyze, compare, compare_stored
from agentgym.experiments.play import AgentSpec, ClusterLost
from agentgym.experiments.router import Router

__all__ = ["AgentSpec", "ClusterLost", "CompareConfig", "CompareResult", "Router", "analyze", "compare", "compare_stored"]
