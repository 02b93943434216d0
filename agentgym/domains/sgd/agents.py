"""A scripted agent that follows the schema, and a naive one that does not.

The scripted agent reads the user's dialogue acts from `info["user_acts"]` (perfect language
understanding) and plays SGD's system policy: ask for missing required slots one at a time,
search, offer one result at a time, read transactional details back and wait for a yes, call,
report the outcome, answer requests from tool results, and finish when the user leaves.
It is a reference point for the reward, not a learned policy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.schema import related_slots
from agentgym.types import StepInfo

Key = tuple[str, str]


def _words(slot: str) -> str:
    return slot.replace("_", " ")


@dataclass
class _State:
    slots: dict[Key, str] = field(default_factory=dict)
    active: Key | None = None
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    offered: dict[str, int] = field(default_factory=dict)
    last_row: dict[str, dict[str, str]] = field(default_factory=dict)
    searched: dict[Key, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    pending_confirm: Key | None = None
    confirmed: Key | None = None
    done: set[Key] = field(default_factory=set)
    requests: list[Key] = field(default_factory=list)
    asked: dict[Key, int] = field(default_factory=dict)
    said: set[Key] = field(default_factory=set)  # slots whose value came from the user
    alternative: tuple[Key, dict[str, str]] | None = None  # offered after a failed transaction


class ScriptedAgent:
    """Schema-following reference agent (see module docstring)."""

    name = "scripted"

    def __init__(self) -> None:
        self.s = _State()
        self.tools: dict[Key, dict[str, Any]] = {}

    def reset(self, observation: str, info: StepInfo) -> None:
        self.s = _State()
        self.tools = {}
        self.writes: dict[Key, bool] = {}
        meta = info.get("tool_meta", {})
        for spec in info.get("tools", []):
            fn = spec["function"]
            m = meta.get(fn["name"])
            if m is None:
                continue
            self.tools[(m["service"], m["intent"])] = fn
            self.writes[(m["service"], m["intent"])] = bool(m["writes"])
        self._read_user(info.get("user_acts", []))

    # ---- reading -----------------------------------------------------------------------
    def _tool(self, key: Key) -> dict[str, Any]:
        return self.tools[key]

    def _transactional(self, key: Key) -> bool:
        return self.writes.get(key, False)

    def _read_user(self, acts: list[dict[str, Any]]) -> None:
        s = self.s
        for a in acts:
            service, act, slot, values = a["service"], a["act"], a["slot"], a["values"]
            if act == "INFORM_INTENT" and values and (service, values[0]) in self.tools:
                s.active = (service, values[0])
                s.pending_confirm = None
            elif act == "INFORM" and values:
                s.slots.pop((service, slot), None)
                s.slots[(service, slot)] = values[0]
                s.said.add((service, slot))
                s.alternative = None
                s.done -= {k for k in s.done if k[0] == service and self._transactional(k)}
                if s.pending_confirm and s.pending_confirm[0] == service:
                    s.pending_confirm = None  # details changed: read them back again
            elif act == "REQUEST" and slot:
                s.requests.append((service, slot))
            elif act == "SELECT":
                if slot and values:
                    self._select(service, slot, values[0])
                self._accept_offer(service)
            elif act == "AFFIRM_INTENT":
                trans = [k for k in self.tools if k[0] == service and self._transactional(k)]
                if trans:
                    self._accept_offer(service)
                    s.active = trans[0]
            elif act == "REQUEST_ALTS":
                s.offered[service] = s.offered.get(service, 0) + 1
            elif act == "AFFIRM" and s.alternative is not None:
                key, row = s.alternative
                props = self._tool(key)["parameters"]["properties"]
                for k, v in row.items():
                    if k in props:
                        s.slots[(key[0], k)] = v
                s.done.discard(key)
                s.active, s.confirmed, s.alternative = key, key, None
            elif act == "AFFIRM" and s.active and self._transactional(s.active) and not self._missing(s.active):
                s.confirmed = s.active
            elif act == "NEGATE" and s.pending_confirm:
                s.pending_confirm = None
        if s.active and s.active[0] in s.rows and s.active not in s.done:
            self._fill_from_offer(s.active)

    def _select(self, service: str, slot: str, value: str) -> None:
        """The user picked an entity by name: point at that row, or take the value as said."""
        rows = self.s.rows.get(service, [])
        for i, row in enumerate(rows):
            if str(row.get(slot, "")).lower() == value.lower():
                self.s.offered[service] = i
                return
        self.s.slots[(service, slot)] = value
        self.s.said.add((service, slot))

    def _accept_offer(self, service: str) -> None:
        row = self._current_row(service)
        if row:
            for slot, value in row.items():
                if (service, slot) not in self.s.said:
                    self.s.slots[(service, slot)] = value

    def _fill_from_offer(self, key: Key) -> None:
        row = self._current_row(key[0])
        params = self._tool(key)["parameters"]["properties"]
        if row and self._transactional(key):
            for slot in params:
                if (key[0], slot) not in self.s.slots and slot in row:
                    self.s.slots[(key[0], slot)] = row[slot]

    def _current_row(self, service: str) -> dict[str, str] | None:
        rows = self.s.rows.get(service)
        if not rows:
            return self.s.last_row.get(service)
        return rows[min(self.s.offered.get(service, 0), len(rows) - 1)]

    def _carry(self, service: str, slot: str) -> str | None:
        """A value the user gave another service for a related slot ("the weather there")."""
        for (other, name), value in reversed(list(self.s.slots.items())):
            if other != service and related_slots(slot, name):
                return value
        return None

    def _missing(self, key: Key) -> list[str]:
        missing = []
        for p in self._tool(key)["parameters"]["required"]:
            if (key[0], p) in self.s.slots:
                continue
            carried = self._carry(key[0], p)
            if carried is not None:
                self.s.slots[(key[0], p)] = carried
            else:
                missing.append(p)
        return missing

    def _args(self, key: Key) -> dict[str, str]:
        props = self._tool(key)["parameters"]["properties"]
        return {p: self.s.slots[(key[0], p)] for p in props if (key[0], p) in self.s.slots}

    # ---- speaking ----------------------------------------------------------------------
    def _answers(self) -> str:
        out = []
        for service, slot in self.s.requests:
            row = self._current_row(service)
            if row and slot in row:
                out.append(f"The {_words(slot)} is {row[slot]}.")
            else:
                out.append(f"Sorry, I don't have the {_words(slot)}.")
        self.s.requests = []
        return " ".join(out)

    def _describe(self, service: str, row: dict[str, str], skip: set[str]) -> str:
        parts = [f"{_words(k)} {v}" for k, v in row.items() if k not in skip][:4]
        return ", ".join(parts)

    def _after_result(self, result: dict[str, Any]) -> str:
        s = self.s
        key = s.active
        service = key[0] if key else ""
        status = result.get("status")
        if status == "ok":
            rows = result.get("results", [])
            s.rows[service] = rows
            s.offered[service] = 0
            if not rows:
                return "Sorry, I couldn't find anything matching that. Would you like to change something?"
            args = self._args(key) if key else {}
            n = result.get("count", len(rows))
            return f"I found {n} option{'s' if n != 1 else ''}. How about {self._describe(service, rows[0], set(args))}?"
        if status == "success":
            row = result.get("result", {})
            s.last_row[service] = row
            s.rows.pop(service, None)
            if key:
                s.done.add(key)
            s.confirmed = None
            return "Your booking is confirmed." if key else "Done."
        if status == "failure":
            if key:
                s.done.add(key)
            s.confirmed = None
            alts = result.get("alternatives") or []
            if alts and key:
                s.alternative = (key, alts[0])
                return f"Sorry, that could not be completed. Would {self._describe(service, alts[0], set())} work instead?"
            return "Sorry, that could not be completed."
        return "Sorry, something went wrong on my side."

    def act(self, observation: str, info: StepInfo) -> Any:
        s = self.s
        results = info.get("tool_results") or []
        lead = ""
        if results:
            lead = self._after_result(results[-1])
            if results[-1].get("status") == "ok" and s.requests:
                return " ".join(x for x in (lead, self._answers()) if x)
            if results[-1].get("status") == "failure" and s.alternative is not None:
                return " ".join(x for x in (lead, self._answers()) if x)
            if results[-1].get("status") in ("success", "failure"):
                return " ".join(x for x in (lead, self._answers(), "Anything else I can help with?") if x)
            return lead
        acts = info.get("user_acts", [])
        self._read_user(acts)
        names = {a["act"] for a in acts}
        if "GOODBYE" in names or (names and names <= {"THANK_YOU", "NEGATE"} and not s.pending_confirm and not s.active or
                                   (names and names <= {"THANK_YOU", "NEGATE"} and s.active in s.done)):
            return "[finish]" if "GOODBYE" in names else "You're welcome. Have a great day!"
        key = s.active
        if key is None:
            return " ".join(x for x in (self._answers(), "How can I help you today?") if x)
        args = self._args(key)
        stale = not self._transactional(key) and s.searched.get(key) not in (None, tuple(sorted(args.items())))
        if "REQUEST_ALTS" in names and s.rows.get(key[0]) and not stale:
            rows = s.rows[key[0]]
            i = s.offered.get(key[0], 0)
            if i < len(rows):
                return f"How about {self._describe(key[0], rows[i], set(self._args(key)))}?"
            return "Sorry, there are no other options. Would you like to change something?"
        missing = self._missing(key)
        if missing:
            slot = missing[0]
            s.asked[(key[0], slot)] = s.asked.get((key[0], slot), 0) + 1
            desc = self._tool(key)["parameters"]["properties"][slot]["description"].split(" (")[0].lower()
            return " ".join(x for x in (self._answers(), f"What {_words(slot)} would you like? ({desc})") if x)
        args = self._args(key)
        if not self._transactional(key):
            sig = tuple(sorted(args.items()))
            if s.searched.get(key) != sig:
                s.searched[key] = sig
                return {"name": f"{key[0]}_{key[1]}", "arguments": args}
            return " ".join(x for x in (self._answers(), "Is there anything else you'd like to know?") if x)
        if key in s.done:
            return " ".join(x for x in (self._answers(), "Anything else I can help with?") if x)
        if s.confirmed == key:
            return {"name": f"{key[0]}_{key[1]}", "arguments": args}
        s.pending_confirm = key
        props = self._tool(key)["parameters"]["properties"]
        for slot, spec in props.items():  # defaults are part of what gets booked: read them back too
            default = spec["description"].rsplit(". Default: ", 1)
            if slot not in args and len(default) == 2 and default[1] != "dontcare":
                args[slot] = default[1]
        details = ", ".join(f"{_words(k)}: {v}" for k, v in args.items())
        return " ".join(x for x in (self._answers(), f"Please confirm: {_words(key[1])} with {details}. Is that right?") if x)


class NaiveAgent:
    """Calls the tool of the user's intent at once with whatever it heard, never asks, never
    confirms, never answers questions. Shows what the reward gives for careless behaviour."""

    name = "naive"

    def __init__(self) -> None:
        self.called: set[str] = set()
        self.slots: dict[str, str] = {}
        self.tools: set[str] = set()

    def reset(self, observation: str, info: StepInfo) -> None:
        self.called, self.slots = set(), {}
        self.tools = {t["function"]["name"] for t in info.get("tools", [])}

    def act(self, observation: str, info: StepInfo) -> Any:
        acts = info.get("user_acts", [])
        for a in acts:
            if a["act"] == "INFORM" and a["values"]:
                self.slots[a["slot"]] = a["values"][0]
        for a in acts:
            if a["act"] == "GOODBYE":
                return "[finish]"
            if a["act"] == "INFORM_INTENT" and a["values"]:
                name = f"{a['service']}_{a['values'][0]}"
                if name in self.tools and name not in self.called:
                    self.called.add(name)
                    return {"name": name, "arguments": dict(self.slots)}
        return "Okay, done. Anything else?"
