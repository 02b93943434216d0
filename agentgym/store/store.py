"""ExperienceStore: agents and versions, episodes, steps, ratings and verdicts in one database.

A SQLite file by default (WAL, so several kernels and processes can write at once; every write
is its own short transaction, so a killed process loses at most the write in flight), or any
SQLAlchemy URL (e.g. `postgresql+psycopg://...`) with the same code. Everything tabular comes
back as a pandas DataFrame. Configs are scrubbed of secrets before they are written.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import operator
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

import agentgym.store.schema as S
from agentgym.safeio import check_bool, finite_number, private_dir
from agentgym.scrub import might_hold_secrets, scrub, scrub_text

SCALES: dict[str, tuple[float, float]] = {"thumbs": (0.0, 1.0), "1-5": (1.0, 5.0), "0-1": (0.0, 1.0)}


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


class StoreError(RuntimeError):
    """The store cannot be opened or written, with what to do about it."""


def _locate(location: str | os.PathLike[str], create: bool) -> tuple[str, Path | None, bool]:
    """(SQLAlchemy URL, SQLite file or None, read_only) for a folder, a file or a URL."""
    s = str(location)
    if "://" in s:
        if not s.startswith("sqlite"):
            return s, None, False
        s = sa.engine.make_url(s).database or ""
        if not s or s == ":memory:":
            return f"sqlite:///{s}", None, False
    path = Path(s)
    if path.is_dir() or (path.suffix == "" and not path.exists()):
        path = path / "experience.db"
    if not path.exists():
        if not create:
            raise FileNotFoundError(
                f"No experience store at {location}. Check the path, or ask for a new one: ExperienceStore({str(location)!r}, "
                "create=True); at the command line `agentgym train` and `agentgym compare --store` make one.")
        if path.parent.exists() and not path.parent.is_dir():
            raise FileNotFoundError(f"Cannot make a store in {path.parent}: it is a file, not a folder.")
        private_dir(path.parent)  # 0700: a store folder it makes is its owner's alone
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # 0600 before SQLite opens it: its WAL files inherit the mode
        return f"sqlite:///{path}", path, False
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file; point the store at a folder or a .db file.")
    if path.stat().st_size == 0 and not create:
        raise FileNotFoundError(f"{path} is an empty file, not an experience store; point at a store, or pass create=True "
                                "to make one there.")
    if _writable(path) and _writable(path.parent):
        return f"sqlite:///{path}", path, False
    return _read_only_url(path), path, True


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _read_only_url(path: Path) -> str:
    """A colleague's results: read-only. Without write access to the folder SQLite cannot make the WAL
    index, so the file is opened immutable, which is exact when no WAL is pending (stores checkpoint on close)."""
    wal = path.with_name(path.name + "-wal")
    pending = wal.exists() and wal.stat().st_size > 0
    flag = "immutable=1" if not _writable(path.parent) and not pending else "mode=ro"
    return f"sqlite:///file:{path.resolve()}?{flag}&uri=true"


def normalize_rating(scale: str, value: float) -> float:
    """A rating on its scale mapped to [0, 1] (thumbs: 0/1, 1-5: (v-1)/4)."""
    lo, hi = SCALES[scale]
    return (value - lo) / (hi - lo)


class ExperienceStore:
    """The experience database of one project (see module docstring)."""

    def __init__(self, location: str | os.PathLike[str] = "agentgym-store", *, create: bool = False,
                 read_only: bool = False, echo: bool = False) -> None:
        self.url, self.path, ro = _locate(location, create)
        self.read_only = read_only or ro
        self._insert_sql: dict[str, tuple[str | None, list[str] | None]] = {}
        if read_only and self.path is not None and "?" not in self.url:
            self.url = _read_only_url(self.path)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "json_serializer": _json_scrubbed}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        self.engine = sa.create_engine(self.url, **kwargs)
        event.listen(self.engine, "before_cursor_execute", _scrub_params, retval=True)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_connect_ro if self.read_only else _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        try:
            self._migrate()
        except BaseException:
            self.engine.dispose()
            raise

    @property
    def where(self) -> str:
        """The file, or the URL without its password: what messages name."""
        return str(self.path) if self.path is not None else sa.engine.make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """A write transaction; database failures come out as StoreError saying what to do."""
        if self.read_only:
            raise StoreError(f"{self.where} is open read-only (no write access to it or its folder); copy it to a folder of "
                             "yours to add to it.")
        with self._guard(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        with self._guard(), self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.DBAPIError as e:
            raise StoreError(_explain(self.where, self.is_sqlite, e)) from None

    # ---- schema ------------------------------------------------------------------------
    def _migrate(self) -> None:
        with self._guard(), (self.engine.connect() if self.read_only else self.engine.begin()) as conn:
            insp = sa.inspect(conn)
            current = 0
            if insp.has_table("schema_version"):
                current = conn.execute(sa.select(sa.func.max(S.schema_version.c.version))).scalar() or 0
            if self.read_only and current < S.LATEST:
                raise StoreError(f"{self.where} is read-only and has schema version {current}, older than this agentgym's "
                                 f"({S.LATEST}); copy it to a folder of yours and open the copy to upgrade it.")
            if current > S.LATEST:
                raise StoreError(
                    f"{self.where} has schema version {current}, newer than this agentgym understands ({S.LATEST}); "
                    "upgrade agentgym to open it."
                )
            for version, step in S.MIGRATIONS:
                if version > current:
                    step(conn)
                    conn.execute(S.schema_version.insert().values(version=version, applied_at=now()))

    @property
    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(S.schema_version.c.version))).scalar() or 0)

    def integrity_check(self) -> str:
        """SQLite's own consistency check ('ok' when the file is sound)."""
        if not self.is_sqlite:
            return "ok"
        with self._connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    def close(self) -> None:
        """Fold the WAL into the file (so a copied or shared store is whole) and release connections."""
        if self.is_sqlite and not self.read_only:
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")  # never waits on other processes
            except sa.exc.DBAPIError:
                pass  # another process is writing: its close will checkpoint
        self.engine.dispose()

    def __enter__(self) -> ExperienceStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- agents and versions -----------------------------------------------------------
    def register_agent(self, name: str, version: str, config: dict[str, Any] | None = None,
                       parent: int | str | None = None, notes: str = "") -> int:
        """Register (or fetch) an agent version; returns its id. `parent` is an id or a version string."""
        with self._begin() as conn:
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
                agent_id=agent_id, version=version, config=config or {}, parent_id=parent_id,  # scrubbed by the JSON serializer, as every column is
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
        with self._connect() as conn:
            vid = conn.execute(sa.select(S.agent_versions.c.id).join(S.agents).where(
                S.agents.c.name == agent, S.agent_versions.c.version == version)).scalar()
        if vid is None:
            raise KeyError(f"No version '{version}' of agent '{agent}' in {self.where}.")
        return int(vid)

    # ---- episodes and steps ------------------------------------------------------------
    def start_episode(self, env_id: str, task_id: str | None = None, *, agent_version_id: int | None = None,
                      seed: int | None = None, services: Iterable[str] = (), user_config: Any = None,
                      judge_config: Any = None, tools: Any = None, policy: str | None = None, meta: Any = None) -> str:
        row = _episode_row(env_id, task_id, agent_version_id=agent_version_id, seed=seed, services=services,
                           user_config=user_config, judge_config=judge_config, tools=tools, policy=policy, meta=meta)
        with self._begin() as conn:
            conn.execute(S.episodes.insert().values(**row))
        return row["id"]

    def add_step(self, episode_id: str, idx: int, **fields: Any) -> None:
        """One step (action, action_format, tool_calls, observation, tool_results, user_acts, reward,
        reward_breakdown, judge_verdict, error, context), committed at once."""
        with self._begin() as conn:
            conn.execute(S.steps.insert().values(**_step_row(episode_id, idx, **fields)))
            # an episode still being played (or never finished: a closed tab, a dead kernel) shows its steps
            conn.execute(S.episodes.update().where(S.episodes.c.id == episode_id).values(n_steps=S.episodes.c.n_steps + 1))

    def finish_episode(self, episode_id: str, *, status: str = "terminated", reward_breakdown: dict[str, float] | None = None,
                       total_reward: float | None = None, success: bool | None = None, cost: Any = None,
                       messages: Any = None, llm_calls: Iterable[Any] = ()) -> None:
        """End an episode; `llm_calls` (LLMResults or dicts, e.g. the env's ledger) land with it."""
        values = _finish_values(episode_id, status=status, reward_breakdown=reward_breakdown, total_reward=total_reward,
                                success=success, cost=cost, messages=messages)
        calls = _call_rows(episode_id, llm_calls)
        with self._begin() as conn:
            conn.execute(S.episodes.update().where(S.episodes.c.id == episode_id).values(**values))
            if calls:
                self._bulk_insert(conn, S.llm_calls, calls)

    def write_episode(self, start: dict[str, Any], steps: list[dict[str, Any]], finish: dict[str, Any],
                      verdicts: list[dict[str, Any]] = ()) -> str:
        """A whole episode in one transaction (start_episode's, add_step's, finish_episode's and add_verdict's
        arguments): what batched recording uses. All of it lands, or none of it."""
        return self.write_episodes([(start, steps, finish, verdicts)])[0]

    def write_episodes(self, episodes: list[tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], Any]]) -> list[str]:
        """Several whole episodes in one transaction; their ids. All of them land, or none."""
        ep_rows, step_rows, verdict_rows, call_rows = [], [], [], []
        for start, steps, finish, verdicts in episodes:
            row = _episode_row(**start)
            eid = row["id"]
            finish = dict(finish)
            call_rows += _call_rows(eid, finish.pop("llm_calls", ()))
            done = _finish_values(eid, **finish)
            row.update({k: v for k, v in done.items() if k != "n_steps"}, n_steps=len(steps))  # inserted finished
            ep_rows.append(row)
            step_rows += [_step_row(eid, **st) for st in steps]
            for v in verdicts or ():
                _check_score(v.get("score"))
                verdict_rows.append({"step_idx": None, "criteria": None, "reasoning": None, "prompt": None, **v,
                                     "episode_id": eid, "created_at": now()})
        with self._begin() as conn:
            self._bulk_insert(conn, S.episodes, ep_rows)
            if step_rows:
                self._bulk_insert(conn, S.steps, step_rows)
            if verdict_rows:
                conn.execute(S.verdicts.insert(), verdict_rows)
            if call_rows:
                self._bulk_insert(conn, S.llm_calls, call_rows)
        return [r["id"] for r in ep_rows]

    def execute_with_feedback(self, agent: Callable[..., Any], input: Any, context: Any = None, *,
                              agent_version_id: int | None = None, env_id: str = "external", task_id: str | None = None,
                              meta: dict[str, Any] | None = None) -> tuple[Any, str]:
        """Run an external agent once and record input, context and output; returns (output, episode_id).

        Rate the output later with `rate(episode_id, ...)`. An exception from the agent is recorded
        (status 'error') and raised again.
        """
        episode_id = self.start_episode(env_id, task_id, agent_version_id=agent_version_id, meta={"external": True, **(meta or {})})
        try:
            output = agent(input, context) if context is not None else agent(input)
            if output is not None and not isinstance(output, (str, int, float, bool, list, dict)):
                raise TypeError(f"the agent returned a {type(output).__name__}; return text, a number, a list or a dict "
                                "(what the store can keep as it is), e.g. str(output)")
        except BaseException as e:  # KeyboardInterrupt too: the episode is closed, never left 'running'
            status = "error" if isinstance(e, Exception) else "abandoned"
            self.add_step(episode_id, 0, observation=_text(input), context=context, error=f"{type(e).__name__}: {e}")
            self.finish_episode(episode_id, status=status)
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
        with self._begin() as conn:
            self._check_target(conn, episode_id, step_idx, "rate")
            res = conn.execute(S.ratings.insert().values(
                episode_id=episode_id, step_idx=step_idx, rater=rater, scale=scale, value=float(value),
                tags=list(tags), comment=comment, created_at=now()))
            return int(res.inserted_primary_key[0])

    def retag(self, rating_id: int, *, tags: Iterable[str] = (), comment: str = "") -> None:
        """Change the tags and comment of a saved rating (its value and target stay): a tag picked after
        rating is part of the same judgement, not a second rating."""
        with self._begin() as conn:
            res = conn.execute(S.ratings.update().where(S.ratings.c.id == int(rating_id))
                               .values(tags=list(tags), comment=comment))
            if res.rowcount != 1:
                raise KeyError(f"No rating {rating_id} to retag in {self.where}; rate first (store.rate), then retag its id.")

    def add_verdict(self, episode_id: str, judge: str, score: float | None, *, step_idx: int | None = None,
                    criteria: dict[str, Any] | None = None, reasoning: str | None = None, prompt: str | None = None) -> int:
        """Save a judge's verdict (score on 0-1, or None when the judge could not score) on a step or the episode."""
        _check_score(score)
        with self._begin() as conn:
            self._check_target(conn, episode_id, step_idx, "judge")
            res = conn.execute(S.verdicts.insert().values(
                episode_id=episode_id, step_idx=step_idx, judge=judge, score=score, criteria=criteria,
                reasoning=reasoning, prompt=prompt, created_at=now()))
            return int(res.inserted_primary_key[0])

    def _bulk_insert(self, conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """executemany with the values prepared here (JSON serialized and scrubbed, text scrubbed), skipping
        SQLAlchemy's per-value processing: the hot path of batched recording."""
        sql, names = self._insert_sql.get(table.name, (None, None))
        if sql is None:
            compiled = table.insert().compile(dialect=self.engine.dialect, column_keys=_insert_keys(table))
            names = list(compiled.positiontup) if compiled.positional else None
            sql = str(compiled)
            self._insert_sql[table.name] = (sql, names)
        json_cols = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
        keys = names or _insert_keys(table)
        prepared = _prepare_rows(rows, keys, json_cols)
        if names is not None:
            conn.exec_driver_sql(sql, [tuple(r[k] for k in names) for r in prepared])
        else:
            conn.exec_driver_sql(sql, prepared)

    def _check_target(self, conn: sa.Connection, episode_id: str, step_idx: int | None, what: str) -> None:
        """The episode exists, and the step does when one is named (ratings and verdicts point at real things)."""
        if conn.execute(sa.select(S.episodes.c.id).where(S.episodes.c.id == episode_id)).scalar() is None:
            raise KeyError(f"No episode '{episode_id}' to {what} in {self.where}.")
        if step_idx is None:
            return
        try:
            step_idx = operator.index(step_idx)
        except TypeError:
            raise ValueError(f"step_idx must be a step number (int) or None for the whole episode, got {step_idx!r}.") from None
        idxs = [r[0] for r in conn.execute(sa.select(S.steps.c.idx).where(S.steps.c.episode_id == episode_id))]
        if step_idx not in idxs:
            have = f"steps {min(idxs)}-{max(idxs)}" if idxs else "no steps yet"
            raise ValueError(f"Episode '{episode_id}' has no step {step_idx} to {what} (it has {have}); "
                             "pass step_idx=None to address the whole episode.")

    def feedback(self, episode_id: str) -> dict[str, pd.DataFrame]:
        """Everything said about one episode: its ratings and its verdicts."""
        return {"ratings": self.ratings(episode_id=episode_id), "verdicts": self.verdicts(episode_id=episode_id)}

    # ---- queries -----------------------------------------------------------------------
    def _frame(self, query: sa.Select) -> pd.DataFrame:
        with self._connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def episodes(self, *, agent: str | None = None, version: str | None = None, agent_version_id: int | None = None,
                 task_id: str | None = None, service: str | None = None, env_id: str | None = None,
                 since: str | dt.datetime | dt.date | None = None, until: str | dt.datetime | dt.date | None = None,
                 min_reward: float | None = None, max_reward: float | None = None, rated: bool | None = None,
                 status: str | None = None, run: str | None = None, step: int | None = None, phase: str | None = None,
                 with_messages: bool = False) -> pd.DataFrame:
        """Episodes as a DataFrame, filtered; one row each, with agent name and version.

        `run`, `step`, `phase`: training rollouts and evaluations (their `meta`: the run's name, the
        optimizer step, 'train' or 'eval')."""
        e, v, a = S.episodes, S.agent_versions, S.agents
        cols = [e.c.id, a.c.name.label("agent"), v.c.version, e.c.agent_version_id, e.c.env_id, e.c.task_id,
                e.c.services, e.c.seed, e.c.status, e.c.n_steps, e.c.total_reward, e.c.success, e.c.reward_breakdown,
                e.c.cost, e.c.user_config, e.c.judge_config, e.c.meta, e.c.started_at, e.c.ended_at]
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
            conds.append(e.c.started_at <= _iso(until, "until"))
        for name, bound in (("min_reward", min_reward), ("max_reward", max_reward)):
            if bound is not None:
                finite_number(name, bound)
        if step is not None:
            finite_number("step", step, low=0, integer=True)
        if rated is not None:
            check_bool("rated", rated)
        if min_reward is not None:
            conds.append(e.c.total_reward >= min_reward)
        if max_reward is not None:
            conds.append(e.c.total_reward <= max_reward)
        if status is not None:
            conds.append(e.c.status == status)
        for key, value in (("run", run), ("phase", phase)):
            if value is not None:
                conds.append(e.c.meta[key].as_string() == str(value))
        if step is not None:
            conds.append(e.c.meta["step"].as_integer() == int(step))
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

    def llm_calls(self, *, episode_id: str | None = None, episode_ids: Iterable[str] | None = None,
                  role: str | None = None) -> pd.DataFrame:
        """The LLM calls made while episodes ran (user, judge, tool simulator): prompt, response, tokens, cost."""
        q = sa.select(S.llm_calls)
        if episode_id is not None:
            q = q.where(S.llm_calls.c.episode_id == episode_id)
        if episode_ids is not None:
            q = q.where(S.llm_calls.c.episode_id.in_(list(episode_ids)))
        if role is not None:
            q = q.where(S.llm_calls.c.role == role)
        return self._frame(q.order_by(S.llm_calls.c.episode_id, S.llm_calls.c.idx))

    def verdicts(self, *, episode_id: str | None = None) -> pd.DataFrame:
        q = sa.select(S.verdicts)
        if episode_id is not None:
            q = q.where(S.verdicts.c.episode_id == episode_id)
        return self._frame(q.order_by(S.verdicts.c.id))


def _episode_row(env_id: str, task_id: str | None = None, *, agent_version_id: int | None = None, seed: int | None = None,
                 services: Iterable[str] = (), user_config: Any = None, judge_config: Any = None, tools: Any = None,
                 policy: str | None = None, meta: Any = None) -> dict[str, Any]:
    return dict(id=str(uuid.uuid4()), agent_version_id=agent_version_id, env_id=env_id, task_id=task_id, seed=seed,
                services="," + ",".join(services) + "," if services else "", user_config=user_config,
                judge_config=judge_config, status="running", n_steps=0, tools=tools, policy=policy, meta=meta,
                started_at=now())


def _step_row(episode_id: str, idx: int, *, action: Any = None, action_format: str | None = None, tool_calls: Any = None,
              observation: str | None = None, tool_results: Any = None, user_acts: Any = None, reward: float | None = None,
              reward_breakdown: Any = None, judge_verdict: Any = None, error: str | None = None, context: Any = None) -> dict[str, Any]:
    if action is not None and not isinstance(action, str):
        action = json.dumps(action, ensure_ascii=False, default=repr)
    return dict(episode_id=episode_id, idx=idx, action=action, action_format=action_format, tool_calls=tool_calls,
                observation=observation, tool_results=tool_results, user_acts=user_acts, reward=reward,
                reward_breakdown=reward_breakdown, judge_verdict=judge_verdict, error=error, context=context, created_at=now())


def _finish_values(episode_id: str, *, status: str = "terminated", reward_breakdown: dict[str, float] | None = None,
                   total_reward: float | None = None, success: bool | None = None, cost: Any = None,
                   messages: Any = None) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status, "ended_at": now()}
    for k, v in (("reward_breakdown", reward_breakdown), ("total_reward", total_reward), ("success", success),
                 ("cost", cost), ("messages", messages)):
        if v is not None:
            values[k] = v
    values["n_steps"] = sa.select(sa.func.count()).where(S.steps.c.episode_id == episode_id).scalar_subquery()
    return values


