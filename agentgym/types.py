"""The shapes every part of agentgym passes around, in one module: messages, tool calls, and the
`info` dict a step returns. Env, runner, recorder, agents and workbench read these names.

Messages are OpenAI-style dicts (so they go straight into chat templates and litellm) with one
extra role, `environment`, for what the env itself says (errors, tool discovery, the end).
"""
from __future__ import annotations

from typing import Any, Literal, TypedDict

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
    task: dict[str, Any]  # tau2 domains: the task, as tau2 writes it
    simulation_run: str  # tau2 domains: the episode as a tau2 SimulationRun (JSON), at the end


def schema_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """(argument name, its JSON schema, required) for a tool schema as given in `info["tools"]`,
    for code that only sees the schemas (the agent's prompt, the workbench's forms)."""
    params = schema["function"]["parameters"]
    required = set(params.get("required", []))
    return [(name, prop, name in required) for name, prop in params["properties"].items()]


def tool_call(call_id: str, name: str, arguments_json: str) -> ToolCallDict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments_json}}


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
