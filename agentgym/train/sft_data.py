"""Supervised examples in exactly the conversation format the HF agent sees when it plays:
a system prompt (policy + tools), env observations as user messages (`user: ...`, `tool: {...}`),
the agent's actions as assistant messages (text, or a JSON tool call)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agentgym.data.sgd import SGDCorpus
from agentgym.episode import dumps
from agentgym.mocker import ToolMocker
from agentgym.policy import policy_text
from agentgym.tools import tools_for
from agentgym.train.agent import assistant_call, system_prompt


def sgd_examples(corpus: SGDCorpus, max_dialogues: int | None = None) -> list[dict[str, Any]]:
    """One example per SGD dialogue: system turns that called a service become assistant tool
    calls, their results tool observations (as the env's mocker would return them)."""
    out = []
    mocker = ToolMocker(corpus)
    dialogues = corpus.dialogues[:max_dialogues] if max_dialogues else corpus.dialogues
    for task, d in zip(corpus.tasks, dialogues, strict=False):
        tools = tools_for(corpus, task.services)
        info = {"tools": [t.schema for t in tools.values()], "tool_meta": {n: t.meta() for n, t in tools.items()},
                "policy": policy_text([corpus.services[s] for s in task.services])}
        mocker.set_task(task, seed=0)
        messages = [{"role": "system", "content": system_prompt(info)}]
        for turn in d["turns"]:
            if turn["speaker"] == "USER":
                messages.append({"role": "user", "content": f"user: {turn['utterance']}"})
                continue
            for f in turn["frames"]:
                call = f.get("service_call")
                if not call:
                    continue
                name = f"{f['service']}_{call['method']}"
                if name not in tools:
                    continue
                res = mocker.call(tools[name], dict(call["parameters"]))
                messages.append({"role": "assistant", "content": assistant_call(name, dict(call["parameters"]))})
                messages.append({"role": "user", "content": f"tool: {dumps({'tool': name, **res.content})}"})
            messages.append({"role": "assistant", "content": turn["utterance"]})
        out.append({"messages": messages, "task_id": task.task_id})
    return out


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
    from agentgym.data import load_sgd

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
