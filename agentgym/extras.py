"""Which optional extra installs which module: one table, read by the CLI's hints and by `require`, which
imports an optional module or says which `pip install` brings it (never a bare ModuleNotFoundError)."""
from __future__ import annotations

import importlib
from types import ModuleType

# the optional extra that installs a missing top-level module
EXTRA_OF = {"openenv": "serve", "uvicorn": "serve", "fastapi": "serve", "skyrl_gym": "skyrl", "torch": "train",
            "transformers": "train", "trl": "train", "peft": "train", "datasets": "train", "litellm": "llm",
            "llama_cpp": "llm", "dspy": "llm", "ray": "ray", "tau2": "tau2", "anywidget": "widgets",
            "ipywidgets": "widgets", "plotly": "widgets", "marimo": "widgets"}


def install_hint(module: str) -> str:
    """The pip command that brings `module` (by its top-level package)."""
    extra = EXTRA_OF.get(module.split(".")[0])
    return f"pip install 'agentgym-workbench[{extra}]'" if extra else f"pip install {module.split('.')[0]}"


def require(module: str, what: str) -> ModuleType:
    """`importlib.import_module(module)`, or a ModuleNotFoundError naming what needs it and the install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        top = (e.name or module).split(".")[0]
        raise ModuleNotFoundError(f"{what}: {top} is not installed; {install_hint(top)}", name=top) from None
