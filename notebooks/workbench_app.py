"""agentgym workbench — a marimo app: step a conversation by hand, rate it, watch the dashboard.

    marimo run notebooks/workbench_app.py            # serve on loopback
    AGENTGYM_STORE=my-store marimo run notebooks/workbench_app.py
    marimo export html notebooks/workbench_app.py -o workbench.html
"""
import marimo

__generated_with = "0.25.2"
app = marimo.App(width="full", app_title="agentgym workbench")


@app.cell
def _():
    import os

    import marimo as mo

    from agentgym.widgets import Stepper
    from agentgym.workbench import dashboard_figures

    store_path = os.environ.get("AGENTGYM_STORE", "agentgym-store")
    return Stepper, dashboard_figures, mo, store_path


@app.cell
def _(mo, store_path):
    mo.md(f"""
    # agentgym workbench
    Play the agent by hand against the simulated user: write a message, or build a tool call from
    its form. Rate any agent step or the whole episode; every rating is saved to the experience
    store (`{store_path}`) the moment you click.
    """)
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


if __name__ == "__main__":
    app.run()
