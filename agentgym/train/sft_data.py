"""Supervised examples in exactly the conversation format the HF agent sees when it plays
(`agentgym.prompt`): a domain's demonstrations, plus the store's good episodes replayed step by step."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentgym.prompt import system_prompt


def store_examples(store: Any, *, success_only: bool = True, min_rating: float | None = None,
                   min_judge: float | None = None, **filters: Any) -> list[dict[str, Any]]:
    """Successful or well-rated episodes from the experience store (optionally only those the judge
    scored at least `min_judge`), replayed step by step."""
    from agentgym.store import sft_examples

    keep = {e["episode_id"] for e in sft_examples(store, success_only=success_only, min_rating=min_rating,
                                                   min_judge=min_judge, **filters)}
    eps = store.episodes(with_messages=True, **filters)
    out = []
    for row in eps[eps["id"].isin(keep)].itertuples():
        steps = store.steps(row.id)
        info = {"tools": row.tools or [], "policy": row.policy or "", "services": list(row.services or [])}
        messages = [{"role": "system", "content": system_prompt(info)}]
        for s in steps.itertuples():
            if isinstance(s.action, str):  # the reset step has none (None or NaN, as pandas reads the column)
                messages.append({"role": "assistant", "content": s.action})
            if isinstance(s.observation, str) and s.observation:
                messages.append({"role": "user", "content": s.observation})
        if messages[-1]["role"] == "user":
            messages.pop()
        out.append({"messages": messages, "task_id": row.task_id})
    return out


def configured_examples(cfg: Any, store: Any = None) -> list[dict[str, Any]]:
    """The SFT set a TrainConfig describes: its env's domain's demonstrations of `split` (SGD's recorded
    dialogues), plus the store's good episodes with from_store (a domain without demonstrations: those alone)."""
    from agentgym.domain import domain_of

    domain = domain_of(cfg.env_id)
    examples: list[dict[str, Any]] = []
    if domain.demonstrations is not None:
        examples = domain.demonstration_examples(data_dir=cfg.data_dir, split=cfg.split, max_dialogues=cfg.max_dialogues)
    elif not cfg.from_store:
        raise ValueError(f"{cfg.env_id} ({domain.name}) has no recorded demonstrations to train SFT on; set from_store=true "
                         "to train on the store's good episodes of it (play some first: `agentgym run --env ... --store ...`).")
    if cfg.from_store and store is not None:
        examples += store_examples(store, min_judge=cfg.min_judge)
    return examples


def check_examples(examples: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep examples with at least one assistant turn; say clearly when none are left."""
    ok = [e for e in examples if any(m["role"] == "assistant" for m in e.get("messages", []))]
    if not ok:
        raise ValueError("The training set is empty: no example has an assistant turn. "
                         "Check the data source (SGD split, store filters, success_only/min_rating).")
    return ok
