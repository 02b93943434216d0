"""Parse whatever an agent emits into one action, never raising.

Formats (auto-detected, one per step): a plain message to the user; a JSON tool call
`{"name": ..., "arguments": {...}}` (or a list of them); a function call `Name(a='x', n=2)` parsed
with `ast` (never `eval`); an OpenAI assistant message dict with `tool_calls`; and TauGym's tagged
protocol, with TauGym's meanings (seed 003):

    [search] <query>      discover tools: `tools` lists them, `help` explains the protocol, else matching tools
    [action] <message>    talk to the user
    [answer] <tool_call>  call a tool: JSON, `name {json}`, or `name(a='x')`
    [finish]              end the episode

Anything else that is not a message becomes an `invalid` action whose `error` says what was wrong
and how to write it.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agentgym.safeio import clean_text, clean_value
from agentgym.types import ToolCall

MAX_ACTION_CHARS = 20_000
Kind = Literal["message", "tool_calls", "search", "finish", "invalid"]
_FUNC = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*\s*\(.*\)$", re.S)
_TAG = re.compile(r"^\[(search|action|answer|finish)\]\s*", re.I)
_SHORT_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\s+(\{.*\})$", re.S)  # TauGym's `name {json}`
TAG_FORMS = ("the four tagged forms are: [search] tools | help | <query>; [action] <message to the user>; "
             '[answer] <tool call> ({"name": "tool", "arguments": {...}} or tool {"arg": ...}); [finish]')
_HOW = ('write a tool call as {"name": "Tool_Name", "arguments": {"slot": "value"}} '
        "or Tool_Name(slot='value'), or a plain message to the user")


@dataclass(slots=True)
class Action:
    kind: Kind
    format: str
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    error: str | None = None


def _invalid(fmt: str, error: str) -> Action:
    return Action("invalid", fmt, error=error)


def _call_from_obj(obj: Any, idx: int) -> ToolCall | str:
    """A ToolCall from {"name", "arguments"} or OpenAI's {"function": {...}}; else an error string."""
    if not isinstance(obj, dict):
        return f"tool call #{idx + 1} must be an object, got {type(obj).__name__}"
    inner = obj.get("function")
    fn: dict[str, Any] = inner if isinstance(inner, dict) else obj
    name = fn.get("name")
    if not isinstance(name, str) or not name.strip():
        return f"tool call #{idx + 1} has no 'name' string"
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as e:
            return f"arguments of {name} are not valid JSON ({e.msg} at position {e.pos})"
    if args is None:
        args = {}
    return ToolCall(name.strip(), args, str(obj.get("id", "") or f"call_{idx}"))


def _calls(objs: list[Any], fmt: str) -> Action:
    if not objs:
        return _invalid(fmt, "an empty list of tool calls; " + _HOW)
    calls = []
    for i, o in enumerate(objs):
        c = _call_from_obj(o, i)
        if isinstance(c, str):
            return _invalid(fmt, c + "; " + _HOW)
        calls.append(c)
    return Action("tool_calls", fmt, calls=calls)


def parse_dict(obj: dict[str, Any]) -> Action:
    if "tool_calls" in obj or obj.get("role") == "assistant":
        tool_calls = obj.get("tool_calls") or []
        content = obj.get("content") or ""
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False)
        if tool_calls:
            if not isinstance(tool_calls, list):
                return _invalid("openai", "'tool_calls' must be a list")
            action = _calls(tool_calls, "openai")
            action.text = content
            return action
        if content.strip():
            return Action("message", "openai", text=content.strip())
        return _invalid("openai", "assistant message with neither content nor tool_calls")
    if "name" in obj or "function" in obj:
        return _calls([obj], "json")
    return _invalid("json", f"JSON object with keys {sorted(obj)[:8]} is neither a tool call nor an assistant message; " + _HOW)


def _literal(node: ast.AST) -> Any:
    return ast.literal_eval(node)


def parse_function_call(text: str) -> Action:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        return _invalid("function", f"function call does not parse ({e.msg}); " + _HOW)
    call = tree.body
    if not isinstance(call, ast.Call):
        return _invalid("function", "expected a single call like Tool_Name(slot='value'); " + _HOW)
    name = ast.unparse(call.func)
    if call.args:
        return _invalid("function", f"{name}: positional arguments are not supported, name them (slot='value')")
    args: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            return _invalid("function", f"{name}: **kwargs is not supported, name each argument")
        try:
            args[kw.arg] = _literal(kw.value)
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            return _invalid("function", f"{name}: value of '{kw.arg}' must be a literal (a string, number or true/false)")
    return Action("tool_calls", "function", calls=[ToolCall(name, args, "call_0")])


