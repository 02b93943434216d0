"""Training input is checked before any compute is spent (no torch needed for these)."""
import json

import pytest

from agentgym.domains.sgd import load_sgd
from agentgym.domains.sgd.demonstrations import sgd_examples
from agentgym.train.config import GRPOConfig, SFTConfig, TrainConfig
from agentgym.train.sft_data import check_examples


def test_defaults_are_valid():
    SFTConfig().validate()
    GRPOConfig().validate()


@pytest.mark.parametrize("overrides,message", [
    ({"model": ""}, "No model given"),
    ({"model": "meta-llama/Llama-3-8B"}, "neither 'smollm2-135m' nor a local model directory"),
    ({"method": "grpo", "rewards": {"rule": 1.0, "vibes": 1.0}}, "Unknown reward name"),
    ({"method": "grpo", "group_size": 1}, "group_size must be at least 2"),
    ({"method": "dpo"}, "method must be one of sft, grpo"),
    ({"max_steps": 0}, "max_steps must be at least 1"),
    ({"method": "grpo", "rewards": {"rule": 1.0, "judge": 0.5}}, "no judge model is set"),
    ({"method": "grpo", "judge_args": {"api_base": "http://x"}}, "judge is None"),
    ({"method": "grpo", "judge": "local", "judge_args": {"api_bsae": "http://x"}}, "Unknown judge_args"),
    ({"method": "grpo", "rubric": {"succes": 1.0}}, "Unknown rubric criterion"),
    ({"method": "grpo", "persona": {"patince": 2}}, "Unknown persona knob"),
    ({"report_to": "wandb"}, "report_to must be"),
    ({"method": "grpo", "judge_mode": "turn"}, "judge_mode must be"),
    ({"method": "grpo", "tasks_per_step": 0}, "tasks_per_step must be at least 1"),
    ({"method": "sft", "group_size": 4}, "'group_size' is a GRPO setting.*method 'sft'.*set method: grpo"),
    ({"method": "grpo", "from_store": True}, "'from_store' is a SFT setting"),
])
def test_bad_configs_say_what_is_wrong(overrides, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        TrainConfig.load(**overrides)


def test_each_method_has_its_own_config_on_a_shared_base():
    from dataclasses import fields

    shared = {f.name for f in fields(TrainConfig)}
    sft, grpo = {f.name for f in fields(SFTConfig)}, {f.name for f in fields(GRPOConfig)}
    assert shared < sft and shared < grpo
    assert "group_size" in grpo - sft and "from_store" in sft - grpo and "model" in shared
    assert type(TrainConfig.load(method="grpo")) is GRPOConfig and type(TrainConfig.load()) is SFTConfig
    with pytest.raises(TypeError, match="build SFTConfig"):
        TrainConfig()
    with pytest.raises(ValueError, match="use GRPOConfig.load"):
        SFTConfig.load(method="grpo")
    cfg = GRPOConfig(group_size=3, rubric={"success": 2.0})
    assert TrainConfig.load(**cfg.to_dict()) == cfg  # to_dict carries the method: it loads back as itself


def test_config_file_with_unknown_keys_is_refused(tmp_path):
    p = tmp_path / "cfg.json"
    p.write_text(json.dumps({"method": "sft", "learning_rat": 1e-4}))
    with pytest.raises(ValueError, match="Unknown config key"):
        TrainConfig.load(p)


def test_empty_dataset_is_refused():
    with pytest.raises(ValueError, match="training set is empty"):
        check_examples([{"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]}])


def test_sgd_dialogues_become_agent_format_examples():
    ex = sgd_examples(load_sgd(split="train"), max_dialogues=5)
    assert len(ex) == 5
    msgs = ex[0]["messages"]
    assert msgs[0]["role"] == "system" and "Tools" in msgs[0]["content"]
    calls = [m for m in msgs if m["role"] == "assistant" and m["content"].startswith('{"name"')]
    results = [m for m in msgs if m["role"] == "user" and m["content"].startswith("tool: ")]
    assert calls and len(results) == len(calls)
    assert any(m["content"].startswith("user: ") for m in msgs if m["role"] == "user")


@pytest.mark.parametrize("overrides,message", [
    ({"max_steps": "ten"}, "max_steps must be int, got 'ten'"),
    ({"lora": 1}, "lora must be bool"),
    ({"rewards": {"rule": "high"}}, "rewards must be dict"),
    ({"learning_rate": None}, "learning_rate must be float"),
])
def test_wrong_types_are_named_before_anything_runs(overrides, message):
    with pytest.raises(ValueError, match=message):
        GRPOConfig(**overrides).validate()


def test_every_field_has_help_text():
    from dataclasses import fields

    assert all(f.metadata.get("help") for c in (SFTConfig, GRPOConfig) for f in fields(c))
    assert "tasks_per_step" in GRPOConfig.help() and "tasks_per_step" not in SFTConfig.help()


def test_the_config_builds_the_training_env_it_describes():
    cfg = GRPOConfig(env_kwargs={"service_domain": "Restaurants"}, persona={"withhold": True}, rubric={"success": 2.0},
                      judge="openai/some-model", judge_args={"api_base": "http://127.0.0.1:9/v1"}, max_turns=5)
    env = cfg.make_env()
    assert all(any(s.startswith("Restaurants") for s in t.services) for t in env.tasks)
    assert env.user.persona.withhold and env.reward_fn.config.weights["success"] == 2.0 and env.max_turns == 5
    assert env.judge.llm.model == "openai/some-model" and env.judge.llm.api_base == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("env_id,kwargs,message", [
    ("agentgym/SGD-v0", {"domian": "Restaurants"}, "does not take \\['domian'\\]; it takes: data_dir"),
    ("agentgym/Nope-v0", {}, "Unknown env_id"),
])
def test_unknown_env_ids_and_kwargs_are_refused_before_any_model_loads(env_id, kwargs, message):
    with pytest.raises(ValueError, match=message):
        GRPOConfig(env_id=env_id, env_kwargs=kwargs).make_env()


def test_the_sft_review_previews_filters_and_drops_before_any_compute():
    from agentgym.train import SFTReview

    review = SFTReview(SFTConfig(max_dialogues=6))
    table = review.table()
    assert len(table) == 6 and {"task_id", "turns", "tool_calls", "kept"} <= set(table.columns)
    assert "[assistant — trained on]" in review.preview(0) and "[system]" in review.preview(0)
    would = review.would_keep(lambda e: e["tool_calls"] >= 2)
    assert would["kept"] + would["dropped"] == 6 and len(review.kept()) == 6  # nothing changed yet
    review.keep_where(lambda e: e["tool_calls"] >= 2).drop(0)
    kept = review.kept()
    assert len(kept) == 6 - len(set(would["dropped_idx"]) | {0})
    assert review.table().loc[0, "why_dropped"] == "dropped by hand"
    with pytest.raises(IndexError, match="has 6"):
        review.preview(6)
    with pytest.raises(ValueError, match="method is 'grpo'"):
        SFTReview(GRPOConfig())


def test_reward_names_are_the_env_s_own_rubric_so_tau2_training_logs_tau2_checks():
    from agentgym.train.grpo import _logs

    tau2 = GRPOConfig(env_id="agentgym/tau2-mock-v0", split="base", rewards={"rule": 1.0, "action": 0.5})
    assert _logs(tau2) == ("success", "db", "env_assertion", "action", "communicate", "rule_total", "judge")
    assert "slot_recall" in _logs(GRPOConfig()) and "db" not in _logs(GRPOConfig())
    with pytest.raises(ValueError, match=r"Unknown reward name\(s\) for agentgym/tau2-mock-v0 \['slot_recall'\].*db, env_assertion"):
        GRPOConfig(env_id="agentgym/tau2-mock-v0", split="base", rewards={"slot_recall": 1.0})
    with pytest.raises(ValueError, match="does not take rubric: tau2's reward is the product"):
        GRPOConfig(env_id="agentgym/tau2-mock-v0", split="base", rubric={"db": 2.0}).env_spec()


def test_rubric_weights_reach_the_sgd_env_over_its_defaults():
    from agentgym.domains.sgd.reward import RUBRIC

    env = GRPOConfig(rubric={"slot_recall": 0.7}).make_env()
    assert env.reward_fn.rubric.weights == {**RUBRIC.weights, "slot_recall": 0.7}