def _call_rows(episode_id: str, calls: Iterable[Any]) -> list[dict[str, Any]]:
    """llm_calls rows from LLMResults (or dicts with their fields), in call order."""
    rows = []
    for i, c in enumerate(calls or ()):
        get = c.get if isinstance(c, dict) else (lambda k, d=None, c=c: getattr(c, k, d))
        rows.append({"episode_id": episode_id, "idx": i, "role": str(get("role", "") or ""), "model": str(get("model", "") or ""),
                     "prompt": get("prompt"), "response": get("text"), "tool_calls": get("tool_calls") or None,
                     "prompt_tokens": int(get("prompt_tokens", 0) or 0), "completion_tokens": int(get("completion_tokens", 0) or 0),
                     "cost": float(get("cost", 0.0) or 0.0), "latency_s": float(get("latency_s", 0.0) or 0.0),
                     "cached": bool(get("cached", False)), "error": get("error"), "created_at": now()})
    return rows


def _check_score(score: Any) -> None:
    if score is not None and not (isinstance(score, (int, float)) and 0.0 <= float(score) <= 1.0):
        raise ValueError(f"A verdict score is on the 0-1 scale (or None for unscored), got {score!r}; "
                         "divide a 1-5 or 0-10 score onto 0-1 first.")


def as_store(store: ExperienceStore | str | os.PathLike[str], *, create: bool = False) -> ExperienceStore:
    """An open store from a store or a location (folder or SQLAlchemy URL), for APIs that take either;
    `create=True` where the caller's job is to write (a workbench session, a training run)."""
    return store if isinstance(store, ExperienceStore) else ExperienceStore(store, create=create)


