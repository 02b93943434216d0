"""LLM-backed users: the goal and persona in a system prompt, the dialogue so far, the agent's
message → the user's next message and whether it is done (tau2's `user_llm` / `user_llm_args`).

`mode="hybrid"` keeps small models on goal: the offline user's policy decides the acts and the LLM
only words them; a wording that drops a value falls back to the human template.
"""
from __future__ import annotations

from typing import Any

from agentgym.domains.sgd.tasks import Task
from agentgym.domains.sgd.users.agenda import Persona
from agentgym.domains.sgd.users.base import UserContext, UserTurn
from agentgym.domains.sgd.users.goal_user import GoalDrivenUser, load_user_model
from agentgym.domains.sgd.values import say_value
from agentgym.llm.client import LLM

STOP = "###STOP###"


def goal_text(task: Task) -> str:
    """The hidden goal in words, for a user prompt."""
    lines = []
    for g in task.goal:
        wants = ", ".join(f"{s.replace('_', ' ')} = {say_value(v)}" for s, v in g.informed) or "no fixed details"
        line = f"- {g.intent} ({g.service}): {wants}"
        if g.requested:
            line += f"; ask for: {', '.join(s.replace('_', ' ') for s in g.requested)}"
        if g.alternatives:
            line += f"; ask for {g.alternatives} other option(s) before choosing"
        lines.append(line)
    return "\n".join(lines)


class LLMUser:
    """A user simulated by an LLM (any litellm model string; default: the local model)."""

    name = "llm"

    @classmethod
    def from_env(cls, env: Any, persona: Any = None) -> LLMUser:
        shadow = GoalDrivenUser(load_user_model(env.user_train_dir, "train"), services=env.corpus.services,
                                persona=persona if isinstance(persona, Persona) else None)
        return cls(LLM(env.user_llm, **({"temperature": 0.7, "max_tokens": 80} | env.user_llm_args)), shadow=shadow)

    def __init__(self, llm: LLM | None = None, persona: str = "You are polite and brief.", max_turns: int = 30,
                 shadow: GoalDrivenUser | None = None) -> None:
        self.llm = llm or LLM(temperature=0.7, max_tokens=80)
        self.persona = persona
        self.max_turns = max_turns
        self.messages: list[dict[str, str]] = []
        self.turns = 0
        self.seed = 0
        # the offline user follows the same dialogue: its template turn stands in for a wording that fails its check
        self.shadow = shadow
        self.worded = self.fallbacks = 0

    @property
    def fallback_rate(self) -> float:
        """Share of LLM turns replaced by the offline user's turn (a failed check or a failed call)."""
        return self.fallbacks / self.worded if self.worded else 0.0

    def _system(self, task: Task) -> str:
        return (
            "You are a customer talking to a customer-service agent. Stay in character; never act as the agent.\n"
            f"{self.persona}\nYour goal, in order:\n{goal_text(task)}\n"
            "Say one short message at a time and only reveal details when they are useful. "
            f"When everything is done, say goodbye and end your message with {STOP}."
        )

    def _turn(self, template: UserTurn) -> UserTurn:
        """The LLM's next message, checked; the offline user's `template` turn when the call or the check fails."""
        res = self.llm.complete(self.messages, role="user", seed=self.seed + self.turns)
        self.turns += 1
        self.worded += 1
        if not res.ok:
            self.fallbacks += 1
            turn = UserTurn(template.text, template.acts, done=False, error=res.error, fallback="the LLM call failed")
        else:
            raw = (res.text or "").strip()
            text = raw.replace(STOP, "").strip() or "Goodbye."
            problems = self.shadow.wording_problems(text, [], self.messages[0]["content"]) if self.shadow else []
            if problems:
                self.fallbacks += 1
                turn = UserTurn(template.text, template.acts, done=template.done, fallback="; ".join(problems))
            else:
                turn = UserTurn(text, [], done=STOP in raw)
        turn.done = turn.done or self.turns >= self.max_turns
        self.messages.append({"role": "assistant", "content": turn.text})
        return turn

    def reset(self, task: Task, seed: int) -> UserTurn:
        self.seed, self.turns = seed, 0
        self.messages = [{"role": "system", "content": self._system(task)},
                         {"role": "user", "content": "(The agent is waiting. Start the conversation.)"}]
        if self.shadow is None:
            self.shadow = GoalDrivenUser()
        return self._turn(self.shadow.reset(task, seed))

    def respond(self, agent_message: str, context: UserContext) -> UserTurn:
        self.messages.append({"role": "user", "content": agent_message})
        assert self.shadow is not None, "Call reset() before respond()."
        return self._turn(self.shadow.respond(agent_message, context))

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "user_llm": self.llm.model, "user_llm_args": self.llm.config(), "persona": self.persona}


