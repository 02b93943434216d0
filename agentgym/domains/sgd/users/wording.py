"""Checking an LLM-worded user turn before the agent sees it.

A small model asked to word "INFORM(city=San Diego)" may say "Acts: I'm heading to San Diego", invent
"$24.99", loop ("SURROUNDER SURROUNDER …") or drift to another domain. `check_wording` reads the text
back — values with the user's NLU value finder, domain with the realism classifier — and names every
problem; the users that word turns with an LLM use the template wording instead when there is one,
and report the reason (`UserTurn.fallback`, the env's `info["user_fallback"]`, the store's step
`context`, the audit's `fallback_rate`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agentgym.domains.sgd.schema import domain
from agentgym.domains.sgd.tasks import Act, Task
from agentgym.domains.sgd.users.nlu import find_values
from agentgym.domains.sgd.users.realism import degenerate
from agentgym.domains.sgd.values import said, say_value, surface_forms

_PROMPT_WORDS = re.compile(r"\b(acts?|message|example wording|wording|persona|utterance|goal|history)\s*:", re.I)
WORDING_P = 0.7  # below the audit's 0.9: a doubtful LLM wording costs nothing (the template stands in)
_NUMBER = re.compile(r"\$?\d+(?:[.,:]\d+)*")


def realized(text: str, slot: str, value: str) -> bool:
    """Is this value written in the text (in any of its usual forms)?"""
    if value == "dontcare":
        return True
    if value in ("True", "False"):  # said with the slot's words ("does it have live music")
        return any(w in text.lower() for w in slot.split("_") if len(w) > 3) or say_value(value) in text.lower()
    return said(value, text) or any(v == value for _, v, _, _ in find_values(text, {(slot, value): {value}}))


def _ngrams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def check_wording(text: str, acts: list[Act], task: Task, *, known: Iterable[str] = (), prompt: str = "",
                  candidates: dict[tuple[str, str], set[str]] | None = None, classifier: Any = None,
                  off_domain_p: float = WORDING_P) -> list[str]:
    """Problems with `text` as the wording of `acts` (empty list: fine to show the agent).

    known: values said in the dialogue so far (the agent's offers, tool results); prompt: the
    instructions the LLM was given (none of it may be echoed); candidates: values of the task's
    services the text may name (a value named for a slot must be the goal's, the dialogue's or the
    acts'); classifier: a `realism.DomainClassifier` (the text must not be about another domain)."""
    problems: list[str] = []
    stripped = text.strip()
    if len(stripped) < 2:
        return ["empty"]
    missing = [f"{s}={v[0]}" for _, a, s, v in acts if a == "INFORM" and v and not realized(stripped, s, v[0])]
    if missing:
        problems.append("drops " + ", ".join(missing))
    if any(a == "REQUEST" for _, a, _, _ in acts) and "?" not in stripped and not re.search(r"\b(tell|know|give)\b", stripped.lower()):
        problems.append("asks nothing")
    allowed = {v for g in task.goal for _, v in g.informed} | {v[0] for _, _, _, v in acts if v} | set(known)
    forms = {f for v in allowed for f in surface_forms(str(v))}
    for m in _NUMBER.finditer(stripped.lower()):
        num = m.group(0).lstrip("$").rstrip(".,")
        if num and not any(num in f for f in forms):
            problems.append(f"invents {m.group(0)}")
            break
    if candidates:
        keys = {str(v).lower() for v in allowed}
        foreign = [f"{s}={v}" for s, v, _, _ in find_values(stripped, candidates) if v.lower() not in keys]
        if foreign:
            problems.append("names " + ", ".join(foreign[:3]))
    if _PROMPT_WORDS.search(stripped) or (prompt and _ngrams(stripped) & _ngrams(prompt)):
        problems.append("echoes the prompt")
    if degenerate(stripped):
        problems.append("repeats itself")
    if classifier is not None:
        (dom, p), = classifier.predict([stripped])
        if p >= off_domain_p and dom not in {domain(s) for s in task.services}:
            problems.append(f"about {dom}")
    return problems
