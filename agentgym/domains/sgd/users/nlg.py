"""Wording the user's acts: real SGD user utterances with the same acts, delexicalized with their
annotated spans and refilled with this goal's values; generic sentences for act combinations
never seen (services unseen in training included). Every value an act carries ends up in the text.

A template keeps the domain it was said in: a restaurant task is worded with restaurant users'
sentences first, then with sentences the domain classifier finds neutral ("Yes, please."), never
with another domain's ("Yes, please get that cab."). Slots are named the way users name them, or
by their schema description, never by their schema name ("has vegetarian options").

A template also keeps where it was said: a dialogue's first user turn (an opening), the first turn about a
new service (a switch), or a reply. An opening is worded only with text that needs no conversation before
it (`leans_on_context`: no "there too", "as well", "the one you found", "Yes, ...", "instead"), real users'
openings first. An utterance whose spans do not sit on word boundaries, or whose text is itself corrupted
(SGD's train split has "I want to find a rest54 Minaurant there too."), is never a template
(`TemplateNLG.dropped` counts them by reason); every realized turn has tokenizer spacing undone (`tidy`)."""
from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agentgym.domains.sgd.schema import Service, domain
from agentgym.domains.sgd.tasks import Act, turn_acts
from agentgym.domains.sgd.users.realism import NEUTRAL_P
from agentgym.domains.sgd.users.textchecks import SENTENCE, corrupted, leans_on_context, tidy
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


_NOT_ALONE = re.compile(r"^\W*(yes|yeah|yep|no|nope|ok|okay|sure|great|perfect|thanks|thank you|bye|goodbye)\b|\?", re.I)


_USER_WORDS = [(re.compile(r"\b(the )?user has\b", re.I), "I have"), (re.compile(r"\b(the )?user's\b", re.I), "my"),
               (re.compile(r"\b(for|to|of|with) (the )?user\b(?! accounts?\b)", re.I), r"\1 me"),
               (re.compile(r"\buser (accounts?)\b", re.I), r"\1"),
               (re.compile(r"\b(the )?user (wants|needs|would|is|has|likes)\b", re.I), r"I \2")]


def _entity(svc: Service, intent: Any) -> str:
    """What a search intent finds, named by the one `<thing>_name` slot among its results ("therapist_name" →
    "therapist"); "" when there is no such single word."""
    if intent.is_transactional or not re.match(r"(Find|Search|Lookup|Look)", intent.name):
        return ""
    names = [sl[: -len("_name")] for sl in intent.result_slots if sl.endswith("_name") and "_" not in sl[: -len("_name")]]
    return names[0] if len(names) == 1 and names[0] not in ("user", "recipient", "contact", "account") else ""


def intent_phrase(name: str, description: str, entity: str = "") -> str:
    """An intent as its user says it: a search by what it finds ("find a therapist"), else the schema's
    description in the first person ("get the alarms user has already set" → "get the alarms I have already
    set"), lower-cased for use inside a sentence."""
    if entity:
        return f"find {'an' if entity[0] in 'aeiou' else 'a'} {entity}"
    desc = description.strip().rstrip(".")
    if not desc:
        return name
    for pattern, said in _USER_WORDS:
        desc = pattern.sub(said, desc)
    return desc[:1].lower() + desc[1:]


