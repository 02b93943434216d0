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
    value = json.loads(raw or "{}")
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
            for i, c in enumerate(m.get("tool_calls") or []):
                fn = c.get("function", c)
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
            call = json.loads(value) if isinstance(value, str) else value
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
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError(f"expected a JSON object, got {type(rec).__name__}")
                if "messages" in rec:
                    turns, calls, system = _from_openai(rec)
                elif "conversations" in rec:
                    turns, calls, system = _from_apigen(rec)
                else:
                    raise ValueError("neither 'messages' (OpenAI format) nor 'conversations' (APIGen-MT format)")
            except json.JSONDecodeError as e:
                report.problems.append(f"line {n}: not JSON ({e.msg})")
                continue
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                report.problems.append(f"line {n}: {type(e).__name__}: {e}")
                continue
            if not turns:
                report.problems.append(f"line {n}: no user turn, so no goal to play")
                continue
            if not calls:
                report.problems.append(f"line {n}: no tool call with a result; a trace without tool calls is a chat, not a task")
                continue
            raw_tools = rec.get("tools") or []
            try:
                declared = json.loads(raw_tools) if isinstance(raw_tools, str) else list(raw_tools)
            except json.JSONDecodeError:
                report.problems.append(f"line {n}: 'tools' is not JSON")
                continue
            schemas = {}
            for t in declared:
                fn = t.get("function", t) if isinstance(t, dict) else {}
                if fn.get("name"):
                    schemas[fn["name"]] = {"type": "function", "function": {k: fn[k] for k in ("name", "description", "parameters") if k in fn}}
            for name in dict.fromkeys(c.name for c in calls):
                if name not in schemas:
                    schemas[name] = _infer_schema(name, [c for c in calls if c.name == name])
            report.tasks.append(TraceTask(f"{prefix}-{n:05d}", turns, list(schemas.values()), calls, system,
                                          {"family": "trace", "source": f"{p.name}:{n}"}))
    return report


def save_trace_tasks(path: str | os.PathLike[str], tasks: list[TraceTask]) -> Path:
    """Write trace tasks as JSONL atomically; returns the path."""
    from agentgym.data.taskfile import write_jsonl

    return write_jsonl(path, tasks)


def load_trace_tasks(path: str | os.PathLike[str]) -> list[TraceTask]:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No trace task file at {p}; make one with `agentgym import-traces`.")
    out = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    out.append(TraceTask.from_dict(json.loads(line)))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                    raise ValueError(f"{p} line {n} is not a trace task ({type(e).__name__}: {e}).") from None
    if not out:
        raise ValueError(f"{p} holds no trace task.")
    return out
