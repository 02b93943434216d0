"""SGDEnv: the agent talks to a simulated user and calls mocked services, scored by rules.

One `step` takes one agent action (any format `agentgym.actions` reads). A message goes to the
user, whose reply is the observation; tool calls go to the mocker, whose results are the
observation; `[finish]` ends the episode. Bad actions become error observations, never
exceptions. Same seed and same actions give the same episode, byte for byte.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import orjson
from gymnasium.error import ResetNeeded

from agentgym.actions import Action, parse_action
from agentgym.data.sgd import SGDCorpus, load_sgd
from agentgym.data.tasks import Task
from agentgym.llm.client import LLM, Ledger
from agentgym.mocker import ToolMocker, ToolResult
from agentgym.policy import policy_text
from agentgym.reward import CallIndex, RewardConfig, RuleReward
from agentgym.spaces import Utterance
from agentgym.tools import Tool, tools_for
from agentgym.users import GoalDrivenUser, Persona, User, UserContext, UserTurn, load_user_model, make_user

Message = dict[str, Any]


def _dumps(obj: Any) -> str:
    """Compact, key-sorted JSON (deterministic); orjson when it can, json for exotic values."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=repr)


class SGDEnv(gym.Env[str, str]):
    """A Gymnasium environment over Schema-Guided Dialogue tasks."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        data_dir: str | None = None,
        split: str = "dev",
        user: str | User | Callable[[], User] = "goal",
        persona: Persona | None = None,
        user_train_dir: str | None = None,
        user_llm: str | None = None,
        user_llm_args: dict[str, Any] | None = None,
        judge: Any = None,
        judge_mode: str = "episode",
        max_turns: int = 40,
        reward: RewardConfig | dict[str, Any] | None = None,
        reveal_goal: bool = False,
        include_history: bool = False,
        task_ids: list[str] | None = None,
        max_results: int = 5,
        corpus: SGDCorpus | None = None,
        render_mode: str | None = None,
    ) -> None:
        if max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {max_turns}.")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}.")
        self.corpus = corpus if corpus is not None else load_sgd(data_dir, split)
        self.tasks: list[Task] = [self.corpus.task(t) for t in task_ids] if task_ids else list(self.corpus.tasks)
        if not self.tasks:
            raise ValueError(f"No tasks in {self.corpus.path}.")
        self._user_spec = user
        self.user_train_dir = user_train_dir
        self.user_llm, self.user_llm_args = user_llm, dict(user_llm_args or {})
        self.user: User = self._make_user(user, persona)
        if judge_mode not in ("episode", "step"):
            raise ValueError(f"judge_mode must be 'episode' or 'step', got {judge_mode!r}.")
        self.judge = self._make_judge(judge)
        self.judge_mode = judge_mode
        self.max_turns = max_turns
        config = RewardConfig(**reward) if isinstance(reward, dict) else reward
        self.reward_fn = RuleReward(self.corpus, config)
        self.reveal_goal = reveal_goal
        self.include_history = include_history
        self.mocker = ToolMocker(self.corpus, max_results=max_results)
        self.render_mode = render_mode
        self.observation_space = Utterance()
        self.action_space = Utterance()
        self._tool_cache: dict[tuple[str, ...], tuple[dict[str, Tool], list[dict[str, Any]], str]] = {}
        self.task: Task | None = None
        self.breakdown: dict[str, float] = {}
        self._clear_episode()

    def _clear_episode(self) -> None:
        """Everything that belongs to one episode, empty (at construction and at every reset)."""
        self.history: list[Message] = []
        self.calls: list[ToolResult] = []
        self.agent_messages: list[str] = []
        self.turns = 0
        self.done = False
        self._call_index = CallIndex()
        self.user_stated: dict[tuple[str, str], str] = {}  # (service, slot) -> the user's latest value
        self.user_asked: list[tuple[str, str]] = []  # slots the user requested, in order
        self.ledger = Ledger()
        self._judge_scores: list[float | None] = []
        for part in (getattr(self, "user", None), getattr(self, "judge", None)):
            llm = getattr(part, "llm", None)
            if llm is not None:  # the episode's LLM calls are accounted in the episode's ledger
                llm.ledger = self.ledger

    def _make_judge(self, spec: Any) -> Any:
        if spec is None or spec is False:
            return None
        from agentgym.llm.judge import LLMJudge

        if spec is True:
            return LLMJudge()
        if isinstance(spec, str):
            return LLMJudge(LLM(spec))
        return spec

    def _make_user(self, spec: str | User | Callable[[], User], persona: Persona | None) -> User:
        if spec in ("llm", "hybrid"):
            from agentgym.users.llm_user import HybridUser, LLMUser

            llm = LLM(self.user_llm, **({"temperature": 0.7, "max_tokens": 80} | self.user_llm_args))
            if spec == "llm":
                return LLMUser(llm)
            return HybridUser(llm, model=load_user_model(self.user_train_dir, "train"), persona=persona,
                              services=self.corpus.services)
        if spec == "goal":
            model = load_user_model(self.user_train_dir, "train")
            return GoalDrivenUser(model, persona=persona, services=self.corpus.services)
        if isinstance(spec, str):
            return make_user(spec)
        if callable(spec) and not hasattr(spec, "respond"):
            return spec()
        return spec  # type: ignore[return-value]

    # ---- tools and policy -------------------------------------------------------------
    def _tools_for(self, task: Task) -> tuple[dict[str, Tool], list[dict[str, Any]], str]:
        key = tuple(task.services)
        if key not in self._tool_cache:
            tools = tools_for(self.corpus, task.services)
            policy = policy_text([self.corpus.services[s] for s in task.services])
            self._tool_cache[key] = (tools, [t.schema for t in tools.values()], policy)
        return self._tool_cache[key]

    @property
    def tools(self) -> dict[str, Tool]:
        if self.task is None:
            raise ResetNeeded("Call reset() before asking for the tools.")
        return self._tools_for(self.task)[0]

    def resolve_tool(self, name: str) -> Tool | None:
        """Exact tool name, else a case-insensitive or bare-intent match when it is unambiguous."""
        tools = self.tools
        if name in tools:
            return tools[name]
        low = name.lower()
        hits = [t for t in tools.values() if t.name.lower() == low or t.intent.name.lower() == low]
        return hits[0] if len(hits) == 1 else None

    # ---- gymnasium API ----------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        if "task_id" in options and options["task_id"] is not None:
            self.task = self.corpus.task(str(options["task_id"]))
        else:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        if "reveal_goal" in options:
            self.reveal_goal = bool(options["reveal_goal"])
        episode_seed = int(self.np_random.integers(2**31 - 1))
        self.mocker.set_task(self.task, seed=episode_seed)
        self._clear_episode()
        turn = self.user.reset(self.task, episode_seed)
        new = [self._user_message(turn)]
        self.breakdown = self._score()
        info = self._info(new, Action("message", "reset"), user_turn=turn, tool_results=[])
        return self._render_lines(new), info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self.task is None:
            raise ResetNeeded("Call reset() before step().")
        if self.done:
            msg = {"role": "environment", "content": "error: the episode is over; call reset() to start a new one"}
            info = self._info([msg], Action("invalid", "none"), user_turn=None, error=msg["content"][7:], tool_results=[])
            return msg["content"], 0.0, True, False, info
        parsed = parse_action(action)
        self.turns += 1
        new: list[Message] = []
        user_turn: UserTurn | None = None
        results: list[ToolResult] = []
        error: str | None = None
        terminated = False
        if parsed.kind == "invalid":
            error = parsed.error
            raw = action if isinstance(action, str) else _dumps(action) if isinstance(action, (dict, list)) else repr(action)
            self.history.append({"role": "assistant", "content": raw[:2000]})
            new.append(self._env_message(f"error: {error}"))
        elif parsed.kind == "tool_calls":
            new.extend(self._run_calls(parsed, results))
            errors = [r.error for r in results if r.error]
            error = "; ".join(errors) if errors else None
        elif parsed.kind == "message":
            user_turn, msg = self._talk(parsed.text)
            new.append(msg)
            terminated = user_turn.done
        else:  # finish
            if parsed.text:
                self.agent_messages.append(parsed.text)
            self.history.append({"role": "assistant", "content": parsed.text or "[finish]"})
            new.append(self._env_message("the agent ended the conversation"))
            terminated = True
        truncated = not terminated and self.turns >= self.max_turns
        self.done = terminated or truncated
        verdict = self._run_judge(parsed)
        self.breakdown = self._score()
        reward = self.reward_fn.config.step_penalty + (self.breakdown["total"] if self.done else 0.0)
        info = self._info(new, parsed, user_turn=user_turn, tool_results=results, error=error)
        if verdict is not None:
            info["judge_verdict"] = verdict.to_dict()
        return self._render_lines(new), float(reward), terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self._render_lines(self.history)

    # ---- internals --------------------------------------------------------------------
    def _user_message(self, turn: UserTurn) -> Message:
        for service, act, slot, values in turn.acts:
            if act == "INFORM" and slot and values:
                self.user_stated.pop((service, slot), None)
                self.user_stated[(service, slot)] = values[0]
            elif act == "REQUEST" and slot:
                self.user_asked.append((service, slot))
        msg = {"role": "user", "content": turn.text}
        self.history.append(msg)
        return msg

    def _env_message(self, content: str) -> Message:
        msg = {"role": "environment", "content": content}
        self.history.append(msg)
        return msg

    def _talk(self, text: str) -> tuple[UserTurn, Message]:
        self.agent_messages.append(text)
        self.history.append({"role": "assistant", "content": text})
        context = UserContext(self.agent_messages, list(self.calls), self.turns)
        turn = self.user.respond(text, context)
        return turn, self._user_message(turn)

    def _run_calls(self, parsed: Action, results: list[ToolResult]) -> list[Message]:
        tool_calls = []
        out: list[Message] = []
        for i, call in enumerate(parsed.calls):
            call_id = call.id or f"call_{i}"
            tool = self.resolve_tool(call.name)
            if tool is None:
                available = ", ".join(self.tools)
                msg = f"unknown tool '{call.name[:100]}'; available tools: {available}"
                result = ToolResult(call.name[:100], call.arguments if isinstance(call.arguments, dict) else {"_raw": repr(call.arguments)[:200]},
                                    {}, {"status": "error", "error": msg}, ok=False, error=msg)
            else:
                result = self.mocker.call(tool, call.arguments)
            results.append(result)
            self.calls.append(result)
            args_text = _dumps(result.arguments) if isinstance(result.arguments, dict) else "{}"
            tool_calls.append({"id": call_id, "type": "function", "function": {"name": result.tool, "arguments": args_text}})
            out.append({"role": "tool", "tool_call_id": call_id, "name": result.tool, "content": _dumps({"tool": result.tool, **result.content})})
        if parsed.text:
            self.agent_messages.append(parsed.text)
        self.history.append({"role": "assistant", "content": parsed.text or None, "tool_calls": tool_calls})
        self.history.extend(out)
        return out

    def _run_judge(self, parsed: Action) -> Any:
        """The LLM judge, per agent message (judge_mode='step') or once at the end ('episode')."""
        if self.judge is None:
            return None
        if self.judge_mode == "step" and parsed.kind == "message":
            history = self.history[:-2] if len(self.history) >= 2 else []
            verdict = self.judge.judge_step(history, parsed.text)
        elif self.judge_mode == "episode" and self.done:
            verdict = self.judge.judge_episode(self.history)
        else:
            return None
        self._judge_scores.append(verdict.score)
        return verdict

    def _score(self) -> dict[str, float]:
        assert self.task is not None
        b = self.reward_fn.evaluate(self.task, self.calls, self.agent_messages, self.turns, self.max_turns,
                                    self._call_index, self.user_stated, self.user_asked)
        if self.judge is not None:
            scored = [x for x in self._judge_scores if x is not None]
            b["judge"] = sum(scored) / len(scored) if scored else None  # type: ignore[assignment]
            b["judge_unscored"] = float(len(self._judge_scores) - len(scored))
            if b["judge"] is not None:
                b["total"] += self.reward_fn.config.weights.get("judge", 0.0) * b["judge"]
        return b

    @staticmethod
    def _render_lines(messages: list[Message]) -> str:
        lines = []
        for m in messages:
            if m.get("tool_calls"):
                calls = ", ".join(f"{c['function']['name']}({c['function']['arguments']})" for c in m["tool_calls"])
                lines.append(f"{m['role']}: {(m.get('content') or '') + ' ' if m.get('content') else ''}[calls] {calls}")
            else:
                lines.append(f"{m['role']}: {m.get('content') or ''}")
        return "\n".join(lines)

    def _info(self, new: list[Message], parsed: Action, *, user_turn: UserTurn | None,
              tool_results: list[ToolResult], error: str | None = None) -> dict[str, Any]:
        assert self.task is not None
        _, schemas, policy = self._tools_for(self.task)
        info: dict[str, Any] = {
            "task_id": self.task.task_id,
            "turn": self.turns,
            "messages": [dict(m) for m in new],
            "tools": schemas,
            "policy": policy,
            "user_acts": user_turn.acts_as_dicts() if user_turn else [],
            "tool_calls": [{"name": r.tool, "arguments": r.arguments} for r in tool_results],
            "tool_results": [dict(tool=r.tool, ok=r.ok, **r.content) for r in tool_results],
            "action_format": parsed.format,
            "error": error,
            "reward_breakdown": dict(self.breakdown),
            "cost": self.ledger.by_role(),
            "user_error": user_turn.error if user_turn else None,
        }
        info["unscored"] = bool(info["user_error"]) or bool(self.breakdown.get("judge_unscored"))
        if self.reveal_goal:
            info["goal"] = self.task.goal_dict()
        if self.include_history:
            info["history"] = [dict(m) for m in self.history]
        return info

    def history_text(self) -> str:
        """The whole conversation as `role: content` lines."""
        return self._render_lines(self.history)
