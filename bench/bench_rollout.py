"""GRPO rollouts: a group of episodes played together (one batched `generate` per agent turn)
against the same episodes played one at a time, the packaged 135M policy on CPU.

    python bench/bench_rollout.py --episodes 8 --turns 2 --tokens 24 --rounds 3

Prints seconds per round for each way (median of the rounds) and the speed-up.
"""
from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=8)
    p.add_argument("--turns", type=int, default=2)
    p.add_argument("--tokens", type=int, default=24)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    import torch

    from agentgym.train import GRPOConfig
    from agentgym.train.chat import ChatFormat
    from agentgym.train.policy import load_model, load_tokenizer
    from agentgym.train.rollout import Rollouts

    cfg = GRPOConfig(max_turns=args.turns)
    tok = load_tokenizer("smollm2-135m")
    model = load_model("smollm2-135m").eval()
    roll = Rollouts(cfg.make_env, ChatFormat.of(tok), max_turns=args.turns, max_new_tokens=args.tokens, temperature=1.0)
    tasks = cfg.make_env().task_ids[:2]
    starts = [(tasks[i % 2], i) for i in range(args.episodes)]
    roll.play(model, starts[:1])  # warm-up
    batched, serial = [], []
    for r in range(args.rounds):  # interleaved, so drift on a shared machine hits both
        torch.manual_seed(r)
        t = time.perf_counter()
        roll.play(model, starts)
        batched.append(time.perf_counter() - t)
        t = time.perf_counter()
        for s in starts:
            roll.play(model, [s])
        serial.append(time.perf_counter() - t)
    b, s = statistics.median(batched), statistics.median(serial)
    print(f"{args.episodes} episodes x {args.turns} turns x <= {args.tokens} tokens, {torch.get_num_threads()} threads, "
          f"median of {args.rounds} rounds")
    print(f"batched (one generate per turn): {b:.1f} s   one at a time: {s:.1f} s   speed-up {s / b:.2f}x")


if __name__ == "__main__":
    main()
