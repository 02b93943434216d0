"""Rule-based reward: did the agent do what the user came for, and tell them what they asked?

Success needs every goal intent satisfied (transactions made with the right arguments, searches
run with the user's constraints), every requested slot's value said to the user, and no write the
goal does not call for: the transactions that went through must be exactly the goal's (a wrong-
valued, duplicate or unrequested booking fails the episode, as an extra DB write does in tau2).
Arguments the user accepted from an offer are right when they match an entity this episode's
searches returned. Partial components (valid calls, slot precision/recall, requests told,
efficiency) shape learning; `exact_writes` and `intents_done` are logged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.mocker import ToolResult
from agentgym.domains.sgd.tasks import IntentGoal, Task
from agentgym.domains.sgd.tools import DONTCARE
from agentgym.domains.sgd.values import surface_forms

DEFAULT_WEIGHTS: dict[str, float] = {
    "success": 1.0,
    "valid_tool_calls": 0.1,
    "slot_precision": 0.1,
    "slot_recall": 0.1,
    "requests_told": 0.1,
    "efficiency": 0.1,
    "intents_done": 0.0,  # weight 0: a logged metric (give it a weight to reward partial progress)
    "exact_writes": 0.0,  # weight 0: logged; success already requires it
}
COMPONENTS = tuple(DEFAULT_WEIGHTS)


@dataclass
class RewardConfig:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    step_penalty: float = -0.01

    def __post_init__(self) -> None:
        from agentgym.safeio import finite_number

        if not isinstance(self.weights, dict):
            raise TypeError(f"reward weights must be a dict {{component: weight}}, got {type(self.weights).__name__}.")
        unknown = set(self.weights) - set(COMPONENTS) - {"judge"}
        if unknown:
            raise ValueError(f"Unknown reward component(s) {sorted(map(str, unknown))}; known: {', '.join(COMPONENTS)}.")
        for name, w in self.weights.items():
            finite_number(f"reward weight {name!r}", w, low=-1e6, high=1e6)
        finite_number("step_penalty", self.step_penalty, low=-1e6, high=1e6)


def told(kind: str, slot: str, value: str, text: str) -> bool:
    """Was `value` of `slot` said in `text` (already lower-cased)?"""
    if kind == "bool":
        words = [w for w in slot.split("_") if len(w) > 2]
        return any(w in text for w in words)
    return any(f in text for f in surface_forms(value))


@dataclass(slots=True)
class CallIndex:
    """What this episode's tool calls returned, grown one call at a time (the reward runs every step)."""

    offered: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (service, slot) -> value keys
    values: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (service, slot) -> raw values
    seen: int = 0

    def update(self, calls: list[ToolResult], key: Any) -> CallIndex:
        for c in calls[self.seen:]:
            if c.ok and c.service is not None:
                for slot, value, k in c.values(key):
                    self.offered.setdefault((c.service, slot), set()).add(k)
                    self.values.setdefault((c.service, slot), set()).add(value)
        self.seen = len(calls)
        return self


