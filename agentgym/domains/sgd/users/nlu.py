"""Understanding the agent: free text → system dialogue acts, learned from SGD's system turns.

Act types and requested slots come from TF-IDF + logistic-regression classifiers trained on
delexicalized SGD system utterances; slot values come from matching the text against the values
the user can recognise (its goal, this episode's tool results, categorical value lists).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from agentgym.domains.sgd.schema import Service
from agentgym.domains.sgd.tasks import Act
from agentgym.domains.sgd.users.state import SYSTEM_ACTS
from agentgym.domains.sgd.values import surface_forms

_NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_NUM = re.compile(r"\b\d+(?:[.:]\d+)?\b")
_WORD = re.compile(r"[a-z0-9']+")
_VALUE_ACTS = ("OFFER", "CONFIRM", "INFORM")


def context_tokens(previous_user_acts: Iterable[str]) -> str:
    """What the user just did, as tokens: an answer to a REQUEST reads differently from an offer."""
    return "".join(f"ctxuser{a.lower().replace('_', '')} " for a in sorted(set(previous_user_acts)))


def delexicalize(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Replace value spans and numbers with placeholders so the classifier learns the act, not the value."""
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(" VALUE ")
        last = end
    out.append(text[last:])
    return _NUM.sub(" NUM ", "".join(out)).lower()


def find_values(text: str, candidates: dict[tuple[str, str], set[str]]) -> list[tuple[str, str, int, int]]:
    """(slot, canonical value, start, end) for every candidate value written in the text, longest first.

    A value several slots can hold ('checking' for account_type and recipient_account_type) goes
    to the slot named just before it in the text, else to the first candidate.
    """
    low = text.lower()
    by_form: dict[str, list[tuple[str, str]]] = {}
    for slot, value in candidates:
        for f in surface_forms(value):
            if len(f) >= 2 or f.isdigit():
                by_form.setdefault(f, []).append((slot, value))
    hits: list[tuple[str, str, int, int]] = []
    taken: list[tuple[int, int]] = []
    for form in sorted(by_form, key=len, reverse=True):
        if form not in low:
            continue
        for m in re.finditer(r"(?<![a-z0-9])" + re.escape(form) + r"(?![a-z0-9])", low):
            s, e = m.span()
            if any(s < te and ts < e for ts, te in taken):
                continue
            options = by_form[form]
            if (form.isdigit() and len(form) <= 2) or form in _NUMBER_WORDS:
                # a bare small number ("2") is only a slot value when the slot is named next to it
                near = low[max(0, s - 40):min(len(low), e + 25)]
                options = [(sl, v) for sl, v in options
                           if any(w in near for w in sl.split("_") if len(w) > 3 and w not in ("number",))]
                if not options:
                    continue
            taken.append((s, e))
            if len(options) > 1:
                before = low[max(0, s - 40):s]
                named = [(before.rfind(sl.replace("_", " ")) + len(sl), len(sl), sl, v) for sl, v in options if sl.replace("_", " ") in before]
                if named:
                    _, _, slot, value = max(named)
                    hits.append((slot, value, s, e))
                    continue
            hits.append((options[0][0], options[0][1], s, e))
    return hits


class LinearTextModel:
    """A fitted TF-IDF + one-vs-rest logistic regression, compiled for single-text prediction.

    sklearn's per-call overhead is milliseconds; a user turn has a budget of well under one. The
    same numbers, computed from a dict of n-gram weights, take tens of microseconds.
    """

    def __init__(self, pipeline: Any) -> None:
        vec, clf = pipeline.steps[0][1], pipeline.steps[1][1]
        self.vectorizer = vec
        coef = np.vstack([e.coef_[0] for e in clf.estimators_])  # labels × features
        intercept = np.array([e.intercept_[0] for e in clf.estimators_])
        idf = vec.idf_
        self.intercept = intercept
        self.weights = {term: (float(idf[i]), coef[:, i].copy()) for term, i in vec.vocabulary_.items()}
        self.sublinear = bool(vec.sublinear_tf)
        self._analyzer = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_analyzer"] = None
        return state

    def predict_proba(self, text: str) -> np.ndarray:
        if self._analyzer is None:
            self._analyzer = self.vectorizer.build_analyzer()
        counts: dict[str, int] = {}
        for tok in self._analyzer(text):
            if tok in self.weights:
                counts[tok] = counts.get(tok, 0) + 1
        if not counts:
            return 1.0 / (1.0 + np.exp(-self.intercept))
        vals = []
        vecs = []
        for tok, n in counts.items():
            idf, w = self.weights[tok]
            vals.append(((1.0 + np.log(n)) if self.sublinear else n) * idf)
            vecs.append(w)
        x = np.asarray(vals)
        x /= np.sqrt((x * x).sum())
        z = self.intercept + x @ np.vstack(vecs)
        return 1.0 / (1.0 + np.exp(-z))


