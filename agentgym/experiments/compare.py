"""Compare two agent versions with a verdict you can trust.

    result = compare("scripted", "noisy:base=scripted,epsilon=0.3", CompareConfig(tasks=60, trials=2))
    result.verdict, result.diff, result.ci_low, result.ci_high     # B minus A on the primary metric
    result.figure()                                                 # per-task differences, intervals, breakdown

Design: paired. Both versions play the same tasks under the same seeds (K trials per task); the
per-task difference (B − A, averaged over trials) is the unit of analysis. Reported: paired-t and
task-cluster bootstrap intervals, McNemar on discordant pairs for success, pass^k per version,
TOST equivalence within `margin`, secondary metrics with Holm-corrected p-values, a breakdown by
service (or domain), a no-op baseline, and optionally the same comparison under a second user
simulator, flagged "simulator-sensitive" when the sign of the difference flips.

Verdict: "better"/"worse" when the (1−alpha) paired-t interval excludes 0; "equivalent" when TOST
puts the difference inside ±margin; otherwise "inconclusive", with the number of tasks a paired
comparison would need to detect a difference of `margin` at `power`. Calibration is tested: A vs
A says better or worse at most at rate alpha, and a planted effect is found at the stated power.
"""
from __future__ import annotations

import math
import uuid
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

import agentgym.experiments.stats as st
from agentgym.experiments.play import AgentSpec, plan, run_units

METRICS = ("success", "reward", "turns")


@dataclass
class CompareConfig:
    """How a comparison is run and judged; every field validated in `__post_init__`."""

    tasks: int | None = field(default=40, metadata={"help": "number of tasks (the first N of the split); None: all"})
    task_file: str | None = field(default=None, metadata={"help": "a task file (JSONL: `agentgym scenarios`, "
                                                                   "`agentgym import-traces`) played instead of the split"})
    trials: int = field(default=1, metadata={"help": "episodes per task and version (seeds shared by the versions)"})
    seed: int = field(default=0, metadata={"help": "first episode seed; task i, trial k plays seed + i*trials + k"})
    env_id: str = field(default="agentgym/SGD-v0", metadata={"help": "gymnasium id of the environment"})
    data_dir: str | None = field(default=None, metadata={"help": "SGD-format folder (None: the embedded sample)"})
    split: str | None = field(default=None, metadata={"help": "which tasks (None: the env's default: dev for SGD, base for "
                                                             "tau2; tau2 also has train and test)"})
    max_turns: int = field(default=40, metadata={"help": "turn limit per episode"})
    user: str | None = field(default=None, metadata={"help": "simulated user (None: the env's default)"})
    second_user: str | None = field(default=None, metadata={"help": "rerun under this user too; flags a sign flip"})
    primary: str = field(default="success", metadata={"help": "metric the verdict is about: success, reward or turns"})
    alpha: float = field(default=0.05, metadata={"help": "error rate of the verdict (two-sided)"})
    margin: float = field(default=0.05, metadata={"help": "differences within ±margin count as equivalent (TOST)"})
    power: float = field(default=0.8, metadata={"help": "power the 'tasks needed' estimate is for"})
    n_boot: int = field(default=2000, metadata={"help": "bootstrap resamples (task clusters)"})
    baseline: str | None = field(default="noop", metadata={"help": "a no-op agent played alongside (None: skip)"})
    workers: int = field(default=1, metadata={"help": "local worker processes (1: in this process)"})
    ray: bool | None = field(default=None, metadata={"help": "run on Ray (None: when RAY_ADDRESS is set)"})
    store: str | None = field(default=None, metadata={"help": "record every episode in this store (folder or URL)"})

    def __post_init__(self) -> None:
        if self.tasks is not None and (not isinstance(self.tasks, int) or self.tasks < 2):
            raise ValueError(f"tasks must be at least 2 (a paired comparison needs a spread), or None for all; got {self.tasks!r}.")
        for name in ("trials", "workers", "max_turns", "n_boot"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}.")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number from 0, got {self.seed!r}.")
        if self.primary not in METRICS:
            raise ValueError(f"primary must be one of {', '.join(METRICS)}, got {self.primary!r}.")
        for name, lo, hi in (("alpha", 0.0, 0.5), ("power", 0.5, 1.0), ("margin", 0.0, math.inf)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not lo < value < hi:
                raise ValueError(f"{name} must be between {lo:g} and {hi:g} (exclusive), got {value!r}.")

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in fields(cls)}


