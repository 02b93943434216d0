"""Review an SFT set before spending compute on it: a table of the examples, any one read as a
conversation, examples dropped by hand, a filter's effect shown before it is applied, then the
run launched on what is left.

    review = SFTReview(SFTConfig(max_dialogues=32))
    review                                  # the table (in a notebook)
    print(review.preview(3))                # one example as the model will see it
    review.would_keep(lambda e: e["tool_calls"] > 0)   # counts and the dropped ids, nothing changed
    review.keep_where(lambda e: e["tool_calls"] > 0).drop(5, 7)
    review.train()                          # SFT on the kept examples
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agentgym.safeio import private_open
from agentgym.train.config import SFTConfig, TrainConfig


class SFTReview:
    """The examples an SFTConfig (or your list) would train on, with their fate: kept or dropped."""

    def __init__(self, cfg: TrainConfig, examples: list[dict[str, Any]] | None = None, store: Any = None) -> None:
        from agentgym.train.sft_data import configured_examples

        if not isinstance(cfg, SFTConfig):
            raise ValueError(f"SFTReview reviews supervised examples; the config's method is {cfg.method!r}. Give an SFTConfig.")
        self.cfg = cfg
        self.examples = list(examples) if examples is not None else configured_examples(cfg, store)
        if not self.examples:
            raise ValueError("No examples to review: check the data source (data_dir/split/max_dialogues, from_store).")
        self.dropped: dict[int, str] = {}  # index -> why

    def rows(self) -> list[dict[str, Any]]:
        """One summary per example: what a filter function receives."""
        out = []
        for i, e in enumerate(self.examples):
            msgs = e["messages"]
            agent = [m["content"] for m in msgs if m["role"] == "assistant"]
            calls = sum(1 for a in agent if a.lstrip().startswith("{"))
            out.append({"idx": i, "task_id": e.get("task_id"), "turns": len(agent), "tool_calls": calls,
                        "chars": sum(len(m["content"]) for m in msgs), "first_user": next(
                            (m["content"][:80] for m in msgs if m["role"] == "user"), ""),
                        "kept": i not in self.dropped, "why_dropped": self.dropped.get(i, "")})
        return out

    def table(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index("idx")

    def preview(self, idx: int) -> str:
        """Example `idx` as the conversation the model is trained on (the system prompt shortened)."""
        self._check(idx)
        lines = []
        for m in self.examples[idx]["messages"]:
            text = m["content"] if m["role"] != "system" else m["content"][:300] + ("…" if len(m["content"]) > 300 else "")
            lines.append(f"[{m['role']}{' — trained on' if m['role'] == 'assistant' else ''}] {text}")
        return "\n".join(lines)

    def drop(self, *idx: int, why: str = "dropped by hand") -> SFTReview:
        for i in idx:
            self._check(i)
            self.dropped[i] = why
        return self

    def restore(self, *idx: int) -> SFTReview:
        for i in idx or list(self.dropped):
            self.dropped.pop(i, None)
        return self

    def would_keep(self, keep: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """What `keep` would do to the examples still kept, without doing it."""
        rows = [r for r in self.rows() if r["kept"]]
        out = [r["idx"] for r in rows if not keep(r)]
        return {"kept": len(rows) - len(out), "dropped": len(out), "dropped_idx": out}

    def keep_where(self, keep: Callable[[dict[str, Any]], bool], why: str = "filtered out") -> SFTReview:
        for i in self.would_keep(keep)["dropped_idx"]:
            self.dropped[i] = why
        return self

    def kept(self) -> list[dict[str, Any]]:
        return [e for i, e in enumerate(self.examples) if i not in self.dropped]

    def save(self, path: str) -> None:
        """The kept examples as JSONL (messages and task id), e.g. to train elsewhere."""
        with private_open(path) as fh:
            for e in self.kept():
                fh.write(json.dumps({"task_id": e.get("task_id"), "messages": e["messages"]}, ensure_ascii=False) + "\n")

    def train(self, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """SFT on the kept examples (the config's sources are not read again)."""
        from agentgym.train.sft import run_sft

        kept = self.kept()
        if not kept:
            raise ValueError("Every example is dropped; restore some (review.restore()) before training.")
        return run_sft(self.cfg, progress=progress, on_log=on_log, examples=kept)

    def _check(self, idx: int) -> None:
        if not 0 <= idx < len(self.examples):
            raise IndexError(f"No example {idx}: the set has {len(self.examples)} (0–{len(self.examples) - 1}).")

    def __repr__(self) -> str:
        return f"SFTReview({len(self.kept())} of {len(self.examples)} examples kept)"

    def _repr_html_(self) -> str:
        return f"<p><b>{self!r}</b></p>" + self.table().to_html(max_rows=30)
