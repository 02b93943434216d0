"""Data layer: SGD loading, schemas and tasks."""
from agentgym.data.schema import Intent, Service, Slot, domain
from agentgym.data.sgd import SGDCorpus, ToolTables, default_data_dir, load_sgd
from agentgym.data.tasks import ExpectedCall, IntentGoal, RecordedCall, Task, UserTurnRecord

__all__ = [
    "ExpectedCall", "Intent", "IntentGoal", "RecordedCall", "SGDCorpus", "Service", "Slot", "Task",
    "ToolTables", "UserTurnRecord", "default_data_dir", "domain", "load_sgd",
]
