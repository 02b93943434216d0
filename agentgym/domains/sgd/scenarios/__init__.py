"""Grow the task set: generated scenarios that are provably valid (`generate_scenarios`, `agentgym scenarios`),
kept in task files the env plays (`gym.make("agentgym/SGD-v0", tasks=FILE)`)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from agentgym.domains.sgd.corpus import SGDCorpus, load_sgd
from agentgym.domains.sgd.scenarios.generate import BUILDERS, FAMILIES, known_values
from agentgym.domains.sgd.scenarios.validate import CHECKS, passed, validate
from agentgym.domains.sgd.tasks import Task


@dataclass
class Generated:
    """What a generation run made: the valid tasks, and why each rejected candidate was rejected."""

    tasks: list[Task] = field(default_factory=list)
    rejected: Counter = field(default_factory=Counter)  # (family, reason) -> count
    attempts: int = 0
    exhausted: bool = False  # stopped early: many attempts in a row gave nothing new

    def summary(self) -> dict[str, Any]:
        kept = Counter(t.meta["family"] for t in self.tasks)
        return {"kept": dict(kept), "attempts": self.attempts,
                "rejected": {f"{fam}: {why}": n for (fam, why), n in self.rejected.most_common()}}


MAX_SCENARIOS = 10_000
STALL_ATTEMPTS = 150  # per family: this many attempts in a row with nothing kept means the corpus is spent


def generate_scenarios(n: int, *, seed: int = 0, families: Iterable[str] = FAMILIES, corpus: SGDCorpus | None = None,
                       data_dir: str | None = None, split: str = "dev", max_attempts: int | None = None,
                       progress: bool = True) -> Generated:
    """`n` valid tasks, families taken in turn; each candidate validated (schema, values, scripted agent
    solves it, a no-op agent does not, same seed → same episode) before it is kept. Deterministic in `seed`."""
    fams = list(families)
    unknown = [f for f in fams if f not in BUILDERS]
    if unknown or not fams:
        raise ValueError(f"Unknown scenario family {unknown or fams!r}; choose from {', '.join(FAMILIES)}.")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number of at least 1, got {n!r}.")
    if n > MAX_SCENARIOS:
        raise ValueError(f"n={n:,} is more than one run makes ({MAX_SCENARIOS:,}); run it again with other seeds and "
                         "join the files.")
    corpus = corpus or load_sgd(data_dir, split)
    values = known_values(corpus)
    rng = np.random.default_rng(seed)
    out = Generated()
    seen: set[tuple[str, tuple[str, ...], str]] = set()
    limit = max_attempts or 30 * n
    bar = tqdm(total=n, desc="scenarios", disable=not progress)
    stall_limit = STALL_ATTEMPTS * len(fams)
    last_kept = 0
    while len(out.tasks) < n and out.attempts < limit:
        if out.attempts - last_kept >= stall_limit:  # the corpus has no more new scenarios of these families
            out.exhausted = True
            break
        family = fams[out.attempts % len(fams)]
        out.attempts += 1
        task = BUILDERS[family](corpus, rng, values)
        if task is None:
            out.rejected[(family, "nothing in the corpus to build it from")] += 1
            continue
        signature = (family, tuple(task.meta.get("sources", ())), repr(task.meta.get("changed")))
        if signature in seen:
            out.rejected[(family, "a duplicate of a kept scenario")] += 1
            continue
        task.task_id = f"gen-{seed}-{family}-{len(out.tasks):05d}"
        checks = validate(task, corpus, values, seed=int(rng.integers(2**31 - 1)))
        if not passed(checks):
            out.rejected[(family, str(checks.get("why", "failed")))] += 1
            continue
        task.meta["validation"] = {k: checks[k] for k in CHECKS} | {"seed": seed}
        seen.add(signature)
        out.tasks.append(task)
        last_kept = out.attempts
        bar.update(1)
    bar.close()
    return out


__all__ = ["FAMILIES", "Generated", "generate_scenarios", "validate"]
