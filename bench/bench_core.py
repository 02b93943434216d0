"""The env's own costs through the gym API alone (so the same script times any checkout):
SGD reset and step, tau2 reset and step, and loading SGD's full train split.

    .venv/bin/python bench/bench_core.py [--data-dir ~/data/sgd] [--reps 300]
    PYTHONPATH=/path/to/other/checkout .venv/bin/python bench/bench_core.py   # the same numbers for another tree

Each number is the median over `--reps` calls with its 95% interval (order statistics of the median),
in milliseconds. SGD steps are timed apart for a message to the user and a tool call; tau2 (airline) steps a
read tool call. The full train split loads with `data_dir` (SGD's 16,142 training dialogues), cold
(no agentgym cache) and cached.
"""
from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import gymnasium as gym

import agentgym  # noqa: F401  (registers the ids)


def median_ci(xs: list[float]) -> tuple[float, float, float]:
    """Median and a distribution-free 95% interval (binomial order statistics)."""
    s = sorted(xs)
    n = len(s)
    half = 1.96 * math.sqrt(n) / 2
    lo, hi = max(0, int(math.floor(n / 2 - half))), min(n - 1, int(math.ceil(n / 2 + half)))
    mid = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return mid, s[lo], s[hi]


def timed(fn, reps: int) -> tuple[float, float, float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return median_ci(out)


def resetter(env, ids: list[str]):
    """A call that resets `env` to its next task (task i under seed i)."""
    k = {"i": 0}

    def reset():
        env.reset(seed=k["i"], options={"task_id": ids[k["i"] % len(ids)]})
        k["i"] += 1

    return reset


def sgd(reps: int) -> dict[str, tuple[float, float, float]]:
    env = gym.make("agentgym/SGD-v0", split="dev")
    ids = list(env.unwrapped.task_ids)
    out = {"SGD reset": timed(resetter(env, ids), reps)}
    for label, action in (("SGD step, message", "Sure, which city and date would you like?"),
                          ("SGD step, tool call", '{"name": "FindRestaurants", "arguments": {"city": "San Jose", "cuisine": "Italian"}}')):
        steps = []
        for i in range(reps):
            if i % 5 == 0:
                env.reset(seed=i, options={"task_id": ids[i % len(ids)]})
            t = time.perf_counter()
            env.step(action)
            steps.append((time.perf_counter() - t) * 1000)
        out[label] = median_ci(steps)
    return out


def tau2(reps: int) -> dict[str, tuple[float, float, float]]:
    try:
        env = gym.make("agentgym/tau2-airline-v0")
    except Exception as e:  # tau2 not installed
        print(f"tau2: skipped ({type(e).__name__}: {e})")
        return {}
    ids = list(env.unwrapped.task_ids)
    out = {"tau2 airline reset": timed(resetter(env, ids), reps)}
    steps = []
    for i in range(reps):
        if i % 6 == 0:
            env.reset(seed=i, options={"task_id": ids[i % len(ids)]})
        t = time.perf_counter()
        env.step('{"name": "get_reservation_details", "arguments": {"reservation_id": "4WQ150"}}')
        steps.append((time.perf_counter() - t) * 1000)
    out["tau2 airline step"] = median_ci(steps)
    return out


def full_train(data_dir: Path) -> dict[str, tuple[float, float, float]]:
    if not (data_dir / "train").is_dir():
        print(f"full train split: skipped ({data_dir}/train not found; --data-dir points at the SGD corpus)")
        return {}
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["AGENTGYM_CACHE"] = cache
        for label, n in (("cold", 1), ("cached", 5)):
            times = []
            for _ in range(n):
                t = time.perf_counter()
                env = gym.make("agentgym/SGD-v0", data_dir=str(data_dir), split="train")
                times.append((time.perf_counter() - t) * 1000)
                env.close()
            out[f"SGD full train load, {label} ({len(env.unwrapped.task_ids)} tasks)"] = median_ci(times)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "sgd")
    args = ap.parse_args()
    print(f"agentgym from {Path(agentgym.__file__).parent}")
    rows = {**sgd(args.reps), **tau2(args.reps), **full_train(args.data_dir)}
    print(f"{'':52s} {'median ms':>10s}  95% interval")
    for name, (mid, lo, hi) in rows.items():
        print(f"{name:52s} {mid:10.3f}  [{lo:.3f}, {hi:.3f}]")


if __name__ == "__main__":
    main()
