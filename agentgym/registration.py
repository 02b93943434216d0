"""Gymnasium ids: `gymnasium.make("agentgym/SGD-v0")` and friends."""
from __future__ import annotations

from gymnasium.envs.registration import register, registry

from agentgym.domains.tau2 import DOMAINS as TAU2_DOMAINS

SGD_ENTRY = "agentgym.domains.sgd.env:SGDEnv"
TAU2_ENTRY = "agentgym.domains.tau2.env:Tau2Env"
TRACES_ENTRY = "agentgym.domains.traces.env:TraceEnv"
ENV_IDS: dict[str, tuple[str, dict[str, object]]] = {
    "agentgym/SGD-v0": (SGD_ENTRY, {"user": "goal"}),
    "agentgym/SGD-Replay-v0": (SGD_ENTRY, {"user": "replay"}),
    "agentgym/Traces-v0": (TRACES_ENTRY, {}),  # tasks=FILE from `agentgym import-traces`
    "agentgym/tau2-v0": (TAU2_ENTRY, {}),  # domain= as in tau2's gym
    **{f"agentgym/tau2-{d}-v0": (TAU2_ENTRY, {"domain": d}) for d in TAU2_DOMAINS},
}


def register_envs() -> None:
    for env_id, (entry, kwargs) in ENV_IDS.items():
        if env_id not in registry:
            # Gymnasium's passive checker keeps the first reset's output to compare with the first step; when that
            # first reset raises (an unknown task id), it keeps None and the next step fails inside the checker with a
            # TypeError. Our envs are checked with `check_env` in the tests instead, and stay usable after a bad reset.
            register(id=env_id, entry_point=entry, kwargs=dict(kwargs), disable_env_checker=True)
