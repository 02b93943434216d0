"""The episode loop every agentgym environment shares (SGD and tau2 alike).

One `step` takes one agent action in any format `agentgym.actions` reads. A message goes to the
user, whose reply is the observation; tool calls run, and their results are the observation;
`[search] ...` answers with the tools (TauGym's discovery); `[finish]` ends the episode. A bad
action becomes an `environment: error: ...` observation, never an exception. A domain subclass
says how to start a task, how the user answers, how tools run, and how an episode is scored.
"""
from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import orjson
from gymnasium.error import ResetNeeded

from agentgym.actions import TAG_FORMS, Action, parse_action
from agentgym.safeio import check_bool, check_id
from agentgym.spaces import Utterance
from agentgym.types import Message, StepInfo, dumps, render_messages

HELP = ("How to act, one action per step: a plain message goes to the user; a tool call is JSON "
        '{"name": "tool", "arguments": {...}}, tool(arg=\'value\'), or an OpenAI assistant message with tool_calls. '
        "TauGym's tags work too: " + TAG_FORMS + ". `[search] tools` lists the tools; `[search] <words>` finds tools by name "
        "or description.")


# info values that hold (or could hold) objects the env goes on using: each step's info gets its own copy
# (reward_breakdown and cost are built fresh for every info: flat numbers)
DETACHED = ("messages", "history", "tool_calls", "tool_results", "user_acts", "goal", "reward_info", "judge_verdict")


