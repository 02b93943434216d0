"""SFT warm start with TRL's SFTTrainer: SGD dialogues (and good episodes from the store) in the
agent's own conversation format, loss on the assistant's tokens only; every checkpoint becomes an
agent version in the experience store."""
from __future__ import annotations

from typing import Any, Callable

from agentgym.train.common import device_args, finish_training, lora_config, metric_callback, snapshot, start_run, version_callback
from agentgym.train.config import TrainConfig


def run_sft(cfg: TrainConfig, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train, save `<output_dir>/final`, register it; returns metrics and the version id."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    from agentgym.data import load_sgd
    from agentgym.store import ExperienceStore
    from agentgym.train.sft_data import check_examples, sgd_examples, store_examples

    cfg.validate()
    store = ExperienceStore(cfg.store)
    examples = sgd_examples(load_sgd(cfg.data_dir, cfg.split), cfg.max_dialogues)
    if cfg.from_store:
        examples += store_examples(store)
    examples = check_examples(examples)
    data_info = {"sgd": f"{cfg.data_dir or 'embedded'}:{cfg.split}", "examples": len(examples), "from_store": cfg.from_store}
    set_seed(cfg.seed)
    model, tok, parent_id, unsloth = start_run(cfg, store)
    before = snapshot(model)
    callback = version_callback(store, cfg, parent_id, data_info)
    args = SFTConfig(
        output_dir=cfg.output_dir, max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate, max_length=cfg.max_length, assistant_only_loss=True, packing=False,
        logging_steps=1, save_steps=cfg.save_steps, save_strategy="steps", save_only_model=True, report_to=[], seed=cfg.seed,
        gradient_checkpointing=False,  # a 135M model fits; checkpointing only multiplies the CPU time
        disable_tqdm=not progress, dataset_num_proc=None, **device_args())
    dataset = Dataset.from_list([{"messages": e["messages"]} for e in examples])
    callbacks = [callback] + ([metric_callback(on_log)] if on_log else [])
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tok,
                         peft_config=lora_config(cfg, unsloth), callbacks=callbacks)
    if len(trainer.train_dataset) == 0:
        raise ValueError(f"max_length={cfg.max_length} truncates every example before its first assistant turn "
                         "(the system prompt with the tool list alone is ~200 tokens); raise max_length.")
    result = trainer.train()
    return finish_training(trainer, result, tok, cfg, store, before, callback, parent_id, data_info,
                           examples=len(examples), unsloth=unsloth)
