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
        import plotly.graph_objects as go

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
            self._handle = display(self.figure(), display_id=True)
        else:
            self._handle.update(self.figure())
