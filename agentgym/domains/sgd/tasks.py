"""Turn one SGD dialogue into a task: the user's goal, the services, the recorded calls.

The goal is what the user knew and wanted *before* talking to the agent. SGD users often accept
values the system offered ("Yes, book Andes Cafe"); those are recorded as `accepted` slots, not as
informed values, so the hidden goal never leaks what only the agent's searches can reveal.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.values import text_key

Act = tuple[str, str, str, tuple[str, ...]]  # (service, act, slot, canonical values)


def turn_acts(turn: dict[str, Any]) -> list[Act]:
    """The dialogue acts of one raw SGD turn, canonical values preferred (the one reader of SGD's act annotation)."""
    return [(f["service"], a["act"], a.get("slot", ""), tuple(a.get("canonical_values") or a.get("values") or ()))
            for f in turn["frames"] for a in f["actions"]]


@dataclass(slots=True)
class ExpectedCall:
    """A recorded transactional call the agent must reproduce."""

    args: dict[str, str]
    sources: dict[str, str]  # slot -> "user" (the user knew it) | "offered" (accepted from the agent)
    outcome: str  # "success" | "failure"


@dataclass(slots=True)
class IntentGoal:
    service: str
    intent: str
    transactional: bool
    informed: list[tuple[str, str]] = field(default_factory=list)  # ordered; a later value = change of mind
    accepted: list[str] = field(default_factory=list)  # slots whose value the user took from an offer
    requested: list[str] = field(default_factory=list)
    alternatives: int = 0
    expected_calls: list[ExpectedCall] = field(default_factory=list)

    @property
    def constraints(self) -> dict[str, str]:
        """The last value the user gave for each slot (changes of mind resolved)."""
        return dict(self.informed)


@dataclass(slots=True)
class UserTurnRecord:
    text: str
    acts: list[Act]


@dataclass(slots=True)
class RecordedCall:
    service: str
    intent: str
    args: dict[str, str]
    results: list[dict[str, str]]
    outcome: str  # "success" | "failure" | "results"


@dataclass(slots=True)
class Task:
    task_id: str
    split: str
    services: list[str]
    goal: list[IntentGoal]
    user_turns: list[UserTurnRecord]
    recorded_calls: list[RecordedCall]
    meta: dict[str, Any] = field(default_factory=dict)  # generated tasks: family, persona, sources, validation

    def to_dict(self) -> dict[str, Any]:
        """The whole task as plain JSON data (a task file's row); `Task.from_dict` reads it back."""
        return {
            "task_id": self.task_id, "split": self.split, "services": list(self.services),
            "goal": [{"service": g.service, "intent": g.intent, "transactional": g.transactional,
                      "informed": [list(p) for p in g.informed], "accepted": list(g.accepted), "requested": list(g.requested),
                      "alternatives": g.alternatives,
                      "expected_calls": [{"args": dict(c.args), "sources": dict(c.sources), "outcome": c.outcome}
                                         for c in g.expected_calls]} for g in self.goal],
            "user_turns": [{"text": t.text, "acts": [list(a[:3]) + [list(a[3])] for a in t.acts]} for t in self.user_turns],
            "recorded_calls": [{"service": c.service, "intent": c.intent, "args": dict(c.args), "results": list(c.results),
                                "outcome": c.outcome} for c in self.recorded_calls],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Task:
        """A task from `to_dict`'s data; KeyError/TypeError/ValueError name what is missing or malformed."""
        if not isinstance(d, dict):
            raise TypeError(f"a task is a JSON object, got {type(d).__name__}")
        from agentgym.safeio import check_id, finite_number

        missing = [k for k in ("task_id", "services", "goal") if k not in d]
        if missing:
            raise KeyError(f"missing {', '.join(missing)}")
        check_id("task_id", d["task_id"], max_len=200)
        if not isinstance(d["goal"], list) or not d["goal"]:
            raise ValueError("goal must be a non-empty list of intent goals (a task with no goal has nothing to play)")
        goal = []
        for g in d["goal"]:
            if not isinstance(g, dict):
                raise TypeError(f"each goal is a JSON object, got {type(g).__name__}")
            finite_number(f"alternatives of {g.get('intent')!r}", g.get("alternatives", 0), low=0, high=50, integer=True)
            for k in ("service", "intent"):
                if k not in g:
                    raise KeyError(f"a goal lacks {k!r}")
            goal.append(IntentGoal(
                str(g["service"]), str(g["intent"]), bool(g.get("transactional", False)),
                [(str(s), str(v)) for s, v in g.get("informed", [])], [str(x) for x in g.get("accepted", [])],
                [str(x) for x in g.get("requested", [])], int(g.get("alternatives", 0)),
                [ExpectedCall({str(k): str(v) for k, v in c["args"].items()}, dict(c.get("sources", {})), str(c.get("outcome", "success")))
                 for c in g.get("expected_calls", [])]))
        turns = [UserTurnRecord(str(t["text"]), [(a[0], a[1], a[2], tuple(a[3])) for a in t.get("acts", [])])
                 for t in d.get("user_turns", [])]
        calls = [RecordedCall(str(c["service"]), str(c["intent"]), {str(k): str(v) for k, v in c.get("args", {}).items()},
                              [dict(r) for r in c.get("results", [])], str(c.get("outcome", "results")))
                 for c in d.get("recorded_calls", [])]
        if not isinstance(d["services"], list) or not d["services"]:
            raise ValueError("services must be a non-empty list of service names")
        return cls(str(d["task_id"]), str(d.get("split", "generated")), [str(s) for s in d["services"]], goal, turns, calls,
                   dict(d.get("meta") or {}))

    def goal_dict(self) -> list[dict[str, Any]]:
        """The goal as plain data (for info['goal'], prompts and JSON export)."""
        return [
            {
                "service": g.service,
                "intent": g.intent,
                "transactional": g.transactional,
                "informed": [list(p) for p in g.informed],
                "accepted": list(g.accepted),
                "requested": list(g.requested),
                "alternatives": g.alternatives,
            }
            for g in self.goal
        ]


def _first(act: dict[str, Any]) -> str | None:
    vals = act.get("canonical_values") or act.get("values") or []
    return vals[0] if vals else None


def task_from_dialogue(dialogue: dict[str, Any], split: str, schema_intents: dict[tuple[str, str], bool]) -> Task:
    """Derive the task of one dialogue. `schema_intents` maps (service, intent) -> is_transactional."""
    goals: dict[tuple[str, str], IntentGoal] = {}
    order: list[IntentGoal] = []
    mentioned: dict[str, set[str]] = {}  # per service: text keys of values the system said or returned
    known: dict[str, set[tuple[str, str]]] = {}  # per service: (slot, value key) the user said first
    pending: dict[str, list[tuple[str, str]]] = {}  # informs made before any intent was active
    user_turns: list[UserTurnRecord] = []
    calls: list[RecordedCall] = []

    def goal_for(service: str, intent: str) -> IntentGoal:
        key = (service, intent)
        if key not in goals:
            g = IntentGoal(service, intent, schema_intents.get(key, False))
            g.informed.extend(pending.pop(service, []))
            goals[key] = g
            order.append(g)
        return goals[key]

    for turn in dialogue["turns"]:
        if turn["speaker"] == "USER":
            acts: list[Act] = []
            for frame in turn["frames"]:
                service = frame["service"]
                active = (frame.get("state") or {}).get("active_intent", "NONE")
                goal = goal_for(service, active) if active and active != "NONE" else None
                for act in frame["actions"]:
                    name, slot = act["act"], act.get("slot", "")
                    acts.append((service, name, slot, tuple(act.get("canonical_values") or act.get("values") or ())))
                    if name == "INFORM_INTENT":
                        intent = _first(act)
                        if intent:
                            goal = goal_for(service, intent)
                    elif name == "INFORM":
                        value = _first(act)
                        if value is None:
                            continue
                        vkey = text_key(value)
                        raw_keys = {text_key(v) for v in act.get("values", [])}
                        if (slot, vkey) in known.setdefault(service, set()):
                            if goal is not None and goal.constraints.get(slot) != value:
                                goal.informed.append((slot, value))
                            continue
                        seen = mentioned.get(service, set())
                        if vkey in seen or raw_keys & seen:
                            if goal is not None and slot not in goal.accepted:
                                goal.accepted.append(slot)
                            continue
                        known[service].add((slot, vkey))
                        if goal is None:
                            pending.setdefault(service, []).append((slot, value))
                        else:
                            goal.informed.append((slot, value))
                    elif name == "REQUEST" and goal is not None and slot not in goal.requested:
                        goal.requested.append(slot)
                    elif name == "REQUEST_ALTS" and goal is not None:
                        goal.alternatives += 1
            user_turns.append(UserTurnRecord(turn["utterance"], acts))
        else:
            for frame in turn["frames"]:
                service = frame["service"]
                seen = mentioned.setdefault(service, set())
                names = {a["act"] for a in frame["actions"]}
                for act in frame["actions"]:
                    for v in list(act.get("values", [])) + list(act.get("canonical_values", [])):
                        seen.add(text_key(v))
                call = frame.get("service_call")
                if call:
                    results = frame.get("service_results") or []
                    for row in results:
                        seen.update(text_key(v) for v in row.values())
                    intent = call["method"]
                    transactional = schema_intents.get((service, intent), False)
                    if not transactional:
                        outcome = "results"
                    elif "NOTIFY_FAILURE" in names:
                        outcome = "failure"
                    else:
                        outcome = "success"
                    calls.append(RecordedCall(service, intent, dict(call["parameters"]), list(results), outcome))

    for g in order:
        if not g.transactional:
            continue
        mine = [c for c in calls if c.service == g.service and c.intent == g.intent]
        wins = [c for c in mine if c.outcome == "success"] or mine[-1:]
        user_known = known.get(g.service, set())
        for c in wins:
            sources = {s: ("user" if (s, text_key(v)) in user_known else "offered") for s, v in c.args.items()}
            g.expected_calls.append(ExpectedCall(dict(c.args), sources, c.outcome))
    return Task(dialogue["dialogue_id"], split, list(dialogue["services"]), order, user_turns, calls)
