"""TRL-style reward functions over whole episodes, for `train(cfg, reward_funcs=[...])`.

Each gets the rollout's columns as keyword arguments: `agent_turns` (the agent's messages and
calls, per episode), `services`, `task_id`, `env_reward` and every rubric component."""
from __future__ import annotations

from typing import Any

from agentgym.domains.sgd.schema import domain


def names_the_service(prompts: list[Any], completions: list[Any], agent_turns: list[list[str]],
                      services: list[list[str]], **kwargs: Any) -> list[float]:
    """Share of the agent's turns that name the task's service ('event' in an Events task): a
    behaviour the untrained 135M model shows about a third of the time, so GRPO can reinforce it
    in minutes on a CPU — the learning test's reward, and a template for your own."""
    out = []
    for turns, svcs in zip(agent_turns, services, strict=True):
        words = {domain(s).lower().rstrip("s") for s in svcs}
        out.append(sum(any(w in t.lower() for w in words) for t in turns) / max(len(turns), 1))
    return out
