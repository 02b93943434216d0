import os
import tempfile

import pytest

# Tests never touch the user's real cache.
os.environ.setdefault("AGENTGYM_CACHE", tempfile.mkdtemp(prefix="agentgym-test-cache-"))

import agentgym  # noqa: E402
from agentgym.data import load_sgd  # noqa: E402


@pytest.fixture(scope="session")
def dev():
    return load_sgd(split="dev")


@pytest.fixture(scope="session")
def train():
    return load_sgd(split="train")
