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
    """Play, judge and rate the demo episodes into `store`, each part once: a baseline or the trained
    version that already has its episodes is skipped, and only episodes without a demo rating are rated,
    so a seeding that was interrupted (or run twice) finishes what is missing and never duplicates.

    `train_steps` > 0 also trains the packaged policy for that many SFT steps (CPU, ~1 minute) and
    plays the trained version, so the version chart compares a trained model with the baselines.
    With `progress`, each part says what it does and about how long it takes (a few minutes in all)."""
    from agentgym.agents import make_agent
    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.runner import run_episodes
    from agentgym.train.config import SFTConfig

    st = as_store(store, create=True)
    say = _say if progress else (lambda text: None)
    judge_obj = _local_judge() if judge else None
    env = SGDEnv(split="dev", max_turns=12, judge=judge_obj)
    ids = list(env.task_ids)[:tasks]
    played = 0
    for name in BASELINES:
        if _has_episodes(st, name, "baseline", ids):
            continue
        say(f"demo: the {name} baseline plays {len(ids)} dev tasks" + (" (the local judge scores each: ~20 s a task)" if judge else ""))
        vid = st.register_agent(name, "baseline", {"kind": "rule baseline", "name": name})
        rec = RecordEpisodes(env, st, agent_version_id=vid, flush="episode", batch=len(ids))
        played += len(run_episodes(rec, make_agent(name), task_ids=ids, seed=seed, progress=progress))
        rec.flush_pending()
    if train_steps and not _has_episodes(st, SFTConfig.agent_name, "sft-demo", ids):
        say(f"demo: {train_steps} SFT steps of the packaged policy on CPU, then it plays {len(ids)} tasks (~1-2 min)")
        played += _trained_version(st, ids, train_steps, seed, judge_obj, progress)
    rated = set(st.ratings(rater=DEMO_RATER)["episode_id"])
    for row in st.episodes().itertuples():
        if row.success is not None and row.id not in rated:
            st.rate(row.id, float(bool(row.success)), rater=DEMO_RATER, scale="thumbs", comment="the rule reward's success, as a rating")
    return {"seeded": played > 0, "episodes": played, "tasks": ids}


def _say(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)


def _has_episodes(st: ExperienceStore, agent: str, version: str, task_ids: list[str]) -> bool:
    """Whether this version already has a finished episode of every one of the tasks."""
    df = st.episodes(agent=agent, version=version)
    if df.empty:
        return False
    done = df[df["status"].isin(["terminated", "truncated"])]
    return set(task_ids) <= set(done["task_id"])


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