def _iso(t: str | dt.datetime | dt.date, name: str = "since") -> str:
    """A time filter as the stored form (UTC ISO 8601); an unparseable one is an error, not 0 rows."""
    if isinstance(t, dt.datetime):
        when = t
    elif isinstance(t, dt.date):
        when = dt.datetime(t.year, t.month, t.day)
    else:
        try:
            when = dt.datetime.fromisoformat(str(t).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name}={t!r} is not a date or time this can read; write it as ISO 8601, e.g. "
                             "'2026-11-24' or '2026-11-24T09:30' (UTC unless it carries an offset).") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")


class _ScrubbedJSON(str):
    """Text already scrubbed (a JSON column's document, or prepared text): the text pass below skips it."""


def _json_scrubbed(obj: Any) -> str:
    """Every JSON column goes through here: secrets masked by key name and value (see store.scrub)."""
    text = _dumps(obj)
    return _ScrubbedJSON(_dumps(scrub(obj)) if might_hold_secrets(text) else text)


_ORJSON_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _dumps(obj: Any) -> str:
    """JSON text, by orjson (several times faster than json on step records), json for what orjson refuses."""
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTS).decode()
    except TypeError:
        return json.dumps(obj)


def _insert_keys(table: sa.Table) -> list[str]:
    auto = {c.name for c in table.primary_key.columns if isinstance(c.type, sa.Integer)}
    return [c.name for c in table.columns if c.name not in auto]


