"""Recording without effort: a Gymnasium wrapper and a context manager that write every step."""
from __future__ import annotations

from typing import Any

import gymnasium as gym

from agentgym.store.store import ExperienceStore


def _services(info: dict[str, Any]) -> list[str]:
    return sorted({m["service"] for m in (info.get("tool_meta") or {}).values() if "service" in m})


class RecordEpisodes(gym.Wrapper):
    """Writes every episode to an ExperienceStore.

    `flush="step"` (the default, what a person stepping by hand wants): the row at reset, each step
    as it is taken (its own transaction), the outcome and transcript when it ends — a killed process
    loses at most the step in flight. `flush="episode"` (evaluations, comparisons, training rollouts):
    the episode is kept in memory and written whole in one transaction when it ends (or is abandoned
    by a reset or close) — a killed process loses the episode in flight, never part of one, and
    recording costs one transaction per episode instead of one per step. With `batch=N` (flush="episode"),
    N finished episodes share a transaction: a killed process loses at most the N−1 finished episodes
    not yet written plus the one in flight; `close()` writes what is pending.

        env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store, agent_version_id=vid)
    """

    def __init__(self, env: gym.Env, store: ExperienceStore, *, agent_version_id: int | None = None,
                 user_config: Any = None, judge_config: Any = None, meta: Any = None, flush: str = "step",
                 batch: int = 1) -> None:
        super().__init__(env)
        if not isinstance(batch, int) or batch < 1 or (batch > 1 and flush != "episode"):
            raise ValueError(f"batch must be a whole number of at least 1, and more than 1 only with flush='episode'; got {batch!r}.")
        self.batch = batch
        self.written_ids: list[str] = []  # flush="episode": ids of the episodes written so far, in play order
        self._pending: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], list[dict[str, Any]]]] = []
        if flush not in ("step", "episode"):
            raise ValueError(f"flush must be 'step' (write each step at once) or 'episode' (one transaction per episode), "
                             f"got {flush!r}.")
        self.store = store
        self.agent_version_id = agent_version_id
        self.user_config = user_config
        self.judge_config = judge_config
        self.meta = meta
        self.flush = flush
        self.episode_id: str | None = None  # flush="step": the stored id; flush="episode": set once written
        self._open = False
        self._start: dict[str, Any] = {}
        self._steps: list[dict[str, Any]] = []
        self._verdicts: list[dict[str, Any]] = []
        self._idx = 0
        self._total = 0.0

    def _end(self, **finish: Any) -> None:
        if not self._open:
            return
        self._open = False
        if self.flush == "episode":
            self._pending.append((self._start, self._steps, finish, self._verdicts))
            self._steps, self._verdicts = [], []
            if len(self._pending) >= self.batch:
                self.flush_pending()
        else:
            assert self.episode_id is not None
            self.store.finish_episode(self.episode_id, **finish)

    def flush_pending(self) -> None:
        """Write the finished episodes still held (batch > 1); `episode_id` becomes the last one's id."""
        if self._pending:
            ids = self.store.write_episodes(self._pending)
            self._pending = []
            self.written_ids += ids
            self.episode_id = ids[-1]

    def _close_open(self, status: str) -> None:
        self._end(status=status, total_reward=self._total)

    def _step(self, idx: int, **fields: Any) -> None:
        if self.flush == "episode":
            self._steps.append({"idx": idx, **fields})
        else:
            assert self.episode_id is not None
            self.store.add_step(self.episode_id, idx, **fields)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._close_open("abandoned")
        obs, info = self.env.reset(seed=seed, options=options)
        base = self.env.unwrapped
        user = getattr(base, "user", None)
        self._start = dict(
            env_id=self.env.spec.id if self.env.spec else type(base).__name__, task_id=info.get("task_id"),
            agent_version_id=self.agent_version_id, seed=seed, services=_services(info),
            user_config=self.user_config if self.user_config is not None else {"name": getattr(user, "name", None)},
            judge_config=self.judge_config, tools=info.get("tools"), policy=info.get("policy"), meta=self.meta)
        self.episode_id = self.store.start_episode(**self._start) if self.flush == "step" else None
        self._open = True
        self._step(0, observation=obs, user_acts=info.get("user_acts"), reward_breakdown=info.get("reward_breakdown"),
                   context={"user_fallback": info["user_fallback"]} if info.get("user_fallback") else None)
        self._idx, self._total = 1, 0.0
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, raw_reward, terminated, truncated, info = self.env.step(action)
        reward = float(raw_reward)
        if not self._open:
            return obs, reward, terminated, truncated, info
        self._total += reward
        self._step(
            self._idx, action=action, action_format=info.get("action_format"),
            tool_calls=info.get("tool_calls") or None, observation=obs, tool_results=info.get("tool_results") or None,
            user_acts=info.get("user_acts") or None, reward=reward, reward_breakdown=info.get("reward_breakdown"),
            judge_verdict=info.get("judge_verdict"), error=info.get("error"),
            context={"user_fallback": info["user_fallback"]} if info.get("user_fallback") else None)
        verdict = info.get("judge_verdict")
        if verdict:  # also in the verdicts table, where the judge inspector and agreement stats read
            per_step = getattr(self.env.unwrapped, "judge_mode", "episode") == "step"
            row = dict(judge=str(verdict.get("judge", "judge")), score=verdict.get("score"),
                       step_idx=self._idx if per_step else None, criteria=verdict.get("criteria"),
                       reasoning=verdict.get("reasoning") or verdict.get("error") or "", prompt=verdict.get("prompt"))
            if self.flush == "episode":
                self._verdicts.append(row)
            else:
                assert self.episode_id is not None
                self.store.add_verdict(self.episode_id, row.pop("judge"), row.pop("score"), **row)
        self._idx += 1
        if terminated or truncated:
            breakdown = info.get("reward_breakdown") or {}
            self._end(status="terminated" if terminated else "truncated", reward_breakdown=breakdown,
                      total_reward=self._total, success=bool(breakdown.get("success", 0.0) >= 1.0) if breakdown else None,
                      cost=info.get("cost"), messages=list(getattr(self.env.unwrapped, "history", []) or []),
                      llm_calls=list(getattr(getattr(self.env.unwrapped, "ledger", None), "calls", ()) or ()))
            if self.flush == "step":
                self.episode_id = None
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self._close_open("abandoned")
        self.flush_pending()
        super().close()


