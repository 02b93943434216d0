"""Multi-turn GRPO with TRL: each completion is a whole episode. The policy speaks, the
environment answers (simulated user, tool mocker) until the episode ends; the environment's and
user's tokens are masked out of the loss (`env_mask`), the episode reward is the reward."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentgym.train.agent import initial_messages, observation_messages
from agentgym.train.config import TrainConfig

TASK_PREFIX = "task:"


def episode_reward(breakdown: dict[str, Any], weights: dict[str, float]) -> float:
    """Mix the env's reward components: 'rule' is the rule-based total, others are components."""
    total = 0.0
    for name, w in weights.items():
        value = breakdown.get("total" if name == "rule" else name)
        total += w * float(value or 0.0)
    return total


def turn_end_token(tok: Any) -> str:
    """The token that closes an assistant turn: ChatML's `<|im_end|>`, else the tokenizer's EOS."""
    return "<|im_end|>" if "<|im_end|>" in tok.get_vocab() else tok.eos_token


def env_turn_text(tok: Any, conversation: list[dict[str, str]], observation: str, end_token: str) -> str:
    """The template's text from the end of the agent's turn to the start of its next one (the
    env's reply in between), read off the chat template rather than written for one format."""
    before = tok.apply_chat_template(conversation, tokenize=False)
    after = tok.apply_chat_template(conversation + observation_messages(observation), tokenize=False,
                                    add_generation_prompt=True)
    if not after.startswith(before):
        raise ValueError("The chat template renders earlier turns differently once a turn is added; "
                         "multi-turn rollouts need a template that only appends.")
    return before[before.rfind(end_token) + len(end_token):] + after[len(before):]


