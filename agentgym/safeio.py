"""Reading what people hand us — configs, task and trace files, programs, knob files — with bounds.

Every reader here refuses, with the file's name, the limit and the fix, instead of running out of
memory or recursion: a file larger than `max_bytes` (an endless `/dev/zero` too), a JSON line longer
than `max_line`, nesting deeper than `max_depth`, a YAML document whose anchors and aliases expand
past `max_nodes` (a "billion laughs" bomb is refused while it is being counted, not after it was
built). `clean_text` makes a string valid Unicode (a lone surrogate becomes U+FFFD), so nothing
downstream — JSON, pydantic, SQLite — fails on it later.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 64 * 2**20  # a config, a program or a knob file is far smaller; task files stream by line
MAX_LINE_BYTES = 8 * 2**20  # one JSONL row
MAX_DEPTH = 64  # nesting of any JSON/YAML value we read
MAX_YAML_NODES = 100_000  # YAML nodes after alias expansion
_SURROGATES = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """A file or value we were handed is too large, too deep or malformed; the message names it and the fix."""


def clean_text(s: str) -> str:
    """`s` as valid Unicode: lone surrogates (which no encoder accepts) become U+FFFD."""
    return _SURROGATES.sub("\ufffd", s) if _SURROGATES.search(s) else s


def clean_value(obj: Any) -> Any:
    """`obj` with every string in it (keys too) made valid Unicode; the same object when nothing needed it."""
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, dict):
        return {clean_value(k): clean_value(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clean_value(v) for v in obj]
    return obj


def read_bounded(path: str | os.PathLike[str], what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of `path`, refused when it holds more than `max_bytes` (read no further than that)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"The {what} {p} is a folder; give a file.")
    if not p.exists():
        raise FileNotFoundError(f"No {what} at {p}.")
    with open(p, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"The {what} {p} is larger than {max_bytes:,} bytes (or endless); a {what} is small: "
                         "check that this is the file you meant.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"The {what} {p} is not UTF-8 text (byte {e.start}); save it as UTF-8.") from None


def iter_lines(path: str | os.PathLike[str], what: str = "file", max_line: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of each line; text is None for a line longer than `max_line` (skipped unread)
    or not UTF-8, so the caller reports that row and keeps the rest."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"The {what} {p} is a folder; give a JSONL file.")
    with open(p, "rb") as fh:
        n = 0
        while True:
            chunk = fh.readline(max_line + 1)
            if not chunk:
                return
            n += 1
            if len(chunk) > max_line and not chunk.endswith(b"\n"):
                while chunk and not chunk.endswith(b"\n"):  # skip the rest of the oversized line
                    chunk = fh.readline(max_line + 1)
                yield n, None
                continue
            try:
                yield n, chunk.decode("utf-8")
            except UnicodeDecodeError:
                yield n, None


def jsonl_rows(path: str | os.PathLike[str], what: str = "file") -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value, None) for each non-blank JSONL row, or (line number, None, why) for a row
    that cannot be read (too long, not UTF-8, not JSON, too deep): the caller reports it and keeps the rest."""
    for n, line in iter_lines(path, what):
        if line is None:
            yield n, None, f"longer than {MAX_LINE_BYTES:,} bytes or not UTF-8"
            continue
        if not line.strip():
            continue
        try:
            yield n, loads_json(line, "the row"), None
        except json.JSONDecodeError as e:
            yield n, None, f"not JSON ({e.msg} at column {e.colno})"
        except InputError as e:
            yield n, None, str(e)


