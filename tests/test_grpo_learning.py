"""GRPO on CPU with the packaged 135M model: the reward rises on held-out tasks (so masks, log-probs
and advantages are right), the judge is a real reward whose failures leave a sample unscored, and
every rollout is in the store under its run and step."""
import importlib.util
import statistics
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="needs the train extra")]

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLMServer  # noqa: E402

from agentgym.store import ExperienceStore  # noqa: E402
from agentgym.train import GRPOConfig, TrainConfig, train  # noqa: E402
from agentgym.train.rewards import names_the_service  # noqa: E402

LEARNING = dict(method="grpo", max_steps=8, group_size=4, tasks_per_step=2, max_turns=2, max_new_tokens=16,
                max_dialogues=6, eval_tasks=4, eval_samples=2, save_steps=1000, learning_rate=3e-4,
                rewards={"rule": 0.0}, eval_every=4, seed=0)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    root = tmp_path_factory.mktemp("learn")
    cfg = TrainConfig.load(output_dir=str(root / "out"), store=str(root / "store"), version="learn", **LEARNING)
    return train(cfg, progress=False, reward_funcs=[names_the_service]), root


def test_grpo_raises_the_reward_on_held_out_tasks_over_the_same_seeds(learned):
    res, _ = learned
    before, after = res["evals"][0], res["evals"][-1]
    assert before["step"] == 0 and after["step"] == res["steps"] == LEARNING["max_steps"]
    diffs = [after["per_task"][t] - before["per_task"][t] for t in before["per_task"]]
    assert statistics.fmean(diffs) >= 0.2, (before, after)


def test_every_rollout_and_evaluation_is_in_the_store_under_its_run_and_step(learned):
    res, root = learned
    with ExperienceStore(root / "store") as s:
        train_eps = s.episodes(run="learn", phase="train")
        assert len(train_eps) == LEARNING["max_steps"] * LEARNING["group_size"] * LEARNING["tasks_per_step"]
        assert len(s.episodes(run="learn", phase="train", step=3)) == 8
        assert set(s.episodes(run="learn", phase="eval")["meta"].map(lambda m: m["step"])) == {0, 4, 8}


def test_the_judge_is_a_reward_and_a_failed_verdict_leaves_its_sample_unscored(tmp_path):
    ok = 'ok:{"helpfulness": 1, "correctness": 0.5, "policy": 1, "tone": 1, "reasoning": "Asked what was missing."}'
    with FakeLLMServer([ok, 500, ok, ok]) as srv:
        cfg = GRPOConfig(output_dir=str(tmp_path / "out"), store=str(tmp_path / "store"), version="judged",
                          judge="openai/fake-judge", judge_args={"api_base": srv.api_base, "api_key": "x", "max_retries": 0,
                                                                 "cache": False},
                          rewards={"rule": 0.0, "judge": 1.0}, max_steps=1, group_size=2, tasks_per_step=2, max_turns=1,
                          max_new_tokens=8, max_dialogues=2, save_steps=10)
        logs = []
        res = train(cfg, progress=False, on_log=logs.append)
    assert res["judge_unscored"] == 1 and res["steps"] == 1 and res["finite"]
    row = next(r for r in logs if "rewards/judge/mean" in r)
    assert row["rewards/judge/mean"] == pytest.approx(0.875)  # the three scored samples; the failed one is not a 0
    with ExperienceStore(tmp_path / "store") as s:
        eps = s.episodes(run="judged")
        verdicts = s.verdicts()
        calls = s.llm_calls(episode_ids=eps["id"], role="judge")
    assert len(eps) == 4 and len(verdicts) == 4 and len(calls) == 4
    assert (verdicts["reasoning"] == "Asked what was missing.").sum() == 3 and verdicts["score"].isna().sum() == 1
    assert calls["error"].notna().sum() == 1
