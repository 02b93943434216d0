"""agentgym environments as SkyRL-gym text environments (`pip install 'agentgym-workbench[skyrl]'`).

    import skyrl_gym
    from agentgym.interop.skyrl import register, skyrl_dataset
    register()                                            # skyrl_gym id "agentgym"
    rows = skyrl_dataset("agentgym/SGD-v0", seeds=range(8))   # SkyRL's dataset rows: prompt, env_class, extras
    env = skyrl_gym.make("agentgym", env_config={}, extras=rows[0])
    prompt, meta = env.init(rows[0]["prompt"])
    out = env.step('{"name": "FindRestaurants", "arguments": {"city": "San Jose"}}')  # observations, reward, done, metadata

A row names the env (`env_id`), its generic settings (`settings`, e.g. {"split": "train"}), the task and the
seed; `init` resets that episode and returns the conversation in agentgym's own format (`agentgym.prompt`: the
system prompt lists the tools, observations are user turns), so a model trained here reads what agentgym's own
rollouts and SFT demonstrations show it. The reward of each step is the env's (its rubric's total at the end).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput

from agentgym.domain import domain_of
from agentgym.interop import compact_info, episode_starts
from agentgym.prompt import initial_messages, observation_messages

ENV_CLASS = "agentgym"


def _extras(extras: Mapping[str, Any]) -> tuple[str, dict[str, Any], str | None, int | None]:
    if not isinstance(extras, Mapping) or "env_id" not in extras:
        raise ValueError("agentgym's SkyRL env needs extras with 'env_id' (e.g. 'agentgym/SGD-v0'), and optionally "
                         "'settings', 'task_id' and 'seed': build the rows with agentgym.interop.skyrl.skyrl_dataset().")
    settings = extras.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise ValueError(f"extras['settings'] must be a dict of generic settings such as {{'split': 'train'}}, got {settings!r}.")
    task = extras.get("task_id")
    seed = extras.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"extras['seed'] must be a whole number from 0, got {seed!r}.")
    return str(extras["env_id"]), dict(settings), None if task is None else str(task), seed


class AgentgymTextEnv(BaseTextEnv):
    """One agentgym episode as a SkyRL `BaseTextEnv`: `init` resets it, `step` takes the model's text."""

    def __init__(self, env_config: Any = None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.env_id, self.settings, self.task_id, self.seed = _extras(extras or {})
        self.env = domain_of(self.env_id).make_env(self.env_id, **self.settings)
        self.max_turns = int(getattr(self.env.unwrapped, "max_turns", 40))
        self.info: dict[str, Any] = {}
        self.total = 0.0

    def init(self, prompt: Any = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
        options = {"task_id": self.task_id} if self.task_id is not None else None
        observation, info = self.env.reset(seed=self.seed, options=options)
        self.turns, self.total, self.info = 0, 0.0, dict(info)
        return initial_messages(observation, info), {"task_id": info.get("task_id")}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        self.turns += 1
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.info = dict(info)
        self.total += float(reward)
        done = bool(terminated or truncated)
        meta = compact_info(info)
        return BaseTextEnvStepOutput(observations=[] if done else observation_messages(observation), reward=float(reward),
                                     done=done, metadata=meta, postprocessed_action=None)

    def get_metrics(self) -> dict[str, Any]:
        """The episode's reward components (the rubric's criteria) and its total, for SkyRL's logging."""
        out = {k: float(v) for k, v in (self.info.get("reward_breakdown") or {}).items() if isinstance(v, (int, float))}
        out["return"] = self.total
        out["turns"] = float(self.turns)
        return out

    def close(self) -> None:
        self.env.close()


def register(env_class: str = ENV_CLASS) -> None:
    """Register the adapter with skyrl_gym under `env_class` (once; again is a no-op)."""
    import skyrl_gym

    if env_class not in skyrl_gym.registry:
        skyrl_gym.register(id=env_class, entry_point="agentgym.interop.skyrl:AgentgymTextEnv")


def skyrl_dataset(env_id: str, *, seeds: Iterable[int] = range(1), task_ids: Iterable[str] | None = None,
                  settings: Mapping[str, Any] | None = None, env_class: str = ENV_CLASS) -> list[dict[str, Any]]:
    """SkyRL dataset rows, one per (task, seed): `prompt` (the conversation `init` starts from), `env_class`, and
    the extras the env reads (`env_id`, `settings`, `task_id`, `seed`). Without task_ids, every task of the env."""
    settings = dict(settings or {})
    return [{"prompt": initial_messages(observation, info), "env_class": env_class, "env_id": env_id,
             "settings": settings, "task_id": task, "seed": seed}
            for task, seed, observation, info in episode_starts(env_id, settings, seeds=seeds, task_ids=task_ids)]


__all__ = ["AgentgymTextEnv", "register", "skyrl_dataset"]
