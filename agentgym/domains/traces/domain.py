"""The traces family as one `Domain`: your own recorded conversations, replayed."""
from __future__ import annotations

from agentgym.domain import Domain

DOMAIN = Domain(
    name="traces",
    help="your own OpenAI-format / APIGen-MT traces: recorded user, recorded tool results",
    rubric="agentgym.domains.traces.env:RUBRIC",
    entry_point="agentgym.domains.traces.env:TraceEnv",
    env_ids={"agentgym/Traces-v0": {}},  # tasks=FILE from `agentgym import-traces`
    settings={"tasks": "tasks", "max_turns": "max_turns"},
    refusals={"split": "a trace file is its own task set; write one file per split with `agentgym import-traces`.",
              "data_dir": "give the imported trace file as tasks= instead.",
              "user": "the user of a trace is its recorded turns; there is no other user to choose.",
              "user_kwargs": "the recorded user takes no arguments.",
              "persona": "the recorded user has no persona knobs.",
              "rubric": "a trace's reward is fixed (calls_matched - 0.1 x extra_calls); weigh its criteria for training "
                        "with rewards={'calls_matched': 1.0, ...} instead."},
)
