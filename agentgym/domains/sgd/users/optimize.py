"""Optimizing the user simulator against real users: DSPy programs and the offline user's knobs.

Fidelity of one generated turn (`fidelity`) reads it back the way the simulator reads text:
values with the NLU's value finder, requested slots and the common act types by their words. It is
the F1 of those acts against the real user's acts on that turn, minus penalties for a value the
goal contradicts, a goal value disclosed before the real user disclosed it, and a turn that fails
`check_wording` (echoed prompt, loop, invented number, another domain) — that one scores 0.

`optimize_program` evaluates the unoptimized program and the optimized one on held-out dialogues
(serially: llama.cpp in process is not thread-safe) and saves the optimized program with both
scores; `tune_goal_user` grid-searches the offline user's persona knobs against the audit.
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus, load_sgd
from agentgym.domains.sgd.tasks import Act, Task, turn_acts
from agentgym.domains.sgd.users.goal_user import static_candidates
from agentgym.domains.sgd.users.nlu import find_values
from agentgym.domains.sgd.users.wording import check_wording, realized
from agentgym.domains.sgd.values import text_key
from agentgym.safeio import write_private
from agentgym.scrub import scrub

OPTIMIZERS = ("none", "labeled", "knn", "bootstrap", "random-search", "mipro", "gepa")
_REMOTE_ONLY = ("mipro", "gepa")  # instruction optimizers: they need a model that can write instructions
_TYPE_WORDS = {"THANK_YOU": r"\bthank", "GOODBYE": r"\bbye\b|\bgoodbye\b", "AFFIRM": r"\b(yes|yeah|sure|correct|right)\b",
               "NEGATE": r"\b(no|not|nope)\b"}


@dataclass
class Turn:
    """One real user turn and what the metric needs to read a generated one back."""

    task: Task
    acts: list[Act]
    said_by_now: set[str]  # goal slots the real user had disclosed up to and including this turn
    candidates: dict[tuple[str, str], set[str]]
    known: set[str]  # values said in the dialogue before this turn
    text: str
    history: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text) before this turn


def _readback(text: str, acts: list[Act], turn: Turn) -> set[tuple[str, ...]]:
    low = text.lower()
    out: set[tuple[str, ...]] = {("INFORM", s, text_key(v)) for s, v, _, _ in find_values(text, turn.candidates)}
    out |= {("INFORM", s, text_key(v[0])) for _, a, s, v in acts if a == "INFORM" and v and realized(text, s, v[0])}
    out |= {("REQUEST", s) for _, a, s, _ in turn.acts if a == "REQUEST" and any(
        w in low for w in s.split("_") if len(w) > 3)}
    out |= {(t,) for t, pat in _TYPE_WORDS.items() if re.search(pat, low)}
    return out


def _gold(acts: list[Act]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for _, a, s, v in acts:
        if a == "INFORM" and v and v[0] != "dontcare":
            out.add(("INFORM", s, text_key(v[0])))
        elif a == "REQUEST":
            out.add(("REQUEST", s))
        elif a in _TYPE_WORDS:
            out.add((a,))
    return out


def fidelity(text: str, turn: Turn) -> dict[str, float]:
    """Score of `text` as this real user's turn (see the module docstring), with its parts."""
    problems = check_wording(text, [], turn.task, known=turn.known | {v[0] for _, _, _, v in turn.acts if v})
    gold, pred = _gold(turn.acts), _readback(text, turn.acts, turn)
    tp = len(gold & pred)
    f1 = 1.0 if not gold and not pred else 2 * tp / (len(gold) + len(pred)) if gold or pred else 1.0
    informed = {(s, text_key(v)) for g in turn.task.goal for s, v in g.informed}
    early = any(p[0] == "INFORM" and (p[1], p[2]) in informed and p[1] not in turn.said_by_now for p in pred)
    contradiction = any(p[0] == "INFORM" and p[1] in {s for s, _ in informed} and (p[1], p[2]) not in informed
                        and p[2] not in {text_key(k) for k in turn.known} for p in pred)
    broken = bool(problems)
    score = 0.0 if broken else max(0.0, f1 - 0.25 * early - 0.25 * contradiction)
    return {"score": score, "f1": f1, "early": float(early), "contradiction": float(contradiction), "check_failed": float(broken)}


