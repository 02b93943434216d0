"""Model versions in the experience store: find a checkpoint, load it back as an agent, and score
it on held-out tasks (the episodes are recorded under that version)."""
from __future__ import annotations

from typing import Any

from agentgym.store import ExperienceStore, as_store


def load_version(store: ExperienceStore | str, agent: str, version: str, **agent_kwargs: Any) -> Any:
    """An HFAgent playing the saved weights of `agent`/`version`: rolling back is this one call."""
    from agentgym.train.agent import HFAgent

    return HFAgent.from_version(store, agent, version, **agent_kwargs)


def register_base(store: ExperienceStore | str, agent: str = "smollm2-policy", model: str = "smollm2-135m",
                  version: str = "base") -> int:
    """Register the untrained policy as a version, so it can be evaluated and trained from like any other."""
    from agentgym.train.policy import resolve_policy

    return as_store(store, create=True).register_agent(agent, version, {"path": str(resolve_policy(model)), "model": model},
                                       notes="untrained starting point")


def evaluate_version(store: ExperienceStore | str, agent: str, version: str, *, env_id: str = "agentgym/SGD-v0",
                     data_dir: str | None = None, split: str | None = "dev", tasks: int = 20, max_turns: int = 12,
                     seed: int = 0, progress: bool = True, agent_obj: Any = None) -> dict[str, Any]:
    """Play the version on the first `tasks` tasks of a held-out split of `env_id` (any domain's id; its
    `Domain` turns split, data_dir and max_turns into the env's arguments), record every episode in the
    store under that version, and return success rate, mean reward, turns and the reward's parts."""
    import gymnasium as gym

    from agentgym.domain import domain_of
    from agentgym.registration import register_envs
    from agentgym.runner import episodes_frame, run_episodes, summarize
    from agentgym.store import RecordEpisodes

    if tasks < 1:
        raise ValueError(f"tasks must be at least 1, got {tasks}.")
    st = as_store(store)
    vid = st.version_id(agent, version)
    player = agent_obj or load_version(st, agent, version)
    register_envs()
    kwargs = domain_of(env_id).env_kwargs(env_id, data_dir=data_dir, split=split, max_turns=max_turns)
    env = RecordEpisodes(gym.make(env_id, **kwargs), st, agent_version_id=vid)
    ids = list(env.unwrapped.task_ids)[:tasks]
    eps = run_episodes(env, player, episodes=len(ids), seed=seed, task_ids=ids, progress=progress)
    env.close()
    row = summarize(eps).iloc[0]
    parts = episodes_frame(eps).filter(like="r_").mean().round(4)
    return {"agent": agent, "version": version, "version_id": vid, "env": env_id, "split": f"{data_dir or 'packaged'}:{split or 'default'}",
            "episodes": int(row["episodes"]), "success_rate": float(row["success_rate"]),
            "mean_reward": float(row["mean_reward"]), "mean_turns": float(row["mean_turns"]),
            **{k[2:]: float(v) for k, v in parts.items() if k not in ("r_total", "r_success")}}
