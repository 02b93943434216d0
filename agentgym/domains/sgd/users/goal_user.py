"""The goal-driven offline user: NLU (agent text → acts) → agenda policy → NLG (acts → text).

Fast (no LLM), seeded, fitted on SGD train dialogues; `agentgym eval-user` audits how close it is
to real users. The fitted model is cached per corpus, so only the first construction pays the fit.
"""
from __future__ import annotations

import os
import random
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from agentgym import cache
from agentgym.domains.sgd.corpus import SGDCorpus, data_fingerprint, load_sgd
from agentgym.domains.sgd.tasks import Act, Task
from agentgym.domains.sgd.users.agenda import AgendaPolicy, Persona
from agentgym.domains.sgd.users.base import UserContext, UserTurn
from agentgym.domains.sgd.users.nlg import TemplateNLG
from agentgym.domains.sgd.users.nlu import SystemNLU
from agentgym.domains.sgd.users.realism import DomainClassifier, natural_slot_phrases
from agentgym.domains.sgd.users.state import UserState

MODEL_VERSION = 7
_CLOSING = {"NEGATE", "THANK_YOU", "GOODBYE"}


@dataclass
class UserModel:
    """The fitted parts of the simulator."""

    nlu: SystemNLU
    policy: AgendaPolicy
    nlg: TemplateNLG
    fitted_on: str
    domains: DomainClassifier  # which domain a user turn is about (the NLG's and the audit's reader)

    @classmethod
    def fit(cls, corpus: SGDCorpus) -> UserModel:
        dialogues = corpus.dialogues
        domains = DomainClassifier.fit(dialogues)
        natural = natural_slot_phrases(dialogues, corpus.services)
        return cls(
            SystemNLU.fit(dialogues, corpus.services),
            AgendaPolicy.fit(corpus.tasks, dialogues),
            TemplateNLG.fit(dialogues, corpus.services, domains, natural),
            f"{corpus.path} ({len(dialogues)} dialogues)",
            domains,
        )


_MODELS: dict[str, UserModel] = {}


@lru_cache(maxsize=1)
def _code_hash() -> str:
    """A fitted model is only reused by the code that fitted it (a stale cache would lie quietly)."""
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha1()
    for f in sorted([*here.glob("*.py"), here.parent / "values.py", here.parent / "tasks.py"]):
        h.update(f.read_bytes())
    return h.hexdigest()[:10]


# the fit's cost on the 2-core build machine: ~7 s fixed + ~4.5 ms a dialogue (embedded 504: 9 s; full train 12,174: 59 s)
FIT_SECONDS_FIXED, FIT_SECONDS_PER_DIALOGUE = 7.0, 0.0045


def load_user_model(data_dir: str | os.PathLike[str] | None = None, split: str = "train", *, use_cache: bool = True) -> UserModel:
    """The user model fitted on `split` (default: the embedded sample's train split), cached on disk."""
    corpus = load_sgd(data_dir, split)
    key = f"user-{MODEL_VERSION}-{_code_hash()}-{split}-{data_fingerprint(corpus.path)}"
    if use_cache and key in _MODELS:
        return _MODELS[key]
    model = cache.load(f"{key}.pkl") if use_cache else None  # signed by us, else None: never unpickled
    if not isinstance(model, UserModel):
        with cache.first_time(f"fitting the goal-driven user on the {len(corpus.tasks):,} dialogues of SGD's "
                              f"{split} split", f"about {max(10, round(FIT_SECONDS_FIXED + len(corpus.tasks) * FIT_SECONDS_PER_DIALOGUE, -1)):.0f} s"
                              " on a 2-core CPU"):
            model = UserModel.fit(corpus)
        if use_cache:
            cache.save(f"{key}.pkl", model)
    if use_cache:
        _MODELS[key] = model
    return model


def offerable_intents(state: UserState, service: str, services: dict[str, Any]) -> list[str]:
    """Intents an agent's OFFER_INTENT about `service` may mean, most likely first."""
    nxt = state.next_intent()
    if nxt is not None and nxt.goal.service == service:
        return [nxt.goal.intent]
    svc = services.get(service)
    return [i.name for i in svc.intents.values() if i.is_transactional] if svc is not None else []


