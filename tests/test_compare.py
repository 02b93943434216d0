"""Comparing versions: the verdict is calibrated (A vs A rarely 'differs', a planted effect is found at the
stated power), the design is paired and deterministic on any executor, and bad input is explained."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from agentgym.cli import main
from agentgym.experiments import CompareConfig, Router, analyze, compare, compare_stored
from agentgym.experiments import stats as st
from agentgym.store import ExperienceStore

EPS = "noisy:base=scripted,epsilon={eps},seed={seed}"


def _synthetic(rng, n_tasks, trials, delta, reps):
    """Per-task differences B − A of `reps` paired experiments: task difficulty varies (Beta(2, 2)), B's
    success chance is A's plus delta, each version plays `trials` episodes per task."""
    p = rng.beta(2, 2, size=(reps, n_tasks, 1))
    a = (rng.random((reps, n_tasks, trials)) < p).mean(axis=2)
    b = (rng.random((reps, n_tasks, trials)) < np.clip(p + delta, 0, 1)).mean(axis=2)
    return b - a


def test_a_vs_a_says_better_or_worse_at_most_at_the_nominal_rate():
    reps = 4000
    diffs = _synthetic(np.random.default_rng(0), 30, 2, 0.0, reps)
    verdicts = [st.decide(d, alpha=0.05)[0] for d in diffs]
    false_calls = sum(v in ("better", "worse") for v in verdicts) / reps
    assert false_calls <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps), false_calls  # nominal rate, 3 standard errors of slack
    assert false_calls >= 0.03  # and not a rule that never says anything


def test_a_planted_effect_is_found_at_the_stated_power():
    rng = np.random.default_rng(1)
    delta, power = 0.15, 0.8
    pilot = _synthetic(rng, 20_000, 2, delta, 1)[0]  # success chances are clipped at 1: the realized effect is a bit under delta
    n = st.tasks_needed(float(np.std(pilot, ddof=1)), float(pilot.mean()), 0.05, power)  # what compare tells a researcher to run
    assert 20 <= n <= 400
    reps = 2000
    found = sum(st.decide(d)[0] == "better" for d in _synthetic(rng, n, 2, delta, reps)) / reps
    assert found >= power - 3 * math.sqrt(power * (1 - power) / reps), (n, found)
    half = sum(st.decide(d)[0] == "better" for d in _synthetic(rng, n // 4, 2, delta, reps)) / reps
    assert half < power - 0.2  # a quarter of the tasks really is underpowered: the estimate is not just generous


def test_analyze_reads_rows_the_way_decide_reads_differences():
    rng = np.random.default_rng(2)
    rows = []
    for arm, shift in (("A", 0.0), ("B", 0.3)):
        for i in range(25):
            for k in range(2):
                win = float(rng.random() < 0.4 + shift)
                rows.append({"arm": arm, "task_id": f"t{i}", "trial": k, "success": win, "reward": win, "turns": 5.0, "services": "S"})
    rows = pd.DataFrame(rows)
    r = analyze(rows, CompareConfig(n_boot=500))
    d = rows.groupby(["task_id", "arm"])["success"].mean().unstack()
    v, t, _ = st.decide((d["B"] - d["A"]).values)
    assert (r.verdict, r.diff, r.ci_low, r.ci_high) == (v, pytest.approx(t.estimate), pytest.approx(t.low), pytest.approx(t.high))


def test_stats_agree_with_textbook_values():
    d = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0])
    t = st.paired_t(d)
    assert t.estimate == pytest.approx(0.5625) and t.low < 0.5625 < t.high
    from scipy import stats as sps

    assert t.p_value == pytest.approx(sps.ttest_1samp(d, 0).pvalue)
    assert st.mcnemar(0, 10) == pytest.approx(2 * 0.5**10) and st.mcnemar(5, 5) == 1.0
    assert st.holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert st.pass_hat_k(np.array([2, 1, 0]), trials=2, k=2) == pytest.approx(1 / 3)
    assert st.tost(np.zeros(5), 0.05) == 0.0 and st.tost(np.ones(5), 0.05) == 1.0


def test_on_the_env_two_copies_of_an_agent_are_not_called_different():
    verdicts = [compare(EPS.format(eps=0.1, seed=1), EPS.format(eps=0.1, seed=2), tasks=30, seed=1000 * s,
                        baseline=None, progress=False).verdict for s in range(12)]
    assert sum(v in ("better", "worse") for v in verdicts) <= 2, verdicts  # P(>= 3 of 12 | rate 0.05) = 2 %


