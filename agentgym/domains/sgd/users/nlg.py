"""Wording the user's acts: real SGD user utterances with the same acts, delexicalized with their
annotated spans and refilled with this goal's values; generic sentences for act combinations
never seen (services unseen in training included). Every value an act carries ends up in the text.

A template keeps the domain it was said in: a restaurant task is worded with restaurant users'
sentences first, then with sentences the domain classifier finds neutral ("Yes, please."), never
with another domain's ("Yes, please get that cab."). Slots are named the way users name them, or
by their schema description, never by their schema name ("has vegetarian options")."""
from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.schema import Service, domain
from agentgym.domains.sgd.tasks import Act, turn_acts
from agentgym.domains.sgd.users.realism import NEUTRAL_P
from agentgym.domains.sgd.values import say_value

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


_REQUEST_FORMS = ["What is the {w}?", "Can you tell me the {w}?", "Could you give me the {w}?", "What's the {w}?",
                  "I'd like to know the {w}.", "Do you know the {w}?"]
_INTENT_FORMS = ["I'd like to {d}.", "Can you help me {d}?", "I want to {d}.", "Could you {d} for me?", "Please {d}.",
                 "I need to {d}."]


@dataclass
class TemplateNLG:
    templates: dict[Signature, list[str]] = field(default_factory=dict)
    intent_phrases: dict[str, str] = field(default_factory=dict)
    inform_frames: list[str] = field(default_factory=list)  # slot-agnostic "{X}, please."-style human frames
    domains: dict[str, frozenset[str]] = field(default_factory=dict)  # template → domains real users said it in
    neutral: frozenset[str] = frozenset()  # templates no domain claims (reusable in any domain)
    slot_words: dict[str, str] = field(default_factory=dict)  # slot → how a person names it
    natural: frozenset[str] = frozenset()  # multi-word slot names real users write as such

    @classmethod
    def fit(cls, dialogues: Iterable[dict[str, Any]], services: dict[str, Service], classifier: Any = None,
            natural: frozenset[str] = frozenset()) -> TemplateNLG:
        """`classifier` (a `realism.DomainClassifier`) marks the templates any domain may reuse; without
        one every template is neutral. `natural`: multi-word slot names real users write as such."""
        templates: dict[Signature, list[str]] = defaultdict(list)
        doms: dict[str, set[str]] = defaultdict(set)
        for d in dialogues:
            for turn in d["turns"]:
                if turn["speaker"] != "USER":
                    continue
                acts = turn_acts(turn)
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
                doms["".join(out)] |= {domain(f["service"]) for f in turn["frames"]}
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
        texts = sorted(doms)
        if classifier is None:
            neutral = frozenset(texts)
        else:
            preds = classifier.predict([_PLACEHOLDER.sub("", t) for t in texts])
            neutral = frozenset(t for t, (_, p) in zip(texts, preds, strict=True) if p < NEUTRAL_P)
        nlg = cls({k: sorted(set(v)) for k, v in templates.items()}, phrases, [f for f in frames if f in neutral or not doms],
                  {t: frozenset(v) for t, v in doms.items()}, neutral, natural=natural)
        nlg.add_services(services)
        return nlg

    def add_services(self, services: dict[str, Service]) -> None:
        """Learn how to name the intents and slots of services seen only now (for unseen-service fallbacks)."""
        for svc in services.values():
            for slot in svc.slots.values():
                if slot.name not in self.slot_words:
                    self.slot_words[slot.name] = _slot_words(slot.name, slot.description, self.natural)
            for intent in svc.intents.values():
                if intent.name not in self.intent_phrases:
                    desc = intent.description.strip().rstrip(".")
                    self.intent_phrases[intent.name] = desc[:1].lower() + desc[1:] if desc else intent.name

    def _fill(self, template: str, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: say_value(values.get(m.group(1), m.group(0))), template)

    def _pick(self, sig: Signature, dom: str) -> list[str]:
        """Templates for `sig` fit for domain `dom`: its own users' first, else neutral ones."""
        cands = self.templates.get(sig) or []
        own = [t for t in cands if dom in self.domains.get(t, ())]
        return own or [t for t in cands if t in self.neutral or t not in self.domains]

    def _generic(self, act: Act, rng: random.Random | None = None) -> str:
        rng = rng or random.Random(0)
        _, name, slot, values = act
        words = self.slot_words.get(slot) or slot.replace("_", " ")
        if name == "INFORM" and values and values[0] in ("True", "False"):
            return f"I'd like that: {words}." if values[0] == "True" else f"I don't need that: {words}."
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
        dom = domain(acts[0][0]) if acts else ""
        whole = self._pick(signature(acts), dom)
        if whole:
            return self._fill(rng.choice(whole), values)
        parts: list[str] = []
        core = [a for a in acts if a[1] != "INFORM"]
        informs = [a for a in acts if a[1] == "INFORM"]
        groups = [core, informs] if core and informs else [acts]
        for group in groups:
            cands = self._pick(signature(group), dom)
            if cands and group:
                parts.append(self._fill(rng.choice(cands), values))
                continue
            for act in group:
                single = self._pick(signature([act]), dom)
                parts.append(self._fill(rng.choice(single), values) if single else self._generic(act, rng))
        return " ".join(p.strip() for p in parts if p.strip())


_JARGON = re.compile(r"^(boolean flag indicating |boolean flag for |flag indicating |indicates |indicating )", re.I)


def _slot_words(name: str, description: str, natural: frozenset[str]) -> str:
    """How a person names a slot: its name when one word or when real users write it, else its description."""
    spaced = name.replace("_", " ")
    if "_" not in name or spaced in natural or not description.strip():
        return spaced
    desc = _JARGON.sub("", description.strip().rstrip("."))
    desc = desc[:1].lower() + desc[1:]
    return desc[4:] if desc.startswith("the ") else desc
