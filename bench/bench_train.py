"""Does training make the policy better? SFT then multi-turn GRPO on the SGD sample, with task
success and reward components on held-out dev tasks before and after each phase, plus the speed
of each phase. Longer than CI allows (tens of minutes on 2 CPU cores); every knob is a flag.

    python bench/bench_train.py                       # embedded sample, CPU defaults
    python bench/bench_train.py --sft-steps 200 --grpo-steps 30 --eval-tasks 40   # a GPU run
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from agentgym.train import GRPOConfig, SFTConfig, evaluate_version, load_version, register_base, train

AGENT = "smollm2-policy"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=None, help="SGD-format folder (default: the embedded sample)")
    ap.add_argument("--out", default="runs/bench_train")
    ap.add_argument("--sft-steps", type=int, default=40)
    ap.add_argument("--sft-lr", type=float, default=2e-4)
    ap.add_argument("--grpo-steps", type=int, default=8)
    ap.add_argument("--grpo-lr", type=float, default=2e-5)
    ap.add_argument("--group-size", type=int, default=4)
    ap.add_argument("--max-turns", type=int, default=4, help="agent turns per GRPO episode")
    ap.add_argument("--eval-tasks", type=int, default=10, help="held-out dev tasks per evaluation")
    ap.add_argument("--eval-turns", type=int, default=6)
    ap.add_argument("--eval-tokens", type=int, default=64, help="max new tokens per agent turn when evaluating")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--lora", action="store_true")
    ap.add_argument("--use-unsloth", default=None, choices=["true", "false"], help="default: when a GPU and unsloth are there")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = Path(args.out)
    store = str(out / "store")
    unsloth = None if args.use_unsloth is None else args.use_unsloth == "true"
    common = dict(store=store, agent_name=AGENT, data_dir=args.data_dir, lora=args.lora, use_unsloth=unsloth)
    rows = []

    def evaluate(version: str, phase: str, seconds: float | None = None, extra: dict | None = None) -> None:
        t = time.perf_counter()
        player = load_version(store, AGENT, version, max_new_tokens=args.eval_tokens)
        m = evaluate_version(store, AGENT, version, data_dir=args.data_dir, split="dev", tasks=args.eval_tasks,
                             max_turns=args.eval_turns, progress=True, agent_obj=player)
        rows.append({"phase": phase, "train_s": seconds, "eval_s": round(time.perf_counter() - t, 1),
                     **{k: m[k] for k in m if k not in ("agent", "version_id", "split")}, **(extra or {})})
        print(pd.DataFrame(rows).to_string(), flush=True)

    register_base(store, AGENT)
    evaluate("base", "base")
    t = time.perf_counter()
    sft = train(SFTConfig(output_dir=str(out / "sft"), version="sft", parent_version="base",
                            max_steps=args.sft_steps, learning_rate=args.sft_lr, batch_size=2, max_length=1024,
                            max_dialogues=None, save_steps=max(args.sft_steps // 2, 1), **common))
    evaluate("sft", "after SFT", round(time.perf_counter() - t, 1),
             {"first_loss": sft["first_loss"], "last_loss": sft["last_loss"]})
    t = time.perf_counter()
    grpo = train(GRPOConfig(output_dir=str(out / "grpo"), version="grpo", from_version="sft",
                             max_steps=args.grpo_steps, learning_rate=args.grpo_lr, group_size=args.group_size,
                             max_turns=args.max_turns, max_new_tokens=48, max_length=1024, max_dialogues=None,
                             save_steps=max(args.grpo_steps // 2, 1), split="train", **common))
    evaluate("grpo", "after GRPO", round(time.perf_counter() - t, 1),
             {"reward_first": grpo["rewards"][0] if grpo["rewards"] else None,
              "reward_last": grpo["rewards"][-1] if grpo["rewards"] else None})
    table = pd.DataFrame(rows)
    print(table.to_string())
    (out / "results.json").write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
