"""Keep secrets out of the database and exports: API keys, tokens, passwords are masked."""
from __future__ import annotations

import re
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|token|password|passwd|authorization|auth[_-]?header|bearer|credential|private[_-]?key)", re.I)
_SECRET_VALUE = re.compile(r"\b(sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|AIza[0-9A-Za-z_\-]{30,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abp]-[A-Za-z0-9\-]{10,}|Bearer\s+[A-Za-z0-9._\-]{16,})")


def scrub(obj: Any) -> Any:
    """A copy of `obj` with secret-looking keys' values and secret-looking strings masked."""
    if isinstance(obj, dict):
        return {k: (MASK if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "") else scrub(v)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v) for v in obj]
    if isinstance(obj, str):
        return _SECRET_VALUE.sub(MASK, obj)
    return obj
