"""The attack suite: bad inputs and faults a careful new user throws at the workbench, and what it promises
instead (README, "What the workbench promises"). Each test is one promise; a raw traceback, a silent wrong
result, lost data or a leaked secret fails it."""
import json
import os
import stat
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from agentgym.cli import main
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.registration import register_envs
from agentgym.runner import run_episodes
from agentgym.store import ExperienceStore, RecordEpisodes, StoreError
from agentgym.store import store as store_module

register_envs()

SECRETS = {
    "openai": "sk-proj-AbCdEfGhIjKlMnOpQrStUv123456", "openai-short": "sk-short9x", "anthropic": "sk-ant-api03-ZZZZZZZZZZZZZZZZZZ",
    "google": "AIzaSyA1234567890abcdefghijklmnopqrs", "hf": "hf_abcdefghijklmnopqrstuvwx", "github": "ghp_abcdefghij0123456789klmnopqrstuvwx",
    "aws": "AKIAIOSFODNN7EXAMPLE", "url-password": "hunter2-db-pass", "query-token": "tok-in-query-77",
    "config-OPENAI_KEY": "plain-config-secret-1", "config-key": "key-named-key-2", "free-text": "free-text-pw-3",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "batched-path": "s3cr3t-bulk-77", "batched-key": "sk-batchedpathkey000",
}


def _plant(store: ExperienceStore) -> str:
    s = SECRETS
    vid = store.register_agent("agent", "v1", {"OPENAI_KEY": s["config-OPENAI_KEY"], "key": s["config-key"],
                                               "api_base": f"https://bob:{s['url-password']}@llm.example/v1?api_key={s['query-token']}"})
    env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store, agent_version_id=vid,
                         user_config={"model": "openai/gpt-4o", "api_key": s["openai"]}, judge_config={"auth": s["jwt"]})
    env.reset(seed=0)
    env.step(f"use {s['openai-short']} and my password is {s['free-text']}")
    env.step({"name": "Weather_1_GetWeather", "arguments": {"city": s["aws"]}})
    assert env.unwrapped.turns == 2  # both hostile actions were played, not refused before the store saw them
    ep = env.episode_id
    store.rate(ep, 1, step_idx=1, comment=f"the agent leaked {s['google']}", tags=[s["hf"]])
    store.add_verdict(ep, "judge", 0.5, step_idx=1, prompt=f"judge this; key {s['anthropic']}", reasoning=f"saw {s['github']}",
                      criteria={"token": s["hf"]})
    out, ep2 = store.execute_with_feedback(lambda x: f"echo {x}", f"Bearer {s['jwt']}")
    batched = RecordEpisodes(gym.make("agentgym/SGD-v0"), store, flush="episode", batch=2,
                             user_config={"OPENAI_KEY": s["batched-key"]})  # the bulk path evaluations and compare use
    batched.reset(seed=1)
    batched.step(f"my password: {s['batched-path']}")
    batched.close()
    return ep


def test_planted_secrets_never_reach_the_database_its_wal_or_the_llm_cache(tmp_path):
    from agentgym.llm.client import ResponseCache

    store = ExperienceStore(tmp_path / "store", create=True)
    _plant(store)
    cache = ResponseCache(tmp_path / "llm-cache.sqlite")
    cache.put("k", {"text": f"your key is {SECRETS['openai-short']}, and {SECRETS['openai']}", "tool_calls": []})
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") and p.stat().st_size for p in files)  # read while the WAL still holds pages
    raw = b"".join(p.read_bytes() for p in files)
    leaked = [name for name, secret in SECRETS.items() if secret.encode() in raw]
    assert leaked == []
    assert raw.count(b"***") >= len(SECRETS)  # the writes happened, masked
    eps = store.episodes()
    assert len(eps) == 3 and store.steps(eps["id"][0])["action"].str.contains("***", regex=False).any()
    store.close()


def test_store_and_cache_files_are_private(tmp_path):
    from agentgym.llm.client import ResponseCache

    store = ExperienceStore(tmp_path / "store", create=True)
    store.start_episode("x")
    ResponseCache(tmp_path / "c.sqlite").put("k", {"text": "t"})
    for p in [*tmp_path.joinpath("store").iterdir(), *tmp_path.glob("c.sqlite*")]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    store.close()


def test_a_missing_store_is_an_error_unless_creation_is_asked(tmp_path):
    with pytest.raises(FileNotFoundError, match="No experience store at .*create=True"):
        ExperienceStore(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()
    (tmp_path / "empty.db").touch()
    with pytest.raises(FileNotFoundError, match="empty file, not an experience store"):
        ExperienceStore(tmp_path / "empty.db")
    ExperienceStore(tmp_path / "typo", create=True).close()
    ExperienceStore(tmp_path / "typo").close()


def _filled_store(folder: Path) -> None:
    with ExperienceStore(folder, create=True) as store:
        env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store)
        run_episodes(env, ScriptedAgent(), episodes=2, progress=False)


