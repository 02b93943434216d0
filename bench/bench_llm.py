"""LLM speed on this machine: episodes per minute with the LLM user on the local model, run one
after another versus 8 at once, and judge latency on a cache miss versus a hit.

    .venv/bin/python bench/bench_llm.py [--episodes 8] [--max-turns 8]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import agentgym  # noqa: F401
from agentgym import SGDEnv
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.llm import LLM
from agentgym.llm.judge import LLMJudge
from agentgym.runner import play_episode


def one_episode(i: int, user: str, max_turns: int, cache: str) -> float:
    env = SGDEnv(user=user, max_turns=max_turns, user_llm_args={"cache": cache})
    ep = play_episode(env, ScriptedAgent(), seed=i, task_id=env.tasks[i % len(env.tasks)].task_id)
    return ep.seconds


def episodes_per_minute(n: int, user: str, max_turns: int, workers: int) -> float:
    cache = tempfile.mktemp(suffix=".sqlite")  # a fresh cache: every call is a real generation
    t = time.perf_counter()
    if workers == 1:
        for i in range(n):
            one_episode(i, user, max_turns, cache)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda i: one_episode(i, user, max_turns, cache), range(n)))
    return 60 * n / (time.perf_counter() - t)


def judge_latency(n: int = 5) -> tuple[float, float]:
    judge = LLMJudge(LLM(cache=tempfile.mktemp(suffix=".sqlite"), max_tokens=120))
    history = [{"role": "user", "content": "Book a table for two at Andes Cafe tonight at 7 pm."}]
    responses = [f"Please confirm: a table for {k} at Andes Cafe tonight at 7 pm?" for k in range(2, 2 + n)]
    miss, hit = [], []
    for r in responses:
        t = time.perf_counter()
        judge.judge_step(history, r)
        miss.append(time.perf_counter() - t)
        t = time.perf_counter()
        judge.judge_step(history, r)
        hit.append(time.perf_counter() - t)
    return statistics.median(miss), statistics.median(hit)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--max-turns", type=int, default=8)
    args = ap.parse_args()
    for user in ("llm", "hybrid"):
        seq = episodes_per_minute(args.episodes, user, args.max_turns, 1)
        par = episodes_per_minute(args.episodes, user, args.max_turns, 8)
        print(f"{user:6s} user on local/smollm2-135m, {args.episodes} episodes of <= {args.max_turns} turns: "
              f"sequential {seq:6.1f} episodes/min, 8 at once {par:6.1f} episodes/min")
    miss, hit = judge_latency()
    print(f"judge step latency (local model): cache miss {miss * 1000:8.1f} ms, cache hit {hit * 1000:8.3f} ms "
          f"({miss / hit:,.0f}x)")


if __name__ == "__main__":
    main()
