"""SGDEnv: the agent talks to a simulated user and calls mocked services, scored by rules.

    env = gym.make("agentgym/SGD-v0")                           # embedded SGD sample, dev split
    env = gym.make("agentgym/SGD-v0", task_id="1_00000")        # one task (tau2's gym style)
    env = gym.make("agentgym/SGD-v0", service_domain="Restaurants")  # tasks that use a service of this domain
    env = gym.make("agentgym/SGD-v0", user="dspy", user_kwargs={"program": "program.json"})  # an optimized DSPy user

Action space
    Free text (`Utterance`): a message to the user, a tool call (JSON, `Tool(a='x')`, an OpenAI
    assistant message with several `tool_calls`) or TauGym's tags (`[search] tools`, `[action]
    <message>`, `[answer] <tool call>`, `[finish]`).
Observation
    The new messages as `role: content` lines: `user: ...`, `tool: {json}`, `environment: ...`.
Info
    `agentgym.types.StepInfo`: task_id, turn, messages, tools, policy, user_acts, tool_calls,
    tool_results, action_format, error, reward_breakdown, cost, user_error, user_fallback, unscored, termination;
    `goal` with reveal_goal, `history` with include_history, `judge_verdict` when a judge scored.
Reward
    The rubric's total (weighted components of `agentgym.domains.sgd.reward`, the judge among them), paid when
    the episode ends; `step_penalty` each step. `success` requires every goal intent done with the
    right values and no wrong, duplicate or unrequested transaction.
Episode end
    Terminated when the user ends the dialogue or the agent sends `[finish]`; truncated at
    `max_turns` (alias `max_steps`). Same seed, same actions: the same episode, byte for byte.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable
from typing import Any

from gymnasium.error import ResetNeeded

from agentgym.actions import Action
from agentgym.domains.sgd.corpus import SGDCorpus, load_sgd
from agentgym.domains.sgd.mocker import ToolMocker, ToolResult
from agentgym.domains.sgd.policy import policy_text
from agentgym.domains.sgd.reward import CallIndex, RewardConfig, RuleReward
from agentgym.domains.sgd.schema import domain as domain_of_service
from agentgym.domains.sgd.tasks import Task
from agentgym.domains.sgd.tools import Tool, tools_for
from agentgym.domains.sgd.users import Persona, User, UserContext, UserTurn
from agentgym.episode import DialogueEnv, check_task_ids, dumps, fresh_meta
from agentgym.llm.client import LLM
from agentgym.safeio import check_bool
from agentgym.types import Message, ToolCall


def _check_arguments(*, max_results: Any, judge: Any, persona: Any, reward: Any, task_ids: Any,
                     reveal_goal: Any, include_history: Any, split: Any, data_dir: Any) -> None:
    """Every constructor argument checked in one place, each message naming the argument and the fix."""
    if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
        raise ValueError(f"max_results must be a whole number of at least 1, got {max_results!r}.")
    if not (judge is None or isinstance(judge, (bool, str)) or (hasattr(judge, "judge_step") and hasattr(judge, "judge_episode"))):
        raise TypeError(f"judge must be None, True (the local model), a litellm model string or a judge object with "
                        f"judge_step() and judge_episode(), got {type(judge).__name__}.")
    if persona is not None and not isinstance(persona, Persona):
        raise TypeError(f"persona must be an agentgym.domains.sgd.users.Persona (e.g. Persona(patience=2)), got {type(persona).__name__}.")
    if reward is not None and not isinstance(reward, (dict, RewardConfig)):
        raise TypeError(f"reward must be a dict like {{'weights': {{...}}, 'step_penalty': -0.01}} or a RewardConfig, "
                        f"got {type(reward).__name__}.")
    check_task_ids(task_ids)
    if not isinstance(split, str) or not split:
        raise TypeError(f"split must be the name of a folder under data_dir (e.g. 'dev'), got {split!r}.")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a path (str or Path) to an SGD-format folder, or None for the embedded sample, "
                        f"got {type(data_dir).__name__}.")
    for name, value in (("reveal_goal", reveal_goal), ("include_history", include_history)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}.")


class SGDEnv(DialogueEnv):
    """A Gymnasium environment over Schema-Guided Dialogue tasks (see the module docstring)."""

    def __init__(
        self,
        data_dir: str | None = None,
        split: str = "dev",
        user: str | User | Callable[[], User] = "goal",
        persona: Persona | None = None,
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
        task_id: str | None = None,
        service_domain: str | None = None,
        max_steps: int | None = None,
        tasks: str | os.PathLike[str] | list[Task] | None = None,
        families: list[str] | None = None,
        tool_simulator: Any = None,
        simulator_llm: str | None = None,
        user_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if max_steps is not None:  # tau2's and TauGym's name for it
            max_turns = max_steps
        _check_arguments(max_results=max_results, judge=judge, persona=persona, reward=reward,
                         task_ids=task_ids, reveal_goal=reveal_goal, include_history=include_history, split=split,
                         data_dir=data_dir)
        super().__init__(max_turns=max_turns, render_mode=render_mode, include_history=include_history)
        self.corpus = corpus if corpus is not None else load_sgd(data_dir, split)
        self.split = split if corpus is None else getattr(corpus, "split", split)
        pool = self._task_pool(tasks, families)
        self._by_id = {t.task_id: t for t in pool} if pool is not None else None
        ids = [task_id] if task_id is not None else task_ids
        self.tasks: list[Task] = [self._task(str(t)) for t in ids] if ids else list(pool if pool is not None else self.corpus.tasks)
        if service_domain is not None:
            wanted = str(service_domain).lower()
            self.tasks = [t for t in self.tasks if any(domain_of_service(s).lower() == wanted for s in t.services)]
            if not self.tasks:
                known = sorted({domain_of_service(s) for s in self.corpus.services})
                raise ValueError(f"No task uses a service of service_domain {service_domain!r}; service domains: {', '.join(known)}.")
        if not self.tasks:
            raise ValueError(f"No tasks in {self.corpus.path}.")
        self.fixed_task = str(task_id) if task_id is not None else None
        self._user_spec = user
        if user_kwargs is not None and not isinstance(user_kwargs, dict):
            raise TypeError(f"user_kwargs must be a dict such as {{'llm': 'openai/gpt-4o-mini'}}, got {type(user_kwargs).__name__}.")
        user_kwargs = dict(user_kwargs or {})
        bad = set(user_kwargs) - {"train_dir", "llm", "llm_args", "program"}
        if bad:
            raise ValueError(f"Unknown user_kwargs {sorted(bad)}; an SGD user takes train_dir (its SGD data for the goal "
                             "user's models), llm (a litellm model), llm_args (that model's arguments) and program (a DSPy "
                             "program.json).")
        self.user_train_dir: str | None = user_kwargs.get("train_dir")
        self.user_llm: str | None = user_kwargs.get("llm")
        self.user_llm_args: dict[str, Any] = dict(user_kwargs.get("llm_args") or {})
        program = user_kwargs.get("program")
        if program is not None and not isinstance(program, (str, os.PathLike)):
            raise TypeError(f"user_kwargs['program'] must be the path of a program.json from `agentgym optimize-user`, got {program!r}.")
        self.user_program = program
        self.user: User = self._make_user(user, persona)
        if judge_mode not in ("episode", "step"):
            raise ValueError(f"judge_mode must be 'episode' or 'step', got {judge_mode!r}.")
        self.judge = self._make_judge(judge)
        self.judge_mode = judge_mode
        config = RewardConfig(**reward) if isinstance(reward, dict) else reward
        self.reward_fn = RuleReward(self.corpus, config)
        self.reveal_goal = reveal_goal
        if tool_simulator == "llm":
            from agentgym.llm.toolsim import LLMToolSimulator

            tool_simulator = LLMToolSimulator(simulator_llm)
        elif tool_simulator is not None and not hasattr(tool_simulator, "call"):
            raise TypeError(f"tool_simulator must be None (the rule mocker), 'llm' or an object with call(schema, arguments); "
                            f"got {tool_simulator!r}.")
        self.mocker = ToolMocker(self.corpus, max_results=max_results, simulator=tool_simulator)
        self._tool_cache: dict[tuple[str, ...], tuple[dict[str, Tool], list[dict[str, Any]], str, dict[str, Any]]] = {}
        self.task: Task | None = None
        self.breakdown: dict[str, float] = {}
        self._clear_episode()

    def split_names(self) -> list[str]:
        if self._by_id is not None:  # a task file: its tasks are the set
            return []
        root = self.corpus.path.parent if self.corpus.path is not None else None
        return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "schema.json").exists()) if root else []

    @property
    def task_ids(self) -> list[str]:
        return [t.task_id for t in self.tasks]

    def _clear_episode(self) -> None:
        """Everything that belongs to one episode, empty (at construction and at every reset)."""
        self.calls: list[ToolResult] = []
        self.agent_messages: list[str] = []
        self._call_index = CallIndex()
        self.user_stated: dict[tuple[str, str], str] = {}  # (service, slot) -> the user's latest value
        self.user_asked: list[tuple[str, str]] = []  # slots the user requested, in order
        self._judge_scores: list[float | None] = []

    def _make_judge(self, spec: Any) -> Any:
        if spec is None or spec is False:
            return None
        from agentgym.llm.judge import LLMJudge

        if spec is True:
            return LLMJudge()
        if isinstance(spec, str):
            return LLMJudge(LLM(spec))
        return spec

    def _task_pool(self, tasks: Any, families: list[str] | None) -> list[Task] | None:
        """Tasks from a task file (generated scenarios, imported traces) or a list, instead of the corpus's own."""
        if tasks is None:
            if families is not None:
                raise ValueError("families= selects among the tasks of a task file; pass tasks=FILE too.")
            return None
        if isinstance(tasks, (str, os.PathLike)):
            from agentgym.domains.sgd.taskfile import read_tasks

            tf = read_tasks(tasks, services=self.corpus.services, families=families)
            if tf.problems:
                warnings.warn(tf.report(), stacklevel=3)
            if not tf.tasks:
                raise ValueError(f"No usable task in {tasks}" + (f" for families {families}" if families else "") + ".\n" + tf.report())
            return tf.tasks
        if isinstance(tasks, list) and tasks and all(isinstance(t, Task) for t in tasks):
            from agentgym.domains.sgd.taskfile import schema_problem

            ids = [t.task_id for t in tasks]
            if len(set(ids)) != len(ids):
                dup = next(i for i in ids if ids.count(i) > 1)
                raise ValueError(f"tasks holds task id {dup!r} more than once; give every task its own id.")
            for t in tasks:
                wrong = schema_problem(t, self.corpus.services) or (
                    f"uses service(s) {sorted(set(t.services) - set(self.corpus.services))} this corpus does not have"
                    if set(t.services) - set(self.corpus.services) else None)
                if wrong:
                    raise ValueError(f"Task {t.task_id}: {wrong}.")
            wanted = set(families) if families is not None else None
            return [t for t in tasks if wanted is None or t.meta.get("family") in wanted]
        raise TypeError(f"tasks must be a task file path (.jsonl) or a non-empty list of Task, got {type(tasks).__name__}.")

    def _task(self, task_id: str) -> Task:
        if self._by_id is not None:
            if task_id in self._by_id:
                return self._by_id[task_id]
            raise KeyError(f"No task '{task_id}' in the task file ({len(self._by_id)} tasks, e.g. {next(iter(self._by_id))}).")
        return self.corpus.task(task_id)

    def _make_user(self, spec: str | User | Callable[[], User], persona: Persona | None) -> User:
        """An SGD user by name (goal, replay, llm, hybrid, dspy, or a registered 'sgd/<name>'), a factory, or a user."""
        if isinstance(spec, str):
            from agentgym.domains.sgd.domain import DOMAIN

            return DOMAIN.user_class(spec).from_env(self, persona)
        if callable(spec) and not hasattr(spec, "respond"):
            return spec()
        if not (hasattr(spec, "reset") and hasattr(spec, "respond")):
            raise TypeError(f"user must be a registered name, a factory or an object with reset() and respond(), "
                            f"got {type(spec).__name__}.")
        return spec

    def _apply_persona(self, task: Task) -> None:
        """A generated task may carry its own persona (impatient, ...): it holds for that episode only."""
        if not hasattr(self.user, "persona"):
            return
        if not hasattr(self, "_default_persona"):
            self._default_persona = self.user.persona
        knobs = task.meta.get("persona")
        self.user.persona = dataclasses.replace(self._default_persona, **knobs) if knobs else self._default_persona

    # ---- tools and policy -------------------------------------------------------------
    def _tools_for(self, task: Task) -> tuple[dict[str, Tool], list[dict[str, Any]], str, dict[str, Any]]:
        key = tuple(task.services)
        if key not in self._tool_cache:
            tools = tools_for(self.corpus, task.services)
            policy = policy_text([self.corpus.services[s] for s in task.services])
            self._tool_cache[key] = (tools, [t.schema for t in tools.values()], policy, {n: t.meta() for n, t in tools.items()})
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

    # ---- the episode loop's hooks (agentgym.episode.DialogueEnv) -----------------------
    def _llm_parts(self) -> list[Any]:
        return [p for p in (getattr(self, "user", None), getattr(self, "judge", None)) if p is not None]

    def _start(self, options: dict[str, Any]) -> tuple[list[Message], dict[str, Any]]:
        task_id = options.get("task_id") or self.fixed_task
        if task_id is not None:
            self.task = self._task(str(task_id))
        else:
            self.task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        if "reveal_goal" in options:
            self.reveal_goal = check_bool("options['reveal_goal']", options["reveal_goal"])
        episode_seed = int(self.np_random.integers(2**31 - 1))
        self.mocker.set_task(self.task, seed=episode_seed)
        self._clear_episode()
        self._apply_persona(self.task)
        turn = self.user.reset(self.task, episode_seed)
        self._turn: UserTurn | None = turn
        return [self._user_message(turn)], {"user_acts": turn.acts_as_dicts(), "user_error": turn.error,
                                            "user_fallback": turn.fallback}

    def _to_user(self, text: str) -> tuple[list[Message], bool, dict[str, Any]]:
        self.agent_messages.append(text)
        context = UserContext(self.agent_messages, list(self.calls), self.turns)
        turn = self.user.respond(text, context)
        self._turn = turn
        return [self._user_message(turn)], turn.done, {"user_acts": turn.acts_as_dicts(), "user_error": turn.error,
                                                       "user_fallback": turn.fallback}

    def _to_tools(self, action: Action) -> tuple[list[Message], dict[str, Any]]:
        results: list[ToolResult] = []
        new = self._run_calls(action, results)
        errors = [r.error for r in results if r.error]
        return new, {"tool_calls": [ToolCall(r.tool, r.arguments).record() for r in results],
                     "tool_results": [dict(tool=r.tool, ok=r.ok, **r.content, **({"simulated": True} if r.simulated else {})) for r in results],
                     "error": "; ".join(errors) if errors else None}

    def _on_finish(self, text: str) -> None:
        if text:
            self.agent_messages.append(text)

    def _after_step(self, parsed: Action, extra: dict[str, Any]) -> dict[str, Any]:
        verdict = self._run_judge(parsed)
        if verdict is not None:
            extra["judge_verdict"] = verdict.to_dict()
        return extra

    def _step_reward(self, breakdown: dict[str, Any]) -> float:
        return self.reward_fn.config.step_penalty + (breakdown["total"] if self.done else 0.0)

    def _base_info(self) -> dict[str, Any]:
        if self.task is None:
            raise ResetNeeded("Call reset() first.")
        _, schemas, policy, meta = self._tools_for(self.task)
        info: dict[str, Any] = {"task_id": self.task.task_id, "tools": schemas, "tool_meta": fresh_meta(meta), "policy": policy,
                                "cost": self.ledger.by_role()}
        if self.reveal_goal:
            info["goal"] = self.task.goal_dict()
        return info

    # ---- internals --------------------------------------------------------------------
    def _user_message(self, turn: UserTurn) -> Message:
        for service, act, slot, values in turn.acts:
            if act == "INFORM" and slot and values:
                self.user_stated.pop((service, slot), None)
                self.user_stated[(service, slot)] = values[0]
            elif act == "REQUEST" and slot:
                self.user_asked.append((service, slot))
        msg: Message = {"role": "user", "content": turn.text}
        self.history.append(msg)
        return msg

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
            tool_calls.append(ToolCall(result.tool, result.arguments, call_id).openai())
            out.append({"role": "tool", "tool_call_id": call_id, "name": result.tool, "content": dumps({"tool": result.tool, **result.content})})
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
            b["total"] = self.reward_fn.rubric.total(b)  # the judge is one of the rubric's criteria
        return b
