"""ExperienceStore: agents and versions, episodes, steps, ratings and verdicts in one database.

A SQLite file by default (WAL, so several kernels and processes can write at once; every write
is its own short transaction, so a killed process loses at most the write in flight), or any
SQLAlchemy URL (e.g. `postgresql+psycopg://...`) with the same code. Everything tabular comes
back as a pandas DataFrame. Configs are scrubbed of secrets before they are written.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

import agentgym.store.schema as S
from agentgym.store.scrub import scrub

SCALES: dict[str, tuple[float, float]] = {"thumbs": (0.0, 1.0), "1-5": (1.0, 5.0), "0-1": (0.0, 1.0)}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def _url(location: str | os.PathLike[str]) -> str:
    s = str(location)
    if "://" in s:
        return s
    path = Path(s)
    if path.suffix == "" or path.is_dir():
        path = path / "experience.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def normalize_rating(scale: str, value: float) -> float:
    """A rating on its scale mapped to [0, 1] (thumbs: 0/1, 1-5: (v-1)/4)."""
    lo, hi = SCALES[scale]
    return (value - lo) / (hi - lo)


class ExperienceStore:
    """The experience database of one project (see module docstring)."""

    def __init__(self, location: str | os.PathLike[str] = "agentgym-store", *, echo: bool = False) -> None:
        self.url = _url(location)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._migrate()

    # ---- schema ------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            insp = sa.inspect(conn)
            current = 0
            if insp.has_table("schema_version"):
                current = conn.execute(sa.select(sa.func.max(S.schema_version.c.version))).scalar() or 0
            if current > S.LATEST:
                raise RuntimeError(
                    f"{self.url} has schema version {current}, newer than this agentgym understands ({S.LATEST}); "
                    "upgrade agentgym to open it."
                )
            for version, step in S.MIGRATIONS:
                if version > current:
                    step(conn)
                    conn.execute(S.schema_version.insert().values(version=version, applied_at=now()))

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(S.schema_version.c.version))).scalar() or 0)

    def integrity_check(self) -> str:
        """SQLite's own consistency check ('ok' when the file is sound)."""
        if not self.is_sqlite:
            return "ok"
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ExperienceStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- agents and versions -----------------------------------------------------------
    def register_agent(self, name: str, version: str, config: dict[str, Any] | None = None,
                       parent: int | str | None = None, notes: str = "") -> int:
        """Register (or fetch) an agent version; returns its id. `parent` is an id or a version string."""
        with self.engine.begin() as conn:
            agent_id = conn.execute(sa.select(S.agents.c.id).where(S.agents.c.name == name)).scalar()
            if agent_id is None:
                agent_id = conn.execute(S.agents.insert().values(name=name, created_at=now())).inserted_primary_key[0]
            existing = conn.execute(sa.select(S.agent_versions.c.id).where(
                S.agent_versions.c.agent_id == agent_id, S.agent_versions.c.version == version)).scalar()
            if existing is not None:
                return int(existing)
            parent_id = parent
            if isinstance(parent, str):
                parent_id = conn.execute(sa.select(S.agent_versions.c.id).where(
                    S.agent_versions.c.agent_id == agent_id, S.agent_versions.c.version == parent)).scalar()
                if parent_id is None:
                    raise ValueError(f"Agent '{name}' has no version '{parent}' to be the parent of '{version}'.")
            res = conn.execute(S.agent_versions.insert().values(
                agent_id=agent_id, version=version, config=scrub(config or {}), parent_id=parent_id,
                notes=notes, created_at=now()))
            return int(res.inserted_primary_key[0])

    def agent_versions(self) -> pd.DataFrame:
        q = sa.select(S.agent_versions.c.id, S.agents.c.name.label("agent"), S.agent_versions.c.version,
                      S.agent_versions.c.parent_id, S.agent_versions.c.config, S.agent_versions.c.notes,
                      S.agent_versions.c.created_at).join(S.agents)
        return self._frame(q)

    def version_scores(self, **filters: Any) -> pd.DataFrame:
        """Episodes, success rate, mean reward and cost per agent version (finished episodes only)."""
        eps = self.episodes(**filters)
        eps = eps[eps["status"].isin(["terminated", "truncated"]) & eps["agent_version_id"].notna()]
        cols = ["agent", "version", "episodes", "success_rate", "mean_reward", "mean_steps"]
        if eps.empty:
            return pd.DataFrame(columns=cols)
        eps = eps.assign(success=eps["success"].astype(float))
        out = eps.groupby(["agent", "version"], sort=False).agg(
            episodes=("id", "size"), success_rate=("success", "mean"), mean_reward=("total_reward", "mean"),
            mean_steps=("n_steps", "mean")).reset_index()
        return out[cols]

    def version_id(self, agent: str, version: str) -> int:
        with self.engine.connect() as conn:
            vid = conn.execute(sa.select(S.agent_versions.c.id).join(S.agents).where(
                S.agents.c.name == agent, S.agent_versions.c.version == version)).scalar()
        if vid is None:
            raise KeyError(f"No version '{version}' of agent '{agent}' in {self.url}.")
        return int(vid)

    # ---- episodes and steps ------------------------------------------------------------
    def start_episode(self, env_id: str, task_id: str | None = None, *, agent_version_id: int | None = None,
                      seed: int | None = None, services: Iterable[str] = (), user_config: Any = None,
                      judge_config: Any = None, tools: Any = None, policy: str | None = None, meta: Any = None) -> str:
        episode_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(S.episodes.insert().values(
                id=episode_id, agent_version_id=agent_version_id, env_id=env_id, task_id=task_id, seed=seed,
                services="," + ",".join(services) + "," if services else "", user_config=scrub(user_config),
                judge_config=scrub(judge_config), status="running", n_steps=0, tools=tools, policy=policy,
                meta=scrub(meta), started_at=now()))
        return episode_id

    def add_step(self, episode_id: str, idx: int, *, action: Any = None, action_format: str | None = None,
                 tool_calls: Any = None, observation: str | None = None, tool_results: Any = None,
                 user_acts: Any = None, reward: float | None = None, reward_breakdown: Any = None,
                 judge_verdict: Any = None, error: str | None = None, context: Any = None) -> None:
        if action is not None and not isinstance(action, str):
            action = json.dumps(action, ensure_ascii=False, default=repr)
        with self.engine.begin() as conn:
            conn.execute(S.steps.insert().values(
                episode_id=episode_id, idx=idx, action=action, action_format=action_format, tool_calls=tool_calls,
                observation=observation, tool_results=tool_results, user_acts=user_acts, reward=reward,
                reward_breakdown=reward_breakdown, judge_verdict=judge_verdict, error=error, context=scrub(context),
                created_at=now()))

    def finish_episode(self, episode_id: str, *, status: str = "terminated", reward_breakdown: dict[str, float] | None = None,
                       total_reward: float | None = None, success: bool | None = None, cost: Any = None,
                       messages: Any = None) -> None:
        values: dict[str, Any] = {"status": status, "ended_at": now()}
        for k, v in (("reward_breakdown", reward_breakdown), ("total_reward", total_reward), ("success", success),
                     ("cost", cost), ("messages", messages)):
            if v is not None:
                values[k] = v
        values["n_steps"] = sa.select(sa.func.count()).where(S.steps.c.episode_id == episode_id).scalar_subquery()
        with self.engine.begin() as conn:
            conn.execute(S.episodes.update().where(S.episodes.c.id == episode_id).values(**values))

    def execute_with_feedback(self, agent: Callable[..., Any], input: Any, context: Any = None, *,
                              agent_version_id: int | None = None, env_id: str = "external", task_id: str | None = None) -> tuple[Any, str]:
        """Run an external agent once and record input, context and output; returns (output, episode_id).

        Rate the output later with `rate(episode_id, ...)`. An exception from the agent is recorded
        (status 'error') and raised again.
        """
        episode_id = self.start_episode(env_id, task_id, agent_version_id=agent_version_id, meta={"external": True})
        try:
            output = agent(input, context) if context is not None else agent(input)
        except Exception as e:
            self.add_step(episode_id, 0, observation=_text(input), context=context, error=f"{type(e).__name__}: {e}")
            self.finish_episode(episode_id, status="error")
            raise
        self.add_step(episode_id, 0, observation=_text(input), action=output, context=context)
        self.finish_episode(episode_id, status="terminated", messages=[
            {"role": "user", "content": _text(input)}, {"role": "assistant", "content": _text(output)}])
        return output, episode_id

    # ---- feedback ------------------------------------------------------------------------
    def rate(self, episode_id: str, value: float, *, step_idx: int | None = None, rater: str = "anonymous",
             scale: str = "thumbs", tags: Iterable[str] = (), comment: str = "") -> int:
        """Save one human rating of a step (step_idx) or of the whole episode; returns its id once committed."""
        if scale not in SCALES:
            raise ValueError(f"Unknown rating scale '{scale}'; use one of: {', '.join(SCALES)}.")
        lo, hi = SCALES[scale]
        if not lo <= float(value) <= hi:
            raise ValueError(f"A '{scale}' rating must be between {lo:g} and {hi:g}, got {value}.")
        with self.engine.begin() as conn:
            if conn.execute(sa.select(S.episodes.c.id).where(S.episodes.c.id == episode_id)).scalar() is None:
                raise KeyError(f"No episode '{episode_id}' to rate in {self.url}.")
            res = conn.execute(S.ratings.insert().values(
                episode_id=episode_id, step_idx=step_idx, rater=rater, scale=scale, value=float(value),
                tags=list(tags), comment=comment, created_at=now()))
            return int(res.inserted_primary_key[0])

    def add_verdict(self, episode_id: str, judge: str, score: float | None, *, step_idx: int | None = None,
                    criteria: dict[str, Any] | None = None, reasoning: str | None = None, prompt: str | None = None) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(S.verdicts.insert().values(
                episode_id=episode_id, step_idx=step_idx, judge=judge, score=score, criteria=criteria,
                reasoning=reasoning, prompt=prompt, created_at=now()))
            return int(res.inserted_primary_key[0])

    def feedback(self, episode_id: str) -> dict[str, pd.DataFrame]:
        """Everything said about one episode: its ratings and its verdicts."""
        return {"ratings": self.ratings(episode_id=episode_id), "verdicts": self.verdicts(episode_id=episode_id)}

    # ---- queries -----------------------------------------------------------------------
    def _frame(self, query: sa.Select) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def episodes(self, *, agent: str | None = None, version: str | None = None, agent_version_id: int | None = None,
                 task_id: str | None = None, service: str | None = None, env_id: str | None = None,
                 since: str | dt.datetime | None = None, until: str | dt.datetime | None = None,
                 min_reward: float | None = None, max_reward: float | None = None, rated: bool | None = None,
                 status: str | None = None, with_messages: bool = False) -> pd.DataFrame:
        """Episodes as a DataFrame, filtered; one row each, with agent name and version."""
        e, v, a = S.episodes, S.agent_versions, S.agents
        cols = [e.c.id, a.c.name.label("agent"), v.c.version, e.c.agent_version_id, e.c.env_id, e.c.task_id,
                e.c.services, e.c.seed, e.c.status, e.c.n_steps, e.c.total_reward, e.c.success, e.c.reward_breakdown,
                e.c.cost, e.c.user_config, e.c.judge_config, e.c.started_at, e.c.ended_at]
        if with_messages:
            cols += [e.c.messages, e.c.tools, e.c.policy]
        q = sa.select(*cols).select_from(e.outerjoin(v, e.c.agent_version_id == v.c.id).outerjoin(a, v.c.agent_id == a.c.id))
        conds = []
        if agent is not None:
            conds.append(a.c.name == agent)
        if version is not None:
            conds.append(v.c.version == version)
        if agent_version_id is not None:
            conds.append(e.c.agent_version_id == agent_version_id)
        if task_id is not None:
            conds.append(e.c.task_id == task_id)
        if env_id is not None:
            conds.append(e.c.env_id == env_id)
        if service is not None:
            conds.append(e.c.services.like(f"%,{service},%"))
        if since is not None:
            conds.append(e.c.started_at >= _iso(since))
        if until is not None:
            conds.append(e.c.started_at <= _iso(until))
        if min_reward is not None:
            conds.append(e.c.total_reward >= min_reward)
        if max_reward is not None:
            conds.append(e.c.total_reward <= max_reward)
        if status is not None:
            conds.append(e.c.status == status)
        if rated is not None:
            has = sa.exists().where(S.ratings.c.episode_id == e.c.id)
            conds.append(has if rated else ~has)
        if conds:
            q = q.where(*conds)
        df = self._frame(q.order_by(e.c.started_at))
        if not df.empty:
            df["services"] = df["services"].map(lambda s: [x for x in (s or "").split(",") if x])
        return df

    def steps(self, episode_id: str | None = None, *, episode_ids: Iterable[str] | None = None) -> pd.DataFrame:
        q = sa.select(S.steps)
        if episode_id is not None:
            q = q.where(S.steps.c.episode_id == episode_id)
        if episode_ids is not None:
            q = q.where(S.steps.c.episode_id.in_(list(episode_ids)))
        return self._frame(q.order_by(S.steps.c.episode_id, S.steps.c.idx))

    def ratings(self, *, episode_id: str | None = None, rater: str | None = None) -> pd.DataFrame:
        q = sa.select(S.ratings)
        if episode_id is not None:
            q = q.where(S.ratings.c.episode_id == episode_id)
        if rater is not None:
            q = q.where(S.ratings.c.rater == rater)
        df = self._frame(q.order_by(S.ratings.c.id))
        df["normalized"] = [normalize_rating(s, v) for s, v in zip(df["scale"], df["value"], strict=True)] if not df.empty else []
        return df

    def verdicts(self, *, episode_id: str | None = None) -> pd.DataFrame:
        q = sa.select(S.verdicts)
        if episode_id is not None:
            q = q.where(S.verdicts.c.episode_id == episode_id)
        return self._frame(q.order_by(S.verdicts.c.id))


def as_store(store: ExperienceStore | str | os.PathLike[str]) -> ExperienceStore:
    """An open store from a store or a location (folder or SQLAlchemy URL), for APIs that take either."""
    return store if isinstance(store, ExperienceStore) else ExperienceStore(store)


def _iso(t: str | dt.datetime) -> str:
    return t.isoformat() if isinstance(t, dt.datetime) else str(t)


def _text(x: Any) -> str:
    return x if isinstance(x, str) else json.dumps(x, ensure_ascii=False, default=repr)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: concurrent writers wait (busy_timeout) instead of
    # failing with "database is locked" when a read transaction tries to upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
