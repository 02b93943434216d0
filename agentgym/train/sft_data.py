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
            if s.action is not None:
                messages.append({"role": "assistant", "content": s.action})
            if s.observation:
                messages.append({"role": "user", "content": s.observation})
        if messages[-1]["role"] == "user":
            messages.pop()
        out.append({"messages": messages, "task_id": row.task_id})
    return out


def configured_examples(cfg: Any, store: Any = None) -> list[dict[str, Any]]:
    """The SFT set a TrainConfig describes: SGD dialogues of its split, plus the store's good episodes with from_store."""
    from agentgym.domains.sgd import load_sgd
    from agentgym.domains.sgd.demonstrations import sgd_examples

    examples = sgd_examples(load_sgd(cfg.data_dir, cfg.split), cfg.max_dialogues)
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
