"""A small domain written only from agentgym/domains/README.md, outside the package: a to-do list with two
tools, three tasks and a rule reward. `AGENTGYM_PLUGINS=todo_domain` (with this folder's parent on the path)
makes `agentgym/Todo-v0` known to gymnasium, the CLI, compare and training."""
from agentgym.domain import Domain, register_domain
from agentgym.registry import registry

DOMAIN = register_domain(Domain(
    name="todo",
    help="a to-do list: add items, list them (test-only plugin)",
    entry_point="todo_domain.env:TodoEnv",
    env_ids={"agentgym/Todo-v0": {}},
    settings={"max_turns": "max_turns", "user": "user", "split": "split"},
    refusals={"data_dir": "the to-do tasks are built in."},
    users={"plain": "todo_domain.env:PlainUser"},
    default_user="plain",
    agents=("todo-solver",),
    splits=("train", "test"),
    rubric="todo_domain.env:RUBRIC",
), replace=True)
registry.register("agent", "todo-solver", "todo_domain.env:Solver", help="adds the item the user asks for", replace=True)
