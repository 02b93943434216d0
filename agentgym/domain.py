"""`Domain`: one object per family of environments (SGD, tau2, traces, yours) that answers every generic
question about it — its gym ids and their defaults, its users and agents, its splits, how the generic
settings become its env's keyword arguments, and its demonstrations. The CLI, `compare`,
training and evaluation ask the domain; none of them branches on an entry point or a name prefix.

>>> from agentgym.domain import domain_of
>>> d = domain_of("agentgym/tau2-airline-v0")
>>> d.env_kwargs(split="train", max_turns=30)
{'split': 'train', 'max_steps': 30}
>>> d.get_rubric().names
('db', 'env_assertion', 'action', 'communicate')
>>> env = d.make_env("agentgym/tau2-airline-v0", split="test")  # doctest: +SKIP

A domain outside this package registers itself with `register_domain(DOMAIN)` in a module named by the
`agentgym.domains` entry-point group of its distribution or by the `AGENTGYM_PLUGINS` environment variable
(comma-separated module names); `agentgym/domains/README.md` is the contract.
"""
from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentgym.registry import registry

# The settings every front end speaks (CLI flags, CompareConfig and TrainConfig fields); a domain maps each to
# one of its env's keyword arguments or refuses it with the reason and the fix.
SETTINGS: dict[str, str] = {
    "split": "which tasks: a split name the domain lists in `splits`",
    "data_dir": "a folder of the domain's own data instead of the packaged copy",
    "max_turns": "the episode's turn (or step) limit",
    "user": "the simulated user: a name in the domain's `users`",
    "user_kwargs": "keyword arguments for the simulated user (a model, a program, ...)",
    "tasks": "a task file (JSONL) instead of the domain's own tasks",
    "persona": "user persona knobs",
    "rubric": "weights of the env's rubric criteria {name: weight} (the domain's `rubric` names them)",
}
PLUGINS_VAR = "AGENTGYM_PLUGINS"
ENTRY_POINT_GROUP = "agentgym.domains"


def _resolve(target: Any) -> Any:
    if isinstance(target, str) and ":" in target:
        module, attr = target.split(":", 1)
        return getattr(importlib.import_module(module), attr)
    return target


