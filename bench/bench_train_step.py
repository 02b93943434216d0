"""Seconds per SFT step of the default policy on this machine, with TRL's default precision on a
CPU (bf16, TRL's default) next to what agentgym uses there (fp32). Explains `device_args()`.

    python bench/bench_train_step.py [--steps 2] [--max-length 768]
"""
from __future__ import annotations

import argparse
import tempfile
import time


def time_steps(bf16: bool, steps: int, max_length: int) -> float:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from agentgym.domains.sgd import load_sgd
    from agentgym.domains.sgd.demonstrations import sgd_examples
    from agentgym.train.chat import ChatFormat
    from agentgym.train.policy import load_policy

    model, tok = load_policy()
    fmt = ChatFormat.of(tok, "smollm2-135m")
    data = Dataset.from_list([fmt.assistant_mask(e["messages"]) for e in sgd_examples(load_sgd(None, "train"), 8)])
    args = SFTConfig(output_dir=tempfile.mkdtemp(), max_steps=steps + 1, per_device_train_batch_size=1,
                     max_length=max_length, logging_steps=1, save_strategy="no",
                     report_to=[], use_cpu=True, bf16=bf16, fp16=False, gradient_checkpointing=False, disable_tqdm=True)
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
    marks: list[float] = []

    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_step_end(self, *a, **k):  # noqa: ANN002, ANN003
            marks.append(time.perf_counter())

    trainer.add_callback(Clock())
    trainer.train()
    return (marks[-1] - marks[0]) / (len(marks) - 1)  # the first step (warm-up) is left out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=768)
    a = ap.parse_args()
    fp32 = time_steps(False, a.steps, a.max_length)
    bf16 = time_steps(True, a.steps, a.max_length)
    print(f"SFT step, SmolLM2-135M, batch 1, max_length {a.max_length}, CPU:")
    print(f"  fp32 (agentgym on CPU)   {fp32:7.1f} s/step")
    print(f"  bf16 (TRL's default)     {bf16:7.1f} s/step   -> {bf16 / fp32:.1f}x slower")


if __name__ == "__main__":
    main()
