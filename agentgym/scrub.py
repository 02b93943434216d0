"""Keep secrets out of everything written down: the store (every table), its exports and the LLM cache.

Three nets, applied together by `scrub`:
- **by key name**: a dict value whose key names a secret (`api_key`, `OPENAI_KEY`, `key`, `x-auth-token`,
  `password`, `client_secret`, `credentials`, ...) is masked whole; numbers and booleans are kept
  (`max_tokens` is not a secret, and neither is `token_count: 3`);
- **by value shape**: provider key formats (OpenAI `sk-…` short ones included, Anthropic, Google,
  Hugging Face, GitHub, GitLab, Slack, AWS, Groq, Replicate, NVIDIA, Perplexity, JWTs, `Bearer …`);
- **inside URLs and free text**: `https://user:PASS@host`, `?api_key=…&token=…`, and `password: …`,
  `api key is …` in actions, observations, comments and prompts.
"""
from __future__ import annotations

import json
import re
from typing import Any

MASK = "***"

_SECRET_WORDS = {"key", "apikey", "token", "secret", "secrets", "password", "passwd", "pwd", "passphrase", "passcode",
                 "credential", "credentials", "authorization", "auth", "bearer", "cookie", "signature", "sig"}
# words before "key"/"token" that make an ordinary name (sort_keys, end_token, text_key, max_tokens)
_BENIGN_BEFORE = {"sort", "primary", "foreign", "text", "value", "dict", "cache", "group", "partition", "row", "lookup",
                  "end", "pad", "eos", "bos", "unk", "sep", "cls", "mask", "start", "stop", "special", "split", "idempotency",
                  "public", "hash", "index", "map", "column", "field", "slot", "entity", "task"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEGMENT = re.compile(r"[^A-Za-z0-9]+")

_VALUE = re.compile("|".join([
    r"\bsk-(?:ant-|proj-)?[A-Za-z0-9][A-Za-z0-9_\-]{3,}",      # OpenAI, Anthropic (short ones too)
    r"\bAIza[0-9A-Za-z_\-]{20,}",                               # Google
    r"\bhf_[A-Za-z0-9]{10,}",                                   # Hugging Face
    r"\b(?:gh[pousr]_|github_pat_)[A-Za-z0-9_]{10,}",           # GitHub
    r"\bglpat-[A-Za-z0-9_\-]{10,}",                             # GitLab
    r"\bxox[abpre]-[A-Za-z0-9\-]{8,}",                          # Slack
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",                           # AWS access key id
    r"\b(?:gsk|r8|nvapi|pplx|fw|tgp_v1)[_-][A-Za-z0-9_\-]{10,}",  # Groq, Replicate, NVIDIA, Perplexity, Fireworks, Together
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWT
    r"(?<=Bearer )[A-Za-z0-9._~+/\-]{8,}=*",                    # Authorization: Bearer ...
]))
_URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^/\s:@]*:)([^@\s/]+)(@)")
_URL_QUERY = re.compile(r"([?&;](?:[^=&\s#]*?)(?:key|token|secret|password|passwd|pwd|sig|signature|auth|credential)"
                        r"[^=&\s#]*=)([^&\s#]+)", re.I)
_FREE_TEXT = re.compile(r"\b((?:api|access|secret|private|openai|anthropic)[ _\-]?key|token|secret|password|passwd|passcode|pwd"
                        r"|passphrase|pass phrase|pin(?: code| number)?|cvv|cvc|security code)"
                        r"(\s*(?:is|:|=)\s*[\"']?)(?!\*\*\*)([^\s\"',;&]{3,})", re.I)
# `name=value`, `name: value`, `"name": "value"` (JSON text, `fn(name='value')`, headers) whose name names a secret
_NAMED = re.compile(r"([\"']?)([A-Za-z_][A-Za-z0-9_\-]{1,60})\1(\s*[:=]\s*)"
                    r"(\"(?:[^\"\\]|\\.){3,}\"|'[^']{3,}'|[^\s\"',;&)}\]]{3,})")


def secret_key(name: str) -> bool:
    """True when a key names a secret (see the module docstring)."""
    words = [w.lower() for w in _SEGMENT.split(_CAMEL.sub("_", name)) if w]
    for i, w in enumerate(words):
        if w in _SECRET_WORDS - {"key", "token"}:
            return True
        if w in ("key", "token") and not (i > 0 and words[i - 1] in _BENIGN_BEFORE) and i == len(words) - 1:
            return True
        if w.endswith(("apikey", "secretkey", "accesskey", "password", "passwd", "secret", "authtoken", "accesstoken")):
            return True
    return False


# every pattern above needs one of these (lowercased) in the text: a cheap test that spares most strings the regexes
_TRIGGERS = ("sk-", "aiza", "hf_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat", "glpat", "xox", "akia", "asia", "gsk",
             "r8_", "nvapi", "pplx", "fw_", "fw-", "tgp_", "eyj", "bearer", "://", "key", "token", "secret", "passw",
             "passphrase", "passcode", "pwd", "auth", "credential", "sig", "pin", "cvv", "cvc", "security code", "cookie")  # the last ones: names a URL query masks
# every secret key name holds one of these too ("cookie" among them): a JSON text without any of them holds no secret
_ALL_TRIGGERS = _TRIGGERS


def might_hold_secrets(text: str) -> bool:
    """False when `text` (plain, or a whole JSON document) cannot contain anything `scrub` would mask."""
    return any(map(text.lower().__contains__, _ALL_TRIGGERS))  # C-speed substring scans, no Python frame per trigger


def scrub_text(s: str) -> str:
    """`s` with secret-shaped values, URL passwords and query tokens, and `password: …` phrases masked."""
    if len(s) < 4 or not any(map(s.lower().__contains__, _TRIGGERS)):
        return s
    if s[0] in "{[" and s[-1] in "}]" and len(s) < 2**20:  # JSON text (tool arguments as a string): scrub what it holds
        try:
            obj = json.loads(s)
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, (dict, list)):
            clean = scrub(obj)
            return s if clean == obj else json.dumps(clean, ensure_ascii=False)
    s = _VALUE.sub(MASK, s)
    if "://" in s:
        s = _URL_USERINFO.sub(rf"\g<1>{MASK}\g<3>", s)
    if "=" in s:
        s = _URL_QUERY.sub(rf"\g<1>{MASK}", s)
    s = _FREE_TEXT.sub(rf"\g<1>\g<2>{MASK}", s)
    if "=" in s or ":" in s:
        s = _NAMED.sub(_mask_named, s)
    return s


def _mask_named(m: re.Match[str]) -> str:
    value = m.group(4)
    quote = value[0] if value[0] in "\"'" else ""
    inner = value[1:-1] if quote else value
    if inner == MASK or not secret_key(m.group(2)) or inner.lower() in ("true", "false", "null", "none") or _number(inner):
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{quote}{MASK}{quote}"


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def scrub(obj: Any) -> Any:
    """A copy of `obj` with every secret masked (see the module docstring); tuples come back as lists."""
    if isinstance(obj, dict):
        return {k: (MASK if isinstance(k, str) and _maskable(v) and secret_key(k) else scrub(v)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v) for v in obj]
    if isinstance(obj, str):
        return scrub_text(obj)
    return obj


def _maskable(v: Any) -> bool:
    return v not in (None, "", MASK) and not isinstance(v, (bool, int, float))
