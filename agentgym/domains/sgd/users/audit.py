"""How real is the simulated user? Replay real SGD dialogues turn by turn and compare.

At each user turn the simulator gets the real history (its state is teacher-forced with the real
user's earlier acts) and the real system utterance, which its NLU reads from text. Its acts and
words are compared with the real user's.
"""
from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus
from agentgym.domains.sgd.schema import domain
from agentgym.domains.sgd.tasks import Act, turn_acts
from agentgym.domains.sgd.users.goal_user import UserModel, candidate_values, offerable_intents, static_candidates
from agentgym.domains.sgd.users.nlu import find_values
from agentgym.domains.sgd.users.realism import TextAudit
from agentgym.domains.sgd.users.state import UserState
from agentgym.domains.sgd.users.wording import check_wording, realized
from agentgym.domains.sgd.values import text_key


class _F1:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0

    def add(self, pred: Counter, gold: Counter) -> None:
        self.tp += sum((pred & gold).values())
        self.fp += sum((pred - gold).values())
        self.fn += sum((gold - pred).values())

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 1.0


def distinct_2(texts: list[str]) -> float:
    """Distinct bigrams over all bigrams (higher = more varied wording)."""
    grams = [tuple(ws[i:i + 2]) for t in texts for ws in [t.lower().split()] for i in range(len(ws) - 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def text_contradictions(text: str, task: Any, candidates: dict[tuple[str, str], set[str]],
                        offered: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """(slot, value) written in `text` that contradict the goal: the goal fixes the slot to another value,
    the slot is not open to offers, and nobody offered that value in the dialogue."""
    out = []
    for slot, value, _, _ in find_values(text, candidates):
        allowed = {text_key(v) for g in task.goal for s, v in g.informed if s == slot}
        if not allowed or text_key(value) in allowed or (slot, text_key(value)) in offered:
            continue
        if any(slot in g.accepted for g in task.goal):
            continue
        out.append((slot, value))
    return out


def audit_user(model: UserModel, corpus: SGDCorpus, max_dialogues: int | None = None, seed: int = 0,
               progress: bool = False, persona: Any = None, realize: Any = None,
               texts_out: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Metrics of the simulator against the real users of `corpus` (see module docstring).

    realize: an LLM wording of the user's acts, `realize(acts, task, history, template) -> str | None`
    (`llm_user.hybrid_realizer`, `dspy_user.program_realizer`; None: the call failed). Each wording is
    checked as the env checks it (`wording.check_wording`) and replaced by the template when it fails;
    the text metrics read what would have been shown, and `llm_fallback_rate` says how often.
    texts_out: a list that gets every user turn as ("sim", text) and ("human", text) (for `realism.naturalness`)."""
    import random

    from tqdm.auto import tqdm

    nlu_pairs, nlu_types = _F1(), _F1()
    user_acts, user_types = _F1(), _F1()
    informs = realized_n = contradictions = turns = llm_turns = llm_fallbacks = 0
    sim_texts: list[str] = []
    human_texts: list[str] = []
    latency: list[float] = []
    rng = random.Random(seed)
    model.nlg.add_services(corpus.services)
    texts = TextAudit(model.domains, model.nlg.natural)
    dialogues = corpus.dialogues[:max_dialogues] if max_dialogues else corpus.dialogues
    tasks = corpus.tasks[: len(dialogues)]
    for task, dialogue in tqdm(list(zip(tasks, dialogues, strict=True)), desc="dialogues", disable=not progress):
        state = UserState(task)
        static = static_candidates(task, corpus.services)
        rows: list[tuple[str, dict[str, str]]] = []
        last_sys: list[Act] = []
        prev_user: list[str] = []
        service = task.services[0]
        understand_s = 0.0
        doms = {domain(s) for s in task.services}
        slots = {sl for s in task.services if s in corpus.services for sl in corpus.services[s].slots}
        flags = {sl.name for s in task.services if s in corpus.services for sl in corpus.services[s].slots.values()
                 if set(sl.possible_values) == {"True", "False"}}
        said_sim: list[str] = []
        said_human: list[str] = []
        history: list[tuple[str, str]] = []
        opening = True
        for turn in dialogue["turns"]:
            gold = turn_acts(turn)
            if turn["speaker"] == "SYSTEM":
                history.append(("Agent", turn["utterance"]))
                calls = [f for f in turn["frames"] if f.get("service_call")]
                for f in calls:
                    rows.extend((f["service"], r) for r in f.get("service_results") or [])
                if calls:
                    service = calls[-1]["service"]
                elif state.current is not None:
                    service = state.current.goal.service
                t0 = time.perf_counter()
                last_sys = model.nlu.parse(turn["utterance"], service, corpus.services, candidate_values(static, rows[-50:]),
                                           offerable_intents(state, service, corpus.services), prev_user)
                understand_s = time.perf_counter() - t0
                nlu_pairs.add(Counter((a, s) for _, a, s, _ in last_sys), Counter((a, s) for _, a, s, _ in gold))
                nlu_types.add(Counter({a for _, a, _, _ in last_sys}), Counter({a for _, a, _, _ in gold}))
                continue
            t0 = time.perf_counter()
            state.observe_system(last_sys)
            pred = model.policy.decide(state, rng, persona)
            text = model.nlg.realize(pred, rng, "opening" if opening else "reply")
            latency.append(understand_s + time.perf_counter() - t0)  # a user turn = read the agent + decide + word it
            if realize is not None:
                worded = realize(pred, task, history, text)
                llm_turns += 1
                known = {str(v) for _, r in rows for v in r.values()} | {v[0] for _, _, _, v in last_sys if v}
                if worded is None or check_wording(worded, pred, task, known=known, candidates=candidate_values(static, rows[-50:]),
                                                   classifier=model.domains):
                    llm_fallbacks += 1
                else:
                    text = worded
            history.append(("Customer", turn["utterance"]))
            turns += 1
            user_acts.add(Counter((a, s, text_key(v[0]) if v else "") for _, a, s, v in pred),
                          Counter((a, s, text_key(v[0]) if v else "") for _, a, s, v in gold))
            user_types.add(Counter({a for _, a, _, _ in pred}), Counter({a for _, a, _, _ in gold}))
            for svc_name, act, slot, values in pred:
                if act == "INFORM" and values:
                    informs += 1
                    realized_n += realized(text, slot, values[0])
                    allowed = {text_key(v) for g in task.goal if g.service == svc_name for s, v in g.informed if s == slot}
                    open_to_offers = any(slot in g.accepted for g in task.goal if g.service == svc_name)
                    if values[0] != "dontcare" and not open_to_offers and text_key(values[0]) not in allowed:
                        contradictions += 1
            cand = candidate_values(static, rows[-50:])
            offered = {(sl, text_key(v)) for _, r in rows for sl, v in r.items()} | {
                (sl, text_key(v[0])) for _, _, sl, v in last_sys if v}
            for side, words, earlier in (("sim", text, said_sim), ("human", turn["utterance"], said_human)):
                texts.add(side, words, task_domains=doms, slots=slots, flags=flags, earlier=earlier, task_id=task.task_id,
                          contradictions=len(text_contradictions(words, task, cand, offered)), opening=opening)
                earlier.append(words)
            opening = False
            sim_texts.append(text)
            human_texts.append(turn["utterance"])
            if texts_out is not None:
                texts_out += [("sim", text), ("human", turn["utterance"])]
            state.observe_user(gold)
            prev_user = [a for _, a, _, _ in gold]
    ms = [1000 * x for x in latency]
    sim_d2, human_d2 = distinct_2(sim_texts), distinct_2(human_texts)
    return {
        "dialogues": len(dialogues),
        "user_turns": turns,
        "nlu_act_f1": round(nlu_types.f1, 4),
        "nlu_act_slot_f1": round(nlu_pairs.f1, 4),
        "user_act_f1": round(user_acts.f1, 4),
        "user_act_type_f1": round(user_types.f1, 4),
        "slot_value_realization": round(realized_n / informs, 4) if informs else 1.0,
        "goal_contradictions": contradictions,
        "distinct_2_sim": round(sim_d2, 4),
        "distinct_2_human": round(human_d2, 4),
        "distinct_2_ratio": round(sim_d2 / human_d2, 4) if human_d2 else 0.0,
        "latency_ms_median": round(statistics.median(ms), 4) if ms else 0.0,
        "latency_ms_p90": round(sorted(ms)[int(0.9 * (len(ms) - 1))], 4) if ms else 0.0,
        **({"llm_worded_turns": llm_turns, "llm_fallback_rate": round(llm_fallbacks / llm_turns, 4) if llm_turns else 0.0}
           if realize is not None else {}),
        **texts.metrics(),
        "templates_dropped": dict(model.nlg.dropped),
    }
