"""Your own traces: import OpenAI-format or APIGen-MT conversations as tasks, play them as an environment."""
from __future__ import annotations

from agentgym.domains.traces.importer import (
    ImportReport,
    TraceCall,
    TraceTask,
    import_traces,
    load_trace_tasks,
    sample_traces,
    save_trace_tasks,
)

__all__ = ["ImportReport", "TraceCall", "TraceTask", "import_traces", "load_trace_tasks", "sample_traces", "save_trace_tasks"]
