"""Tau2Env: tau2-bench's domains as agentgym environments, in-process (no orchestrator thread).

    env = gym.make("agentgym/tau2-airline-v0")                       # or tau2-retail, tau2-telecom, tau2-mock
    env = gym.make("agentgym/tau2-v0", domain="telecom", task_id=..., solo_mode=True)
    env = gym.make("agentgym/tau2-airline-v0", split="train")       # tau2-bench's RL splits: train, test, base
    obs, info = env.reset(seed=0, options={"task_id": "0"})

Action space
    Free text (`Utterance`): a message to the user, a tool call (JSON, `tool(a='x')`, an OpenAI
    assistant message) or a TauGym tag (`[search] tools`, `[action] <message>`, `[answer] <tool call>`,
    `[finish]`). Calling the `done` tool or `[finish]` ends the episode (an agent stop).
Observation
    The new messages as `role: content` lines: `user: ...` (the simulated user), `tool: ...` (tau2's
    tool response; a tool exception reads `Error: ...` and the episode goes on), `environment: ...`
    (errors in the action, `[search]` answers, the end). With `all_messages_as_observation=True`,
    the whole conversation so far.
Info
    agentgym's `StepInfo` (`agentgym.types`) plus tau2 gym's keys: `tools` (OpenAI schemas, with
    `done`), `policy`, `task` (tau2's task as JSON), `simulation_run` (tau2's `SimulationRun` JSON,
    once the episode ends), `reward_info` (tau2's `RewardInfo`: db, env assertions, action and
    communicate checks, reward basis).
Reward
    tau2's reward, exactly (`agentgym.domains.tau2.reward`), paid once when the episode ends: 0 unless
    it ended by an agent or user stop. `reward_breakdown` has db, env_assertion, action, communicate
    (None where not in the task's basis), success and total. In [0, 1] (TauGym's `normalize_rewards`).
Episode end
    Terminated by `[finish]` / `done` (agent stop) or the user's `###STOP###`, `###TRANSFER###`,
    `###OUT-OF-SCOPE###` (user stop); truncated at `max_steps` agent actions (tau2's `max_steps`).
"""
from __future__ import annotations

import copy
from typing import Any

from agentgym.actions import Action
from agentgym.domains.tau2.data import check_domain, check_split, get_task, task_index
from agentgym.domains.tau2.reward import breakdown_of, tau2_reward
from agentgym.domains.tau2.world import Tau2World
from agentgym.episode import DialogueEnv, check_task_ids, fresh_meta
from agentgym.safeio import check_bool
from agentgym.types import Message, ToolCall

GREETING = "Hi! How can I help you today?"  # tau2's orchestrator opens every conversation with it
DONE_SCHEMA = {"type": "function", "function": {"name": "done", "description": "Call this function when you are done with the task.",
                                                "parameters": {"type": "object", "properties": {}, "required": []}}}


