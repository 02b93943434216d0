"""Traffic splitting for agents in use: serve each input from one of several versions by weight,
sticky per session, and record which version served it — so `compare_stored` can judge the
versions on live feedback and ratings the same way `compare` judges them on simulated tasks.

    router = Router(store, {"v1": (bot_v1, vid1), "v2": (bot_v2, vid2)}, weights={"v1": 0.9, "v2": 0.1})
    output, episode_id, version = router(user_input, session_id="user-42")
    store.rate(episode_id, 1)                      # feedback lands on the version that answered
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

from agentgym.safeio import check_bool, check_id, finite_number
from agentgym.store import ExperienceStore


class Router:
    """Weighted, sticky assignment of sessions to versions (a hash of salt and session id, so the same
    session meets the same version in every process and after a restart)."""

    def __init__(self, store: ExperienceStore, versions: dict[str, tuple[Callable[..., Any], int | None]], *,
                 weights: dict[str, float] | None = None, normalize: bool = False, salt: str = "agentgym",
                 env_id: str = "live") -> None:
        """`weights` are shares that sum to 1 (None: an even split); with `normalize=True` any positive
        weights are scaled to shares. An empty or all-zero split is refused either way."""
        if not isinstance(versions, dict) or not versions:
            raise ValueError("A router needs at least one version: {'name': (agent_fn, agent_version_id)}.")
        check_bool("normalize", normalize)
        if weights is None:
            weights = {name: 1.0 / len(versions) for name in versions}
        if not isinstance(weights, dict) or not weights:
            raise ValueError(f"weights must be a non-empty dict {{version: share}} (or None for an even split), got {weights!r}.")
        unknown = set(weights) - set(versions)
        if unknown:
            raise ValueError(f"Weights for unknown version(s) {sorted(map(str, unknown))}; versions are {sorted(versions)}.")
        for name, w in weights.items():
            finite_number(f"the weight of {name!r}", w, low=0.0, high=1.0 if not normalize else 1e12)
            if 0 < w < 1e-9:
                raise ValueError(f"the weight of {name!r} is {w!r}: too small to route anything; use 0 or a share of at least 1e-9.")
        total = math.fsum(weights.values())
        if total <= 0:
            raise ValueError(f"Weights must not all be 0 (nothing would be served), got {weights}.")
        if not normalize and abs(total - 1.0) > 1e-6:
            raise ValueError(f"Weights are shares and must sum to 1, got {total:g} ({weights}); pass normalize=True to scale them.")
        self.store, self.versions, self.salt, self.env_id = store, dict(versions), salt, env_id
        self.weights = {name: weights.get(name, 0.0) / total for name in versions}

    def choose(self, session_id: str) -> str:
        """The version a session is served by (deterministic in salt, session id and weights)."""
        h = hashlib.sha256(f"{self.salt}:{session_id}".encode()).digest()
        u = int.from_bytes(h[:8], "big") / 2**64
        acc = 0.0
        for name, w in self.weights.items():
            acc += w
            if u < acc:
                return name
        return next(name for name, w in reversed(self.weights.items()) if w > 0)

    def __call__(self, input: Any, context: Any = None, *, session_id: str, task_id: str | None = None) -> tuple[Any, str, str]:
        """Serve one input; returns (output, episode_id, version name). The episode records the session and version."""
        check_id("session_id", session_id)
        name = self.choose(session_id)
        agent, version_id = self.versions[name]
        output, episode_id = self.store.execute_with_feedback(
            agent, input, context, agent_version_id=version_id, env_id=self.env_id, task_id=task_id,
            meta={"session_id": str(session_id), "routed_to": name, "weights": self.weights})
        return output, episode_id, name
