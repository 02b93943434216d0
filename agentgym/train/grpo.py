"""Multi-turn GRPO with TRL: each completion is a whole episode in the configured env (simulated
user, tools, rubric, judge). A step plays `tasks_per_step` tasks x `group_size` episodes; the
env's tokens are masked out of the loss (`env_mask`); the reward is the configured mix of the
rubric and the judge. Every rollout and evaluation episode is written to the store with its run,
phase and step, so what the policy did at step 40, and the judge's reasoning about it, can be read."""
from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable
from typing import Any

from agentgym.runner import episode_seed
from agentgym.train.config import GRPOConfig
from agentgym.train.rollout import Episode, Rollouts, episode_reward, logged_components

TASK_PREFIX = "task:"
# training rollouts and held-out evaluations draw `episode_seed`s from their own bases (times cfg.seed)
TRAIN_STREAM, EVAL_STREAM = 100_003, 7_919


def rollout_columns(episodes: list[Episode], weights: dict[str, float], logs: tuple[str, ...]) -> dict[str, list[Any]]:
    """What TRL takes from a rollout_func: tokens, masks, log-probs, and the reward fields its
    reward functions read. A sample the judge could not score has None everywhere (TRL leaves it
    out of its group's baseline and gives it no advantage)."""
    out: dict[str, list[Any]] = {k: [] for k in ("prompt_ids", "completion_ids", "logprobs", "env_mask", "env_reward",
                                                  "judge_unscored", "agent_turns", "services", "task_id", *logs)}
    for e in episodes:
        out["prompt_ids"].append(e.prompt_ids)
        out["completion_ids"].append(e.completion_ids)
        out["logprobs"].append(e.logprobs)
        out["env_mask"].append(e.env_mask)
        out["agent_turns"].append(e.agent_turns)
        out["services"].append(e.services)
        out["task_id"].append(e.task_id)
        reward = episode_reward(e.breakdown, weights)
        out["env_reward"].append(reward)
        out["judge_unscored"].append(float("judge" in e.breakdown and e.breakdown.get("judge") is None))
        for k in logs:
            value = e.breakdown.get("total" if k == "rule_total" else k)
            out[k].append(None if reward is None or value is None else float(value))
    return out


def _logs(cfg: GRPOConfig) -> tuple[str, ...]:
    """The reward fields logged for the configured env: its own rubric's criteria."""
    from agentgym.domain import domain_of

    return logged_components(domain_of(cfg.env_id).get_rubric())


def make_rollout(cfg: GRPOConfig, rollouts: Rollouts, stats: dict[str, Any]) -> Callable[..., dict[str, list[Any]]]:
    """A TRL rollout_func: every prompt names a task; TRL's sampler repeats each `group_size` times,
    so a call holds `tasks_per_step` groups, played together."""

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        model = trainer.model
        starts = []
        for prompt in prompts:
            text = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
            stats["calls"] += 1
            starts.append((text.split(TASK_PREFIX, 1)[1].strip(), episode_seed(TRAIN_STREAM * cfg.seed, stats["calls"])))
        was_training = model.training
        model.eval()
        episodes = rollouts.play(model, starts, step=trainer.state.global_step + 1, phase="train")
        model.train(was_training)
        out = rollout_columns(episodes, cfg.rewards, _logs(cfg))
        stats["judge_unscored"] += int(sum(out.pop("judge_unscored")))
        return out

    return rollout_func


def env_reward(prompts: list[Any], completions: list[Any], env_reward: list[float | None], **kwargs: Any) -> list[float | None]:
    """TRL reward function: the episode reward the rollout computed (the configured mix).

    Your own reward functions get the same keyword arguments: `env_reward`, each component,
    `agent_turns` (the agent's messages and calls, per episode), `services` and `task_id`."""
    return list(env_reward)


def _component_reward(name: str) -> Callable[..., list[float | None]]:
    """A zero-weight reward function per component, so TRL logs `rewards/<name>/mean` every step."""
    def component(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float | None]:
        return list(kwargs[name])

    component.__name__ = name
    return component


