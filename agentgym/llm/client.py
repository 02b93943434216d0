"""One LLM access layer for the user simulator, the judge and LLM agents.

Any litellm model string (`openai/gpt-4o-mini`, `anthropic/...`, `ollama/...`, `hosted_vllm/...`)
or the offline default `local/smollm2-135m`. Bounded retries with exponential backoff on rate
limits, server errors and empty completions; bad requests and auth errors are not retried; a
server that does not answer is tried twice (20 s each by default), then skipped at once for a
minute, so a hung endpoint costs seconds per call, not minutes. A failure comes back as
an `LLMResult` with `error` set (never an exception), so callers can mark work as unscored.
Tokens and cost are recorded per call in a `Ledger` and rolled up per role; responses are cached
on disk, keyed by the full request, so an evaluation replays exactly and for free.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list at import

from agentgym.llm.local import DEFAULT_MODEL, LocalEngine, register_local_provider  # noqa: E402
from agentgym.llm.probe import LocalEngineUnavailable, installed  # noqa: E402
from agentgym.safeio import clean_text, loads_json  # noqa: E402
from agentgym.scrub import scrub  # noqa: E402

Messages = list[dict[str, Any]]
_RETRYABLE = ("RateLimitError", "InternalServerError", "ServiceUnavailableError", "Timeout", "APIConnectionError",
              "APIError", "BadGatewayError")
_SECRET_ARGS = {"api_key", "api_base_key", "aws_secret_access_key", "vertex_credentials"}
MAX_REPLY_CHARS = 32_768  # a reply longer than this is cut (and says so): no turn, cache row or prompt grows without bound


def _bounded(text: str | None) -> str | None:
    """A completion cut to MAX_REPLY_CHARS characters, valid Unicode."""
    if text is None:
        return None
    if len(text) > MAX_REPLY_CHARS:
        text = text[:MAX_REPLY_CHARS] + " [cut: the reply was longer than agentgym keeps]"
    return clean_text(text)


@dataclass
class LLMResult:
    """One call's outcome. `text` is None when every attempt failed (see `error`)."""

    text: str | None
    model: str
    role: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 0
    error: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name", "arguments": dict}] when asked with tools=
    prompt: Messages | None = None  # the messages sent (the store's llm_calls table keeps them, scrubbed)

    @property
    def ok(self) -> bool:
        return self.error is None and (self.text is not None or bool(self.tool_calls))


@dataclass
class Ledger:
    """Every call of an episode (or a run), for token and cost roll-ups per role."""

    calls: list[LLMResult] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: LLMResult) -> None:
        with self._lock:
            self.calls.append(result)

    def by_role(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for c in list(self.calls):
            r = out.setdefault(c.role, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0,
                                        "errors": 0, "cached": 0, "latency_s": 0.0})
            r["calls"] += 1
            r["prompt_tokens"] += c.prompt_tokens
            r["completion_tokens"] += c.completion_tokens
            r["cost"] += c.cost
            r["errors"] += int(not c.ok)
            r["cached"] += int(c.cached)
            r["latency_s"] += c.latency_s
        return out

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.calls])

    def reset(self) -> None:
        with self._lock:
            self.calls = []