class Tau2Env(DialogueEnv):
    """A tau2-bench domain as a Gymnasium environment; see the module docstring for the spaces,
    info keys, reward and episode end."""

    def __init__(self, domain: str = "airline", task_id: str | None = None, solo_mode: bool = False, user: Any = "offline",
                 user_llm: str | None = None, user_llm_args: dict[str, Any] | None = None, max_steps: int = 100,
                 all_messages_as_observation: bool = False, task_ids: list[str] | None = None, include_history: bool = False,
                 user_model: str | None = None, user_provider: str | None = None, normalize_rewards: bool = True,
                 render_mode: str | None = None, split: str = "base", user_kwargs: dict[str, Any] | None = None) -> None:
        check_bool("solo_mode", solo_mode)
        check_bool("normalize_rewards", normalize_rewards)
        check_domain(domain, solo_mode)
        check_task_ids(task_ids)
        check_split(domain, split)
        bad = set(user_kwargs or {}) - {"llm", "llm_args"}
        if bad:
            raise ValueError(f"Unknown user_kwargs {sorted(bad)}; a tau2 user takes llm (a litellm model) and llm_args.")
        super().__init__(max_turns=max_steps, render_mode=render_mode, include_history=include_history,
                         all_messages_as_observation=all_messages_as_observation, limit_name="max_steps")
        self.domain, self.solo_mode = domain, bool(solo_mode)
        self.world = Tau2World(domain, self.solo_mode)
        self.split = split
        self.all_tasks = task_index(domain, split)  # read-only: the cached index of the split
        ids = [task_id] if task_id is not None else (list(task_ids) if task_ids else list(self.all_tasks))
        for tid in ids:
            get_task(domain, str(tid), split)  # unknown id: a message listing what exists
        self.task_ids = [str(t) for t in ids]
        if self.solo_mode:
            missing = [t for t in self.task_ids if self.all_tasks[t].ticket is None]
            if missing:
                raise ValueError(f"Solo mode needs tasks with a ticket; {len(missing)} of these have none (e.g. {missing[0]}).")
        self.fixed_task = str(task_id) if task_id is not None else None
        if user_model is not None:  # TauGym's names
            user, user_llm = "llm", f"{user_provider}/{user_model}" if user_provider else user_model
        user_llm = (user_kwargs or {}).get("llm", user_llm)
        self.user_llm, self.user_llm_args = user_llm, dict(user_llm_args or {}) | dict((user_kwargs or {}).get("llm_args") or {})
        self.user = self._make_user(user)
        self.normalize_rewards = normalize_rewards
        env = self.world.env
        tools = env.get_tools() + (env.get_user_tools() if self.solo_mode and env.user_tools is not None else [])
        self.schemas = [t.openai_schema for t in tools] + [DONE_SCHEMA]
        self.tool_names = {t.name for t in tools}
        self.tool_meta = {t.name: {"service": domain, "intent": t.name, "required": list(t.openai_schema["function"]["parameters"].get("required", [])),
                                   "writes": self.world.writes(t.name, "assistant"), "defaults": {}}
                          for t in tools}
        self.tool_meta["done"] = {"service": domain, "intent": "done", "required": [], "writes": False, "defaults": {}}
        self.user_tools = env.get_user_tools() if env.user_tools is not None and not self.solo_mode else []
        self.policy = env.get_policy()
        self.task: Any = None
        self._agent_task: Any = None
        self._task_json: dict[str, str] = {}
        self.trajectory: list[Any] = []  # the episode as tau2 messages (what tau2's evaluator reads)
        self._pending_user_calls: list[Any] = []  # the user's tool calls this turn, recorded before its message
        self.reward_info: dict[str, Any] = {}

    def _make_user(self, spec: Any) -> Any:
        """A tau2 user by name (`offline`, the default; `llm`; any registered 'tau2/<name>'), or a user object."""
        from agentgym.domains.tau2.domain import DOMAIN

        if spec is None or isinstance(spec, str):
            return DOMAIN.user_class(spec or DOMAIN.default_user).from_env(self)
        if not (hasattr(spec, "reset") and hasattr(spec, "respond")):
            raise TypeError(f"user must be 'offline', 'llm' or an object with reset() and respond(), got {type(spec).__name__}.")
        return spec

    # ---- hooks ------------------------------------------------------------------------------
    def _llm_parts(self) -> list[Any]:
        return [p for p in (getattr(self, "user", None),) if p is not None]  # (none yet while constructing)

    def split_names(self) -> list[str]:
        from agentgym.domains.tau2.data import splits

        return list(splits(self.domain))

    def _start(self, options: dict[str, Any]) -> tuple[list[Message], dict[str, Any]]:
        from tau2.data_model.message import AssistantMessage

        tid = options.get("task_id") or self.fixed_task
        if tid is None:
            tid = self.task_ids[int(self.np_random.integers(len(self.task_ids)))]
        self.task = get_task(self.domain, str(tid), self.split)
        if str(tid) not in self._task_json:  # what info shows is a copy: no agent can edit the grading through it
            self._task_json[str(tid)] = self.task.model_dump_json()
        self._agent_task = type(self.task).model_validate_json(self._task_json[str(tid)])  # 5× cheaper than a deep copy
        seed = int(self.np_random.integers(2**31 - 1))
        self.world.gold(self.task)  # cached before the episode touches the DB
        self.world.reset(self.task)
        init = self.task.initial_state
        self.trajectory = list(init.message_history or []) if init is not None else []
        self._pending_user_calls = []
        self.reward_info = {}
        if self.solo_mode:
            msg = self._env_message(f"ticket: {self.task.ticket}")
            return [msg], {}
        self.trajectory.append(AssistantMessage(role="assistant", content=GREETING, timestamp=None))
        self.history.append({"role": "assistant", "content": GREETING})
        turn = self.user.reset(self.task, seed, call_tool=self._user_tool, user_tools=self.user_tools)
        return self._user_said(turn), {"user_error": turn.error}

    def _to_user(self, text: str) -> tuple[list[Message], bool, dict[str, Any]]:
        from tau2.data_model.message import AssistantMessage

        if self.solo_mode:
            return [self._env_message("error: solo mode has no user to talk to; call the tools, then `done`")], False, \
                {"error": "solo mode has no user"}
        self.trajectory.append(AssistantMessage(role="assistant", content=text, timestamp=None))
        turn = self.user.respond(text)
        new = self._user_said(turn)
        return new, turn.done, {"user_error": turn.error}

    def _user_said(self, turn: Any) -> list[Message]:
        from tau2.data_model.message import UserMessage

        self.trajectory.extend(self._pending_user_calls)
        self._pending_user_calls = []
        self.trajectory.append(UserMessage(role="user", content=turn.text, timestamp=None))
        msg: Message = {"role": "user", "content": turn.text}
        self.history.append(msg)
        return [msg]

    def _user_tool(self, name: str, arguments: dict[str, Any]) -> str:
        """A user tool call made by the simulated user (telecom): runs on the same DBs, recorded as tau2 does."""
        from tau2.data_model.message import ToolCall as Tau2ToolCall
        from tau2.data_model.message import UserMessage

        call = Tau2ToolCall(id=f"user_{len(self.trajectory)}_{len(self._pending_user_calls)}", name=name, arguments=arguments,
                        requestor="user")
        response = self.world.call(call)
        self._pending_user_calls = [*self._pending_user_calls,
                                    UserMessage(role="user", content=None, tool_calls=[call], timestamp=None),
                                    response.model_copy(update={"timestamp": None})]
        return response.content

    def _to_tools(self, action: Action) -> tuple[list[Message], dict[str, Any]]:
        from tau2.data_model.message import AssistantMessage, ToolMessage
        from tau2.data_model.message import ToolCall as Tau2ToolCall

        calls, out, results = [], [], []
        records: list[ToolCall] = []
        stop = False
        for i, c in enumerate(action.calls):
            call_id = c.id or f"call_{self.turns}_{i}"
            args = c.arguments if isinstance(c.arguments, dict) else None
            if c.name == "done":
                stop = True
                continue
            if args is None:
                content = f"Error: the arguments of {c.name} must be a JSON object, got {type(c.arguments).__name__}"
                calls.append(Tau2ToolCall(id=call_id, name=c.name, arguments={}, requestor="assistant"))
                response = None
            elif c.name not in self.tool_names:
                content = f"Error: Tool '{c.name[:100]}' not found. Available tools: {', '.join(sorted(self.tool_names))}"
                calls.append(Tau2ToolCall(id=call_id, name=c.name[:100], arguments=args, requestor="assistant"))
                response = None
            else:
                call = Tau2ToolCall(id=call_id, name=c.name, arguments=args, requestor="assistant")
                calls.append(call)
                response = self.world.call(call)
                content = response.content
            records.append(ToolCall(c.name[:100], args if args is not None else {}, call_id))
            results.append({"tool": c.name[:100], "ok": not content.startswith("Error:"), "content": content})
            out.append((call_id, c.name[:100], content, response))
        if calls:
            self.trajectory.append(AssistantMessage(role="assistant", content=action.text or None, tool_calls=calls, timestamp=None))
        msgs: list[Message] = []
        for call_id, name, content, response in out:
            tm = response.model_copy(update={"timestamp": None}) if response is not None else ToolMessage(
                id=call_id, content=content, requestor="assistant", role="tool", error=True, timestamp=None)
            self.trajectory.append(tm)
            msgs.append({"role": "tool", "tool_call_id": call_id, "name": name, "content": content})
        self.history.append({"role": "assistant", "content": action.text or None,
                             "tool_calls": [r.openai() for r in records] + ([ToolCall("done", {}, "done").openai()] if stop else [])})
        self.history.extend(msgs)
        if stop:
            self._on_finish(action.text)
            msgs.append(self._env_message("the agent ended the conversation"))
            self.termination = "agent_stop"
        errors = [r["content"] for r in results if not r["ok"]]
        return msgs, {"tool_calls": [r.record() for r in records], "tool_results": results, "error": "; ".join(errors)[:1000] if errors else None}

    def _on_finish(self, text: str) -> None:
        from tau2.data_model.message import AssistantMessage

        self.trajectory.append(AssistantMessage(role="assistant", content="###STOP###", timestamp=None))

    def _score(self) -> dict[str, Any]:
        if not self.done:
            return breakdown_of(0.0, {})
        reward, self.reward_info = tau2_reward(self.world, self.task, self.trajectory, self.termination)
        return breakdown_of(reward, self.reward_info)

    def _base_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"task_id": self.task.id if self.task is not None else None, "tools": self.schemas,
                                "tool_meta": fresh_meta(self.tool_meta),
                                "policy": self.policy,  # tau2's Task object, as tau2's gym gives it: the episode's copy, not the one graded
                                "task": self._agent_task,
                                "reward_info": copy.deepcopy(self.reward_info), "simulation_run": self._simulation_run() if self.done else "{}"}
        return info

    def _simulation_run(self) -> str:
        from tau2.data_model.simulation import RewardInfo, SimulationRun

        run = SimulationRun(id=f"{self.domain}-{self.task.id}", task_id=self.task.id, timestamp="", start_time="", end_time="",
                            duration=0.0, termination_reason=self.termination or "max_steps", messages=self.trajectory,
                            reward_info=RewardInfo.model_validate(self.reward_info) if self.reward_info else None)
        return run.model_dump_json()

