"""The user's policy: which dialogue acts to answer the agent with, given the goal and what the
agent did. Act *types* come from a small decision tree fitted on real SGD users (state features
→ act types); slots and values come from the goal by rule, so the user never says anything its
goal does not hold."""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.domains.sgd.tasks import Act, Task, turn_acts
from agentgym.domains.sgd.users.state import USER_ACTS, UserState

LABELS = (*USER_ACTS, "REQUEST2")
TurnPair = tuple[list[Act], list[Act]]  # (system acts before the user turn, the user's acts)


def dialogue_turn_pairs(dialogue: dict[str, Any]) -> list[TurnPair]:
    """(previous system acts, user acts) for every user turn of a raw SGD dialogue."""
    pairs: list[TurnPair] = []
    last_sys: list[Act] = []
    for turn in dialogue["turns"]:
        acts = turn_acts(turn)
        if turn["speaker"] == "USER":
            pairs.append((last_sys, acts))
        else:
            last_sys = acts
    return pairs


def labels_of(acts: list[Act]) -> set[str]:
    types = {a for _, a, _, _ in acts}
    if sum(a == "REQUEST" for _, a, _, _ in acts) >= 2:
        types.add("REQUEST2")
    return types


@dataclass
class Persona:
    """Noise knobs: 0 everywhere is the fitted, deterministic user."""

    patience: int = 3  # how many times the user answers the same question before giving up on it
    verbosity: float = 0.0  # probability of volunteering one more unsaid slot
    extra_slots: float = 0.0  # probability of volunteering slots up front beyond the fitted habit
    reject_conflicts: bool = True  # object when an offer or read-back contradicts the goal
    accept_alternatives: bool = True  # take the alternative offered after a failed transaction
    dontcare_unknown: bool = True  # answer "any is fine" when asked for a slot the goal has no value for
    withhold: bool = False  # volunteer nothing: every detail only when the agent asks for it

    def __post_init__(self) -> None:
        """Each knob of its own kind and range: a knob file or config saying patience='x' is refused here."""
        from agentgym.safeio import check_bool, finite_number

        finite_number("persona patience", self.patience, low=0, high=100, integer=True)
        for name in ("verbosity", "extra_slots"):
            finite_number(f"persona {name} (a probability)", getattr(self, name), low=0.0, high=1.0)
        for name in ("reject_conflicts", "accept_alternatives", "dontcare_unknown", "withhold"):
            check_bool(f"persona {name}", getattr(self, name))


