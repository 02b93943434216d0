"""Gymnasium ids: `gymnasium.make("agentgym/SGD-v0")` and friends."""
from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENV_IDS = {
    "agentgym/SGD-v0": {"user": "goal"},
    "agentgym/SGD-Replay-v0": {"user": "replay"},
}


def register_envs() -> None:
    for env_id, kwargs in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point="agentgym.env:SGDEnv", kwargs=dict(kwargs))
