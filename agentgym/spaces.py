"""A Gymnasium space of free text: any Python string up to a length."""
from __future__ import annotations

import string
from typing import Any

import numpy as np
from gymnasium.spaces import Space

_SAMPLE_CHARS = string.ascii_letters + string.digits + string.punctuation + " \n" + "éüß中文🙂"


class Utterance(Space[str]):
    """Free text. `Text` only admits a fixed alphabet; dialogue needs all of Unicode."""

    def __init__(self, max_length: int = 100_000, seed: int | np.random.Generator | None = None) -> None:
        self.max_length = max_length
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        n = int(self.np_random.integers(0, 64))
        idx = self.np_random.integers(0, len(_SAMPLE_CHARS), size=n)
        return "".join(_SAMPLE_CHARS[i] for i in idx)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"Utterance(max_length={self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Utterance) and other.max_length == self.max_length
