"""Load Schema-Guided Dialogue corpora from the official directory layout, with a cached index.

Layout: `<data_dir>/<split>/schema.json` and `dialogues_NNN.json` (or `.json.gz`). Parsing the
full train split takes a couple of seconds (orjson, garbage collector paused); the derived index
(tasks, tool tables, slot kinds) is pickled under the cache dir so the second load is near-instant.
"""
from __future__ import annotations

import contextlib
import gc
import gzip
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import orjson

from agentgym import cache
from agentgym.domains.sgd.schema import Service, service_from_json
from agentgym.domains.sgd.tasks import Task, task_from_dialogue
from agentgym.domains.sgd.values import infer_kind, value_key

INDEX_VERSION = 4  # 4: Task.meta
_PACKAGE_DATA = Path(__file__).resolve().parents[2] / "_data" / "sgd"
_REPO_DATA = Path(__file__).resolve().parents[3] / "data" / "sgd"


def default_data_dir() -> Path:
    """The embedded SGD sample: $AGENTGYM_SGD_DIR, else the copy in the wheel or the repo's data/."""
    env = os.environ.get("AGENTGYM_SGD_DIR")
    if env:
        return Path(env)
    return _PACKAGE_DATA if _PACKAGE_DATA.exists() else _REPO_DATA


def cache_dir() -> Path:
    """The checked cache folder (`agentgym.cache`)."""
    return cache.cache_dir()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of small dicts: the cyclic GC would rescan them all for nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # what was just loaded lives for the whole session: keep it out of future GC scans
        if was:
            gc.enable()


def split_dir(data_dir: str | os.PathLike[str] | None, split: str) -> Path:
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    if (base / "schema.json").exists() and not (base / split / "schema.json").exists():
        return base
    path = base / split
    if not (path / "schema.json").exists():
        available = sorted(p.name for p in base.iterdir() if (p / "schema.json").exists()) if base.is_dir() else []
        raise FileNotFoundError(
            f"No SGD split '{split}' under {base}: expected {path}/schema.json and dialogues_*.json[.gz]. "
            f"Splits found there: {available or 'none'}."
        )
    return path


def dialogue_files(path: Path) -> list[Path]:
    files = sorted(p for p in path.iterdir() if p.name.startswith("dialogues_") and p.name.endswith((".json", ".json.gz")))
    if not files:
        raise FileNotFoundError(f"{path} has a schema.json but no dialogues_*.json or dialogues_*.json.gz files.")
    return files


def read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise ValueError(f"{path} is not readable JSON ({e}); fix or remove the file.") from None