class HybridUser(GoalDrivenUser):
    """The offline user's acts, worded by an LLM (with the template wording as a safety net)."""

    name = "hybrid"

    @classmethod
    def from_env(cls, env: Any, persona: Persona | None = None) -> HybridUser:  # type: ignore[override]
        return cls(LLM(env.user_llm, **({"temperature": 0.7, "max_tokens": 80} | env.user_llm_args)),
                   model=load_user_model(env.user_train_dir, "train"), persona=persona, services=env.corpus.services)

    def __init__(self, llm: LLM | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.llm = llm or LLM(temperature=0.7, max_tokens=60)
        self.llm_failures = 0
        self.worded = self.fallbacks = 0

    def _say(self, acts: list[Any], prefix: str = "") -> UserTurn:
        turn = super()._say(acts, prefix)
        messages = realizer_messages(acts, turn.text)
        res = self.llm.complete(messages, role="user", seed=self.rng.randrange(2**31))
        if not res.ok:
            self.llm_failures += 1
            self.worded += 1
            self.fallbacks += 1
            turn.error, turn.fallback = res.error, "the LLM call failed"  # the template wording stands; reported
            return turn
        return self.checked(turn, (res.text or "").strip().strip('"'), messages[0]["content"])

    def checked(self, turn: UserTurn, text: str, prompt: str, acts: list[Any] | None = None) -> UserTurn:
        """`turn` worded as `text` when the wording passes `check_wording` (for `acts`, default: the turn's),
        else as the template, saying why."""
        self.worded += 1
        problems = self.wording_problems(text, turn.acts if acts is None else acts, prompt)
        if problems:
            self.fallbacks += 1
            turn.fallback = "; ".join(problems)
        else:
            turn.text = text
        return turn

    @property
    def fallback_rate(self) -> float:
        """Share of LLM wordings replaced by the template wording since this user was made."""
        return self.fallbacks / self.worded if self.worded else 0.0


def realizer_messages(acts: list[Any], example: str) -> list[dict[str, str]]:
    """The hybrid user's prompt: the acts to say (values as a person says them) and the template wording."""
    return [
        {"role": "system", "content": "You write one short, natural message from a customer to a support agent. "
                                      "Say exactly what the acts say; include every value verbatim. Output only the message."},
        {"role": "user", "content": f"Acts: {describe_acts(acts)}\nExample wording: {example}\nMessage:"},
    ]


def describe_acts(acts: list[Any]) -> str:
    """'INFORM(city=San Diego); REQUEST(phone number)': acts as the LLM reads them."""
    return "; ".join(
        f"{a}({s.replace('_', ' ')}={say_value(v[0])})" if v and a == "INFORM" else
        f"{a}({v[0]})" if v and a == "INFORM_INTENT" else f"{a}({s.replace('_', ' ')})" if s else a
        for _, a, s, v in acts)


def hybrid_realizer(llm: LLM | None = None, seed: int = 0) -> Any:
    """The hybrid user's wording as a function, for `audit_user(realize=...)`."""
    llm = llm or LLM(temperature=0.7, max_tokens=60)
    counter = iter(range(seed, 2**31))

    def realize(acts: list[Any], task: Task, history: list[tuple[str, str]], template: str) -> str | None:
        res = llm.complete(realizer_messages(acts, template), role="user", seed=next(counter))
        return (res.text or "").strip().strip('"') if res.ok else None
    return realize