@dataclass
class CompareResult:
    """What `compare` found; `to_dict()` is the JSON the CLI prints."""

    a: str
    b: str
    primary: str
    verdict: str
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    boot_low: float
    boot_high: float
    tost_p: float
    margin: float
    alpha: float
    n_tasks: int
    trials: int
    tasks_needed: int | None
    mcnemar_p: float | None
    means: dict[str, float]
    pass_k: dict[str, dict[int, float]]
    secondary: dict[str, dict[str, float]]
    by_service: list[dict[str, Any]]
    baseline: dict[str, float] | None = None
    second_user: dict[str, Any] | None = None
    simulator_sensitive: bool | None = None
    run_id: str = ""
    rows: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "rows"}
        return _clean(out)

    def summary(self) -> str:
        sign = f"{self.diff:+.3f} [{self.ci_low:+.3f}, {self.ci_high:+.3f}]"
        more = f"; about {self.tasks_needed} tasks needed for ±{self.margin:g}" if self.verdict == "inconclusive" and self.tasks_needed else ""
        flip = "; SIMULATOR-SENSITIVE (the sign flips under the second user)" if self.simulator_sensitive else ""
        return (f"{self.b} vs {self.a}: {self.verdict} on {self.primary} ({sign}, {self.n_tasks} tasks × {self.trials} "
                f"trial(s), {100 * (1 - self.alpha):.0f}% paired-t){more}{flip}")

    def figure(self) -> Any:
        """Per-task differences (sorted), the intervals, and the difference per service."""
        from plotly.subplots import make_subplots

        per_task = _per_task(self.rows, "A", "B", self.primary).sort_values()
        fig = make_subplots(rows=1, cols=3, column_widths=[0.45, 0.2, 0.35],
                            subplot_titles=(f"B − A per task ({self.primary})", "mean difference", "by service"))
        fig.add_bar(x=list(range(len(per_task))), y=per_task.values, hovertext=list(per_task.index), name="task", row=1, col=1,
                    marker_color=["#c0392b" if v < 0 else "#27ae60" if v > 0 else "#95a5a6" for v in per_task.values])
        for name, lo, hi in (("paired t", self.ci_low, self.ci_high), ("bootstrap", self.boot_low, self.boot_high)):
            fig.add_scatter(x=[name], y=[self.diff], error_y={"type": "data", "symmetric": False, "array": [hi - self.diff],
                            "arrayminus": [self.diff - lo]}, mode="markers", name=name, row=1, col=2, showlegend=False)
        fig.add_hrect(y0=-self.margin, y1=self.margin, fillcolor="#bdc3c7", opacity=0.3, line_width=0, row=1, col=2)
        svc = pd.DataFrame(self.by_service)
        if not svc.empty:
            fig.add_bar(x=svc["diff"], y=svc["service"], orientation="h", name="service", row=1, col=3,
                        error_x={"type": "data", "array": svc["half_width"].fillna(0)})
        fig.update_layout(title=self.summary(), showlegend=False, height=420, margin={"t": 80})
        return fig


def compare(a: str, b: str, cfg: CompareConfig | None = None, *, progress: bool = True, **overrides: Any) -> CompareResult:
    """Play A and B (and the baseline) on the same tasks and seeds, then judge B − A (module docstring)."""
    cfg = CompareConfig(**{**(asdict(cfg) if cfg else {}), **overrides})
    specs = {"A": AgentSpec.parse(a).text, "B": AgentSpec.parse(b).text}
    if cfg.baseline:
        specs["baseline"] = AgentSpec.parse(cfg.baseline).text
    rows = _play(specs, cfg, cfg.user, progress)
    result = analyze(rows, cfg, a=a, b=b)
    if cfg.second_user:
        other = analyze(_play({"A": specs["A"], "B": specs["B"]}, cfg, cfg.second_user, progress), cfg, a=a, b=b)
        result.second_user = {"user": cfg.second_user, "verdict": other.verdict, "diff": other.diff,
                              "ci_low": other.ci_low, "ci_high": other.ci_high}
        result.simulator_sensitive = bool(np.sign(other.diff) * np.sign(result.diff) < 0
                                          and (result.verdict in ("better", "worse") or other.verdict in ("better", "worse")))
    return result


