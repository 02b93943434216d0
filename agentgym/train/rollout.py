"""GRPO's rollouts and evaluations: B tasks x G episodes played together, one batched `generate`
per agent turn, every episode written to the experience store with its run, version and step.

An episode is one token sequence: the prompt, then the agent's tokens (`env_mask` 1, with the
log-probabilities they were sampled with) interleaved with the env's replies as the chat template
writes them (`env_mask` 0: not the policy's to learn)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agentgym.prompt import initial_messages, observation_messages
from agentgym.train.chat import ChatFormat


def logged_components(rubric: Any) -> tuple[str, ...]:
    """What training logs of an env's reward: success, each criterion of its rubric, the rubric's total
    ('rule_total') and the judge (tau2 logs db/env_assertion/action/communicate, SGD its rule criteria)."""
    names = [n for n in rubric.names if n not in ("success", "judge")]
    return ("success", *names, "rule_total", "judge")


def episode_reward(breakdown: dict[str, Any], weights: dict[str, float]) -> float | None:
    """The configured mix of the env's reward: 'rule' is the rubric's total without the judge, 'judge'
    the judge's mean score, others single components. None when the judge has a weight but could not
    score this episode (the sample is then left out of its group, not scored 0)."""
    total = 0.0
    for name, w in weights.items():
        if name == "judge":
            if not w:
                continue
            if breakdown.get("judge") is None:
                return None
            total += w * float(breakdown["judge"])
        else:
            total += w * float(breakdown.get("total" if name == "rule" else name) or 0.0)
    return total


@dataclass
class Episode:
    """One played episode: tokens for the trainer, reward breakdown, the stored id."""

    task_id: str
    seed: int
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    breakdown: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    done: bool = False
    episode_id: str | None = None

    @property
    def agent_turns(self) -> list[str]:
        """What the agent said or called, turn by turn (as the env received it)."""
        return [m["content"] for m in self.messages if m["role"] == "assistant"]

    def add(self, ids: list[int], mask: int, logps: list[float] | None = None) -> None:
        self.completion_ids += ids
        self.env_mask += [mask] * len(ids)
        self.logprobs += logps if logps is not None else [0.0] * len(ids)


class Rollouts:
    """Plays batches of episodes for a policy: one env per concurrent episode, built by `make_env`,
    each wrapped in `RecordEpisodes` when a store is given (meta: run, phase, step, group)."""

    def __init__(self, make_env: Callable[[], Any], fmt: ChatFormat, *, max_turns: int, max_new_tokens: int,
                 temperature: float, store: Any = None, run: str | None = None, agent_version_id: int | None = None) -> None:
        self.make_env, self.fmt = make_env, fmt
        self.max_turns, self.max_new_tokens, self.temperature = max_turns, max_new_tokens, temperature
        self.store, self.run, self.agent_version_id = store, run, agent_version_id
        self.envs: list[Any] = []

    def _env(self, i: int) -> Any:
        while len(self.envs) <= i:
            env = self.make_env()
            if self.store is not None:
                import gymnasium as gym

                from agentgym.store import RecordEpisodes

                if not isinstance(env, gym.Env):
                    raise TypeError("make_env must return a gymnasium.Env")
                env = RecordEpisodes(env, self.store, agent_version_id=self.agent_version_id, flush="episode")
            self.envs.append(env)
        return self.envs[i]

    def play(self, model: Any, starts: list[tuple[str, int]], *, step: int = 0, phase: str = "train",
             greedy: bool = False) -> list[Episode]:
        """Play one episode per (task_id, seed), all turns batched; returns them in order."""
        episodes: list[Episode] = []
        for i, (task_id, seed) in enumerate(starts):
            env = self._env(i)
            if self.store is not None:
                env.meta = {"run": self.run, "phase": phase, "step": step, "group": i}
            obs, info = env.reset(seed=seed, options={"task_id": task_id})
            messages = initial_messages(obs, info)
            services = sorted({m["service"] for m in (info.get("tool_meta") or {}).values() if "service" in m})
            episodes.append(Episode(task_id, seed, self.fmt.prompt_ids(messages), breakdown=info.get("reward_breakdown") or {},
                                    messages=messages, services=services or list(info.get("services") or [])))
        for _ in range(self.max_turns):
            active = [i for i, e in enumerate(episodes) if not e.done]
            if not active:
                break
            turns = self._generate(model, [episodes[i].prompt_ids + episodes[i].completion_ids for i in active], greedy)
            for i, (ids, logps) in zip(active, turns, strict=True):
                self._advance(i, episodes[i], ids, logps)
        if self.store is not None:  # the env truncates at max_turns, so every episode has ended and is held
            for env, e in zip(self.envs, episodes, strict=False):
                env.flush_pending()
                e.episode_id = env.episode_id
        return episodes

    def _advance(self, i: int, e: Episode, ids: list[int], logps: list[float]) -> None:
        fmt = self.fmt
        e.add(ids, 1, logps)
        if not ids or ids[-1] != fmt.end_id:  # cut off: close the turn ourselves, outside the loss
            e.add([fmt.end_id], 0)
        text = fmt.tok.decode([t for t in ids if t != fmt.end_id], skip_special_tokens=True).strip() or "[finish]"
        obs, _, terminated, truncated, info = self.envs[i].step(text)
        e.breakdown = info.get("reward_breakdown") or e.breakdown
        e.messages.append({"role": "assistant", "content": text})
        if terminated or truncated:
            e.done = True
            return
        new = observation_messages(obs)
        e.add(fmt.encode(fmt.between_turns(e.messages, new)), 0)
        e.messages += new

    def _generate(self, model: Any, contexts: list[list[int]], greedy: bool) -> list[tuple[list[int], list[float]]]:
        """One agent turn for every context at once (left-padded); each row cut after its end token,
        with the log-probability of every sampled token."""
        import torch

        fmt = self.fmt
        pad = fmt.tok.pad_token_id if fmt.tok.pad_token_id is not None else fmt.end_id
        width = max(map(len, contexts))
        ids = torch.tensor([[pad] * (width - len(c)) + c for c in contexts], device=model.device)
        att = torch.tensor([[0] * (width - len(c)) + [1] * len(c) for c in contexts], device=model.device)
        sample = {} if greedy else {"do_sample": True, "temperature": self.temperature, "top_k": 0, "top_p": 1.0}
        with torch.no_grad():
            gen = model.generate(ids, attention_mask=att, max_new_tokens=self.max_new_tokens, eos_token_id=fmt.end_id,
                                 pad_token_id=pad, output_scores=not greedy, return_dict_in_generate=True,
                                 **({"do_sample": False, "top_k": None, "top_p": None, "temperature": None} if greedy else sample))
        out = []
        for row in range(len(contexts)):
            new = gen.sequences[row, width:].tolist()
            if fmt.end_id in new:
                new = new[: new.index(fmt.end_id) + 1]
            logps: list[float] = []
            if new and not greedy:
                scores = torch.stack([s[row] for s in gen.scores[: len(new)]]).float()
                logps = torch.log_softmax(scores, -1).gather(1, torch.tensor(new, device=scores.device)[:, None]).squeeze(1).tolist()
            out.append((new, logps or [0.0] * len(new)))
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()
        self.envs = []
