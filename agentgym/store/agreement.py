"""How far to trust the judge and the raters: human vs judge, and rater vs rater."""
from __future__ import annotations

import pandas as pd

from agentgym.store.store import ExperienceStore


def _kappa(a: pd.Series, b: pd.Series) -> float:
    """Cohen's kappa of two label series (NaN when undefined)."""
    table = pd.crosstab(a, b)
    labels = sorted(set(table.index) | set(table.columns))
    table = table.reindex(index=labels, columns=labels, fill_value=0)
    n = table.values.sum()
    if n == 0:
        return float("nan")
    po = table.values.trace() / n
    pe = (table.sum(axis=1).values * table.sum(axis=0).values).sum() / (n * n)
    return float("nan") if pe == 1 else float((po - pe) / (1 - pe))


def human_vs_judge(store: ExperienceStore, threshold: float = 0.5) -> dict[str, object]:
    """Join human ratings and judge verdicts on the same target (episode, step): correlation,
    agreement and a confusion table of good/bad at `threshold` (both on [0, 1])."""
    r, v = store.ratings(), store.verdicts()
    if r.empty or v.empty:
        return {"n": 0, "pairs": pd.DataFrame()}
    r = r.assign(step=r["step_idx"].fillna(-1)).groupby(["episode_id", "step"], as_index=False)["normalized"].mean()
    v = v[v["score"].notna()]
    v = v.assign(step=v["step_idx"].fillna(-1)).groupby(["episode_id", "step"], as_index=False)["score"].mean()
    pairs = r.merge(v, on=["episode_id", "step"]).rename(columns={"normalized": "human", "score": "judge"})
    if pairs.empty:
        return {"n": 0, "pairs": pairs}
    h, j = pairs["human"] >= threshold, pairs["judge"] >= threshold
    varied = len(pairs) > 1 and pairs["human"].nunique() > 1 and pairs["judge"].nunique() > 1
    return {
        "n": len(pairs),
        "note": _reading(pairs, threshold),
        # undefined (NaN) when either side is constant: pandas would return rounding noise (~1e-17) there
        "pearson": float(pairs["human"].corr(pairs["judge"])) if varied else float("nan"),
        # Spearman = Pearson on ranks (pandas' method="spearman" would pull in scipy)
        "spearman": float(pairs["human"].rank().corr(pairs["judge"].rank())) if varied else float("nan"),
        "agreement": float((h == j).mean()),
        "kappa": _kappa(h.map({True: "good", False: "bad"}), j.map({True: "good", False: "bad"})),
        "confusion": pd.crosstab(h.map({True: "human good", False: "human bad"}), j.map({True: "judge good", False: "judge bad"})),
        "pairs": pairs,
    }


def _reading(pairs: pd.DataFrame, threshold: float) -> str:
    """What the numbers can and cannot say about these pairs, in a sentence (a NaN correlation is not a finding)."""
    said = []
    if len(pairs) < 2:
        said.append("one pair only: correlations need two or more")
    for who in ("human", "judge"):
        if pairs[who].nunique() == 1:
            said.append(f"every {who} score is {pairs[who].iloc[0]:g}, so correlations are undefined (NaN) and kappa says "
                        "nothing beyond chance")
    if len(pairs) < 30:
        said.append(f"{len(pairs)} pairs: too few to trust any of these numbers; rate more")
    text = "; ".join(said)
    return text[:1].upper() + text[1:] + "." if said else f"{len(pairs)} pairs, good/bad split at {threshold:g}."


def rater_vs_rater(store: ExperienceStore) -> pd.DataFrame:
    """One row per pair of raters who rated the same targets: n, exact agreement, kappa, correlation."""
    r = store.ratings()
    if r.empty:
        return pd.DataFrame(columns=["rater_a", "rater_b", "n", "agreement", "kappa", "pearson"])
    r = r.assign(step=r["step_idx"].fillna(-1))
    wide = r.pivot_table(index=["episode_id", "step"], columns="rater", values="normalized", aggfunc="mean")
    raters = list(wide.columns)
    rows = []
    for i, a in enumerate(raters):
        for b in raters[i + 1:]:
            both = wide[[a, b]].dropna()
            if both.empty:
                continue
            rows.append({
                "rater_a": a, "rater_b": b, "n": len(both),
                "agreement": float((both[a] == both[b]).mean()),
                "kappa": _kappa(both[a].round(2), both[b].round(2)),
                "pearson": float(both[a].corr(both[b])) if len(both) > 1 else float("nan"),
            })
    return pd.DataFrame(rows)
