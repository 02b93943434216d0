"""The SGD family as one `Domain`: Schema-Guided Dialogue services, mocked from recorded results."""
from __future__ import annotations

from agentgym.domain import Domain

_USERS = "agentgym.domains.sgd.users"
DOMAIN = Domain(
    name="sgd",
    help="Schema-Guided Dialogue: 20 services, mocked from recorded results",
    rubric="agentgym.domains.sgd.reward:RUBRIC",
    entry_point="agentgym.domains.sgd.env:SGDEnv",
    env_ids={"agentgym/SGD-v0": {"user": "goal"}, "agentgym/SGD-Replay-v0": {"user": "replay"}},
    settings={"split": "split", "data_dir": "data_dir", "max_turns": "max_turns", "user": "user",
              "user_kwargs": "user_kwargs", "tasks": "tasks", "persona": "persona",
              "rubric": "reward.weights"},
    users={"goal": f"{_USERS}.goal_user:GoalDrivenUser", "replay": f"{_USERS}.replay:TraceReplayUser",
           "llm": f"{_USERS}.llm_user:LLMUser", "hybrid": f"{_USERS}.llm_user:HybridUser",
           "dspy": f"{_USERS}.dspy_user:DSPyUser"},
    default_user="goal",
    agents=("scripted", "naive"),
    # any split folder of an SGD-format corpus (the packaged data has train and dev)
    demonstrations="agentgym.domains.sgd.demonstrations:sgd_demonstrations",
)
