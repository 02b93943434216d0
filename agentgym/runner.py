"""Play episodes of an agent on an environment: trajectories as records, a summary as a DataFrame."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
from tqdm.auto import tqdm

from agentgym.agents.base import Agent
from agentgym.safeio import private_open
from agentgym.scrub import might_hold_secrets, scrub
from agentgym.types import step_info


@dataclass
class Episode:
    """One played episode: what happened and how it scored."""

    task_id: str
    seed: int
    agent: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    reward_breakdown: dict[str, float | None] = field(default_factory=dict)  # None: a component not scored (judge off)
    total_reward: float = 0.0
    turns: int = 0
    terminated: bool = False
    truncated: bool = False
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return (self.reward_breakdown.get("success") or 0.0) >= 1.0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "success": self.success}, ensure_ascii=False)


def episode_seed(seed: int, task_index: int, trial: int = 0, trials: int = 1) -> int:
    """The one rule for episode seeds: in a run seeded `seed`, trial `trial` (of `trials`) of the task at
    `task_index` plays `seed + task_index * trials + trial`. `run_episodes`, `compare`, `evaluate_version`
    and GRPO's rollouts and held-out evaluations all use it, each from its own `seed`, so a (seed, task,
    trial) is the same episode wherever it is played: in-process, pooled, on Ray or over the network.

    >>> [episode_seed(10, i, k, trials=2) for i in range(2) for k in range(2)]
    [10, 11, 12, 13]
    """
    if not 0 <= trial < trials:
        raise ValueError(f"trial must be in [0, {trials}), got {trial}.")
    return seed + task_index * trials + trial


def _task_ids(env: gym.Env) -> list[str]:
    ids = getattr(env.unwrapped, "task_ids", None)
    if ids is None:
        raise TypeError(f"{type(env.unwrapped).__name__} has no task_ids; pass task_ids= (the tasks to play) to run_episodes.")
    return list(ids)


def play_episode(env: gym.Env, agent: Agent, seed: int, task_id: str | None = None) -> Episode:
    """Play one episode to its end (termination or truncation)."""
    base = env.unwrapped
    start = time.perf_counter()
    obs, raw = env.reset(seed=seed, options={"task_id": task_id} if task_id else None)
    info = step_info(raw)
    agent.reset(obs, info)
    ep = Episode(task_id=info["task_id"], seed=seed, agent=getattr(agent, "name", type(agent).__name__))
    ep.steps.append({"action": None, "observation": obs, "reward": 0.0, "user_acts": info["user_acts"]})
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(obs, info)
        obs, raw_reward, terminated, truncated, raw = env.step(action)
        info, reward = step_info(raw), float(raw_reward)
        ep.total_reward += reward
        ep.steps.append({
            "action": action, "observation": obs, "reward": reward, "error": info["error"],
            "user_acts": info["user_acts"], "action_format": info["action_format"],
        })
    ep.messages = [dict(m) for m in getattr(base, "history", [])]
    ep.reward_breakdown = dict(info["reward_breakdown"])
    ep.turns = info["turn"]
    ep.terminated, ep.truncated = terminated, truncated
    ep.seconds = time.perf_counter() - start
    return ep


def run_episodes(
    env: gym.Env,
    agent: Agent,
    episodes: int | None = None,
    seed: int = 0,
    task_ids: Iterable[str] | None = None,
    progress: bool = True,
    out: str | Path | None = None,
    keep_steps: bool = True,
) -> list[Episode]:
    """Play `episodes` episodes (default: every task once, in order): episode i plays task i mod T, its
    trial i // T, under `episode_seed` (seed, seed+1, ... when each task plays once).

    With `out`, each trajectory is written as soon as it ends to `<out>.partial`, which replaces
    `out` atomically when the run completes: an interrupted run leaves the previous `out` intact and
    its own episodes readable in the `.partial` file. With `keep_steps=False` (needs `out`) the
    returned episodes keep only their scores: a long run streams to disk instead of filling memory.
    """
    if not keep_steps and out is None:
        raise ValueError("keep_steps=False drops each trajectory once written, so it needs out= (a .jsonl path).")
    tasks = list(task_ids) if task_ids is not None else _task_ids(env)
    n = episodes if episodes is not None else len(tasks)
    if n < 1:
        raise ValueError(f"episodes must be at least 1, got {n}.")
    fh = None
    target = Path(out) if out is not None else None
    if target is not None:
        if target.is_dir():
            raise ValueError(f"out must be a file path for the JSONL trajectories, but {target} is a folder.")
        if target.parent.exists() and not target.parent.is_dir():
            raise ValueError(f"Cannot write {target}: {target.parent} is a file, not a folder.")
        partial = target.with_name(target.name + ".partial")
        fh = private_open(partial)  # 0600 in a 0700 folder when it makes one
    result = []
    trials = -(-n // len(tasks))
    try:
        for i in tqdm(range(n), desc=f"{getattr(agent, 'name', 'agent')} episodes", disable=not progress):
            ep = play_episode(env, agent, episode_seed(seed, i % len(tasks), i // len(tasks), trials), tasks[i % len(tasks)])
            if fh:
                line = ep.to_json()
                fh.write((json.dumps(scrub(json.loads(line)), ensure_ascii=False) if might_hold_secrets(line) else line) + "\n")
                fh.flush()
            if not keep_steps:
                ep.steps, ep.messages = [], []
            result.append(ep)
    finally:
        if fh:
            fh.close()
    if target is not None and fh is not None:
        os.replace(partial, target)  # only a complete run replaces the last one
    return result


def episodes_frame(episodes: list[Episode]) -> pd.DataFrame:
    """One row per episode: task, seed, success, total reward, turns, and every reward component."""
    rows = []
    for ep in episodes:
        rows.append({
            "agent": ep.agent, "task_id": ep.task_id, "seed": ep.seed, "success": ep.success,
            "total_reward": ep.total_reward, "turns": ep.turns, "truncated": ep.truncated,
            **{f"r_{k}": v for k, v in ep.reward_breakdown.items()},
        })
    return pd.DataFrame(rows)


def read_trajectories(path: str | Path) -> list[Episode]:
    """The episodes of a trajectory file written by `run_episodes(out=...)` / `agentgym run` (`runs/<agent>.jsonl`,
    or its `.partial` from an interrupted run), as `Episode`s. A line that is not one is refused with its number."""
    from agentgym.safeio import jsonl_rows

    names = {f.name for f in fields(Episode)}
    episodes = []
    for n, row, problem in jsonl_rows(path, "trajectory file"):
        if problem is not None:
            raise ValueError(f"{path}:{n}: {problem}")
        if not isinstance(row, dict) or not {"task_id", "seed", "agent"} <= set(row):
            raise ValueError(f"{path}:{n}: not a trajectory (needs task_id, seed and agent); trajectory files are "
                             "written by `agentgym run --out DIR` or run_episodes(out=...).")
        episodes.append(Episode(**{k: v for k, v in row.items() if k in names}))
    return episodes


def summarize(episodes: list[Episode]) -> pd.DataFrame:
    """Success rate, mean reward and mean turns per agent."""
    df = episodes_frame(episodes)
    return df.groupby("agent").agg(
        episodes=("task_id", "size"),
        success_rate=("success", "mean"),
        mean_reward=("total_reward", "mean"),
        mean_turns=("turns", "mean"),
        truncated=("truncated", "mean"),
    )