def play_tokens(model: Any, tok: Any, env: Any, task_id: str, seed: int, max_turns: int,
                max_new_tokens: int = 64, temperature: float = 1.0) -> dict[str, Any]:
    """One sampled episode as token ids: the prompt, then agent tokens (mask 1) interleaved with
    the observations the env returned (mask 0), with the agent's per-token log-probabilities."""
    import torch

    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    messages = initial_messages(obs, info)
    prompt_ids = list(tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"])
    end_token = turn_end_token(tok)
    end_id = tok.convert_tokens_to_ids(end_token)
    completion: list[int] = []
    mask: list[int] = []
    logps: list[float] = []
    breakdown: dict[str, Any] = info["reward_breakdown"]
    for _ in range(max_turns):
        context = torch.tensor([prompt_ids + completion], device=model.device)
        with torch.no_grad():
            gen = model.generate(context, attention_mask=torch.ones_like(context), do_sample=True, temperature=temperature,
                                 top_k=0, top_p=1.0, max_new_tokens=max_new_tokens, eos_token_id=end_id,
                                 pad_token_id=tok.pad_token_id, output_scores=True, return_dict_in_generate=True)
        new_ids = gen.sequences[0][context.shape[1]:]
        if len(new_ids):  # one log-softmax over all generated positions
            scores = torch.log_softmax(torch.stack(gen.scores)[:, 0].float(), -1)
            logps += scores.gather(1, new_ids[:, None]).squeeze(1).tolist()
        new = new_ids.tolist()
        completion += new
        mask += [1] * len(new)
        if not new or new[-1] != end_id:  # cut off: close the turn ourselves, outside the loss
            completion.append(end_id)
            mask.append(0)
            logps.append(0.0)
        text = tok.decode(new, skip_special_tokens=True).strip() or "[finish]"
        obs, _, terminated, truncated, info = env.step(text)
        breakdown = info["reward_breakdown"]
        if terminated or truncated:
            break
        messages.append({"role": "assistant", "content": text})
        env_ids = tok(env_turn_text(tok, messages, obs, end_token), add_special_tokens=False)["input_ids"]
        messages += observation_messages(obs)
        completion += env_ids
        mask += [0] * len(env_ids)
        logps += [0.0] * len(env_ids)
    return {"prompt_ids": prompt_ids, "completion_ids": completion, "env_mask": mask, "logprobs": logps,
            "breakdown": breakdown}


COMPONENT_LOGS = ("success", "valid_tool_calls", "slot_precision", "slot_recall", "requests_told", "efficiency", "rule_total")


def make_rollout(cfg: TrainConfig, env: Any, tok: Any) -> Any:
    """A TRL rollout_func: every prompt names a task. TRL's sampler already repeats each prompt
    `num_generations` times, so one episode is played per prompt entry."""
    counter = {"n": 0}

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        model = trainer.model
        out: dict[str, list[Any]] = {k: [] for k in ("prompt_ids", "completion_ids", "logprobs", "env_mask", "env_reward",
                                                      *COMPONENT_LOGS)}
        was_training = model.training
        model.eval()
        for prompt in prompts:
            text = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
            task_id = text.split(TASK_PREFIX, 1)[1].strip()
            counter["n"] += 1
            ep = play_tokens(model, tok, env, task_id, cfg.seed * 100_003 + counter["n"], cfg.max_turns,
                             max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature)
            for k in ("prompt_ids", "completion_ids", "logprobs", "env_mask"):
                out[k].append(ep[k])
            out["env_reward"].append(episode_reward(ep["breakdown"], cfg.rewards))
            for k in COMPONENT_LOGS:
                out[k].append(float(ep["breakdown"].get("total" if k == "rule_total" else k, 0.0)))
        model.train(was_training)
        return out

    return rollout_func


def env_reward(prompts: list[Any], completions: list[Any], env_reward: list[float], **kwargs: Any) -> list[float]:
    """TRL reward function: the episode reward the rollout computed (the configured mix)."""
    return list(env_reward)


def _component_reward(name: str) -> Any:
    """A zero-weight reward function per component, so TRL logs `rewards/<name>/mean` every step."""
    def component(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        return list(kwargs[name])

    component.__name__ = name
    return component


def run_grpo(cfg: TrainConfig, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None,
             reward_funcs: list[Callable[..., list[float]]] | None = None) -> dict[str, Any]:
    """Train with GRPOTrainer on whole episodes of the SGD env; save and register like SFT.

    `reward_funcs`: your own TRL reward functions (`f(prompts, completions, **kwargs) -> list[float]`,
    kwargs include `env_reward` and every component), each added with weight 1 to the env reward."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from agentgym.env import SGDEnv
    from agentgym.store import ExperienceStore
    from agentgym.train.common import finish_training, start_run

    cfg.validate()
    store = ExperienceStore(cfg.store, create=True)
    env = SGDEnv(data_dir=cfg.data_dir, split=cfg.split, max_turns=cfg.max_turns)  # reset per episode, built once
    tasks = [t.task_id for t in env.tasks][: cfg.max_dialogues or None]
    if not tasks:
        raise ValueError("No tasks to train on: check data_dir/split/max_dialogues.")
    extra = list(reward_funcs or [])
    data_info: dict[str, Any] = {"env": f"{cfg.data_dir or 'embedded'}:{cfg.split}", "tasks": len(tasks)}
    if extra:
        data_info["reward_funcs"] = [getattr(f, "__name__", repr(f)) for f in extra]
    run = start_run(cfg, store, data_info, on_log)
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": f"{TASK_PREFIX}{t}"}]} for t in tasks])
    args = GRPOConfig(
        num_generations=cfg.group_size, per_device_train_batch_size=cfg.group_size, beta=0.0,
        max_completion_length=cfg.max_length, temperature=cfg.temperature,
        reward_weights=[1.0] + [0.0] * len(COMPONENT_LOGS) + [1.0] * len(extra), **run.trainer_args(progress))
    trainer = GRPOTrainer(model=run.model, reward_funcs=[env_reward, *map(_component_reward, COMPONENT_LOGS), *extra],
                          args=args, train_dataset=dataset, processing_class=run.tok, peft_config=run.peft_config,
                          rollout_func=make_rollout(cfg, env, run.tok), callbacks=run.callbacks)
    result = trainer.train()
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    return finish_training(trainer, result, run, rewards=rewards)
