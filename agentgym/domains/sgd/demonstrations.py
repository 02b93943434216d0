"""SGD's demonstrations for SFT, in the conversation format the HF agent plays in (`agentgym.prompt`)."""
from __future__ import annotations

from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.mocker import ToolMocker
from agentgym.domains.sgd.policy import policy_text
from agentgym.domains.sgd.tools import tools_for
from agentgym.episode import dumps
from agentgym.prompt import assistant_call, system_prompt


def sgd_demonstrations(data_dir: str | None = None, split: str = "train", max_dialogues: int | None = None) -> list[dict[str, Any]]:
    """SGD's `Domain.demonstrations`: the dialogues of `split` in `data_dir` (None: the packaged sample) as SFT examples."""
    from agentgym.domains.sgd.corpus import load_sgd

    return sgd_examples(load_sgd(data_dir, split), max_dialogues)


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
