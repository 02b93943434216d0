"""Simulated users."""
from agentgym.users.base import User, UserContext, UserTurn
from agentgym.users.replay import TraceReplayUser

USERS = {"replay": TraceReplayUser}


def make_user(name: str = "replay") -> User:
    """A user simulator by name; see USERS for the choices."""
    try:
        return USERS[name]()
    except KeyError:
        raise ValueError(f"Unknown user simulator '{name}'. Choose one of: {', '.join(sorted(USERS))}.") from None


__all__ = ["USERS", "TraceReplayUser", "User", "UserContext", "UserTurn", "make_user"]
