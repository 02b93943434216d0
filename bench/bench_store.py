"""Experience store speed: record 10k steps, then query them back into a DataFrame.

    .venv/bin/python bench/bench_store.py [--steps 10000]

Records real SGD episodes (scripted agent) through the RecordEpisodes wrapper (one transaction
per step, as in a notebook), and the same steps through the store's bare add_step; then reads
them back with store.steps(). The peer in the same run: appending the same records to a JSONL
file and reading it with pandas (no transactions, no queries, no crash safety).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import pandas as pd

import agentgym  # noqa: F401
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.store import ExperienceStore, RecordEpisodes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    store = ExperienceStore(tmp / "store", create=True)
    vid = store.register_agent("scripted", "bench")
    env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store, agent_version_id=vid)
    plain = gym.make("agentgym/SGD-v0")
    tasks = [t.task_id for t in plain.unwrapped.tasks]
    agent = ScriptedAgent()

    def play(e, budget):
        n, i, t_env = 0, 0, 0.0
        while n < budget:
            obs, info = e.reset(seed=i, options={"task_id": tasks[i % len(tasks)]})
            agent.reset(obs, info)
            done = False
            while not done:
                t0 = time.perf_counter()
                obs, _, term, trunc, info = e.step(agent.act(obs, info))
                t_env += time.perf_counter() - t0
                n += 1
                done = term or trunc
            i += 1
        return n, t_env

    n_plain, t_plain = play(plain, args.steps)
    n_rec, t_rec = play(env, args.steps)
    per_step_overhead_ms = 1000 * (t_rec / n_rec - t_plain / n_plain)

    t0 = time.perf_counter()
    df = store.steps()
    t_query = time.perf_counter() - t0
    t0 = time.perf_counter()
    eps = store.episodes()
    t_eps = time.perf_counter() - t0

    jsonl = tmp / "steps.jsonl"
    rows = df.to_dict("records")
    t0 = time.perf_counter()
    with jsonl.open("w") as fh:
        for r in rows:
            fh.write(json.dumps(r, default=str) + "\n")
            fh.flush()
    t_jw = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd.read_json(jsonl, lines=True)
    t_jr = time.perf_counter() - t0

    print(f"steps recorded through RecordEpisodes: {n_rec} in {len(eps)} episodes")
    print(f"  record: {n_rec / t_rec:10.0f} steps/s  (env+store; env alone {n_plain / t_plain:.0f} steps/s; store overhead {per_step_overhead_ms:.3f} ms/step)")
    print(f"  query steps -> DataFrame: {len(df) / t_query:10.0f} rows/s ({len(df)} rows in {t_query:.2f} s)")
    print(f"  query episodes -> DataFrame: {len(eps)} rows in {t_eps * 1000:.1f} ms")
    print(f"peer: JSONL append (flush per row) {len(rows) / t_jw:10.0f} rows/s, pandas.read_json {len(rows) / t_jr:10.0f} rows/s")
    print(f"integrity_check: {store.integrity_check()}; file {sum(p.stat().st_size for p in (tmp / 'store').iterdir()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
