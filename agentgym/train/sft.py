"""SFT warm start with TRL's SFTTrainer: SGD dialogues (and good episodes from the store) in the
agent's own conversation format, loss on the assistant's tokens only; every checkpoint becomes an
agent version in the experience store."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentgym.train.common import finish_training, start_run
from agentgym.train.config import TrainConfig


def run_sft(cfg: TrainConfig, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train, save `<output_dir>/final`, register it; returns metrics and the version id."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from agentgym.data import load_sgd
    from agentgym.store import ExperienceStore
    from agentgym.train.sft_data import check_examples, sgd_examples, store_examples

    cfg.validate()
    store = ExperienceStore(cfg.store, create=True)
    examples = sgd_examples(load_sgd(cfg.data_dir, cfg.split), cfg.max_dialogues)
    if cfg.from_store:
        examples += store_examples(store)
    examples = check_examples(examples)
    data_info = {"sgd": f"{cfg.data_dir or 'embedded'}:{cfg.split}", "examples": len(examples), "from_store": cfg.from_store}
    run = start_run(cfg, store, data_info, on_log)
    args = SFTConfig(per_device_train_batch_size=cfg.batch_size, max_length=cfg.max_length, assistant_only_loss=True,
                     packing=False, save_strategy="steps", dataset_num_proc=None, **run.trainer_args(progress))
    dataset = Dataset.from_list([{"messages": e["messages"]} for e in examples])
    trainer = SFTTrainer(model=run.model, args=args, train_dataset=dataset, processing_class=run.tok,
                         peft_config=run.peft_config, callbacks=run.callbacks)
    if len(trainer.train_dataset) == 0:
        raise ValueError(f"max_length={cfg.max_length} truncates every example before its first assistant turn "
                         "(the system prompt with the tool list alone is ~200 tokens); raise max_length.")
    result = trainer.train()
    return finish_training(trainer, result, run, examples=len(examples))
