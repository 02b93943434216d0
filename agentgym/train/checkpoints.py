"""Where a registered version's weights lie (the store's record of it, checked against the disk)."""
from __future__ import annotations

import json
from pathlib import Path

from agentgym.store import ExperienceStore, as_store


def checkpoint_path(store: ExperienceStore | str, agent: str, version: str) -> Path:
    """The folder a registered version was saved to, checked to still hold a model."""
    st = as_store(store)
    vid = st.version_id(agent, version)
    row = st.agent_versions().set_index("id").loc[vid]
    config = row["config"] if isinstance(row["config"], dict) else json.loads(row["config"] or "{}")
    path = config.get("path")
    if not path:
        raise ValueError(f"Version '{version}' of '{agent}' has no saved model path (registered by hand?).")
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"Version '{version}' of '{agent}' points at {path}, which holds no saved model any more.")
    return path
