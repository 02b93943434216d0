"""SFT warm start with TRL's SFTTrainer: SGD dialogues (and good episodes from the store) in the
agent's own conversation format, loss on the assistant's tokens only; every checkpoint becomes an
agent version in the experience store."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from agentgym.train.config import CHATML_WITH_GENERATION, TrainConfig


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


def run_sft(cfg: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train, save `<output_dir>/final`, register it; returns metrics and the version id."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    from agentgym.data import load_sgd
    from agentgym.store import ExperienceStore
    from agentgym.train.policy import load_policy
    from agentgym.train.sft_data import check_examples, sgd_examples, store_examples

    cfg.validate()
    store = ExperienceStore(cfg.store)
    examples = sgd_examples(load_sgd(cfg.data_dir, cfg.split), cfg.max_dialogues)
    if cfg.from_store:
        examples += store_examples(store)
    examples = check_examples(examples)
    data_info = {"sgd": f"{cfg.data_dir or 'embedded'}:{cfg.split}", "examples": len(examples), "from_store": cfg.from_store}
    set_seed(cfg.seed)
    model, tok = load_policy(cfg.model)
    tok.chat_template = CHATML_WITH_GENERATION
    before = {n: p.detach().clone() for n, p in list(model.named_parameters())[:4]}
    parent_id = store.version_id(cfg.agent_name, cfg.parent_version) if cfg.parent_version else None
    callback = version_callback(store, cfg, parent_id, data_info)
    peft_config = None
    if cfg.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")
    args = SFTConfig(
        output_dir=cfg.output_dir, max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, max_length=cfg.max_length, assistant_only_loss=True, packing=False,
        logging_steps=1, save_steps=cfg.save_steps, save_strategy="steps", save_only_model=True, report_to=[], seed=cfg.seed,
        disable_tqdm=not progress, dataset_num_proc=None, use_cpu=not _cuda())
    dataset = Dataset.from_list([{"messages": e["messages"]} for e in examples])
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                         peft_config=peft_config, callbacks=[callback])
    result = trainer.train()
    final = Path(cfg.output_dir) / "final"
    trainer.save_model(str(final))
    tok.save_pretrained(final)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    changed = any(not p.detach().cpu().equal(before[n].cpu()) for n, p in list(trainer.model.named_parameters())[:4] if n in before)
    metrics = {"train_loss": result.training_loss, "first_loss": losses[0] if losses else None,
               "last_loss": losses[-1] if losses else None, "steps": trainer.state.global_step,
               "finite": all(math.isfinite(x) for x in losses), "weights_changed": changed, "examples": len(examples)}
    vid = store.register_agent(cfg.agent_name, cfg.version or f"{cfg.method}-final",
                               {"path": str(final), "train": cfg.to_dict(), "data": data_info, "metrics": metrics},
                               parent=callback.versions[-1] if callback.versions else parent_id, notes=f"{cfg.method} final")
    store.close()
    return {**metrics, "version_id": vid, "path": str(final)}


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False
