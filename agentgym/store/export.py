"""Experience → training data: chat JSONL, SFT examples, preference pairs, datasets.Dataset."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from agentgym.safeio import private_open
from agentgym.scrub import scrub
from agentgym.store.store import ExperienceStore


def to_chat(messages: list[dict[str, Any]], policy: str | None = None) -> list[dict[str, Any]]:
    """Env history → OpenAI chat messages (system policy first; env errors become user notes)."""
    out: list[dict[str, Any]] = [{"role": "system", "content": policy}] if policy else []
    for m in messages or []:
        role = m.get("role")
        if role == "environment":
            out.append({"role": "user", "content": f"[environment] {m.get('content', '')}"})
        elif role == "assistant" and m.get("tool_calls"):
            out.append({"role": "assistant", "content": m.get("content"), "tool_calls": m["tool_calls"]})
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": m.get("tool_call_id", ""), "name": m.get("name", ""),
                        "content": m.get("content", "")})
        elif role in ("user", "assistant", "system"):
            out.append({"role": role, "content": m.get("content") or ""})
    return out


def _episodes(store: ExperienceStore, **filters: Any) -> pd.DataFrame:
    return store.episodes(with_messages=True, **filters)


def export_chat_jsonl(store: ExperienceStore, path: str | Path, **filters: Any) -> int:
    """Write one JSON line per episode ({"messages", "tools", "episode_id", ...}); returns the count."""
    df = _episodes(store, **filters)
    path = Path(path)
    with private_open(path) as fh:
        for row in df.itertuples():
            rec = {"episode_id": row.id, "task_id": row.task_id, "agent": row.agent, "version": row.version,
                   "total_reward": row.total_reward, "success": row.success,
                   "messages": to_chat(row.messages, row.policy), "tools": row.tools or []}
            fh.write(json.dumps(scrub(rec), ensure_ascii=False) + "\n")
    return len(df)


def sft_examples(store: ExperienceStore, *, success_only: bool = True, min_reward: float | None = None,
                 min_rating: float | None = None, min_judge: float | None = None, **filters: Any) -> list[dict[str, Any]]:
    """Conversational SFT examples ({"messages", "tools"}) from successful or well-rated episodes.

    `min_rating` is on the normalized [0, 1] scale and uses the mean episode-level rating; an
    episode passes when it is successful (if asked) or rated at least `min_rating`. `min_judge`
    then keeps only episodes whose judge verdicts (mean score, unscored ones left out) reach it.
    """
    df = _episodes(store, min_reward=min_reward, **filters)
    if df.empty:
        return []
    keep = pd.Series(True, index=df.index)
    if success_only:
        keep &= df["success"].fillna(False).astype(bool)
    if min_rating is not None:
        r = store.ratings()
        r = r[r["step_idx"].isna()] if not r.empty else r
        mean = r.groupby("episode_id")["normalized"].mean() if not r.empty else pd.Series(dtype=float)
        rated_ok = df["id"].map(mean).fillna(-1.0) >= min_rating
        keep = (keep | rated_ok) if success_only else rated_ok
    if min_judge is not None:
        v = store.verdicts()
        judged = v.dropna(subset=["score"]).groupby("episode_id")["score"].mean() if not v.empty else pd.Series(dtype=float)
        keep &= df["id"].map(judged).fillna(-1.0) >= min_judge
    out = []
    for row in df[keep].itertuples():
        if row.messages:
            out.append(scrub({"messages": to_chat(row.messages, row.policy), "tools": row.tools or [], "episode_id": row.id}))
    return out


def preference_pairs(store: ExperienceStore, **filters: Any) -> list[dict[str, Any]]:
    """Chosen/rejected pairs of whole episodes on the same task, in TRL's conversational format.

    An episode is preferred when its mean human rating is higher; with no ratings on either,
    when its total reward is higher (e.g. two agent versions on the same task). Ties give no pair.
    """
    df = _episodes(store, **filters)
    if df.empty:
        return []
    r = store.ratings()
    rating = r[r["step_idx"].isna()].groupby("episode_id")["normalized"].mean() if not r.empty else pd.Series(dtype=float)
    df["rating"] = df["id"].map(rating)
    pairs = []
    for task_id, group in df[df["messages"].notna()].groupby("task_id"):
        rows = list(group.itertuples())
        for i, a in enumerate(rows):
            for b in rows[i + 1:]:
                if pd.notna(a.rating) and pd.notna(b.rating):
                    key_a, key_b, source = a.rating, b.rating, "rating"
                elif pd.isna(a.rating) and pd.isna(b.rating):
                    key_a, key_b, source = a.total_reward or 0.0, b.total_reward or 0.0, "reward"
                else:
                    continue
                if key_a == key_b:
                    continue
                win, lose = (a, b) if key_a > key_b else (b, a)
                chat_w, chat_l = to_chat(win.messages, win.policy), to_chat(lose.messages, lose.policy)
                n = 0
                while n < min(len(chat_w), len(chat_l)) and chat_w[n] == chat_l[n]:
                    n += 1
                pairs.append(scrub({"prompt": chat_w[:n], "chosen": chat_w[n:], "rejected": chat_l[n:], "task_id": task_id,
                                    "chosen_episode": win.id, "rejected_episode": lose.id, "source": source}))
    return pairs


def to_dataset(records: list[dict[str, Any]]) -> Any:
    """A Hugging Face `datasets.Dataset` of SFT examples or preference pairs (needs `datasets`)."""
    try:
        import datasets
    except ImportError as e:
        raise ImportError("to_dataset needs the `datasets` package: pip install 'agentgym-workbench[train]' or pip install datasets") from e
    # nested, ragged JSON (tool schemas, arguments) is kept as JSON text so Arrow gets one type per column
    flat = [{k: (json.dumps(v, ensure_ascii=False) if k == "tools" else v) for k, v in rec.items()} for rec in records]
    return datasets.Dataset.from_list(flat)