class SlotScorer:
    """P(slot is requested | text, slot) from crossed text×slot-name words, so a slot of a service
    never seen in training ("destination_city" of Flights_3) is recognised by its words."""

    N_FEATURES = 2 ** 20

    def __init__(self, coef: np.ndarray, intercept: float) -> None:
        self.coef, self.intercept = coef, intercept

    @staticmethod
    def slot_tokens(slot: str, description: str) -> list[str]:
        words = [w for w in slot.split("_") if w]
        desc = [w for w in _WORD.findall(description.lower()) if w not in _STOP and len(w) > 2][:6]
        return list(dict.fromkeys(["n:" + w for w in words] + ["d:" + w for w in desc]))

    @staticmethod
    def features(text_tokens: list[str], slot_toks: list[str], named: bool) -> list[str]:
        feats = [f"{t}|{w}" for t in text_tokens for w in slot_toks]
        feats += [f"bias|{w}" for w in slot_toks]
        hits = sum(1 for w in slot_toks if w[2:] in text_tokens)
        feats.append(f"overlap={min(hits, 3)}")
        if named:
            feats.append("named")
        return feats

    @staticmethod
    @lru_cache(maxsize=500_000)
    def _index(feat: str) -> int:
        from sklearn.utils import murmurhash3_32

        return murmurhash3_32(feat, positive=True) % SlotScorer.N_FEATURES

    def score(self, text_tokens: list[str], slot_toks: list[str], named: bool) -> float:
        z = self.intercept + sum(self.coef[self._index(f)] for f in self.features(text_tokens, slot_toks, named))
        return float(1.0 / (1.0 + np.exp(-z)))

    @classmethod
    def fit(cls, examples: list[tuple[list[str], list[str], bool, int]]) -> SlotScorer:
        from scipy.sparse import csr_matrix
        from sklearn.linear_model import LogisticRegression

        rows, cols, y = [], [], []
        for i, (toks, stoks, named, label) in enumerate(examples):
            idx = sorted({cls._index(f) for f in cls.features(toks, stoks, named)})
            rows += [i] * len(idx)
            cols += idx
            y.append(label)
        X = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(examples), cls.N_FEATURES))
        lr = LogisticRegression(C=2.0, max_iter=2000).fit(X, y)
        return cls(lr.coef_[0].astype(np.float32), float(lr.intercept_[0]))


def _text_tokens(delex: str) -> list[str]:
    return list(dict.fromkeys(w for w in _WORD.findall(delex) if w not in ("value", "num")))


