"""Simulated users; `make_user(name)` builds any SGD user by name."""
from agentgym.domains.sgd.users.agenda import Persona
from agentgym.domains.sgd.users.base import User, UserContext, UserTurn
from agentgym.domains.sgd.users.goal_user import GoalDrivenUser, UserModel, load_user_model
from agentgym.domains.sgd.users.replay import TraceReplayUser


def make_user(name: str = "goal", **kwargs: object) -> User:
    """An SGD user simulator by name (the SGD domain's users, and any registered 'sgd/<name>')."""
    from agentgym.domains.sgd.domain import DOMAIN

    cls = DOMAIN.user_class(name)
    return cls(**kwargs) if kwargs else cls()


__all__ = ["GoalDrivenUser", "Persona", "TraceReplayUser", "User", "UserContext", "UserModel", "UserTurn",
           "load_user_model", "make_user"]
