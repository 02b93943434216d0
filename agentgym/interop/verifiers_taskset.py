"""agentgym tasks as a verifiers 0.4 taskset package (`pip install 'agentgym-workbench[verifiers]'`, Python >= 3.11).

    vf-eval agentgym-tasks --env.taskset.env agentgym/SGD-v0 --env.taskset.num-tasks 10 \\
        -m smollm2-135m --client.base-url http://127.0.0.1:8080/v1 --client.api-key-var NO_KEY --no-push

The module's `__all__` exports one `vf.Taskset` (`AgentgymTaskset`: one task per (task, seed) of any agentgym
env) and one `vf.Env` (`AgentgymEnv`), whose `run()` relays between the assistant under evaluation and
agentgym's env in-process, as verifiers' own OpenEnv and TextArena tasksets step their engines: agentgym's
simulated user opens, and each of the assistant's replies is said to the user, whose answer is the next user
turn, until the episode ends.

The domain's tools are a verifiers toolset (`--env.taskset.tools toolset`, the default): an MCP server
(`agentgym.interop.verifiers_toolset`) lists each task's own tools to the harness, which calls them through the
model's native tool calling; every call is forwarded to the rollout's env in this process (a tool bridge on
127.0.0.1), so it is the same env step as in-process play. `--env.taskset.tools text` instead shows the tools
in the system prompt and reads a tool call from the reply's JSON (`agentgym.prompt`), for models without tool
calling; the harness is verifiers' `null` chat loop either way.

The episode's reward is the env's rubric: for a weighted sum (SGD, traces) each criterion is a verifiers
reward with its weight (weight 0: a metric), so verifiers' total is agentgym's; for a product (tau2's reward
basis) the total is one reward (`reward`) and each check a metric. `trace.info["agentgym"]` keeps the task, the
seed, the actions as the env received them (tool calls as agentgym's JSON) and agentgym's reward breakdown, so
any trace can be replayed and rescored in-process.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import verifiers.v1 as vf
from pydantic import Field

from agentgym.domain import domain_of
from agentgym.interop import episode_starts
from agentgym.interop.verifiers_toolset import AgentgymState, AgentgymToolset
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
    task_ids: list[str] | None = None
    """These tasks of the split, in this order (None: the first `num_tasks`)."""
    tools: Literal["toolset", "text"] = "toolset"
    """How the assistant calls the domain's tools: `toolset`, the model's native tool calling against a verifiers
    toolset forwarding each call to the rollout's env; `text`, a JSON tool call in its reply, as the system
    prompt shows (for a model without tool calling)."""
    toolset: vf.SharedToolsetConfig = vf.SharedToolsetConfig()
    """Where verifiers runs the toolset's MCP server (one for the eval, a local subprocess by default)."""


class AgentgymData(vf.TaskData):
    info: dict[str, Any]
    """The env id, its settings, the task id and the seed the episode replays from."""


class AgentgymTask(vf.Task[AgentgymData, AgentgymState, vf.TaskConfig]):
    pass


def _settings(config: AgentgymTasksetConfig) -> dict[str, Any]:
    settings = dict(config.settings)
    if config.split is not None:
        settings["split"] = config.split
    return settings


class AgentgymTaskset(vf.Taskset[AgentgymTask, AgentgymTasksetConfig]):
    @classmethod
    def toolsets(cls, config: AgentgymTasksetConfig) -> list[vf.Toolset]:
        return [AgentgymToolset(config.toolset)] if config.tools == "toolset" else []

    def load(self) -> Iterator[AgentgymTask]:
        config = self.config
        settings = _settings(config)
        for task_id, seed, _, info in episode_starts(config.env, settings, seeds=range(config.seeds),
                                                     task_ids=config.task_ids, num_tasks=config.num_tasks):
            yield AgentgymTask(
                AgentgymData(id=f"{task_id}@{seed}", name=f"{config.env} {task_id} seed {seed}", prompt=None,
                             system_prompt=system_prompt(info, native_tools=config.tools == "toolset"),
                             info={"env": config.env, "settings": settings, "task_id": task_id, "seed": seed,
                                   "tools": config.tools}),
                config.task)


