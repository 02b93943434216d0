"""How a value is written, spoken and read back: the one source of value meaning.

Agents write values the way people do; SGD's service calls use canonical forms (ISO dates,
24-hour times, digits, "True"/"False"). Reading: everything that compares values (the tool mocker,
the reward) goes through `canonical`, so "7 pm", "19:00" and "seven pm" compare equal. Writing:
`say_value` is how the simulated user speaks a value and `surface_forms` every way a person may
write it — the user's NLU looks for those forms in the agent's text, the reward credits them, the
audit checks them. What `say_value` writes, `canonical` reads back to the same value.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

KINDS = ("text", "number", "bool", "date", "time", "categorical")

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "a": 1, "an": 1, "single": 1, "two": 2, "couple": 2, "pair": 2, "three": 3,
    "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20,
}
_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_TRUE = {"true", "yes", "y", "1", "yeah", "yep", "sure"}
_FALSE = {"false", "no", "n", "0", "nope", "not"}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"])}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^\d{1,2}:\d{2}$")
_SPACE = re.compile(r"\s+")
SGD_TODAY = "2019-03-01"  # the 'today' SGD's dialogues were written against (relative dates resolve to it)
_TODAY = dt.date.fromisoformat(SGD_TODAY)


@lru_cache(maxsize=200_000)
def surface_forms(value: str) -> tuple[str, ...]:
    """Lower-case ways a canonical value is written: '18:30' → '6:30 pm', '2019-03-02' → 'march 2nd',
    'tomorrow'. Booleans have none (they are said with the slot's words: 'does it have live music')."""
    v = value.lower().strip()
    if v in ("true", "false"):
        return ()
    forms = [v]
    m = _HHMM.fullmatch(v)
    if m:
        h, mi = int(v.split(":")[0]), v.split(":")[1]
        hh, suf = h % 12 or 12, "pm" if h >= 12 else "am"
        forms += [f"{hh}:{mi} {suf}", f"{hh}:{mi}{suf}", f"{hh}:{mi}"]
        if mi == "00":
            forms += [f"{hh} {suf}", f"{hh}{suf}", f"{hh} o'clock"]
        if mi == "30":
            forms += [f"half past {hh} {suf}", f"half past {hh}"]
    if _ISO_DATE.fullmatch(v):
        try:
            d = dt.date.fromisoformat(v)
        except ValueError:
            d = None
        if d is not None:
            month = d.strftime("%B").lower()
            forms += [f"{month} {d.day}{_ordinal(d.day)}", f"{month} {d.day}", f"{d.day}{_ordinal(d.day)} of {month}",
                      f"{d.day} {month}"]
            delta = (d - _TODAY).days
            forms += {0: ["today", "tonight"], 1: ["tomorrow"], 2: ["day after tomorrow"]}.get(delta, [])
            if 0 < delta < 7:
                forms.append(d.strftime("%A").lower())
    if v.isdigit() and int(v) <= 10:
        forms.append(_DIGIT_WORDS[int(v)])
    if re.fullmatch(r"\d+\.\d0", v):
        forms.append(v[:-1])  # ratings: '4.50' is said '4.5'
    return tuple(dict.fromkeys(f for f in forms if f))


def say_value(value: str) -> str:
    """A canonical value as a person says it ('2019-03-11' → 'March 11th', '18:30' → '6:30 pm', 'True' → 'yes').
    Always one of `surface_forms(value)` (booleans aside), and `canonical` reads it back to `value`."""
    if _HHMM.fullmatch(value):
        h, mi = int(value.split(":")[0]), value.split(":")[1]
        return f"{h % 12 or 12}{':' + mi if mi != '00' else ''} {'pm' if h >= 12 else 'am'}"
    if _ISO_DATE.fullmatch(value):
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            return value
        return f"{d.strftime('%B')} {d.day}{_ordinal(d.day)}"
    return {"True": "yes", "False": "no"}.get(value, value)


def said(value: str, text: str) -> bool:
    """Is `value` written in `text` (any case) in one of its surface forms, as whole words?"""
    low = text.lower()
    return any(re.search(r"(?<![a-z0-9])" + re.escape(f) + r"(?![a-z0-9])", low) for f in surface_forms(value) if f in low)


def _ordinal(day: int) -> str:
    return "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def text_key(value: object) -> str:
    """Case- and spacing-insensitive key for free text."""
    if type(value) is str:
        return _text_key(value)
    return _text_key(str(value))


@lru_cache(maxsize=1_000_000)
def _text_key(value: str) -> str:
    s = _SPACE.sub(" ", value).strip().lower()
    return s.strip(" .,!?;:'\"")


def parse_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    s = text_key(value)
    m = re.match(r"^(\d+)(\.0+)?\b", s)
    if m:
        return int(m.group(1))
    first = s.split(" ", 1)[0] if s else ""
    if first in _NUMBER_WORDS and first not in ("a", "an") or s in ("a", "an"):
        return _NUMBER_WORDS[first]
    for word in s.replace("-", " ").split():
        if word in _NUMBER_WORDS and word not in ("a", "an"):
            return _NUMBER_WORDS[word]
    return None


def parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    s = text_key(value)
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    return None


def parse_date(value: object) -> str | None:
    """ISO date for SGD's date phrasings ("today", "next monday", "March 3rd", "the 3rd")."""
    s = text_key(value)
    if _ISO_DATE.match(s):
        try:
            return dt.date.fromisoformat(s).isoformat()
        except ValueError:
            return None
    s = s.replace("this ", "").replace("next ", "").replace("coming ", "").replace("on ", "")
    if s == "today" or s == "tonight":
        return _TODAY.isoformat()
    if s == "tomorrow":
        return (_TODAY + dt.timedelta(days=1)).isoformat()
    if s in ("day after tomorrow", "the day after tomorrow", "overmorrow"):
        return (_TODAY + dt.timedelta(days=2)).isoformat()
    if s in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(s) - _TODAY.weekday()) % 7 or 7
        return (_TODAY + dt.timedelta(days=ahead)).isoformat()
    words = re.findall(r"[a-z]+|\d+", s)
    month = next((_MONTHS[w] for w in words if w in _MONTHS), None)
    days = [int(w) for w in words if w.isdigit() and int(w) <= 31]
    years = [int(w) for w in words if w.isdigit() and len(w) == 4]
    m = re.match(r"^(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?$", s)
    if m:
        month, days = int(m.group(1)), [int(m.group(2))]
        if m.group(3):
            years = [int(m.group(3)) + (2000 if len(m.group(3)) == 2 else 0)]
    if month and days:
        try:
            return dt.date(years[0] if years else _TODAY.year, month, days[0]).isoformat()
        except ValueError:
            return None
    if not month and len(days) == 1 and ("the" in words or any(w in words for w in ("st", "nd", "rd", "th"))):
        try:
            return dt.date(_TODAY.year, _TODAY.month, days[0]).isoformat()
        except ValueError:
            return None
    return None


