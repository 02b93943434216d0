"""A store with something to look at: the embedded sample's dev tasks played by the baselines and a
briefly trained policy, judged by the local judge and rated, so an exported workbench page (or a
first `marimo run`) opens on conversations, verdicts and filled charts instead of empty ones.

The ratings come from a rule rater named `demo-rater (rule: success)` — labelled as such in the
store, never passed off as a person's."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from agentgym.store import ExperienceStore, RecordEpisodes, as_store

DEMO_RATER = "demo-rater (rule: success)"
BASELINES = ("scripted", "naive", "noop")


def seed_demo(store: ExperienceStore | str, *, tasks: int = 6, judge: bool = True, train_steps: int = 4,
              seed: int = 0, progress: bool = False) -> dict[str, Any]:
    """Play, judge and rate the demo episodes into `store` (once: a store that has them is left as is).

    `train_steps` > 0 also trains the packaged policy for that many SFT steps (CPU, ~1 minute) and
    plays the trained version, so the version chart compares a trained model with the baselines."""
    from agentgym.agents import make_agent
    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.runner import run_episodes

    st = as_store(store, create=True)
    if not st.ratings(rater=DEMO_RATER).empty:
        return {"seeded": False, "episodes": len(st.episodes())}
    judge_obj = _local_judge() if judge else None
    env = SGDEnv(split="dev", max_turns=12, judge=judge_obj)
    ids = list(env.task_ids)[:tasks]
    played = 0
    for name in BASELINES:
        vid = st.register_agent(name, "baseline", {"kind": "rule baseline", "name": name})
        rec = RecordEpisodes(env, st, agent_version_id=vid, flush="episode", batch=len(ids))
        played += len(run_episodes(rec, make_agent(name), task_ids=ids, seed=seed, progress=progress))
        rec.flush_pending()
    if train_steps:
        played += _trained_version(st, ids, train_steps, seed, judge_obj, progress)
    for row in st.episodes().itertuples():
        if row.success is not None:
            st.rate(row.id, float(bool(row.success)), rater=DEMO_RATER, scale="thumbs", comment="the rule reward's success, as a rating")
    return {"seeded": True, "episodes": played, "tasks": ids}


def _local_judge() -> Any:
    from agentgym.llm.judge import LLMJudge

    return LLMJudge()


def _trained_version(st: ExperienceStore, ids: list[str], steps: int, seed: int, judge: Any, progress: bool) -> int:
    """A few SFT steps on the embedded dialogues, registered and played like any version."""
    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.runner import run_episodes
    from agentgym.train import SFTConfig, load_version, train

    out = Path(tempfile.mkdtemp(prefix="agentgym-demo-"))
    cfg = SFTConfig(output_dir=str(out), store=str(st.path or st.url), max_steps=steps, batch_size=1, max_length=640,
                      max_dialogues=8, save_steps=steps, learning_rate=3e-4, version="sft-demo", seed=seed)
    train(cfg, progress=progress)
    agent = load_version(st, cfg.agent_name, "sft-demo", max_new_tokens=40)
    env = RecordEpisodes(SGDEnv(split="dev", max_turns=4, judge=judge), st,
                         agent_version_id=st.version_id(cfg.agent_name, "sft-demo"), flush="episode", batch=len(ids))
    n = len(run_episodes(env, agent, task_ids=ids, seed=seed, progress=progress))
    env.close()
    return n
