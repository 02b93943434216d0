"""Data layer: SGD loading, schemas and tasks."""
from agentgym.domains.sgd.corpus import SGDCorpus, ToolTables, default_data_dir, load_sgd
from agentgym.domains.sgd.schema import Intent, Service, Slot, domain
from agentgym.domains.sgd.tasks import ExpectedCall, IntentGoal, RecordedCall, Task, UserTurnRecord

__all__ = [
    "ExpectedCall", "Intent", "IntentGoal", "RecordedCall", "SGDCorpus", "Service", "Slot", "Task",
    "ToolTables", "UserTurnRecord", "default_data_dir", "domain", "load_sgd",
]
