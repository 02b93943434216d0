"""A tau2 database that resets in microseconds and compares in microseconds, exactly.

tau2's airline DB takes ~0.45 s to load, ~0.35 s to copy and ~0.4 s to hash (a JSON dump of the
whole DB), so a fresh DB per episode, as tau2's gym builds, costs more than a whole episode here.
Instead the DB is loaded once and every write is journaled at the record level:

- the top-level dict fields (flights, users, reservations, orders, ...) become `UndoDict`s: while a
  WRITE tool runs (tau2's own `ToolType` metadata says which tools write), the first touch of a
  record stores the pristine object aside and puts a deep copy in its place, so the tool mutates
  the copy; `restore()` puts the pristine objects back;
- other top-level fields (telecom's lists) are deep-copied at the first write of an episode.

Two DBs that started from the same pristine DB are equal exactly when every touched record is
equal, so `fingerprint()` dumps only the touched records, the way tau2 hashes (`json.dumps(...,
sort_keys=True, default=str)` of `model_dump()`), and `same_state()` compares two fingerprints:
the DB check of tau2's reward, without a whole-DB hash.
"""
from __future__ import annotations

import copy
import json
import pickle
from typing import Any

_MISSING = object()


def _dump(value: Any) -> str:
    if value is _MISSING:
        return "<missing>"
    data = value.model_dump() if hasattr(value, "model_dump") else value
    return json.dumps(data, sort_keys=True, default=str)


