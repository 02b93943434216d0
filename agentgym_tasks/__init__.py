"""agentgym's tasks as a verifiers taskset package: `vf-eval agentgym-tasks --env.taskset.env agentgym/SGD-v0 ...`
(verifiers resolves a taskset id to a top-level module; the code lives in agentgym.interop.verifiers_taskset)."""
from agentgym.interop.verifiers_taskset import (
    AgentgymData,
    AgentgymEnv,
    AgentgymEnvConfig,
    AgentgymTask,
    AgentgymTaskset,
    AgentgymTasksetConfig,
)

__all__ = ["AgentgymData", "AgentgymEnv", "AgentgymEnvConfig", "AgentgymTask", "AgentgymTaskset", "AgentgymTasksetConfig"]
