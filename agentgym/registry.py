"""One registry for every pluggable part: domains, users, agents, judges and reward rubrics
(tau2-bench's `registry.py` is the model). Entries are import paths resolved on first use, so
registering costs nothing and a heavy optional part (tau2, an LLM) loads only when asked for.

    from agentgym.registry import registry
    registry.names("domain")                    # ['sgd', 'tau2', 'traces']
    registry.get("agent", "scripted")           # the class
    registry.register("agent", "mine", "my_pkg.agents:MyAgent", help="...")
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

KINDS = ("domain", "user", "agent", "judge", "reward")


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    target: Any  # an object, or "module:attribute" resolved on first use
    help: str = ""


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}

    def register(self, kind: str, name: str, target: Any, *, help: str = "", replace: bool = False) -> None:
        if kind not in self._entries:
            raise ValueError(f"Unknown registry kind {kind!r}; kinds: {', '.join(KINDS)}.")
        if name in self._entries[kind] and not replace:
            raise ValueError(f"A {kind} named {name!r} is registered already; pass replace=True to override it.")
        self._entries[kind][name] = Entry(kind, name, target, help)

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def entry(self, kind: str, name: str) -> Entry:
        if kind not in self._entries:
            raise ValueError(f"Unknown registry kind {kind!r}; kinds: {', '.join(KINDS)}.")
        if name not in self._entries[kind]:
            raise KeyError(f"Unknown {kind} {name!r}; registered: {', '.join(self.names(kind))}.")
        return self._entries[kind][name]

    def get(self, kind: str, name: str) -> Any:
        target = self.entry(kind, name).target
        if isinstance(target, str) and ":" in target:
            module, attr = target.split(":", 1)
            return getattr(importlib.import_module(module), attr)
        return target

    def table(self) -> list[dict[str, str]]:
        """Every entry, for people: kind, name, what it is."""
        return [{"kind": e.kind, "name": e.name, "help": e.help} for k in KINDS for e in self._entries[k].values()]


registry = Registry()

# ---- what ships with agentgym -----------------------------------------------------------------
# the built-in domains (and their users) are registered from their `Domain` objects by agentgym.registration
registry.register("agent", "scripted", "agentgym.domains.sgd.agents:ScriptedAgent", help="SGD: follows the schema, reads user acts")
registry.register("agent", "naive", "agentgym.domains.sgd.agents:NaiveAgent", help="SGD: calls at once, never asks")
registry.register("agent", "noisy", "agentgym.agents.noisy:NoisyAgent",
                  help="any agent with each action replaced by a stall with probability epsilon (noisy:base=scripted,epsilon=0.3)")
registry.register("agent", "noop", "agentgym.agents.noisy:NoopAgent", help="ends every conversation at once (any domain)")
registry.register("agent", "hf", "agentgym.train.agent:HFAgent", help="any local Hugging Face chat model")
registry.register("agent", "tau2-oracle", "agentgym.domains.tau2.agents:OracleAgent",
                  help="tau2: plays the task's gold actions and says its communicate_info")
registry.register("agent", "tau2-noop", "agentgym.domains.tau2.agents:NoopAgent", help="tau2: greets, then ends")

registry.register("judge", "llm", "agentgym.llm.judge:LLMJudge", help="rubric judge on any litellm model (local by default)")

# each domain's reward rubric is registered with its Domain (kind 'reward', the domain's name)
