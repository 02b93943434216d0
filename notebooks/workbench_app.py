"""agentgym workbench — a marimo app: step a conversation by hand, rate it, browse stored episodes
and training rollouts, read the judge's reasoning, watch the dashboard.

    marimo run notebooks/workbench_app.py            # serve on loopback
    AGENTGYM_STORE=my-store marimo run notebooks/workbench_app.py
    agentgym export-app --demo --out site/workbench.html   # the demo page (a static snapshot)
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="agentgym workbench")


@app.cell
def _():
    import os

    import marimo as mo

    from agentgym.widgets import JudgeInspector, Stepper, TrajectoryBrowser
    from agentgym.workbench import dashboard_figures
    from agentgym.workbench.demo import seed_demo

    store_path = os.environ.get("AGENTGYM_STORE", "agentgym-store")
    snapshot = bool(os.environ.get("AGENTGYM_SNAPSHOT"))  # set by export-app: the page is static HTML
    if os.environ.get("AGENTGYM_DEMO"):  # the demo: baselines and a trained version played, judged and rated first
        seed_demo(store_path, progress=True)
    return JudgeInspector, Stepper, TrajectoryBrowser, dashboard_figures, mo, os, snapshot, store_path


@app.cell
def _(mo, os, snapshot, store_path):
    _note = mo.callout(mo.md(
        "**A static snapshot.** This page shows what the store held when it was exported: the conversations, "
        "verdicts and charts are real, but no Python runs behind it, so the buttons do nothing here. "
        "To play and rate live: `make app` (or `marimo run notebooks/workbench_app.py`)."), kind="warn") if snapshot else None
    _intro = mo.md(f"""
    # agentgym workbench
    Play the agent by hand against the simulated user: write a message, or build a tool call from
    its form. Rate any agent step or the whole episode; every rating is saved to the experience
    store (`{os.path.basename(os.path.normpath(store_path)) if snapshot else store_path}`) the moment you click.
    """)
    mo.vstack([_intro, _note] if _note is not None else [_intro])
    return


@app.cell
def _(Stepper, mo, store_path):
    stepper = mo.ui.anywidget(Stepper(store_path, seed=0, reveal_goal=True, rater="marimo"))
    stepper  # noqa: B018 - marimo shows a cell's last expression
    return (stepper,)


@app.cell
def _(dashboard_figures, mo, stepper):
    _ = stepper.value  # redraw after every step or rating
    figures = dashboard_figures(stepper.widget.session.store)
    mo.vstack([mo.md("## Dashboard"),
               mo.hstack([figures["by_version"], figures["rewards"]], widths="equal"),
               mo.hstack([figures["human_vs_judge"], figures["cost"]], widths="equal")])
    return


@app.cell
def _(TrajectoryBrowser, mo, stepper):
    _ = stepper.value  # new episodes appear as you play
    browser = mo.ui.anywidget(TrajectoryBrowser(stepper.widget.session.store))
    mo.vstack([mo.md("## Stored episodes and training rollouts\nFilter by agent, version, task, training run or step; "
                     "open one to replay it turn by turn."), browser])
    return (browser,)


@app.cell
def _(JudgeInspector, mo, stepper):
    _ = stepper.value
    _store = stepper.widget.session.store
    _judged = _store.verdicts()
    if _judged.empty:
        _out = mo.md("## Judge inspector\nNo verdict yet: configure a judge (`judge=` on the env) or play the demo store.")
    else:
        _last = _judged.iloc[-1]
        _step = None if _last["step_idx"] != _last["step_idx"] or _last["step_idx"] is None else int(_last["step_idx"])
        _out = mo.vstack([mo.md("## Judge inspector\nThe latest verdict: score, criteria, reasoning and the exact prompt, "
                                "next to the ratings of the same episode."),
                          mo.ui.anywidget(JudgeInspector(_store, _last["episode_id"], _step))])
    _out  # noqa: B018
    return


if __name__ == "__main__":
    app.run()