class EpisodeRecorder:
    """For agents run outside the env: `with store_recording(store, "support-bot") as rec: rec.step(...)`."""

    def __init__(self, store: ExperienceStore, env_id: str = "external", task_id: str | None = None, *,
                 agent_version_id: int | None = None, meta: Any = None) -> None:
        self.store = store
        self.args = dict(env_id=env_id, task_id=task_id, agent_version_id=agent_version_id, meta=meta)
        self.episode_id: str | None = None
        self.messages: list[dict[str, Any]] = []
        self._idx = 0
        self.total_reward = 0.0
        self.outcome: dict[str, Any] = {}

    def __enter__(self) -> EpisodeRecorder:
        self.episode_id = self.store.start_episode(**self.args)
        return self

    def step(self, observation: str | None = None, action: Any = None, *, reward: float | None = None,
             context: Any = None, **fields: Any) -> int:
        """Record one step (what the agent saw, what it did); returns its index."""
        assert self.episode_id is not None, "use EpisodeRecorder as a context manager"
        if observation is not None:
            self.messages.append({"role": "user", "content": observation})
        if action is not None:
            self.messages.append({"role": "assistant", "content": action if isinstance(action, str) else str(action)})
        self.store.add_step(self.episode_id, self._idx, observation=observation, action=action, reward=reward,
                            context=context, **fields)
        self.total_reward += reward or 0.0
        self._idx += 1
        return self._idx - 1

    def finish(self, *, success: bool | None = None, reward_breakdown: dict[str, float] | None = None) -> None:
        self.outcome = {"success": success, "reward_breakdown": reward_breakdown}

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.episode_id is not None
        status = "error" if exc_type else "terminated"
        self.store.finish_episode(self.episode_id, status=status, total_reward=self.total_reward,
                                  messages=self.messages, **{k: v for k, v in self.outcome.items() if v is not None})