class UndoDict(dict):
    """A dict that journals the records a write touches (see the module docstring)."""

    __slots__ = ("armed", "journal")

    def __init__(self, data: dict[Any, Any]) -> None:
        super().__init__(data)
        self.armed = False
        self.journal: dict[Any, Any] = {}  # key -> pristine value (or _MISSING)

    def _touch(self, key: Any, copy_value: bool = True) -> None:
        if not self.armed or key in self.journal:
            return
        if dict.__contains__(self, key):
            value = dict.__getitem__(self, key)
            self.journal[key] = value
            if copy_value:
                dict.__setitem__(self, key, copy.deepcopy(value))
        else:
            self.journal[key] = _MISSING

    def _touch_all(self) -> None:
        if self.armed:
            for key in list(dict.keys(self)):
                self._touch(key)

    def __getitem__(self, key: Any) -> Any:
        self._touch(key)
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if dict.__contains__(self, key) else default

    def __setitem__(self, key: Any, value: Any) -> None:
        self._touch(key, copy_value=False)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: Any) -> None:
        self._touch(key, copy_value=False)
        dict.__delitem__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        self._touch(key, copy_value=False)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self._touch(key)
        return dict.setdefault(self, key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def values(self):  # type: ignore[override]
        self._touch_all()
        return dict.values(self)

    def items(self):  # type: ignore[override]
        self._touch_all()
        return dict.items(self)

    def popitem(self) -> Any:
        self._touch_all()
        return dict.popitem(self)

    def clear(self) -> None:
        self._touch_all()
        dict.clear(self)

    def restore(self) -> None:
        for key, value in self.journal.items():
            if value is _MISSING:
                dict.pop(self, key, None)
            else:
                dict.__setitem__(self, key, value)
        self.journal.clear()
        self.armed = False

    def touched(self) -> dict[Any, str]:
        return {k: _dump(dict.get(self, k, _MISSING)) for k in self.journal}

    def pristine(self, key: Any) -> str:
        return _dump(self.journal.get(key, dict.get(self, key, _MISSING)))

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        return {k: copy.deepcopy(v, memo) for k, v in dict.items(self)}

    def __reduce__(self) -> Any:
        return (dict, (dict(dict.items(self)),))


class ToolkitState:
    """One tau2 toolkit's DB made resettable and comparable; see the module docstring.

    Big DBs (airline, retail) are journaled at the record level. Small ones (telecom, mock, the
    telecom user's phone) are simply restored from a pickled pristine copy and compared by tau2's
    own whole-DB hash; so is a DB that `update_db` replaced (task initialization data)."""

    SMALL = 200_000  # bytes of pickle below which restoring a copy is cheaper than journaling

    def __init__(self, toolkit: Any) -> None:
        self.toolkit = toolkit
        self.pristine = pickle.dumps(toolkit.db)
        self.journaled = len(self.pristine) >= self.SMALL
        self._pristine_hash: str | None = None
        self.dicts: dict[str, UndoDict] = {}
        self.others: dict[str, Any] = {}  # field -> pristine value, saved at the first write of an episode
        self.dirty = False
        self._wrap(toolkit.db)

    def _wrap(self, db: Any) -> None:
        self.db = db
        self.dicts = {}
        if not self.journaled:
            return
        for name in type(db).model_fields:
            value = getattr(db, name)
            if isinstance(value, dict):
                undo = UndoDict(value)
                object.__setattr__(db, name, undo)  # pydantic would validate it back into a plain dict
                self.dicts[name] = undo

    @property
    def replaced(self) -> bool:
        return self.toolkit.db is not self.db

    def arm(self) -> None:
        """Before anything that may write (a WRITE tool, initialization): journal what it touches."""
        self.dirty = True
        if not self.journaled or self.replaced:
            return
        for d in self.dicts.values():
            d.armed = True
        for name in type(self.db).model_fields:
            if name not in self.dicts and name not in self.others:
                self.others[name] = getattr(self.db, name)
                object.__setattr__(self.db, name, copy.deepcopy(self.others[name]))

    def disarm(self) -> None:
        for d in self.dicts.values():
            d.armed = False

    def restore(self) -> None:
        """Back to the pristine DB."""
        if not self.dirty and not self.replaced:
            return
        if self.journaled and not self.replaced:
            for d in self.dicts.values():
                d.restore()
            for name, value in self.others.items():
                object.__setattr__(self.db, name, value)
            self.others.clear()
        else:
            self.toolkit.db = pickle.loads(self.pristine)
            self._wrap(self.toolkit.db)
        self.dirty = False

    def fingerprint(self) -> dict[Any, str]:
        """The state relative to pristine: every touched record's dump (journaled), else the whole DB's hash."""
        if not self.journaled or self.replaced:
            return {("hash",): self.toolkit.db.get_hash() if self.dirty or self.replaced else "pristine"}
        out: dict[Any, str] = {(name, key): dump for name, d in self.dicts.items() for key, dump in d.touched().items()}
        out.update({(name,): _dump(getattr(self.db, name)) for name in self.others})
        return out

    def pristine_dump(self, where: tuple[Any, ...]) -> str:
        """The pristine value of one place of a fingerprint."""
        if where == ("hash",):
            return "pristine"
        if len(where) == 2:
            return self.dicts[where[0]].pristine(where[1])
        return _dump(self.others.get(where[0], getattr(self.db, where[0])))

    def pristine_hash(self) -> str:
        """tau2's hash of the pristine DB (for a fingerprint "pristine" marker), computed once."""
        if self._pristine_hash is None:
            self._pristine_hash = pickle.loads(self.pristine).get_hash()
        return self._pristine_hash


def same_state(a: dict[Any, str], b: dict[Any, str], state: ToolkitState) -> bool:
    """Are two states of the same pristine DB equal? Places only one side touched are compared
    with the pristine record."""
    if ("hash",) in a or ("hash",) in b:
        left, right = a.get(("hash",), "pristine"), b.get(("hash",), "pristine")
        if "pristine" in (left, right) and left != right:
            pristine = state.pristine_hash()
            left, right = (pristine if x == "pristine" else x for x in (left, right))
        return left == right
    for where in set(a) | set(b):
        left = a[where] if where in a else state.pristine_dump(where)
        right = b[where] if where in b else state.pristine_dump(where)
        if left != right:
            return False
    return True
