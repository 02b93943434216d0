"""SFT -> GRPO on CPU, longer than the tests: held-out reward and success before and after each
stage, with 95% intervals over tasks (the same tasks and seeds at every evaluation).

    python bench/bench_grpo.py                          # ~25 min on 2 cores
    python bench/bench_grpo.py --sft-steps 10 --grpo-steps 6 --eval-tasks 6   # a quick look
    python bench/bench_grpo.py --reward names_the_service   # the learning test's reward, longer
    python bench/bench_grpo.py --sft-steps 0 --reward names_the_service --sabotage mask   # must NOT learn

`--sabotage mask` inverts the loss mask (trains on the env's tokens, not the agent's): the
learning must disappear, which is what shows the learning test can fail.

Rewards: `rule` (the env's rubric total, what the product optimizes) or `names_the_service` (the
learnable signal tests/test_grpo_learning.py checks). Prints one JSON line per evaluation and a table.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time


def sabotage(kind: str) -> None:
    """Break GRPO on purpose (see the module docstring)."""
    if kind == "mask":
        from agentgym.train import rollout

        add = rollout.Episode.add

        def inverted(self, ids, mask, logps=None):  # noqa: ANN001, ANN202
            add(self, ids, 1 - mask, logps)

        rollout.Episode.add = inverted


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sft-steps", type=int, default=40)
    p.add_argument("--grpo-steps", type=int, default=20)
    p.add_argument("--tasks", type=int, default=24, help="training tasks (GRPO) / dialogues (SFT)")
    p.add_argument("--eval-tasks", type=int, default=12)
    p.add_argument("--eval-samples", type=int, default=2)
    p.add_argument("--group-size", type=int, default=4)
    p.add_argument("--tasks-per-step", type=int, default=2)
    p.add_argument("--max-turns", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--reward", choices=["rule", "names_the_service"], default="rule")
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sabotage", choices=["none", "mask"], default="none")
    args = p.parse_args()
    sabotage(args.sabotage)

    from agentgym.train import GRPOConfig, SFTConfig, train
    from agentgym.train.rewards import names_the_service

    root = tempfile.mkdtemp(prefix="bench-grpo-")
    store = f"{root}/store"
    start = time.perf_counter()
    rows = []
    from_version = None
    if args.sft_steps:
        sft = train(SFTConfig(output_dir=f"{root}/sft", store=store, max_steps=args.sft_steps, batch_size=2,
                                max_length=768, max_dialogues=args.tasks, save_steps=10_000, learning_rate=3e-4,
                                version="sft", seed=args.seed), progress=True)
        rows.append({"stage": "sft", "loss_first": sft["first_loss"], "loss_last": sft["last_loss"],
                     "s": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
        from_version = "sft"
    extra = [names_the_service] if args.reward == "names_the_service" else None
    cfg = GRPOConfig(output_dir=f"{root}/grpo", store=store, from_version=from_version, version="grpo",
                      max_steps=args.grpo_steps, group_size=args.group_size, tasks_per_step=args.tasks_per_step,
                      max_turns=args.max_turns, max_new_tokens=args.max_new_tokens, max_dialogues=args.tasks,
                      eval_tasks=args.eval_tasks, eval_samples=args.eval_samples, eval_every=max(1, args.grpo_steps // 4),
                      save_steps=10_000, learning_rate=args.lr, seed=args.seed,
                      rewards={"rule": 0.0 if extra else 1.0})
    grpo = train(cfg, progress=True, reward_funcs=extra)
    for e in grpo["evals"]:
        rows.append({"stage": "grpo-eval", **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in e.items() if k != "per_task"}})
        print(json.dumps(rows[-1]), flush=True)
    first, last = grpo["evals"][0], grpo["evals"][-1]
    diffs = [last["per_task"][t] - first["per_task"][t] for t in first["per_task"]]
    from agentgym.experiments.stats import paired_t

    ci = paired_t(diffs)
    print(f"\nheld-out reward ({args.reward}) step 0: {first['eval_reward']:.3f} [{first['eval_ci_low']:.3f}, {first['eval_ci_high']:.3f}]"
          f"  ->  step {last['step']}: {last['eval_reward']:.3f} [{last['eval_ci_low']:.3f}, {last['eval_ci_high']:.3f}]")
    print(f"paired difference over {len(diffs)} tasks: {ci}")
    print(f"held-out success: {first['eval_success']:.3f} -> {last['eval_success']:.3f}   "
          f"({first['eval_episodes']} episodes each; total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