class ResponseCache:
    """SQLite table of request hash → response; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # 0600 before SQLite opens it: its WAL files take the same mode
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._local = threading.local()
        with self._conn() as c:
            c.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        """Store a response, its secrets masked (the key is a hash: no prompt is kept)."""
        self._conn().execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)", (key, json.dumps(scrub(value))))


def default_cache_path() -> Path:
    from agentgym.cache import cache_dir

    return cache_dir() / "llm-cache.sqlite"


class LLM:
    """A model string plus its arguments; `complete(messages, role=...)` → LLMResult."""

    def __init__(self, model: str | None = None, *, temperature: float = 0.0, max_tokens: int = 256,
                 seed: int | None = 0, api_base: str | None = None, api_key: str | None = None,
                 timeout: float = 20.0, max_retries: int = 2, backoff: float = 0.5,
                 cache: bool | str | Path = True, ledger: Ledger | None = None, **extra: Any) -> None:
        self.model = model or os.environ.get("AGENTGYM_LLM", DEFAULT_MODEL)
        self.args: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens, **extra}
        if seed is not None:
            self.args["seed"] = seed
        self.api_base, self.api_key = api_base, api_key
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.hang_cooldown = 60.0  # after a call that timed out twice, calls fail at once for this long
        self._hung_until = 0.0
        self.cache = ResponseCache(default_cache_path() if cache is True else cache) if cache else None
        self.ledger = ledger if ledger is not None else Ledger()
        if self.model.startswith("local/") and installed("litellm"):
            register_local_provider()

    def config(self) -> dict[str, Any]:
        """What this LLM is, safe to store (no keys)."""
        return scrub({"model": self.model, **self.args, "api_base": self.api_base, "max_retries": self.max_retries})

    def _key(self, messages: Messages, args: dict[str, Any]) -> str:
        body = {"model": self.model, "messages": messages, "api_base": self.api_base,
                **{k: v for k, v in args.items() if k not in _SECRET_ARGS}}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    def complete(self, messages: Messages, *, role: str = "agent", **overrides: Any) -> LLMResult:
        args = {**self.args, **overrides}
        key = self._key(messages, args)
        start = time.perf_counter()
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                res = LLMResult(_bounded(hit["text"]), self.model, role, hit.get("prompt_tokens", 0), hit.get("completion_tokens", 0),
                                0.0, time.perf_counter() - start, cached=True, attempts=0, tool_calls=hit.get("tool_calls", []))
                res.prompt = messages
                self.ledger.add(res)
                return res
        unavailable = self._unavailable()
        if unavailable is None and time.monotonic() < self._hung_until:
            unavailable = (f"Timeout: skipped, {self.api_base or self.model} did not answer within {self.timeout:g} s twice in a "
                           f"recent call (tried again after {self.hang_cooldown:g} s); check the server or raise timeout=")
        if unavailable is not None:  # no litellm, or a broken or missing local engine: retrying cannot help
            res = LLMResult(None, self.model, role, latency_s=time.perf_counter() - start, attempts=0, error=unavailable)
            res.prompt = messages
            self.ledger.add(res)
            return res
        import litellm

        error = None
        attempts = timeouts = 0
        for attempt in range(self.max_retries + 1):
            attempts = attempt + 1
            try:
                extra: dict[str, Any] = {} if self.model.startswith("local/") else {"max_retries": 0}  # retries are ours, counted
                if args.get("tools"):  # litellm 1.10x routes any tools= through its MCP bridge, which needs `mcp`; we use none
                    extra["_skip_mcp_handler"] = True
                resp = litellm.completion(model=self.model, messages=messages, api_base=self.api_base,
                                          api_key=self.api_key, timeout=self.timeout, **extra, **args)
                text = _bounded(resp.choices[0].message.content)
                calls = _tool_calls(resp.choices[0].message)
                if (not text or not text.strip()) and not calls:
                    raise _EmptyCompletion("the model returned an empty completion")
                usage = getattr(resp, "usage", None)
                pt = int(getattr(usage, "prompt_tokens", 0) or 0)
                ct = int(getattr(usage, "completion_tokens", 0) or 0)
                try:
                    cost = float(litellm.completion_cost(completion_response=resp) or 0.0)
                except Exception:
                    cost = 0.0
                res = LLMResult(text, self.model, role, pt, ct, cost, time.perf_counter() - start, attempts=attempts,
                                tool_calls=calls)
                if self.cache is not None:
                    self.cache.put(key, {"text": text, "prompt_tokens": pt, "completion_tokens": ct, "tool_calls": calls})
                res.prompt = messages
                self.ledger.add(res)
                return res
            except Exception as e:  # noqa: BLE001 - classified below, never escapes
                error = f"{type(e).__name__}: {str(e)[:300]}"
                timeouts += _timed_out(e)
                if not _retryable(e) or attempt == self.max_retries or timeouts >= 2:  # a hung server is tried twice, not more
                    break
                time.sleep(min(self.backoff * (2 ** attempt), 30.0))
        if timeouts >= 2:
            self._hung_until = time.monotonic() + self.hang_cooldown
        res = LLMResult(None, self.model, role, latency_s=time.perf_counter() - start, attempts=attempts,
                        error=f"failed after {attempts} attempt(s): {error}")
        res.prompt = messages
        self.ledger.add(res)
        return res

    def _unavailable(self) -> str | None:
        """Why no call can succeed here (litellm missing; for `local/...` models, an in-process engine
        that is missing or unsafe on this CPU, probed in a child process), or None."""
        if not installed("litellm"):
            return "ImportError: LLM calls need litellm: pip install 'agentgym-workbench[llm]' (or make llm)."
        if not self.model.startswith("local/"):
            return None
        register_local_provider()
        try:
            LocalEngine.get(self.model.split("/", 1)[1])
        except (ImportError, LocalEngineUnavailable, FileNotFoundError, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        return None

    def map(self, batch: Iterable[Messages], *, role: str = "agent", max_workers: int = 8, **overrides: Any) -> list[LLMResult]:
        """Many requests at once (threads); results in input order."""
        items = list(batch)
        with ThreadPoolExecutor(max_workers=max_workers) as pool:
            return list(pool.map(lambda m: self.complete(m, role=role, **overrides), items))


def _tool_calls(message: Any) -> list[dict[str, Any]]:
    """The tool calls of a completion message, arguments parsed (unparseable ones kept as {"_raw": text})."""
    out = []
    for i, c in enumerate(list(getattr(message, "tool_calls", None) or [])[:64]):
        fn = c.function
        try:
            raw = fn.arguments or "{}"
            if len(raw) > MAX_REPLY_CHARS:
                raise ValueError("too long")
            args = loads_json(raw, "tool-call arguments")
        except (TypeError, ValueError):
            args = {"_raw": str(fn.arguments)[:500]}
        out.append({"id": getattr(c, "id", None) or f"call_{i}", "name": str(fn.name)[:200], "arguments": args if isinstance(args, dict) else {}})
    return out


class _EmptyCompletion(Exception):
    pass


def _timed_out(e: Exception) -> bool:
    return any("Timeout" in c.__name__ for c in type(e).__mro__)


def _retryable(e: Exception) -> bool:
    """Rate limits, server errors, timeouts, broken or empty responses: yes. Bad requests, auth: no."""
    if isinstance(e, _EmptyCompletion):
        return True
    status = getattr(e, "status_code", None)
    if isinstance(status, int) and status not in (200,):
        return status in (408, 409, 429) or status >= 500
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & set(_RETRYABLE))
