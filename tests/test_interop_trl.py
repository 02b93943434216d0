"""TRL's `GRPOTrainer(environment_factory=...)` on agentgym envs: the adapter plays what the env plays, and stock
GRPO steps run on CPU with a tiny tool-calling model built here, their rollouts replaying in-process."""
from __future__ import annotations

import importlib.util
import json

import gymnasium as gym
import pytest

import agentgym  # noqa: F401
from agentgym.actions import parse_action
from agentgym.agents.make import make_agent
from agentgym.runner import play_episode

pytestmark = pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="needs the train extra")

SGD = "agentgym/SGD-v0"


def _replay(env_id: str, episode: dict, **settings) -> dict:
    """The recorded actions, stepped in a fresh in-process env under the same task and seed."""
    env = gym.make(env_id, **settings)
    obs, _ = env.reset(seed=episode["seed"], options={"task_id": episode["task_id"]})
    observations, total, breakdown = [obs], 0.0, None
    for action in episode["actions"]:
        obs, reward, *_, info = env.step(action)
        observations.append(obs)
        total += float(reward)
        breakdown = info["reward_breakdown"]
    env.close()
    return {"observations": observations, "total_reward": total, "reward_breakdown": breakdown}


def _drive(adapter, action) -> None:
    """Play one agentgym action through the adapter's methods, as TRL would call them."""
    parsed = parse_action(action)
    if parsed.kind == "tool_calls":
        assert len(parsed.calls) == 1  # TRL calls each tool on its own; the agents here make one call per action
        for call in parsed.calls:
            getattr(adapter, call.name)(**call.arguments)
    elif parsed.kind == "finish":
        adapter.get_reward()
    else:
        adapter.send_message(action if isinstance(action, str) else json.dumps(action))


@pytest.mark.parametrize("env_id,settings,agent", [(SGD, {}, "scripted"),
                                                    ("agentgym/tau2-airline-v0", {"split": "test"}, "tau2-oracle")])
def test_the_trl_adapter_plays_an_agents_episode_exactly_as_the_env_does(env_id, settings, agent):
    if "tau2" in env_id:
        pytest.importorskip("tau2")
    from agentgym.interop.trl_env import environment_factory, trl_dataset
    factory = environment_factory(env_id, settings)
    rows = trl_dataset(env_id, settings, seeds=[0, 1]).select(range(6))
    env = gym.make(env_id, **settings)
    for row in rows:
        want = play_episode(env, make_agent(agent), seed=row["seed"], task_id=row["task_id"])
        adapter = factory()
        opening = adapter.reset(**row)
        assert opening == want.steps[0]["observation"]
        for step in want.steps[1:]:
            _drive(adapter, step["action"])
        reward = adapter.get_reward()
        assert reward == pytest.approx(want.total_reward)
        assert adapter.episodes[-1]["observations"] == [s["observation"] for s in want.steps]
        assert adapter.episodes[-1]["reward_breakdown"] == pytest.approx(want.reward_breakdown)
    assert {"send_message", "get_reward", "reset"} <= set(dir(factory))
    assert len(factory.tools) >= 10  # every domain tool is a method TRL exposes


def _worst_token_nll(model, ids, labels) -> float:
    """The largest negative log-likelihood among the labelled tokens (the one a sampled call is most likely to break at)."""
    import torch

    logits = model(input_ids=ids).logits[0, :-1]
    target = labels[0, 1:]
    keep = target != -100
    nll = torch.nn.functional.cross_entropy(logits[keep], target[keep], reduction="none")
    return float(nll.max())


def _tiny_tool_model(path, dataset, factory):
    """A 2-layer Qwen2 with Qwen2.5's tool-calling chat template (TRL's copy) and SmolLM2's vocabulary, taught in a
    few seconds to answer the dataset's prompts with a `send_message` tool call: a policy whose rollouts use the
    tools (sampled, they sometimes do not, which gives GRPO's groups reward variance)."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config
    from trl.chat_template_utils import qwen2_5_chat_template

    from agentgym.train.policy import load_tokenizer

    tok = load_tokenizer("smollm2-135m")
    tok.add_special_tokens({"additional_special_tokens": ["<tool_call>", "</tool_call>"]})
    tok.chat_template = qwen2_5_chat_template
    tok.eos_token = "<|im_end|>"
    tok.pad_token = "<|im_end|>"
    config = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16384,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    target = '<tool_call>\n{"name": "send_message", "arguments": {"message": "Hello, how can I help?"}}\n</tool_call><|im_end|>'
    answer = tok(target, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
    rows = []
    for row in dataset:
        env = factory()
        prompt = row["prompt"][:-1] + [{"role": "user", "content": env.reset(**row)}]
        tools = [getattr(env, name) for name in (*factory.tools, "send_message")]
        ids = tok.apply_chat_template(prompt, tools=tools, add_generation_prompt=True, return_tensors="pt",
                                      return_dict=True)["input_ids"][0]
        rows.append((torch.cat([ids, answer])[None], torch.cat([torch.full_like(ids, -100), answer])[None]))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    worst = 1.0
    for step in range(1000):  # until every token of the call is near-sure on every prompt (sampling at T=1 then says it)
        ids, labels = rows[step % len(rows)]
        out = model(input_ids=ids, labels=labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        if step % 25 == 24:
            with torch.no_grad():
                worst = max(_worst_token_nll(model, i, lab) for i, lab in rows)
            if worst < 0.02:
                break
    print(f"tiny tool model taught in {step + 1} steps (worst token NLL {worst:.4f})")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    model.eval()
    return model, tok  # the taught model itself: reloaded from `path` it scores the call far worse (NLL 4.6 vs 0.02)


@pytest.mark.slow
def test_stock_grpo_trainer_trains_on_an_agentgym_env_and_its_rollouts_replay_in_process(tmp_path):
    import os

    import torch
    from trl import GRPOConfig, GRPOTrainer

    from agentgym.interop.trl_env import environment_factory, trl_dataset

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    dataset = trl_dataset(SGD, seeds=[0]).select(range(2))
    factory = environment_factory(SGD, task_ids=dataset["task_id"])  # two tasks' services: short prompts
    model, tok = _tiny_tool_model(tmp_path / "tiny", dataset, factory)
    args = GRPOConfig(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=160, max_tool_calling_iterations=2, learning_rate=1e-4, logging_steps=1,
                      report_to="none", use_cpu=True, bf16=False, save_strategy="no", temperature=1.0, seed=0,
                      dataloader_num_workers=0)
    trainer = GRPOTrainer(model=model, processing_class=tok, args=args, train_dataset=dataset, environment_factory=factory)
    start = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    logged = [h for h in trainer.state.log_history if f"rewards/{factory.__name__}/mean" in h]
    assert len(logged) == 2, trainer.state.log_history  # the env's rubric is the reward, logged under its class
    assert any(h["tools/call_frequency"] > 0 for h in logged)  # the model called the env's tools in its rollouts
    # a group with reward variance moves the weights (GRPO's advantage is zero only when every rollout ties)
    changed = any(not torch.equal(start[n], p.detach()) for n, p in trainer.model.named_parameters())
    assert changed == any(h["reward_std"] > 0 for h in logged), logged
    episodes = [ep for env in trainer._environment_pool[None] for ep in env.episodes if ep["actions"]]
    assert episodes
    assert any(a != "[finish]" for ep in episodes for a in ep["actions"])  # the model did talk through the tools
    for ep in episodes:
        got = _replay(SGD, ep)
        assert got["observations"] == ep["observations"] and got["total_reward"] == pytest.approx(ep["total_reward"])
