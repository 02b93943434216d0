"""LLM-backed users: the goal and persona in a system prompt, the dialogue so far, the agent's
message → the user's next message and whether it is done (tau2's `user_llm` / `user_llm_args`).

`mode="hybrid"` keeps small models on goal: the offline user's policy decides the acts and the LLM
only words them; a wording that drops a value falls back to the human template.
"""
from __future__ import annotations

from typing import Any

from agentgym.data.tasks import Task
from agentgym.llm.client import LLM
from agentgym.normalize import say_value
from agentgym.users.agenda import Persona
from agentgym.users.base import UserContext, UserTurn
from agentgym.users.goal_user import GoalDrivenUser, load_user_model
from agentgym.users.wording import check_wording

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
        return cls(LLM(env.user_llm, **({"temperature": 0.7, "max_tokens": 80} | env.user_llm_args)))

    def __init__(self, llm: LLM | None = None, persona: str = "You are polite and brief.", max_turns: int = 30) -> None:
        self.llm = llm or LLM(temperature=0.7, max_tokens=80)
        self.persona = persona
        self.max_turns = max_turns
        self.messages: list[dict[str, str]] = []
        self.turns = 0
        self.seed = 0

    def _system(self, task: Task) -> str:
        return (
            "You are a customer talking to a customer-service agent. Stay in character; never act as the agent.\n"
            f"{self.persona}\nYour goal, in order:\n{goal_text(task)}\n"
            "Say one short message at a time and only reveal details when they are useful. "
            f"When everything is done, say goodbye and end your message with {STOP}."
        )

    def _turn(self, error_text: str = "") -> UserTurn:
        res = self.llm.complete(self.messages, role="user", seed=self.seed + self.turns)
        self.turns += 1
        if not res.ok:
            return UserTurn("", [], done=False, error=res.error)
        text = (res.text or "").strip()
        done = STOP in text or self.turns >= self.max_turns
        text = text.replace(STOP, "").strip() or "Goodbye."
        self.messages.append({"role": "assistant", "content": text})
        return UserTurn(text, [], done=done)

    def reset(self, task: Task, seed: int) -> UserTurn:
        self.seed, self.turns = seed, 0
        self.messages = [{"role": "system", "content": self._system(task)},
                         {"role": "user", "content": "(The agent is waiting. Start the conversation.)"}]
        return self._turn()

    def respond(self, agent_message: str, context: UserContext) -> UserTurn:
        self.messages.append({"role": "user", "content": agent_message})
        return self._turn()

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
            turn.error = res.error  # the template wording stands; the failure is reported
            return turn
        return self.checked(turn, (res.text or "").strip().strip('"'), messages[0]["content"])

    def checked(self, turn: UserTurn, text: str, prompt: str, acts: list[Any] | None = None) -> UserTurn:
        """`turn` worded as `text` when the wording passes `check_wording` (for `acts`, default: the turn's),
        else as the template, saying why."""
        assert self.state is not None
        self.worded += 1
        problems = check_wording(text, turn.acts if acts is None else acts, self.state.task, known=self.known, prompt=prompt,
                                 candidates=self._static, classifier=self.model.domains)
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
