"""An agent backed by a Hugging Face causal LM: the env's policy and tool schemas in the system
prompt, the conversation as chat messages, one generated message per step (plain text or a JSON
tool call, which the env parses)."""
from __future__ import annotations

import json
from typing import Any

from agentgym.tools import schema_fields

COMPACT_RULES = (
    "You are a customer-service agent for {services}. Ask the user for required values you do not know, "
    "search before you offer, confirm before you book, tell the user what tools return.\n"
    "Talk: plain text. Call a tool: JSON only, e.g. "
    '{{"name": "{example}", "arguments": {{"slot": "value"}}}}. End: [finish].\nTools (* = required):\n'
)


def system_prompt(info: dict[str, Any], *, full_policy: bool = False) -> str:
    """What the policy model sees first: the services, the action format, one line per tool.

    Compact by default (~150 tokens instead of ~400 with the env's full policy text): a small model
    gains nothing from the long rules, and every prompt token is paid at each turn of every rollout.
    """
    tools = [f"- {t['function']['name']}({', '.join(k + ('*' if req else '') for k, _, req in schema_fields(t))})"
             for t in info.get("tools", [])]
    names = [t["function"]["name"] for t in info.get("tools", [])]
    services = sorted({m["service"] for m in info.get("tool_meta", {}).values()}) or list(info.get("services") or []) or ["the user"]
    head = COMPACT_RULES.format(services=", ".join(services), example=names[0] if names else "Tool_Name")
    if full_policy:
        head = info.get("policy", "") + "\n\n" + head
    return head + "\n".join(tools)


def observation_messages(observation: str) -> list[dict[str, str]]:
    """Env observation lines become the messages the model sees (user turns and tool results)."""
    return [{"role": "user", "content": observation}] if observation else []


def initial_messages(observation: str, info: dict[str, Any]) -> list[dict[str, str]]:
    """The conversation the policy starts from at reset (playing, training rollouts alike)."""
    return [{"role": "system", "content": system_prompt(info)}, *observation_messages(observation)]


class HFAgent:
    """Plays the env with a local causal LM (the policy being trained)."""

    name = "hf"

    def __init__(self, model: Any = None, tokenizer: Any = None, *, max_new_tokens: int = 96,
                 temperature: float = 0.0, max_context_tokens: int = 1536) -> None:
        if model is None:
            from agentgym.train.policy import load_policy

            model, tokenizer = load_policy()
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.max_context_tokens = max_new_tokens, temperature, max_context_tokens
        self.messages: list[dict[str, str]] = []

    @classmethod
    def from_version(cls, store: Any, agent: str, version: str, **kwargs: Any) -> HFAgent:
        """The policy saved as `agent`/`version` in the experience store (going back is this call)."""
        from agentgym.train.versions import load_version

        return load_version(store, agent, version, **kwargs)

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.messages = initial_messages(observation, info)

    def generate(self, messages: list[dict[str, str]]) -> str:
        import torch

        enc = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        ids = enc["input_ids"][:, -self.max_context_tokens:].to(self.model.device)
        with torch.no_grad():
            out = self.model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=self.max_new_tokens,
                do_sample=self.temperature > 0, temperature=self.temperature or None, top_p=None, top_k=None,
                pad_token_id=self.tokenizer.pad_token_id)
        return self.tokenizer.decode(out[0][ids.shape[1]:], skip_special_tokens=True).strip()

    def act(self, observation: str, info: dict[str, Any]) -> Any:
        if len(self.messages) > 1 and observation:
            self.messages.extend(observation_messages(observation))
        text = self.generate(self.messages) or "[finish]"
        self.messages.append({"role": "assistant", "content": text})
        return text


def assistant_call(name: str, arguments: dict[str, Any]) -> str:
    """How the policy writes a tool call (the same JSON the env parses)."""
    return json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
