"""agentgym environments for TRL's `GRPOTrainer(environment_factory=...)` (`pip install 'agentgym-workbench[train]'`).

    from trl import GRPOConfig, GRPOTrainer
    from agentgym.interop.trl_env import environment_factory, trl_dataset

    factory = environment_factory("agentgym/tau2-airline-v0", {"split": "train"})
    trainer = GRPOTrainer(model=..., args=GRPOConfig(...), train_dataset=trl_dataset("agentgym/tau2-airline-v0",
                          {"split": "train"}, seeds=range(4)), environment_factory=factory)

TRL makes one instance per rollout and calls `reset(**row)`; every other public method is a tool the model
may call (TRL renders each method's signature and docstring into the chat template's tool schema):

- `send_message(message)`: say something to the simulated user; returns the user's reply.
- one method per domain tool (the union over the env's tasks: SGD's services, tau2's tools), with the tool's
  own parameters; returns the tool's result as the env words it.

When the model answers without a tool call, TRL ends the rollout; `get_reward()` then ends the episode
(`[finish]`) and returns the env's reward, its rubric's total. Each instance keeps the episodes it played in
`episodes` (task, seed, the actions as the env received them, observations, reward), so a rollout can be
replayed in-process, action for action.
"""
from __future__ import annotations

import inspect
import json
import keyword
from collections.abc import Iterable, Mapping
from typing import Any

from agentgym.domain import domain_of
from agentgym.interop import episode_starts

JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list, "object": dict}
PROTOCOL = ("Talk to the user with send_message (it returns the user's reply); call the service tools to look things "
            "up and to act; when the conversation is over, answer without calling a tool.")


def _describe(prop: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    """A parameter's description for a Google docstring (TRL reads it back), with its choices and item shape."""
    text = " ".join(str(prop.get("description") or prop.get("title") or "value").split())
    items = prop.get("items") or {}
    ref = items.get("$ref") or next((a["$ref"] for a in items.get("anyOf") or [] if "$ref" in a), "")
    if ref:
        fields = (defs.get(ref.rsplit("/", 1)[-1]) or {}).get("properties") or {}
        text += f" (a list of objects with keys: {', '.join(fields)})" if fields else ""
    elif items.get("type"):
        text += f" (a list of {items['type']} values)"
    if prop.get("enum"):
        text += f" (choices: {json.dumps(list(prop['enum']))})"
    return text


def _tool_method(spec: Mapping[str, Any]) -> Any | None:
    """A method for one OpenAI tool schema: signature, type hints and a Google docstring TRL can render; calling
    it steps the env with the JSON tool call. None for a tool whose name or parameters are not identifiers."""
    fn = spec["function"]
    name = fn["name"]
    params = fn.get("parameters") or {}
    props: Mapping[str, Any] = params.get("properties") or {}
    required = set(params.get("required") or [])
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name in ("reset", "get_reward"):
        return None
    if any(not p.isidentifier() or keyword.iskeyword(p) or p == "self" for p in props):
        return None

    def tool(self: Any, **arguments: Any) -> str:
        return self._call(name, {k: v for k, v in arguments.items() if v is not None})

    ordered = sorted(props, key=lambda p: p not in required)  # required parameters first (no default)
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for p in ordered:
        kind = JSON_TYPES.get(props[p].get("type", "string"), str)
        hint = kind if p in required else kind | None
        annotations[p] = hint
        parameters.append(inspect.Parameter(p, inspect.Parameter.KEYWORD_ONLY, annotation=hint,
                                            default=inspect.Parameter.empty if p in required else None))
    annotations["return"] = str
    tool.__name__ = tool.__qualname__ = name
    tool.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = annotations
    defs = params.get("$defs") or {}
    args = "".join(f"\n    {p}: {_describe(props[p], defs)}" for p in ordered)
    description = " ".join(str(fn.get("description") or name).split())
    tool.__doc__ = f"{description}\n\nArgs:{args}\n\nReturns:\n    The tool's result." if args else \
        f"{description}\n\nReturns:\n    The tool's result."
    return tool


class AgentgymToolEnv:
    """One rollout's episode, in TRL's environment_factory shape (made by `environment_factory`)."""

    env_id: str = ""
    settings: dict[str, Any] = {}

    def __init__(self) -> None:
        self.env = domain_of(self.env_id).make_env(self.env_id, **self.settings)
        self.episodes: list[dict[str, Any]] = []
        self.episode: dict[str, Any] | None = None
        self.done = True

    def reset(self, task_id: str | None = None, seed: int | None = None, **row: Any) -> str:
        """Start the row's episode (its task and seed); returns the user's opening, which TRL appends to the prompt."""
        options = {"task_id": str(task_id)} if task_id is not None else None
        observation, info = self.env.reset(seed=None if seed is None else int(seed), options=options)
        self.done = False
        self.episode = {"task_id": info.get("task_id"), "seed": seed, "actions": [], "observations": [observation],
                        "total_reward": 0.0, "reward_breakdown": None}
        self.episodes.append(self.episode)
        return observation

    def _step(self, action: str) -> str:
        if self.done or self.episode is None:
            return "environment: the episode is over; nothing more happens."
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.done = bool(terminated or truncated)
        self.episode["actions"].append(action)
        self.episode["observations"].append(observation)
        self.episode["total_reward"] += float(reward)
        self.episode["reward_breakdown"] = dict(info.get("reward_breakdown") or {})
        return observation + ("\nenvironment: the episode is over." if self.done else "")

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        return self._step(json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False))

    def send_message(self, message: str) -> str:
        """Say something to the user (a question, an offer, a confirmation, what a tool returned).

        Args:
            message: what to say to the user

        Returns:
            The user's reply.
        """
        return self._step(str(message))

    def get_reward(self) -> float:
        """End the episode if the model stopped talking before it ended, and return its reward (the rubric's total)."""
        if not self.done:
            self._step("[finish]")
        return float(self.episode["total_reward"]) if self.episode is not None else 0.0


