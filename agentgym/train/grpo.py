"""Multi-turn GRPO with TRL: each completion is a whole episode. The policy speaks, the
environment answers (simulated user, tool mocker) until the episode ends; the environment's and
user's tokens are masked out of the loss (`env_mask`), the episode reward is the reward."""
from __future__ import annotations

from typing import Any, Callable

from agentgym.agents.hf_agent import system_prompt
from agentgym.train.config import TrainConfig

TASK_PREFIX = "task:"


def episode_reward(breakdown: dict[str, Any], weights: dict[str, float]) -> float:
    """Mix the env's reward components: 'rule' is the rule-based total, others are components."""
    total = 0.0
    for name, w in weights.items():
        value = breakdown.get("total" if name == "rule" else name)
        total += w * float(value or 0.0)
    return total


def play_tokens(model: Any, tok: Any, env: Any, task_id: str, seed: int, max_turns: int,
                max_new_tokens: int = 64, temperature: float = 1.0) -> dict[str, Any]:
    """One sampled episode as token ids: the prompt, then agent tokens (mask 1) interleaved with
    the observations the env returned (mask 0), with the agent's per-token log-probabilities."""
    import torch

    obs, info = env.reset(seed=seed, options={"task_id": task_id})
    messages = [{"role": "system", "content": system_prompt(info)}, {"role": "user", "content": obs}]
    prompt_ids = list(tok.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"])
    end_id = tok.convert_tokens_to_ids("<|im_end|>")
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
        new = gen.sequences[0][context.shape[1]:].tolist()
        for step, token in enumerate(new):
            logps.append(float(torch.log_softmax(gen.scores[step][0].float(), -1)[token]))
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
        env_ids = tok(f"\n<|im_start|>user\n{obs}<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
        completion += env_ids
        mask += [0] * len(env_ids)
        logps += [0.0] * len(env_ids)
    return {"prompt_ids": prompt_ids, "completion_ids": completion, "env_mask": mask, "logprobs": logps,
            "breakdown": breakdown}


COMPONENT_LOGS = ("success", "valid_tool_calls", "slot_precision", "slot_recall", "requests_told", "efficiency", "rule_total")


def make_rollout(cfg: TrainConfig, env_factory: Any, tok: Any) -> Any:
    """A TRL rollout_func: every prompt names a task. TRL's sampler already repeats each prompt
    `num_generations` times, so one episode is played per prompt entry."""
    counter = {"n": 0}

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        model = trainer.model
        out: dict[str, list[Any]] = {k: [] for k in ("prompt_ids", "completion_ids", "logprobs", "env_mask", "env_reward",
                                                      *COMPONENT_LOGS)}
        env = env_factory()
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
    from transformers import set_seed
    from trl import GRPOConfig, GRPOTrainer

    from agentgym.env import SGDEnv
    from agentgym.store import ExperienceStore
    from agentgym.train.common import device_args, finish_training, lora_config, metric_callback, snapshot, start_run, version_callback

    cfg.validate()
    store = ExperienceStore(cfg.store)
    probe = SGDEnv(data_dir=cfg.data_dir, split=cfg.split)
    tasks = [t.task_id for t in probe.tasks][: cfg.max_dialogues or None]
    if not tasks:
        raise ValueError("No tasks to train on: check data_dir/split/max_dialogues.")
    set_seed(cfg.seed)
    model, tok, parent_id, unsloth = start_run(cfg, store)
    data_info = {"env": f"{cfg.data_dir or 'embedded'}:{cfg.split}", "tasks": len(tasks)}
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": f"{TASK_PREFIX}{t}"}]} for t in tasks])
    before = snapshot(model)
    callback = version_callback(store, cfg, parent_id, data_info)
    extra = list(reward_funcs or [])
    if extra:
        data_info["reward_funcs"] = [getattr(f, "__name__", repr(f)) for f in extra]
    args = GRPOConfig(
        output_dir=cfg.output_dir, max_steps=cfg.max_steps, num_generations=cfg.group_size,
        per_device_train_batch_size=cfg.group_size, learning_rate=cfg.learning_rate, beta=0.0,
        max_completion_length=cfg.max_length, logging_steps=1, save_steps=cfg.save_steps, save_only_model=True,
        gradient_checkpointing=False,  # a 135M model fits; checkpointing only doubles the CPU time
        reward_weights=[1.0] + [0.0] * len(COMPONENT_LOGS) + [1.0] * len(extra), temperature=cfg.temperature,
        report_to=[], seed=cfg.seed, disable_tqdm=not progress, **device_args())
    env_factory = lambda: SGDEnv(data_dir=cfg.data_dir, split=cfg.split, max_turns=cfg.max_turns)  # noqa: E731
    callbacks = [callback] + ([metric_callback(on_log)] if on_log else [])
    trainer = GRPOTrainer(model=model, reward_funcs=[env_reward, *map(_component_reward, COMPONENT_LOGS), *extra], args=args,
                          train_dataset=dataset, processing_class=tok, peft_config=lora_config(cfg, unsloth),
                          rollout_func=make_rollout(cfg, env_factory, tok), callbacks=callbacks)
    result = trainer.train()
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    return finish_training(trainer, result, tok, cfg, store, before, callback, parent_id, data_info,
                           rewards=rewards, unsloth=unsloth)
