"""Your own traces as tasks: OpenAI-format conversations with tool calls, or APIGen-MT-style records.

A trace becomes a task: the user's turns (played back in order by the trace user), the tools (their
JSON schemas, from the record or inferred from the calls), and every recorded call with the result
the tool message returned. Rows that cannot become a task are reported with their line and reason;
the rest are kept.

    OpenAI:     {"messages": [{"role": "user", ...}, {"role": "assistant", "tool_calls": [...]},
                              {"role": "tool", "tool_call_id": ..., "content": ...}, ...], "tools": [...]}
    APIGen-MT:  {"conversations": [{"from": "human"|"gpt"|"function_call"|"observation", "value": ...}],
                 "tools": "[...]" (JSON text or list), "system": "..."}
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentgym.safeio import MAX_LINE_BYTES, iter_lines, jsonl_rows, loads_json


@dataclass
class TraceCall:
    name: str
    arguments: dict[str, Any]
    result: str


@dataclass
class TraceTask:
    """One imported conversation: what the user said, which tools exist, what each recorded call returned."""

    task_id: str
    user_turns: list[str]
    tools: list[dict[str, Any]]
    calls: list[TraceCall]
    system: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def goal(self) -> str:
        """What the user wanted, in their own words (every user turn, in order)."""
        return " ".join(self.user_turns)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "trace", **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TraceTask:
        from agentgym.safeio import check_id

        if not isinstance(d, dict):
            raise TypeError(f"a trace task is a JSON object, got {type(d).__name__}")
        check_id("task_id", d.get("task_id"), max_len=200)
        if not isinstance(d.get("user_turns"), list) or not d["user_turns"]:
            raise ValueError("user_turns must be a non-empty list of what the user said")
        if not isinstance(d.get("tools"), list) or not all(isinstance(t, dict) and isinstance(t.get("function"), dict)
                                                            and isinstance(t["function"].get("name"), str) for t in d["tools"]):
            raise ValueError("tools must be a list of OpenAI tool schemas ({'type': 'function', 'function': {'name': ...}})")
        if not isinstance(d.get("calls"), list) or not all(isinstance(c, dict) and isinstance(c.get("arguments"), dict)
                                                            for c in d["calls"]):
            raise ValueError("calls must be a list of {name, arguments (an object), result}")
        return cls(str(d["task_id"]), [str(t) for t in d["user_turns"]], list(d["tools"]),
                   [TraceCall(str(c["name"]), dict(c["arguments"]), str(c["result"])) for c in d["calls"]],
                   str(d.get("system", "")), dict(d.get("meta") or {}))


@dataclass
class ImportReport:
    tasks: list[TraceTask] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        head = f"{len(self.tasks)} trace(s) imported"
        return head + (f", {len(self.problems)} skipped:\n  " + "\n  ".join(self.problems) if self.problems else "")


def sample_traces() -> Path:
    """The four example conversations shipped with agentgym (the wheel's copy, or the repo's data/traces)."""
    packaged = Path(__file__).resolve().parents[2] / "_data" / "traces" / "sample.jsonl"
    return packaged if packaged.exists() else Path(__file__).resolve().parents[3] / "data" / "traces" / "sample.jsonl"


def _args(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, (str, type(None))):
        raise ValueError(f"tool arguments must be a JSON object or its JSON text, got {type(raw).__name__}")
    value = loads_json(raw or "{}", "tool arguments")
    if not isinstance(value, dict):
        raise ValueError(f"tool arguments must be a JSON object, got {type(value).__name__}")
    return value


def _text(content: Any) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else content if isinstance(content, str) else json.dumps(content)


def _from_openai(rec: dict[str, Any]) -> tuple[list[str], list[TraceCall], str]:
    turns, calls, system = [], [], ""
    pending: dict[str, tuple[str, dict[str, Any]]] = {}
    for m in rec["messages"]:
        role = m.get("role")
        if role == "system":
            system = _text(m.get("content"))
        elif role == "user":
            turns.append(_text(m.get("content")))
        elif role == "assistant":
            tool_calls = m.get("tool_calls") or []
            if not isinstance(tool_calls, list) or not all(isinstance(c, dict) for c in tool_calls):
                raise ValueError("an assistant message's tool_calls must be a list of call objects")
            for i, c in enumerate(tool_calls):
                fn = c.get("function", c)
                if not isinstance(fn, dict):
                    raise ValueError("a tool call's function must be an object with name and arguments")
                pending[c.get("id") or f"call_{len(calls)}_{i}"] = (str(fn["name"]), _args(fn.get("arguments")))
        elif role == "tool":
            cid = m.get("tool_call_id")
            if cid not in pending:
                if len(pending) == 1:
                    cid = next(iter(pending))
                else:
                    raise ValueError(f"a tool message answers call id {cid!r}, which no assistant message made")
            name, args = pending.pop(cid)
            calls.append(TraceCall(name, args, _text(m.get("content"))))
    return turns, calls, system


def _from_apigen(rec: dict[str, Any]) -> tuple[list[str], list[TraceCall], str]:
    turns, calls = [], []
    last: tuple[str, dict[str, Any]] | None = None
    for m in rec["conversations"]:
        who, value = m.get("from"), m.get("value")
        if who in ("human", "user"):
            turns.append(_text(value))
        elif who == "function_call":
            call = loads_json(value, "a function_call") if isinstance(value, str) else value
            if not isinstance(call, dict):
                raise ValueError(f"a function_call must be an object with name and arguments, got {type(call).__name__}")
            last = (str(call["name"]), _args(call.get("arguments")))
        elif who == "observation":
            if last is None:
                raise ValueError("an observation with no function_call before it")
            calls.append(TraceCall(last[0], last[1], _text(value)))
            last = None
    return turns, calls, str(rec.get("system", ""))


def _infer_schema(name: str, calls: list[TraceCall]) -> dict[str, Any]:
    """A schema for a tool the record did not declare: every argument seen, typed from its values."""
    props: dict[str, Any] = {}
    types = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    for c in calls:
        for k, v in c.arguments.items():
            props.setdefault(k, {"type": types.get(type(v), "string")})
    always = [k for k in props if all(k in c.arguments for c in calls)]
    return {"type": "function", "function": {"name": name, "description": f"{name} (schema inferred from the trace)",
                                             "parameters": {"type": "object", "properties": props, "required": always}}}


def import_traces(path: str | os.PathLike[str], *, prefix: str | None = None) -> ImportReport:
    """Every conversation of a JSONL file that can become a task, and why each other one cannot."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No trace file at {p}.")
    report = ImportReport()
    prefix = prefix or p.stem
    for n, rec, why in jsonl_rows(p, "trace file"):
        if why is not None:
            report.problems.append(f"line {n}: {why}")
            continue
        try:
            report.tasks.append(_task_of(rec, f"{prefix}-{n:05d}", f"{p.name}:{n}"))
        except json.JSONDecodeError as e:
            report.problems.append(f"line {n}: not JSON ({e.msg})")
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
            report.problems.append(f"line {n}: {type(e).__name__}: {str(e)[:300]}")
    return report


