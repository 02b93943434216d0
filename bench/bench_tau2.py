"""tau2 domains: agentgym's in-process Tau2Env next to tau2-bench's own gym, in the same run.

    .venv/bin/python bench/bench_tau2.py [--steps 300] [--resets 500] [--episodes 2]

- Tool-call step on airline: the same call (`get_reservation_details` on task 0's reservation)
  stepped N times in `agentgym/tau2-airline-v0` and in tau2's `AgentGymEnv(domain="airline")`.
  tau2's gym needs an LLM user for airline: it gets the local SmolLM2 on a loopback server (the
  user only speaks at reset; tool-call steps do not call it). loguru is off for both.
- reset on airline: N resets over the 50 tasks, half of the episodes dirtied by a write
  (`cancel_reservation`) so reset has a DB to restore.
- Baselines per domain, each task once: the no-op agent (greets, ends) and the oracle agent (gold
  actions, asks for ids first) against the offline user; success = tau2's reward of 1.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time

import gymnasium as gym
from timing import time_reset_and_steps

import agentgym  # noqa: F401  (registers the ids)
from agentgym.domains.tau2.agents import NoopAgent, OracleAgent
from agentgym.domains.tau2.data import DOMAINS, tasks
from agentgym.runner import play_episode

CALL = '{"name": "get_reservation_details", "arguments": {"reservation_id": "EHGLP3"}}'


def _stats(times: list[float]) -> dict[str, float]:
    return {"n": len(times), "mean_ms": 1000 * statistics.fmean(times), "median_ms": 1000 * statistics.median(times),
            "p90_ms": 1000 * sorted(times)[int(0.9 * (len(times) - 1))]}


def ours_tool_step(steps: int) -> dict[str, float]:
    env = gym.make("agentgym/tau2-airline-v0", max_steps=steps + 10)
    _, times = time_reset_and_steps(env, CALL, steps, seed=0, options={"task_id": "0"})
    return _stats(times)


def ours_reset(n: int) -> dict[str, float]:
    env = gym.make("agentgym/tau2-airline-v0")
    ids = [t.id for t in tasks("airline")]
    for tid in ids:  # gold states are computed once per task (cached): warm them first
        env.reset(seed=0, options={"task_id": tid})
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        env.reset(seed=i, options={"task_id": ids[i % len(ids)]})
        times.append(time.perf_counter() - t0)
        if i % 2 == 0:
            env.step('{"name": "cancel_reservation", "arguments": {"reservation_id": "EHGLP3"}}')
    return _stats(times)


def tau2_gym_step_times(steps: int) -> tuple[float, list[float]] | None:
    """tau2-bench's own gym (`AgentGymEnv`, airline task 0, the local SmolLM2 as its user): the reset's seconds and
    each of `steps` steps of the same tool call; None when tau2's gym or the local server is not installed."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        from loguru import logger
        from tau2.gym.gym_agent import AgentGymEnv

        from agentgym.llm import LocalServer
    except ImportError as e:
        print(f"tau2's gym or the local server is not installed ({e}): make test installs both")
        return None
    logger.remove()
    with LocalServer() as srv:
        env = AgentGymEnv(domain="airline", task_id="0", max_steps=steps + 10, user_llm="openai/smollm2-135m",
                          user_llm_args={"api_base": srv.api_base, "api_key": "none", "temperature": 0.0, "max_tokens": 40})
        return time_reset_and_steps(env, CALL, steps, seed=0)


def tau2_tool_step(steps: int) -> dict[str, float] | None:
    timed = tau2_gym_step_times(steps)
    if timed is None:
        return None
    reset_s, times = timed
    out = _stats(times)
    out["reset_ms_with_llm_user"] = 1000 * reset_s
    return out


def baselines(episodes: int) -> list[dict[str, object]]:
    rows = []
    for domain, solo in [(d, False) for d in DOMAINS] + [("telecom", True)]:
        # telecom: dual control (the oracle asks, the offline user acts on its phone), then solo mode
        env = gym.make(f"agentgym/tau2-{domain}-v0", solo_mode=solo)
        ids = [t.id for t in tasks(domain) if not solo or t.ticket is not None]
        for agent in (NoopAgent(), OracleAgent()):
            wins = []
            for seed in range(episodes):
                for tid in ids:
                    ep = play_episode(env, agent, seed=seed, task_id=tid)
                    wins.append(ep.reward_breakdown["total"] >= 1.0)
            p = sum(wins) / len(wins)
            half = 1.96 * math.sqrt(p * (1 - p) / len(wins))
            rows.append({"domain": domain + (" (solo)" if solo else ""), "agent": agent.name, "tasks": len(ids),
                         "successes": sum(wins), "episodes": len(wins), "success": p, "ci95": half})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--resets", type=int, default=500)
    ap.add_argument("--episodes", type=int, default=1, help="episodes per task for the baselines")
    ap.add_argument("--skip-tau2", action="store_true")
    args = ap.parse_args()
    ours = ours_tool_step(args.steps)
    print(f"agentgym tau2-airline tool-call step: {ours}")
    reset = ours_reset(args.resets)
    print(f"agentgym tau2-airline reset (half the episodes wrote to the DB): {reset}")
    if not args.skip_tau2:
        theirs = tau2_tool_step(args.steps)
        if theirs:
            print(f"tau2 gym airline tool-call step:      {theirs}")
            print(f"ratio tau2 / agentgym, tool-call step: mean {theirs['mean_ms'] / ours['mean_ms']:.1f}x, "
                  f"median {theirs['median_ms'] / ours['median_ms']:.1f}x")
    print("baselines against the offline user (success = tau2 reward 1; 95% Wald interval):")
    for r in baselines(args.episodes):
        print(f"  {r['domain']:16s} {r['agent']:12s} {r['successes']:4d}/{r['episodes']:<4d} = {r['success']:.3f} ± {r['ci95']:.3f}")


if __name__ == "__main__":
    main()
