"""SGD service schemas: services, slots and intents as typed, immutable records."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# SGD's dialogues were collected as if "today" were this date; relative dates resolve against it.
from agentgym.domains.sgd.values import SGD_TODAY  # noqa: E402,F401  (one source: how values are read)


def domain(service: str) -> str:
    """The domain a service belongs to: 'Restaurants_1' → 'Restaurants' (the one place a service name splits)."""
    return service.split("_", 1)[0]


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    description: str
    is_categorical: bool
    possible_values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    description: str
    is_transactional: bool
    required_slots: tuple[str, ...]
    optional_slots: dict[str, str]
    result_slots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    description: str
    slots: dict[str, Slot]
    intents: dict[str, Intent] = field(default_factory=dict)

    def tool_name(self, intent: str) -> str:
        """Unique tool name: two services can share an intent name (e.g. FindRestaurants)."""
        return f"{self.name}_{intent}"


def service_from_json(raw: dict[str, Any]) -> Service:
    slots = {
        s["name"]: Slot(
            name=s["name"],
            description=s.get("description", ""),
            is_categorical=bool(s.get("is_categorical", False)),
            possible_values=tuple(s.get("possible_values", ()) or ()),
        )
        for s in raw["slots"]
    }
    intents = {
        i["name"]: Intent(
            name=i["name"],
            description=i.get("description", ""),
            is_transactional=bool(i.get("is_transactional", False)),
            required_slots=tuple(i.get("required_slots", ())),
            optional_slots=dict(i.get("optional_slots", {}) or {}),
            result_slots=tuple(i.get("result_slots", ())),
        )
        for i in raw["intents"]
    }
    return Service(raw["service_name"], raw.get("description", ""), slots, intents)


# ---- how slots of different services relate (one source: the scripted agent's carry-over, generated scenarios) ----
_PLACE = {"city", "location", "area", "town"}
_DIRECTION = {"origin", "destination", "from", "to", "departure", "return", "pickup", "dropoff", "leaving", "arrival"}


_WHERE_USER_WILL_BE = {"to", "destination", "pickup", "arrival"}


def related_slots(a: str, b: str) -> bool:
    """Slots that mean the same thing across services (city ~ location, date ~ appointment_date)."""
    if a == b:
        return True
    ta, tb = set(a.split("_")), set(b.split("_"))
    da, db = ta & _DIRECTION, tb & _DIRECTION
    if da and da != db:
        return False
    if not da and db and not db & _WHERE_USER_WILL_BE:
        return False
    if "date" in ta and "date" in tb:
        return True
    return bool(ta & _PLACE) and bool(tb & _PLACE)
