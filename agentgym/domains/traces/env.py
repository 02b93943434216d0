"""Your own traces as a Gymnasium environment (`gym.make("agentgym/Traces-v0", tasks=FILE)`).

Action space
    One agent action per step, any format `agentgym.actions` reads (text to the user, JSON or OpenAI
    tool calls, TauGym tags).
Observation
    The new messages as `role: content` lines: the user's next recorded turn, or the tool results.
Tools
    The trace's tools. A call answers with the recorded result for exactly those arguments (the k-th
    identical call gets the k-th recorded result); a call nobody recorded gets an error naming the
    recorded calls of that tool — or, with `tool_simulator="llm"`, a result simulated by an LLM
    (`agentgym.llm.toolsim`), consistent within the episode, cached and in the cost ledger.
`info` keys
    Those of every agentgym env (turn, messages, tool_calls, tool_results, action_format, error,
    reward_breakdown, termination, unscored) plus task_id, tools, policy (the trace's system prompt),
    tool_meta, and `simulated` (how many tool results this step were simulated).
Reward
    At the end: `calls_matched` (share of the recorded calls reproduced with the same arguments),
    `extra_calls` (calls the trace did not make), `success` = every recorded call reproduced;
    total = calls_matched − 0.1 × extra_calls (floored at 0).
Episode end
    The user runs out of recorded turns (terminated), the agent finishes (terminated), or `max_turns`
    (truncated).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

from agentgym.actions import Action
from agentgym.domains.traces.importer import TraceTask, load_trace_tasks
from agentgym.episode import DialogueEnv, check_task_ids, dumps, fresh_meta
from agentgym.rubric import Criterion, Rubric
from agentgym.types import Message, ToolCall

# (calls matched, calls recorded, extra calls) -> criteria; total = calls_matched - 0.1 x extra_calls, floored at 0
RUBRIC = Rubric((
    Criterion("calls_matched", 1.0, lambda m: m[0] / max(1, m[1]), help="share of the recorded calls reproduced"),
    Criterion("extra_calls", -0.1, lambda m: float(m[2]), help="calls the trace did not make"),
    Criterion("success", 0.0, lambda m: float(m[0] == m[1]), help="every recorded call reproduced"),
), low=0.0)


def _key(name: str, args: Any) -> str:
    return name + dumps(args)


class TraceEnv(DialogueEnv):
    """Imported conversations played back: the recorded user, the recorded tool results (see module docstring)."""

    def __init__(self, tasks: str | os.PathLike[str] | list[TraceTask], max_turns: int = 30, *,
                 tool_simulator: Any = None, simulator_llm: str | None = None, task_ids: list[str] | None = None,
                 include_history: bool = False, render_mode: str | None = None) -> None:
        super().__init__(max_turns=max_turns, render_mode=render_mode, include_history=include_history)
        check_task_ids(task_ids)
        pool = load_trace_tasks(tasks) if isinstance(tasks, (str, os.PathLike)) else list(tasks or [])
        if not pool or not all(isinstance(t, TraceTask) for t in pool):
            raise TypeError("tasks must be a trace task file (from `agentgym import-traces`) or a non-empty list of TraceTask.")
        self.all_tasks = {t.task_id: t for t in pool}
        self.task_ids = list(task_ids) if task_ids else list(self.all_tasks)
        for tid in self.task_ids:
            self._get(tid)
        if tool_simulator == "llm":
            from agentgym.llm.toolsim import LLMToolSimulator

            tool_simulator = LLMToolSimulator(simulator_llm)
        elif tool_simulator is not None and not hasattr(tool_simulator, "call"):
            raise TypeError(f"tool_simulator must be None, 'llm' or an object with call(schema, arguments); got {tool_simulator!r}.")
        self.simulator = tool_simulator
        self.task: TraceTask | None = None

    def _get(self, task_id: str) -> TraceTask:
        if task_id not in self.all_tasks:
            raise KeyError(f"No trace task '{task_id}' ({len(self.all_tasks)} tasks, e.g. {next(iter(self.all_tasks))}).")
        return self.all_tasks[task_id]

    # ---- hooks ----------------------------------------------------------------------------
    def _llm_parts(self) -> list[Any]:
        simulator = getattr(self, "simulator", None)  # (none yet while constructing)
        return [simulator] if simulator is not None else []

    def _start(self, options: dict[str, Any]) -> tuple[list[Message], dict[str, Any]]:
        tid = options.get("task_id")
        self.task = self._get(str(tid)) if tid is not None else self.all_tasks[self.task_ids[int(self.np_random.integers(len(self.task_ids)))]]
        seed = int(self.np_random.integers(2**31 - 1))
        if self.simulator is not None and hasattr(self.simulator, "reset"):
            self.simulator.reset(seed)
        self.schemas = {t["function"]["name"]: t for t in self.task.tools}
        self.recorded: dict[str, list[str]] = {}
        for c in self.task.calls:
            self.recorded.setdefault(_key(c.name, c.arguments), []).append(c.result)
        self.used: Counter = Counter()
        self.made: list[tuple[str, str]] = []
        self.next_turn = 1
        first: Message = {"role": "user", "content": self.task.user_turns[0]}
        self.history.append(first)
        return [first], {}

    def _to_user(self, text: str) -> tuple[list[Message], bool, dict[str, Any]]:
        if self.next_turn >= len(self.task.user_turns):
            msg: Message = {"role": "user", "content": "###STOP###"}
            self.history.append(msg)
            return [msg], True, {}
        msg = {"role": "user", "content": self.task.user_turns[self.next_turn]}
        self.next_turn += 1
        self.history.append(msg)
        return [msg], False, {}

    def _to_tools(self, action: Action) -> tuple[list[Message], dict[str, Any]]:
        msgs, calls, results, simulated = [], [], [], 0
        for i, c in enumerate(action.calls):
            cid = c.id or f"call_{self.turns}_{i}"
            args = c.arguments if isinstance(c.arguments, dict) else None
            name = str(c.name)[:100]
            if args is None:
                content, ok = f"Error: the arguments of {name} must be a JSON object.", False
            elif name not in self.schemas:
                content, ok = f"Error: no tool '{name}'; tools: {', '.join(sorted(self.schemas))}.", False
            else:
                key = _key(name, args)
                answers = self.recorded.get(key, [])
                self.made.append((name, key))
                if self.used[key] < len(answers):
                    content, ok = answers[self.used[key]], True
                    self.used[key] += 1
                elif answers:
                    content, ok = answers[-1], True  # asked again: the tool says what it said last
                elif self.simulator is not None:
                    content, ok = self.simulator.call(self.schemas[name], args)
                    simulated += 1
                else:
                    seen = [dumps(x.arguments) for x in self.task.calls if x.name == name][:3]
                    content, ok = (f"Error: nothing was recorded for {name} with these arguments"
                                   + (f"; recorded: {', '.join(seen)}" if seen else "") + "."), False
            calls.append(ToolCall(name, args if args is not None else {}, cid))
            results.append({"tool": name, "ok": ok, "content": content})
            msgs.append({"role": "tool", "tool_call_id": cid, "name": name, "content": content})
        self.history.append({"role": "assistant", "content": action.text or None,
                             "tool_calls": [c.openai() for c in calls]})
        self.history.extend(msgs)
        return msgs, {"tool_calls": [c.record() for c in calls], "tool_results": results, "simulated": simulated}

    def _score(self) -> dict[str, Any]:
        if self.task is None:
            return {"total": 0.0}
        want = Counter(_key(c.name, c.arguments) for c in self.task.calls)
        made = Counter(k for _, k in getattr(self, "made", []))
        matched = sum(min(n, made[k]) for k, n in want.items())
        extra = sum(max(0, n - want[k]) for k, n in made.items())
        return RUBRIC.score((matched, sum(want.values()), extra))

    def _base_info(self) -> dict[str, Any]:
        t = self.task
        tools = [json.loads(json.dumps(s)) for s in (t.tools if t else [])]
        meta = {s["function"]["name"]: {"service": "trace", "intent": s["function"]["name"], "writes": None,
                                        "required": list(s["function"].get("parameters", {}).get("required", [])),
                                        "defaults": {}} for s in tools}
        return {"task_id": t.task_id if t else None, "tools": tools, "policy": t.system if t else "",
                "tool_meta": fresh_meta(meta), "simulated": 0}
