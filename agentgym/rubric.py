"""A reward as a rubric: named, weighted criteria (verifiers' `Rubric` is the model). A criterion with
weight 0 is a metric: scored and logged, not rewarded. Each domain owns one rubric (`Domain.rubric`);
its env scores an episode with it, and training logs, `TrainConfig` validation and the registry read
its names, so every front end speaks the env's own criteria.

>>> from agentgym.rubric import Criterion, Rubric
>>> r = Rubric((Criterion("solved", 1.0, lambda ep: ep["solved"]),
...             Criterion("polite", 0.2, lambda ep: ep["polite"]),
...             Criterion("turns", 0.0, lambda ep: ep["turns"])))
>>> r.score({"solved": 1.0, "polite": 0.5, "turns": 4})
{'solved': 1.0, 'polite': 0.5, 'turns': 4.0, 'total': 1.1}
>>> r.metrics
('turns',)

`combine="sum"` adds weight x score (SGD, traces); `combine="product"` multiplies the scores of the
rewarded criteria the episode has (tau2's reward basis: a criterion not in a task's basis is None and
left out). A criterion without a function (SGD's LLM judge) is filled in by the env before `total`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Combine = Literal["sum", "product"]


@dataclass(frozen=True)
class Criterion:
    """One named check of an episode: `fn(context) -> score` (None: not applicable to this episode)."""

    name: str
    weight: float = 1.0
    fn: Callable[[Any], float | None] | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"A criterion's name must be an identifier such as 'slot_recall', got {self.name!r}.")
        if isinstance(self.weight, bool) or not isinstance(self.weight, (int, float)) or not math.isfinite(self.weight):
            raise ValueError(f"Criterion {self.name!r}: weight must be a finite number (0 makes it a logged metric), "
                             f"got {self.weight!r}.")


@dataclass(frozen=True)
class Rubric:
    """Criteria combined into one reward (see module docstring). `low` floors the total (None: no floor)."""

    criteria: tuple[Criterion, ...]
    combine: Combine = "sum"
    low: float | None = None
    _scorers: tuple[tuple[str, Callable[[Any], float | None]], ...] = field(init=False, repr=False, compare=False, default=())
    _weighted: tuple[tuple[str, float], ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        if not self.criteria or not all(isinstance(c, Criterion) for c in self.criteria):
            raise TypeError("A rubric needs at least one Criterion.")
        names = [c.name for c in self.criteria]
        if len(set(names)) != len(names) or "total" in names:
            raise ValueError(f"Criterion names must be unique and not 'total'; got {names}.")
        if self.combine not in ("sum", "product"):
            raise ValueError(f"combine must be 'sum' or 'product', got {self.combine!r}.")
        # what score() and total() walk every step, prepared once (the SGD env scores after every step)
        object.__setattr__(self, "_scorers", tuple((c.name, c.fn) for c in self.criteria if c.fn is not None))
        object.__setattr__(self, "_weighted", tuple((c.name, float(c.weight)) for c in self.criteria
                                                    if self.combine == "sum" or c.weight != 0))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.criteria)

    @property
    def weights(self) -> dict[str, float]:
        return {c.name: float(c.weight) for c in self.criteria}

    @property
    def metrics(self) -> tuple[str, ...]:
        """The criteria with weight 0: logged, not rewarded."""
        return tuple(c.name for c in self.criteria if c.weight == 0)

    @property
    def bounds(self) -> tuple[float, float]:
        """The lowest and highest total, for criteria scored in [0, 1] (a count with a negative weight is bounded by
        `low`): a product lies in [0, 1]; a sum from its negative weights (or `low`) to its positive ones."""
        if self.combine == "product":
            return (0.0, 1.0)
        high = sum(w for _, w in self._weighted if w > 0)
        low = sum(w for _, w in self._weighted if w < 0)
        return (low if self.low is None else max(self.low, low), high)

    def check_names(self, names: Iterable[str], what: str, *, extra: Iterable[str] = ()) -> None:
        """Refuse names that are not criteria of this rubric (or `extra`), naming the ones that are."""
        known = (*self.names, *extra)
        bad = sorted({str(n) for n in names} - set(known))
        if bad:
            raise ValueError(f"Unknown {what} {bad}; this env's rubric has: {', '.join(known)}.")

    def reweighted(self, weights: Mapping[str, float], *, rest: float | None = None) -> Rubric:
        """The same criteria with new weights; criteria not named keep theirs (or get `rest`)."""
        if not isinstance(weights, Mapping):
            raise TypeError(f"weights must be a dict {{criterion: weight}}, got {type(weights).__name__}.")
        self.check_names(weights, "reward component(s)")
        return replace(self, criteria=tuple(
            replace(c, weight=weights[c.name] if c.name in weights else (c.weight if rest is None else rest))
            for c in self.criteria))

    def score(self, context: Any) -> dict[str, float | None]:
        """Every criterion that has a function, scored on `context`, and their `total`."""
        parts: dict[str, float | None] = {}
        for name, fn in self._scorers:
            value = fn(context)
            parts[name] = None if value is None else float(value)
        parts["total"] = self.total(parts)
        return parts

    def total(self, parts: Mapping[str, Any]) -> float:
        """The rubric's reward from criterion scores (missing or None scores are left out)."""
        total = 0.0 if self.combine == "sum" else 1.0
        for name, weight in self._weighted:
            if (value := parts.get(name)) is None:
                continue
            total = total + weight * float(value) if self.combine == "sum" else total * float(value)
        return total if self.low is None else max(self.low, total)

    def table(self) -> list[dict[str, Any]]:
        """One row per criterion, for people: name, weight, what it checks."""
        return [{"criterion": c.name, "weight": c.weight, "help": c.help} for c in self.criteria]