class AgentgymEnvConfig(vf.EnvConfig):
    assistant: vf.AgentConfig = vf.AgentConfig(harness={"id": "null"}, runtime={"type": "subprocess"}, max_output_tokens=256)
    """The agent under evaluation: verifiers' `null` chat loop (it calls the toolset's tools; each text reply is
    said to the user) in a local subprocess runtime (the env runs in-process; nothing needs a sandbox), at most
    256 tokens a reply."""


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


@dataclass
class Episode:
    """One rollout's agentgym episode: every action (the assistant's replies from `run`, its tool calls from the
    bridge) is one `env.step`, in the order the assistant took them."""

    env: Any
    actions: list[str] = field(default_factory=list)
    total: float = 0.0
    breakdown: dict[str, Any] = field(default_factory=dict)
    done: bool = False

    def step(self, action: str) -> str:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.actions.append(action)
        self.total += float(reward)
        self.breakdown = dict(info.get("reward_breakdown") or {})
        self.done = bool(terminated or truncated)
        return str(observation)


class ToolBridge:
    """Where the toolset's MCP server sends a rollout's tool calls: an HTTP endpoint on 127.0.0.1 in the evaluating
    process, with the live episodes by key (a random secret each: a call that names no live episode is refused)."""

    def __init__(self) -> None:
        self.episodes: dict[str, Episode] = {}
        self.url = ""
        self._runner: Any = None

    async def start(self) -> None:
        from aiohttp import web

        app = web.Application()
        app.router.add_post("/call", self._call)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def open(self, episode: Episode) -> str:
        key = secrets.token_urlsafe(24)
        self.episodes[key] = episode
        return key

    async def _call(self, request: Any) -> Any:
        from aiohttp import web

        try:
            body = await request.json()
            episode = self.episodes.get(str(body.get("rollout")))
            name, arguments = str(body["name"]), body.get("arguments") or {}
        except (ValueError, KeyError, AttributeError):
            return web.json_response({"text": "error: a tool call is {rollout, name, arguments}."}, status=400)
        if episode is None:
            return web.json_response({"text": "error: no live agentgym episode has this key (it has ended)."}, status=404)
        if episode.done:
            return web.json_response({"text": "environment: the episode is over; nothing more happens."})
        observation = episode.step(json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False))
        return web.json_response({"text": observation + ("\nenvironment: the episode is over." if episode.done else "")})


class AgentgymEnv(vf.Env[AgentgymEnvConfig]):
    bridge: ToolBridge | None = None

    async def start(self) -> None:
        self.bridge = ToolBridge()
        await self.bridge.start()

    async def stop(self) -> None:
        if self.bridge is not None:
            await self.bridge.stop()
            self.bridge = None

    async def run(self, task: Any, agents: Any) -> None:
        spec = task.data.info
        episode = Episode(domain_of(spec["env"]).make_env(spec["env"], **spec["settings"]))
        key = None
        try:
            observation, info = episode.env.reset(seed=spec["seed"], options={"task_id": spec["task_id"]})
            episode.breakdown = dict(info.get("reward_breakdown") or {})
            async with agents.assistant.interaction(task) as interaction:
                if spec.get("tools") == "toolset":
                    if self.bridge is None:
                        raise RuntimeError("AgentgymEnv's tool bridge is not running (the env was not started)")
                    key = self.bridge.open(episode)
                    state = interaction.trace.state
                    state.bridge, state.rollout, state.tools = self.bridge.url, key, list(info.get("tools") or [])
                segment = await interaction.turn(observation)
                while not segment.terminated and not episode.done:  # a tool call may have ended the episode
                    observation = episode.step(segment.last_reply)
                    if episode.done:
                        break
                    segment = await interaction.turn(observation)
            if not episode.done:  # the assistant's own limit ended the exchange: the episode ends there, and is scored
                episode.step("[finish]")
        finally:
            if key is not None and self.bridge is not None:
                self.bridge.episodes.pop(key, None)
            episode.env.close()
        trace = interaction.trace
        record_rubric(trace, spec["env"], episode.breakdown)
        trace.info["agentgym"] = {"env": spec["env"], "settings": spec["settings"], "task_id": spec["task_id"],
                                  "seed": spec["seed"], "actions": episode.actions, "total_reward": episode.total,
                                  "reward_breakdown": episode.breakdown}


__all__ = ["AgentgymData", "AgentgymEnv", "AgentgymEnvConfig", "AgentgymTask", "AgentgymTaskset", "AgentgymTasksetConfig"]
