"""Text-level realism: what a person notices first in a simulated user's words.

The act-level audit compares acts; these checks read the text, the same way for the simulator's
turns and the real users' turns of the same dialogues, so every rate has a human baseline:

- **off-domain**: a classifier trained on real user turns (TF-IDF + logistic regression, label =
  the turn's domain) is confident (probability ≥ `OFF_DOMAIN_P`) the turn belongs to a domain none
  of the task's services is in ("I want to go see a movie" in a restaurant task);
- **slot-name leaks**: a schema slot name in the text, underscored, or spaced when real users never
  write that phrase ("What's the has vegetarian options?");
- **contradictions**: a value in the text for a slot the goal fixes to another value, neither
  offered in the dialogue nor open to offers;
- **repetition**: the same text as an earlier user turn of the dialogue; **degenerate**: one word or
  phrase repeated within a turn ("SURROUNDER SURROUNDER …");
- **openings that lean on context**: a dialogue's first user turn that presupposes an earlier exchange
  ("I want a hotel there too.", "Yes, can you ...": `nlg.leans_on_context`), per opening;
- **corrupted text**: a value spliced into a word ("rest54 Minaurant") or tokenizer spacing (`textchecks.corrupted`);
- **form-like slot phrasing**: "I'd like the star rating to be 1.", "Japanese for the category.", a schema
  description read aloud (`textchecks.form_like`);
- **length**: words per turn, simulator vs humans (two-sample Kolmogorov–Smirnov statistic).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agentgym.domains.sgd.schema import Service, domain
from agentgym.domains.sgd.users.textchecks import corrupted, form_like, leans_on_context
from agentgym.domains.sgd.values import text_key

OFF_DOMAIN_P = 0.9  # the audit's threshold: the classifier is sure of another domain (real users: 0.8 % of dev turns)
NEUTRAL_P = 0.3  # stricter, for wording: a template reused in another domain must be clearly neutral
_WORDS = re.compile(r"[a-z']+")


@dataclass
class DomainClassifier:
    """Which domain is a user turn about? Fitted on real user turns (one domain per turn)."""

    vectorizer: Any
    model: Any
    labels: tuple[str, ...]

    @classmethod
    def fit(cls, dialogues: Iterable[dict[str, Any]], max_turns: int = 60_000, seed: int = 0) -> DomainClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts, labels = [], []
        for d in dialogues:
            for turn in d["turns"]:
                doms = {domain(f["service"]) for f in turn["frames"]}
                if turn["speaker"] == "USER" and len(doms) == 1:
                    texts.append(turn["utterance"])
                    labels.append(doms.pop())
        if len(set(labels)) < 2:
            raise ValueError("A domain classifier needs user turns from at least two domains; this corpus has "
                             f"{sorted(set(labels))}. Fit on a corpus with more services.")
        if len(texts) > max_turns:  # a uniform sample keeps the fit under a minute on full SGD
            keep = np.random.default_rng(seed).choice(len(texts), max_turns, replace=False)
            texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
        x = vec.fit_transform(texts)
        model = LogisticRegression(max_iter=300, C=4.0).fit(x, labels)
        return cls(vec, model, tuple(str(c) for c in model.classes_))

    def proba(self, texts: list[str]) -> np.ndarray:
        return self.model.predict_proba(self.vectorizer.transform(texts)) if texts else np.zeros((0, len(self.labels)))

    def predict(self, texts: list[str]) -> list[tuple[str, float]]:
        """(most likely domain, its probability) for each text."""
        p = self.proba(texts)
        return [(self.labels[int(i)], float(row[i])) for row, i in zip(p, p.argmax(1) if len(p) else [], strict=True)]

    def off_domain(self, texts: list[str], domains: list[set[str]], threshold: float = OFF_DOMAIN_P) -> list[bool]:
        """Is each text confidently about a domain outside its task's domains?"""
        return [p >= threshold and d not in doms for (d, p), doms in zip(self.predict(texts), domains, strict=True)]


def natural_slot_phrases(dialogues: Iterable[dict[str, Any]], services: dict[str, Service]) -> frozenset[str]:
    """Multi-word slot names ('number of seats') that real users write as such; the rest are schema jargon."""
    phrases = {s.replace("_", " ") for svc in services.values() for s in svc.slots if "_" in s}
    found: set[str] = set()
    for d in dialogues:
        for turn in d["turns"]:
            if turn["speaker"] == "USER":
                low = turn["utterance"].lower()
                found |= {p for p in phrases - found if p in low}
    return frozenset(found)