def detach(value: Any) -> Any:
    """A deep copy of the dicts, lists and tuples in `value` (leaves are immutable or copied by `copy.deepcopy`)."""
    if isinstance(value, dict):
        return {k: detach(v) for k, v in value.items()}
    if isinstance(value, list):
        return [detach(v) for v in value]
    if isinstance(value, tuple):
        return tuple(detach(v) for v in value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    import copy

    return copy.deepcopy(value)


class EpisodeCopy:
    """The agent's own copy of a value the env keeps and shows every step (the tool schemas): made once per
    episode (and whenever the env's value changes), so nothing an agent does to it reaches the env. JSON
    values are serialized once per value and parsed once per episode (orjson: a deep copy at C speed)."""

    __slots__ = ("_blob", "_copy", "_of")

    def __init__(self) -> None:
        self._of: Any = None
        self._blob: bytes | None = None
        self._copy: Any = None

    def clear(self) -> None:
        self._copy = None

    def of(self, value: Any) -> Any:
        if value is not self._of:
            self._of, self._copy = value, None
            try:
                self._blob = orjson.dumps(value) if isinstance(value, list) else None
            except (TypeError, orjson.JSONEncodeError):
                self._blob = None
        if self._copy is None:
            self._copy = orjson.loads(self._blob) if self._blob is not None else detach(value)
        return self._copy


def fresh_meta(meta: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A new copy of the tool metadata for each step's info (Gymnasium: infos never share objects)."""
    return {n: {**m, "defaults": dict(m["defaults"]), "required": list(m["required"])} for n, m in meta.items()}


def describe_tools(schemas: list[dict[str, Any]], query: str) -> str:
    """TauGym's `[search]`: `tools` lists every tool, `help` explains the actions, else tools matching the words."""
    q = query.strip().lower()
    if q in ("help", "?", "how"):
        return HELP
    lines = []
    words = [w for w in re.findall(r"[a-z0-9]+", q) if w not in ("tools", "tool", "all", "available", "functions", "list")]
    for s in schemas:
        fn = s.get("function", s)
        params = fn.get("parameters", {}).get("properties", {})
        required = set(fn.get("parameters", {}).get("required", []))
        text = f"{fn['name']} {fn.get('description', '')} {' '.join(params)}".lower()
        if words and not any(w in text for w in words):
            continue
        args = ", ".join(f"{p}{'' if p in required else '?'}" for p in params)
        desc = " ".join(str(fn.get("description", "")).split())[:160]
        lines.append(f"- {fn['name']}({args}): {desc}")
    if not lines:
        return f"no tool matches {query!r}; `[search] tools` lists all {len(schemas)} tools"
    return f"{len(lines)} tool(s):\n" + "\n".join(lines)


def check_task_ids(task_ids: Any) -> None:
    """task_ids: None (every task) or a non-empty list of ids; an empty list never silently means all."""
    if task_ids is not None and (isinstance(task_ids, (str, bytes)) or not hasattr(task_ids, "__iter__") or not list(task_ids)):
        raise ValueError(f"task_ids must be a non-empty list of task ids (None for every task), got {task_ids!r}.")


class DialogueEnv(gym.Env[str, str]):
    """Base class: the shared reset/step loop. Subclasses implement the `_hooks`."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, max_turns: int, render_mode: str | None = None, *, include_history: bool = False,
                 all_messages_as_observation: bool = False, limit_name: str = "max_turns") -> None:
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise ValueError(f"{limit_name} must be a whole number of at least 1, got {max_turns!r}.")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}.")
        check_bool("include_history", include_history)
        check_bool("all_messages_as_observation", all_messages_as_observation)
        self.max_turns = max_turns
        self.include_history = include_history  # info["history"]: the whole conversation, every step
        self.all_messages_as_observation = all_messages_as_observation  # tau2 gym's option: observe the whole conversation
        self.render_mode = render_mode
        self.observation_space = Utterance()
        self.action_space = Utterance()
        self.history: list[Message] = []
        self.turns = 0
        self.done = False
        self.termination: str | None = None
        self.started = False
        self._tools_copy = EpisodeCopy()
        self._new_ledger()  # the episode's LLM calls; each reset starts a new one

    # ---- hooks a domain implements ------------------------------------------------------
    def split_names(self) -> list[str]:
        """The task splits this env's data offers (each a valid `split=`); [] when its tasks are one fixed set
        (a task file, a trace file). Servers and adapters list tasks per split with it."""
        return []

    def _start(self, options: dict[str, Any]) -> tuple[list[Message], dict[str, Any]]:
        """Pick the task (options["task_id"] or seeded random), reset the domain; append the opening
        messages to `history` and return them, with extra info."""
        raise NotImplementedError

    def _to_user(self, text: str) -> tuple[list[Message], bool, dict[str, Any]]:
        """The agent said `text`: the user's reply messages, whether the user ended it, extra info."""
        raise NotImplementedError

    def _to_tools(self, action: Action) -> tuple[list[Message], dict[str, Any]]:
        """Run the calls: tool messages (appended to history by the hook), extra info (tool_calls, tool_results, error)."""
        raise NotImplementedError

    def _on_finish(self, text: str) -> None:
        """The agent ended the episode (`[finish]` or a stop tool)."""

    def _score(self) -> dict[str, Any]:
        """The reward breakdown now (with `total`)."""
        raise NotImplementedError

    def _llm_parts(self) -> list[Any]:
        """The parts of this env that call an LLM (a user, a judge, a tool simulator): their calls go on the
        episode's ledger, so the store's `llm_calls` holds every one of them."""
        return []

    def _new_ledger(self) -> None:
        from agentgym.llm.client import Ledger

        self.ledger = Ledger()
        for part in self._llm_parts():
            llm = getattr(part, "llm", None)
            if llm is not None and hasattr(llm, "ledger"):
                llm.ledger = self.ledger

    def _step_reward(self, breakdown: dict[str, Any]) -> float:
        return float(breakdown.get("total") or 0.0) if self.done else 0.0

    def _base_info(self) -> dict[str, Any]:
        """Keys of every step's info for this domain (task_id, tools, policy, ...)."""
        raise NotImplementedError

    # ---- gymnasium API ----------------------------------------------------------------
    # gymnasium types info as dict[str, Any]; ours is the StepInfo TypedDict, which mypy does not count as one
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, StepInfo]:  # type: ignore[override]
        self.started = False  # a reset that fails (bad seed, unknown task) leaves no episode running: step asks for reset
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be a dict such as {{'task_id': ...}} or None, got {type(options).__name__}.")
        if options and options.get("task_id") is not None:
            check_id("options['task_id']", options["task_id"])
        super().reset(seed=seed)
        self.history, self.turns, self.done, self.termination = [], 0, False, None
        self._new_ledger()
        self._tools_copy.clear()
        new, extra = self._start(dict(options or {}))  # a bad task id raises here: the next step says to reset
        self.started = True
        self.breakdown = self._score()
        return self._observation(new), self._info(new, "reset", extra)

    def close(self) -> None:
        """End any running episode; a later step asks for reset(), which starts afresh."""
        self.started, self.done = False, True
        super().close()

    def step(self, action: Any) -> tuple[str, float, bool, bool, StepInfo]:  # type: ignore[override]
        if not self.started:
            raise ResetNeeded("No episode is running (never reset, a failed reset, or closed): call reset() before step().")
        if self.done:
            over = "the episode is over; call reset() to start a new one"
            msg: Message = {"role": "environment", "content": f"error: {over}"}
            return f"error: {over}", 0.0, True, False, self._info([msg], "none", {"error": over})
        parsed = parse_action(action)
        self.turns += 1
        extra: dict[str, Any] = {}
        terminated = False
        if parsed.kind == "invalid":
            raw = action if isinstance(action, str) else dumps(action) if isinstance(action, (dict, list)) else repr(action)
            self.history.append({"role": "assistant", "content": raw[:2000]})
            new = [self._env_message(f"error: {parsed.error}")]
            extra["error"] = parsed.error
        elif parsed.kind == "search":
            self.history.append({"role": "assistant", "content": f"[search] {parsed.text}"})
            new = [self._env_message(describe_tools(self._base_info().get("tools", []), parsed.text))]
        elif parsed.kind == "tool_calls":
            new, extra = self._to_tools(parsed)
            terminated = self.termination is not None  # a stop tool ends it
        elif parsed.kind == "message":
            self.history.append({"role": "assistant", "content": parsed.text})
            new, terminated, extra = self._to_user(parsed.text)
            if terminated and self.termination is None:
                self.termination = "user_stop"
        else:  # finish
            self.history.append({"role": "assistant", "content": parsed.text or "[finish]"})
            self._on_finish(parsed.text)
            new = [self._env_message("the agent ended the conversation")]
            self.termination = "agent_stop"
            terminated = True
        truncated = not terminated and self.turns >= self.max_turns
        if truncated:
            self.termination = "max_steps"
        self.done = terminated or truncated
        extra = self._after_step(parsed, extra)
        self.breakdown = self._score()
        reward = self._step_reward(self.breakdown)
        return self._observation(new), float(reward), terminated, truncated, self._info(new, parsed.format, extra)

    def _observation(self, new: list[Message]) -> str:
        return render_messages(self.history if self.all_messages_as_observation else new)

    def _after_step(self, parsed: Action, extra: dict[str, Any]) -> dict[str, Any]:
        """Anything a domain does after every step (a judge, say); returns extra info."""
        return extra

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return render_messages(self.history)

    def history_text(self) -> str:
        """The whole conversation as `role: content` lines."""
        return render_messages(self.history)

    # ---- shared internals -------------------------------------------------------------
    def _env_message(self, content: str) -> Message:
        msg: Message = {"role": "environment", "content": content}
        self.history.append(msg)
        return msg

    def _info(self, new: list[Message], action_format: str, extra: dict[str, Any]) -> StepInfo:
        info: dict[str, Any] = {
            "turn": self.turns,
            "messages": new,  # detached below, with everything else the env goes on using
            "user_acts": [],
            "tool_calls": [],
            "tool_results": [],
            "action_format": action_format,
            "error": None,
            "reward_breakdown": dict(self.breakdown),
            "termination": self.termination,
            "user_error": None,
            "user_fallback": None,
        }
        info.update(self._base_info())
        if self.include_history:
            info["history"] = self.history
        info.update(extra)
        info["unscored"] = bool(info.get("user_error")) or bool(self.breakdown.get("judge_unscored"))
        for key in DETACHED:  # an agent (or wrapper) that edits its info never edits the env
            if key in info:
                info[key] = detach(info[key])
        if "tools" in info:
            info["tools"] = self._tools_copy.of(info["tools"])
        return info  # type: ignore[return-value]