def read_dialogues(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with _gc_paused():
        for f in dialogue_files(path):
            out.extend(_checked(read_json(f), f, "dialogues (objects with dialogue_id, services and turns)",
                                ("dialogue_id", "services", "turns")))
    return out


def _checked(data: Any, path: Path, what: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """`data` if it is a list of objects with `keys`; otherwise an error naming the file, the row and the shape expected."""
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of SGD {what}, got a {type(data).__name__}.")
    for i, row in enumerate(data):
        missing = [k for k in keys if k not in row] if isinstance(row, dict) else list(keys)
        if missing:
            raise ValueError(f"{path}: entry {i} is not one of SGD's {what}: it lacks {', '.join(missing)}.")
    return data


@dataclass
class ToolTables:
    """Every result row the corpus recorded, per (service, intent), plus recorded failures."""

    rows: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    failures: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[dict[str, str]]] = field(default_factory=dict)


@dataclass
class SGDCorpus:
    """One split of an SGD-format corpus: schema, tasks, tool tables and slot kinds."""

    path: Path
    split: str
    services: dict[str, Service]
    tasks: list[Task]
    tables: ToolTables
    slot_kinds: dict[tuple[str, str], str]

    @cached_property
    def task_index(self) -> dict[str, Task]:
        return {t.task_id: t for t in self.tasks}

    @cached_property
    def dialogues(self) -> list[dict[str, Any]]:
        """The raw dialogues (parsed on first use; not part of the cached index)."""
        return read_dialogues(self.path)

    def task(self, task_id: str) -> Task:
        try:
            return self.task_index[task_id]
        except KeyError:
            sample = ", ".join(t.task_id for t in self.tasks[:5])
            raise KeyError(f"No task '{task_id}' in {self.path} ({len(self.tasks)} tasks, e.g. {sample}).") from None

    def kind(self, service: str, slot: str) -> str:
        return self.slot_kinds.get((service, slot), "text")

    @cached_property
    def _keys(self) -> dict[tuple[str, str, object], str]:
        return {}

    def key(self, service: str, slot: str, value: object) -> str:
        """Comparison key of a slot value (see agentgym.domains.sgd.values); memoized, it is on the hot path."""
        try:
            return self._keys[(service, slot, value)]
        except (KeyError, TypeError):
            pass
        s = self.services.get(service)
        possible = s.slots[slot].possible_values if s and slot in s.slots else ()
        k = value_key(self.kind(service, slot), value, possible)
        if isinstance(value, (str, int, float, bool)) and len(self._keys) < 500_000:
            self._keys[(service, slot, value)] = k
        return k


def data_fingerprint(path: Path) -> str:
    """A content hash of the split's files and the index version: an edit in place (same size and
    mtime) changes it, and so does a file from another split."""
    return cache.content_hash([path / "schema.json", *dialogue_files(path)], f"sgd-index-{INDEX_VERSION}")[:24]


def _build(path: Path, split: str) -> SGDCorpus:
    schema = _checked(read_json(path / "schema.json"), path / "schema.json", "services (objects with service_name, slots "
                      "and intents)", ("service_name", "slots", "intents"))
    services = {s.name: s for s in map(service_from_json, schema)}
    transactional = {(s.name, i.name): i.is_transactional for s in services.values() for i in s.intents.values()}
    dialogues = read_dialogues(path)
    with _gc_paused():
        tasks = [_task(d, split, transactional, path) for d in dialogues]
        observed: dict[tuple[str, str], list[str]] = defaultdict(list)
        rows: dict[tuple[str, str], dict[tuple[tuple[str, str], ...], dict[str, str]]] = defaultdict(dict)
        failures: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[dict[str, str]]] = {}
        for t in tasks:
            for c in t.recorded_calls:
                for k, v in c.args.items():
                    if len(observed[(c.service, k)]) < 200:
                        observed[(c.service, k)].append(v)
                for r in c.results:
                    rows[(c.service, c.intent)].setdefault(tuple(sorted(r.items())), r)
        kinds = {
            (s.name, slot.name): infer_kind(slot.name, slot.is_categorical, slot.possible_values, observed.get((s.name, slot.name), []))
            for s in services.values()
            for slot in s.slots.values()
        }
        corpus = SGDCorpus(path, split, services, tasks, ToolTables({k: list(v.values()) for k, v in rows.items()}, {}), kinds)
        for t in tasks:
            for c in t.recorded_calls:
                if c.outcome == "failure":
                    key = tuple(sorted((k, corpus.key(c.service, k, v)) for k, v in c.args.items()))
                    failures[(c.service, c.intent, key)] = c.results
        corpus.tables.failures = failures
    return corpus


def _task(dialogue: dict[str, Any], split: str, transactional: dict[tuple[str, str], bool], path: Path) -> Task:
    try:
        return task_from_dialogue(dialogue, split, transactional)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
        raise ValueError(f"{path}: dialogue {dialogue.get('dialogue_id')!r} is not in SGD's format ({type(e).__name__}: {e}); "
                         "compare it with a dialogue of data/sgd/dev.") from None


_MEMORY: dict[tuple[str, str], SGDCorpus] = {}


def load_sgd(data_dir: str | os.PathLike[str] | None = None, split: str = "dev", *, use_cache: bool = True) -> SGDCorpus:
    """Load one split. `data_dir=None` is the embedded sample; any SGD-format directory works."""
    path = split_dir(data_dir, split)
    fp = data_fingerprint(path)
    if use_cache and (path.as_posix(), fp) in _MEMORY:
        return _MEMORY[(path.as_posix(), fp)]
    cache_name = f"sgd-{split}-{fp}.pkl"
    corpus: SGDCorpus | None = None
    if use_cache:
        with _gc_paused():
            corpus = cache.load(cache_name)  # signed by us, else None: never unpickled
        if not isinstance(corpus, SGDCorpus) or corpus.split != split:
            corpus = None
    if corpus is None:
        corpus = _build(path, split)
        if use_cache:
            _save(cache_name, corpus)
    corpus.path = path
    if use_cache:
        _MEMORY[(path.as_posix(), fp)] = corpus
    return corpus


def _save(name: str, corpus: SGDCorpus) -> None:
    state = dict(corpus.__dict__)
    clean = SGDCorpus(**{k: state[k] for k in ("path", "split", "services", "tasks", "tables", "slot_kinds")})
    cache.save(name, clean)
