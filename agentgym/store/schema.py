"""Tables of the experience store and the migrations that bring an old file up to date."""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

agents = sa.Table(
    "agents", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", sa.Text, nullable=False),
)

agent_versions = sa.Table(
    "agent_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("agent_id", sa.Integer, sa.ForeignKey("agents.id"), nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("agent_versions.id"), nullable=True),
    sa.Column("notes", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.UniqueConstraint("agent_id", "version"),
)

episodes = sa.Table(
    "episodes", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("agent_version_id", sa.Integer, sa.ForeignKey("agent_versions.id"), nullable=True),
    sa.Column("env_id", sa.Text, nullable=False),
    sa.Column("task_id", sa.Text, nullable=True),
    sa.Column("services", sa.Text, nullable=False, default=""),  # ",A_1,B_2," for LIKE filters
    sa.Column("seed", sa.BigInteger, nullable=True),
    sa.Column("user_config", sa.JSON, nullable=True),
    sa.Column("judge_config", sa.JSON, nullable=True),
    sa.Column("reward_breakdown", sa.JSON, nullable=True),
    sa.Column("total_reward", sa.Float, nullable=True),
    sa.Column("success", sa.Boolean, nullable=True),
    sa.Column("cost", sa.JSON, nullable=True),
    sa.Column("status", sa.Text, nullable=False),  # running | terminated | truncated | abandoned | error
    sa.Column("n_steps", sa.Integer, nullable=False, default=0),
    sa.Column("tools", sa.JSON, nullable=True),
    sa.Column("policy", sa.Text, nullable=True),
    sa.Column("messages", sa.JSON, nullable=True),
    sa.Column("meta", sa.JSON, nullable=True),
    sa.Column("started_at", sa.Text, nullable=False),
    sa.Column("ended_at", sa.Text, nullable=True),
)

steps = sa.Table(
    "steps", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("episode_id", sa.String(36), sa.ForeignKey("episodes.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("action", sa.Text, nullable=True),
    sa.Column("action_format", sa.Text, nullable=True),
    sa.Column("tool_calls", sa.JSON, nullable=True),
    sa.Column("observation", sa.Text, nullable=True),
    sa.Column("tool_results", sa.JSON, nullable=True),
    sa.Column("user_acts", sa.JSON, nullable=True),
    sa.Column("reward", sa.Float, nullable=True),
    sa.Column("reward_breakdown", sa.JSON, nullable=True),
    sa.Column("judge_verdict", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("context", sa.JSON, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.UniqueConstraint("episode_id", "idx"),
)

ratings = sa.Table(
    "ratings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("episode_id", sa.String(36), sa.ForeignKey("episodes.id"), nullable=False),
    sa.Column("step_idx", sa.Integer, nullable=True),  # NULL: the rating is on the whole episode
    sa.Column("rater", sa.Text, nullable=False),
    sa.Column("scale", sa.Text, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.Text, nullable=False),
)

verdicts = sa.Table(
    "verdicts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("episode_id", sa.String(36), sa.ForeignKey("episodes.id"), nullable=False),
    sa.Column("step_idx", sa.Integer, nullable=True),
    sa.Column("judge", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=True),  # NULL: the judge could not score it (see reasoning)
    sa.Column("criteria", sa.JSON, nullable=True),
    sa.Column("reasoning", sa.Text, nullable=True),
    sa.Column("prompt", sa.Text, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
)

llm_calls = sa.Table(
    "llm_calls", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("episode_id", sa.String(36), sa.ForeignKey("episodes.id"), nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),  # order within the episode
    sa.Column("role", sa.Text, nullable=False),  # user | judge | tool | agent
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("prompt", sa.JSON, nullable=True),  # the messages sent
    sa.Column("response", sa.Text, nullable=True),  # NULL: the call failed (see error)
    sa.Column("tool_calls", sa.JSON, nullable=True),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("completion_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost", sa.Float, nullable=False, default=0.0),
    sa.Column("latency_s", sa.Float, nullable=False, default=0.0),
    sa.Column("cached", sa.Boolean, nullable=False, default=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.Text, nullable=False),
)

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.Text, nullable=False),
)

sa.Index("ix_episodes_version", episodes.c.agent_version_id)
sa.Index("ix_episodes_task", episodes.c.task_id)
sa.Index("ix_steps_episode", steps.c.episode_id)
sa.Index("ix_ratings_target", ratings.c.episode_id, ratings.c.step_idx)
sa.Index("ix_verdicts_target", verdicts.c.episode_id, verdicts.c.step_idx)
sa.Index("ix_llm_calls_episode", llm_calls.c.episode_id)


V1_TABLES = ("agents", "agent_versions", "episodes", "steps", "ratings", "verdicts", "schema_version")


def _v1(conn: Connection) -> None:
    """The first schema."""
    metadata.create_all(conn, tables=[metadata.tables[t] for t in V1_TABLES])


def _v2(conn: Connection) -> None:
    """Every LLM call of an episode (the user's, the judge's, the tool simulator's): prompt, response, tokens, cost."""
    metadata.create_all(conn, tables=[llm_calls])


# (version, migration). Append, never edit: a file at version N gets N+1.. applied in order.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [(1, _v1), (2, _v2)]
LATEST = MIGRATIONS[-1][0]
