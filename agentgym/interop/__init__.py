"""agentgym's environments where researchers already train. Each adapter is an optional extra:

- `agentgym.interop.openenv_server`: every registered env served with OpenEnv's server contract
  (`agentgym serve --env ID`; `pip install 'agentgym-workbench[serve]'`), and `AgentgymClient`, OpenEnv's
  WebSocket client typed for it.
- `agentgym.interop.trl`: TRL's `GRPOTrainer(environment_factory=...)` class and its dataset.
- `agentgym.interop.skyrl`: a SkyRL-gym `BaseTextEnv` (`pip install 'agentgym-workbench[skyrl]'`).

`docs/interop.md` shows each one from the trainer's side.
"""
