"""Real training on CPU, tiny settings: SFT from the CLI, GRPO from the Python API starting at the
SFT version, the checkpoint reloaded and played, versions and episodes in the store."""
import importlib.util
import json
import math

import pytest

# skipped without importing TRL (and torch) at collection time: the fast tier never pays for them
pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="needs the train extra")]


from agentgym.cli import main  # noqa: E402
from agentgym.store import ExperienceStore  # noqa: E402
from agentgym.train import GRPOConfig, LiveCurve, SFTConfig, checkpoint_path, load_version, train  # noqa: E402

AGENT = "smollm2-policy"


def shorter(prompts, completions, **kwargs):
    """A user-supplied TRL reward: prefer short episodes (guarantees a non-zero advantage)."""
    return [-len(str(c)) / 1000 for c in completions]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    store = str(root / "store")
    cfg = root / "sft.json"
    cfg.write_text(json.dumps({"output_dir": str(root / "sft"), "store": store, "max_steps": 2, "batch_size": 1,
                               "max_length": 640, "max_dialogues": 4, "save_steps": 1, "learning_rate": 3e-4}))
    sft_out = root / "sft-metrics.json"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["train", "sft", "--config", str(cfg), "--set", "version=sft", "--json", "--quiet"]) == 0
    sft = json.loads(buf.getvalue().strip().splitlines()[-1])
    sft_out.write_text(json.dumps(sft))
    curve = LiveCurve()
    grpo = train(GRPOConfig(output_dir=str(root / "grpo"), store=store, from_version="sft", version="grpo",
                             max_steps=1, group_size=2, max_turns=2, max_new_tokens=24, max_length=640, max_dialogues=2,
                             save_steps=1, learning_rate=1e-4), progress=False, on_log=curve, reward_funcs=[shorter])
    return {"root": root, "store": store, "sft": sft, "grpo": grpo, "curve": curve}


def test_sft_trains_and_registers_every_checkpoint(runs):
    sft = runs["sft"]
    assert sft["finite"] and math.isfinite(sft["first_loss"]) and sft["steps"] == 2
    assert sft["weights_changed"]
    with ExperienceStore(runs["store"]) as store:
        versions = store.agent_versions().set_index("version")
    assert {"sft-step1", "sft-step2", "sft"} <= set(versions.index)
    assert versions.loc["sft", "parent_id"] == versions.loc["sft-step2", "id"]
    assert versions.loc["sft", "config"]["data"]["examples"] == 4


def test_grpo_trains_from_the_sft_version_with_component_logs(runs):
    grpo = runs["grpo"]
    assert grpo["finite"] and grpo["steps"] == 1 and grpo["weights_changed"]
    with ExperienceStore(runs["store"]) as store:
        versions = store.agent_versions().set_index("version")
    chain = versions.loc["grpo-step1", "parent_id"]
    assert chain == versions.loc["sft", "id"]
    assert versions.loc["grpo", "config"]["data"]["reward_funcs"] == ["shorter"]
    logged = runs["curve"].frame
    for col in ("reward", "rewards/env_reward/mean", "rewards/success/mean", "rewards/valid_tool_calls/mean",
                "rewards/shorter/mean"):
        assert col in logged and logged[col].notna().any(), col
    assert runs["curve"].figure().data  # the notebook curve has something to draw


def test_checkpoint_reloads_and_plays_an_episode_recorded_under_its_version(runs, capsys):
    assert (checkpoint_path(runs["store"], AGENT, "grpo") / "model.safetensors").exists()
    assert main(["eval", "--store", runs["store"], "--version", "grpo", "--tasks", "1", "--max-turns", "2",
                 "--json", "--quiet"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["episodes"] == 1 and 0.0 <= metrics["mean_reward"] <= 1.5
    with ExperienceStore(runs["store"]) as store:
        eps = store.episodes(agent=AGENT, version="grpo")
        scores = store.version_scores().set_index("version")
    assert len(eps) == 1 and eps.iloc[0]["status"] in ("terminated", "truncated") and eps.iloc[0]["n_steps"] >= 1
    assert scores.loc["grpo", "episodes"] == 1
    # going back to the SFT weights is one call, and they differ from GRPO's
    old = load_version(runs["store"], AGENT, "sft", max_new_tokens=8)
    new = load_version(runs["store"], AGENT, "grpo", max_new_tokens=8)
    name, p_old = next(iter(old.model.named_parameters()))
    assert not p_old.equal(dict(new.model.named_parameters())[name])


def test_reward_funcs_are_refused_for_sft():
    with pytest.raises(ValueError, match="GRPO rewards"):
        train(SFTConfig(), reward_funcs=[shorter])


def test_cli_set_needs_key_value(capsys):
    assert main(["train", "sft", "--set", "max_steps"]) == 2
    assert "key=value" in capsys.readouterr().err