def split_tasks(cfg: GRPOConfig, task_ids: list[str]) -> tuple[list[str], list[str]]:
    """Training tasks (the first `max_dialogues`) and held-out evaluation tasks (the next `eval_tasks`)."""
    n_train = cfg.max_dialogues or len(task_ids)
    if cfg.max_dialogues is None and cfg.eval_tasks:
        n_train = len(task_ids) - cfg.eval_tasks
    train_ids, eval_ids = task_ids[:n_train], task_ids[n_train:n_train + cfg.eval_tasks]
    if not train_ids:
        raise ValueError("No tasks to train on: check the env's tasks (data_dir, split, env_kwargs) and max_dialogues.")
    if len(eval_ids) < cfg.eval_tasks:
        raise ValueError(f"eval_tasks={cfg.eval_tasks} held-out tasks were asked for but the env has only {len(task_ids)} tasks "
                         f"and {len(train_ids)} train: lower max_dialogues or eval_tasks.")
    return train_ids, eval_ids


def score_episodes(episodes: list[Episode], cfg: GRPOConfig, extra: list[Callable[..., list[Any]]] = ()) -> list[float | None]:
    """Each episode's training reward, as GRPO computes it: the configured mix plus every extra reward
    function (weight 1); None where the judge could not score it."""
    cols = rollout_columns(episodes, cfg.rewards, _logs(cfg))
    cols.pop("judge_unscored")
    rewards = list(cols["env_reward"])
    for f in extra:
        values = f([None] * len(episodes), [None] * len(episodes), **cols)
        rewards = [None if r is None else r + float(v or 0.0) for r, v in zip(rewards, values, strict=True)]
    return rewards


def evaluate(cfg: GRPOConfig, rollouts: Rollouts, model: Any, task_ids: list[str], *, step: int,
             extra: list[Callable[..., list[Any]]] = ()) -> dict[str, Any]:
    """Mean reward (as `score_episodes`) and success on `task_ids` x `eval_samples` seeded episodes,
    with a 95% interval over tasks (t) and the per-task means. The sampling seed is fixed, so two
    evaluations differ only by the policy."""
    import torch

    starts = [(t, episode_seed(EVAL_STREAM * cfg.seed, i, k, cfg.eval_samples)) for i, t in enumerate(task_ids)
              for k in range(cfg.eval_samples)]
    was_training = model.training
    model.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        episodes = rollouts.play(model, starts, step=step, phase="eval")
    model.train(was_training)
    per_task: dict[str, list[float]] = {}
    success: list[float] = []
    for e, r in zip(episodes, score_episodes(episodes, cfg, extra), strict=True):
        if r is not None:
            per_task.setdefault(e.task_id, []).append(r)
        success.append(float(e.breakdown.get("success") or 0.0))
    means = [statistics.fmean(v) for v in per_task.values()]
    mean = statistics.fmean(means) if means else float("nan")
    half = _t95(len(means)) * statistics.stdev(means) / math.sqrt(len(means)) if len(means) > 1 else float("nan")
    return {"step": step, "eval_reward": mean, "eval_ci_low": mean - half, "eval_ci_high": mean + half,
            "eval_success": statistics.fmean(success) if success else float("nan"), "eval_episodes": len(episodes),
            "eval_unscored": len(episodes) - sum(map(len, per_task.values())),
            "per_task": {t: statistics.fmean(v) for t, v in per_task.items()}}


