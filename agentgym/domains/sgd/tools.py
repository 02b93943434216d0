"""Tools: every intent of a service as an OpenAI-style function with a JSON schema, and the
argument checks that turn an agent's loose values into canonical ones (or a clear error)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.schema import Intent, Service
from agentgym.domains.sgd.values import canonical

DONTCARE = "dontcare"
_KIND_HINT = {
    "date": "a date, YYYY-MM-DD (words like 'tomorrow' or 'March 3rd' are understood)",
    "time": "a time, HH:MM in 24-hour form ('7 pm' is understood)",
    "number": "a whole number",
    "bool": "true or false",
}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: str
    description: str
    possible: tuple[str, ...]
    required: bool
    default: str | None


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    service: str
    intent: Intent
    params: dict[str, Param]
    schema: dict[str, Any]

    @property
    def transactional(self) -> bool:
        return self.intent.is_transactional

    def meta(self) -> dict[str, Any]:
        """What the tool is, as structured data (`info["tool_meta"][name]`): never parsed back from prose."""
        return {"service": self.service, "intent": self.intent.name, "writes": self.transactional,
                "required": [p.name for p in self.params.values() if p.required],
                "defaults": {p.name: p.default for p in self.params.values() if p.default is not None}}


def _json_type(p: Param) -> dict[str, Any]:
    if p.kind == "number":
        spec: dict[str, Any] = {"type": "integer"}
        if p.possible:
            spec["enum"] = [int(v) for v in p.possible]
        return spec
    if p.kind == "bool":
        return {"type": "boolean"}
    spec = {"type": "string"}
    if p.possible:
        spec["enum"] = list(p.possible)
    return spec


def make_tool(corpus: SGDCorpus, service: Service, intent: Intent) -> Tool:
    params: dict[str, Param] = {}
    for slot_name in [*intent.required_slots, *intent.optional_slots]:
        slot = service.slots[slot_name]
        kind = corpus.kind(service.name, slot_name)
        params[slot_name] = Param(
            slot_name, kind, slot.description, slot.possible_values,
            slot_name in intent.required_slots, intent.optional_slots.get(slot_name),
        )
    properties = {}
    for p in params.values():
        desc = p.description
        if p.kind in _KIND_HINT:
            desc += f" ({_KIND_HINT[p.kind]})"
        if p.default is not None:
            desc += f". Default: {p.default}"
        properties[p.name] = {**_json_type(p), "description": desc}
    kind = "Transactional: changes the world, confirm with the user first. " if intent.is_transactional else ""
    schema = {
        "type": "function",
        "function": {
            "name": service.tool_name(intent.name),
            "description": f"{kind}{intent.description} ({service.name}: {service.description}). "
                           f"Returns: {', '.join(intent.result_slots)}.",
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(intent.required_slots),
                "additionalProperties": False,
            },
        },
    }
    return Tool(service.tool_name(intent.name), service.name, intent, params, schema)


def tools_for(corpus: SGDCorpus, services: list[str]) -> dict[str, Tool]:
    """All tools of the given services, keyed by their unique names, in schema order."""
    out: dict[str, Tool] = {}
    for name in services:
        service = corpus.services[name]
        for intent in service.intents.values():
            tool = make_tool(corpus, service, intent)
            out[tool.name] = tool
    return out


def check_arguments(tool: Tool, arguments: Any) -> tuple[dict[str, str], list[str]]:
    """Canonical arguments (defaults filled in) and the list of problems, empty when valid."""
    if not isinstance(arguments, dict):
        return {}, [f"arguments of {tool.name} must be an object of name: value pairs, got {type(arguments).__name__}"]
    problems: list[str] = []
    unknown = [k for k in arguments if k not in tool.params]
    if unknown:
        problems.append(
            f"unknown argument(s) {', '.join(map(repr, unknown))} for {tool.name}; "
            f"its arguments are: {', '.join(tool.params) or 'none'}"
        )
    missing = [p.name for p in tool.params.values() if p.required and arguments.get(p.name) in (None, "")]
    if missing:
        problems.append(f"missing required argument(s) {', '.join(missing)} for {tool.name}")
    args: dict[str, str] = {}
    for name, p in tool.params.items():
        if name not in arguments or arguments[name] in (None, ""):
            if p.default is not None:
                args[name] = p.default
            continue
        value = arguments[name]
        if not isinstance(value, (str, int, float, bool)):
            problems.append(f"argument '{name}' must be {_KIND_HINT.get(p.kind, 'a string')}, got {type(value).__name__}")
            continue
        if isinstance(value, str) and len(value) > 500:
            problems.append(f"argument '{name}' is {len(value)} characters long; values are short (at most 500)")
            continue
        if isinstance(value, str) and value.strip().lower() == DONTCARE:
            args[name] = DONTCARE
            continue
        canon = canonical(p.kind, value, p.possible)
        if canon is None or (p.possible and canon not in p.possible):
            if p.possible:
                problems.append(f"'{value}' is not an allowed value of '{name}'; allowed: {', '.join(p.possible)}")
            else:
                problems.append(f"argument '{name}' = {value!r} is not {_KIND_HINT.get(p.kind, 'a valid value')}")
            continue
        args[name] = canon
    return args, problems
