"""What a goal-driven user remembers during a dialogue: where it is in its goal, what it has said.

The state is updated from the user's own acts (so an audit can teacher-force it with the real
user's acts) and read by the policy through `features`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from agentgym.domains.sgd.tasks import Act, IntentGoal, Task
from agentgym.domains.sgd.values import text_key

SYSTEM_ACTS = ("REQUEST", "OFFER", "CONFIRM", "INFORM", "NOTIFY_SUCCESS", "NOTIFY_FAILURE", "INFORM_COUNT",
               "OFFER_INTENT", "REQ_MORE", "GOODBYE")
USER_ACTS = ("INFORM_INTENT", "INFORM", "REQUEST", "SELECT", "THANK_YOU", "AFFIRM", "NEGATE", "GOODBYE",
             "REQUEST_ALTS", "NEGATE_INTENT", "AFFIRM_INTENT")


@dataclass
class IntentProgress:
    goal: IntentGoal
    started: bool = False
    said: dict[str, int] = field(default_factory=dict)  # slot -> index into its values (change of mind)
    asked: set[str] = field(default_factory=set)  # requested slots already asked
    alternatives_used: int = 0
    selected: bool = False
    done: bool = False  # success or failure notified (transactional) / selected (search)

    def values(self, slot: str) -> list[str]:
        return [v for s, v in self.goal.informed if s == slot]

    def current(self, slot: str) -> str | None:
        """The value the user means now (the first one until it changes its mind)."""
        vals = self.values(slot)
        if not vals:
            return None
        return vals[min(self.said.get(slot, 0), len(vals) - 1)]

    def final(self, slot: str) -> str | None:
        vals = self.values(slot)
        return vals[-1] if vals else None

    def pending_changes(self) -> list[str]:
        """Slots whose later value the user has not said yet (it will change its mind)."""
        out = []
        for slot in dict.fromkeys(s for s, _ in self.goal.informed):
            vals = self.values(slot)
            if len(vals) > 1 and slot in self.said and self.said[slot] < len(vals) - 1:
                out.append(slot)
        return out

    def unsaid(self) -> list[str]:
        return [s for s in dict.fromkeys(s for s, _ in self.goal.informed) if s not in self.said]

    def open_requests(self) -> list[str]:
        return [s for s in self.goal.requested if s not in self.asked]


class UserState:
    """Progress through a task's goal, updated from the user's acts and the system's acts."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.intents = [IntentProgress(g) for g in task.goal]
        self.current: IntentProgress | None = None
        self.turn = 0
        self.finished = False
        self.last_system: list[Act] = []
        self.offered: dict[str, dict[str, str]] = {}  # service -> slot -> value of the last offer
        self.known_values: dict[str, set[str]] = {}  # service -> text keys of values the system mentioned
        self.last_user: set[str] = set()  # act types of the user's previous turn
        self.system_requests: dict[tuple[str, str], int] = {}

    # ---- navigation ----------------------------------------------------------------------
    def find(self, service: str, intent: str) -> IntentProgress | None:
        for p in self.intents:
            if p.goal.service == service and p.goal.intent == intent:
                return p
        return None

    def next_intent(self) -> IntentProgress | None:
        for p in self.intents:
            if not p.started:
                return p
        return None

    def progress_for(self, service: str) -> IntentProgress | None:
        """The current intent if it is of `service`, else the latest started one of that service."""
        if self.current and self.current.goal.service == service:
            return self.current
        started = [p for p in self.intents if p.started and p.goal.service == service]
        return started[-1] if started else None

    # ---- updates -------------------------------------------------------------------------
    def asked_before(self, service: str, slot: str) -> bool:
        """Did the agent already request this slot in an earlier turn?"""
        return self.system_requests.get((service, slot), 0) > 1

    def observe_system(self, acts: list[Act]) -> None:
        self.last_system = acts
        for service, act, slot, _ in acts:
            if act == "REQUEST" and slot:
                self.system_requests[(service, slot)] = self.system_requests.get((service, slot), 0) + 1
        for service, act, slot, values in acts:
            if values:
                self.known_values.setdefault(service, set()).update(text_key(v) for v in values)
            if act == "OFFER" and slot and values:
                self.offered.setdefault(service, {})[slot] = values[0]
            if act == "NOTIFY_SUCCESS" or (act == "NOTIFY_FAILURE" and not any(a[1] in ("OFFER", "CONFIRM") for a in acts)):
                p = self.progress_for(service)
                if p is not None and p.goal.transactional:
                    p.done = True

    def observe_user(self, acts: list[Act]) -> None:
        """Apply the user's own acts (predicted, or the real user's in an audit)."""
        self.turn += 1
        self.last_user = {a for _, a, _, _ in acts}
        for service, act, _slot, values in acts:
            if act in ("INFORM_INTENT",) and values:
                p = self.find(service, values[0])
                if p is not None:
                    p.started = True
                    self.current = p
            elif act == "AFFIRM_INTENT":
                cands = [p for p in self.intents if not p.started and p.goal.service == service]
                if cands:
                    cands[0].started = True
                    self.current = cands[0]
        for service, act, slot, values in acts:
            p = self.progress_for(service) or self.current
            if p is None:
                continue
            if act == "INFORM" and slot and values:
                owner = self._owner(service, slot) or p
                vals = owner.values(slot)
                keys = [text_key(v) for v in vals]
                k = text_key(values[0])
                owner.said[slot] = keys.index(k) if k in keys else owner.said.get(slot, 0)
            elif act == "REQUEST" and slot:
                for q in self.intents:  # one answer serves every intent that wanted it
                    if q.goal.service == service and slot in q.goal.requested:
                        q.asked.add(slot)
            elif act == "REQUEST_ALTS":
                p.alternatives_used += 1
            elif act == "SELECT":
                p.selected = True
                if not p.goal.transactional:
                    p.done = True
            elif act in ("GOODBYE",):
                self.finished = True

    def _owner(self, service: str, slot: str) -> IntentProgress | None:
        """The goal intent that holds a value for this slot (current first)."""
        if self.current and self.current.goal.service == service and self.current.values(slot):
            return self.current
        for p in self.intents:
            if p.goal.service == service and p.values(slot) and p.started:
                return p
        for p in self.intents:
            if p.goal.service == service and p.values(slot):
                return p
        return None

    # ---- what the policy sees ---------------------------------------------------------------
    def conflicts(self) -> list[tuple[str, str, str]]:
        """(service, slot, goal value) where the system's CONFIRM/OFFER disagrees with the goal."""
        out = []
        for service, act, slot, values in self.last_system:
            if act in ("CONFIRM", "OFFER") and slot and values:
                p = self._owner(service, slot)
                if p is None or slot in p.goal.accepted:  # the user took an offered value here before: open to offers
                    continue
                want = p.final(slot) if (slot in p.said or act == "CONFIRM") else p.current(slot)
                if want is not None and text_key(want) != text_key(values[0]) and text_key(want) != "dontcare":
                    out.append((service, slot, want))
        return out

    def features(self) -> dict[str, float]:
        sys_types = {a for _, a, _, _ in self.last_system}
        service = self.last_system[0][0] if self.last_system else (self.current.goal.service if self.current else "")
        p = self.progress_for(service) if service else self.current
        nxt = self.next_intent()
        requested = [sl for _, a, sl, _ in self.last_system if a == "REQUEST"]
        offered_intent = [v[0] for _, a, _, v in self.last_system if a == "OFFER_INTENT" and v]
        f: dict[str, float] = {f"sys_{a}": float(a in sys_types) for a in SYSTEM_ACTS}
        f.update({
            "opening": float(not self.last_system and self.turn == 0),
            "has_current": float(p is not None),
            "cur_transactional": float(bool(p and p.goal.transactional)),
            "cur_done": float(bool(p and p.done)),
            "cur_selected": float(bool(p and p.selected)),
            "open_requests": float(len(p.open_requests()) if p else 0),
            "alts_left": float(max(0, p.goal.alternatives - p.alternatives_used) if p else 0),
            "pending_change": float(bool(p and p.pending_changes())),
            "unsaid": float(len(p.unsaid()) if p else 0),
            "has_next": float(nxt is not None),
            "next_same_service": float(bool(nxt and p and nxt.goal.service == p.goal.service)),
            "next_transactional": float(bool(nxt and nxt.goal.transactional)),
            "offer_intent_is_next": float(bool(nxt and offered_intent and nxt.goal.intent == offered_intent[0])),
            "conflict": float(bool(self.conflicts())),
            "request_in_goal": float(bool(p and any(p.values(s) or self._owner(service, s) for s in requested))),
            "n_requested": float(len(requested)),
            "turn": float(min(self.turn, 12)),
            "n_started": float(sum(q.started for q in self.intents)),
            "all_started": float(nxt is None),
            "cur_asked_any": float(bool(p and p.asked)),
        })
        for a in ("THANK_YOU", "SELECT", "REQUEST", "AFFIRM", "NEGATE", "INFORM_INTENT", "REQUEST_ALTS", "INFORM"):
            f[f"user_{a}"] = float(a in self.last_user)
        return f
