"""A live plotly curve of a training run in a notebook: one point per logged step."""
from __future__ import annotations

from typing import Any

import pandas as pd


class LiveCurve:
    """Pass as `on_log=` to `run_sft`/`run_grpo`; redraws in place in Jupyter (display ids) and
    keeps every log row in `.frame` for scripts."""

    def __init__(self, metrics: tuple[str, ...] = ("reward", "loss"), title: str = "training") -> None:
        self.metrics, self.title = metrics, title
        self.rows: list[dict[str, Any]] = []
        self._handle: Any = None

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def figure(self) -> Any:
        from agentgym.extras import require

        go = require("plotly.graph_objects", "LiveCurve's chart")

        fig = go.Figure()
        df = self.frame
        for name in self.metrics:
            if name in df:
                d = df.dropna(subset=[name])
                fig.add_trace(go.Scatter(x=d["step"], y=d[name], mode="lines+markers", name=name))
        fig.update_layout(title=self.title, xaxis_title="step", height=320, margin=dict(l=40, r=10, t=40, b=40))
        return fig

    def __call__(self, logs: dict[str, Any]) -> None:
        self.rows.append(dict(logs))
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            widget = self._widget()
            if widget is not None:
                display(widget)
                self._handle = widget
            else:  # no widget support: one display, replaced on each log (display id)
                self._handle = display(self.figure(), display_id=True)
            return
        if hasattr(self._handle, "batch_update"):
            self._redraw(self._handle)
        else:
            self._handle.update(self.figure())

    def _widget(self) -> Any:
        """One plotly FigureWidget, updated in place on every log (the chart is drawn once and its traces change:
        re-displayed HTML figures can leave stale copies in JupyterLab). None without anywidget."""
        try:
            import plotly.graph_objects as go

            return go.FigureWidget(self.figure())
        except Exception:  # plotly's widget needs anywidget; the display-id path works without it
            return None

    def _redraw(self, widget: Any) -> None:
        fresh = self.figure()
        with widget.batch_update():
            have = {t.name: t for t in widget.data}
            for trace in fresh.data:
                if trace.name in have:
                    have[trace.name].x, have[trace.name].y = trace.x, trace.y
                else:
                    widget.add_trace(trace)
