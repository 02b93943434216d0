"""The on-disk cache (`$AGENTGYM_CACHE`, else `~/.cache/agentgym`), made safe to point at a shared disk.

- The folder is created 0700 and refused when another user owns it or others can write to it
  (a planted file there would otherwise be read back).
- Entries are pickles signed with HMAC-SHA256 under a per-user key (`.hmac-key`, 0600, made on first
  use): a file whose tag does not verify — planted, corrupted, or written under another key — is
  never unpickled, just rebuilt. Entry files are written atomically, 0600.
- Callers key entries by a content hash of their inputs and the code version (`content_hash`), and
  check what they load back belongs to what they asked for.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import stat
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_TAG = 32  # bytes of HMAC-SHA256


@contextmanager
def first_time(what: str, eta: str) -> Iterator[None]:
    """Around a long step that runs once and is then cached (fitting the user, converting the policy):
    one line on stderr before it saying what and roughly how long, one after with the time it took, so
    a cold first call is never a silent wait. `AGENTGYM_QUIET=1` silences both."""
    quiet = bool(os.environ.get("AGENTGYM_QUIET"))
    if not quiet:
        print(f"agentgym: {what} (first use only, then cached; {eta})...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    if not quiet:
        print(f"agentgym: done in {time.perf_counter() - started:.0f} s.", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """The cache folder, created 0700 and checked (see the module docstring)."""
    path = Path(os.environ.get("AGENTGYM_CACHE", Path.home() / ".cache" / "agentgym"))
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = path.stat()
    except OSError:
        return path  # read-only or missing home: callers work without the cache
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise PermissionError(f"The agentgym cache {path} belongs to another user (uid {st.st_uid}); point AGENTGYM_CACHE at a "
                              "folder of your own.")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(f"Others can write to the agentgym cache {path} (mode {stat.filemode(st.st_mode)}); "
                              f"run `chmod 700 {path}` or point AGENTGYM_CACHE at a private folder.")
    return path


def _key(folder: Path) -> bytes:
    """The per-user signing key, made once: written whole to a temp file, then linked into place, so
    processes racing to make it all end up reading the same complete key."""
    key_file = folder / ".hmac-key"
    if not key_file.exists():
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".key") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(os.urandom(32))
        try:
            os.link(fh.name, key_file)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            os.unlink(fh.name)
    key = key_file.read_bytes()
    if len(key) != 32:
        raise PermissionError(f"The cache signing key {key_file} is damaged; delete it (the cache is rebuilt).")
    return key


def content_hash(files: Iterable[Path], *extra: str) -> str:
    """A hash of the files' bytes (not their size or mtime) and of `extra` (code version, split, ...)."""
    h = hashlib.blake2b(digest_size=16)
    for part in extra:
        h.update(part.encode() + b"\0")
    for f in files:
        h.update(f.name.encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


_WARNED: set[str] = set()


def _unsafe(e: PermissionError) -> None:
    """An unsafe cache folder is not used: said once, and everything works without it."""
    if str(e) not in _WARNED:
        _WARNED.add(str(e))
        warnings.warn(f"{e} Working without the cache until then.", stacklevel=3)


def load(name: str) -> Any | None:
    """The object saved under `name`, or None when there is none or its signature does not verify."""
    try:
        folder = cache_dir()
    except PermissionError as e:
        _unsafe(e)
        return None
    try:
        data = (folder / name).read_bytes()
        key = _key(folder)
    except OSError:
        return None
    tag, payload = data[:_TAG], data[_TAG:]
    if len(tag) < _TAG or not hmac.compare_digest(tag, hmac.new(key, payload, hashlib.sha256).digest()):
        return None  # planted, corrupted or foreign: never unpickled
    try:
        return pickle.loads(payload)
    except Exception:  # noqa: BLE001 - a signed but unreadable entry (an older class layout) is rebuilt
        return None


def save(name: str, obj: Any) -> None:
    """Sign and write atomically (0600); a read-only cache folder is skipped silently."""
    try:
        folder = cache_dir()
    except PermissionError as e:
        _unsafe(e)
        return
    try:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        tag = hmac.new(_key(folder), payload, hashlib.sha256).digest()
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(tag + payload)
        os.replace(fh.name, folder / name)
    except OSError:
        pass
