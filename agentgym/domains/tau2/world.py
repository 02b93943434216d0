"""One live tau2 environment per agentgym env: reset in microseconds, tool calls straight into
tau2's `Environment.get_response`, and the gold state of each task replayed once and cached."""
from __future__ import annotations

from typing import Any

from agentgym.domains.tau2.data import new_environment, seed_ids
from agentgym.domains.tau2.state import ToolkitState, same_state

ID_SEED = 0  # telecom's new ids: the same draws for the gold replay and every episode


class Tau2World:
    def __init__(self, domain: str, solo_mode: bool = False) -> None:
        self.domain, self.solo_mode = domain, solo_mode
        self.env = new_environment(domain, solo_mode)  # checks tau2 is installed, silences its logging
        from tau2.environment.toolkit import ToolType

        self.states: dict[str, ToolkitState] = {"assistant": ToolkitState(self.env.tools)}
        if self.env.user_tools is not None:
            self.states["user"] = ToolkitState(self.env.user_tools)
        self._write = ToolType.WRITE
        self._gold: dict[str, dict[str, dict[Any, str]]] = {}

    # ---- tools ----------------------------------------------------------------------------
    def toolkit_of(self, name: str, requestor: str) -> str:
        """Which toolkit a call lands in (tau2's routing: solo mode sends user tools to the user's)."""
        user = self.env.user_tools
        if requestor == "user" or (self.solo_mode and user is not None and user.has_tool(name)):
            return "user"
        return "assistant"

    def writes(self, name: str, requestor: str) -> bool:
        """Does this call write? tau2's own tool metadata (`ToolType.WRITE`) of the toolkit it lands in."""
        toolkit = self.env.user_tools if self.toolkit_of(name, requestor) == "user" else self.env.tools
        return toolkit is not None and toolkit.has_tool(name) and toolkit.tool_type(name) == self._write

    def _arm(self, name: str, requestor: str) -> None:
        writes = self.writes(name, requestor)
        for state in self.states.values():
            if writes or not state.journaled:  # a small DB is restored after any call (telecom's sync_tools writes too)
                state.arm()

    def _disarm(self) -> None:
        for state in self.states.values():
            state.disarm()

    def call(self, tool_call: Any) -> Any:
        """tau2's `get_response` (tool call + sync_tools); an exception becomes `Error: ...`. A call no tool
        could answer within the budget (an expression whose value has millions of digits) is refused first."""
        refused = hostile_call(tool_call.name, tool_call.arguments)
        if refused is not None:
            from tau2.data_model.message import ToolMessage

            return ToolMessage(id=tool_call.id, content=f"Error: {refused}", requestor=tool_call.requestor, role="tool",
                               error=True)
        from agentgym.safeio import TimeBudgetExceeded, time_budget

        self._arm(tool_call.name, tool_call.requestor)
        try:
            with time_budget(TOOL_SECONDS, f"the tool {tool_call.name}"):
                return self.env.get_response(tool_call)
        except TimeBudgetExceeded as e:
            from tau2.data_model.message import ToolMessage

            return ToolMessage(id=tool_call.id, content=f"Error: {e}", requestor=tool_call.requestor, role="tool", error=True)
        finally:
            self._disarm()

    # ---- episodes ---------------------------------------------------------------------------
    def reset(self, task: Any) -> None:
        """The pristine DBs, then the task's initial state (tau2's `set_state`)."""
        for state in self.states.values():
            state.restore()
        seed_ids(ID_SEED)
        init = task.initial_state
        if init is not None and (init.initialization_data or init.initialization_actions or init.message_history):
            for state in self.states.values():
                state.arm()
            try:
                self.env.set_state(initialization_data=init.initialization_data,
                                   initialization_actions=init.initialization_actions,
                                   message_history=init.message_history or [])
            finally:
                self._disarm()

    def fingerprints(self) -> dict[str, dict[Any, str]]:
        return {k: s.fingerprint() for k, s in self.states.items()}

    def gold(self, task: Any) -> dict[str, dict[Any, str]]:
        """The DB state after the task's gold actions, replayed as tau2's evaluator does (no
        sync_tools between them, failures ignored, solo mode off); cached per task."""
        if task.id not in self._gold:
            solo = self.env.solo_mode
            self.env.solo_mode = False
            try:
                self.reset(task)
                for action in (task.evaluation_criteria.actions or []) if task.evaluation_criteria else []:
                    self._arm(action.name, action.requestor)
                    try:
                        self.env.make_tool_call(tool_name=action.name, requestor=action.requestor, **action.arguments)
                    except Exception:  # noqa: BLE001 - tau2 logs and goes on
                        pass
                    finally:
                        self._disarm()
                self._gold[task.id] = self.fingerprints()
            finally:
                self.env.solo_mode = solo
                for state in self.states.values():
                    state.restore()
        return self._gold[task.id]

    def db_match(self, task: Any, current: dict[str, dict[Any, str]]) -> bool:
        """tau2's DB check: agent DB and user DB equal to the gold replay's."""
        gold = self.gold(task)
        return all(same_state(gold[k], current[k], self.states[k]) for k in self.states)


TOOL_SECONDS = 5.0  # no tau2 tool takes a millisecond of this on real input
MAX_EXPRESSION_CHARS = 500
MAX_ARGUMENT_CHARS = 100_000


def hostile_call(name: str, arguments: Any) -> str | None:
    """Why a tool call would hold the step far past any real tool's time (or memory), else None.

    tau2's `calculate` hands its expression to `eval`: `9**9**9**9` never returns, and `(` × 10⁵
    overflows the parser's stack. Its valid expressions (numbers, + - * /, parentheses) are still
    evaluated by tau2 itself, so results stay tau2's to the last digit."""
    import ast

    total = sum(len(v) for v in arguments.values() if isinstance(v, str)) if isinstance(arguments, dict) else 0
    if total > MAX_ARGUMENT_CHARS:
        return f"the arguments are {total:,} characters long; a tool call's text is at most {MAX_ARGUMENT_CHARS:,}"
    if name != "calculate" or not isinstance(arguments, dict) or not isinstance(arguments.get("expression"), str):
        return None
    expr = arguments["expression"]
    if len(expr) > MAX_EXPRESSION_CHARS:
        return f"the expression is {len(expr):,} characters long; calculate takes at most {MAX_EXPRESSION_CHARS}"
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # tau2 answers an unparseable expression with its own error, at once
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent, value = _float_value(node.right), _float_value(node)
            if exponent is None or abs(exponent) > 1000 or value is None:
                return ("the expression raises to a power whose value no calculator can hold (above 1e308, or an exponent "
                        "above 1000); use + - * / and small powers")
    return None


def _float_value(node: Any) -> float | None:
    """The value of an arithmetic sub-expression in floating point — instant, unlike Python's exact integers —
    or None where it overflows or is not plain arithmetic."""
    import ast
    import math
    import operator

    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: math.pow}
    try:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            value = float(node.value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = _float_value(node.operand)
            value = None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
        elif isinstance(node, ast.BinOp) and type(node.op) in ops:
            a, b = _float_value(node.left), _float_value(node.right)
            value = None if a is None or b is None else float(ops[type(node.op)](a, b))
        else:
            return None
    except (OverflowError, ZeroDivisionError, ValueError, RecursionError):
        return None
    return value if value is not None and math.isfinite(value) else None