def static_candidates(task: Task, services: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """The part of `candidate_values` fixed for a whole episode (computed once per episode)."""
    cand: dict[tuple[str, str], set[str]] = {}
    for g in task.goal:
        for s, v in g.informed:
            cand[(s, v)] = {v}
    for name in task.services:
        svc = services.get(name)
        if svc is None:
            continue
        for slot in svc.slots.values():
            for v in slot.possible_values:
                if v not in ("True", "False", "dontcare"):
                    cand[(slot.name, v)] = {v}
        for intent in svc.intents.values():
            for s, v in intent.optional_slots.items():
                if v != "dontcare":
                    cand[(s, v)] = {v}
    return cand


def candidate_values(static: dict[tuple[str, str], set[str]], rows: list[tuple[str, dict[str, str]]]) -> dict[tuple[str, str], set[str]]:
    """Values the user can recognise in the agent's text: its goal, value lists and defaults
    (`static_candidates`), plus what this episode's tool calls returned."""
    cand = dict(static)
    for _, row in rows:
        for s, v in row.items():
            cand[(s, str(v))] = {str(v)}
    return cand


class GoalDrivenUser:
    """A pipeline user that pursues the task's goal (see module docstring)."""

    name = "goal"

    @classmethod
    def from_env(cls, env: Any, persona: Persona | None = None) -> GoalDrivenUser:
        """The user an SGD env plays against (the registry's constructor for every user)."""
        return cls(load_user_model(env.user_train_dir, "train"), persona=persona, services=env.corpus.services)

    def __init__(self, model: UserModel | None = None, persona: Persona | None = None,
                 services: dict[str, Any] | None = None) -> None:
        self.model = model or load_user_model()
        self.persona = persona or Persona()
        self.services = services
        self.state: UserState | None = None
        self._static: dict[tuple[str, str], set[str]] = {}
        self.rng = random.Random(0)
        self.unclear = 0
        self.repeats: dict[tuple[tuple[str, str], ...], int] = {}
        self.stalled = 0
        self._mark: tuple[int, ...] = ()
        self._last_acts: list[Act] = []
        self.known: set[str] = set()  # values said in the dialogue so far (the agent's text, tool results)

    def _services(self) -> dict[str, Any]:
        if self.services is None:
            from agentgym.domains.sgd.corpus import load_sgd as _load
            self.services = _load(split="train").services
        if not getattr(self, "_named", False):
            self.model.nlg.add_services(self.services)
            self._named = True
        return self.services

    def reset(self, task: Task, seed: int) -> UserTurn:
        self.state = UserState(task)
        self._static = static_candidates(task, self._services())
        self.rng = random.Random(zlib.crc32(f"{seed}|{task.task_id}".encode()))
        self.unclear, self.repeats, self.stalled = 0, {}, 0
        self._mark: tuple[int, ...] = ()
        self.known = set()
        acts = self.model.policy.decide(self.state, self.rng, self.persona)
        return self._say(acts)

    def _say(self, acts: list[Act], prefix: str = "") -> UserTurn:
        assert self.state is not None
        place = "opening" if self.state.turn == 0 else "reply"  # the first turn leans on no earlier exchange
        self.state.observe_user(acts)
        self._last_acts = acts
        text = self.model.nlg.realize(acts, self.rng, place)
        names = {a for _, a, _, _ in acts}
        nothing_left = self.state.next_intent() is None and not any(p.open_requests() for p in self.intents_started())
        done = "GOODBYE" in names or (names <= _CLOSING and nothing_left)
        return UserTurn((prefix + text).strip(), acts, done)

    def wording_problems(self, text: str, acts: list[Act], prompt: str = "") -> list[str]:
        """What is wrong with `text` as this user's next turn saying `acts` (`wording.check_wording`, with what
        this user knows: its goal, the values said so far, its services' values, the domain classifier)."""
        from agentgym.domains.sgd.users.wording import check_wording

        assert self.state is not None, "Call reset() first."
        return check_wording(text, acts, self.state.task, known=self.known, prompt=prompt, candidates=self._static,
                             classifier=self.model.domains)

    def _progress(self, state: UserState, n_results: int) -> bool:
        """Did anything move since the last turn: a tool call, a new slot said, an intent started or done?"""
        mark = (n_results, sum(len(p.said) for p in state.intents), sum(len(p.asked) for p in state.intents),
                sum(p.started for p in state.intents), sum(p.done or p.selected for p in state.intents))
        moved = mark != self._mark
        self._mark = mark
        return moved

    def intents_started(self) -> list[Any]:
        assert self.state is not None
        return [p for p in self.state.intents if p.started]

    def respond(self, agent_message: str, context: UserContext) -> UserTurn:
        state = self.state
        if state is None:
            raise RuntimeError("Call reset() before respond().")
        services = self._services()
        rows: list[tuple[str, dict[str, str]]] = []
        last_service = None
        for r in context.tool_results:
            if r.service is None:
                continue
            last_service = r.service
            rows.extend((r.service, row) for row in r.rows())
        service = (state.current.goal.service if state.current else None) or last_service or state.task.services[0]
        if last_service and context.tool_results and getattr(context.tool_results[-1], "service", None) == last_service:
            service = last_service if not state.current or state.current.goal.service == last_service or state.current.done else service
        text = agent_message if isinstance(agent_message, str) else str(agent_message)
        sys_acts = self.model.nlu.parse(text[:2000], service, services, candidate_values(self._static, rows[-50:]),
                                        offerable_intents(state, service, services),
                                        [a for _, a, _, _ in self._last_acts]) if text.strip() else []
        self.known |= {str(v) for _, row in rows for v in row.values()} | {v[0] for _, _, _, v in sys_acts if v}
        understood = [a for a in sys_acts if a[1] not in ("INFORM", "OFFER", "CONFIRM") or a[2]]
        if self.model.nlu.last_confidence < 0.3:  # below this the act classifier is guessing
            understood = []
        progress = self._progress(state, len(context.tool_results))
        self.stalled = 0 if progress else self.stalled + 1
        if self.stalled > self.persona.patience + 1:
            return self._say([(service, "GOODBYE", "", ())], "This isn't getting anywhere. ")
        if not understood:
            self.unclear += 1
            if self.unclear > self.persona.patience:
                return self._say([(service, "GOODBYE", "", ())], "I don't think this is working. ")
            state.observe_system([])
            again = [a for a in self._last_acts if a[1] in ("INFORM_INTENT", "INFORM", "REQUEST")]
            if not again and state.current is not None:
                again = [(state.current.goal.service, "INFORM_INTENT", "intent", (state.current.goal.intent,))]
            return self._say(again or self._last_acts, "Sorry, I didn't get that. ")
        self.unclear = 0
        said = tuple(sorted((a, sl) for _, a, sl, _ in sys_acts))
        self.repeats[said] = self.repeats.get(said, 0) + 1
        if self.repeats[said] > self.persona.patience + 1 and not {"OFFER", "INFORM"} & {a for _, a, _, _ in sys_acts}:
            return self._say([(service, "GOODBYE", "", ())], "We are going round in circles. ")
        state.observe_system(sys_acts)
        acts = self.model.policy.decide(state, self.rng, self.persona)
        return self._say(acts)
