"""New tasks from the corpus's own parts: goals recombined across services, changes of mind, impatient users.

Every candidate is built only from what the corpus recorded (its goals, its slot values, its result
tables), then validated (`agentgym.domains.sgd.scenarios.validate`) before it is kept. Families:

- `recombine`: two single-service tasks of different domains become one two-intent task; a slot of
  the second that means the same as one of the first (`related_slots`: city ~ location, date ~ date)
  carries the first's value over, when the second service's recorded rows know that value.
- `change_of_mind`: the user asks for one value of a slot, then changes it to another value the
  service's recorded rows know; the booking must use the second.
- `impatient`: a recorded goal with a user who answers a question once (`patience=0`).
- `withholding`: a recorded goal with a user who volunteers nothing (`withhold=True`): the agent must ask.
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.schema import domain, related_slots
from agentgym.domains.sgd.tasks import Task

FAMILIES = ("recombine", "change_of_mind", "impatient", "withholding")


def known_values(corpus: SGDCorpus) -> dict[tuple[str, str], dict[str, str]]:
    """(service, slot) → {comparison key: value as recorded} from result rows, recorded calls, users' goals and the schema."""
    out: dict[tuple[str, str], dict[str, str]] = {}

    def add(service: str, slot: str, value: str) -> None:
        out.setdefault((service, slot), {}).setdefault(corpus.key(service, slot, value), value)

    for (service, _intent), rows in corpus.tables.rows.items():
        for row in rows:
            for slot, value in row.items():
                add(service, slot, value)
    for t in corpus.tasks:
        for c in t.recorded_calls:
            for slot, value in c.args.items():
                add(c.service, slot, value)
        for g in t.goal:  # what real users asked for (alarm names, free text) exists too
            for slot, value in g.informed:
                add(g.service, slot, value)
    for name, svc in corpus.services.items():
        for slot in svc.slots.values():
            for value in slot.possible_values:
                add(name, slot.name, value)
    return out


def _transactional(corpus: SGDCorpus) -> list[tuple[Task, str]]:
    """(task, service) for every service of a task whose goal ends in a recorded transaction."""
    return [(t, g.service) for t in corpus.tasks for g in t.goal if g.transactional and g.expected_calls]


def _pick_part(corpus: SGDCorpus, rng: np.random.Generator) -> tuple[Task, str, list, list] | None:
    """A random (task, service) with a recorded transaction, and that service's goals and calls."""
    pool = _transactional(corpus)
    if not pool:
        return None
    a, service = pool[int(rng.integers(len(pool)))]
    return (a, service, *_part(a, service))


def _part(task: Task, service: str) -> tuple[list, list]:
    """The goals and recorded calls of one service of a task (a self-contained piece of a dialogue)."""
    return ([copy.deepcopy(g) for g in task.goal if g.service == service],
            [c for c in task.recorded_calls if c.service == service])


def recombine(corpus: SGDCorpus, rng: np.random.Generator, values: dict[tuple[str, str], dict[str, str]]) -> Task | None:
    pool = _transactional(corpus)
    if len(pool) < 2:
        return None
    a, sa = pool[int(rng.integers(len(pool)))]
    others = [(t, s) for t, s in pool if domain(s) != domain(sa)]
    if not others:
        return None
    b, sb = others[int(rng.integers(len(others)))]
    first, calls_a = _part(a, sa)
    second, calls_b = _part(b, sb)
    carried = {}
    said = {slot: value for g in first for slot, value in g.informed}
    for g in second:
        for i, (slot, _value) in enumerate(g.informed):
            for src, value in said.items():
                known = values.get((g.service, slot), {})
                if related_slots(src, slot) and corpus.key(g.service, slot, value) in known:
                    g.informed[i] = (slot, known[corpus.key(g.service, slot, value)])
                    for call in g.expected_calls:
                        if slot in call.args:
                            call.args[slot] = g.informed[i][1]
                    carried[slot] = src
                    break
    return Task("", "generated", [sa, sb], first + second, [], calls_a + calls_b,
                {"family": "recombine", "sources": [f"{a.task_id}:{sa}", f"{b.task_id}:{sb}"], "carried": carried})


def change_of_mind(corpus: SGDCorpus, rng: np.random.Generator, values: dict[tuple[str, str], dict[str, str]]) -> Task | None:
    picked = _pick_part(corpus, rng)
    if picked is None:
        return None
    a, service, goal, calls = picked
    options = [(g, slot, value) for g in goal if g.transactional and g.expected_calls
               for slot, value in g.informed if g.expected_calls[0].sources.get(slot) == "user"]
    if not options:
        return None
    g, slot, value = options[int(rng.integers(len(options)))]
    known = values.get((g.service, slot), {})
    alternatives = sorted(v for k, v in known.items() if k != corpus.key(g.service, slot, value))
    if not alternatives:
        return None
    new = alternatives[int(rng.integers(len(alternatives)))]
    g.informed.append((slot, new))
    for call in g.expected_calls:
        call.args[slot] = new
    return Task("", "generated", [service], goal, [], calls,
                {"family": "change_of_mind", "sources": [f"{a.task_id}:{service}"], "changed": {"slot": slot, "from": value, "to": new}})


def _with_persona(family: str, knobs: dict[str, object]) -> Callable[..., Task | None]:
    def build(corpus: SGDCorpus, rng: np.random.Generator, values: dict[tuple[str, str], dict[str, str]]) -> Task | None:
        picked = _pick_part(corpus, rng)
        if picked is None:
            return None
        a, service, goal, calls = picked
        return Task("", "generated", [service], goal, [], calls,
                    {"family": family, "sources": [f"{a.task_id}:{service}"], "persona": dict(knobs)})
    return build


impatient = _with_persona("impatient", {"patience": 0})
withholding = _with_persona("withholding", {"withhold": True})


BUILDERS: dict[str, Callable[[SGDCorpus, np.random.Generator, dict[tuple[str, str], dict[str, str]]], Task | None]] = {
    "recombine": recombine, "change_of_mind": change_of_mind, "impatient": impatient, "withholding": withholding,
}
