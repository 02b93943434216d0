"""The shapes every part of agentgym passes around, in one module: messages, tool calls, and the
`info` dict a step returns. Env, runner, recorder, agents and workbench read these names.

Messages are OpenAI-style dicts (so they go straight into chat templates and litellm) with one
extra role, `environment`, for what the env itself says (errors, tool discovery, the end).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

import orjson

Role = Literal["system", "user", "assistant", "tool", "environment"]


class FunctionCall(TypedDict):
    name: str
    arguments: str  # JSON text, as in OpenAI's API


class ToolCallDict(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class Message(TypedDict, total=False):
    role: Role
    content: str | None
    tool_calls: list[ToolCallDict]
    tool_call_id: str  # role "tool": which call this answers
    name: str  # role "tool": the tool's name


class ToolCallRecord(TypedDict):
    name: str
    arguments: Any


class StepInfo(TypedDict, total=False):
    """What `reset()` and `step()` return as `info` (every env of agentgym; `goal`, `history`,
    `judge_verdict`, `task`, `simulation_run` and `reward_info` only where stated)."""

    task_id: str
    turn: int  # agent steps taken so far
    messages: list[Message]  # what this step added, structured (the observation is their text)
    tools: list[dict[str, Any]]  # the agent's tools as OpenAI JSON schemas
    tool_meta: dict[str, dict[str, Any]]  # per tool: service, intent, writes (read/write), required, defaults
    policy: str  # the agent's instructions
    user_acts: list[dict[str, Any]]  # the simulated user's dialogue acts this step (SGD)
    tool_calls: list[ToolCallRecord]  # the calls this step made
    tool_results: list[dict[str, Any]]  # their results, parsed
    action_format: str  # how the action was read: text, json, function, openai, tagged
    error: str | None  # what was wrong with the action, if anything
    reward_breakdown: dict[str, float | None]  # every reward component, and `total`
    reward_info: dict[str, Any]  # tau2 domains: the evaluator's breakdown (db, env assertions, actions, communicate)
    cost: dict[str, dict[str, float]]  # LLM calls, tokens and cost per role this episode
    user_error: str | None  # the user simulator failed (LLM error) this step
    user_fallback: str | None  # an LLM-worded user turn failed its check (why); the template wording was shown
    unscored: bool  # a judge or user failure left this step unscored
    termination: str | None  # why the episode ended: agent_stop, user_stop, max_steps, or None
    goal: dict[str, Any]  # with reveal_goal=True
    history: list[Message]  # with include_history=True
    judge_verdict: dict[str, Any]  # when a judge scored this step
    task: Any  # tau2 domains: tau2's Task object, as tau2's gym gives it (the episode's copy, not the one graded)
    simulation_run: str  # tau2 domains: the episode as a tau2 SimulationRun (JSON), at the end


def dumps(obj: Any) -> str:
    """Compact, key-sorted JSON (deterministic); orjson when it can, json for exotic values, and a
    bounded repr for what JSON cannot hold (a value that contains itself): never raises."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        try:
            return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=repr)
        except (ValueError, RecursionError, TypeError):
            import reprlib

            return json.dumps(reprlib.repr(obj))


def step_info(info: Mapping[str, Any]) -> StepInfo:
    """A gym env's `info` dict read as a `StepInfo` (gymnasium types it `dict[str, Any]`): the one place
    where code that drives any env (runner, rollouts) says which shape it expects."""
    return cast(StepInfo, info)


def schema_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(argument name, its JSON schema, required) for a tool schema as given in `info["tools"]`,
    for code that only sees the schemas (the agent's prompt)."""
    params = schema["function"]["parameters"]
    required = set(params.get("required", []))
    return [(name, prop, name in required) for name, prop in params["properties"].items()]


def inline_refs(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A JSON schema with every local `$ref` (`#/$defs/X`, as pydantic writes nested models) replaced by
    the definition it names, and `$defs` dropped: a form or a checker then reads one self-contained tree."""
    if isinstance(schema, list):
        return [inline_refs(s, defs, depth) for s in schema]
    if not isinstance(schema, dict):
        return schema
    defs = {**(defs or {}), **schema.get("$defs", {}), **schema.get("definitions", {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and depth < 16:
        target = defs.get(ref.rsplit("/", 1)[-1])
        if target is not None:
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return inline_refs(merged, defs, depth + 1)
    return {k: inline_refs(v, defs, depth) for k, v in schema.items() if k not in ("$defs", "definitions")}


_JSON_CHECKS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "string": (str, "text"), "integer": (int, "a whole number"), "number": ((int, float), "a number"),
    "boolean": (bool, "true or false"), "array": (list, "a list"), "object": (dict, "an object")}


def argument_problems(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """What is wrong with `value` for a tool's JSON schema (its `parameters`): missing required
    arguments, wrong types, values outside an enum, unknown keys — each named by its path, so a
    person or an agent can fix the call. An empty list means the call is well formed."""
    schema = inline_refs(schema)
    where = path or "the arguments"
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if alternatives:
        found = [argument_problems(a, value, path) for a in alternatives]
        return [] if any(not f for f in found) else min(found, key=len)
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if kinds:
        if value is None and "null" in kinds:
            return []
        ok = [k for k in kinds if k in _JSON_CHECKS and isinstance(value, _JSON_CHECKS[k][0])
              and not (k in ("integer", "number") and isinstance(value, bool))]
        if not ok:
            wanted = " or ".join(_JSON_CHECKS[k][1] for k in kinds if k in _JSON_CHECKS) or "/".join(kinds)
            return [f"{where} must be {wanted}, got {json.dumps(value, ensure_ascii=False)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} must be one of {', '.join(json.dumps(c) for c in schema['enum'])}, got {json.dumps(value, ensure_ascii=False)}"]
    problems: list[str] = []
    if isinstance(value, dict) and ("properties" in schema or "required" in schema):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{path + '.' if path else ''}{key} is required")
        for key, sub in value.items():
            name = f"{path + '.' if path else ''}{key}"
            if key in props:
                problems += argument_problems(props[key], sub, name)
            elif schema.get("additionalProperties") is False:
                problems.append(f"{name} is not an argument here (known: {', '.join(props)})")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += argument_problems(schema["items"], item, f"{path}[{i}]")
    return problems


@dataclass(slots=True)
class ToolCall:
    """One tool call, the one shape inside agentgym: what `agentgym.actions` reads from any action
    format, what each env runs. It meets the outside world only through its two views."""

    name: str
    arguments: Any  # a dict when well formed; whatever the agent wrote otherwise (the env refuses it)
    id: str = ""

    def openai(self) -> ToolCallDict:
        """As it goes into an assistant message (OpenAI's wire form: arguments as JSON text)."""
        args = self.arguments if isinstance(self.arguments, dict) else {}
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": dumps(args)}}

    def record(self) -> ToolCallRecord:
        """As a step's `info["tool_calls"]` lists it (and the store keeps it)."""
        return {"name": self.name, "arguments": self.arguments if self.arguments is not None else {}}


def render_messages(messages: list[Message]) -> str:
    """Messages as `role: content` lines (the observation text every env returns)."""
    lines = []
    for m in messages:
        content = m.get("content") or ""
        if m.get("tool_calls"):
            calls = ", ".join(f"{c['function']['name']}({c['function']['arguments']})" for c in m["tool_calls"])
            lines.append(f"{m['role']}: {content + ' ' if content else ''}[calls] {calls}")
        else:
            lines.append(f"{m['role']}: {content}")
    return "\n".join(lines)
