"""agentgym's own step and reset cost (SGD tool call, tau2 airline tool call), to compare two commits.

    PYTHONPATH=. .venv/bin/python bench/bench_step.py after      # and in a worktree of the other commit: ... before

Best of 3 runs of 400 steps each, then 200 resets. Run both commits back to back on an idle machine: on
2 cores the spread between runs is ±30 %.
"""
import sys
import time

import gymnasium as gym

import agentgym  # noqa: F401  (registers the ids)


def timed(env_id: str, call: str, n: int = 400, resets: int = 200, **kwargs: object) -> tuple[float, float]:
    env = gym.make(env_id, **kwargs)
    best = float("inf")
    for _ in range(3):
        env.reset(seed=0)
        start = time.perf_counter()
        for _ in range(n):
            env.step(call)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    start = time.perf_counter()
    for i in range(resets):
        env.reset(seed=i)
    return best, (time.perf_counter() - start) / resets * 1e6


if __name__ == "__main__":
    sgd = timed("agentgym/SGD-v0", '{"name": "Weather_1_GetWeather", "arguments": {"city": "Paris"}}', max_turns=100_000)
    tau = timed("agentgym/tau2-airline-v0", '{"name": "get_reservation_details", "arguments": {"reservation_id": "EHGLP3"}}',
                max_steps=100_000)
    label = sys.argv[1] if len(sys.argv) > 1 else "this commit"
    print(f"{label}: SGD step {sgd[0]:.0f} us, reset {sgd[1]:.0f} us | tau2 airline step {tau[0]:.0f} us, reset {tau[1]:.0f} us")
