"""The widgets: a `state` trait the front end renders (assigned afresh on every change, since
in-place edits of dict traits do not sync) and a `command` trait the front end sets (with a nonce,
so the same click twice still fires). A failing command never disappears: its message is shown in
the widget (`state["error"]`) and kept in `.errors`."""
from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from agentgym.store import ExperienceStore, as_store
from agentgym.workbench import StepSession, episode_turns, find_episodes, judge_record
from agentgym.workbench.dashboard import dashboard_figures


def _asset(name: str) -> Path:
    """The front-end file: packaged beside this module in a wheel, in `widgets/` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "static" / name, here.parents[1] / "widgets" / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"Widget asset {name} is missing: reinstall agentgym (pip install 'agentgym-workbench[widgets]').")


class _View(anywidget.AnyWidget):
    _esm = _asset("workbench.js")
    _css = _asset("workbench.css")
    kind = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Dict({}).tag(sync=True)
    command = traitlets.Dict({}).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.errors: list[str] = []
        self._handlers: dict[str, Callable[..., Any]] = {}
        self.observe(self._on_command, names="command")

    def _on_command(self, change: dict[str, Any]) -> None:
        cmd = dict(change["new"] or {})
        if cmd:
            self.handle(cmd)

    def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Run one front-end command (also the way tests and scripts click buttons)."""
        name = cmd.pop("cmd", None)
        cmd.pop("nonce", None)
        try:
            if name not in self._handlers:
                raise ValueError(f"Unknown command {name!r}; known: {', '.join(sorted(self._handlers))}.")
            view = self._handlers[name](**cmd)
            self.state = {**view, "error": ""}
        except Exception as e:  # shown to the person instead of vanishing in the kernel log
            message = f"{type(e).__name__}: {e.args[0] if isinstance(e, KeyError) and e.args else e}"
            self.errors.append(message + "\n" + traceback.format_exc())
            self.state = {**self.state, "error": message}
        return self.state


class Stepper(_View):
    """Step an episode by hand and rate it; every step and rating goes to the store at once.

        Stepper(store="agentgym-store")              # a random task of agentgym/SGD-v0
        Stepper(store, task_id="1_00000", reveal_goal=True, scale="1-5")
    """

    tasks = traitlets.List([]).tag(sync=True)

    def __init__(self, store: ExperienceStore | str = "agentgym-store", *, task_id: str | None = None, seed: int = 0,
                 reveal_goal: bool = False, scale: str = "thumbs", rater: str = "anonymous",
                 session: StepSession | None = None, **session_kwargs: Any) -> None:
        super().__init__(kind="stepper")
        from agentgym.workbench.session import RatingScale

        self.session = session or StepSession(store=store, rater=rater, rating=RatingScale(scale), **session_kwargs)
        s = self.session
        self.tasks = s.task_ids[:500]  # the task picker's suggestions: sent once, not with every step
        self._handlers = {
            "start": lambda task_id=None, seed=None, reveal_goal=None: s.start(task_id or None, seed, reveal_goal),
            "send": lambda text: s.send(text),
            "call_tool": lambda name, arguments: s.call_tool(name, arguments),
            "undo": s.undo, "restart": s.restart,
            "rate": lambda value, step_idx=None, tags=(), comment="": s.rate(value, step_idx=step_idx, tags=tags, comment=comment),
            "retag": lambda step_idx=None, tags=(), comment="": s.retag(step_idx=step_idx, tags=tags, comment=comment),
        }
        self.handle({"cmd": "start", "task_id": task_id, "seed": seed, "reveal_goal": reveal_goal})


class JudgeInspector(_View):
    """The judge's score, per-criterion scores, reasoning and exact prompt for an episode or a step,
    next to the human ratings of the same thing."""

    def __init__(self, store: ExperienceStore | str, episode_id: str, step_idx: int | None = None) -> None:
        super().__init__(kind="inspector")
        self.store = as_store(store)
        self._handlers = {"show": lambda episode_id=episode_id, step_idx=None: judge_record(self.store, episode_id, step_idx)}
        self.handle({"cmd": "show", "episode_id": episode_id, "step_idx": step_idx})


class TrajectoryBrowser(_View):
    """Filter stored episodes (agent, version, task, reward, rated; training run and step), open one,
    replay it turn by turn."""

    def __init__(self, store: ExperienceStore | str = "agentgym-store", **filters: Any) -> None:
        super().__init__(kind="browser")
        self.store = as_store(store)
        self.filters: dict[str, Any] = {}
        self._handlers = {"filter": self._filter, "open": self._open}
        self.handle({"cmd": "filter", **filters})

    def _table(self) -> list[dict[str, Any]]:
        df = find_episodes(self.store, **self.filters)
        df = df.astype(object).where(df.notna(), None)
        return df.to_dict("records")

    def _filter(self, **filters: Any) -> dict[str, Any]:
        clean = {k: v for k, v in filters.items() if v not in (None, "")}
        for key, kind in (("min_reward", float), ("max_reward", float), ("step", int)):
            if key in clean:
                try:
                    clean[key] = kind(clean[key])
                except (TypeError, ValueError):
                    raise ValueError(f"{key} must be a {'whole ' if kind is int else ''}number, got {clean[key]!r}.") from None
        if "rated" in clean and isinstance(clean["rated"], str):
            clean["rated"] = {"yes": True, "no": False}.get(clean["rated"])
            if clean["rated"] is None:
                del clean["rated"]
        self.filters = clean
        return {"filters": clean, "episodes": self._table(), "open": None, "turns": []}

    def _open(self, episode_id: str) -> dict[str, Any]:
        return {"filters": self.filters, "episodes": self._table(), "open": episode_id,
                "turns": episode_turns(self.store, episode_id)}


def show_dashboard(store: ExperienceStore | str = "agentgym-store") -> dict[str, Any]:
    """The dashboard's plotly figures, displayed in a notebook (and returned)."""
    store = as_store(store)
    figs = dashboard_figures(store)
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            for fig in figs.values():
                display(fig)
    except ImportError:
        pass
    return figs