@dataclass
class AgendaPolicy:
    """Fitted act-type model + goal-driven slot filling."""

    tree: Any = None
    feature_names: list[str] = field(default_factory=list)
    upfront: dict[str, float] = field(default_factory=dict)  # slot name -> P(said with the intent)
    upfront_default: float = 0.5
    upfront_threshold: float = 0.5

    # ---- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, tasks: Iterable[Task], dialogues: Iterable[dict[str, Any]], max_depth: int = 12) -> AgendaPolicy:
        from sklearn.tree import DecisionTreeClassifier

        tasks_l, dialogues_l = list(tasks), list(dialogues)
        rows, ys = [], []
        up_hits: Counter[str] = Counter()
        up_total: Counter[str] = Counter()
        for task, dialogue in zip(tasks_l, dialogues_l, strict=True):
            state = UserState(task)
            for sys_acts, user_acts in dialogue_turn_pairs(dialogue):
                state.observe_system(sys_acts)
                rows.append(state.features())
                ys.append(labels_of(user_acts))
                for service, act, _, values in user_acts:
                    if act == "INFORM_INTENT" and values:
                        p = state.find(service, values[0])
                        if p is not None:
                            said = {sl for s, a, sl, _ in user_acts if a == "INFORM" and s == service}
                            for slot in dict.fromkeys(s for s, _ in p.goal.informed):
                                up_total[slot] += 1
                                up_hits[slot] += slot in said
                state.observe_user(user_acts)
        names = sorted(rows[0]) if rows else []
        X = np.array([[r[n] for n in names] for r in rows], dtype=float)
        Y = np.array([[lab in y for lab in LABELS] for y in ys], dtype=int)
        tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=3, random_state=0).fit(X, Y)
        total = sum(up_total.values())
        default = sum(up_hits.values()) / total if total else 0.5
        upfront = {s: up_hits[s] / n for s, n in up_total.items() if n >= 3}

        policy = cls(tree, names, upfront, default, 0.5)
        # how eagerly to volunteer slots: the cut that best reproduces the training users' acts
        sample = list(zip(tasks_l, dialogues_l, strict=True))[:1500]
        policy.upfront_threshold = max((0.4, 0.5, 0.6, 0.7), key=lambda th: policy._teacher_forced_f1(sample, th))
        return policy

    def _teacher_forced_f1(self, pairs: list[tuple[Task, dict[str, Any]]], threshold: float) -> float:
        from agentgym.domains.sgd.values import text_key

        self.upfront_threshold = threshold
        tp = fp = fn = 0
        for task, dialogue in pairs:
            state = UserState(task)
            for sys_acts, user_acts in dialogue_turn_pairs(dialogue):
                state.observe_system(sys_acts)
                pred = Counter((a, s, text_key(v[0]) if v else "") for _, a, s, v in self.decide(state))
                gold = Counter((a, s, text_key(v[0]) if v else "") for _, a, s, v in user_acts)
                tp += sum((pred & gold).values())
                fp += sum((pred - gold).values())
                fn += sum((gold - pred).values())
                state.observe_user(user_acts)
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    # ---- acting ----------------------------------------------------------------------------
    def act_types(self, state: UserState) -> set[str]:
        """Walk the fitted tree by hand: sklearn's predict costs ~0.1 ms of overhead per call."""
        f = state.features()
        t = self.tree.tree_
        node = 0
        while t.children_left[node] != -1:
            node = t.children_left[node] if f[self.feature_names[t.feature[node]]] <= t.threshold[node] else t.children_right[node]
        votes = t.value[node]  # labels × classes (0/1)
        return {lab for lab, v in zip(LABELS, votes, strict=True) if len(v) > 1 and v[1] > v[0]}

    def decide(self, state: UserState, rng: random.Random | None = None, persona: Persona | None = None) -> list[Act]:
        """The user's acts for this turn (not yet applied to the state)."""
        persona = persona or Persona()
        types = self.act_types(state)
        sys = state.last_system
        service = sys[0][0] if sys else (state.current.goal.service if state.current else state.task.services[0])
        cur = state.progress_for(service) or state.current
        nxt = state.next_intent()
        acts: list[Act] = []
        said: set[tuple[str, str]] = set()

        def inform(svc: str, slot: str, value: str | None) -> None:
            if value is not None and (svc, slot) not in said:
                said.add((svc, slot))
                acts.append((svc, "INFORM", slot, (value,)))

        if not sys and nxt is not None:  # the opening turn
            types = {"INFORM_INTENT", "INFORM"}
        conflicts = state.conflicts()
        sys_types = {a for _, a, _, _ in sys}
        if persona.accept_alternatives and "NOTIFY_FAILURE" in sys_types and sys_types & {"OFFER", "CONFIRM"}:
            types, conflicts = {"AFFIRM"}, []  # an alternative after a failure: SGD users take it
        if conflicts and persona.reject_conflicts:
            # the agent offered or read back something the goal rules out: say so, never accept it
            sys_types = {a for _, a, _, _ in sys}
            types = (types - {"SELECT", "AFFIRM", "INFORM_INTENT", "AFFIRM_INTENT", "THANK_YOU", "GOODBYE"}) | {"INFORM"}
            types.add("NEGATE" if "CONFIRM" in sys_types else "REQUEST_ALTS")
        target = cur
        if "INFORM_INTENT" in types and nxt is not None:
            acts.append((nxt.goal.service, "INFORM_INTENT", "intent", (nxt.goal.intent,)))
            target = nxt
        elif "AFFIRM_INTENT" in types:
            acts.append((service, "AFFIRM_INTENT", "", ()))
            offered = [v[0] for _, a, _, v in sys if a == "OFFER_INTENT" and v]
            cand = state.find(service, offered[0]) if offered else None
            target = cand or (nxt if nxt and nxt.goal.service == service else cur)
        # answers to the agent's questions
        for svc, act, slot, _ in sys:
            if act == "REQUEST" and slot:
                owner = state._owner(svc, slot)
                if owner is not None:
                    inform(svc, slot, owner.current(slot))
                elif slot in state.offered.get(svc, {}) and any(slot in q.goal.accepted for q in state.intents if q.goal.service == svc):
                    inform(svc, slot, state.offered[svc][slot])  # the one the agent offered and the user took
                elif persona.dontcare_unknown and state.asked_before(svc, slot):
                    inform(svc, slot, "dontcare")  # asked again for something the goal leaves open: any will do
        # corrections after a confirmation or offer that disagrees with the goal
        if "NEGATE" in types or "REQUEST_ALTS" in types or "INFORM" in types:
            for svc, slot, want in state.conflicts():
                inform(svc, slot, want)
        if target is not None and ("REQUEST_ALTS" in types or "NEGATE" in types):
            for slot in target.pending_changes():
                vals = target.values(slot)
                inform(target.goal.service, slot, vals[min(target.said.get(slot, 0) + 1, len(vals) - 1)])
        if target is not None and not persona.withhold and ("INFORM_INTENT" in types or "AFFIRM_INTENT" in types or "INFORM" in types):
            fresh = target is not cur or "INFORM_INTENT" in types or "AFFIRM_INTENT" in types
            for slot in target.unsaid():
                p = self.upfront.get(slot, self.upfront_default)
                if rng is not None and persona.extra_slots:
                    p += persona.extra_slots
                if (fresh and p >= self.upfront_threshold) or (rng is not None and persona.verbosity and rng.random() < persona.verbosity):
                    inform(target.goal.service, slot, target.current(slot))
        if "INFORM" in types and not persona.withhold and not any(a == "INFORM" for _, a, _, _ in acts) and target is not None and target.unsaid():
            slot = target.unsaid()[0]
            inform(target.goal.service, slot, target.current(slot))
        if "REQUEST" in types and cur is not None:
            k = 2 if "REQUEST2" in types else 1
            for slot in cur.open_requests()[:k]:
                acts.append((cur.goal.service, "REQUEST", slot, ()))
        for simple in ("SELECT", "AFFIRM", "NEGATE", "REQUEST_ALTS", "NEGATE_INTENT", "THANK_YOU", "GOODBYE"):
            if simple in types:
                if simple == "REQUEST_ALTS" and not conflicts and (cur is None or cur.goal.alternatives <= cur.alternatives_used):
                    continue
                acts.append((service, simple, "", ()))
        if not acts:
            acts.append((service, "THANK_YOU", "", ()))
        return acts
