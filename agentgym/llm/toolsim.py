"""Tools nobody recorded, simulated by an LLM (as Simia-RL does): for a call with no recorded result, the
model is shown the tool's schema, the arguments and what the tools already returned this episode, and
answers with the JSON the tool would return.

- consistent within an episode: the same call returns what it returned the first time;
- seeded: the episode seed is the model's sampling seed, and responses are cached on disk by request,
  so a replayed episode costs nothing and returns the same;
- accounted: every call is in the LLM's `Ledger` (tokens, cost) under role "tool";
- checked: output that is not JSON comes back as a tool error that says so (the episode goes on).
"""
from __future__ import annotations

import json
import re
from typing import Any

from agentgym.llm.client import LLM

_JSON = re.compile(r"(\{.*\}|\[.*\])", re.S)


class LLMToolSimulator:
    """`call(schema, arguments)` → (content, ok). `reset(seed)` starts an episode's memory."""

    def __init__(self, llm: LLM | str | None = None, *, seed: int = 0, max_tokens: int = 200) -> None:
        self.llm = llm if isinstance(llm, LLM) else LLM(llm, max_tokens=max_tokens, temperature=0.0)
        self.seed = seed
        self.memory: dict[str, str] = {}

    def reset(self, seed: int) -> None:
        self.seed, self.memory = int(seed), {}

    @staticmethod
    def _key(name: str, arguments: dict[str, Any]) -> str:
        return name + json.dumps(arguments, sort_keys=True, default=str)

    def prompt(self, schema: dict[str, Any], arguments: dict[str, Any]) -> list[dict[str, str]]:
        fn = schema.get("function", schema)
        seen = "\n".join(f"- {k}: {v}" for k, v in list(self.memory.items())[-6:]) or "(none yet)"
        return [
            {"role": "system", "content": "You simulate a software tool. Reply with only the JSON object the tool returns: "
                                          "no prose, no code fence. Stay consistent with what the tools returned before."},
            {"role": "user", "content": f"Tool: {fn.get('name')}\nDescription: {fn.get('description', '')}\n"
                                        f"Parameters: {json.dumps(fn.get('parameters', {}))}\n"
                                        f"Earlier results this episode:\n{seen}\n"
                                        f"Call arguments: {json.dumps(arguments, sort_keys=True)}\nJSON result:"},
        ]

    def call(self, schema: dict[str, Any], arguments: dict[str, Any]) -> tuple[str, bool]:
        name = str(schema.get("function", schema).get("name"))
        key = self._key(name, arguments)
        if key in self.memory:
            return self.memory[key], True
        res = self.llm.complete(self.prompt(schema, arguments), role="tool", seed=self.seed)
        if not res.ok:
            return f"Error: the simulated tool {name} could not answer ({res.error}).", False
        m = _JSON.search(res.text or "")
        try:
            value = json.loads(m.group(1)) if m else None
        except json.JSONDecodeError:
            value = None
        if value is None:
            return (f"Error: the simulated tool {name} returned output that is not JSON: {(res.text or '')[:120]!r}. "
                    "Try again, or use a recorded call."), False
        content = json.dumps(value, sort_keys=True)
        self.memory[key] = content
        return content, True