@dataclass
class SystemNLU:
    """Fitted classifiers: act types, requested slots."""

    act_model: Any = None
    slot_model: Any = None
    slot_names: list[str] = field(default_factory=list)
    slot_words: dict[str, set[str]] = field(default_factory=dict)
    slot_threshold: float = 0.5
    last_confidence: float = 1.0  # the top act probability of the last parse (< 0.5: a guess)
    scorer: SlotScorer | None = None

    @classmethod
    def fit(cls, dialogues: Iterable[dict[str, Any]], services: dict[str, Service]) -> SystemNLU:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.pipeline import make_pipeline

        texts, acts_y, slot_y = [], [], []
        pair_examples: list[tuple[list[str], list[str], bool, int]] = []
        for d in dialogues:
            prev: list[str] = []
            for turn in d["turns"]:
                if turn["speaker"] != "SYSTEM":
                    prev = [a["act"] for f in turn["frames"] for a in f["actions"]]
                    continue
                spans = [(s["start"], s["exclusive_end"]) for f in turn["frames"] for s in f.get("slots", [])]
                texts.append(context_tokens(prev) + delexicalize(turn["utterance"], spans))
                acts = [a for f in turn["frames"] for a in f["actions"]]
                acts_y.append({a["act"] for a in acts})
                requested = {a["slot"] for a in acts if a["act"] == "REQUEST" and a["slot"]}
                slot_y.append(requested)
                if requested:
                    svc = services.get(turn["frames"][0]["service"])
                    toks = _text_tokens(texts[-1])
                    low = " " + " ".join(_WORD.findall(turn["utterance"].lower())) + " "
                    for slot in (svc.slots.values() if svc else []):
                        pair_examples.append((toks, SlotScorer.slot_tokens(slot.name, slot.description),
                                              f" {slot.name.replace('_', ' ')} " in low, int(slot.name in requested)))
        slot_names = sorted(set().union(*slot_y)) if slot_y else []

        def model() -> Any:
            return make_pipeline(
                TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                OneVsRestClassifier(LogisticRegression(C=8.0, max_iter=2000)),
            )

        A = np.array([[a in y for a in SYSTEM_ACTS] for y in acts_y], dtype=int)
        act_model = LinearTextModel(model().fit(texts, A))
        req_idx = [i for i, y in enumerate(acts_y) if "REQUEST" in y]
        S = np.array([[s in slot_y[i] for s in slot_names] for i in req_idx], dtype=int)
        keep = S.sum(axis=0) > 0
        slot_names = [s for s, k in zip(slot_names, keep, strict=True) if k]
        slot_model = LinearTextModel(model().fit([texts[i] for i in req_idx], S[:, keep])) if req_idx and slot_names else None
        words = {}
        for svc in services.values():
            for slot in svc.slots.values():
                words[slot.name] = set(_WORD.findall((slot.name.replace("_", " ") + " " + slot.description).lower())) - _STOP
        scorer = SlotScorer.fit(pair_examples) if pair_examples else None
        return cls(act_model, slot_model, slot_names, words, scorer=scorer)

    def parse(self, text: str, service: str, services: dict[str, Service],
              candidates: dict[tuple[str, str], set[str]] | None = None, intents: list[str] | None = None,
              previous_user_acts: Iterable[str] = ()) -> list[Act]:
        """System acts of one agent message about `service`.

        `candidates` maps (slot, canonical value) to the episode's known values; `intents` are the
        intents an OFFER_INTENT may offer (first = most likely).
        """
        candidates = candidates or {}
        svc = services.get(service)
        hits = find_values(text, candidates) if text else []
        delex = context_tokens(previous_user_acts) + delexicalize(text, [(s, e) for _, _, s, e in hits])
        probs = self.act_model.predict_proba(delex)
        self.last_confidence = float(probs.max())
        types = {a for a, p in zip(SYSTEM_ACTS, probs, strict=True) if p >= 0.5}
        if not types:
            types = {SYSTEM_ACTS[int(np.argmax(probs))]}
        acts: list[Act] = []
        if "REQUEST" in types and svc is not None:
            for slot in self._requested(delex, text, svc):
                acts.append((service, "REQUEST", slot, ()))
        value_act = "CONFIRM" if "CONFIRM" in types else "OFFER" if "OFFER" in types else "INFORM" if "INFORM" in types else None
        if value_act:
            seen = set()
            for slot, value, _, _ in sorted(hits, key=lambda h: h[2]):
                if (slot, value) not in seen:
                    seen.add((slot, value))
                    acts.append((service, value_act, slot, (value,)))
            if not any(a[1] == value_act for a in acts):
                acts.append((service, value_act, "", ()))
        for t in ("NOTIFY_SUCCESS", "NOTIFY_FAILURE", "INFORM_COUNT", "REQ_MORE", "GOODBYE"):
            if t in types:
                acts.append((service, t, "count" if t == "INFORM_COUNT" else "", ()))
        if "OFFER_INTENT" in types:
            acts.append((service, "OFFER_INTENT", "intent", (intents[0],) if intents else ()))
        for extra in types - {a[1] for a in acts} - {"CONFIRM", "OFFER", "INFORM", "REQUEST"}:
            acts.append((service, extra, "", ()))
        return acts

    def _requested(self, delex: str, text: str, svc: Service) -> list[str]:
        """Requested slots: scored per slot of the service from crossed text×slot words."""
        low = " " + " ".join(_WORD.findall(text.lower())) + " "
        if self.scorer is not None:
            toks = _text_tokens(delex)
            scores = {s.name: self.scorer.score(toks, SlotScorer.slot_tokens(s.name, s.description),
                                                f" {s.name.replace('_', ' ')} " in low) for s in svc.slots.values()}
            chosen = [s for s, p in sorted(scores.items(), key=lambda x: -x[1]) if p >= self.slot_threshold]
            return chosen[:3] or ([max(scores, key=scores.get)] if scores else [])
        named = [s for s in svc.slots if f" {s.replace('_', ' ')} " in low]
        # "recipient account type" also contains "account type": keep the most specific names
        named = [s for s in named if not any(o != s and s.replace("_", " ") in o.replace("_", " ") for o in named)]
        if named:
            return named
        allowed = [s for s in svc.slots if s in self.slot_names]
        out: list[str] = []
        if self.slot_model is not None and allowed:
            probs = dict(zip(self.slot_names, self.slot_model.predict_proba(delex), strict=True))
            ranked = sorted(allowed, key=lambda s: -probs[s])
            out = [s for s in ranked if probs[s] >= self.slot_threshold] or ([ranked[0]] if probs[ranked[0]] >= 0.2 else [])
        unseen = [s for s in svc.slots if s not in self.slot_names]
        if unseen and not out:
            words = set(_WORD.findall(text.lower()))
            scored = sorted(unseen, key=lambda s: -len(self.slot_words.get(s, set()) & words))
            if scored and self.slot_words.get(scored[0], set()) & words:
                out = [scored[0]]
        if not out and allowed and self.slot_model is not None:
            out = ranked[:1]
        return out


_STOP = {"the", "a", "an", "of", "to", "for", "in", "on", "is", "or", "and", "be", "user", "which", "whether", "at", "with",
         "name", "number", "date", "time"}
