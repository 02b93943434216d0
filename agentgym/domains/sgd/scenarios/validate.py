"""A generated task is kept only if it is provably valid: every check below passes, and the results
are stored with the task (`meta.validation`)."""
from __future__ import annotations

from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.tasks import Task

CHECKS = ("schema_valid", "values_exist", "scripted_solves", "noop_fails", "deterministic")


def schema_problems(task: Task, corpus: SGDCorpus) -> list[str]:
    """Services, intents and slots the corpus's schema does not have."""
    out = []
    for g in task.goal:
        svc = corpus.services.get(g.service)
        if svc is None:
            out.append(f"unknown service {g.service}")
            continue
        intent = svc.intents.get(g.intent)
        if intent is None:
            out.append(f"{g.service} has no intent {g.intent}")
            continue
        for slot, _ in g.informed:
            if slot not in svc.slots:
                out.append(f"{g.service} has no slot {slot}")
        allowed = set(intent.required_slots) | set(intent.optional_slots)
        for call in g.expected_calls:
            extra = set(call.args) - allowed
            if extra:
                out.append(f"{g.service}.{g.intent} takes no argument(s) {', '.join(sorted(extra))}")
    return out


def unknown_values(task: Task, corpus: SGDCorpus, values: dict[tuple[str, str], dict[str, str]]) -> list[str]:
    """Goal values the corpus never recorded for that slot (so no table could answer for them)."""
    out = []
    for g in task.goal:
        for slot, value in g.informed:
            if corpus.key(g.service, slot, value) not in values.get((g.service, slot), {}):
                out.append(f"{g.service}.{slot}={value!r}")
    return out


def play(task: Task, corpus: SGDCorpus, agent: Any, seed: int, max_turns: int = 40) -> tuple[bool, str]:
    """(success, transcript) of one episode of `agent` on `task`."""
    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.runner import play_episode

    env = SGDEnv(corpus=corpus, tasks=[task], max_turns=max_turns)
    ep = play_episode(env, agent, seed, task.task_id)
    return ep.success, "\n".join(f"{m['role']}: {m.get('content')}" for m in ep.messages)


def validate(task: Task, corpus: SGDCorpus, values: dict[tuple[str, str], dict[str, str]], seed: int = 0) -> dict[str, Any]:
    """Each check's outcome (True/False) and, for a failed one, why."""
    from agentgym.agents import NoopAgent
    from agentgym.domains.sgd.agents import ScriptedAgent

    out: dict[str, Any] = {}
    problems = schema_problems(task, corpus)
    out["schema_valid"] = not problems
    if problems:
        out["why"] = "; ".join(problems)
        return out
    unknown = unknown_values(task, corpus, values)
    out["values_exist"] = not unknown
    if unknown:
        out["why"] = "values the corpus never recorded: " + ", ".join(unknown)
        return out
    solved, transcript = play(task, corpus, ScriptedAgent(), seed)
    out["scripted_solves"] = solved
    if not solved:
        out["why"] = "the scripted agent does not solve it"
        return out
    out["noop_fails"] = not play(task, corpus, NoopAgent(), seed)[0]
    if not out["noop_fails"]:
        out["why"] = "an agent that does nothing succeeds"
        return out
    out["deterministic"] = play(task, corpus, ScriptedAgent(), seed)[1] == transcript
    if not out["deterministic"]:
        out["why"] = "the same seed played twice gave two episodes"
    return out


def passed(checks: dict[str, Any]) -> bool:
    return all(checks.get(c) is True for c in CHECKS)
