"""Notebook widgets (anywidget: JupyterLab 4 and marimo's `mo.ui.anywidget`). Their front end
lives in the repository's `widgets/` folder; all logic is in `agentgym.workbench`, which tests and
scripts drive without a browser."""
from agentgym.extras import require

require("anywidget", "agentgym's notebook widgets")  # named, with the install, before views imports it
from agentgym.widgets.views import JudgeInspector, Stepper, TrajectoryBrowser, show_dashboard  # noqa: E402

__all__ = ["JudgeInspector", "Stepper", "TrajectoryBrowser", "show_dashboard"]
