"""The tool mocker: answers tool calls from every result row the corpus recorded.

A call is answered, in order of preference, by (1) the results recorded for exactly this call in
the task's own dialogue, (2) the corpus rows of that (service, intent) that agree with every
argument, (3) the rows that agree with most arguments, relabelled with the call's values, so an
unseen combination still gets consistent, realistic answers. Transactions succeed with a
confirmation that echoes the arguments, or fail where SGD recorded a failure for those arguments —
and are refused when an identifying argument (a name or id a search of that service returns) names an
entity the world does not have: a real service would not book a therapist it does not list, and
relabelling the closest row would let an embellished, misspelled or invented name through.
Everything is a pure function of (seed, call), so the same episode replays byte for byte.
"""
from __future__ import annotations

import random
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.tasks import Task
from agentgym.domains.sgd.tools import DONTCARE, Tool, check_arguments

ArgsKey = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class ToolResult:
    """What one call returned; `content` is what the agent sees (as JSON)."""

    tool: str
    arguments: dict[str, Any]
    canonical_args: dict[str, str]
    content: dict[str, Any]
    ok: bool
    error: str | None = None
    service: str | None = None
    intent: str | None = None
    transactional: bool = False
    simulated: bool = False  # answered by an LLM tool simulator (no recorded row agreed with the call)
    _values: list[tuple[str, str, str]] | None = None  # (slot, value, key) of every returned row, computed once

    def rows(self) -> list[dict[str, str]]:
        """Every row this call returned: search results, a booking's confirmation, alternatives."""
        c = self.content
        result = [c["result"]] if isinstance(c.get("result"), dict) else []
        return [r for r in [*(c.get("results") or ()), *result, *(c.get("alternatives") or ())] if isinstance(r, dict)]

    def values(self, key: Callable[[str, str, object], str]) -> list[tuple[str, str, str]]:
        """Every (slot, value, comparison key) this call returned, for the reward's checks."""
        if self._values is None:
            self._values = [(slot, v, key(self.service or "", slot, v)) for row in self.rows() for slot, v in row.items()]
        return self._values


@dataclass(slots=True)
class _Table:
    rows: list[dict[str, str]]
    columns: set[str]
    index: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    spelling: dict[tuple[str, str], str] = field(default_factory=dict)  # (slot, key) -> value as recorded


