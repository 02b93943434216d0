"""Timing helpers the bench scripts share (they run as `python bench/<script>.py`, so this imports as `timing`)."""
from __future__ import annotations

import time
from typing import Any


def time_reset_and_steps(env: Any, action: str, steps: int, **reset_kwargs: Any) -> tuple[float, list[float]]:
    """Reset once, then step the same action `steps` times: (reset seconds, one duration per step)."""
    t0 = time.perf_counter()
    env.reset(**reset_kwargs)
    reset_s = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        env.step(action)
        times.append(time.perf_counter() - t0)
    return reset_s, times