def depth_of(obj: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of lists/dicts in `obj`, counted without recursion and stopping past `limit`."""
    deepest, stack = 0, [(obj, 1)]
    seen = 0
    while stack:
        x, d = stack.pop()
        if isinstance(x, (dict, list, tuple)):
            deepest = max(deepest, d)
            if deepest > limit:
                return deepest
            seen += 1
            if seen > 10_000_000:
                return limit + 1
            stack.extend((v, d + 1) for v in (x.values() if isinstance(x, dict) else x))
    return deepest


def loads_json(text: str, what: str = "JSON", max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses nesting deeper than `max_depth` (never a RecursionError) and NaN/Infinity."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InputError(f"{what} is nested deeper than {max_depth} levels.") from None
    if depth_of(value, max_depth) > max_depth:
        raise InputError(f"{what} is nested deeper than {max_depth} levels.")
    return value


def _no_constant(name: str) -> Any:
    raise InputError(f"{name} is not a JSON number; write a finite number or null.")


def load_yaml(text: str, what: str = "YAML", max_nodes: int = MAX_YAML_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """`yaml.safe_load` whose anchors and aliases are counted as they expand: past `max_nodes` nodes
    (or `max_depth` levels) the document is refused before a single value is built."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_nodes(node, what, max_nodes, max_depth)
        return loader.construct_document(node)  # built from the node graph already read: parsed once
    finally:
        loader.dispose()


def _count_nodes(node: Any, what: str, max_nodes: int, max_depth: int) -> None:
    import yaml

    count, stack = 0, [(node, 1)]
    while stack:
        n, d = stack.pop()
        count += 1
        if count > max_nodes:
            raise InputError(f"{what} expands to more than {max_nodes:,} values (anchors and aliases counted as "
                             "expanded); write the values out, or split the file.")
        if d > max_depth:
            raise InputError(f"{what} is nested deeper than {max_depth} levels.")
        if isinstance(n, yaml.SequenceNode):
            stack.extend((c, d + 1) for c in n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append((k, d + 1))
                stack.append((v, d + 1))


def finite_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                  integer: bool = False, low_open: bool = False) -> None:
    """Refuse a value that is not a (finite, in-range) number, naming `name`; booleans are not numbers."""
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ValueError(f"{name} must be {'a whole number' if integer else 'a number'}, got {value!r} ({type(value).__name__}).")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'above' if low_open else 'at least'} {low:g}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high:g}, got {value!r}.")


def check_bool(name: str, value: Any) -> bool:
    """A boolean, or a refusal naming `name` (the string 'false' is not False)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false (a boolean), got {value!r} ({type(value).__name__}).")
    return value


def check_id(name: str, value: Any, max_len: int = 256) -> str:
    """A non-empty printable string id of at most `max_len` characters, or a refusal naming `name`."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r:.80}.")
    if len(value) > max_len:
        raise ValueError(f"{name} is {len(value):,} characters long; ids are at most {max_len}.")
    if any(ord(c) < 32 or c == "\x7f" for c in value) or _SURROGATES.search(value):
        raise ValueError(f"{name} {value!r:.80} holds control characters (NUL, newline, ...) or invalid Unicode; "
                         "use printable text.")
    return value


class TimeBudgetExceeded(Exception):
    """Raised inside a `time_budget` block that ran past its seconds."""


_BUDGET: list[Any] = [None]  # the armed budget's message, or None; read by the one SIGALRM handler below


def _on_alarm(signum: int, frame: Any) -> None:
    what = _BUDGET[0]
    if what is not None:  # an alarm outside a budget (nobody armed one) is ignored
        _BUDGET[0] = None
        raise TimeBudgetExceeded(what)


@contextlib.contextmanager
def time_budget(seconds: float, what: str = "the call") -> Iterator[None]:
    """Interrupt Python code that runs past `seconds` (a tool stuck in a loop) with TimeBudgetExceeded.
    Uses SIGALRM, so it acts only in the main thread and only when nobody else owns that signal (our
    handler is installed once, then each budget costs two `setitimer` calls); elsewhere the block runs
    unguarded. A single C call (one huge integer power) cannot be interrupted: such inputs are refused
    before they run (see `agentgym.domains.tau2.world.hostile_call`)."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.getsignal(signal.SIGALRM)
    if handler is not _on_alarm:
        if handler not in (signal.SIG_DFL, None):  # someone else's alarm: leave it alone
            yield
            return
        signal.signal(signal.SIGALRM, _on_alarm)
    _BUDGET[0] = f"{what} ran past its budget of {seconds:g} s and was stopped"
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _BUDGET[0] = None


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make `path` (and missing parents) as folders only their owner can open (0700); existing ones are left as they are."""
    p = Path(path)
    missing = []
    probe = p
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
    return p


def private_open(path: str | os.PathLike[str], mode: str = "w") -> Any:
    """`open(path, mode)` for a new text file only its owner can read (0600), whatever the umask."""
    p = Path(path)
    private_dir(p.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(p, flags, 0o600)
    os.chmod(p, 0o600)  # an existing file keeps its mode through os.open: make it private too
    return os.fdopen(fd, mode, encoding="utf-8")


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` to `path` atomically (a temp file renamed into place), 0600."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    with private_open(tmp) as fh:
        fh.write(text)
    os.replace(tmp, p)
    return p