def _parse_call_text(text: str, fmt: str) -> Action:
    """The tool call after `[answer]`: JSON, TauGym's short `name {json}`, or `name(a='x')`."""
    s = text.strip()
    short = _SHORT_CALL.match(s)
    if s.startswith(("{", "[")):
        action = parse_json(s)
    elif short:
        try:
            args = json.loads(short.group(2))
        except (json.JSONDecodeError, RecursionError):
            return _invalid(fmt, f"[answer] {short.group(1)} {{...}}: the arguments are not valid JSON; " + TAG_FORMS)
        action = _calls([{"name": short.group(1), "arguments": args}], fmt)
    elif _FUNC.match(s):
        action = parse_function_call(s)
    else:
        return _invalid(fmt, "[answer] must be followed by a tool call (to talk to the user use [action]); " + TAG_FORMS)
    action.format = fmt
    return action


def parse_json(text: str) -> Action:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        where = f" ({e.msg} at position {e.pos})" if isinstance(e, json.JSONDecodeError) else ""
        return _invalid("json", f"malformed JSON{where}; " + _HOW)
    if isinstance(obj, list):
        return _calls(obj, "json")
    if isinstance(obj, dict):
        return parse_dict(obj)
    return _invalid("json", f"JSON {type(obj).__name__} is not a tool call; " + _HOW)


MAX_DEPTH = 64


def _shape_error(obj: Any) -> str | None:
    """Why a dict/list action cannot be read (it contains itself, or nests deeper than MAX_DEPTH), or None."""
    stack: list[tuple[Any, int, frozenset[int]]] = [(obj, 0, frozenset())]
    while stack:
        node, depth, ancestors = stack.pop()
        if not isinstance(node, (dict, list, tuple)):
            continue
        if id(node) in ancestors:
            return "the action contains itself (a circular reference)"
        if depth > MAX_DEPTH:
            return f"the action nests deeper than {MAX_DEPTH} levels"
        inner = ancestors | {id(node)}
        stack.extend((child, depth + 1, inner) for child in (node.values() if isinstance(node, dict) else node))
    return None


def parse_action(action: Any) -> Action:
    """Detect the format of `action` and parse it. Never raises."""
    if isinstance(action, (dict, list, tuple)):
        problem = _shape_error(action)
        if problem:
            return _invalid("unknown", f"{problem}; " + _HOW)
    try:
        parsed = _parse(clean_text(action) if isinstance(action, str) else action)
    except (RecursionError, ValueError, TypeError) as e:
        return _invalid("unknown", f"the action could not be read ({type(e).__name__}); " + _HOW)
    # valid Unicode from here on: a lone surrogate ("\ud800", JSON can spell it) would fail every encoder downstream
    parsed.text = clean_text(parsed.text)
    for c in parsed.calls:
        c.name = clean_text(c.name) if isinstance(c.name, str) else c.name
        try:
            c.arguments = clean_value(c.arguments)
        except RecursionError:
            return _invalid("unknown", "the tool arguments are nested too deeply to read; " + _HOW)
    return parsed


def _parse(action: Any) -> Action:
    if isinstance(action, dict):
        return parse_dict(action)
    if isinstance(action, bytes):
        action = action.decode("utf-8", errors="replace")
    if not isinstance(action, str):
        return _invalid("unknown", f"an action must be a string or a dict, got {type(action).__name__}; " + _HOW)
    if len(action) > MAX_ACTION_CHARS:
        return _invalid("unknown", f"the action is {len(action)} characters long; the limit is {MAX_ACTION_CHARS}")
    s = action.strip()
    if not s:
        return _invalid("message", "empty action; " + _HOW)
    m = _TAG.match(s)
    if m:
        tag, rest = m.group(1).lower(), s[m.end():].strip()
        if tag == "finish":
            return Action("finish", "tagged", text=rest)
        if tag == "action":
            return Action("message", "tagged", text=rest) if rest else _invalid("tagged", "[action] needs a message after it; " + TAG_FORMS)
        if tag == "search":
            return Action("search", "tagged", text=rest or "tools")
        return _parse_call_text(rest, "tagged")
    if re.match(r"^\[[a-z_]+\]", s, re.I) and not s.lower().startswith("[{"):
        return _invalid("tagged", f"unknown tag {s.split(']', 1)[0][:30]}]; " + TAG_FORMS)
    if s[0] == "{" or re.match(r"^\[\s*(\{|\]$)", s):
        return parse_json(s)
    if s[0] == "[":
        parsed = parse_json(s)
        if parsed.kind != "invalid":
            return parsed
        return Action("message", "text", text=s)
    if _FUNC.match(s):
        return parse_function_call(s)
    return Action("message", "text", text=s)
