"""Unsloth vs plain TRL on one GPU, the same GRPO config: tokens/s, peak memory, the reward curve.

Runs only where CUDA is present (the `device` tool's machines); never in the tests.

    pip install -e ".[gpu]"            # unsloth, and the TRL/transformers versions it supports
    python bench/bench_gpu.py --steps 20 --group-size 8 --tasks-per-step 4

Each backend runs in its own process: Unsloth patches TRL and transformers at import, so the plain
run must never share a process with it. Prints one JSON line per backend and a comparison table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time


def one(backend: str, args: argparse.Namespace) -> dict:
    """Train in this process with `backend` ('unsloth' or 'trl'), return the numbers."""
    import torch

    if backend == "unsloth":
        import unsloth  # noqa: F401  (first: it patches TRL and transformers)
    from agentgym.train import GRPOConfig, train

    out = tempfile.mkdtemp(prefix=f"bench-gpu-{backend}-")
    cfg = GRPOConfig(output_dir=out, store=f"{out}/store", max_steps=args.steps, group_size=args.group_size,
                      tasks_per_step=args.tasks_per_step, max_turns=args.max_turns, max_new_tokens=args.max_new_tokens,
                      max_dialogues=args.tasks, save_steps=10_000, learning_rate=args.lr, lora=True,
                      use_unsloth=backend == "unsloth", eval_tasks=args.eval_tasks, seed=args.seed)
    logs: list[dict] = []
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    res = train(cfg, progress=False, on_log=logs.append)
    wall = time.perf_counter() - start
    tokens = max((float(r.get("num_tokens", 0)) for r in logs), default=0.0)
    return {"backend": backend, "unsloth_used": res["unsloth"], "steps": res["steps"], "wall_s": round(wall, 1),
            "tokens": tokens, "tokens_per_s": round(tokens / wall, 1) if wall else None,
            "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
            "reward_curve": [round(float(r["reward"]), 4) for r in logs if "reward" in r],
            "evals": [{k: v for k, v in e.items() if k != "per_task"} for e in res.get("evals", [])],
            "gpu": torch.cuda.get_device_name(0)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--tasks-per-step", type=int, default=4)
    p.add_argument("--tasks", type=int, default=32)
    p.add_argument("--eval-tasks", type=int, default=8)
    p.add_argument("--max-turns", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=["unsloth", "trl"], help="(internal) run one backend in this process")
    args = p.parse_args()
    try:
        import torch
    except ImportError:
        print("bench_gpu needs torch with CUDA (pip install -e '.[gpu]').", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("bench_gpu needs a CUDA GPU; none is visible here (run it through the device tool).", file=sys.stderr)
        return 2
    if args.backend:
        print(json.dumps(one(args.backend, args)))
        return 0
    rows = []
    for backend in ("trl", "unsloth"):
        cmd = [sys.executable, __file__, "--backend", backend, *sys.argv[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            rows.append({"backend": backend, "error": done.stderr[-1500:]})
        else:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{'backend':<10}{'tokens/s':>10}{'peak GiB':>10}{'wall s':>9}  reward first→last")
    for r in rows:
        if "error" in r:
            print(f"{r['backend']:<10} failed: {r['error'].splitlines()[-1] if r['error'] else '?'}")
            continue
        curve = r["reward_curve"]
        print(f"{r['backend']:<10}{r['tokens_per_s']:>10}{r['peak_mem_gib']:>10}{r['wall_s']:>9}  "
              f"{curve[0] if curve else '-'} → {curve[-1] if curve else '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
