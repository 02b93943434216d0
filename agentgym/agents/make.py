"""`make_agent(name)`: any agent in the registry (`agentgym.registry`), its arguments checked."""
from __future__ import annotations

from typing import Any

from agentgym.agents.base import Agent


def agent_names() -> list[str]:
    from agentgym.registry import registry

    return registry.names("agent")


def make_agent(name: str, **kwargs: object) -> Agent:
    """An agent by its registry name (`agentgym.registry.registry.names("agent")`)."""
    from agentgym.registry import registry

    try:
        cls = registry.get("agent", name)
    except KeyError:
        raise ValueError(f"Unknown agent '{name}'. Choose one of: {', '.join(agent_names())}.") from None
    check_agent_arguments(name, cls, kwargs)
    try:
        return cls(**kwargs)
    except TypeError as e:  # a value of the wrong kind for an argument the class does take
        raise ValueError(f"Agent {name!r} refused its arguments {kwargs}: {e}.") from None


def check_agent_arguments(name: str, cls: Any, kwargs: dict[str, Any]) -> None:
    """Refuse arguments the agent's class does not take, listing those it does."""
    import inspect

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    takes = [p for p, v in params.items() if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
    unknown = sorted(set(kwargs) - set(takes))
    if unknown:
        raise ValueError(f"Agent {name!r} does not take {', '.join(unknown)}; it takes: {', '.join(takes) or 'no arguments'} "
                         f"(written {name}:key=value,...).")