def _prepare_rows(rows: list[dict[str, Any]], keys: list[str], json_cols: set[str]) -> list[dict[str, Any]]:
    """Rows' values as the driver takes them: JSON as text, secrets masked. One trigger scan over the whole
    batch first (C-speed substring scans); only a batch that might hold a secret pays for per-row checks,
    and only a row that might for the per-value scrub."""
    plain = [{k: None if (v := r.get(k)) is None else _dumps(v) if k in json_cols else v for k in keys} for r in rows]
    texts = [v for out in plain for v in out.values() if isinstance(v, str)]
    if not might_hold_secrets("\n".join(texts)):
        return [{k: _ScrubbedJSON(v) if type(v) is str else v for k, v in out.items()} for out in plain]
    return [_prepare_row(r, out, keys, json_cols) for r, out in zip(rows, plain, strict=True)]


def _prepare_row(row: dict[str, Any], out: dict[str, Any], keys: list[str], json_cols: set[str]) -> dict[str, Any]:
    """One row of a batch that might hold a secret: scan the row, scrub its values if it might."""
    if might_hold_secrets("\n".join(v for v in out.values() if isinstance(v, str))):
        out = dict(out)
        for k in keys:
            v = row.get(k)
            if v is not None:
                out[k] = _json_scrubbed(v) if k in json_cols else scrub_text(v) if type(v) is str else v
    return {k: _ScrubbedJSON(v) if type(v) is str else v for k, v in out.items()}