def _play(specs: dict[str, str], cfg: CompareConfig, user: str | None, progress: bool) -> pd.DataFrame:
    import gymnasium as gym

    from agentgym.domain import domain_of
    from agentgym.registration import register_envs

    register_envs()
    env_kwargs: dict[str, Any] = domain_of(cfg.env_id).env_kwargs(cfg.env_id, split=cfg.split, data_dir=cfg.data_dir,
                                                                  max_turns=cfg.max_turns, user=user, tasks=cfg.task_file)
    probe = gym.make(cfg.env_id, **env_kwargs)
    ids = list(probe.unwrapped.task_ids)
    probe.close()
    n = len(ids) if cfg.tasks is None else cfg.tasks
    if n > len(ids):
        raise ValueError(f"tasks={n} but {cfg.env_id} has {len(ids)} tasks here; ask for at most {len(ids)}.")
    run_id = uuid.uuid4().hex[:12]
    version_ids = _register(specs, cfg.store, run_id) if cfg.store else None
    units = plan(specs, ids[:n], trials=cfg.trials, seed=cfg.seed, env_id=cfg.env_id, env_kwargs=env_kwargs,
                 chunks=1 if cfg.workers == 1 and not cfg.ray else 4 * cfg.workers, store=cfg.store, run_id=run_id,
                 version_ids=version_ids)
    df = pd.DataFrame(run_units(units, workers=cfg.workers, ray=cfg.ray, progress=progress))
    df.attrs["run_id"] = run_id
    return df


def _register(specs: dict[str, str], store: str, run_id: str) -> dict[str, int | None]:
    """Each arm's version id in the store (stored versions as they are; registry agents as '<spec>'/builtin)."""
    from agentgym.store import ExperienceStore

    out: dict[str, int | None] = {}
    with ExperienceStore(store, create=True) as s:
        for arm, text in specs.items():
            spec = AgentSpec.parse(text)
            out[arm] = (s.version_id(spec.name, spec.version) if spec.version is not None
                        else s.register_agent(spec.text, "builtin", {"spec": spec.text, **spec.kwargs}))
    return out


def _per_task(rows: pd.DataFrame, a: str, b: str, metric: str) -> pd.Series:
    """B − A per task, each version's trials averaged first; only tasks both versions played."""
    means = rows[rows["arm"].isin([a, b])].groupby(["task_id", "arm"])[metric].mean().unstack("arm").dropna()
    if a not in means or b not in means:
        return pd.Series(dtype=float)
    return (means[b] - means[a]).rename(metric)


def analyze(rows: pd.DataFrame, cfg: CompareConfig, *, a: str = "A", b: str = "B") -> CompareResult:
    """The statistics and the verdict for rows from `compare` (or any rows with arm, task_id, trial and metrics)."""
    d = _per_task(rows, "A", "B", cfg.primary)
    if len(d) < 2:
        raise ValueError(f"Only {len(d)} task(s) were played by both versions; a comparison needs at least 2 shared tasks.")
    verdict, t, tost_p = st.decide(d.values, cfg.alpha, cfg.margin, lower_is_better=cfg.primary == "turns")
    boot = st.cluster_bootstrap(d.values, cfg.alpha, cfg.n_boot, cfg.seed)
    sd = float(np.std(d.values, ddof=1)) if len(d) > 1 else math.nan
    paired = rows[rows["arm"].isin(["A", "B"])].pivot_table(index=["task_id", "trial"], columns="arm", values="success").dropna()
    a_only = int(((paired["A"] >= 1) & (paired["B"] < 1)).sum()) if len(paired) else 0
    b_only = int(((paired["B"] >= 1) & (paired["A"] < 1)).sum()) if len(paired) else 0
    per_metric = {m: _per_task(rows, "A", "B", m) for m in METRICS if m != cfg.primary}
    secondary_p = {m: st.paired_t(dm.values, cfg.alpha).p_value for m, dm in per_metric.items()}
    holm = st.holm(secondary_p)
    secondary = {m: {"diff": float(dm.mean()), "p": secondary_p[m], "p_holm": holm[m]} for m, dm in per_metric.items()}
    means = {arm: float(g[cfg.primary].mean()) for arm, g in rows.groupby("arm")}
    pass_k = {}
    for arm, g in rows.groupby("arm"):
        succ = g.groupby("task_id")["success"].sum().values
        pass_k[arm] = {k: st.pass_hat_k(succ, cfg.trials, k) for k in range(1, cfg.trials + 1)}
    result = CompareResult(
        a=a, b=b, primary=cfg.primary, verdict=verdict, diff=float(d.mean()), ci_low=t.low, ci_high=t.high,
        p_value=t.p_value, boot_low=boot.low, boot_high=boot.high, tost_p=tost_p, margin=cfg.margin, alpha=cfg.alpha, n_tasks=len(d), trials=cfg.trials,
        tasks_needed=st.tasks_needed(sd, cfg.margin, cfg.alpha, cfg.power),
        mcnemar_p=st.mcnemar(a_only, b_only), means=means, pass_k=pass_k, secondary=secondary,
        by_service=_by_service(rows, d, cfg), run_id=str(rows.attrs.get("run_id", "")), rows=rows)
    if "baseline" in means:
        result.baseline = {"mean": means["baseline"], "A_minus_baseline": means.get("A", math.nan) - means["baseline"],
                           "B_minus_baseline": means.get("B", math.nan) - means["baseline"]}
    return result


