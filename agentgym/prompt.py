"""The conversation format an agent model reads and writes, in one place: the system prompt (services,
action format, one line per tool), env observations as user messages, and a tool call as the JSON the env
parses. The HF agent plays in it, SFT demonstrations are written in it, rollouts train in it."""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentgym.types import schema_fields

COMPACT_RULES = (
    "You are a customer-service agent for {services}. Ask the user for required values you do not know, "
    "search before you offer, confirm before you book, tell the user what tools return.\n"
    "Talk: plain text. Call a tool: JSON only, e.g. "
    '{{"name": "{example}", "arguments": {{"slot": "value"}}}}. End: [finish].\nTools (* = required):\n'
)


NATIVE_TOOL_RULES = (
    "You are a customer-service agent for {services}. Ask the user for required values you do not know, "
    "search before you offer, confirm before you book, tell the user what tools return.\n"
    "Talk: plain text (each reply is said to the user). Look things up and act: call the tools you are given. "
    "End: [finish]."
)


def system_prompt(info: Mapping[str, Any], *, full_policy: bool = False, native_tools: bool = False) -> str:
    """What the policy model sees first: the services, the action format, one line per tool.

    Compact by default (~150 tokens instead of ~400 with the env's full policy text): a small model
    gains nothing from the long rules, and every prompt token is paid at each turn of every rollout.
    `native_tools`: the model is handed the tools through its API's tool calling (a verifiers toolset), so the
    prompt neither lists them nor shows the JSON call format.
    """
    services = sorted({m["service"] for m in info.get("tool_meta", {}).values()}) or list(info.get("services") or []) or ["the user"]
    policy = info.get("policy", "") + "\n\n" if full_policy else ""
    if native_tools:
        return policy + NATIVE_TOOL_RULES.format(services=", ".join(services))
    tools = [f"- {t['function']['name']}({', '.join(k + ('*' if req else '') for k, _, req in schema_fields(t))})"
             for t in info.get("tools", [])]
    names = [t["function"]["name"] for t in info.get("tools", [])]
    head = policy + COMPACT_RULES.format(services=", ".join(services), example=names[0] if names else "Tool_Name")
    return head + "\n".join(tools)


def observation_messages(observation: str) -> list[dict[str, str]]:
    """Env observation lines become the messages the model sees (user turns and tool results)."""
    return [{"role": "user", "content": observation}] if observation else []


def initial_messages(observation: str, info: Mapping[str, Any]) -> list[dict[str, str]]:
    """The conversation the policy starts from at reset (playing, training rollouts alike)."""
    return [{"role": "system", "content": system_prompt(info)}, *observation_messages(observation)]


def assistant_call(name: str, arguments: dict[str, Any]) -> str:
    """How the policy writes a tool call (the same JSON the env parses)."""
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
