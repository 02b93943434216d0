"""What SFT and GRPO runs share: loading and checks, device choice, checkpoint registration, the final save."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.train.chat import ChatFormat
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


def snapshot(model: Any, n: int = 4) -> dict[str, Any]:
    """Copies of the first parameters, to tell afterwards whether training moved the weights."""
    return {name: p.detach().clone() for name, p in list(model.named_parameters())[:n]}


def finish_training(trainer: Any, result: Any, run: Run, **metrics: Any) -> dict[str, Any]:
    """Save `<output_dir>/final`, check the run (finite losses, weights changed), register it as
    an agent version (parent: the last checkpoint), close the store; returns the metrics."""
    cfg, store = run.cfg, run.store
    final = Path(cfg.output_dir) / "final"
    trainer.save_model(str(final))
    run.tok.save_pretrained(final)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    changed = any(not p.detach().cpu().equal(run.before[n].cpu()) for n, p in trainer.model.named_parameters() if n in run.before)
    metrics = {"train_loss": result.training_loss, "first_loss": losses[0] if losses else None,
               "last_loss": losses[-1] if losses else None, "steps": trainer.state.global_step,
               "finite": all(math.isfinite(x) for x in losses), "weights_changed": changed, **metrics,
               "unsloth": run.unsloth}
    versions = run.callbacks[0].versions
    vid = store.register_agent(cfg.agent_name, cfg.version or f"{cfg.method}-final",
                               {"path": str(final), "train": cfg.to_dict(), "data": run.data_info, "metrics": metrics},
                               parent=versions[-1] if versions else run.parent_id, notes=f"{cfg.method} final")
    store.close()
    return {**metrics, "version_id": vid, "path": str(final)}


def use_unsloth(cfg: TrainConfig) -> bool:
    """Whether this run goes through Unsloth (asked for, or by default when a GPU and unsloth are there)."""
    from agentgym.train.policy import unsloth_available

    return unsloth_available() if cfg.use_unsloth is None else bool(cfg.use_unsloth)


def import_trainers(cfg: TrainConfig, kind: str) -> tuple[Any, Any]:
    """(Config, Trainer) classes of TRL for `kind` ('sft' or 'grpo'). Unsloth patches TRL and
    transformers when it is imported, so with Unsloth it is imported first, before TRL."""
    if use_unsloth(cfg):
        import unsloth  # noqa: F401
    if kind == "sft":
        from trl import SFTConfig, SFTTrainer

        return SFTConfig, SFTTrainer
    from trl import GRPOConfig, GRPOTrainer

    return GRPOConfig, GRPOTrainer


@dataclass
class Run:
    """What an SFT or GRPO run sets up the same way: starting weights and tokenizer, the parent
    version, a snapshot to tell whether training moved the weights, and the callbacks that register
    checkpoints (first) and forward logs."""

    cfg: TrainConfig
    store: Any
    data_info: dict[str, Any]
    model: Any
    tok: Any
    parent_id: int | None
    unsloth: bool
    before: dict[str, Any]
    callbacks: list[Any]
    fmt: ChatFormat
    started: str

    @property
    def peft_config(self) -> Any:
        return lora_config(self.cfg, self.unsloth)

    def trainer_args(self, progress: bool) -> dict[str, Any]:
        """The TrainingArguments both trainers take alike."""
        cfg = self.cfg
        return dict(output_dir=cfg.output_dir, max_steps=cfg.max_steps, learning_rate=cfg.learning_rate, logging_steps=1,
                    save_steps=cfg.save_steps, save_only_model=True, seed=cfg.seed,
                    gradient_checkpointing=False,  # a 135M model fits; checkpointing only multiplies the CPU time
                    disable_tqdm=not progress, **device_args(), **report_args(cfg))


def start_run(cfg: TrainConfig, store: Any, data_info: dict[str, Any],
              on_log: Callable[[dict[str, Any]], None] | None = None) -> Run:
    """Resolve the starting weights (`from_version` in the store, else `model`), check the chat
    template on the tokenizer alone, then load the model: through Unsloth when asked for (or, by
    default, when a GPU and unsloth are there), plain transformers otherwise."""
    import datetime as dt

    from transformers import set_seed

    from agentgym.train.policy import load_model, load_policy_unsloth, load_tokenizer

    model_name: str = cfg.model
    parent_id = store.version_id(cfg.agent_name, cfg.parent_version) if cfg.parent_version else None
    if cfg.from_version:
        from agentgym.train.checkpoints import checkpoint_path

        model_name = str(checkpoint_path(store, cfg.agent_name, cfg.from_version))
        parent_id = parent_id or store.version_id(cfg.agent_name, cfg.from_version)
    tok = load_tokenizer(model_name)
    fmt = ChatFormat.of(tok, model_name)  # a template this run cannot use is refused before the weights load
    set_seed(cfg.seed)
    unsloth = use_unsloth(cfg)
    if unsloth:
        model, utok = load_policy_unsloth(model_name, max_seq_length=max(cfg.max_length, 2048),
                                          lora_r=cfg.lora_r if cfg.lora else None)
        utok.chat_template = tok.chat_template
        tok = utok
        fmt = ChatFormat.of(tok, model_name)  # Unsloth's own tokenizer object
    else:
        model = load_model(model_name)
    callbacks = [version_callback(store, cfg, parent_id, data_info)] + ([metric_callback(on_log)] if on_log else [])
    return Run(cfg, store, data_info, model, tok, parent_id, unsloth, snapshot(model), callbacks, fmt,
               dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S"))


def lora_config(cfg: TrainConfig, unsloth_used: bool) -> Any:
    """PEFT LoRA for the plain path (Unsloth has already added its own adapters)."""
    if not cfg.lora or unsloth_used:
        return None
    from peft import LoraConfig

    return LoraConfig(r=cfg.lora_r, lora_alpha=2 * cfg.lora_r, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                      task_type="CAUSAL_LM")


def metric_callback(on_log: Any) -> Any:
    """A TrainerCallback that hands every log dict (loss, reward, per-component rewards) to `on_log`,
    e.g. a live plotly curve in a notebook (`agentgym.train.LiveCurve`)."""
    from transformers import TrainerCallback

    class ForwardLogs(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any) -> None:
            if logs:
                on_log({"step": state.global_step, **logs})

    return ForwardLogs()


def report_args(cfg: TrainConfig) -> dict[str, Any]:
    """Where TRL's logs go besides our callbacks: nowhere, TensorBoard or trackio (both offline),
    under `<output_dir>/logs`."""
    if cfg.report_to == "none":
        return {"report_to": []}
    import importlib.util

    package = {"tensorboard": "tensorboard", "trackio": "trackio"}[cfg.report_to]
    if importlib.util.find_spec(package) is None:
        raise ValueError(f"report_to={cfg.report_to!r} needs the {package} package: pip install {package} (or report_to='none').")
    import os

    os.environ.setdefault("TRACKIO_DIR", str(Path(cfg.output_dir) / "logs"))
    return {"report_to": [cfg.report_to], "logging_dir": str(Path(cfg.output_dir) / "logs")}


def device_args() -> dict[str, Any]:
    """Trainer arguments that depend on the hardware. TRL turns bf16 on by default; on a CPU
    without bf16 units that makes a step ~12x slower (bench/bench_train_step.py: 132.5 vs 10.8
    s/step for 768 tokens of the 135M model), so bf16 only where a GPU supports it."""
    from agentgym.train.policy import cuda_available

    cuda = cuda_available()
    bf16 = False
    if cuda:
        import torch

        bf16 = bool(torch.cuda.is_bf16_supported())
    return {"use_cpu": not cuda, "bf16": bf16, "fp16": False}