def _t95(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def eval_callback(cfg: GRPOConfig, rollouts: Rollouts, eval_ids: list[str], results: list[dict[str, Any]],
                  on_log: Callable[[dict[str, Any]], None] | None, extra: list[Callable[..., list[Any]]] = ()) -> Any:
    """Held-out evaluation before training, every `eval_every` steps and at the end."""
    from transformers import TrainerCallback

    def run(model: Any, step: int) -> None:
        if any(r["step"] == step for r in results):
            return
        row = evaluate(cfg, rollouts, model, eval_ids, step=step, extra=extra)
        results.append(row)
        if on_log:
            on_log({k: v for k, v in row.items() if k != "per_task"})

    class Evaluate(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            run(model, 0)

        def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            if cfg.eval_every and state.global_step % cfg.eval_every == 0:
                run(model, state.global_step)

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
            run(model, state.global_step)

    return Evaluate()


def rollout_guard(stats: dict[str, Any], unsloth: bool) -> Any:
    """Fails the run after its first step if the trainer never called our rollout_func (unsloth#3573:
    Unsloth's GRPOTrainer once ignored it and trained on single-turn text instead of episodes)."""
    from transformers import TrainerCallback

    class Guard(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if stats["calls"] == 0:
                who = "Unsloth's GRPOTrainer" if unsloth else "The GRPO trainer"
                raise RuntimeError(f"{who} did not call agentgym's rollout_func, so it trained on text that never met the "
                                   "env. Set use_unsloth=false (plain TRL), or update unsloth.")

    return Guard()


def run_grpo(cfg: GRPOConfig, *, progress: bool = True, on_log: Callable[[dict[str, Any]], None] | None = None,
             reward_funcs: list[Callable[..., list[float]]] | None = None) -> dict[str, Any]:
    """Train with GRPOTrainer on whole episodes of the configured env; save and register like SFT.

    `reward_funcs`: your own TRL reward functions (`f(prompts, completions, **kwargs) -> list[float]`,
    kwargs include `env_reward` and every component), each added with weight 1 to the env reward."""
    from agentgym.store import ExperienceStore
    from agentgym.train.common import finish_training, import_trainers, start_run

    cfg.validate()
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is experimental in TRL; rollout_guard watches it
    env = cfg.make_env()  # unknown env ids and kwargs are refused here, before any model is loaded
    train_ids, eval_ids = split_tasks(cfg, list(env.task_ids))
    env.close()
    TRLConfig, GRPOTrainer = import_trainers(cfg, "grpo")
    from datasets import Dataset

    store = ExperienceStore(cfg.store, create=True)
    extra = list(reward_funcs or [])
    env_id, env_kwargs = cfg.env_spec()
    data_info: dict[str, Any] = {"env": env_id, "env_kwargs": {k: str(v) for k, v in env_kwargs.items()},
                                 "tasks": len(train_ids), "eval_tasks": eval_ids}
    if extra:
        data_info["reward_funcs"] = [getattr(f, "__name__", repr(f)) for f in extra]
    run = start_run(cfg, store, data_info, on_log)
    run_name = cfg.version or f"grpo-{run.started}"
    rollouts = Rollouts(cfg.make_env, run.fmt, max_turns=cfg.max_turns, max_new_tokens=cfg.max_new_tokens,
                        temperature=cfg.temperature, store=store if cfg.record_rollouts else None, run=run_name)
    stats = {"calls": 0, "judge_unscored": 0}
    evals: list[dict[str, Any]] = []
    callbacks = [*run.callbacks, rollout_guard(stats, run.unsloth)]
    if eval_ids:
        callbacks.append(eval_callback(cfg, rollouts, eval_ids, evals, on_log, extra))
    logged = [k for k in _logs(cfg) if k != "judge" or cfg.judge is not None]
    dataset = Dataset.from_list([{"prompt": [{"role": "user", "content": f"{TASK_PREFIX}{t}"}]} for t in train_ids])
    args = TRLConfig(
        num_generations=cfg.group_size, per_device_train_batch_size=cfg.group_size * cfg.tasks_per_step, beta=0.0,
        max_completion_length=cfg.max_length, temperature=cfg.temperature,
        reward_weights=[1.0] + [0.0] * len(logged) + [1.0] * len(extra), **run.trainer_args(progress))
    trainer = GRPOTrainer(model=run.model, reward_funcs=[env_reward, *map(_component_reward, logged), *extra],
                          args=args, train_dataset=dataset, processing_class=run.tok, peft_config=run.peft_config,
                          rollout_func=make_rollout(cfg, rollouts, stats), callbacks=callbacks)
    try:
        result = trainer.train()
    finally:
        rollouts.close()
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    return finish_training(trainer, result, run, rewards=rewards, evals=evals, run_name=run_name,
                           judge_unscored=stats["judge_unscored"], episodes=stats["calls"])
