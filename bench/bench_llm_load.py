"""The local model's speed idle and beside a busy process, per thread setting, in the same run.

    .venv/bin/python bench/bench_llm_load.py [--tokens 64] [--reps 3] [--busy 1]

llama.cpp here is built with OpenMP; with every core given to it and OpenMP's default (active) wait policy,
its threads spin, and one other busy process on a small machine can slow generation many times over. Each
configuration runs in a fresh child process (OpenMP reads its environment when it loads): SmolLM2-135M
generates `--tokens` tokens `--reps` times (greedy, same prompt), idle and then with `--busy` processes
burning a core each. Prints tokens/s (median of the reps) and the slowdown under load. `agentgym`'s default
is the row marked "(agentgym)": what `LocalEngine` does when nothing is set.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, os, sys, time
cfg = json.loads(sys.argv[1])
if cfg["engine"]:
    from agentgym.llm.local import LocalEngine
    engine = LocalEngine("smollm2-135m")
    class llama:  # the engine's own call path (it fits its threads to the machine's load per call)
        create_chat_completion = staticmethod(lambda **kw: engine.chat(kw.pop("messages"), **kw))
else:
    from llama_cpp import Llama
    from agentgym.llm.probe import gguf_path
    llama = Llama(model_path=str(gguf_path("smollm2-135m")), n_ctx=1024, verbose=False, seed=0, n_threads=cfg["threads"])
msgs = [{"role": "user", "content": "Write a short story about a robot who learns to cook."}]
llama.create_chat_completion(messages=msgs, max_tokens=8, temperature=0.0)  # warm
rates = []
for _ in range(cfg["reps"]):
    t = time.perf_counter()
    out = llama.create_chat_completion(messages=msgs, max_tokens=cfg["tokens"], temperature=0.0)
    rates.append(out["usage"]["completion_tokens"] / (time.perf_counter() - t))
print(json.dumps(rates))
"""
BURN = "while True: pass"


def run(cfg: dict, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cfg)], capture_output=True, text=True, timeout=900,
                         env={**os.environ, **env})
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return statistics.median(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--busy", type=int, default=1, help="busy processes beside it (one core each)")
    args = ap.parse_args()
    cores = os.cpu_count() or 2
    base = {"tokens": args.tokens, "reps": args.reps, "engine": False}
    scrub = {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "", "AGENTGYM_LLM_THREADS": ""}
    configs = [
        (f"{cores} threads, OpenMP active wait (llama.cpp's default)", {**base, "threads": cores}, {"OMP_WAIT_POLICY": "ACTIVE"}),
        (f"{cores} threads, OMP_WAIT_POLICY=passive", {**base, "threads": cores}, {"OMP_WAIT_POLICY": "PASSIVE"}),
        (f"{cores} threads, GOMP_SPINCOUNT=10000", {**base, "threads": cores}, {"GOMP_SPINCOUNT": "10000"}),
        (f"{cores} threads, GOMP_SPINCOUNT=100000", {**base, "threads": cores}, {"GOMP_SPINCOUNT": "100000"}),
        ("1 thread", {**base, "threads": 1}, {"OMP_WAIT_POLICY": "ACTIVE"}),
        ("LocalEngine, nothing set (agentgym)", {**base, "engine": True, "threads": 0}, {}),
    ]
    print(f"{cores} CPUs · SmolLM2-135M Q4_1 · {args.tokens} tokens × {args.reps} · beside {args.busy} busy process(es)")
    print(f"{'configuration':<58} {'idle tok/s':>10} {'busy tok/s':>10} {'slowdown':>9}")
    for name, cfg, env in configs:
        env = {k: v for k, v in {**scrub, **env}.items() if v} if env else {}
        clean = {k: v for k, v in os.environ.items() if k not in scrub}
        os_env = os.environ.copy()
        os.environ.clear()
        os.environ.update(clean)
        try:
            idle = run(cfg, env)
            burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(args.busy)]
            try:
                time.sleep(0.5)
                busy = run(cfg, env)
            finally:
                for b in burners:
                    b.kill()
                    b.wait()
        finally:
            os.environ.clear()
            os.environ.update(os_env)
        print(f"{name:<58} {idle:>10.1f} {busy:>10.1f} {idle / busy:>8.1f}×")


if __name__ == "__main__":
    main()
