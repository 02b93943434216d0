"""Reference agents for tau2 tasks: the oracle (gold actions) and the no-op baseline."""
from __future__ import annotations

import json
from typing import Any

from agentgym.types import StepInfo


class OracleAgent:
    """Plays the task's gold actions and says its `communicate_info`, then ends: the ceiling a
    simulated user allows. Outside solo mode it first asks for the identifiers it needs (as a real
    agent must), and asks the user to do the user-side actions (telecom's phone) instead of doing them."""

    name = "tau2-oracle"

    def __init__(self, ask_for_ids: bool = True) -> None:
        self.ask_for_ids = ask_for_ids

    def reset(self, observation: str, info: StepInfo) -> None:
        task = info["task"]
        if isinstance(task, dict):  # the task as JSON (over the network: agentgym serve)
            from tau2.data_model.tasks import Task

            task = Task.model_validate(task)
        crit = task.evaluation_criteria
        solo = observation.startswith("environment: ticket:")
        self.plan: list[Any] = []
        if self.ask_for_ids and not solo:
            self.plan.append("Sure, I can help. Could you please give me your user id or account details?")
        for a in (crit.actions or []) if crit else []:
            if a.requestor == "user" and not solo:
                args = "".join(f" {k} = {json.dumps(v) if not isinstance(v, str) else v}," for k, v in a.arguments.items())
                self.plan.append(f"Please {a.name.replace('_', ' ')} on your phone{':' + args.rstrip(',') if args else ''}. "
                                 "Tell me what you see.")
            else:
                self.plan.append(json.dumps({"name": a.name, "arguments": a.arguments}))
        for text in (crit.communicate_info or []) if crit else []:
            self.plan.append(f"For your information: {text}.")
        self.plan.append("[finish]")

    def act(self, observation: str, info: StepInfo) -> Any:
        return self.plan.pop(0) if self.plan else "[finish]"


class NoopAgent:
    """Greets, then ends the conversation: scores full reward only on tasks where doing nothing is right."""

    name = "tau2-noop"

    def reset(self, observation: str, info: StepInfo) -> None:
        self.said = False

    def act(self, observation: str, info: StepInfo) -> Any:
        if not self.said and not observation.startswith("environment: ticket:"):
            self.said = True
            return "Hello! I'm sorry, but I can't help with that. Have a great day."
        return "[finish]"

