"""The statistics of a paired comparison, with nothing else in the module (numpy and scipy only).

The unit of analysis is the task: every task is played by both versions under the same seeds
(K trials each), the per-task difference is the mean over its trials, and every interval is over
tasks — trials of one task are not independent evidence (Miller 2024, "Adding error bars to evals").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    p_value: float


def paired_t(d: np.ndarray, alpha: float = 0.05) -> Interval:
    """Mean of per-task differences with its (1-alpha) t interval and the two-sided p-value for 0."""
    d = np.asarray(d, dtype=float)
    n, mean = len(d), float(np.mean(d))
    if n < 2:
        return Interval(mean, -math.inf, math.inf, 1.0)
    se = float(np.std(d, ddof=1)) / math.sqrt(n)
    if se == 0.0:  # every task moved by the same amount (often: none did)
        return Interval(mean, mean, mean, 1.0 if mean == 0 else 0.0)
    q = float(sps.t.ppf(1 - alpha / 2, n - 1))
    p = float(2 * sps.t.sf(abs(mean / se), n - 1))
    return Interval(mean, mean - q * se, mean + q * se, p)


def cluster_bootstrap(d: np.ndarray, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0) -> Interval:
    """Percentile interval of the mean per-task difference, resampling tasks (the clusters) with replacement."""
    d = np.asarray(d, dtype=float)
    mean = float(np.mean(d))
    if len(d) < 2:
        return Interval(mean, -math.inf, math.inf, 1.0)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    p = float(min(1.0, 2 * min(np.mean(means <= 0), np.mean(means >= 0)))) if np.ptp(means) > 0 else float(mean == 0)
    return Interval(mean, float(low), float(high), p)


def mcnemar(a_only: int, b_only: int) -> float:
    """Exact McNemar p-value on discordant pairs (A succeeded and B failed, and the reverse)."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * sps.binom.cdf(min(a_only, b_only), n, 0.5)))


def tost(d: np.ndarray, margin: float, alpha: float = 0.05) -> float:
    """Two one-sided tests: p-value that the mean difference lies within ±margin (small p: equivalent)."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        return 1.0
    mean, sd = float(np.mean(d)), float(np.std(d, ddof=1))
    if sd == 0.0:
        return 0.0 if abs(mean) < margin else 1.0
    se = sd / math.sqrt(n)
    p_low = sps.t.sf((mean + margin) / se, n - 1)   # H0: mean <= -margin
    p_high = sps.t.cdf((mean - margin) / se, n - 1)  # H0: mean >= +margin
    return float(max(p_low, p_high))


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm–Bonferroni adjusted p-values (family-wise error over the secondary metrics)."""
    order = sorted(p_values, key=p_values.get)
    m, running, out = len(order), 0.0, {}
    for i, name in enumerate(order):
        running = max(running, min(1.0, (m - i) * p_values[name]))
        out[name] = running
    return out


def pass_hat_k(successes: np.ndarray, trials: int, k: int) -> float:
    """tau-bench's pass^k: the chance that k trials of a task all succeed, averaged over tasks."""
    if k > trials:
        return math.nan
    c = np.asarray(successes, dtype=int)
    return float(np.mean([math.comb(int(x), k) / math.comb(trials, k) for x in c]))


def tasks_needed(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Tasks a paired comparison needs to detect a true difference `delta` with `power`: the smallest n
    whose two-sided paired t-test reaches it (noncentral t; the normal approximation is ~5 % short)."""
    if delta <= 0 or not math.isfinite(sd):
        return None
    if sd == 0:
        return 2
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    n = max(2, math.ceil((z * sd / delta) ** 2))
    while n < 10**6:
        crit = sps.t.ppf(1 - alpha / 2, n - 1)
        nc = delta / (sd / math.sqrt(n))
        if sps.nct.sf(crit, n - 1, nc) + sps.nct.cdf(-crit, n - 1, nc) >= power:
            return n
        n += max(1, n // 50)
    return n


def decide(d: np.ndarray, alpha: float = 0.05, margin: float = 0.05, lower_is_better: bool = False) -> tuple[str, Interval, float]:
    """(verdict, paired-t interval, TOST p) for per-task differences B − A: the whole decision rule."""
    t = paired_t(d, alpha)
    tost_p = tost(d, margin, alpha)
    v = verdict(t, tost_p, alpha)
    if lower_is_better:
        v = {"better": "worse", "worse": "better"}.get(v, v)
    return v, t, tost_p


def verdict(t: Interval, tost_p: float, alpha: float) -> str:
    """better / worse when the (1-alpha) interval excludes 0, equivalent when TOST holds, else inconclusive."""
    if t.low > 0:
        return "better"
    if t.high < 0:
        return "worse"
    if tost_p < alpha:
        return "equivalent"
    return "inconclusive"