@dataclass(frozen=True)
class Domain:
    """A family of environments, described once. Targets are `"module:attribute"` strings, imported on first use."""

    name: str  # short and unique: 'sgd', 'tau2', 'traces'
    entry_point: str  # the env class, "module:Class"
    env_ids: Mapping[str, Mapping[str, Any]]  # gymnasium id -> that id's default kwargs
    help: str = ""
    settings: Mapping[str, str] = field(default_factory=dict)  # generic setting -> env kwarg name ("kwarg.key": a dict entry)
    refusals: Mapping[str, str] = field(default_factory=dict)  # generic setting -> why it does not apply, and the fix
    users: Mapping[str, str] = field(default_factory=dict)  # user name -> "module:Class" (each has from_env)
    default_user: str | None = None
    agents: tuple[str, ...] = ()  # registry agent names written for this domain (generic agents play every domain)
    oracle: str | None = None  # the registry agent that reaches the rubric's top on every task it can (OpenEnv's oracle)
    floor: str = "noop"  # the registry agent that does nothing useful (OpenEnv's floor)
    splits: tuple[str, ...] = ()
    demonstrations: str | None = None  # "module:function": function(data_dir=, split=, max_dialogues=) -> SFT examples
    rubric: Any = None  # the env's reward: an agentgym.rubric.Rubric or "module:RUBRIC"

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or " " in self.name:
            raise ValueError(f"Domain name {self.name!r} must be a short word without '/' or spaces, e.g. 'todo'.")
        if ":" not in self.entry_point:
            raise ValueError(f"Domain {self.name}: entry_point must be 'module:Class', got {self.entry_point!r}.")
        if not self.env_ids:
            raise ValueError(f"Domain {self.name}: give at least one gymnasium id in env_ids, e.g. 'agentgym/{self.name}-v0'.")
        for env_id in self.env_ids:
            if not (env_id.count("/") == 1 and env_id.rsplit("-v", 1)[-1].isdigit()):
                raise ValueError(f"Domain {self.name}: gymnasium id {env_id!r} must look like 'namespace/Name-v0'.")
        unknown = (set(self.settings) | set(self.refusals)) - set(SETTINGS)
        if unknown:
            raise ValueError(f"Domain {self.name}: unknown setting(s) {sorted(unknown)}; the generic settings are {', '.join(SETTINGS)}.")
        both = set(self.settings) & set(self.refusals)
        if both:
            raise ValueError(f"Domain {self.name}: setting(s) {sorted(both)} are both mapped and refused; choose one.")
        if self.default_user is not None and self.default_user not in self.users:
            raise ValueError(f"Domain {self.name}: default_user {self.default_user!r} is not in users ({', '.join(self.users)}).")

    # ---- generic settings -> env kwargs ---------------------------------------------------------
    def takes(self, setting: str) -> bool:
        """Whether the domain's envs take a generic setting (a front end's default may then be left out)."""
        return setting in self.settings

    def env_kwargs(self, env_id: str | None = None, **settings: Any) -> dict[str, Any]:
        """The env's keyword arguments for generic settings (None means 'the env's default' and is left out).
        A setting the domain does not take is refused with its reason; an unknown setting with the list."""
        out: dict[str, Any] = {}
        for key, value in settings.items():
            if value is None:
                continue
            if key not in SETTINGS:
                raise ValueError(f"Unknown setting {key!r}; the generic settings are {', '.join(SETTINGS)} "
                                 "(pass anything else as the env's own keyword argument).")
            if key in self.refusals:
                raise ValueError(f"{env_id or self.name} does not take {key}: {self.refusals[key]}")
            if key not in self.settings:
                raise ValueError(f"{env_id or self.name} has no {key} setting; it takes {', '.join(self.settings) or 'none'}.")
            if key == "split" and self.splits and value not in self.splits:
                raise ValueError(f"Unknown split {value!r} for {env_id or self.name}; splits: {', '.join(self.splits)}.")
            if key == "user" and isinstance(value, str):
                self.user_class(value)  # an unknown name fails here, before any env is built
            if key == "rubric":
                self.get_rubric().check_names(value, f"{self.name} rubric criterion(s)")
            target, _, inner = self.settings[key].partition(".")
            if inner:
                out.setdefault(target, {})[inner] = value
            else:
                out[target] = value
        return out

    def make_env(self, env_id: str | None = None, /, **settings: Any) -> Any:
        """`gymnasium.make(env_id, **env_kwargs(settings))`; env_id defaults to the domain's first id."""
        import gymnasium as gym

        env_id = env_id or next(iter(self.env_ids))
        if env_id not in self.env_ids:
            raise ValueError(f"{env_id} is not a {self.name} id; its ids: {', '.join(self.env_ids)}.")
        register_domain_envs(self)
        return gym.make(env_id, **self.env_kwargs(env_id, **settings))

    # ---- parts ----------------------------------------------------------------------------------
    def user_names(self) -> list[str]:
        extra = [n.split("/", 1)[1] for n in registry.names("user") if n.startswith(f"{self.name}/")]
        return sorted(set(self.users) | set(extra))

    def user_class(self, name: str) -> Any:
        """The user class named `name` in this domain (its own table, then `registry` entries '<domain>/<name>')."""
        if name in self.users:
            return _resolve(self.users[name])
        qualified = f"{self.name}/{name}"
        if qualified in registry.names("user"):
            return registry.get("user", qualified)
        raise ValueError(f"Unknown {self.name} user {name!r}; {self.name} users: {', '.join(self.user_names()) or 'none'} "
                         f"(add one with registry.register('user', '{self.name}/<name>', 'module:Class')).")

    def get_rubric(self) -> Any:
        """The domain's reward rubric (`agentgym.rubric.Rubric`): its criteria's names, weights and help."""
        if self.rubric is None:
            raise ValueError(f"Domain {self.name} declares no rubric; give Domain(rubric=Rubric(...)) or 'module:RUBRIC'.")
        return _resolve(self.rubric)

    def demonstration_examples(self, **kwargs: Any) -> list[dict[str, Any]]:
        """SFT examples from the domain's recorded dialogues, in the agent's conversation format."""
        if self.demonstrations is None:
            raise ValueError(f"Domain {self.name} has no demonstrations; train SFT on the store's good episodes instead (from_store=true).")
        return list(_resolve(self.demonstrations)(**kwargs))


