"""Users for tau2 tasks.

`OfflineTau2User` (the default, no LLM): opens with the task's reason for the call, answers the
agent's questions from `known_info` (never `unknown_info`, which it is not even given), says yes to
a confirmation, performs on its own phone what the agent asks (telecom's user tools), and ends the
conversation (`###STOP###`) when the agent wraps up or the conversation stops moving.

`LLMTau2User`: any litellm model with tau2's own user-simulator guidelines and scenario; its
`###STOP###`, `###TRANSFER###` and `###OUT-OF-SCOPE###` end the episode.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agentgym.types import ToolCall

STOP, TRANSFER, OUT_OF_SCOPE = "###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"
_STOPS = (STOP, TRANSFER, OUT_OF_SCOPE)
_WORD = re.compile(r"[a-z0-9_]+")
_STOPWORDS = set("a an the i you your my me is are was be to of and or in on for with at by it this that can could "
                 "please would will do does did have has what which how there here we us our know let".split())


@dataclass
class Tau2UserTurn:
    text: str
    done: bool = False
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # user tool calls made this turn (telecom)
    error: str | None = None


def first_person(text: str) -> str:
    """The scenario speaks to the user ("You want ...", "Your user id is ..."); the user speaks as "I"."""
    rules = [(r"\byou are\b", "I am"), (r"\byou were\b", "I was"), (r"\byou have\b", "I have"), (r"\byou've\b", "I've"),
             (r"\byou're\b", "I'm"), (r"\byour\b", "my"), (r"\byourself\b", "myself"), (r"\byou\b", "I")]
    out = text
    for pat, rep in rules:
        out = re.sub(pat, lambda m, rep=rep: rep.capitalize() if m.group(0)[0].isupper() else rep, out, flags=re.I)
    return out


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1}


def _sentences(text: str | None) -> list[str]:
    if not text:
        return []
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


class OfflineTau2User:
    """See the module docstring. Deterministic: the same agent messages give the same replies."""

    @classmethod
    def from_env(cls, env: Any, persona: Any = None) -> OfflineTau2User:
        return cls()

    def __init__(self, patience: int = 3) -> None:
        self.patience = patience
        self.instructions: Any = None

    def reset(self, task: Any, seed: int = 0, call_tool: Any = None, user_tools: list[Any] | None = None) -> Tau2UserTurn:
        scenario = task.user_scenario
        self.instructions = scenario.instructions
        self.call_tool = call_tool
        self.user_tools = list(user_tools or [])
        self.told: set[str] = set()
        self.stalled = 0
        known = getattr(self.instructions, "known_info", None) if not isinstance(self.instructions, str) else self.instructions
        self.facts = [first_person(s) for s in _sentences(known)]
        reason = getattr(self.instructions, "reason_for_call", None) if not isinstance(self.instructions, str) else None
        opening = first_person(_sentences(reason)[0]) if reason else "Hi, I need some help."
        return Tau2UserTurn(f"Hi! {opening}")

    def respond(self, agent_text: str) -> Tau2UserTurn:
        low = agent_text.lower()
        asked = _words(agent_text)
        # the agent asks the user to do something on the phone (telecom's dual control)
        calls = self._phone_actions(low)
        if calls:
            self.stalled = 0
            return Tau2UserTurn("I did that. " + " ".join(c["said"] for c in calls), tool_calls=calls)
        if re.search(r"anything else|is there something else|all set|have a (great|nice|good) day|goodbye", low):
            return Tau2UserTurn(f"No, that's all, thanks! {STOP}", done=True)
        scored = sorted(((len(asked & _words(f)), i, f) for i, f in enumerate(self.facts) if f not in self.told), reverse=True)
        if scored and scored[0][0] > 0:
            fact = scored[0][2]
            self.told.add(fact)
            self.stalled = 0
            return Tau2UserTurn(fact)
        if "?" in agent_text and re.search(r"\b(confirm|proceed|correct|shall i|should i|would you like|do you want|yes)\b", low):
            self.stalled = 0
            return Tau2UserTurn("Yes, please go ahead.")
        if "?" in agent_text and self.facts and len(self.told) < len(self.facts):
            fact = next(f for f in self.facts if f not in self.told)
            self.told.add(fact)
            return Tau2UserTurn(fact)
        self.stalled += 1
        if self.stalled > self.patience:
            return Tau2UserTurn(f"I think we're done here, thank you. {STOP}", done=True)
        if "?" in agent_text:
            return Tau2UserTurn("I'm sorry, I don't know that.")
        return Tau2UserTurn("Okay.")

    def _phone_actions(self, low: str) -> list[dict[str, Any]]:
        """User tools (telecom's phone) the agent asks for: every word of the tool's name in the
        request, and each required argument given in it as `name = value` (or `name: value`)."""
        if not self.user_tools or self.call_tool is None:
            return []
        done = []
        for tool in self.user_tools:
            params = tool.openai_schema["function"].get("parameters", {})
            name_words = [w for w in tool.name.lower().split("_") if w not in ("get", "check", "the", "set")]
            if not name_words or not all(w in low for w in name_words):
                continue
            args: dict[str, Any] = {}
            for p in params.get("required", []):
                m = re.search(rf"\b{re.escape(p.lower())}\s*[=:]\s*\"?([\w.+-]+)", low)
                if m is None:
                    break
                kind = params.get("properties", {}).get(p, {}).get("type")
                value: Any = m.group(1).rstrip(".,;:")
                if kind == "boolean":
                    value = value in ("true", "yes", "on", "1")
                elif kind == "integer" and value.lstrip("-").isdigit():
                    value = int(value)
                args[p] = value
            else:
                result = self.call_tool(tool.name, args)
                done.append({"name": tool.name, "arguments": args, "said": f"({tool.name}: {str(result)[:200]})"})
        return done[:3]


class LLMTau2User:
    """tau2's user simulator prompt on any litellm model (`agentgym.llm.LLM`)."""

    @classmethod
    def from_env(cls, env: Any, persona: Any = None) -> LLMTau2User:
        from agentgym.llm import LLM

        return cls(LLM(env.user_llm, **({"temperature": 0.0, "max_tokens": 200} | env.user_llm_args)))

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    MAX_TOOL_ROUNDS = 4  # tool calls the user may chain before it must say something

    def reset(self, task: Any, seed: int = 0, call_tool: Any = None, user_tools: list[Any] | None = None) -> Tau2UserTurn:
        from importlib.resources import files

        self.call_tool = call_tool
        self.tools = [t.openai_schema for t in (user_tools or [])] if call_tool is not None else []
        name = "simulation_guidelines_tools.md" if self.tools else "simulation_guidelines.md"
        guidelines = (files("tau2") / "data" / "tau2" / "user_simulator" / name).read_text()
        self.system = f"{guidelines}\n\n<scenario>\n{task.user_scenario.instructions}\n</scenario>"
        self.messages: list[dict[str, Any]] = []
        return self.respond("Hi! How can I help you today?")

    def respond(self, agent_text: str) -> Tau2UserTurn:
        # the roles flip: the agent's messages are the "user" of the simulator's chat
        self.messages.append({"role": "user", "content": agent_text})
        made: list[dict[str, Any]] = []
        for _ in range(self.MAX_TOOL_ROUNDS + 1):
            extra = {"tools": self.tools} if self.tools else {}
            result = self.llm.complete([{"role": "system", "content": self.system}, *self.messages], role="user", **extra)
            if not result.ok:
                return Tau2UserTurn("Sorry, could you repeat that?", error=result.error, tool_calls=made)
            if not result.tool_calls:
                break
            # telecom's dual control: the user acts on its phone; tau2 records the call and its result
            self.messages.append({"role": "assistant", "content": None, "tool_calls": [
                ToolCall(c["name"], c["arguments"], c["id"]).openai() for c in result.tool_calls]})
            for c in result.tool_calls:
                output = self.call_tool(c["name"], c["arguments"])
                made.append({"name": c["name"], "arguments": c["arguments"]})
                self.messages.append({"role": "tool", "tool_call_id": c["id"], "content": str(output)})
        text = (result.text or "").strip() or "Okay."
        self.messages.append({"role": "assistant", "content": text})
        return Tau2UserTurn(text, done=any(s in text for s in _STOPS), tool_calls=made)
