"""The dashboard's plotly figures, straight from the experience store."""
from __future__ import annotations

from typing import Any

import pandas as pd

from agentgym.store import ExperienceStore, human_vs_judge


def _label(df: pd.DataFrame) -> pd.Series:
    return df["agent"].fillna("(none)") + ":" + df["version"].fillna("-")


def episode_cost(cost: Any) -> float:
    """USD of one episode from its per-role ledger roll-up ({role: {"cost": ...}})."""
    if not isinstance(cost, dict):
        return 0.0
    return float(sum(float(v.get("cost", 0.0) or 0.0) for v in cost.values() if isinstance(v, dict)))


def dashboard_figures(store: ExperienceStore) -> dict[str, Any]:
    """Success rate and reward by agent version, reward distributions, human ratings vs judge
    scores, cost per episode. Empty stores give empty, titled figures (never an exception)."""
    from agentgym.extras import require

    px, go = require("plotly.express", "The dashboard"), require("plotly.graph_objects", "The dashboard")
    eps = store.episodes()
    eps = eps[eps["status"].isin(["terminated", "truncated"])] if not eps.empty else eps
    figs: dict[str, Any] = {}
    if eps.empty:
        for key, title in [("by_version", "Success rate and mean reward by version"), ("rewards", "Reward distribution"),
                           ("human_vs_judge", "Human ratings vs judge scores"), ("cost", "Cost per episode")]:
            figs[key] = go.Figure(layout={"title": f"{title} (no finished episodes yet)"})
        return figs
    eps = eps.assign(label=_label(eps), success=eps["success"].astype(float))
    agg = eps.groupby("label").agg(success_rate=("success", "mean"), mean_reward=("total_reward", "mean"),
                                   episodes=("id", "size")).reset_index()
    figs["by_version"] = px.bar(agg.melt(id_vars=["label", "episodes"], value_vars=["success_rate", "mean_reward"]),
                                x="label", y="value", color="variable", barmode="group", hover_data=["episodes"],
                                title="Success rate and mean reward by version", labels={"label": "agent:version"})
    figs["rewards"] = px.histogram(eps, x="total_reward", color="label", barmode="overlay", nbins=30,
                                   title="Reward distribution", labels={"label": "agent:version"})
    pairs = human_vs_judge(store)["pairs"]  # the same join the agreement statistics use
    if len(pairs):
        figs["human_vs_judge"] = px.scatter(pairs, x="human", y="judge", hover_data=["episode_id", "step"],
                                            range_x=[-0.05, 1.05], range_y=[-0.05, 1.05],
                                            title=f"Human ratings vs judge scores ({len(pairs)} pairs)")
    else:
        figs["human_vs_judge"] = go.Figure(layout={"title": "Human ratings vs judge scores (need both ratings and verdicts)"})
    cost = eps.assign(cost_usd=[episode_cost(c) for c in eps["cost"]])
    figs["cost"] = px.box(cost, x="label", y="cost_usd", points="all", title="Cost per episode (USD)",
                          labels={"label": "agent:version"})
    return figs
