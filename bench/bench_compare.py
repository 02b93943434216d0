"""Comparison speed: episodes/s against workers (one process, a local pool, Ray), and what recording costs.

    .venv/bin/python bench/bench_compare.py [--tasks 156] [--trials 2] [--no-ray]

Part 1 plays the same comparison (scripted vs noisy scripted, shared seeds) in one process, on a
process pool of 2, and on a local Ray cluster of 2 CPUs, and prints episodes/s and the scaling
efficiency (speed-up / workers). Part 2 plays the same episodes unrecorded, recorded with one
transaction per episode (`flush="episode"`, what compare and evaluations use) and with one per step
(`flush="step"`, the hand-stepped workbench), and prints each one's time relative to unrecorded.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.experiments import compare
from agentgym.registration import register_envs
from agentgym.runner import run_episodes
from agentgym.store import ExperienceStore, RecordEpisodes

A, B = "noisy:base=scripted,epsilon=0.1,seed=1", "noisy:base=scripted,epsilon=0.1,seed=2"


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def scaling(tasks: int, trials: int, use_ray: bool) -> None:
    episodes = 2 * tasks * trials
    kw = dict(tasks=tasks, trials=trials, baseline=None, progress=False)
    compare(A, B, **{**kw, "tasks": 4})  # warm the corpus cache
    rows = []
    t1, r1 = _timed(lambda: compare(A, B, **kw))
    rows.append(("1 process", 1, t1))
    t2, r2 = _timed(lambda: compare(A, B, workers=2, **kw))
    rows.append(("process pool", 2, t2))
    if use_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        compare(A, B, ray=True, **{**kw, "tasks": 4})  # start the workers once
        t3, r3 = _timed(lambda: compare(A, B, ray=True, **kw))
        ray.shutdown()
        rows.append(("ray (local, 2 CPUs)", 2, t3))
        assert r3.diff == r1.diff
    assert r2.diff == r1.diff  # same plan, same episodes, any executor
    print(f"\n{episodes} episodes ({tasks} tasks x {trials} trials x 2 versions), verdict {r1.verdict}, diff {r1.diff:+.3f}")
    print(f"{'executor':22s} {'workers':>7s} {'seconds':>8s} {'episodes/s':>11s} {'efficiency':>10s}")
    for name, w, t in rows:
        print(f"{name:22s} {w:7d} {t:8.2f} {episodes / t:11.1f} {(t1 / t) / w:10.2f}")


def recording(tasks: int, rounds: int = 5) -> None:
    register_envs()
    tmp = Path(tempfile.mkdtemp())
    base = gym.make("agentgym/SGD-v0")
    ids = list(base.unwrapped.task_ids)[:tasks]
    modes = {
        "unrecorded": base,
        "flush=episode": RecordEpisodes(base, ExperienceStore(tmp / "e", create=True), flush="episode"),
        "flush=episode, batch=16": RecordEpisodes(base, ExperienceStore(tmp / "b", create=True), flush="episode", batch=16),
        "flush=step": RecordEpisodes(base, ExperienceStore(tmp / "s", create=True), flush="step"),
    }
    times: dict[str, list[float]] = {m: [] for m in modes}
    for env in modes.values():
        run_episodes(env, ScriptedAgent(), episodes=5, task_ids=ids, progress=False)  # warm
    for _ in range(rounds):  # interleaved, so drift in the machine's speed hits every mode alike
        for label, env in modes.items():
            times[label].append(_timed(lambda env=env: run_episodes(env, ScriptedAgent(), task_ids=ids, progress=False))[0])
    steps = sum(len(e.steps) for e in run_episodes(base, ScriptedAgent(), task_ids=ids, progress=False))
    base_t = float(np.median(times["unrecorded"]))
    print(f"\nrecording {len(ids)} episodes ({steps} steps), median of {rounds} interleaved rounds")
    print(f"{'mode':24s} {'seconds':>8s} {'ms/episode':>11s} {'vs unrecorded':>14s}")
    for label, ts in times.items():
        t = float(np.median(ts))
        print(f"{label:24s} {t:8.3f} {1000 * t / len(ids):11.2f} {t / base_t:13.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=156)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    scaling(args.tasks, args.trials, not args.no_ray)
    recording(args.tasks)


if __name__ == "__main__":
    main()