class ToolMocker:
    """Answers calls to the tools of one corpus; `set_task` adds the task's recorded results."""

    def __init__(self, corpus: SGDCorpus, seed: int = 0, max_results: int = 5, simulator: Any = None) -> None:
        self.corpus = corpus
        self.simulator = simulator  # e.g. agentgym.llm.toolsim.LLMToolSimulator: answers searches no recorded row agrees with
        self.seed = seed
        self.max_results = max_results
        self._tables: dict[tuple[str, str], _Table] = {}
        self._recorded: dict[tuple[str, str, ArgsKey], tuple[str, list[dict[str, str]]]] = {}
        self._entities: dict[tuple[str, str], set[str]] = {}  # (service, slot) -> keys of the entities the corpus has
        self._task_entities: set[tuple[str, str, str]] = set()  # (service, slot, key) the task's own dialogue names

    def set_task(self, task: Task | None, seed: int | None = None) -> None:
        if seed is not None:
            self.seed = seed
        self._recorded = {}
        if self.simulator is not None and hasattr(self.simulator, "reset"):
            self.simulator.reset(self.seed)
        self._task_entities = set()
        if task is None:
            return
        for c in task.recorded_calls:
            key = self._args_key(c.service, {k: v for k, v in c.args.items()})
            self._recorded[(c.service, c.intent, key)] = (c.outcome, c.results)
            for row in [c.args, *c.results]:
                self._task_entities |= {(c.service, k, self.corpus.key(c.service, k, v)) for k, v in row.items()}
        for g in task.goal:
            self._task_entities |= {(g.service, k, self.corpus.key(g.service, k, v)) for k, v in g.informed}

    def identifying(self, tool: Tool) -> list[str]:
        """The arguments of a transaction that name an entity: free-text names, titles and ids that a search of the
        same service returns (`restaurant_name`, `therapist_name`, `property_name`, ...)."""
        svc = self.corpus.services.get(tool.service)
        if svc is None or not tool.transactional:
            return []
        searched = {sl for i in svc.intents.values() if not i.is_transactional for sl in i.result_slots}
        args = [*tool.intent.required_slots, *tool.intent.optional_slots]
        return [a for a in args if a in searched and a in svc.slots and not svc.slots[a].is_categorical
                and re.search(r"(name|title)$|_id$", a)]

    def known_entities(self, service: str, slot: str) -> set[str]:
        """Comparison keys of every value of `slot` the corpus recorded for `service` (any intent's rows)."""
        cached = self._entities.get((service, slot))
        if cached is None:
            svc = self.corpus.services.get(service)
            cached = {self.corpus.key(service, slot, row[slot]) for intent in (svc.intents if svc else ())
                      for row in self.corpus.tables.rows.get((service, intent), []) if slot in row}
            self._entities[(service, slot)] = cached
        return cached

    def _unknown_entity(self, tool: Tool, args: dict[str, str]) -> str | None:
        """Why a transaction names an entity the world does not have, or None."""
        for slot in self.identifying(tool):
            value = args.get(slot)
            if value in (None, "", DONTCARE):
                continue
            known = self.known_entities(tool.service, slot)
            key = self.corpus.key(tool.service, slot, value)
            if known and key not in known and (tool.service, slot, key) not in self._task_entities:
                searches = [i.name for i in self.corpus.services[tool.service].intents.values()
                            if not i.is_transactional and slot in i.result_slots]
                return (f"{tool.service} has no {slot.replace('_', ' ')} {value!r}: {tool.intent.name} only acts on what "
                        f"{' or '.join(searches)} returns. Search first and use a {slot} exactly as the results give it.")
        return None

    def _args_key(self, service: str, args: dict[str, str]) -> ArgsKey:
        return tuple(sorted((k, self.corpus.key(service, k, v)) for k, v in args.items() if v != DONTCARE))

    def _table(self, service: str, intent: str) -> _Table:
        t = self._tables.get((service, intent))
        if t is None:
            rows = self.corpus.tables.rows.get((service, intent), [])
            t = _Table(rows, set().union(*rows) if rows else set())
            for i, row in enumerate(rows):
                for slot, value in row.items():
                    k = (slot, self.corpus.key(service, slot, value))
                    t.index.setdefault(k, set()).add(i)
                    t.spelling.setdefault(k, value)
            self._tables[(service, intent)] = t
        return t

    def _rng(self, tool: str, key: ArgsKey) -> random.Random:
        return random.Random(zlib.crc32(f"{self.seed}|{tool}|{key}".encode()))

    def lookup(self, tool: Tool, args: dict[str, str], key: ArgsKey) -> tuple[list[dict[str, str]], int]:
        """Rows agreeing with the arguments (relabelled best matches if none), and the match count."""
        table = self._table(tool.service, tool.intent.name)
        constraints = [(k, v) for k, v in key if k in table.columns]
        if not table.rows:
            row = {**{k: v for k, v in args.items() if v != DONTCARE}}
            return [row], 1
        if constraints:
            sets = [table.index.get(c, set()) for c in constraints]
            exact = set.intersection(*sets)
        else:
            exact = set(range(len(table.rows)))
        rng = self._rng(tool.name, key)
        if exact:
            picked = sorted(exact)
            total = len(picked)
            picked = rng.sample(picked, min(self.max_results, total))
            return [dict(table.rows[i]) for i in picked], total
        votes = Counter(i for s in sets for i in s)
        best = max(votes.values()) if votes else 0
        pool = sorted(i for i, n in votes.items() if n == best) if votes else list(range(len(table.rows)))
        picked = rng.sample(pool, min(self.max_results, len(pool)))
        keys = dict(key)
        fixed = {k: table.spelling.get((k, keys[k]), v) for k, v in args.items() if k in table.columns and k in keys}
        out, seen = [], set()
        for i in picked:
            row = {**table.rows[i], **fixed}
            sig = tuple(sorted(row.items()))
            if sig not in seen:
                seen.add(sig)
                out.append(row)
        return out, len(out)

    def _agrees(self, tool: Tool, key: ArgsKey) -> bool:
        """Some recorded row of this search agrees with every argument it can be checked against."""
        table = self._table(tool.service, tool.intent.name)
        constraints = [(k, v) for k, v in key if k in table.columns]
        if not table.rows:
            return False
        return not constraints or bool(set.intersection(*[table.index.get(c, set()) for c in constraints]))

    def _simulate(self, tool: Tool, args: dict[str, str], base: dict[str, Any]) -> ToolResult:
        """Ask the simulator; its JSON becomes result rows (a list, {"results": [...]}, or one object)."""
        import json

        content, ok = self.simulator.call(tool.schema, args)
        if not ok:
            return ToolResult(**base, content={"status": "error", "error": content}, ok=False, error=content, simulated=True)
        value = json.loads(content)
        rows = value.get("results") if isinstance(value, dict) and isinstance(value.get("results"), list) else value
        rows = [r for r in (rows if isinstance(rows, list) else [rows]) if isinstance(r, dict)][: self.max_results]
        rows = [{str(k): str(v) for k, v in r.items()} for r in rows]
        return ToolResult(**base, content={"status": "ok", "count": len(rows), "results": rows}, ok=True, simulated=True)

    def call(self, tool: Tool, arguments: Any) -> ToolResult:
        args, problems = check_arguments(tool, arguments)
        base = dict(tool=tool.name, arguments=arguments if isinstance(arguments, dict) else {"_raw": arguments},
                    canonical_args=args, service=tool.service, intent=tool.intent.name, transactional=tool.transactional)
        if problems:
            msg = "; ".join(problems)
            return ToolResult(**base, content={"status": "error", "error": msg}, ok=False, error=msg)
        key = self._args_key(tool.service, args)
        recorded = self._recorded.get((tool.service, tool.intent.name, key))
        if not tool.transactional:
            if recorded is not None and recorded[1]:
                rows, total = [dict(r) for r in recorded[1]], len(recorded[1])
            elif self.simulator is not None and not self._agrees(tool, key):
                result = self._simulate(tool, args, base)  # what it invents exists in this episode's world
                self._task_entities |= {(tool.service, k, self.corpus.key(tool.service, k, v)) for r in result.rows() for k, v in r.items()}
                return result
            else:
                rows, total = self.lookup(tool, args, key)
            return ToolResult(**base, content={"status": "ok", "count": total, "results": rows}, ok=True)
        unknown = self._unknown_entity(tool, args)
        if unknown is not None:
            return ToolResult(**base, content={"status": "error", "error": unknown}, ok=False, error=unknown)
        failed = recorded if recorded is not None and recorded[0] == "failure" else None
        if failed is None:
            alts = self.corpus.tables.failures.get((tool.service, tool.intent.name, key))
            if alts is not None:
                failed = ("failure", alts)
        if failed is not None:
            content = {
                "status": "failure",
                "message": f"{tool.intent.name} could not be completed with these details.",
                "alternatives": [dict(r) for r in failed[1]],
            }
            return ToolResult(**base, content=content, ok=True)
        if recorded is not None and recorded[1]:
            row = dict(recorded[1][0])
        else:
            rows, _ = self.lookup(tool, args, key)
            row = rows[0] if rows else {}
        row.update({k: v for k, v in args.items() if v != DONTCARE})
        return ToolResult(**base, content={"status": "success", "result": row}, ok=True)
