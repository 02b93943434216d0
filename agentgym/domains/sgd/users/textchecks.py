"""How a user turn reads, as plain text checks (no fitted model): does it lean on an earlier exchange, is it a
slot read out like a form, is it corrupted? The wording (`nlg`) avoids what they catch and the realism audit
counts them, for the simulator and for the humans of the same dialogues."""
from __future__ import annotations

import re

SENTENCE = re.compile(r"[^.!?]+[.!?]*")

# a turn that leans on a conversation before it: fine as a reply or after a service switch, never as an opening
_LEANS = re.compile(r"""
    ^\W*(yes|yeah|yep|no|nope|ok|okay|sure|great|perfect|alright|cool|fine|thanks|thank\ you|then|and|also|so|actually|
        instead|what\ about|how\ about|in\ that\ case)\b
  | \b(too|as\ well|also|instead|another|again|either|otherwise|anything\ else)\b
  | (?<!\bis\ )(?<!\bare\ )(?<!\bwas\ )(?<!\bhi\ )(?<!\bhello\ )(?<!\bhey\ )\bthere\b(?!\s+(is|are|was|were|any|a|an|some)\b|'s)
  | \byou\ (found|mentioned|suggested|booked|reserved|said|told|gave|showed|offered|just)\b
  | \b(the|that|this|those|these)\ (same|one|ones|other|previous)\b
  | \b(previous|earlier|mentioned|aforementioned)\b""", re.I | re.X)


def leans_on_context(text: str) -> bool:
    """Does this user turn presuppose an earlier exchange ("I want a hotel there too.", "Yes, can you ...",
    "Instead of the previous time, ...")? The same test words openings and audits them (simulator and humans)."""
    return bool(_LEANS.search(text))


_SPACE_BEFORE = re.compile(r"\s+([.,!?;:])(?=\s|$)")


_THE_DATE = re.compile(r"\b[Tt]he ((?:January|February|March|April|May|June|July|August|September|October|November|December) \d)")


def tidy(text: str) -> str:
    """Tokenization spacing undone ("a hotel too ." → "a hotel too."), runs of spaces collapsed, and a refilled date
    read as people write it ("on the {date}" said for "the 1st", refilled: "on the March 1st" → "on March 1st")."""
    return _THE_DATE.sub(r"\1", re.sub(r"\s{2,}", " ", _SPACE_BEFORE.sub(r"\1", text)).strip())


_CORRUPT = re.compile(r"\b[a-z]{2,}\d+[a-z]*\b|\b\d+[a-z]{4,}\b|\s[.,!?;:](?=\s|$)", re.I)


_FORM_LIKE = re.compile(r"\bI'd like the [\w' ]+ to be\b|\bthe [\w' ]+ should be\b|^\s*(?!(?:i|we|you|it|thanks|thank|please|get|find|book|need|want|can|could|a|an|the|my|our|yes|yeah|no|ok|okay|sure|make)\b)[\w'.,&:-]+(?: [\w'.,&:-]+){0,2} for the [\w' ]+\.$|"
                        r"\bI'd like that: |\bI don't need that: |\b(user|user's) (has|is|wants)\b", re.I | re.M)


def form_like(text: str) -> bool:
    """A slot read out like a form ("I'd like the star rating to be 1.", "Japanese for the category.") or a schema
    description read aloud ("the alarms user has already set")."""
    return any(_FORM_LIKE.search(part) for part in SENTENCE.findall(text))


def corrupted(text: str) -> bool:
    """Text a delexicalization broke: a value spliced into a word ("rest54 Minaurant") or tokenizer spacing
    ("a hotel too .")."""
    return bool(_CORRUPT.search(text))
