"""agentgym's environments where researchers already train. Each adapter is an optional extra:

- `agentgym.interop.openenv_server`: every registered env served with OpenEnv's server contract
  (`agentgym serve --env ID`; `pip install 'agentgym-workbench[serve]'`), and `AgentgymClient`, OpenEnv's
  WebSocket client typed for it.
- `agentgym.interop.openenv_package`: the served env as an OpenEnv package (`openenv.yaml`, app, oracle) and
  the oracle/floor check over the wire.
- `agentgym.interop.trl_env`: TRL's `GRPOTrainer(environment_factory=...)` class and its dataset (`[train]`).
- `agentgym.interop.verifiers_taskset`: a verifiers 0.4 Taskset and Env, exported as the `agentgym-tasks`
  taskset package (`[verifiers]`, in an environment without OpenEnv: `make verifiers`).
- `agentgym.interop.skyrl`: a SkyRL-gym `BaseTextEnv` (`pip install 'agentgym-workbench[skyrl]'`).

`docs/interop.md` shows each one from the trainer's side.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

# the parts of a step's info that repeat every step (sent once, at reset, by the adapters that trim info)
REPEATED_INFO = ("messages", "history", "tools", "tool_meta", "policy")
# what a trimmed step leaves out that agents read: a remote player keeps these from reset
KEPT_FROM_RESET = ("tools", "tool_meta", "policy", "task")


def compact_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """A step's info without what repeats every step."""
    return {k: v for k, v in info.items() if k not in REPEATED_INFO}


def episode_starts(env_id: str, settings: Mapping[str, Any] | None = None, *, seeds: Iterable[int] = range(1),
                   task_ids: Iterable[str] | None = None, num_tasks: int | None = None,
                   ) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(task_id, seed, opening observation, reset info) for every task (default: the env's first `num_tasks`, or all)
    and seed, from one env: what each trainer's dataset is built from."""
    from agentgym.domain import domain_of

    env = domain_of(env_id).make_env(env_id, **dict(settings or {}))
    try:
        seeds = list(seeds)
        for task in [str(t) for t in (task_ids if task_ids is not None else env.unwrapped.task_ids)][:num_tasks]:
            for seed in seeds:
                observation, info = env.reset(seed=seed, options={"task_id": task})
                yield task, int(seed), observation, dict(info)
    finally:
        env.close()
