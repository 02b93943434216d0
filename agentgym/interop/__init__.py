"""agentgym's environments where researchers already train. Each adapter is an optional extra:

- `agentgym.interop.openenv_server`: every registered env served with OpenEnv's server contract
  (`agentgym serve --env ID`; `pip install 'agentgym-workbench[serve]'`), and `AgentgymClient`, OpenEnv's
  WebSocket client typed for it.
- `agentgym.interop.openenv_package`: the served env as an OpenEnv package (`openenv.yaml`, app, oracle) and
  the oracle/floor check over the wire.
- `agentgym.interop.trl_env`: TRL's `GRPOTrainer(environment_factory=...)` class and its dataset (`[train]`).
- `agentgym.interop.verifiers_taskset`: a verifiers 0.4 Taskset and Env, exported as the `agentgym-tasks`
  taskset package (`[verifiers]`, in an environment without OpenEnv: `make verifiers`).
- `agentgym.interop.skyrl`: a SkyRL-gym `BaseTextEnv` (`pip install 'agentgym-workbench[skyrl]'`).

`docs/interop.md` shows each one from the trainer's side.
"""
