"""Gymnasium ids: `gymnasium.make("agentgym/SGD-v0")` and friends, from each registered `Domain`'s `env_ids`."""
from __future__ import annotations

from agentgym.domain import domains, env_ids, load_plugins, register_domain, register_domain_envs
from agentgym.domains.sgd.domain import DOMAIN as SGD
from agentgym.domains.tau2.domain import DOMAIN as TAU2
from agentgym.domains.traces.domain import DOMAIN as TRACES

for _domain in (SGD, TAU2, TRACES):
    register_domain(_domain)

# gymnasium id -> (entry point, default kwargs) of every registered domain; plugins add theirs in register_envs()
ENV_IDS: dict[str, tuple[str, dict[str, object]]] = env_ids()


def register_envs() -> None:
    """Register every domain's gymnasium ids (the built-in ones and those of plugin modules, see `agentgym.domain`)."""
    load_plugins()
    for d in domains().values():
        register_domain_envs(d)
    ENV_IDS.update(env_ids())


__all__ = ["ENV_IDS", "register_envs"]