def real_turns(corpus: SGDCorpus, max_turns: int, seed: int = 0, skip: int = 0) -> list[Turn]:
    """Real user turns with their context, in dialogue order, from a seeded sample of dialogues."""
    import random

    order = list(range(len(corpus.dialogues)))
    random.Random(seed).shuffle(order)
    out: list[Turn] = []
    for i in order[skip:]:
        task, dialogue = corpus.tasks[i], corpus.dialogues[i]
        static = static_candidates(task, corpus.services)
        said: set[str] = set()
        known: set[str] = set()
        history: list[tuple[str, str]] = []
        for t in dialogue["turns"]:
            acts = turn_acts(t)
            if t["speaker"] == "SYSTEM":
                known |= {v[0] for _, _, _, v in acts if v}
                known |= {str(v) for f in t["frames"] for r in f.get("service_results") or [] for v in r.values()}
                history.append(("Agent", t["utterance"]))
                continue
            said |= {s for _, a, s, v in acts if a == "INFORM" and v}
            out.append(Turn(task, acts, set(said), static, set(known), t["utterance"], list(history)))
            history.append(("Customer", t["utterance"]))
            if len(out) >= max_turns:
                return out
    return out


def examples(turns: list[Turn], kind: str) -> list[Any]:
    """DSPy examples (inputs + the real message) for `turns`; `example.turn_id` indexes `turns`."""
    import dspy

    from agentgym.domains.sgd.users.dspy_user import history_text
    from agentgym.domains.sgd.users.llm_user import describe_acts, goal_text

    out = []
    for i, t in enumerate(turns):
        ex = dspy.Example(acts=describe_acts(t.acts), goal=goal_text(t.task), history=history_text(t.history),
                          message=t.text, turn_id=i)
        out.append(ex.with_inputs("acts", "goal", "history") if kind == "realizer" else ex.with_inputs("goal", "history"))
    return out


@dataclass
class Scores:
    """Per-turn fidelity of one program on held-out turns."""

    per_turn: list[float] = field(default_factory=list)
    check_failed: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        m, lo, hi = mean_ci(self.per_turn)
        return {"fidelity": round(m, 4), "fidelity_ci_low": round(lo, 4), "fidelity_ci_high": round(hi, 4),
                "readback_f1": round(statistics.fmean(self.f1), 4) if self.f1 else 0.0,
                "fallback_rate": round(statistics.fmean(self.check_failed), 4) if self.check_failed else 0.0,
                "turns": len(self.per_turn)}


def mean_ci(xs: list[float], z: float = 1.96) -> tuple[float, float, float]:
    """Mean with a normal-approximation 95% interval (turn-level scores, n ≥ 30 in practice)."""
    if not xs:
        return 0.0, 0.0, 0.0
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, m, m
    half = z * statistics.stdev(xs) / math.sqrt(len(xs))
    return m, m - half, m + half


def evaluate_program(program: Any, exs: list[Any], turns: list[Turn], lm: Any, progress: bool = False,
                     desc: str = "evaluating") -> Scores:
    """Serial evaluation (never threads: llama.cpp in process is not thread-safe)."""
    import dspy
    from tqdm.auto import tqdm

    from agentgym.domains.sgd.users.dspy_user import OneFieldAdapter

    scores = Scores()
    with dspy.context(lm=lm, adapter=OneFieldAdapter()):
        for ex in tqdm(exs, desc=desc, disable=not progress, leave=False):
            try:
                text = program(**ex.inputs()).message
            except Exception:  # noqa: BLE001 - a failed generation scores 0 like a failed check
                text = ""
            f = fidelity(text, turns[ex.turn_id])
            scores.per_turn.append(f["score"])
            scores.check_failed.append(f["check_failed"])
            scores.f1.append(f["f1"])
    return scores


def _metric(turns: list[Turn]) -> Any:
    def metric(example: Any, pred: Any, trace: Any = None, pred_name: Any = None, pred_trace: Any = None) -> Any:
        f = fidelity(getattr(pred, "message", "") or "", turns[example.turn_id])
        if pred_name is not None or pred_trace is not None:  # GEPA asks for feedback it can reflect on
            import dspy

            why = "fails the wording check" if f["check_failed"] else f"read-back F1 {f['f1']:.2f}" + (
                ", discloses a goal value early" if f["early"] else "") + (", contradicts the goal" if f["contradiction"] else "")
            return dspy.Prediction(score=f["score"], feedback=f"The real customer said: {example.message!r}. This turn {why}.")
        return f["score"] >= 0.75 if trace is not None else f["score"]
    return metric