def environment_factory(env_id: str, settings: Mapping[str, Any] | None = None, *,
                        task_ids: Iterable[str] | None = None) -> type[AgentgymToolEnv]:
    """A class for `GRPOTrainer(environment_factory=...)`: `send_message` and one method per tool of the env (the
    union over `task_ids`, default every task), built from the tools' own schemas. TRL shows every method's
    schema in every prompt, so training on a few services' tasks with their `task_ids` keeps prompts short."""
    settings = dict(settings or {})
    specs: dict[str, Mapping[str, Any]] = {}
    for _, _, _, info in episode_starts(env_id, settings, seeds=[0], task_ids=task_ids):
        for spec in info.get("tools") or []:
            specs.setdefault(spec["function"]["name"], spec)
    methods = {name: m for name, spec in sorted(specs.items()) if (m := _tool_method(spec)) is not None}
    cls_name = "Agentgym_" + "".join(c if c.isalnum() else "_" for c in env_id.rsplit("/", 1)[-1])
    return type(cls_name, (AgentgymToolEnv,), {"env_id": env_id, "settings": settings, "tools": tuple(methods), **methods})


def trl_dataset(env_id: str, settings: Mapping[str, Any] | None = None, *, seeds: Iterable[int] = range(1),
                task_ids: Iterable[str] | None = None) -> Any:
    """A `datasets.Dataset` for it: one row per (task, seed) with `prompt` (the system message: the env's policy
    and how to talk and call tools; the user's opening comes from `reset`), `task_id` and `seed`."""
    from datasets import Dataset

    rows: dict[str, list[Any]] = {"prompt": [], "task_id": [], "seed": []}
    for task, seed, _, info in episode_starts(env_id, settings, seeds=seeds, task_ids=task_ids):
        system = (str(info.get("policy") or "").strip() + "\n\n" + PROTOCOL).strip()
        rows["prompt"].append([{"role": "system", "content": system}, {"role": "user", "content": ""}])
        rows["task_id"].append(task)
        rows["seed"].append(seed)
    return Dataset.from_dict(rows)


__all__ = ["AgentgymToolEnv", "environment_factory", "trl_dataset"]