def test_a_read_only_store_opens_for_reading_and_refuses_writes_clearly(tmp_path, monkeypatch):
    folder = tmp_path / "colleague"
    _filled_store(folder)
    if os.geteuid() == 0:  # root may write anywhere: take this process's write access away where the store asks
        monkeypatch.setattr(store_module, "_writable", lambda path: False)
    folder.joinpath("experience.db").chmod(0o444)
    folder.chmod(0o555)
    try:
        store = ExperienceStore(folder)
        assert store.read_only and len(store.episodes()) == 2 and len(store.steps()) > 2
        before = (folder / "experience.db").read_bytes()
        with pytest.raises(StoreError, match="read-only .* copy it"):
            store.rate(store.episodes()["id"][0], 1)
        store.close()
        assert (folder / "experience.db").read_bytes() == before
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("content,message", [
    (os.urandom(4096), "not a readable agentgym store .* .recover"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "not a readable agentgym store"),
])
def test_a_corrupted_or_foreign_file_is_a_clear_store_error(tmp_path, content, message):
    (tmp_path / "experience.db").write_bytes(content)
    with pytest.raises(StoreError, match=message):
        ExperienceStore(tmp_path / "experience.db")


def test_ratings_and_verdicts_must_point_at_real_steps_and_the_scale(tmp_path):
    folder = tmp_path / "s"
    _filled_store(folder)
    with ExperienceStore(folder) as store:
        ep = store.episodes()["id"][0]
        n = len(store.steps(ep))
        with pytest.raises(ValueError, match=f"has no step {n + 5} to rate .*steps 0-{n - 1}"):
            store.rate(ep, 1, step_idx=n + 5)
        with pytest.raises(ValueError, match="0-1 scale"):
            store.add_verdict(ep, "judge", 5.0)
        with pytest.raises(ValueError, match="has no step -1 to judge"):
            store.add_verdict(ep, "judge", 0.5, step_idx=-1)
        with pytest.raises(KeyError, match="No episode 'nope'"):
            store.rate("nope", 1)
        with pytest.raises(ValueError, match="between 1 and 5"):
            store.rate(ep, 9, scale="1-5")
        assert store.ratings().empty and store.verdicts().empty  # nothing half-written
        store.rate(ep, 1, step_idx=n - 1)
        store.add_verdict(ep, "judge", None, step_idx=0, reasoning="unscored")


def test_unparseable_time_filters_are_errors_and_offsets_are_honoured(tmp_path):
    folder = tmp_path / "s"
    _filled_store(folder)
    with ExperienceStore(folder) as store:
        with pytest.raises(ValueError, match="since='24/11/2020' is not a date .*ISO 8601"):
            store.episodes(since="24/11/2020")
        with pytest.raises(ValueError, match="until="):
            store.episodes(until="yesterday")
        assert len(store.episodes(since="2020-11-24")) == 2
        assert len(store.episodes(since="2999-01-01T00:00+05:00")) == 0


def test_a_long_run_streams_to_disk_and_keeps_only_scores(tmp_path):
    env = gym.make("agentgym/SGD-v0")
    eps = run_episodes(env, ScriptedAgent(), episodes=3, out=tmp_path / "r.jsonl", keep_steps=False, progress=False)
    assert all(e.steps == [] and e.messages == [] for e in eps) and [e.total_reward != 0 for e in eps]
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["steps"] for line in lines)
    with pytest.raises(ValueError, match="needs out="):
        run_episodes(env, ScriptedAgent(), episodes=1, keep_steps=False, progress=False)


def _cli_cases(tmp: Path) -> list[tuple[list[str], str]]:
    (tmp / "afile").write_text("not a folder")
    (tmp / "cfg").mkdir()
    (tmp / "bad.yaml").write_text("a: [1, 2\nb: }")
    (tmp / "list.json").write_text("[1, 2]")
    (tmp / "corrupt.db").write_bytes(os.urandom(4096))
    bad = tmp / "badsgd" / "dev"
    bad.mkdir(parents=True)
    (bad / "schema.json").write_text("[]")
    (bad / "dialogues_001.json").write_text('{"x": 1}')
    broken = tmp / "brokensgd" / "dev"
    broken.mkdir(parents=True)
    (broken / "schema.json").write_text("[")
    (broken / "dialogues_001.json").write_text("[]")
    return [
        (["run", "--seed", "-1"], "--seed: must be 0 or more"),
        (["run", "--out", str(tmp / "afile")], "is a file, not a folder"),
        (["run", "--data-dir", str(tmp / "badsgd")], "expected a JSON list of SGD dialogues"),
        (["run", "--data-dir", str(tmp / "brokensgd")], "schema.json is not readable JSON"),
        (["run", "--data-dir", str(tmp / "nowhere")], "nowhere"),
        (["train", "sft", "--config", str(tmp / "cfg")], "is a folder; give a .json or .yaml"),
        (["train", "sft", "--config", str(tmp / "bad.yaml")], "is not valid YAML"),
        (["train", "sft", "--config", str(tmp / "list.json")], "must hold a mapping"),
        (["train", "sft", "--set", "max_steps"], "--set takes key=value"),
        (["versions", "--store", str(tmp / "typo")], "No experience store at"),
        (["versions", "--store", str(tmp / "afile")], "not a readable agentgym store"),
        (["versions", "--store", str(tmp / "corrupt.db")], "not a readable agentgym store"),
        (["versions", "--store", "postgresql+psycopg://u:hunter2@127.0.0.1:1/db"], "Cannot reach the database at postgresql+psycopg://u:***@"),
        (["eval", "--store", str(tmp / "typo"), "--version", "v"], "No experience store at"),
    ]