def test_on_the_env_a_planted_epsilon_gap_is_found_in_both_directions():
    a, b = EPS.format(eps=0.0, seed=1), EPS.format(eps=0.15, seed=2)
    r = compare(a, b, tasks=60, progress=False)
    assert r.verdict == "worse" and r.ci_high < 0 and r.mcnemar_p < 0.05 and r.boot_high < 0
    assert r.baseline["mean"] == 0.0 and r.baseline["A_minus_baseline"] > r.baseline["B_minus_baseline"] > 0
    assert compare(b, a, tasks=60, baseline=None, progress=False).verdict == "better"
    assert {s["service"] for s in r.by_service} and all(s["tasks"] >= 1 for s in r.by_service)


def test_the_same_agent_under_shared_seeds_is_equivalent_and_the_result_is_json():
    r = compare("scripted", "scripted", tasks=10, trials=2, progress=False)
    assert r.verdict == "equivalent" and r.diff == 0.0 and r.ci_low == r.ci_high == 0.0
    d = json.loads(json.dumps(r.to_dict()))
    assert {"verdict", "diff", "ci_low", "ci_high", "p_value", "mcnemar_p", "pass_k", "secondary", "by_service"} <= set(d)
    assert d["pass_k"]["A"]["2"] == d["pass_k"]["B"]["2"]


def test_inconclusive_says_how_many_tasks_it_would_take():
    r = compare(EPS.format(eps=0.1, seed=1), EPS.format(eps=0.1, seed=2), tasks=8, baseline=None, progress=False)
    assert r.verdict == "inconclusive" and r.tasks_needed > 6
    assert f"about {r.tasks_needed} tasks needed" in r.summary()


def test_a_process_pool_gives_the_same_rows_as_one_process(tmp_path):
    kw = dict(tasks=8, trials=2, baseline=None, progress=False)
    a, b = EPS.format(eps=0.2, seed=1), EPS.format(eps=0.2, seed=2)
    one = compare(a, b, **kw).rows.drop(columns="episode_id")
    pool = compare(a, b, workers=2, store=str(tmp_path / "s"), **kw)
    key = ["arm", "task_id", "trial"]
    pd.testing.assert_frame_equal(one.sort_values(key).reset_index(drop=True),
                                  pool.rows.drop(columns="episode_id").sort_values(key).reset_index(drop=True))
    with ExperienceStore(tmp_path / "s") as store:
        eps = store.episodes()
        assert len(eps) == len(pool.rows) and eps["status"].isin(["terminated", "truncated"]).all()
        assert set(store.agent_versions()["agent"]) == {a, b}
        assert (store.steps(eps["id"][0])["idx"].tolist() == list(range(int(eps["n_steps"][0]))))


def test_a_second_user_that_flips_the_sign_is_flagged():
    r = compare("scripted", "naive", tasks=12, second_user="replay", baseline=None, progress=False)
    assert r.second_user["user"] == "replay" and r.second_user["verdict"] in ("worse", "inconclusive", "better", "equivalent")
    assert r.simulator_sensitive is (r.second_user["diff"] * r.diff < 0)


