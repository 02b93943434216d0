"""Rule-based reward: did the agent do what the user came for, and tell them what they asked?

Success needs every goal intent satisfied (transactions made with the right arguments, searches
run with the user's constraints), every requested slot's value said to the user, and no write the
goal does not call for: the transactions that went through must be exactly the goal's (a wrong-
valued, duplicate or unrequested booking fails the episode, as an extra DB write does in tau2).
Arguments the user accepted from an offer are right when they match an entity this episode's
searches returned. The reward is `RUBRIC`, a weighted sum: partial criteria (valid calls, slot
precision/recall, requests told, efficiency) shape learning; `exact_writes` and `intents_done` are
logged (weight 0); the LLM judge is a criterion the env fills in when it has one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.mocker import ToolResult
from agentgym.domains.sgd.tasks import IntentGoal, Task
from agentgym.domains.sgd.tools import DONTCARE
from agentgym.domains.sgd.values import surface_forms
from agentgym.rubric import Criterion, Rubric


@dataclass(frozen=True, slots=True)
class Scored:
    """What the rubric's criteria read: one pass over the episode so far (see `RuleReward.evaluate`)."""

    intents_done: list[bool]
    told: int
    requests: int
    calls: int
    ok_calls: int
    pred: set[tuple[str, str, str]]
    gold: set[tuple[str, str, str]]
    exact_writes: bool
    has_goal: bool
    turns: int
    max_turns: int


def _recall(s: Scored) -> float:
    return len(s.pred & s.gold) / len(s.gold) if s.gold else float(bool(s.calls))


RUBRIC = Rubric((
    Criterion("success", 1.0, lambda s: float(all(s.intents_done) and s.told == s.requests and s.has_goal and s.exact_writes),
              help="every goal intent done right, every requested value told, nothing else written"),
    Criterion("valid_tool_calls", 0.1, lambda s: s.ok_calls / s.calls if s.calls else 0.0, help="share of calls that ran"),
    Criterion("slot_precision", 0.1, lambda s: len(s.pred & s.gold) / len(s.pred) if s.pred else 0.0,
              help="argument values the user stated or a tool returned"),
    Criterion("slot_recall", 0.1, _recall, help="goal values that reached the right calls"),
    Criterion("requests_told", 0.1, lambda s: s.told / s.requests if s.requests else 1.0, help="requested values told"),
    Criterion("efficiency", 0.1, lambda s: max(0.0, 1.0 - s.turns / s.max_turns) if s.max_turns else 0.0, help="fewer turns"),
    Criterion("intents_done", 0.0, lambda s: sum(s.intents_done) / len(s.intents_done) if s.intents_done else 0.0,
              help="share of goal intents done (weight it to reward partial progress)"),
    Criterion("exact_writes", 0.0, lambda s: float(s.exact_writes), help="no write the goal does not call for (success requires it)"),
    Criterion("judge", 0.0, None, help="the LLM judge's mean score (judge=...; weight it in `weights`)"),
))
DEFAULT_WEIGHTS: dict[str, float] = {n: w for n, w in RUBRIC.weights.items() if n != "judge"}
COMPONENTS = tuple(DEFAULT_WEIGHTS)  # the rule criteria (everything but the judge)


@dataclass
class RewardConfig:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    step_penalty: float = -0.01

    def __post_init__(self) -> None:
        from agentgym.safeio import finite_number

        if not isinstance(self.weights, dict):
            raise TypeError(f"reward weights must be a dict {{component: weight}}, got {type(self.weights).__name__}.")
        RUBRIC.check_names(self.weights, "reward component(s)")
        for name, w in self.weights.items():
            finite_number(f"reward weight {name!r}", w, low=-1e6, high=1e6)
        finite_number("step_penalty", self.step_penalty, low=-1e6, high=1e6)

    @property
    def rubric(self) -> Rubric:
        """SGD's rubric with these weights (a criterion not named here weighs 0)."""
        return RUBRIC.reweighted(self.weights, rest=0.0)


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
        self.rubric = self.config.rubric
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
        """The reward breakdown: each rule criterion of `RUBRIC` in [0, 1], plus `total` (weighted).

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
        gold = self.gold_slots(task)
        gold_slots = {(s, sl) for s, sl, _ in gold}
        pred = {
            (c.service, s, self._key(c.service, s, v))
            for c in calls if c.ok and c.service is not None
            for s, v in c.canonical_args.items()
            if (c.service, s) in gold_slots and isinstance(c.arguments, dict) and s in c.arguments
        }
        scored = Scored(intents_done=intents_done, told=told_n, requests=len(requests), calls=len(calls),
                        ok_calls=sum(c.ok for c in calls), pred=pred, gold=gold,
                        exact_writes=self.extra_writes(task, calls, offered) == 0, has_goal=bool(task.goal),
                        turns=turns, max_turns=max_turns)
        return self.rubric.score(scored)  # type: ignore[return-value]  # every rule criterion scores a number
