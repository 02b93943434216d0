"""Play arms (agent versions) on shared tasks and seeds, serially, on a local process pool, or on Ray.

The unit of work is one arm on a slice of tasks (`Unit`), a plain picklable record: a worker builds
the env and the agent itself, plays every (task, trial) of its slice under the seeds the plan gave
it, optionally records the episodes in a store (one transaction per episode), and returns one row
per episode. The same plan gives the same rows on one core, a pool or a cluster.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from agentgym.runner import episode_seed


@dataclass(frozen=True)
class AgentSpec:
    """`name` (a registry agent), `name:key=value,...` (with arguments), `module:Class[:key=value,...]` (your own,
    `agentgym.agents.make`), or `agent@version` (a stored version)."""

    text: str
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    cls: Any = None

    @classmethod
    def parse(cls, text: str, agent_class: Any = None) -> AgentSpec:
        """Every part checked here, before any worker starts. `agent_class`: the class the parent resolved (a worker
        does not see a registration made in the parent process), so only the arguments are read from the text."""
        from agentgym.agents.make import parse_agent_arguments, resolve_agent

        text = str(text).strip()
        if "@" in text:
            name, version = text.split("@", 1)
            if not name or not version:
                raise ValueError(f"A stored version is written agent@version (e.g. smollm2-policy@grpo), got {text!r}.")
            return cls(text, name, {}, version)
        if agent_class is not None:
            name, _, rest = text.partition(":")
            return cls(text, name, parse_agent_arguments(rest, text), None, agent_class)
        label, agent_cls, kwargs = resolve_agent(text)
        return cls(text, label, kwargs, None, agent_cls)

    def portable_class(self) -> Any:
        """The class a fresh worker process cannot find from the text alone (registered in this process as an
        object, not an import path), else None; refused when no worker could import it (defined in a notebook)."""
        from agentgym.registry import registry

        if self.version is not None or self.cls is None or self.name not in registry.names("agent"):
            return None
        if isinstance(registry.entry("agent", self.name).target, str):
            return None
        return self.cls

    def build(self, store: str | None) -> Any:
        if self.version is not None:
            if store is None:
                raise ValueError(f"{self.text} is a stored version: say which store holds it (store=... / --store).")
            from agentgym.train.versions import load_version

            return load_version(store, self.name, self.version)
        from agentgym.agents.make import build_agent

        return build_agent(self.name, self.cls, self.kwargs)


@dataclass(frozen=True)
class Unit:
    """One arm on a slice of tasks: everything a worker needs, nothing it must share."""

    arm: str                      # the label results are grouped by ("A", "B", "baseline", ...)
    agent: str                    # AgentSpec text
    env_id: str
    env_kwargs: dict[str, Any]
    jobs: tuple[tuple[str, int, int], ...]  # (task_id, trial, seed)
    store: str | None = None
    run_id: str = ""
    version_id: int | None = None
    agent_class: Any = None       # the agent's class when a worker cannot find it by the text (AgentSpec.portable_class)


def agent_seed(arm_agent: str, episode_seed: int) -> int:
    """The agent's own random stream per episode: fixed by the agent and the episode seed (not by the
    worker or the slice), independent between different agents under the same episode seed."""
    return (zlib.crc32(arm_agent.encode()) * 1_000_003 + episode_seed) % (2**32)


def play_unit(unit: Unit) -> list[dict[str, Any]]:
    """Play a unit; one row per episode (arm, task, trial, seed, success, reward, turns, services, episode id)."""
    import gymnasium as gym

    from agentgym.registration import register_envs
    from agentgym.runner import play_episode

    register_envs()
    env = gym.make(unit.env_id, **unit.env_kwargs)
    store = None
    if unit.store is not None:
        from agentgym.store import ExperienceStore, RecordEpisodes

        store = ExperienceStore(unit.store)
        # a transaction per 16 episodes: a killed worker loses at most its last 16 finished episodes (bench_compare.py)
        env = RecordEpisodes(env, store, agent_version_id=unit.version_id, flush="episode", batch=16,
                             meta={"compare": unit.run_id, "arm": unit.arm, "agent": unit.agent})
    agent = AgentSpec.parse(unit.agent, unit.agent_class).build(unit.store)
    rows = []
    try:
        for task_id, trial, seed in unit.jobs:
            if hasattr(agent, "rng"):
                import numpy as np

                agent.rng = np.random.default_rng(agent_seed(unit.agent, seed))
            ep = play_episode(env, agent, seed, task_id)
            services = _services(env.unwrapped)
            rows.append({"arm": unit.arm, "agent": unit.agent, "task_id": ep.task_id, "trial": trial, "seed": seed,
                         "success": float(ep.success), "reward": float(ep.total_reward), "turns": ep.turns,
                         "services": ",".join(services), "episode_id": None})
    finally:
        env.close()  # writes the episodes still pending
        if store is not None:
            store.close()
    for row, eid in zip(rows, getattr(env, "written_ids", []), strict=False):
        row["episode_id"] = eid
    return rows


def _services(base: Any) -> list[str]:
    """What a breakdown groups by: the SGD task's services, or the tau2 domain."""
    task = getattr(base, "task", None)
    if task is not None and getattr(task, "services", None):
        return sorted(task.services)
    return [str(getattr(base, "domain", "") or "")]