def test_the_cli_answers_bad_input_with_a_message_not_a_traceback(tmp_path, capsys):
    for argv, message in _cli_cases(tmp_path):
        with pytest.raises(SystemExit) if argv[1:2] == ["--seed"] else _no_exit():
            rc = main(argv + (["--quiet"] if argv[0] == "run" else []))
            assert rc == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert "Traceback" not in err and "hunter2" not in err, argv
    assert not (tmp_path / "typo").exists()


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


HOSTILE_ACTIONS = st.one_of(
    st.text(max_size=80), st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=20),
    st.recursive(st.none() | st.booleans() | st.text(max_size=10),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8),
    st.sampled_from(["cyclic", "deep-list", "deep-dict", "object", "set"]),
)


def _materialize(action):
    """The values JSON cannot spell: cycles, depth beyond the recursion limit, arbitrary objects."""
    if action == "cyclic":
        d: dict = {"name": "Weather_1_GetWeather"}
        d["arguments"] = d
        return d
    if action == "deep-list":
        x: list = []
        for _ in range(5000):
            x = [x]
        return x
    if action == "deep-dict":
        y: dict = {}
        for _ in range(5000):
            y = {"arguments": y}
        return y
    if action == "object":
        return object()
    if action == "set":
        return {"a", "b"}
    return action


class HostileEnvSequence(RuleBasedStateMachine):
    """Random reset/step/close sequences with hostile arguments: step never raises while an episode runs,
    a bad reset raises a clear error and leaves the env usable, and a step with no episode says 'reset'."""

    def __init__(self):
        super().__init__()
        self.env = gym.make(self.env_id, **self.kwargs)
        self.running = False

    @rule(seed=st.integers(0, 2**31 - 1) | st.none(), pick=st.booleans())
    def reset(self, seed, pick):
        task = self.env.unwrapped.task_ids[(seed or 0) % len(self.env.unwrapped.task_ids)] if pick else None
        obs, info = self.env.reset(seed=seed, options={"task_id": task} if task else None)
        assert isinstance(obs, str) and isinstance(info, dict) and "task_id" in info
        self.running = True

    @rule(bad=st.sampled_from([{"task_id": "nope"}, {"task_id": 42}, {"task_id": None, "x": object()}, {"task_id": ["a"]}]),
          seed=st.sampled_from([-1, "a", 1.5, 2**70]) | st.none())
    def bad_reset(self, bad, seed):
        try:
            self.env.reset(seed=seed, options=bad)
        except Exception as e:  # noqa: BLE001 - any clear error is fine; what matters is what follows
            assert len(str(e)) > 10, repr(e)
            self.running = False
        else:
            self.running = True  # an option the env ignores, a seed it accepts

    @precondition(lambda self: self.running)
    @rule(action=HOSTILE_ACTIONS)
    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(_materialize(action))
        assert isinstance(obs, str) and isinstance(reward, float) and reward == reward
        assert isinstance(terminated, bool) and isinstance(truncated, bool) and "error" in info
        self.running = not (terminated or truncated)

    @precondition(lambda self: not self.running)
    @rule(action=HOSTILE_ACTIONS)
    def step_without_episode(self, action):
        try:
            obs, reward, *_ = self.env.step(_materialize(action))
        except gym.error.ResetNeeded as e:
            assert "reset" in str(e).lower()
        else:
            assert "episode is over" in obs or "reset" in obs.lower()

    @rule()
    def close(self):
        self.env.close()
        self.running = False

    @invariant()
    def spaces_hold(self):
        assert self.env.observation_space.contains("ok") and self.env.action_space.contains("ok")

    def teardown(self):
        self.env.close()


class SGDHostile(HostileEnvSequence):
    env_id, kwargs = "agentgym/SGD-v0", {"max_turns": 6}


TestSGDEnvUnderHostileSequences = SGDHostile.TestCase
TestSGDEnvUnderHostileSequences.settings = settings(
    max_examples=int(os.environ.get("AGENTGYM_FUZZ_EXAMPLES", 2500)) // 25, stateful_step_count=25, deadline=None,
    suppress_health_check=list(HealthCheck))

if "agentgym/tau2-mock-v0" in gym.registry and __import__("importlib").util.find_spec("tau2") is not None:
    class Tau2Hostile(HostileEnvSequence):
        env_id, kwargs = "agentgym/tau2-mock-v0", {"max_steps": 6}

    TestTau2EnvUnderHostileSequences = Tau2Hostile.TestCase
    TestTau2EnvUnderHostileSequences.settings = TestSGDEnvUnderHostileSequences.settings