def _task_of(rec: Any, task_id: str, source: str) -> TraceTask:
    """One record as a task, or an exception saying why it cannot be one."""
    if not isinstance(rec, dict):
        raise ValueError(f"expected a JSON object, got {type(rec).__name__}")
    if "messages" in rec:
        if not isinstance(rec["messages"], list) or not all(isinstance(m, dict) for m in rec["messages"]):
            raise ValueError("'messages' must be a list of message objects")
        turns, calls, system = _from_openai(rec)
    elif "conversations" in rec:
        if not isinstance(rec["conversations"], list) or not all(isinstance(m, dict) for m in rec["conversations"]):
            raise ValueError("'conversations' must be a list of {from, value} objects")
        turns, calls, system = _from_apigen(rec)
    else:
        raise ValueError("neither 'messages' (OpenAI format) nor 'conversations' (APIGen-MT format)")
    if not turns:
        raise ValueError("no user turn, so no goal to play")
    if not calls:
        raise ValueError("no tool call with a result; a trace without tool calls is a chat, not a task")
    raw_tools = rec.get("tools") or []
    declared = loads_json(raw_tools, "'tools'") if isinstance(raw_tools, str) else raw_tools
    if not isinstance(declared, list) or not all(isinstance(t, dict) for t in declared):
        raise ValueError(f"'tools' must be a list of tool schemas (objects with a name), got {type(declared).__name__}"
                         + (" of non-objects" if isinstance(declared, list) else ""))
    schemas = {}
    for t in declared:
        fn = t.get("function", t)
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise ValueError("a tool schema has no name (expected {'name': ..., 'parameters': {...}} or OpenAI's {'function': {...}})")
        if "parameters" in fn and not isinstance(fn["parameters"], dict):
            raise ValueError(f"the parameters of tool {fn['name']!r} must be a JSON schema object")
        schemas[fn["name"]] = {"type": "function", "function": {k: fn[k] for k in ("name", "description", "parameters") if k in fn}}
    for name in dict.fromkeys(c.name for c in calls):
        if name not in schemas:
            schemas[name] = _infer_schema(name, [c for c in calls if c.name == name])
    return TraceTask(task_id, turns, list(schemas.values()), calls, system, {"family": "trace", "source": source})


def save_trace_tasks(path: str | os.PathLike[str], tasks: list[TraceTask]) -> Path:
    """Write trace tasks as JSONL atomically; returns the path."""
    from agentgym.domains.sgd.taskfile import write_jsonl

    return write_jsonl(path, tasks)


def load_trace_tasks(path: str | os.PathLike[str]) -> list[TraceTask]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No trace task file at {p}; make one with `agentgym import-traces`.")
    out = []
    for n, line in iter_lines(p, "trace task file"):
        if line is None:
            raise ValueError(f"{p} line {n} is longer than {MAX_LINE_BYTES:,} bytes or not UTF-8; it is not a trace task.")
        if line.strip():
            try:
                out.append(TraceTask.from_dict(loads_json(line, f"{p} line {n}")))
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise ValueError(f"{p} line {n} is not a trace task ({type(e).__name__}: {str(e)[:300]}); "
                                 "make the file again with `agentgym import-traces`.") from None
    if not out:
        raise ValueError(f"{p} holds no trace task.")
    return out
