"""Simulated users; `make_user(name)` builds any user in the registry (`agentgym.registry`)."""
from agentgym.domains.sgd.users.agenda import Persona
from agentgym.domains.sgd.users.base import User, UserContext, UserTurn
from agentgym.domains.sgd.users.goal_user import GoalDrivenUser, UserModel, load_user_model
from agentgym.domains.sgd.users.replay import TraceReplayUser


def make_user(name: str = "goal", **kwargs: object) -> User:
    """A user simulator by its registry name."""
    from agentgym.registry import registry

    try:
        cls = registry.get("user", name)
    except KeyError:
        raise ValueError(f"Unknown user simulator '{name}'. Choose one of: {', '.join(registry.names('user'))}.") from None
    return cls(**kwargs) if kwargs else cls()


__all__ = ["GoalDrivenUser", "Persona", "TraceReplayUser", "User", "UserContext", "UserModel", "UserTurn",
           "load_user_model", "make_user"]
