"""What the judge said about a step or an episode, next to what people said about the same thing."""
from __future__ import annotations

from typing import Any

import pandas as pd

from agentgym.store import ExperienceStore


def _same_target(df: pd.DataFrame, step_idx: int | None) -> pd.DataFrame:
    if df.empty:
        return df
    return df[df["step_idx"].isna()] if step_idx is None else df[df["step_idx"] == step_idx]


def judge_record(store: ExperienceStore, episode_id: str, step_idx: int | None = None) -> dict[str, Any]:
    """The judge's verdicts (score, per-criterion scores, reasoning, the exact prompt) and the human
    ratings (normalized to [0, 1]) for one step, or for the whole episode when `step_idx` is None."""
    verdicts = _same_target(store.verdicts(episode_id=episode_id), step_idx)
    ratings = _same_target(store.ratings(episode_id=episode_id), step_idx)
    human = float(ratings["normalized"].mean()) if len(ratings) else None
    return {
        "episode_id": episode_id, "step_idx": step_idx,
        "verdicts": [{"judge": v.judge, "score": None if pd.isna(v.score) else float(v.score),
                      "criteria": v.criteria or {}, "reasoning": v.reasoning or "", "prompt": v.prompt or ""}
                     for v in verdicts.itertuples()],
        "ratings": [{"rater": r.rater, "scale": r.scale, "value": float(r.value), "normalized": float(r.normalized),
                     "tags": list(r.tags or []), "comment": r.comment} for r in ratings.itertuples()],
        "human_mean": human,
    }