def slot_leaks(text: str, slots: Iterable[str], natural: frozenset[str], flags: Iterable[str] = ()) -> list[str]:
    """Schema slot names written in `text` as no person would: underscored ('has_wifi'), or a yes/no slot
    (`flags`) used as a noun ('the has vegetarian options') when real users never write that phrase."""
    low = text.lower()
    flags = set(flags)
    out = []
    for s in slots:
        if "_" not in s:
            continue
        spaced = s.replace("_", " ")
        if s in low or (s in flags and spaced not in natural and re.search(r"\b(the|a|any) " + re.escape(spaced) + r"\b", low)):
            out.append(s)
    return out


def degenerate(text: str) -> bool:
    """One word three times in a row, or one 3-word phrase three times: a model stuck in a loop."""
    words = _WORDS.findall(text.lower())
    if any(words[i] == words[i + 1] == words[i + 2] for i in range(len(words) - 2)):
        return True
    grams = Counter(tuple(words[i:i + 3]) for i in range(len(words) - 2))
    return bool(grams) and max(grams.values()) >= 3


@dataclass
class _Side:
    turns: int = 0
    off_domain: int = 0
    leaks: int = 0
    contradictions: int = 0
    repeats: int = 0
    degenerate: int = 0
    openings: int = 0
    opening_leans: int = 0
    corrupted: int = 0
    form_like: int = 0
    lengths: list[int] = field(default_factory=list)
    examples: list[dict[str, str]] = field(default_factory=list)
    leaning_openings: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TextAudit:
    """Accumulates the checks for simulator ('sim') and human turns; `metrics()` rolls them up."""

    classifier: DomainClassifier
    natural: frozenset[str]
    sides: dict[str, _Side] = field(default_factory=lambda: {"sim": _Side(), "human": _Side()})
    _pending: list[tuple[str, str, set[str], str]] = field(default_factory=list)

    def add(self, side: str, text: str, *, task_domains: set[str], slots: Iterable[str], earlier: list[str],
            contradictions: int, task_id: str = "", flags: Iterable[str] = (), opening: bool = False) -> None:
        s = self.sides[side]
        s.turns += 1
        s.corrupted += corrupted(text)
        s.form_like += form_like(text)
        if opening:
            s.openings += 1
            if leans_on_context(text):
                s.opening_leans += 1
                if len(s.leaning_openings) < 5:
                    s.leaning_openings.append({"task": task_id, "text": text})
        s.leaks += bool(slot_leaks(text, slots, self.natural, flags))
        s.contradictions += bool(contradictions)
        s.repeats += text_key(text) in {text_key(e) for e in earlier}
        s.degenerate += degenerate(text)
        s.lengths.append(len(text.split()))
        self._pending.append((side, text, task_domains, task_id))

    def _classify(self) -> None:
        if not self._pending:
            return
        texts = [t for _, t, _, _ in self._pending]
        preds = self.classifier.predict(texts)
        for (side, text, doms, task_id), (d, p) in zip(self._pending, preds, strict=True):
            if p >= OFF_DOMAIN_P and d not in doms:
                s = self.sides[side]
                s.off_domain += 1
                if len(s.examples) < 5:
                    s.examples.append({"task": task_id, "text": text, "task_domains": ", ".join(sorted(doms)),
                                       "predicted": f"{d} ({p:.2f})"})
        self._pending = []

    def metrics(self) -> dict[str, Any]:
        from scipy.stats import ks_2samp

        self._classify()
        out: dict[str, Any] = {}
        for name, s in self.sides.items():
            n = max(s.turns, 1)
            out[f"off_domain_rate_{name}"] = round(s.off_domain / n, 4)
            out[f"slot_name_leak_rate_{name}"] = round(s.leaks / n, 4)
            out[f"text_contradiction_rate_{name}"] = round(s.contradictions / n, 4)
            out[f"repeat_rate_{name}"] = round(s.repeats / n, 4)
            out[f"degenerate_rate_{name}"] = round(s.degenerate / n, 4)
            out[f"corrupted_rate_{name}"] = round(s.corrupted / n, 4)
            out[f"form_like_rate_{name}"] = round(s.form_like / n, 4)
            out[f"opening_context_rate_{name}"] = round(s.opening_leans / max(s.openings, 1), 4)
            out[f"leaning_opening_examples_{name}"] = s.leaning_openings
            out[f"words_per_turn_{name}"] = round(float(np.mean(s.lengths)), 2) if s.lengths else 0.0
        sim, human = self.sides["sim"].lengths, self.sides["human"].lengths
        out["length_ks"] = round(float(ks_2samp(sim, human).statistic), 4) if sim and human else 0.0
        top = max([*sim, *human, 1])
        edges = list(range(0, min(top, 60) + 5, 5))
        out["length_hist"] = {"edges": edges, "sim": np.histogram(np.clip(sim, 0, edges[-1] - 1), edges)[0].tolist(),
                              "human": np.histogram(np.clip(human, 0, edges[-1] - 1), edges)[0].tolist()}
        out["off_domain_examples_sim"] = self.sides["sim"].examples
        return out


