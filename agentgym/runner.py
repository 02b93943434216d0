"""Play episodes of an agent on an environment: trajectories as records, a summary as a DataFrame."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd
from tqdm.auto import tqdm

from agentgym.agents.base import Agent
from agentgym.safeio import private_open
from agentgym.scrub import might_hold_secrets, scrub


@dataclass
class Episode:
    """One played episode: what happened and how it scored."""

    task_id: str
    seed: int
    agent: str
    steps: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    reward_breakdown: dict[str, float] = field(default_factory=dict)
    total_reward: float = 0.0
    turns: int = 0
    terminated: bool = False
    truncated: bool = False
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return self.reward_breakdown.get("success", 0.0) >= 1.0

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "success": self.success}, ensure_ascii=False)


def play_episode(env: gym.Env, agent: Agent, seed: int, task_id: str | None = None) -> Episode:
    """Play one episode to its end (termination or truncation)."""
    base = env.unwrapped
    start = time.perf_counter()
    obs, info = env.reset(seed=seed, options={"task_id": task_id} if task_id else None)
    agent.reset(obs, info)
    ep = Episode(task_id=info["task_id"], seed=seed, agent=getattr(agent, "name", type(agent).__name__))
    ep.steps.append({"action": None, "observation": obs, "reward": 0.0, "user_acts": info["user_acts"]})
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
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
    """Play `episodes` episodes (default: every task once, in order), seeds seed, seed+1, ...

    With `out`, each trajectory is written as soon as it ends to `<out>.partial`, which replaces
    `out` atomically when the run completes: an interrupted run leaves the previous `out` intact and
    its own episodes readable in the `.partial` file. With `keep_steps=False` (needs `out`) the
    returned episodes keep only their scores: a long run streams to disk instead of filling memory.
    """
    if not keep_steps and out is None:
        raise ValueError("keep_steps=False drops each trajectory once written, so it needs out= (a .jsonl path).")
    tasks = list(task_ids) if task_ids is not None else list(env.unwrapped.task_ids)
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
    try:
        for i in tqdm(range(n), desc=f"{getattr(agent, 'name', 'agent')} episodes", disable=not progress):
            ep = play_episode(env, agent, seed + i, tasks[i % len(tasks)])
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