def check_optimizer(optimizer: str, model: str | None) -> None:
    """Refuse, before any compute, an optimizer that does not exist or cannot run with this model."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}.")
    if optimizer in _REMOTE_ONLY and (model is None or model.startswith("local/")):
        raise ValueError(f"--optimizer {optimizer} rewrites instructions and needs a capable model: pass --model "
                         "(any litellm string, e.g. openai/gpt-4o-mini). Offline, use labeled, knn, bootstrap or random-search.")


def compile_program(optimizer: str, program: Any, trainset: list[Any], turns: list[Turn], budget: int, model: str | None,
                    lm: Any, seed: int = 0) -> Any:
    """`program` optimized by `optimizer` on `trainset` (budget: demos, or candidate programs for searches)."""
    import dspy

    from agentgym.domains.sgd.users.dspy_user import OneFieldAdapter

    check_optimizer(optimizer, model)
    metric = _metric(turns)
    with dspy.context(lm=lm, adapter=OneFieldAdapter()):
        if optimizer == "none":
            return program
        if optimizer == "labeled":
            return dspy.LabeledFewShot(k=budget).compile(program, trainset=trainset, sample=True)
        if optimizer == "knn":
            program.knn_k = budget
            program.knn_pool = [{k: ex[k] for k in (*ex.inputs().keys(), "message")} for ex in trainset]
            return program
        if optimizer == "bootstrap":
            return dspy.BootstrapFewShot(metric=metric, max_bootstrapped_demos=budget, max_labeled_demos=budget,
                                         max_rounds=1).compile(program, trainset=trainset)
        if optimizer == "random-search":
            return dspy.BootstrapFewShotWithRandomSearch(
                metric=metric, max_bootstrapped_demos=min(budget, 4), max_labeled_demos=min(budget, 4),
                num_candidate_programs=budget, num_threads=1).compile(program, trainset=trainset)
        strong = dspy.LM(model, cache=False)
        if optimizer == "mipro":
            return dspy.MIPROv2(metric=metric, prompt_model=strong, task_model=lm, auto="light", num_threads=1,
                                seed=seed).compile(program, trainset=trainset)
        return dspy.GEPA(metric=metric, auto="light", reflection_lm=strong, num_threads=1, seed=seed).compile(
            program, trainset=trainset)


def optimize_program(*, data_dir: str | None = None, split: str = "dev", train_split: str = "train", kind: str = "realizer",
                     optimizer: str = "labeled", model: str | None = None, budget: int = 4, train_turns: int = 40,
                     eval_turns: int = 60, out: str | Path = "program.json", seed: int = 0,
                     progress: bool = True) -> dict[str, Any]:
    """Optimize a user program on `train_split` turns, score before/after on held-out `split` turns, save it.

    Returns the scores (fidelity with its interval, read-back F1, wording-check fallback rate) of the
    unoptimized and optimized programs, their paired difference with its interval, and the saved path.
    An optimizer that fails mid-way keeps the best program so far (the unoptimized one) and says so."""
    from agentgym.domains.sgd.users.dspy_user import AgentgymLM, UserProgram, save_program

    if budget < 1:
        raise ValueError(f"--budget must be at least 1 (demos, or candidate programs for random-search), got {budget}.")
    for name, value in (("--train-turns", train_turns), ("--eval-turns", eval_turns)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1 (real user turns; nothing can be optimized or scored on none), got {value}.")
    check_optimizer(optimizer, model)
    train_corpus, eval_corpus = load_sgd(data_dir, train_split), load_sgd(data_dir, split)
    train = real_turns(train_corpus, train_turns, seed)
    held = real_turns(eval_corpus, eval_turns, seed + 1)
    trainset, heldset = examples(train, kind), examples(held, kind)
    lm = AgentgymLM(model)
    base = UserProgram(kind)
    before = evaluate_program(base, heldset, held, lm, progress, "unoptimized")
    error = None
    try:
        tuned = compile_program(optimizer, UserProgram(kind), trainset, train, budget, model, lm, seed)
    except Exception as e:  # noqa: BLE001 - keep the best program so far and say so
        tuned, error = base, f"{type(e).__name__}: {e}"
    after = evaluate_program(tuned, heldset, held, lm, progress, "optimized") if error is None else before
    diffs = [a - b for a, b in zip(after.per_turn, before.per_turn, strict=True)]
    d, lo, hi = mean_ci(diffs)
    result = {"kind": kind, "optimizer": optimizer, "model": lm.llm.model, "budget": budget, "train_turns": len(train),
              "eval_turns": len(held), "before": before.summary(), "after": after.summary(),
              "difference": {"fidelity": round(d, 4), "ci_low": round(lo, 4), "ci_high": round(hi, 4)},
              "error": error, "kept": "unoptimized (the optimizer failed)" if error else optimizer}
    calls = list(lm.llm.ledger.calls)
    result["llm_calls"], result["llm_failed"] = len(calls), sum(not c.ok for c in calls)
    result["llm_first_error"] = next((c.error for c in calls if not c.ok), None)
    result["out"] = str(save_program(tuned, out, **{k: v for k, v in result.items() if k != "out"}))
    return result


# ---- the offline user's knobs ----------------------------------------------------------------
KNOB_GRID: dict[str, list[Any]] = {"verbosity": [0.0, 0.2], "extra_slots": [0.0, 0.2], "upfront_threshold": [0.4, 0.5, 0.6]}
POLICY_KNOBS = ("upfront_threshold",)  # fitted on the policy (P(slot said with its intent) ≥ threshold → said up front)


def _with_knobs(model: Any, knobs: dict[str, Any]) -> tuple[Any, Any]:
    """(model, persona) for `knobs`: policy knobs on a copy of the model, the rest on a Persona."""
    import copy

    from agentgym.domains.sgd.users.agenda import Persona

    policy = {k: v for k, v in knobs.items() if k in POLICY_KNOBS}
    if policy:
        model = copy.copy(model)
        model.policy = copy.copy(model.policy)
        for k, v in policy.items():
            setattr(model.policy, k, v)
    return model, Persona(**{k: v for k, v in knobs.items() if k not in POLICY_KNOBS})


def tune_goal_user(*, data_dir: str | None = None, split: str = "dev", train_split: str = "train",
                   max_dialogues: int | None = 100, grid: dict[str, list[Any]] | None = None, out: str | Path = "persona.json",
                   seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """Grid-search the goal user's knobs (persona knobs and the policy's `upfront_threshold`) for the best act F1
    on `split` dialogues (ties: type F1, then fewer off-domain turns); save them for `tuned_user(out)`."""
    import itertools
    import json

    from tqdm.auto import tqdm

    from agentgym.domains.sgd.users.agenda import Persona
    from agentgym.domains.sgd.users.audit import audit_user
    from agentgym.domains.sgd.users.goal_user import load_user_model

    grid = grid or KNOB_GRID
    unknown = set(grid) - set(asdict(Persona())) - set(POLICY_KNOBS)
    if unknown:
        raise ValueError(f"Unknown knob(s) {sorted(unknown)}; knobs: {', '.join([*asdict(Persona()), *POLICY_KNOBS])}.")
    base, corpus = load_user_model(data_dir, train_split), load_sgd(data_dir, split)
    rows = []
    for combo in tqdm(list(itertools.product(*grid.values())), desc="knob settings", disable=not progress):
        knobs = dict(zip(grid, combo, strict=True))
        model, persona = _with_knobs(base, knobs)
        m = audit_user(model, corpus, max_dialogues=max_dialogues, seed=seed, persona=persona)
        rows.append({**knobs, "user_act_f1": m["user_act_f1"], "user_act_type_f1": m["user_act_type_f1"],
                     "off_domain_rate_sim": m["off_domain_rate_sim"]})
    best = max(rows, key=lambda r: (r["user_act_f1"], r["user_act_type_f1"], -r["off_domain_rate_sim"]))
    default = {"upfront_threshold": base.policy.upfront_threshold, **asdict(Persona())}
    doc = {"format": "agentgym-goal-user-knobs", "knobs": {k: best[k] for k in grid}, "scores": best, "grid": rows,
           "fitted_default": {k: default[k] for k in grid}, "data": f"{corpus.path}", "dialogues": max_dialogues}
    write_private(out, json.dumps(scrub(doc), indent=1))
    return {"best": best, "grid": rows, "out": str(out)}


def tuned_user(path: str | Path, data_dir: str | None = None, train_split: str = "train") -> Any:
    """The goal user with the knobs `tune_goal_user` saved: `gym.make("agentgym/SGD-v0", user=tuned_user(p))`."""
    from agentgym.domains.sgd.users.agenda import Persona
    from agentgym.domains.sgd.users.goal_user import GoalDrivenUser, load_user_model
    from agentgym.safeio import finite_number, loads_json, read_bounded

    try:
        doc = loads_json(read_bounded(path, "knob file", 2**20), f"The knob file {path}")
    except (OSError, ValueError) as e:
        raise ValueError(f"Cannot read tuned knobs {path} ({e}); expected the JSON `agentgym optimize-user --target goal` writes.") from None
    if not isinstance(doc, dict) or doc.get("format") != "agentgym-goal-user-knobs" or not isinstance(doc.get("knobs"), dict):
        raise ValueError(f"{path} is not a knob file from `agentgym optimize-user --target goal`.")
    knobs = doc["knobs"]
    unknown = set(knobs) - set(POLICY_KNOBS) - set(Persona.__dataclass_fields__)
    if unknown:
        raise ValueError(f"The knob file {path} has unknown knob(s) {sorted(map(str, unknown))}; known: "
                         f"{', '.join(sorted([*POLICY_KNOBS, *Persona.__dataclass_fields__]))}.")
    for k in POLICY_KNOBS:
        if k in knobs:
            finite_number(f"knob {k} in {path}", knobs[k], low=0.0, high=1.0)
    try:
        model, persona = _with_knobs(load_user_model(data_dir, train_split), knobs)
    except ValueError as e:
        raise ValueError(f"The knob file {path}: {e}") from None
    return GoalDrivenUser(model, persona=persona)
