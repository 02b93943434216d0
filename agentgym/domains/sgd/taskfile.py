"""Task files: tasks as JSON Lines (one `Task.to_dict()` per line), for generated scenarios and imported traces.

Reading keeps every valid row and reports each broken one by line number and reason (`TaskFile.problems`),
so one bad row never costs the rest; writing is atomic (a temp file renamed into place), so a
reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentgym.domains.sgd.tasks import Task
from agentgym.safeio import jsonl_rows, private_dir
from agentgym.scrub import scrub


@dataclass
class TaskFile:
    path: Path
    tasks: list[Task] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line N: what is wrong"

    def report(self) -> str:
        head = f"{self.path}: {len(self.tasks)} task(s) read"
        return head + (f", {len(self.problems)} row(s) skipped:\n  " + "\n  ".join(self.problems) if self.problems else "")


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> Path:
    """Rows (anything with `to_dict()`) as JSONL, written to a temp file and renamed into place: atomic."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{target} is a folder; give a file name, e.g. {target / 'tasks.jsonl'}.")
    private_dir(target.parent)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".partial", delete=False, encoding="utf-8") as fh:
        for row in rows:  # mkstemp: 0600; secrets masked as in the store
            fh.write(json.dumps(scrub(row.to_dict()), ensure_ascii=False) + "\n")
    os.replace(fh.name, target)
    return target


def save_tasks(path: str | os.PathLike[str], tasks: Iterable[Task]) -> Path:
    """Write tasks as JSONL atomically; returns the path."""
    return write_jsonl(path, tasks)


def schema_problem(task: Task, services: Mapping[str, Any]) -> str | None:
    """What in `task` its services' schemas do not have (an intent, an informed or requested slot), or None."""
    for g in task.goal:
        svc = services.get(g.service)
        if svc is None or not hasattr(svc, "slots"):
            continue
        if g.service not in task.services:
            return f"a goal names service {g.service}, which is not among the task's services {task.services}"
        if getattr(svc, "intents", None) and g.intent not in svc.intents:
            return f"{g.service} has no intent {g.intent!r} (it has {', '.join(svc.intents)})"
        for slot in [s for s, _ in g.informed] + list(g.requested) + list(g.accepted):
            if slot not in svc.slots:
                return (f"slot {slot!r} of {g.service}.{g.intent} is not in the schema; fix the row to use one of: "
                        f"{', '.join(sorted(svc.slots))}")
    return None


def read_tasks(path: str | os.PathLike[str], *, services: Iterable[str] | None = None,
               families: Iterable[str] | None = None) -> TaskFile:
    """Every valid task in a JSONL file (and why each other row was skipped). With `services`, a task using
    a service outside them is skipped; with `families`, only tasks whose meta.family is one of them are kept."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No task file at {p}; write one with `agentgym scenarios --out {p}` or save_tasks().")
    known = set(services) if services is not None else None
    wanted = set(families) if families is not None else None
    out = TaskFile(p)
    seen: set[str] = set()
    for n, row, why in jsonl_rows(p, "task file"):
        if why is not None:
            out.problems.append(f"line {n}: {why}")
            continue
        try:
            task = Task.from_dict(row)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as e:
            out.problems.append(f"line {n}: not a task ({type(e).__name__}: {str(e)[:300]})")
            continue
        unknown = [s for s in task.services if known is not None and s not in known]
        if unknown:
            out.problems.append(f"line {n}: task {task.task_id} uses service(s) {', '.join(unknown)} this corpus does not have")
            continue
        wrong = schema_problem(task, services) if isinstance(services, Mapping) else None
        if wrong:
            out.problems.append(f"line {n}: task {task.task_id}: {wrong}")
            continue
        if task.task_id in seen:
            out.problems.append(f"line {n}: task id {task.task_id} appears twice; the first is kept")
            continue
        if wanted is not None and task.meta.get("family") not in wanted:
            continue
        seen.add(task.task_id)
        out.tasks.append(task)
    return out