def _scrub_params(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> tuple[str, Any]:
    """Every text written to any table (actions, observations, comments, prompts) has its secrets masked."""
    if statement.lstrip()[:6].upper() not in ("INSERT", "UPDATE"):
        return statement, parameters
    if executemany:
        return statement, [_scrub_row(p) for p in parameters]
    return statement, _scrub_row(parameters)


def _scrub_row(params: Any) -> Any:
    if isinstance(params, dict):
        return {k: scrub_text(v) if type(v) is str else v for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return type(params)(scrub_text(v) if type(v) is str else v for v in params)
    return params


def _explain(where: str, is_sqlite: bool, e: Exception) -> str:
    """What a database error means for the person holding the store, and what to try."""
    cause = str(getattr(e, "orig", e)).strip().splitlines()[0] if str(getattr(e, "orig", e)).strip() else type(e).__name__
    low = cause.lower()
    if is_sqlite and ("not a database" in low or "malformed" in low or "disk image" in low):
        return (f"{where} is not a readable agentgym store (SQLite: {cause}). If it is a damaged store, recover what is left "
                f"with `sqlite3 {where} .recover | sqlite3 recovered.db` and open recovered.db; otherwise point the store "
                "at a folder or a new file.")
    if is_sqlite and "readonly" in low:
        return f"{where} cannot be written (SQLite: {cause}); open it with read_only=True, or copy it to a folder of yours."
    if is_sqlite and ("unable to open" in low or "locked" in low):
        return f"{where} cannot be opened (SQLite: {cause}); check the file's permissions and that no other program holds it."
    if not is_sqlite and isinstance(e, sa.exc.OperationalError):
        return f"Cannot reach the database at {where}: {cause}. Check that the server is up, the host, port, user and password."
    return f"The store {where} refused the operation: {cause}"


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


def _sqlite_connect_ro(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    dbapi_conn.execute("PRAGMA busy_timeout=60000")


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front: concurrent writers wait (busy_timeout) instead of
    # failing with "database is locked" when a read transaction tries to upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