def _known_values(dialogues: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(service, slot) → the values real users wrote for it (its spans' text), for telling a stray value in a turn."""
    known: dict[tuple[str, str], set[str]] = defaultdict(set)
    for d in dialogues:
        for turn in d["turns"]:
            for f in turn["frames"]:
                for sp in f.get("slots", []):
                    value = turn["utterance"][sp["start"]:sp["exclusive_end"]].strip().lower()
                    if len(value) >= 4 and not value.isdigit():
                        known[(f["service"], sp["slot"])].add(value)
    return known


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _value_index(services: dict[str, Service], known: dict[tuple[str, str], set[str]]) -> dict[str, dict[str, list[tuple[str, bool]]]]:
    """service → value text (lower case) → [(slot, categorical)]: the values a user turn of that service may name."""
    index: dict[str, dict[str, list[tuple[str, bool]]]] = defaultdict(lambda: defaultdict(list))
    for svc in services.values():
        for sl in svc.slots.values():
            if sl.is_categorical:
                for v in sl.possible_values:
                    if v not in ("True", "False", "dontcare") and len(v) >= 3 and not v.isdigit():
                        index[svc.name][v.lower()].append((sl.name, True))
    for (service, slot), vals in known.items():
        for v in vals:
            index[service][v].append((slot, False))
    return index


def _stray_values(turn: dict[str, Any], index: dict[str, dict[str, list[tuple[str, bool]]]],
                  spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]] | None:
    """Values written in a user turn outside its spans: spans to add for the categorical slots the turn informs
    with that very value (SGD gives categorical values no span), or None when the text names a value (a
    categorical one, or one real users wrote for that slot elsewhere) the turn does not inform — a template would
    carry it into every goal ("I need a Psychologist" said for a Dentist, "I like horror or Drama" for Drama).
    Looked up by word n-grams (up to 6 words), not by scanning every value."""
    low = turn["utterance"].lower()
    said = {(a["slot"], v.lower()) for f in turn["frames"] for a in f.get("actions", []) if a.get("act") == "INFORM"
            for v in a.get("values", [])}
    taken = [(a, b) for a, b, _ in spans]
    words = list(_WORD.finditer(low))
    found: list[tuple[int, int, str]] = []
    for f in turn["frames"]:
        values = index.get(f["service"])
        if not values:
            continue
        for i in range(len(words)):
            for j in range(min(len(words), i + 6), i, -1):
                start, end = words[i].start(), words[j - 1].end()
                hits = values.get(low[start:end])
                if not hits or any(a < end and start < b for a, b in taken):
                    continue
                for slot, categorical in hits:
                    if (slot, low[start:end]) not in said:
                        return None
                    if categorical:
                        found.append((start, end, slot))
                        taken.append((start, end))
                break
    return found


def _content_words(text: str) -> set[str]:
    """The words of four letters or more in a text, lower-cased: what ties a sentence to a service."""
    return set(re.findall(r"[a-z]{4,}", text.lower()))


_COMMON = frozenset("name names date time city number type find search service services book reserve make want user users "
                    "with from that this your their have will when where which what price rating address phone location "
                    "also into about more most such like other some each".split())


def _schema_words(svc: Service) -> frozenset[str]:
    """The words a service's schema is made of (slot names, categorical values, descriptions) less the ones every
    service uses: what ties a sentence to that service."""
    text = " ".join([svc.description, *(sl.name.replace("_", " ") for sl in svc.slots.values()),
                     *(v for sl in svc.slots.values() for v in sl.possible_values if v not in ("True", "False", "dontcare")),
                     *(i.description for i in svc.intents.values())])
    return frozenset(_content_words(text) - _COMMON)


def flag_phrase(slot: str, wanted: bool, rng: random.Random) -> str:
    """A yes/no slot said by what it means, from its name ("has_wifi" → "I'd like one with wifi.", "pets_allowed" →
    "I'd like one where pets are allowed."), never its schema description."""
    words = slot.lower().split("_")
    if words[0] in ("has", "have", "with") and len(words) > 1:
        rest = " ".join(words[1:])
        return rng.choice([f"I'd like one with {rest}.", f"Preferably with {rest}."]) if wanted else f"I don't need {rest}."
    if words[-1] == "allowed" and len(words) > 1:
        rest = " ".join(words[:-1])
        return f"I'd like one where {rest} are allowed." if wanted else f"It doesn't have to allow {rest}."
    if words[0] in ("is", "are") and len(words) > 1:
        rest = " ".join(words[1:])
        return f"I'd like it to be {rest}." if wanted else f"It doesn't need to be {rest}."
    if words[0] in ("serves", "offers", "includes", "allows", "provides") and len(words) > 1:
        rest = " ".join(words[1:])
        return f"I'd like one that {words[0]} {rest}." if wanted else f"It doesn't need to {words[0][:-1]} {rest}."
    rest = " ".join(words)
    return rng.choice([f"Preferably {rest}.", f"{rest[:1].upper()}{rest[1:]} would be good."]) if wanted else f"No {rest}, thanks."


_COUNTED = re.compile(r"^(number_of_|num_)|^(travelers|passengers|group_size|party_size|seats|rooms|tickets|adults)$")


def carrier(slot: str, value: str, rng: random.Random) -> str:
    """A value said the way people say one when no real user's sentence for the slot is known: by what kind of
    value it is (a date, a time, a place, a count), never by reading the slot's schema name or description out
    ("On March 10th.", "To Las Vegas.", "For 2 rooms.", "Japanese, please.")."""
    name = slot.lower()
    if "date" in name or name in ("day", "check_in", "check_out"):
        return rng.choice([f"On {value}.", f"For {value}, please.", f"It's for {value}."])
    if "time" in name:
        return rng.choice([f"At {value}.", f"Around {value}, please."])
    if re.search(r"(origin|from|source|pickup|departure)", name) and not name.endswith(("date", "time")):
        return rng.choice([f"From {value}.", f"I'm leaving from {value}."])
    if re.search(r"(destination|to_|_to$|dropoff)", name):
        return rng.choice([f"To {value}.", f"I'm going to {value}."])
    if re.search(r"(city|location|area|where|address)", name):
        return rng.choice([f"In {value}.", f"Somewhere in {value}.", f"It's in {value}."])
    if "rating" in name and re.fullmatch(r"\d+(\.\d+)?", value):
        return rng.choice([f"{value} stars.", f"At least {value} stars, please."]) if value != "1" else "1 star."
    if _COUNTED.search(name) and re.fullmatch(r"\d+", value):
        noun = re.sub(r"^(number_of_|num_)", "", name).split("_")[-1]
        noun = {"travelers": "people", "passengers": "people", "size": "people", "adults": "people"}.get(noun, noun)
        noun = noun[:-1] if value == "1" and noun.endswith("s") and noun != "people" else noun
        noun = "person" if value == "1" and noun == "people" else noun
        return rng.choice([f"For {value} {noun}.", f"{value} {noun}, please."])
    return rng.choice([f"{value}, please.", f"I'd prefer {value}.", f"Make it {value}."])


def _phrase_ok(sentence: str) -> bool:
    """A sentence that says a slot's value and nothing else a single INFORM may not mean: no yes/no, no
    thanks, no question, three words or more."""
    return not _NOT_ALONE.search(sentence) and len(sentence.split()) >= 3


def span_ok(text: str, start: int, end: int) -> bool:
    """An annotated span is usable for delexicalization: inside the text, not blank, and on word boundaries
    (SGD's values are canonical — "2019-03-03" for "3rd of March" — so the span's text is not compared with them)."""
    if not 0 <= start < end <= len(text) or not text[start:end].strip():
        return False
    return not ((start > 0 and text[start - 1].isalnum() and text[start].isalnum()) or
                (end < len(text) and text[end].isalnum() and text[end - 1].isalnum()))


@dataclass
class TemplateNLG:
    templates: dict[Signature, list[str]] = field(default_factory=dict)
    intent_phrases: dict[str, str] = field(default_factory=dict)
    inform_frames: list[str] = field(default_factory=list)  # slot-agnostic "{X}, please."-style human frames
    domains: dict[str, frozenset[str]] = field(default_factory=dict)  # template → domains real users said it in
    neutral: frozenset[str] = frozenset()  # templates no domain claims (reusable in any domain)
    slot_words: dict[str, str] = field(default_factory=dict)  # slot → how a person names it
    natural: frozenset[str] = frozenset()  # multi-word slot names real users write as such
    places: dict[str, frozenset[str]] = field(default_factory=dict)  # template → opening / switch / reply
    # template → services real users said it to: "I need to find a dentist in {city}." is Services_2's, and
    # Services_4 (therapists) shares its domain and intent name but not its words
    services_of: dict[str, frozenset[str]] = field(default_factory=dict)
    # service → words that tie text to it: its schema's, and words only its users write within its domain ("salon")
    service_words: dict[str, frozenset[str]] = field(default_factory=dict)
    _schema_seen: set[str] = field(default_factory=set)
    _foreign_seen: dict[tuple[str, str], bool] = field(default_factory=dict)
    _pools: dict[tuple[Any, ...], list[str]] = field(default_factory=dict)  # the answers of _pick and friends, remembered
    # slot → sentences real users said a value of it in, alone ("I want to leave on {date}."), with their domains
    # ("*": the domain classifier finds the sentence neutral)
    slot_phrases: dict[str, list[tuple[str, frozenset[str], frozenset[str]]]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # utterances not made templates, by reason

    @classmethod
    def fit(cls, dialogues: Iterable[dict[str, Any]], services: dict[str, Service], classifier: Any = None,
            natural: frozenset[str] = frozenset()) -> TemplateNLG:
        """`classifier` (a `realism.DomainClassifier`) marks the templates any domain may reuse; without
        one every template is neutral. `natural`: multi-word slot names real users write as such."""
        dialogues = list(dialogues)
        index = _value_index(services, _known_values(dialogues))
        templates: dict[Signature, list[str]] = defaultdict(list)
        doms: dict[str, set[str]] = defaultdict(set)
        places: dict[str, set[str]] = defaultdict(set)
        svcs: dict[str, set[str]] = defaultdict(set)
        said_to: dict[str, Counter[str]] = defaultdict(Counter)  # service → words its users wrote (one-service turns)
        dropped: dict[str, int] = defaultdict(int)
        for d in dialogues:
            seen_services: set[str] = set()
            first = True
            for turn in d["turns"]:
                if turn["speaker"] != "USER":
                    continue
                services_here = {f["service"] for f in turn["frames"]}
                if len(services_here) == 1:
                    said_to[next(iter(services_here))].update(_content_words(turn["utterance"]))
                place = "opening" if first else "switch" if services_here - seen_services else "reply"
                first = False
                seen_services |= services_here
                acts = turn_acts(turn)
                spans = sorted({(s["start"], s["exclusive_end"], s["slot"]) for f in turn["frames"] for s in f.get("slots", [])})
                informed = {slot for _, act, slot, v in acts if act == "INFORM" and v}
                stray = _stray_values(turn, index, spans)
                if stray is None:
                    dropped["a value it does not inform"] += 1  # "I like horror or Drama." with genre=Drama
                    continue
                spans = sorted(spans + stray)
                if {s for _, _, s in spans} != informed or len(spans) != len(informed):
                    continue  # a value without a span (or two spans of one slot) cannot be refilled safely
                if not all(span_ok(turn["utterance"], a, b) for a, b, _ in spans):
                    dropped["span off a word boundary"] += 1
                    continue
                if corrupted(tidy(turn["utterance"])):  # SGD's own typos: "I want to find a rest54 Minaurant there too."
                    dropped["corrupted text in the corpus"] += 1
                    continue
                text, out, last = turn["utterance"], [], 0
                for start, end, slot in spans:
                    out.append(text[last:start].replace("{", "(").replace("}", ")"))
                    out.append("{" + slot + "}")
                    last = end
                out.append(text[last:].replace("{", "(").replace("}", ")"))
                templates[signature(acts)].append("".join(out))
                doms["".join(out)] |= {domain(f["service"]) for f in turn["frames"]}
                svcs["".join(out)] |= {f["service"] for f in turn["frames"]}
                places["".join(out)].add(place)
        phrases = {}
        for svc in services.values():
            for intent in svc.intents.values():
                phrases[intent.name] = intent_phrase(intent.name, intent.description)
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
        said_alone: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        said_by: dict[str, set[str]] = defaultdict(set)  # sentence → services its users said it to
        for t, ds in doms.items():
            for sentence in SENTENCE.findall(t):
                slots = _PLACEHOLDER.findall(sentence)
                if len(slots) == 1 and _phrase_ok(sentence):
                    said_alone[slots[0]][sentence.strip()] |= ds
                    said_by[sentence.strip()] |= svcs[t]
        if classifier is not None:  # a sentence no domain claims ("I'd like it on {date}.") may be reused anywhere
            flat = [(slot, t) for slot, sent in said_alone.items() for t in sent]
            for (slot, t), (_, p) in zip(flat, classifier.predict([_PLACEHOLDER.sub("", t) for _, t in flat]), strict=True):
                if p < NEUTRAL_P:
                    said_alone[slot][t].add("*")
        nlg = cls({k: sorted(set(v)) for k, v in templates.items()}, phrases, [f for f in frames if f in neutral or not doms],
                  {t: frozenset(v) for t, v in doms.items()}, neutral, natural=natural,
                  places={t: frozenset(v) for t, v in places.items()}, dropped=dict(dropped),
                  services_of={t: frozenset(v) for t, v in svcs.items()},
                  slot_phrases={slot: sorted((t, frozenset(d), frozenset(said_by[t])) for t, d in sent.items())
                                for slot, sent in said_alone.items()})
        for svc, words in said_to.items():  # a word only one service's users write in their domain ties text to it
            rivals = Counter[str]()
            for other, theirs in said_to.items():
                if other != svc and domain(other) == domain(svc):
                    rivals.update(theirs)
            nlg.service_words[svc] = frozenset(w for w, n in words.items() if not rivals[w] and w not in _COMMON)
        nlg.add_services(services)
        return nlg

    def add_services(self, services: dict[str, Service]) -> None:
        """Learn how to name the intents and slots of services seen only now (for unseen-service fallbacks)."""
        for svc in services.values():
            if svc.name not in self._schema_seen:
                self._schema_seen.add(svc.name)
                self.forget()
                self.service_words[svc.name] = self.service_words.get(svc.name, frozenset()) | _schema_words(svc)
            for slot in svc.slots.values():
                if slot.name not in self.slot_words:
                    self.slot_words[slot.name] = _slot_words(slot.name, slot.description, self.natural)
            for intent in svc.intents.values():
                if intent.name not in self.intent_phrases:
                    self.intent_phrases[intent.name] = intent_phrase(intent.name, intent.description)
                # services share intent names (Services_1..4 all have FindProvider: salons, dentists, doctors, therapists)
                self.intent_phrases.setdefault(f"{svc.name}:{intent.name}", intent_phrase(intent.name, intent.description,
                                                                                          _entity(svc, intent)))

    def _fill(self, template: str, values: dict[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: say_value(values.get(m.group(1), m.group(0))), template)

    def _pick(self, sig: Signature, dom: str, place: str = "reply", service: str = "") -> list[str]:
        """Templates for `sig` fit for `service` (its own users' first), else for its domain `dom`, else neutral
        ones, and for the place: an opening takes only text that leans on no earlier exchange, real openings first.
        (Remembered per question: the templates only change when a service is added.)"""
        key = ("pick", sig, dom, place, service)
        if key not in self._pools:
            self._pools[key] = self._choose(sig, dom, place, service)
        return self._pools[key]

    def _choose(self, sig: Signature, dom: str, place: str, service: str) -> list[str]:
        cands = self.templates.get(sig) or []
        if place == "opening":  # no lean on context, and more than a bare value ("Las Vegas.")
            cands = [t for t in cands if not leans_on_context(_PLACEHOLDER.sub("x", t))
                     and re.search(r"[a-z]{2,}", _PLACEHOLDER.sub("", t), re.I)]
            opened = [t for t in cands if "opening" in self.places.get(t, ())]
            cands = opened or cands
        mine = [t for t in cands if service in self.services_of.get(t, ())]
        if mine:
            return mine
        # another service of the domain: not with words of its own schema the target's lacks ("I need to find a
        # dentist in {city}." is Services_2's; Services_4, therapists, shares its domain and intent name, not its words)
        cands = [t for t in cands if not self._foreign(t, self.services_of.get(t, frozenset()), service)]
        own = [t for t in cands if dom in self.domains.get(t, ())]
        return own or [t for t in cands if t in self.neutral or t not in self.domains]

    def _generic(self, act: Act, rng: random.Random | None = None, place: str = "reply") -> str:
        rng = rng or random.Random(0)
        key = ("frames", place)
        if key not in self._pools:
            self._pools[key] = [f for f in self.inform_frames if re.search(r"[a-z]{2,}", f.replace("{X}", ""), re.I)  # not "{X}."
                                and (place != "opening" or not leans_on_context(f.replace("{X}", "x")))]
        frames = self._pools[key]
        _, name, slot, values = act
        words = self.slot_words.get(slot) or slot.replace("_", " ")
        if name == "INFORM" and values and values[0] in ("True", "False"):
            return flag_phrase(slot, values[0] == "True", rng)
        if name == "INFORM_INTENT":
            intent = values[0] if values else ""
            said = self.intent_phrases.get(f"{act[0]}:{intent}") or self.intent_phrases.get(intent, intent)
            return rng.choice(_INTENT_FORMS).format(d=said)
        if name == "INFORM":
            if values and values[0] == "dontcare":
                short = words if len(words.split()) <= 3 else " ".join(slot.split("_")[-2:])  # never a description read out
                return rng.choice([f"Any {short} is fine with me.", f"I don't mind the {short}.", f"The {short} doesn't matter."])
            if not values:
                return ""
            said = self._slot_phrase(slot, act[0], place, rng)
            if said:  # how real users said a value of this slot, in this domain when they did
                return said.replace("{" + slot + "}", say_value(values[0]))
            if frames and rng.random() < 0.5:
                return rng.choice(frames).replace("{X}", say_value(values[0]))
            return carrier(slot, say_value(values[0]), rng)
        if name == "REQUEST":
            return rng.choice(_REQUEST_FORMS).format(w=words)
        return {
            "AFFIRM": "Yes, that's right.", "NEGATE": "No.", "SELECT": "That one sounds good.",
            "THANK_YOU": "Thank you.", "GOODBYE": "Goodbye.", "REQUEST_ALTS": "Do you have anything else?",
            "AFFIRM_INTENT": "Yes, please.", "NEGATE_INTENT": "No, not now.",
        }.get(name, "")

    def forget(self) -> None:
        """Drop the remembered answers (after changing templates, domains or services by hand)."""
        self._pools.clear()
        self._foreign_seen.clear()

    def _foreign(self, text: str, said_to: frozenset[str], service: str) -> bool:
        """Does `text`, said by users of `said_to`, carry words that tie it to those services and not to `service`?
        (Remembered per text and service: the answer only changes when a service is added.)"""
        if service in said_to:
            return False
        key = (text, service)
        seen = self._foreign_seen.get(key)
        if seen is None:
            mine = self.service_words.get(service, frozenset())
            theirs = set().union(*(self.service_words.get(x, frozenset()) for x in said_to)) - mine
            seen = self._foreign_seen[key] = bool(theirs & _content_words(_PLACEHOLDER.sub("", text)))
        return seen

    def _slot_phrase(self, slot: str, service: str, place: str, rng: random.Random) -> str | None:
        """A sentence real users said one value of `slot` in: this service's or domain's first (none with another
        service's words), then any domain's the classifier found neutral; in an opening, none that leans on context."""
        key = ("phrase", slot, service, place)
        if key not in self._pools:
            cands = [(t, d, svcs) for t, d, svcs in self.slot_phrases.get(slot, ())
                     if (place != "opening" or not leans_on_context(t)) and not self._foreign(t, svcs, service)]
            dom = domain(service)
            self._pools[key] = ([t for t, _, svcs in cands if service in svcs] or [t for t, d, _ in cands if dom in d]
                                or [t for t, d, _ in cands if "*" in d])
        pool = self._pools[key]
        return rng.choice(pool) if pool else None

    def realize(self, acts: list[Act], rng: random.Random, place: str = "reply") -> str:
        """Text for `acts`: a whole human template when one exists, else parts, else generic sentences.
        `place`: "opening" for the first turn of a conversation (see `_pick`), else "reply"."""
        return tidy(self._realize(acts, rng, place))

    def _realize(self, acts: list[Act], rng: random.Random, place: str) -> str:
        values = {slot: v[0] for _, act, slot, v in acts if act == "INFORM" and v}
        if "dontcare" in values.values():  # human templates carry a real value there
            rest = [a for a in acts if not (a[1] == "INFORM" and a[3] and a[3][0] == "dontcare")]
            said = [self._generic(a, rng, place) for a in acts if a not in rest]
            return " ".join(([self._realize(rest, rng, place)] if rest else []) + said)
        service = acts[0][0] if acts else ""
        dom = domain(service)
        whole = self._pick(signature(acts), dom, place, service)
        if whole:
            return self._fill(rng.choice(whole), values)
        parts: list[str] = []
        core = [a for a in acts if a[1] != "INFORM"]
        informs = [a for a in acts if a[1] == "INFORM"]
        groups = [core, informs] if core and informs else [acts]
        for group in groups:
            cands = self._pick(signature(group), dom, place, service)
            if cands and group:
                parts.append(self._fill(rng.choice(cands), values))
                continue
            for act in group:
                single = self._pick(signature([act]), dom, place, service)
                parts.append(self._fill(rng.choice(single), values) if single else self._generic(act, rng, place))
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