def _by_service(rows: pd.DataFrame, d: pd.Series, cfg: CompareConfig) -> list[dict[str, Any]]:
    """B − A (`d`, per task) per service (a multi-service task counts for each), with a t half-width where there are ≥ 2 tasks."""
    services = rows.drop_duplicates("task_id").set_index("task_id")["services"]
    out = []
    for svc in sorted({s for v in services for s in str(v).split(",") if s}):
        ids = [t for t in d.index if svc in str(services.get(t, "")).split(",")]
        if not ids:
            continue
        t = st.paired_t(d.loc[ids].values, cfg.alpha)
        out.append({"service": svc, "tasks": len(ids), "diff": float(d.loc[ids].mean()),
                    "half_width": float((t.high - t.low) / 2) if math.isfinite(t.high) else None})
    return out


def compare_stored(store: Any, a: tuple[str, str], b: tuple[str, str], *, metric: str = "success",
                   alpha: float = 0.05, margin: float = 0.05, **filters: Any) -> dict[str, Any]:
    """The same question on what a store already holds — simulated evaluations or live traffic with
    ratings (`metric="rating"`: the mean normalized rating of each episode). Paired by task where the
    versions share tasks; otherwise (live traffic) an unpaired Welch interval."""
    from scipy import stats as sps

    from agentgym.store import as_store

    s = as_store(store)
    frames = []
    for arm, (agent, version) in (("A", a), ("B", b)):
        eps = s.episodes(agent=agent, version=version, **filters)
        if eps.empty:
            raise ValueError(f"No episodes of {agent}@{version} in {s.where}; check the names with `agentgym versions`.")
        eps = eps.assign(arm=arm)
        if metric == "rating":
            r = s.ratings()
            r = r[r["episode_id"].isin(eps["id"])].groupby("episode_id")["normalized"].mean()
            eps = eps.assign(rating=eps["id"].map(r)).dropna(subset=["rating"])
        elif metric == "success":
            eps = eps.assign(success=eps["success"].astype(float))
        else:
            eps = eps.rename(columns={"total_reward": "reward"})
        frames.append(eps)
    rows = pd.concat(frames)
    if rows.empty or rows[metric].isna().all():
        raise ValueError(f"No {metric} values to compare for these versions (rate some episodes first for metric='rating').")
    shared = set(frames[0]["task_id"].dropna()) & set(frames[1]["task_id"].dropna())
    if len(shared) >= 2:
        d = _per_task(rows[rows["task_id"].isin(shared)], "A", "B", metric)
        t = st.paired_t(d.values, alpha)
        design, n = "paired by task", len(d)
    else:
        xa, xb = (f[metric].dropna().values.astype(float) for f in frames)
        if min(len(xa), len(xb)) < 2:
            raise ValueError(f"Too few episodes with a {metric} for a verdict ({len(xa)} and {len(xb)}); each version needs 2 or more.")
        with warnings.catch_warnings():  # identical ratings within a version: scipy warns, the interval is still right
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sps.ttest_ind(xb, xa, equal_var=False)
        ci = res.confidence_interval(1 - alpha)
        t = st.Interval(float(xb.mean() - xa.mean()), float(ci.low), float(ci.high), float(res.pvalue))
        design, n = "unpaired (Welch): the versions share no tasks", len(xa) + len(xb)
    tost_p = 0.0 if (t.low > -margin and t.high < margin) else 1.0
    return _clean({"a": f"{a[0]}@{a[1]}", "b": f"{b[0]}@{b[1]}", "metric": metric, "design": design, "n": n,
                   "verdict": st.verdict(t, tost_p, alpha), "diff": t.estimate, "ci_low": t.low, "ci_high": t.high,
                   "p_value": t.p_value})


def _clean(obj: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN and inf to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
