"""Find stored episodes and replay one turn by turn."""
from __future__ import annotations

from typing import Any

import pandas as pd

from agentgym.store import ExperienceStore

COLUMNS = ["id", "agent", "version", "task_id", "status", "n_steps", "total_reward", "success", "run", "step", "started_at"]


def find_episodes(store: ExperienceStore, *, agent: str | None = None, version: str | None = None,
                  task_id: str | None = None, min_reward: float | None = None, max_reward: float | None = None,
                  rated: bool | None = None, run: str | None = None, step: int | None = None, phase: str | None = None,
                  limit: int = 200) -> pd.DataFrame:
    """The browser's table: newest first, with the number of human ratings per episode, and the
    training run and step for rollouts and evaluations."""
    eps = store.episodes(agent=agent, version=version, task_id=task_id or None, min_reward=min_reward,
                         max_reward=max_reward, rated=rated, run=run or None, step=step, phase=phase or None)
    if eps.empty:
        return pd.DataFrame(columns=[*COLUMNS, "ratings"])
    counts = store.ratings().groupby("episode_id").size()
    meta = eps["meta"].map(lambda m: m if isinstance(m, dict) else {})
    eps = eps.assign(run=meta.map(lambda m: m.get("run")), step=meta.map(lambda m: m.get("step")))
    eps = eps[COLUMNS].assign(ratings=eps["id"].map(counts).fillna(0).astype(int))
    return eps.sort_values("started_at", ascending=False).head(limit).reset_index(drop=True)


def episode_turns(store: ExperienceStore, episode_id: str) -> list[dict[str, Any]]:
    """One entry per step: the agent's action, what came back, the reward so far, and the ratings
    and verdicts given to that step."""
    steps = store.steps(episode_id)
    if steps.empty:
        raise KeyError(f"No episode '{episode_id}' (or it has no steps) in {store.url}.")
    ratings = store.ratings(episode_id=episode_id)
    verdicts = store.verdicts(episode_id=episode_id)
    turns = []
    for s in steps.itertuples():
        r = ratings[ratings["step_idx"] == s.idx] if not ratings.empty else ratings
        v = verdicts[verdicts["step_idx"] == s.idx] if not verdicts.empty else verdicts
        turns.append({
            "idx": int(s.idx), "action": _clean(s.action), "observation": _clean(s.observation), "error": _clean(s.error),
            "reward": None if pd.isna(s.reward) else float(s.reward),
            "total": (s.reward_breakdown or {}).get("total"),
            "ratings": r[["value", "scale", "tags", "comment", "rater"]].to_dict("records") if len(r) else [],
            "verdicts": v[["judge", "score", "reasoning"]].to_dict("records") if len(v) else [],
        })
    return turns


def _clean(value: Any) -> Any:
    """NaN/NA from pandas become None (JSON null) for the widgets."""
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value
