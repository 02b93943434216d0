"""One live tau2 environment per agentgym env: reset in microseconds, tool calls straight into
tau2's `Environment.get_response`, and the gold state of each task replayed once and cached."""
from __future__ import annotations

from typing import Any

from agentgym.domains.tau2.domain import new_environment, seed_ids
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
        """tau2's `get_response` (tool call + sync_tools); an exception becomes `Error: ...`."""
        self._arm(tool_call.name, tool_call.requestor)
        try:
            return self.env.get_response(tool_call)
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
