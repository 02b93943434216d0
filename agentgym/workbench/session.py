"""Step an episode by hand: talk to the simulated user or call a tool, undo, restart with the same
seed, rate steps and the episode. Every step and rating is written to the experience store the
moment it happens (a `marimo run` tab or a crashed kernel loses nothing)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agentgym.registration import register_envs
from agentgym.store import ExperienceStore, RecordEpisodes, as_store
from agentgym.store.store import SCALES
from agentgym.types import argument_problems, inline_refs


@dataclass
class RatingScale:
    """How people rate here: 'thumbs' (0/1), '1-5' or '0-1', plus the tags offered as buttons."""

    scale: str = "thumbs"
    tags: tuple[str, ...] = ("wrong tool", "wrong value", "invented", "skipped confirmation", "rude", "great")

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"Unknown rating scale '{self.scale}'; use one of: {', '.join(SCALES)}.")

    @property
    def values(self) -> list[float]:
        lo, hi = SCALES[self.scale]
        return [lo, hi] if self.scale != "1-5" else [1, 2, 3, 4, 5]


@dataclass
class StepSession:
    """One hand-played episode at a time, recorded under `agent` (a version in the store)."""

    store: ExperienceStore | str = "agentgym-store"
    env_id: str = "agentgym/SGD-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agent: str = "human"
    version: str = "workbench"
    rater: str = "anonymous"
    rating: RatingScale = field(default_factory=RatingScale)

    def __post_init__(self) -> None:
        self.store = as_store(self.store, create=True)
        register_envs()
        self.version_id = self.store.register_agent(self.agent, self.version, {"kind": "human via workbench"})
        self.env = RecordEpisodes(gym.make(self.env_id, **self.env_kwargs), self.store, agent_version_id=self.version_id)
        self.task_ids = list(self.env.unwrapped.task_ids)
        self.seed: int = 0
        self.task_id: str | None = None
        self.reveal_goal = False
        self.actions: list[Any] = []
        self.episode_id: str | None = None
        self.chat: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {}
        self.done = False
        self.ratings: dict[str, dict[str, Any]] = {}  # "episode" or step index -> last saved rating

    # ---- playing ---------------------------------------------------------------------------
    def start(self, task_id: str | None = None, seed: int | None = None, reveal_goal: bool | None = None) -> dict[str, Any]:
        """A new episode: a given task or a random one (seeded), optionally showing the hidden goal."""
        if task_id is not None and task_id not in self.task_ids:
            raise KeyError(f"No task '{task_id}' in {self.env_id}; pick one of its {len(self.task_ids)} tasks "
                           f"(e.g. {', '.join(self.task_ids[:3])}).")
        self.seed = int(seed) if seed is not None else self.seed
        if reveal_goal is not None:
            self.reveal_goal = bool(reveal_goal)
        if task_id is None:
            import random

            task_id = random.Random(self.seed).choice(self.task_ids)
        self.task_id = task_id
        self.actions = []
        self._reset()
        return self.view()

    def _reset(self) -> None:
        _, info = self.env.reset(seed=self.seed, options={"task_id": self.task_id, "reveal_goal": self.reveal_goal})
        self.episode_id = self.env.episode_id
        self.info, self.done, self.ratings = info, False, {}
        self.episode_verdict: dict[str, Any] | None = None
        self.chat = self._bubbles(0, info)

    def send(self, action: Any) -> dict[str, Any]:
        """Play one agent action (text, a JSON tool call, `[finish]`...) and show what came back."""
        if self.task_id is None:
            self.start()
        if self.done:
            raise RuntimeError("The episode is over: restart it or start a new one.")
        self._apply(action)
        self.actions.append(action)
        return self.view()

    def _apply(self, action: Any) -> None:
        idx = len(self.actions) + 1
        _, _, terminated, truncated, info = self.env.step(action)
        self.info, self.done = info, bool(terminated or truncated)
        shown = action if isinstance(action, str) else json.dumps(action, ensure_ascii=False)
        entry = {"idx": idx, "role": "agent", "text": shown, "format": info.get("action_format"), "error": info.get("error")}
        verdict = info.get("judge_verdict")
        if verdict:  # live: a per-step verdict sits under the agent's message, the episode's in the side panel
            shown_verdict = {k: verdict.get(k) for k in ("judge", "score", "criteria", "reasoning", "error")}
            if getattr(self.env.unwrapped, "judge_mode", "episode") == "step":
                entry["verdict"] = shown_verdict
            else:
                self.episode_verdict = shown_verdict
        self.chat.append(entry)
        self.chat.extend(self._bubbles(idx, info))

    @staticmethod
    def _bubbles(idx: int, info: dict[str, Any]) -> list[dict[str, Any]]:
        """What came back, one bubble per structured message: the role is the bubble's label, never
        repeated inside its text (the observation string's `user: ...` lines are for agents)."""
        return [{"idx": idx, "role": m["role"], "text": m.get("content") or ""}
                for m in info.get("messages", []) if (m.get("content") or "").strip()]

    def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a tool with arguments from the form (empty fields dropped), checked against the tool's
        schema first: a missing required argument or a wrong type is refused here, naming it, and
        nothing is played."""
        args = {k: v for k, v in arguments.items() if v not in (None, "")}
        tool = next((t for t in self.info.get("tools", []) if t["function"]["name"] == name), None)
        if tool is None:
            known = [t["function"]["name"] for t in self.info.get("tools", [])]
            raise ValueError(f"No tool '{name}' in this task; its tools are: {', '.join(known) or 'none'}.")
        problems = argument_problems(tool["function"].get("parameters", {}), args)
        if problems:
            raise ValueError(f"{name} not called: " + "; ".join(problems) + ".")
        return self.send(json.dumps({"name": name, "arguments": args}, ensure_ascii=False))

    def undo(self) -> dict[str, Any]:
        """Take back the last action: the episode is replayed from the same seed without it (the
        undone attempt stays in the store as an abandoned episode)."""
        if not self.actions:
            return self.view()
        keep = self.actions[:-1]
        self._reset()
        self.actions = []
        for a in keep:
            self._apply(a)
            self.actions.append(a)
        return self.view()

    def restart(self) -> dict[str, Any]:
        """The same task and seed from the start."""
        return self.start(self.task_id, self.seed)

    # ---- rating ----------------------------------------------------------------------------
    def rate(self, value: float, *, step_idx: int | None = None, tags: list[str] | tuple[str, ...] = (),
             comment: str = "") -> dict[str, Any]:
        """Save a rating of one agent step (its index in the chat) or of the whole episode, now."""
        if self.episode_id is None:
            raise RuntimeError("Nothing to rate yet: start an episode first.")
        if step_idx is not None and not any(m["idx"] == step_idx and m["role"] == "agent" for m in self.chat):
            raise ValueError(f"Step {step_idx} is not an agent step of this episode; rate one of "
                             f"{[m['idx'] for m in self.chat if m['role'] == 'agent']} or the episode (no step).")
        rid = self.store.rate(self.episode_id, value, step_idx=step_idx, rater=self.rater, scale=self.rating.scale,
                              tags=list(tags), comment=comment)
        self.ratings["episode" if step_idx is None else str(step_idx)] = {
            "id": rid, "value": value, "tags": list(tags), "comment": comment, "saved": True}
        return self.view()

    def retag(self, *, step_idx: int | None = None, tags: list[str] | tuple[str, ...] = (), comment: str = "") -> dict[str, Any]:
        """Change the tags and comment of the rating already saved on a step (or the episode)."""
        key = "episode" if step_idx is None else str(step_idx)
        saved = self.ratings.get(key)
        if saved is None:
            raise ValueError(f"Nothing rated on {'the episode' if step_idx is None else f'step {step_idx}'} yet: "
                             "pick a rating first; tags and comment are saved with it.")
        self.store.retag(saved["id"], tags=list(tags), comment=comment)
        saved.update(tags=list(tags), comment=comment)
        return self.view()

    # ---- what the widgets show -------------------------------------------------------------
    def tool_forms(self) -> list[dict[str, Any]]:
        """Each tool as the form builds it: name, description and its JSON schema (the form makes a field
        per property: enums as choices, numbers, booleans, arrays with rows, nested objects)."""
        return [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
                 "parameters": inline_refs(t["function"].get("parameters", {"type": "object", "properties": {}}))}
                for t in self.info.get("tools", [])]

    def view(self) -> dict[str, Any]:
        """Everything the stepper shows, as plain JSON (a fresh dict each time: traits sync on assignment)."""
        return json.loads(json.dumps({
            "env_id": self.env_id, "task_id": self.task_id, "seed": self.seed, "episode_id": self.episode_id,
            "chat": self.chat, "done": self.done, "turn": self.info.get("turn", 0),
            "reward": self.info.get("reward_breakdown", {}), "goal": self.info.get("goal") if self.reveal_goal else None,
            "goal_lines": goal_lines(self.info.get("goal") or []) if self.reveal_goal else [],
            "tools": self.tool_forms() if self.task_id else [], "can_undo": bool(self.actions),
            "ratings": self.ratings, "scale": self.rating.scale, "scale_values": self.rating.values,
            "tags": list(self.rating.tags),
            "judge": {"configured": getattr(self.env.unwrapped, "judge", None) is not None,
                      "mode": getattr(self.env.unwrapped, "judge_mode", None),
                      "episode_verdict": getattr(self, "episode_verdict", None)},
        }, default=str))


def goal_lines(goal: list[dict[str, Any]]) -> list[str]:
    """The hidden goal as a person reads it: one block per intent."""
    lines = []
    for g in goal:
        lines.append(f"{g.get('service')}: {g.get('intent')}" + (" (transaction)" if g.get("transactional") else ""))
        informed = ", ".join(f"{k}={v}" for k, v in g.get("informed", []))
        if informed:
            lines.append(f"  says: {informed}")
        if g.get("requested"):
            lines.append(f"  asks: {', '.join(g['requested'])}")
        if g.get("accepted"):
            lines.append(f"  accepts offered: {', '.join(g['accepted'])}")
    return lines
