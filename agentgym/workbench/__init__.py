"""The workbench's plain-Python state: what the notebook widgets and the marimo app show and do.
Every action is a method a script or a test can call; the widgets only render this state."""
from agentgym.workbench.browser import episode_turns, find_episodes
from agentgym.workbench.dashboard import dashboard_figures
from agentgym.workbench.inspector import judge_record
from agentgym.workbench.session import RatingScale, StepSession

__all__ = ["RatingScale", "StepSession", "dashboard_figures", "episode_turns", "find_episodes", "judge_record"]
