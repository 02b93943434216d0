"""What SFT and GRPO runs share: device choice, checkpoint registration, the final save."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from agentgym.train.config import TrainConfig


def version_callback(store: Any, cfg: TrainConfig, parent_id: int | None, data_info: dict[str, Any]) -> Any:
    """A TrainerCallback that registers every saved checkpoint as an agent version."""
    from transformers import TrainerCallback

    class RegisterCheckpoints(TrainerCallback):
        def __init__(self) -> None:
            self.versions: list[int] = []

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            losses = [h["loss"] for h in state.log_history if "loss" in h]
            vid = store.register_agent(
                cfg.agent_name, f"{cfg.version or cfg.method}-step{state.global_step}",
                {"path": str(ckpt), "train": cfg.to_dict(), "data": data_info,
                 "metrics": {"step": state.global_step, "loss": losses[-1] if losses else None}},
                parent=self.versions[-1] if self.versions else parent_id, notes=f"{cfg.method} checkpoint")
            self.versions.append(vid)

    return RegisterCheckpoints()


def cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def snapshot(model: Any, n: int = 4) -> dict[str, Any]:
    """Copies of the first parameters, to tell afterwards whether training moved the weights."""
    return {name: p.detach().clone() for name, p in list(model.named_parameters())[:n]}


def finish_training(trainer: Any, result: Any, tok: Any, cfg: TrainConfig, store: Any, before: dict[str, Any],
                    callback: Any, parent_id: int | None, data_info: dict[str, Any], **metrics: Any) -> dict[str, Any]:
    """Save `<output_dir>/final`, check the run (finite losses, weights changed), register it as
    an agent version (parent: the last checkpoint), close the store; returns the metrics."""
    final = Path(cfg.output_dir) / "final"
    trainer.save_model(str(final))
    tok.save_pretrained(final)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    changed = any(not p.detach().cpu().equal(before[n].cpu()) for n, p in trainer.model.named_parameters() if n in before)
    metrics = {"train_loss": result.training_loss, "first_loss": losses[0] if losses else None,
               "last_loss": losses[-1] if losses else None, "steps": trainer.state.global_step,
               "finite": all(math.isfinite(x) for x in losses), "weights_changed": changed, **metrics}
    vid = store.register_agent(cfg.agent_name, cfg.version or f"{cfg.method}-final",
                               {"path": str(final), "train": cfg.to_dict(), "data": data_info, "metrics": metrics},
                               parent=callback.versions[-1] if callback.versions else parent_id, notes=f"{cfg.method} final")
    store.close()
    return {**metrics, "version_id": vid, "path": str(final)}
