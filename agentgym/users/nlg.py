"""Wording the user's acts: real SGD user utterances with the same acts, delexicalized with their
annotated spans and refilled with this goal's values; generic sentences for act combinations
never seen (services unseen in training included). Every value an act carries ends up in the text."""
from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agentgym.data.schema import Service
from agentgym.data.tasks import Act

Signature = tuple[tuple[str, str], ...]
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def signature(acts: Iterable[Act]) -> Signature:
    """What a template must express: (act, slot) pairs, with the intent name for intent acts."""
    out = set()
    for _, act, slot, values in acts:
        if act == "INFORM_INTENT":
            out.add((act, values[0] if values else ""))
        elif act in ("INFORM", "REQUEST"):
            out.add((act, slot))
        else:
            out.add((act, ""))
    return tuple(sorted(out))


def say_value(value: str) -> str:
    """A canonical value as a person would write it ('2019-03-11' → 'March 11th', '18:30' → '6:30 pm')."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
    if m:
        h, mi = int(m.group(1)), m.group(2)
        return f"{h % 12 or 12}{':' + mi if mi != '00' else ''} {'pm' if h >= 12 else 'am'}"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            d = dt.date.fromisoformat(value)
            suffix = "th" if 11 <= d.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d.day % 10, "th")
            return f"{d.strftime('%B')} {d.day}{suffix}"
        except ValueError:
            return value
    if value == "True":
        return "yes"
    if value == "False":
        return "no"
    return value


_REQUEST_FORMS = ["What is the {w}?", "Can you tell me the {w}?", "Could you give me the {w}?", "What's the {w}?",
                  "I'd like to know the {w}.", "Do you know the {w}?"]
_INTENT_FORMS = ["I'd like to {d}.", "Can you help me {d}?", "I want to {d}.", "Could you {d} for me?", "Please {d}.",
                 "I need to {d}."]


@dataclass
class TemplateNLG:
    templates: dict[Signature, list[str]] = field(default_factory=dict)
    intent_phrases: dict[str, str] = field(default_factory=dict)
    inform_frames: list[str] = field(default_factory=list)  # slot-agnostic "{X}, please."-style human frames

    @classmethod
    def fit(cls, dialogues: Iterable[dict[str, Any]], services: dict[str, Service]) -> TemplateNLG:
        templates: dict[Signature, list[str]] = defaultdict(list)
        for d in dialogues:
            for turn in d["turns"]:
                if turn["speaker"] != "USER":
                    continue
                acts = [(f["service"], a["act"], a.get("slot", ""), tuple(a.get("canonical_values") or a.get("values") or ()))
                        for f in turn["frames"] for a in f["actions"]]
                spans = sorted({(s["start"], s["exclusive_end"], s["slot"]) for f in turn["frames"] for s in f.get("slots", [])})
                informed = {slot for _, act, slot, v in acts if act == "INFORM" and v}
                if {s for _, _, s in spans} != informed or len(spans) != len(informed):
                    continue  # a value without a span (or two spans of one slot) cannot be refilled safely
                text, out, last = turn["utterance"], [], 0
                for start, end, slot in spans:
                    out.append(text[last:start].replace("{", "(").replace("}", ")"))
                    out.append("{" + slot + "}")
                    last = end
                out.append(text[last:].replace("{", "(").replace("}", ")"))
                templates[signature(acts)].append("".join(out))
        phrases = {}
        for svc in services.values():
            for intent in svc.intents.values():
                desc = intent.description.strip().rstrip(".")
                phrases[intent.name] = desc[:1].lower() + desc[1:] if desc else intent.name
        # frames that people use for many different slots carry no slot-specific words: reusable anywhere
        slots_per_frame: dict[str, set[str]] = defaultdict(set)
        for sig, texts in templates.items():
            if len(sig) == 1 and sig[0][0] == "INFORM":
                for t in texts:
                    slots_per_frame[t.replace("{" + sig[0][1] + "}", "{X}")].add(sig[0][1])
        frames = sorted(f for f, slots in slots_per_frame.items() if len(slots) >= 3 and f.count("{X}") == 1)
        return cls({k: sorted(set(v)) for k, v in templates.items()}, phrases, frames)

    def add_services(self, services: dict[str, Service]) -> None:
        """Learn how to name the intents of services seen only now (for unseen-service fallbacks)."""
        for svc in services.values():
            for intent in svc.intents.values():
                if intent.name not in self.intent_phrases:
                    desc = intent.description.strip().rstrip(".")
                    self.intent_phrases[intent.name] = desc[:1].lower() + desc[1:] if desc else intent.name

    def _fill(self, template: str, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: say_value(values.get(m.group(1), m.group(0))), template)

    def _generic(self, act: Act, rng: random.Random | None = None) -> str:
        rng = rng or random.Random(0)
        _, name, slot, values = act
        words = slot.replace("_", " ")
        if name == "INFORM_INTENT":
            intent = values[0] if values else ""
            return rng.choice(_INTENT_FORMS).format(d=self.intent_phrases.get(intent, intent))
        if name == "INFORM":
            if values and values[0] == "dontcare":
                return rng.choice([f"Any {words} is fine with me.", f"I don't mind the {words}.", f"The {words} doesn't matter."])
            if not values:
                return ""
            if self.inform_frames and rng.random() < 0.5:
                return rng.choice(self.inform_frames).replace("{X}", say_value(values[0]))
            return rng.choice([f"The {words} should be {say_value(values[0])}.", f"{say_value(values[0])} for the {words}.",
                               f"I'd like the {words} to be {say_value(values[0])}."])
        if name == "REQUEST":
            return rng.choice(_REQUEST_FORMS).format(w=words)
        return {
            "AFFIRM": "Yes, that's right.", "NEGATE": "No.", "SELECT": "That one sounds good.",
            "THANK_YOU": "Thank you.", "GOODBYE": "Goodbye.", "REQUEST_ALTS": "Do you have anything else?",
            "AFFIRM_INTENT": "Yes, please.", "NEGATE_INTENT": "No, not now.",
        }.get(name, "")

    def realize(self, acts: list[Act], rng: random.Random) -> str:
        """Text for `acts`: a whole human template when one exists, else parts, else generic sentences."""
        values = {slot: v[0] for _, act, slot, v in acts if act == "INFORM" and v}
        if "dontcare" in values.values():  # human templates carry a real value there
            rest = [a for a in acts if not (a[1] == "INFORM" and a[3] and a[3][0] == "dontcare")]
            said = [self._generic(a, rng) for a in acts if a not in rest]
            return " ".join(([self.realize(rest, rng)] if rest else []) + said)
        whole = self.templates.get(signature(acts))
        if whole:
            return self._fill(rng.choice(whole), values)
        parts: list[str] = []
        core = [a for a in acts if a[1] != "INFORM"]
        informs = [a for a in acts if a[1] == "INFORM"]
        groups = [core, informs] if core and informs else [acts]
        for group in groups:
            cands = self.templates.get(signature(group))
            if cands and group:
                parts.append(self._fill(rng.choice(cands), values))
                continue
            for act in group:
                single = self.templates.get(signature([act]))
                parts.append(self._fill(rng.choice(single), values) if single else self._generic(act, rng))
        return " ".join(p.strip() for p in parts if p.strip())
