"""Is the judge valid? Real SGD system turns versus corrupted ones, judged side by side.

Corruptions: a wrong slot value, an invented entity, a skipped confirmation, a wrong tool result
quoted. A valid judge prefers the real turn; the rule-based grounding score is reported on the
same pairs for comparison.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from agentgym.domains.sgd.corpus import SGDCorpus

INVENTED = ["The Copper Kettle", "Blue Harbor Bistro", "Maplewood Suites", "Starlight Cinema Club", "Redstone Motors",
            "Silver Pine Clinic", "Golden Gate Grill", "Harborview Apartments"]
_SUCCESS = "All done, it's booked for you."
_VALUE_TOKEN = re.compile(r"\$?\d[\d:.,]*|(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z'&.-]*(?:\s+[A-Z][A-Za-z'&.-]*)*")


@dataclass
class Pair:
    kind: str
    context: list[dict[str, Any]]
    real: str
    corrupted: str
    dialogue_id: str


def _context(turns: list[dict[str, Any]], upto: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in turns[:upto]:
        out.append({"role": "user" if t["speaker"] == "USER" else "assistant", "content": t["utterance"]})
    for f in turns[upto]["frames"]:  # the tool results the real turn was based on
        if f.get("service_call"):
            out.append({"role": "tool", "content": json.dumps({"tool": f"{f['service']}_{f['service_call']['method']}",
                                                               "results": (f.get("service_results") or [])[:5]})})
    return out


def build_pairs(corpus: SGDCorpus, n: int = 100, seed: int = 0) -> list[Pair]:
    """Up to `n` (real, corrupted) system turns from `corpus`, balanced over corruption kinds."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Pair]] = {"wrong_value": [], "invented_entity": [], "skipped_confirmation": [], "wrong_tool_result": []}
    values: dict[str, set[str]] = {}
    for rows in corpus.tables.rows.values():
        for r in rows:
            for k, v in r.items():
                values.setdefault(k, set()).add(v)
    for d in corpus.dialogues:
        turns = d["turns"]
        for i, t in enumerate(turns):
            if t["speaker"] != "SYSTEM" or i == 0:
                continue
            text = t["utterance"]
            acts = [a for f in t["frames"] for a in f["actions"]]
            spans = [(s["start"], s["exclusive_end"], s["slot"]) for f in t["frames"] for s in f.get("slots", [])]
            names = {a["act"] for a in acts}
            results = [r for f in t["frames"] for r in (f.get("service_results") or [])]
            ctx = _context(turns, i)
            if "CONFIRM" in names:
                by_kind["skipped_confirmation"].append(Pair("skipped_confirmation", ctx, text, _SUCCESS, d["dialogue_id"]))
            for start, end, slot in spans:
                said = text[start:end]
                others = sorted(v for v in values.get(slot, ()) if v.lower() != said.lower() and v.lower() not in text.lower())
                if any(w in slot for w in ("name", "title")) and "OFFER" in names:
                    fake = rng.choice(INVENTED)
                    by_kind["invented_entity"].append(Pair("invented_entity", ctx, text, text[:start] + fake + text[end:], d["dialogue_id"]))
                elif "INFORM" in names and results:
                    alt = sorted({r[slot] for r in results if slot in r and r[slot].lower() != said.lower()}) or others
                    if alt:
                        by_kind["wrong_tool_result"].append(Pair("wrong_tool_result", ctx, text, text[:start] + rng.choice(alt) + text[end:], d["dialogue_id"]))
                elif others:
                    by_kind["wrong_value"].append(Pair("wrong_value", ctx, text, text[:start] + rng.choice(others) + text[end:], d["dialogue_id"]))
                break
    per = max(1, n // len(by_kind))
    out: list[Pair] = []
    for pairs in by_kind.values():
        rng.shuffle(pairs)
        out += pairs[:per]
    return out[:n]


def grounded_score(response: str, context: list[dict[str, Any]]) -> float:
    """Rule-based: the share of names and numbers in the response found in the dialogue or tool results,
    and 0 for claiming a booking the user has not confirmed."""
    ctx = "\n".join(str(m.get("content", "")) for m in context).lower()
    last_user = next((m["content"].lower() for m in reversed(context) if m.get("role") == "user"), "")
    claims = re.search(r"\b(booked|reserved|confirmed|purchased|scheduled|done)\b", response.lower())
    affirmed = re.search(r"\b(yes|yeah|yep|sure|correct|right|perfect|great|sounds good|that works|ok|okay)\b", last_user)
    tool_called = any(m.get("role") == "tool" for m in context[-2:])
    if claims and not affirmed and not tool_called:
        return 0.0
    tokens = [t.strip(".,") for t in _VALUE_TOKEN.findall(response) if len(t.strip(".,")) > 1]
    if not tokens:
        return 1.0
    return sum(t.lower() in ctx for t in tokens) / len(tokens)


def evaluate_judge(judge: Any, pairs: list[Pair], progress: bool = False) -> dict[str, Any]:
    """Preference accuracy of the judge and of the rule score, overall and per corruption kind."""
    from tqdm.auto import tqdm

    rows = []
    for p in tqdm(pairs, desc="pairs", disable=not progress):
        real, bad = judge.judge_step(p.context, p.real), judge.judge_step(p.context, p.corrupted)
        rr, rb = grounded_score(p.real, p.context), grounded_score(p.corrupted, p.context)
        judge_pref = None if not (real.scored and bad.scored) else (1.0 if real.score > bad.score else 0.5 if real.score == bad.score else 0.0)
        rows.append({"kind": p.kind, "judge_pref": judge_pref, "rule_pref": 1.0 if rr > rb else 0.5 if rr == rb else 0.0,
                     "judge_real": real.score, "judge_corrupted": bad.score})
    import pandas as pd

    df = pd.DataFrame(rows)
    scored = df[df["judge_pref"].notna()]
    out: dict[str, Any] = {
        "pairs": len(df), "judge_unscored_pairs": int(df["judge_pref"].isna().sum()),
        "judge_prefers_real": round(float(scored["judge_pref"].mean()), 4) if len(scored) else None,
        "rule_prefers_real": round(float(df["rule_pref"].mean()), 4) if len(df) else None,
    }
    for kind, g in df.groupby("kind"):
        gs = g[g["judge_pref"].notna()]
        out[f"judge_{kind}"] = round(float(gs["judge_pref"].mean()), 4) if len(gs) else None
        out[f"rule_{kind}"] = round(float(g["rule_pref"].mean()), 4)
    return out