class RuleReward:
    """Scores an episode so far. Cheap enough to run after every step."""

    def __init__(self, corpus: SGDCorpus, config: RewardConfig | None = None) -> None:
        self.corpus = corpus
        self.config = config or RewardConfig()
        self._gold: dict[str, set[tuple[str, str, str]]] = {}

    def gold_slots(self, task: Task) -> set[tuple[str, str, str]]:
        """(service, slot, value key) the user knew and a goal intent takes as an argument."""
        gold = self._gold.get(task.task_id)
        if gold is None:
            gold = set()
            for g in task.goal:
                intent = self.corpus.services[g.service].intents[g.intent]
                params = set(intent.required_slots) | set(intent.optional_slots)
                for s, v in g.constraints.items():
                    if s in params:
                        gold.add((g.service, s, self._key(g.service, s, v)))
            self._gold[task.task_id] = gold
        return gold

    def _key(self, service: str, slot: str, value: Any) -> str:
        return self.corpus.key(service, slot, value)

    def _intent_done(self, g: IntentGoal, calls: list[ToolResult], offered: dict[tuple[str, str], set[str]],
                     stated: dict[tuple[str, str], str] | None) -> bool:
        mine = [c for c in calls if c.ok and c.service == g.service and c.intent == g.intent]
        if not mine:
            return False
        if not g.transactional:
            tool = self.corpus.services[g.service].intents[g.intent]
            params = set(tool.required_slots) | set(tool.optional_slots)
            if stated is None:  # no record of what the user said: hold the agent to the whole goal
                constraints = g.constraints
            else:  # an agent can only be held to the constraints the user actually stated
                constraints = {s: stated[(g.service, s)] for s in g.constraints if (g.service, s) in stated}
            want = {s: self._key(g.service, s, v) for s, v in constraints.items() if s in params}
            return any(
                all(c.canonical_args.get(s) not in (None, DONTCARE) and self._key(g.service, s, c.canonical_args[s]) == k
                    for s, k in want.items())
                for c in mine
            )
        for exp in g.expected_calls:
            if not any(self._matches(g, exp.args, exp.sources, exp.outcome, c, offered) for c in mine):
                return False
        return bool(g.expected_calls) or bool(mine)

    def _matches(self, g: IntentGoal, args: dict[str, str], sources: dict[str, str], outcome: str,
                 call: ToolResult, offered: dict[tuple[str, str], set[str]]) -> bool:
        status = call.content.get("status")
        if status != "success" and not (outcome == "failure" and status == "failure"):
            return False
        intent = self.corpus.services[g.service].intents[g.intent]
        booked = call.content.get("result") if isinstance(call.content.get("result"), dict) else {}
        for slot, value in args.items():
            got = call.canonical_args.get(slot)
            if got == DONTCARE:  # the user let the service choose: judge what it chose
                got = booked.get(slot)
            if got is None:
                return False
            got_key = self._key(g.service, slot, got)
            if sources.get(slot) == "user":
                if got_key != self._key(g.service, slot, value):
                    return False
            else:
                allowed = offered.get((g.service, slot), set()) | {self._key(g.service, slot, value)}
                default = intent.optional_slots.get(slot)
                if default is not None:
                    allowed.add(self._key(g.service, slot, default))
                if got_key not in allowed:
                    return False
        return True

    def extra_writes(self, task: Task, calls: list[ToolResult], offered: dict[tuple[str, str], set[str]]) -> int:
        """Transactions that went through but that no expected call of the goal accounts for, one to one."""
        expected = [(g, e) for g in task.goal if g.transactional for e in g.expected_calls if e.outcome != "failure"]
        used: set[int] = set()
        extra = 0
        for c in calls:
            if not (c.ok and c.transactional and c.content.get("status") == "success"):
                continue
            match = next((i for i, (g, e) in enumerate(expected) if i not in used and g.service == c.service
                          and g.intent == c.intent and self._matches(g, e.args, e.sources, e.outcome, c, offered)), None)
            if match is None:
                extra += 1
            else:
                used.add(match)
        return extra

    def evaluate(self, task: Task, calls: list[ToolResult], agent_messages: list[str], turns: int, max_turns: int,
                 index: CallIndex | None = None, stated: dict[tuple[str, str], str] | None = None,
                 asked: list[tuple[str, str]] | None = None) -> dict[str, float]:
        """The reward breakdown: each component in [0, 1], plus `total` (weighted) and `success`.

        `stated` (the user's latest value per (service, slot) this episode) and `asked` (the slots it
        requested) hold the agent to what the user said rather than to the whole hidden goal; without
        them the goal is used. Pass the episode's `CallIndex` to make repeated calls incremental.
        """
        index = (index or CallIndex()).update(calls, self.corpus.key)
        offered, result_values = index.offered, index.values
        intents_done = [self._intent_done(g, calls, offered, stated) for g in task.goal]
        text = "\n".join(agent_messages).lower()
        requests = list(dict.fromkeys(asked)) if asked is not None else [(g.service, s) for g in task.goal for s in g.requested]
        told_n = sum(
            1 for service, slot in requests
            if any(told(self.corpus.kind(service, slot), slot, v, text) for v in result_values.get((service, slot), ()))
        )
        n_calls = len(calls)
        gold = self.gold_slots(task)
        gold_slots = {(s, sl) for s, sl, _ in gold}
        pred = {
            (c.service, s, self._key(c.service, s, v))
            for c in calls if c.ok and c.service is not None
            for s, v in c.canonical_args.items()
            if (c.service, s) in gold_slots and isinstance(c.arguments, dict) and s in c.arguments
        }
        exact_writes = self.extra_writes(task, calls, offered) == 0
        components = {
            "success": float(all(intents_done) and told_n == len(requests) and bool(task.goal) and exact_writes),
            "valid_tool_calls": sum(c.ok for c in calls) / n_calls if n_calls else 0.0,
            "slot_precision": len(pred & gold) / len(pred) if pred else 0.0,
            "slot_recall": len(pred & gold) / len(gold) if gold else float(bool(calls)),
            "requests_told": told_n / len(requests) if requests else 1.0,
            "efficiency": max(0.0, 1.0 - turns / max_turns) if max_turns else 0.0,
        }
        components["intents_done"] = sum(intents_done) / len(intents_done) if intents_done else 0.0
        components["exact_writes"] = float(exact_writes)
        components["total"] = sum(self.config.weights.get(k, 0.0) * components[k] for k in COMPONENTS)
        return components
