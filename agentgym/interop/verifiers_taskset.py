"""agentgym tasks as a verifiers 0.4 taskset package (`pip install 'agentgym-workbench[verifiers]'`, Python >= 3.11).

    vf-eval agentgym.interop.verifiers_taskset --env.taskset.env agentgym/SGD-v0 --env.taskset.num-tasks 10 \\
        -m smollm2-135m --client.base-url http://127.0.0.1:8080/v1 --client.api-key-var NO_KEY --no-push

The module's `__all__` exports one `vf.Taskset` (`AgentgymTaskset`: one task per (task, seed) of any agentgym
env) and one `vf.Env` (`AgentgymEnv`), whose `run()` relays between the assistant under evaluation and
agentgym's env in-process, as verifiers' own OpenEnv and TextArena tasksets step their engines: agentgym's
simulated user opens, each assistant reply is the env's action (a message to the user, or a tool call in
the JSON the system prompt shows, `agentgym.prompt`), and the env's next observation (the user's reply, the
tools' results) is the next user turn, until the episode ends. The assistant plays on verifiers' tool-less
`null` harness: the domain's tools are called through the env's action format, not a verifiers toolset.

The episode's reward is the env's rubric: for a weighted sum (SGD, traces) each criterion is a verifiers
reward with its weight (weight 0: a metric), so verifiers' total is agentgym's; for a product (tau2's reward
basis) the total is one reward (`reward`) and each check a metric. `trace.info["agentgym"]` keeps the task, the
seed, the actions as the env received them and agentgym's reward breakdown, so any trace can be replayed and
rescored in-process.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from agentgym.domain import domain_of
from agentgym.interop import episode_starts
from agentgym.prompt import system_prompt


class AgentgymTasksetConfig(vf.TasksetConfig):
    env: str = "agentgym/SGD-v0"
    """The agentgym gymnasium id (any registered env: agentgym/SGD-v0, agentgym/tau2-airline-v0, ...)."""
    split: str | None = None
    """The env's task split (SGD: dev, train; tau2: base, train, test); None: the env's default."""
    settings: dict[str, Any] = Field(default_factory=dict)
    """Other generic settings of the env (user, max_turns, tasks, ...), as `agentgym run` takes them."""
    num_tasks: int | None = None
    """The first N tasks of the split (None: all)."""
    seeds: int = 1
    """Seeds per task (0..N-1): each (task, seed) is one verifiers task."""


class AgentgymData(vf.TaskData):
    info: dict[str, Any]
    """The env id, its settings, the task id and the seed the episode replays from."""


class AgentgymTask(vf.Task[AgentgymData, vf.State, vf.TaskConfig]):
    pass


def _settings(config: AgentgymTasksetConfig) -> dict[str, Any]:
    settings = dict(config.settings)
    if config.split is not None:
        settings["split"] = config.split
    return settings


class AgentgymTaskset(vf.Taskset[AgentgymTask, AgentgymTasksetConfig]):
    def load(self) -> Iterator[AgentgymTask]:
        config = self.config
        settings = _settings(config)
        for task_id, seed, _, info in episode_starts(config.env, settings, seeds=range(config.seeds),
                                                     num_tasks=config.num_tasks):
            yield AgentgymTask(
                AgentgymData(id=f"{task_id}@{seed}", name=f"{config.env} {task_id} seed {seed}", prompt=None,
                             system_prompt=system_prompt(info),
                             info={"env": config.env, "settings": settings, "task_id": task_id, "seed": seed}),
                config.task)


class AgentgymEnvConfig(vf.EnvConfig):
    assistant: vf.AgentConfig = vf.AgentConfig(harness={"id": "null"}, runtime={"type": "subprocess"}, max_output_tokens=256)
    """The agent under evaluation: the tool-less `null` harness (its replies are the env's actions) in a local
    subprocess runtime (the env runs in-process; nothing needs a sandbox), at most 256 tokens a reply."""


def record_rubric(trace: Any, env_id: str, breakdown: dict[str, Any]) -> None:
    """The env's rubric on a verifiers trace: weighted criteria as rewards (a sum), or the total as the one
    reward and each check a metric (a product)."""
    rubric = domain_of(env_id).get_rubric()
    if rubric.combine == "sum":
        for name, weight in rubric.weights.items():
            value = breakdown.get(name)
            if value is None:
                continue
            if weight == 0:
                trace.record_metric(name, float(value))
            else:
                trace.record_reward(name, float(value), float(weight))
    else:
        trace.record_reward("reward", float(breakdown.get("total") or 0.0), 1.0)
        for name in rubric.names:
            if breakdown.get(name) is not None:
                trace.record_metric(name, float(breakdown[name]))


class AgentgymEnv(vf.Env[AgentgymEnvConfig]):
    async def run(self, task: Any, agents: Any) -> None:
        spec = task.data.info
        env = domain_of(spec["env"]).make_env(spec["env"], **spec["settings"])
        actions: list[str] = []
        total, breakdown, done = 0.0, {}, False
        try:
            observation, info = env.reset(seed=spec["seed"], options={"task_id": spec["task_id"]})
            breakdown = dict(info.get("reward_breakdown") or {})
            async with agents.assistant.interaction(task) as interaction:
                segment = await interaction.turn(observation)
                while not segment.terminated:
                    action = segment.last_reply
                    observation, reward, terminated, truncated, info = env.step(action)
                    actions.append(action)
                    total += float(reward)
                    breakdown = dict(info.get("reward_breakdown") or {})
                    done = bool(terminated or truncated)
                    if done:
                        break
                    segment = await interaction.turn(observation)
            if not done:  # the assistant's own limit ended the exchange: the episode ends there, and is scored
                _, reward, *_, info = env.step("[finish]")
                actions.append("[finish]")
                total += float(reward)
                breakdown = dict(info.get("reward_breakdown") or {})
        finally:
            env.close()
        trace = interaction.trace
        record_rubric(trace, spec["env"], breakdown)
        trace.info["agentgym"] = {"env": spec["env"], "settings": spec["settings"], "task_id": spec["task_id"],
                                  "seed": spec["seed"], "actions": actions, "total_reward": total,
                                  "reward_breakdown": breakdown}


__all__ = ["AgentgymData", "AgentgymEnv", "AgentgymEnvConfig", "AgentgymTask", "AgentgymTaskset", "AgentgymTasksetConfig"]
