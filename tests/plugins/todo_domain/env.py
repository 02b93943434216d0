"""TodoEnv: the user asks for one item on the list; the reward is whether it is there, once, when the episode ends."""
from __future__ import annotations

import json
from typing import Any

from agentgym.actions import Action
from agentgym.episode import DialogueEnv, fresh_meta
from agentgym.rubric import Criterion, Rubric
from agentgym.types import Message

TASKS = {"train": {"t1": "milk", "t2": "call the bank"}, "test": {"t3": "water the plants"}}
TOOLS = [{"type": "function", "function": {"name": "add_item", "description": "Add an item to the list.",
                                           "parameters": {"type": "object", "properties": {"text": {"type": "string"}},
                                                          "required": ["text"]}}},
         {"type": "function", "function": {"name": "list_items", "description": "The items on the list.",
                                           "parameters": {"type": "object", "properties": {}, "required": []}}}]


# the reward: (items wanted, items on the list) -> criteria
RUBRIC = Rubric((
    Criterion("success", 1.0, lambda s: float(s[0] is not None and s[1].count(s[0]) == 1), help="the item is on the list, once"),
    Criterion("items", 0.0, lambda s: float(len(s[1])), help="items on the list (a metric)"),
))


class PlainUser:
    """Says what to add, then thanks the agent and stops."""

    @classmethod
    def from_env(cls, env: Any, persona: Any = None) -> PlainUser:
        return cls()

    def reset(self, item: str) -> str:
        self.item = item
        return f"Please add '{item}' to my list."

    def respond(self, text: str) -> tuple[str, bool]:
        return "Thanks, that's all. ###STOP###", True


class TodoEnv(DialogueEnv):
    def __init__(self, split: str = "train", user: str = "plain", max_turns: int = 6, render_mode: str | None = None) -> None:
        from todo_domain import DOMAIN

        super().__init__(max_turns=max_turns, render_mode=render_mode)
        self.task_ids = list(TASKS[split])
        self.items_of = TASKS[split]
        self.user = DOMAIN.user_class(user).from_env(self)
        self.task_id: str | None = None
        self.items: list[str] = []

    def _start(self, options: dict[str, Any]) -> tuple[list[Message], dict[str, Any]]:
        tid = options.get("task_id") or self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        if tid not in self.items_of:
            raise KeyError(f"No to-do task {tid!r}; tasks: {', '.join(self.task_ids)}.")
        self.task_id, self.items = str(tid), []
        first: Message = {"role": "user", "content": self.user.reset(self.items_of[self.task_id])}
        self.history.append(first)
        return [first], {}

    def _to_user(self, text: str) -> tuple[list[Message], bool, dict[str, Any]]:
        reply, done = self.user.respond(text)
        msg: Message = {"role": "user", "content": reply}
        self.history.append(msg)
        return [msg], done, {}

    def _to_tools(self, action: Action) -> tuple[list[Message], dict[str, Any]]:
        msgs: list[Message] = []
        results = []
        for i, c in enumerate(action.calls):
            args = c.arguments if isinstance(c.arguments, dict) else {}
            if c.name == "add_item" and isinstance(args.get("text"), str):
                self.items.append(args["text"])
                content, ok = "added", True
            elif c.name == "list_items":
                content, ok = json.dumps(self.items), True
            else:
                content, ok = f"Error: no tool '{c.name}' with these arguments; tools: add_item(text), list_items().", False
            results.append({"tool": str(c.name), "ok": ok, "content": content})
            msgs.append({"role": "tool", "tool_call_id": c.id or f"call_{i}", "name": str(c.name), "content": content})
        self.history.extend(msgs)
        return msgs, {"tool_results": results}

    def _score(self) -> dict[str, Any]:
        return RUBRIC.score((self.items_of.get(self.task_id or ""), self.items))

    def _base_info(self) -> dict[str, Any]:
        meta = {t["function"]["name"]: {"service": "todo", "intent": t["function"]["name"], "writes": t["function"]["name"] == "add_item",
                                        "required": t["function"]["parameters"]["required"], "defaults": {}} for t in TOOLS}
        return {"task_id": self.task_id, "tools": TOOLS, "policy": "Keep the user's to-do list.", "tool_meta": fresh_meta(meta)}


class Solver:
    """Adds what the user quoted, then says it is done."""

    name = "todo-solver"

    def reset(self, observation: str, info: dict[str, Any]) -> None:
        self.added = False

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if not self.added and "'" in observation:
            self.added = True
            return json.dumps({"name": "add_item", "arguments": {"text": observation.split("'")[1]}})
        return "Done: it is on your list."
