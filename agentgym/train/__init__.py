"""Training: SFT warm start and multi-turn GRPO on the env, model versions in the store.

Imports of torch/transformers/trl happen inside the functions, so `import agentgym.train` is cheap
and works without the `train` extra (the config can be checked anywhere)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentgym.train.checkpoints import checkpoint_path
from agentgym.train.config import GRPOConfig, SFTConfig, TrainConfig
from agentgym.train.live import LiveCurve
from agentgym.train.review import SFTReview
from agentgym.train.versions import evaluate_version, load_version, register_base


def train(cfg: TrainConfig, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None,
          reward_funcs: list[Callable[..., list[float]]] | None = None) -> dict[str, Any]:
    """Run the config's method (`SFTConfig` or `GRPOConfig`; the run validates the config first); returns the final
    metrics and the registered version id.

    `on_log` gets every log row (e.g. a `LiveCurve`); `reward_funcs` (GRPO only) are extra TRL-style
    reward functions added to the env reward."""
    if reward_funcs and not isinstance(cfg, GRPOConfig):
        raise ValueError("reward_funcs are GRPO rewards; SFT has no reward. Use a GRPOConfig or drop them.")
    if isinstance(cfg, SFTConfig):
        from agentgym.train.sft import run_sft

        return run_sft(cfg, progress=progress, on_log=on_log)
    if not isinstance(cfg, GRPOConfig):
        raise TypeError(f"train() takes an SFTConfig or a GRPOConfig, got {type(cfg).__name__}.")
    from agentgym.train.grpo import run_grpo

    return run_grpo(cfg, progress=progress, on_log=on_log, reward_funcs=reward_funcs)


__all__ = ["GRPOConfig", "LiveCurve", "SFTConfig", "SFTReview", "TrainConfig", "checkpoint_path", "evaluate_version", "load_version", "register_base", "train"]