def run_units(units: list[Unit], *, workers: int = 1, ray: bool | None = None, progress: bool = True,
              on_rows: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Every unit's rows, in plan order. `ray=None` uses Ray when RAY_ADDRESS is set; `workers` > 1 a
    local process pool. `on_rows` sees each unit's rows as it finishes (to keep them if the run dies)."""
    use_ray = bool(os.environ.get("RAY_ADDRESS")) if ray is None else ray
    results: dict[int, list[dict[str, Any]]] = {}
    bar = tqdm(total=sum(len(u.jobs) for u in units), desc="episodes", disable=not progress)
    try:
        for i, rows in _execute(units, workers, use_ray):
            results[i] = rows
            if on_rows is not None:
                on_rows(rows)
            bar.update(len(rows))
    finally:
        bar.close()
    return [row for i in range(len(units)) for row in results[i]]


def _execute(units: list[Unit], workers: int, use_ray: bool) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    if use_ray:
        yield from _on_ray(units)
    elif workers <= 1:
        for i, u in enumerate(units):
            yield i, play_unit(u)
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        _check_importable(units)

        # spawn: workers start clean (no inherited llama.cpp / torch threads); they load the corpus from the signed cache
        # workers ignore Ctrl-C: the parent alone answers it (one line, what was kept), then stops them
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_ignore_sigint)
        try:
            futures = {pool.submit(play_unit, u): i for i, u in enumerate(units)}
            for f in as_completed(futures):
                yield futures[f], f.result()
        except BaseException:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


def _check_importable(units: list[Unit]) -> None:
    """A class a spawned worker cannot import is refused before any starts: one defined in a notebook or an
    interactive session (its `__main__` has no file to re-import). A script's `__main__` works under the
    `if __name__ == "__main__":` guard, which spawned workers need anyway."""
    import sys

    for unit in units:
        cls = unit.agent_class
        if cls is not None and cls.__module__ == "__main__" and not getattr(sys.modules["__main__"], "__file__", None):
            raise ValueError(f"Agent {unit.agent!r} ({cls.__qualname__}) is defined in this notebook or session, which "
                             f"worker processes cannot import: move the class into a module (e.g. my_agents.py beside "
                             f"the notebook) and register 'my_agents:{cls.__qualname__}', or play with workers=1 "
                             "(Ray ships it by value: ray=True works as it is).")


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ClusterLost(RuntimeError):
    """The Ray cluster went away mid-run; `done` holds the rows finished before it did."""

    def __init__(self, message: str, done: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.done = done


def _on_ray(units: list[Unit]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    try:
        import ray
    except ImportError:
        raise ImportError("Ray is not installed: pip install 'agentgym-workbench[ray]', or run without --ray for a local pool") from None
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    remote = ray.remote(play_unit)
    pending = {remote.remote(u): i for i, u in enumerate(units)}
    done: list[dict[str, Any]] = []
    while pending:
        try:
            ready, _ = ray.wait(list(pending), num_returns=1)
            rows = ray.get(ready[0])
        except ray.exceptions.RayTaskError as e:  # the unit itself failed: its own error, not the cluster's
            raise e.as_instanceof_cause() from None
        except Exception as e:  # noqa: BLE001 - the cluster went away: lost workers, lost objects, a dead head, a shutdown
            raise ClusterLost(f"The Ray cluster stopped answering after {len(done)} episodes "
                              f"({len(units) - len(pending)} of {len(units)} units): {type(e).__name__}: {str(e)[:200]}. "
                              "The finished episodes are kept; rerun to finish the rest.", done) from None
        i = pending.pop(ready[0])
        done.extend(rows)
        yield i, rows


def plan(arms: dict[str, str], task_ids: list[str], *, trials: int, seed: int, env_id: str, env_kwargs: dict[str, Any],
         chunks: int, store: str | None = None, run_id: str = "", version_ids: dict[str, int | None] | None = None) -> list[Unit]:
    """The units of a comparison: every arm on every task and trial, with seeds shared across arms."""
    jobs = [(t, k, episode_seed(seed, i, k, trials)) for i, t in enumerate(task_ids) for k in range(trials)]
    size = max(1, -(-len(jobs) // max(1, chunks)))
    classes = {arm: AgentSpec.parse(agent).portable_class() for arm, agent in arms.items()}
    return [Unit(arm, agent, env_id, dict(env_kwargs), tuple(jobs[j:j + size]), store, run_id,
                 (version_ids or {}).get(arm), classes[arm])
            for arm, agent in arms.items() for j in range(0, len(jobs), size)]
