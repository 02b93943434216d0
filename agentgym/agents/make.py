"""`make_agent(spec)`: any agent, written the one way every command and executor reads it.

    scripted                      a registry name (`agentgym.registry`, kind "agent")
    noisy:base=scripted,epsilon=0.3   ... with arguments (each value JSON, else a string)
    my_agents:EchoAgent           your own class, by module (importable, or a .py next to where you run)
    my_agents:EchoAgent:greeting=hi   ... with arguments
    path/to/agents.py:EchoAgent   ... by file

Your class needs `name`, `reset(observation, info)` and `act(observation, info) -> action` (`agentgym.agents.base.Agent`).
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from agentgym.agents.base import Agent

EXAMPLE = "my_agents:EchoAgent"


def agent_names() -> list[str]:
    from agentgym.registry import registry

    return registry.names("agent")


def parse_agent_arguments(rest: str, text: str) -> dict[str, Any]:
    """`k=v,k=v` after the spec's ':' (each value read as JSON when it is JSON, else kept as a string)."""
    kwargs: dict[str, Any] = {}
    for pair in filter(None, rest.split(",")):
        if "=" not in pair:
            raise ValueError(f"Agent arguments are key=value pairs after ':' (e.g. noisy:base=scripted,epsilon=0.3), "
                             f"got {pair!r} in {text!r}.")
        k, v = pair.split("=", 1)
        try:
            kwargs[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            kwargs[k.strip()] = v.strip()
    return kwargs


def _import_module(ref: str, text: str) -> Any:
    """A module by dotted name (the working directory counts: console scripts do not put it on sys.path) or by file."""
    if ref.endswith(".py"):
        path = Path(ref).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"No file {ref!r} for agent {text!r} (a path to a .py file, or a module name: {EXAMPLE}).")
        folder = str(path.parent)
        if folder not in sys.path:  # so worker processes (which copy sys.path) import it by the same name
            sys.path.insert(0, folder)
        return importlib.import_module(path.stem)
    try:
        return importlib.import_module(ref)
    except ModuleNotFoundError as e:
        if e.name != ref.split(".")[0] or os.getcwd() in sys.path:
            raise ValueError(f"Agent {text!r}: importing {ref!r} failed: {e}.") from None
    sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(ref)
    except ModuleNotFoundError as e:
        sys.path.remove(os.getcwd())
        raise ValueError(f"Unknown agent {text!r}: {ref!r} is neither a registered agent ({', '.join(agent_names())}) "
                         f"nor an importable module ({e}). Write your own as module:Class, e.g. {EXAMPLE}, "
                         "with the module on PYTHONPATH or in the working directory.") from None


def resolve_agent(text: str) -> tuple[str, Any, dict[str, Any]]:
    """(the agent's label, its class, its arguments) for a spec (module docstring), every part checked."""
    from agentgym.registry import registry

    text = str(text).strip()
    head, _, rest = text.partition(":")
    if head in agent_names():
        cls, label = registry.get("agent", head), head
    else:
        attr, _, rest = rest.partition(":")
        if not attr or "=" in attr:
            where = "" if text == head else f" in {text!r}"
            raise ValueError(f"Unknown agent {head!r}{where}. Choose one of: {', '.join(agent_names())}; or write "
                             f"your own class as module:Class (e.g. {EXAMPLE}, or path/to/agents.py:EchoAgent).")
        obj: Any = _import_module(head, text)
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise ValueError(f"Agent {text!r}: {head!r} has no {attr!r}.")
            obj = getattr(obj, part)
        if not callable(obj) or not callable(getattr(obj, "act", None)):
            raise ValueError(f"Agent {text!r}: {head}:{attr} is not an agent class (it needs reset(observation, info) "
                             "and act(observation, info) -> action; see agentgym.agents.base.Agent).")
        cls, label = obj, f"{head}:{attr}"
    kwargs = parse_agent_arguments(rest, text)
    check_agent_arguments(label, cls, kwargs)
    return label, cls, kwargs


def build_agent(label: str, cls: Any, kwargs: dict[str, Any]) -> Agent:
    try:
        return cls(**kwargs)
    except TypeError as e:  # a value of the wrong kind for an argument the class does take
        raise ValueError(f"Agent {label!r} refused its arguments {kwargs}: {e}.") from None


def make_agent(name: str, **kwargs: object) -> Agent:
    """An agent by its spec (module docstring: a registry name, with arguments, or your own module:Class); keyword
    arguments are added to the spec's."""
    label, cls, spec_kwargs = resolve_agent(name)
    if kwargs:
        check_agent_arguments(label, cls, dict(kwargs))
    return build_agent(label, cls, {**spec_kwargs, **kwargs})


def check_agent_arguments(name: str, cls: Any, kwargs: dict[str, Any]) -> None:
    """Refuse arguments the agent's class does not take, listing those it does."""
    import inspect

    if not kwargs:
        return
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
