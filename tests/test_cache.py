"""The cache cannot be turned against its user: planted or foreign entries are never unpickled,
a train corpus cannot be served as dev, an edit in place is noticed, the folder is private."""
import os
import pickle
import shutil
import stat

import pytest

from agentgym import cache
from agentgym.domains.sgd import corpus as sgd


@pytest.fixture()
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(sgd, "_MEMORY", {})
    return tmp_path / "cache"


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_planted_pickle_is_never_run(own_cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus = sgd.load_sgd(split="dev")  # writes the signed entry
    entry = next(own_cache.glob("sgd-dev-*.pkl"))
    entry.write_bytes(pickle.dumps(_Boom()))  # an attacker replaces it (same predictable name)
    monkeypatch.setattr(sgd, "_MEMORY", {})
    again = sgd.load_sgd(split="dev")
    assert not (tmp_path / "PWNED").exists() and len(again.tasks) == len(corpus.tasks)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600 and stat.S_IMODE(own_cache.stat().st_mode) == 0o700


def test_an_entry_signed_under_another_key_or_another_split_is_not_served(own_cache, monkeypatch):
    sgd.load_sgd(split="train")
    train_entry = next(own_cache.glob("sgd-train-*.pkl"))
    dev = sgd.load_sgd(split="dev")
    dev_entry = next(own_cache.glob("sgd-dev-*.pkl"))
    shutil.copy(train_entry, dev_entry)  # the train corpus under the dev name
    monkeypatch.setattr(sgd, "_MEMORY", {})
    assert len(sgd.load_sgd(split="dev").tasks) == len(dev.tasks) == 156
    (own_cache / ".hmac-key").write_bytes(os.urandom(32))  # someone else's key
    assert cache.load(dev_entry.name) is None


def test_data_edited_in_place_with_the_same_size_and_mtime_is_noticed(own_cache, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sgd.default_data_dir(), data)
    first = sgd.load_sgd(data, "dev")
    before = sgd.data_fingerprint(data / "dev")
    f = data / "dev" / "schema.json"
    st = f.stat()
    raw = bytearray(f.read_bytes())
    i = raw.index(b'"description": "') + len(b'"description": "')
    raw[i] = ord("X") if raw[i] != ord("X") else ord("Y")  # one character: same size
    f.write_bytes(bytes(raw))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert sgd.data_fingerprint(data / "dev") != before
    assert sgd.load_sgd(data, "dev") is not first  # rebuilt, not served stale


def test_a_cache_others_can_write_to_is_refused(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("AGENTGYM_CACHE", str(shared))
    with pytest.raises(PermissionError, match="chmod 700"):
        cache.cache_dir()


def test_an_unsafe_cache_is_not_used_and_the_run_says_why(tmp_path, monkeypatch, capsys):
    from agentgym.cli import main

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("AGENTGYM_CACHE", str(shared))
    monkeypatch.setattr(sgd, "_MEMORY", {})
    monkeypatch.setattr(cache, "_WARNED", set())
    with pytest.warns(UserWarning, match="chmod 700"):
        assert main(["run", "--quiet", "--episodes", "1", "--out", str(tmp_path / "runs")]) == 0
    assert list(shared.iterdir()) == []  # nothing read from it, nothing written to it
