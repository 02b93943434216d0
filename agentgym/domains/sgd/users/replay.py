"""Trace replay: the recorded user turns, in order, whatever the agent says."""
from __future__ import annotations

from typing import Any

from agentgym.domains.sgd.tasks import Task
from agentgym.domains.sgd.users.base import UserContext, UserTurn

_CLOSING = {"GOODBYE", "THANK_YOU", "NEGATE"}


class TraceReplayUser:
    """Replays the task's real user turns; done after the last one.

    Useful as a reference and for scoring agents on the exact human dialogue, but it does not
    listen: an agent that asks the wrong question still gets the recorded answer.
    """

    name = "replay"

    @classmethod
    def from_env(cls, env: Any, persona: Any = None) -> TraceReplayUser:
        return cls()

    def __init__(self) -> None:
        self._turns: list[UserTurn] = []
        self._i = 0

    def reset(self, task: Task, seed: int) -> UserTurn:
        n = len(task.user_turns)
        self._turns = [
            UserTurn(t.text, list(t.acts), done=(i == n - 1 and {a[1] for a in t.acts} <= _CLOSING))
            for i, t in enumerate(task.user_turns)
        ]
        self._i = 0
        return self._next()

    def _next(self) -> UserTurn:
        if self._i >= len(self._turns):
            return UserTurn("Thanks, that's all. Goodbye!", [("", "GOODBYE", "", ())], done=True)
        turn = self._turns[self._i]
        self._i += 1
        return UserTurn(turn.text, list(turn.acts), turn.done)

    def respond(self, agent_message: str, context: UserContext) -> UserTurn:
        return self._next()
