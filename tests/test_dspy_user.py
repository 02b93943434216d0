"""DSPy user programs on the local model: loaded by the env, every wording checked, optimizable offline."""

import gymnasium as gym
import pytest

import agentgym  # noqa: F401  (registers the envs)
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.domains.sgd.users.dspy_user import UserProgram, load_program, save_program
from agentgym.domains.sgd.users.optimize import check_optimizer, optimize_program
from agentgym.runner import play_episode
from agentgym.store import ExperienceStore, RecordEpisodes

pytestmark = pytest.mark.slow


def test_the_env_plays_the_shipped_program_checks_each_wording_and_records_the_fallbacks(tmp_path):
    store = ExperienceStore(tmp_path / "x.db", create=True)
    env = RecordEpisodes(gym.make("agentgym/SGD-v0", user="dspy", max_turns=4), store)
    play_episode(env, ScriptedAgent(), seed=3)
    env.close()
    user = env.unwrapped.user
    assert user.worded >= 2 and 0 <= user.fallbacks <= user.worded
    steps = store.steps(store.episodes().iloc[0]["id"])
    in_store = [c["user_fallback"] for c in steps["context"] if isinstance(c, dict) and c.get("user_fallback")]
    assert len(in_store) == user.fallbacks  # every replaced wording is on record, with its reason
    assert all(isinstance(r, str) and r for r in in_store)


def test_same_seed_same_dspy_episode():
    def run():
        env = gym.make("agentgym/SGD-v0", user="dspy")
        ep = play_episode(env.unwrapped, ScriptedAgent(), seed=5)
        return [m["content"] for m in ep.messages]
    assert run() == run()


def test_a_foreign_or_broken_program_file_is_refused_with_the_file_named(tmp_path):
    dspy_own = tmp_path / "dspy_own.json"
    UserProgram("realizer").save(str(dspy_own))
    with pytest.raises(ValueError, match="dspy_own.json is not an agentgym user program"):
        load_program(dspy_own)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="Cannot read user program .*broken.json"):
        load_program(broken)
    with pytest.raises(FileNotFoundError, match="No user program at .*missing.json"):
        gym.make("agentgym/SGD-v0", user="dspy", user_kwargs={"program": tmp_path / "missing.json"})
    with pytest.raises(ValueError, match="needs a capable model"):
        check_optimizer("gepa", None)


def test_labeled_few_shot_beats_the_bare_signature_on_held_out_turns_and_saves_a_loadable_program(tmp_path):
    out = tmp_path / "program.json"
    res = optimize_program(optimizer="labeled", budget=4, train_turns=40, eval_turns=30, out=out, progress=False)
    assert res["error"] is None
    # here: +0.117 [0.005, 0.229] on these 30 turns; the mean gain is the check (llama.cpp's greedy tokens may differ
    # on another CPU), and the unoptimized program scored against itself ("none") gains exactly 0
    assert res["difference"]["fidelity"] >= 0.05, res
    assert res["after"]["fallback_rate"] <= res["before"]["fallback_rate"]
    program, meta = load_program(out)
    assert len(program.speak.demos) == 4 and meta["optimizer"] == "labeled"
    env = gym.make("agentgym/SGD-v0", user="dspy", user_kwargs={"program": out})
    env.reset(seed=0)


def test_an_optimizer_that_fails_mid_way_keeps_the_best_program_so_far(tmp_path, monkeypatch):
    import dspy

    def boom(self, *a, **k):
        raise RuntimeError("the optimizer's LM went away")
    monkeypatch.setattr(dspy.LabeledFewShot, "compile", boom)
    out = tmp_path / "program.json"
    res = optimize_program(optimizer="labeled", budget=2, train_turns=4, eval_turns=4, out=out, progress=False)
    assert "went away" in res["error"] and res["kept"].startswith("unoptimized")
    program, meta = load_program(out)
    assert program.speak.demos == [] and "went away" in meta["error"]
    save_program(program, tmp_path / "again.json")