def naturalness(train: list[tuple[str, str]], held_out: list[tuple[str, str]], seed: int = 0) -> dict[str, Any]:
    """How well a classifier tells the simulator's turns from the humans' (TF-IDF of word 1–2-grams and character
    3–5-grams, logistic regression), fitted on `train` pairs (("sim" | "human", text), e.g. `audit_user(...,
    texts_out=...)` on the train split) and scored on `held_out` ones (the audited split). Both sides have one
    turn per real user turn, so chance is 0.5: the closer the held-out accuracy is to it, the more human the
    simulator reads. The interval is Wilson's 95 %; `most_simulated` are held-out simulator turns it was surest of."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if not train or not held_out or len({s for s, _ in train}) < 2:
        raise ValueError("naturalness needs simulator and human turns on both sides (train and held out).")
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True, lowercase=False)
    x_train = hstack([words.fit_transform([t for _, t in train]), chars.fit_transform([t for _, t in train])]).tocsr()
    y_train = np.array([s == "sim" for s, _ in train])
    model = LogisticRegression(max_iter=1000, C=2.0, random_state=seed).fit(x_train, y_train)
    x = hstack([words.transform([t for _, t in held_out]), chars.transform([t for _, t in held_out])]).tocsr()
    y = np.array([s == "sim" for s, _ in held_out])
    p = model.predict_proba(x)[:, 1]
    correct = int(((p >= 0.5) == y).sum())
    n = len(y)
    acc, z = correct / n, 1.96
    centre = (acc + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(acc * (1 - acc) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    order = np.argsort(-p)
    surest = [held_out[i][1] for i in order if y[i]][:5]
    return {"naturalness_accuracy": round(acc, 4), "naturalness_ci95": [round(float(centre - half), 4), round(float(centre + half), 4)],
            "naturalness_train_turns": len(train), "naturalness_held_out_turns": n, "most_simulated": surest}


REALISM_RATES = ("off_domain_rate", "slot_name_leak_rate", "text_contradiction_rate", "repeat_rate", "degenerate_rate",
                 "corrupted_rate", "form_like_rate", "opening_context_rate")


def realism_figure(metrics: dict[str, Any], title: str = "Simulated vs real users, text level") -> Any:
    """Rates side by side (simulator vs humans) and the words-per-turn histograms (plotly)."""
    from agentgym.extras import require

    go = require("plotly.graph_objects", "The realism figure")
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("rate of user turns", "words per turn"))
    names = [r.replace("_rate", "").replace("_", " ") for r in REALISM_RATES]
    for side, color in (("sim", "#d62728"), ("human", "#1f77b4")):
        fig.add_trace(go.Bar(name="simulator" if side == "sim" else "humans", x=names, marker_color=color,
                             y=[metrics.get(f"{r}_{side}", 0.0) for r in REALISM_RATES]), row=1, col=1)
        hist = metrics.get("length_hist") or {"edges": [0, 5], "sim": [0], "human": [0]}
        total = max(sum(hist[side]), 1)
        fig.add_trace(go.Bar(name=f"{'simulator' if side == 'sim' else 'humans'} length", marker_color=color, opacity=0.6,
                             x=[f"{a}–{b - 1}" for a, b in zip(hist["edges"], hist["edges"][1:], strict=False)],
                             y=[c / total for c in hist[side]], showlegend=False), row=1, col=2)
    fig.update_layout(title=title, barmode="group", height=380)
    return fig
