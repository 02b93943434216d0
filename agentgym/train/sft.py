"""SFT warm start with TRL's SFTTrainer: SGD dialogues (and good episodes from the store) in the
agent's own conversation format, loss on the assistant's tokens only; every checkpoint becomes an
agent version in the experience store."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentgym.train.common import finish_training, import_trainers, start_run
from agentgym.train.config import SFTConfig


def run_sft(cfg: SFTConfig, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None,
            examples: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Train, save `<output_dir>/final`, register it; returns metrics and the version id.

    `examples` (e.g. reviewed in `SFTReview`): train on these instead of the configured sources."""
    from agentgym.store import ExperienceStore
    from agentgym.train.sft_data import check_examples, configured_examples

    cfg.validate()
    store = ExperienceStore(cfg.store, create=True)
    examples = check_examples(examples if examples is not None else configured_examples(cfg, store))
    TRLConfig, SFTTrainer = import_trainers(cfg, "sft")
    from datasets import Dataset

    data_info = {"env": cfg.env_id, "data": f"{cfg.data_dir or 'packaged'}:{cfg.split}", "examples": len(examples),
                 "from_store": cfg.from_store}
    run = start_run(cfg, store, data_info, on_log)
    rows = [run.fmt.assistant_mask(e["messages"]) for e in examples]  # the template's own text, masked to the agent's turns
    rows = [{k: v[: cfg.max_length] for k, v in r.items()} for r in rows]
    rows = [r for r in rows if 1 in r["assistant_masks"]]
    if not rows:
        raise ValueError(f"max_length={cfg.max_length} truncates every example before its first assistant turn "
                         "(the system prompt with the tool list alone is ~200 tokens); raise max_length.")
    args = TRLConfig(per_device_train_batch_size=cfg.batch_size, max_length=cfg.max_length, packing=False,
                     save_strategy="steps", dataset_num_proc=None, **run.trainer_args(progress))
    trainer = SFTTrainer(model=run.model, args=args, train_dataset=Dataset.from_list(rows), processing_class=run.tok,
                         peft_config=run.peft_config, callbacks=run.callbacks)
    result = trainer.train()
    return finish_training(trainer, result, run, examples=len(rows))