def parse_time(value: object) -> str | None:
    """24-hour HH:MM for "7 pm", "7:30 in the evening", "half past 4", "noon"."""
    s = text_key(value)
    if s in ("noon", "midday"):
        return "12:00"
    if s == "midnight":
        return "00:00"
    pm = any(w in s for w in ("pm", "p.m", "evening", "afternoon", "night", "tonight"))
    am = any(w in s for w in ("am", "a.m", "morning"))
    minute_bonus = 0
    if "half past" in s:
        minute_bonus = 30
    elif "quarter past" in s:
        minute_bonus = 15
    elif "quarter to" in s:
        minute_bonus = -15
    m = re.search(r"(\d{1,2})(?::(\d{2}))?", s)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
    else:
        words = [w for w in re.findall(r"[a-z]+", s) if w in _NUMBER_WORDS and w not in ("a", "an")]
        if not words:
            return None
        hour, minute = _NUMBER_WORDS[words[-1]], 0
    minute += minute_bonus
    if minute < 0:
        hour, minute = hour - 1, minute + 60
    if hour > 23 or minute > 59:
        return None
    if pm and hour < 12:
        hour += 12
    if am and hour == 12:
        hour = 0
    return f"{hour:02d}:{minute:02d}"


@lru_cache(maxsize=200_000)
def _canonical(kind: str, value: str, possible: tuple[str, ...]) -> str | None:
    if kind == "number":
        n = parse_number(value)
        return None if n is None else str(n)
    if kind == "bool":
        b = parse_bool(value)
        return None if b is None else str(b)
    if kind == "date":
        return parse_date(value)
    if kind == "time":
        return parse_time(value)
    if kind == "categorical":
        key = text_key(value)
        for p in possible:
            if text_key(p) == key:
                return p
        for alt in (parse_number(value), parse_bool(value)):
            if alt is not None and str(alt) in possible:
                return str(alt)
        return None
    s = _SPACE.sub(" ", value).strip()
    return s or None


def canonical(kind: str, value: object, possible: tuple[str, ...] = ()) -> str | None:
    """Canonical string form of `value` for a slot of `kind`, or None when it cannot be one."""
    if isinstance(value, bool):
        value = str(value)
    elif isinstance(value, (int, float)):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        return None
    return _canonical(kind, value, possible)


def value_key(kind: str, value: object, possible: tuple[str, ...] = ()) -> str:
    """Comparison key: canonical form when there is one, else the text key."""
    c = canonical(kind, value, possible)
    return text_key(c if c is not None else value)


def infer_kind(name: str, is_categorical: bool, possible: tuple[str, ...], observed: list[str]) -> str:
    """Guess a slot's kind from its schema entry and the canonical values recorded for it."""
    if is_categorical and possible:
        if set(possible) <= {"True", "False"}:
            return "bool"
        if all(p.isdigit() for p in possible):
            return "number"
        return "categorical"
    sample = [v for v in observed if v][:200]
    if sample and all(_ISO_DATE.match(v) for v in sample):
        return "date"
    if sample and all(_HHMM.match(v) for v in sample):
        return "time"
    if sample and all(v.isdigit() for v in sample) and ("number" in name or "count" in name or "num" in name):
        return "number"
    if not sample:
        if "date" in name:
            return "date"
        if name.endswith("time") or "_time" in name:
            return "time"
        if name.startswith("number_of") or name.endswith("_count"):
            return "number"
    return "text"
