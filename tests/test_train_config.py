"""Training input is checked before any compute is spent (no torch needed for these)."""
import json

import pytest

from agentgym.data import load_sgd
from agentgym.train.config import TrainConfig
from agentgym.train.sft_data import check_examples, sgd_examples


def test_defaults_are_valid():
    TrainConfig().validate()


@pytest.mark.parametrize("overrides,message", [
    ({"model": ""}, "No model given"),
    ({"model": "meta-llama/Llama-3-8B"}, "neither 'smollm2-135m' nor a local model directory"),
    ({"rewards": {"rule": 1.0, "vibes": 1.0}}, "Unknown reward name"),
    ({"method": "grpo", "group_size": 1}, "group_size must be at least 2"),
    ({"method": "dpo"}, "method must be 'sft' or 'grpo'"),
    ({"max_steps": 0}, "max_steps must be at least 1"),
])
def test_bad_configs_say_what_is_wrong(overrides, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        TrainConfig(**overrides).validate()


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
        TrainConfig(**overrides).validate()
