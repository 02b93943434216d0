"""Simulated users."""
from typing import Any

from agentgym.users.agenda import Persona
from agentgym.users.base import User, UserContext, UserTurn
from agentgym.users.goal_user import GoalDrivenUser, UserModel, load_user_model
from agentgym.users.replay import TraceReplayUser

USERS: dict[str, Any] = {"goal": GoalDrivenUser, "replay": TraceReplayUser}


def _llm_users() -> None:
    from agentgym.users.llm_user import HybridUser, LLMUser

    USERS.update({"llm": LLMUser, "hybrid": HybridUser})


_llm_users()


def make_user(name: str = "goal", **kwargs: object) -> User:
    """A user simulator by name; see USERS for the choices."""
    try:
        cls = USERS[name]
    except KeyError:
        raise ValueError(f"Unknown user simulator '{name}'. Choose one of: {', '.join(sorted(USERS))}.") from None
    return cls(**kwargs) if kwargs else cls()


__all__ = ["USERS", "GoalDrivenUser", "Persona", "TraceReplayUser", "User", "UserContext", "UserModel", "UserTurn",
           "load_user_model", "make_user"]
