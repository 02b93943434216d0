"""The tau2 family as one `Domain`: tau2-bench's airline, retail, telecom and mock, in-process."""
from __future__ import annotations

from agentgym.domain import Domain
from agentgym.domains.tau2 import DOMAINS

DOMAIN = Domain(
    name="tau2",
    help="tau2-bench in-process: airline, retail, telecom (solo mode), mock; tau2's exact reward",
    rubric="agentgym.domains.tau2.reward:RUBRIC",
    entry_point="agentgym.domains.tau2.env:Tau2Env",
    env_ids={"agentgym/tau2-v0": {}, **{f"agentgym/tau2-{d}-v0": {"domain": d} for d in DOMAINS}},
    settings={"split": "split", "max_turns": "max_steps", "user": "user", "user_kwargs": "user_kwargs"},
    refusals={"data_dir": "tau2 domains play tau2-bench's packaged tasks and databases; leave data_dir unset "
                          "(it is for SGD-format data).",
              "tasks": "tau2 tasks come from tau2-bench; choose them with split= (train, test, base) or task_ids=.",
              "rubric": "tau2's reward is the product of the checks in each task's reward basis, as tau2-bench scores it; "
                        "weigh its checks for training with rewards={'action': 1.0, ...} instead.",
              "persona": "tau2's user follows each task's own instructions; personas are for SGD users."},
    users={"offline": "agentgym.domains.tau2.user:OfflineTau2User", "llm": "agentgym.domains.tau2.user:LLMTau2User"},
    default_user="offline",
    agents=("tau2-oracle", "tau2-noop"),
    oracle="tau2-oracle",
    floor="tau2-noop",
    # splits differ per tau2 domain (airline: base/train/test; telecom adds small/full; mock: base), so the env checks
    # them against tau2's own split_tasks.json (agentgym.domains.tau2.data.splits) and names the ones that exist
)