@pytest.mark.parametrize("kwargs,message", [
    ({"tasks": 1}, "tasks must be at least 2"), ({"trials": 0}, "trials must be"), ({"primary": "vibes"}, "primary must be"),
    ({"alpha": 0.7}, "alpha must be between"), ({"tasks": 10_000}, "ask for at most"),
])
def test_bad_settings_are_refused_before_any_episode(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare("scripted", "naive", progress=False, **kwargs)


def test_bad_versions_and_disjoint_tasks_are_explained(tmp_path):
    with pytest.raises(ValueError, match="Unknown agent 'nope'"):
        compare("nope", "naive", progress=False)
    with pytest.raises(ValueError, match="say which store"):
        compare("smollm2-policy@v9", "naive", tasks=2, progress=False)
    ExperienceStore(tmp_path / "s", create=True).close()
    with pytest.raises(KeyError, match="No version 'v9'"):
        compare("smollm2-policy@v9", "naive", tasks=2, store=str(tmp_path / "s"), progress=False)
    disjoint = pd.DataFrame([{"arm": "A", "task_id": "x", "trial": 0, "success": 1.0, "reward": 1.0, "turns": 3, "services": ""},
                             {"arm": "B", "task_id": "y", "trial": 0, "success": 0.0, "reward": 0.0, "turns": 3, "services": ""}])
    with pytest.raises(ValueError, match="Only 0 task\\(s\\) were played by both"):
        analyze(disjoint, CompareConfig())


def test_the_router_is_sticky_weighted_and_feeds_compare_on_live_ratings(tmp_path):
    store = ExperienceStore(tmp_path / "live", create=True)
    v1, v2 = store.register_agent("bot", "v1"), store.register_agent("bot", "v2")
    router = Router(store, {"v1": (lambda x: f"v1 says {x}", v1), "v2": (lambda x: f"v2 says {x}", v2)},
                    weights={"v1": 0.7, "v2": 0.3})
    served = {}
    for i in range(400):
        session = f"user-{i % 200}"
        out, ep, name = router(f"hello {i}", session_id=session)
        assert served.setdefault(session, name) == name and out.startswith(name)  # sticky
        store.rate(ep, 1 if name == "v2" or i % 3 else 0)  # v2 always liked, v1 two times in three
    share = sum(v == "v1" for v in served.values()) / len(served)
    assert 0.6 <= share <= 0.8
    eps = store.episodes(with_messages=True)
    assert len(eps) == 400 and eps["agent_version_id"].isin([v1, v2]).all()
    res = compare_stored(store, ("bot", "v1"), ("bot", "v2"), metric="rating")
    assert res["design"].startswith("unpaired") and res["verdict"] == "better" and res["ci_low"] > 0
    with pytest.raises(ValueError, match="Weights for unknown"):
        Router(store, {"v1": (str, v1)}, weights={"v3": 1.0})
    with pytest.raises(ValueError, match="No episodes of bot@v7"):
        compare_stored(store, ("bot", "v1"), ("bot", "v7"))
    store.close()


def test_cli_compare_prints_a_verdict_and_json(capsys):
    assert main(["compare", "scripted", "naive", "--tasks", "6", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["verdict"] == "worse" and out["diff"] == -1.0 and out["ci_high"] < 0
    assert main(["compare", "scripted", "nope", "--quiet"]) == 2
    assert "Unknown agent 'nope'" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_on_a_local_ray_cluster_matches_one_process(tmp_path):
    ray = pytest.importorskip("ray")
    kw = dict(tasks=6, trials=1, baseline=None, progress=False)
    a, b = EPS.format(eps=0.2, seed=1), EPS.format(eps=0.2, seed=2)
    one = compare(a, b, **kw)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"AGENTGYM_CACHE": str(tmp_path / "cache")}})
    try:
        on_ray = compare(a, b, ray=True, store=str(tmp_path / "s"), **kw)
    finally:
        ray.shutdown()
    key = ["arm", "task_id", "trial"]
    pd.testing.assert_frame_equal(one.rows.drop(columns="episode_id").sort_values(key).reset_index(drop=True),
                                  on_ray.rows.drop(columns="episode_id").sort_values(key).reset_index(drop=True))
    assert on_ray.verdict == one.verdict
    with ExperienceStore(tmp_path / "s") as store:
        assert len(store.episodes()) == len(on_ray.rows)


@pytest.mark.slow
def test_a_ray_cluster_that_goes_away_mid_run_keeps_what_finished():
    ray = pytest.importorskip("ray")
    from agentgym.experiments import ClusterLost
    from agentgym.experiments.play import plan, run_units

    units = plan({"A": "scripted"}, ["10_00000", "10_00001", "10_00002", "10_00003"], trials=1, seed=0,
                 env_id="agentgym/SGD-v0", env_kwargs={"max_turns": 20}, chunks=4)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        broken = [type(units[0])(**{**units[0].__dict__, "agent": "nope"})]
        with pytest.raises(ValueError, match="Unknown agent 'nope'"):  # a unit's own error is that error, not "cluster lost"
            run_units(broken, ray=True, progress=False)
        got = []

        def on_rows(rows):
            got.extend(rows)
            ray.shutdown()  # the cluster goes away after the first unit finished

        with pytest.raises(ClusterLost, match="after 1 episodes \\(1 of 4 units\\)") as lost:
            run_units(units, ray=True, progress=False, on_rows=on_rows)
        assert lost.value.done == got and len(got) == 1 and got[0]["success"] == 1.0
    finally:
        ray.shutdown()


def test_one_seed_rule_a_task_and_trial_is_the_same_episode_in_a_run_and_in_compare():
    import gymnasium as gym

    from agentgym.agents.make import make_agent
    from agentgym.experiments.play import plan
    from agentgym.runner import run_episodes

    env = gym.make("agentgym/SGD-v0", split="dev")
    ids = list(env.unwrapped.task_ids[:2])
    eps = run_episodes(env, make_agent("scripted"), episodes=4, seed=5, task_ids=ids, progress=False)
    played = {(e.task_id, i // 2): e.seed for i, e in enumerate(eps)}
    units = plan({"a": "scripted"}, ids, trials=2, seed=5, env_id="agentgym/SGD-v0", env_kwargs={}, chunks=1)
    planned = {(t, k): s for t, k, s in units[0].jobs}
    assert played == planned == {(ids[0], 0): 5, (ids[0], 1): 6, (ids[1], 0): 7, (ids[1], 1): 8}
    again = run_episodes(env, make_agent("scripted"), episodes=1, seed=planned[(ids[1], 1)], task_ids=[ids[1]], progress=False)
    assert again[0].steps == eps[3].steps  # the planned (task, trial) replays the run's episode exactly