# ---- the registry of domains ------------------------------------------------------------------
def register_domain(domain: Domain, *, replace: bool = False) -> Domain:
    """Make a domain known to `registry` (kind 'domain') and to gymnasium (its `env_ids`). Its users stay in
    its own `users` table; users added later are registry entries '<domain>/<name>'."""
    registry.register("domain", domain.name, domain, help=domain.help, replace=replace)
    if domain.rubric is not None:  # its reward: registry.get("reward", name) is the Rubric, .table() its criteria
        registry.register("reward", domain.name, domain.rubric, help=f"{domain.name}'s rubric: named, weighted criteria",
                          replace=replace)
    register_domain_envs(domain)
    return domain


def register_domain_envs(domain: Domain) -> None:
    from gymnasium.envs.registration import register
    from gymnasium.envs.registration import registry as gym_registry

    for env_id, kwargs in domain.env_ids.items():
        if env_id not in gym_registry:
            # Gymnasium's passive checker keeps the first reset's output to compare with the first step; when that
            # first reset raises (an unknown task id), it keeps None and the next step fails inside the checker with a
            # TypeError. Our envs are checked with `check_env` in the tests instead, and stay usable after a bad reset.
            register(id=env_id, entry_point=domain.entry_point, kwargs=dict(kwargs), disable_env_checker=True)


_plugins_loaded: set[str] = set()
_plugins_failed: dict[str, str] = {}  # module -> why it could not be imported (named again when an id is not found)
_entry_point_modules: list[str] | None = None  # read once per process: scanning installed distributions costs ~0.1 s


def load_plugins() -> list[str]:
    """Import the modules that register outside domains: the `agentgym.domains` entry points of installed
    distributions and the modules in $AGENTGYM_PLUGINS. Each is imported once; returns their names. A module
    that cannot be imported is a warning, not an error: `import agentgym` keeps working, and `domain_of`
    names the module when one of its ids is asked for."""
    global _entry_point_modules
    if _entry_point_modules is None:
        from importlib.metadata import entry_points

        _entry_point_modules = [ep.value.split(":")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    names = list(_entry_point_modules)
    names += [n.strip() for n in os.environ.get(PLUGINS_VAR, "").split(",") if n.strip()]
    for module in names:
        if module in _plugins_loaded or module in _plugins_failed:
            continue
        try:
            importlib.import_module(module)
        except Exception as e:  # a broken plugin must not take `import agentgym` (or a kernel's session) down
            _plugins_failed[module] = f"{type(e).__name__}: {e}"
            warnings.warn(f"The agentgym plugin module {module!r} (from ${PLUGINS_VAR} or the {ENTRY_POINT_GROUP!r} entry "
                          f"points) could not be imported ({_plugins_failed[module]}); its domains are not available. "
                          "Install it, fix the name, or remove it from the variable.", stacklevel=2)
            continue
        _plugins_loaded.add(module)
    return names


def domains() -> dict[str, Domain]:
    """Every registered domain by name."""
    return {name: registry.get("domain", name) for name in registry.names("domain")}


def domain_of(env_id: str) -> Domain:
    """The domain that owns a gymnasium id."""
    for d in domains().values():
        if env_id in d.env_ids:
            return d
    load_plugins()
    for d in domains().values():
        if env_id in d.env_ids:
            return d
    ids = sorted(i for d in domains().values() for i in d.env_ids)
    failed = "".join(f" Plugin module {m!r} failed to import ({why})." for m, why in _plugins_failed.items())
    raise ValueError(f"Unknown env {env_id!r}; agentgym's ids: {', '.join(ids)}.{failed}")


def env_ids() -> dict[str, tuple[str, dict[str, Any]]]:
    """gymnasium id -> (entry point, default kwargs), for every registered domain."""
    return {i: (d.entry_point, dict(kw)) for d in domains().values() for i, kw in d.env_ids.items()}


