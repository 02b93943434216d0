"""Training configuration, checked before any compute is spent."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agentgym.reward import COMPONENTS

# ChatML (SmolLM2's format) with generation markers, so TRL can train on the assistant's tokens only
CHATML_WITH_GENERATION = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass
class TrainConfig:
    method: str = "sft"  # sft | grpo
    model: str = "smollm2-135m"
    from_version: str | None = None  # start from this version of `agent_name` in the store (it becomes the parent)
    output_dir: str = "runs/train"
    store: str = "agentgym-store"
    agent_name: str = "smollm2-policy"
    version: str | None = None
    parent_version: str | None = None
    # data
    data_dir: str | None = None
    split: str = "train"
    max_dialogues: int | None = 64
    from_store: bool = False
    # optimisation
    max_steps: int = 20
    learning_rate: float = 5e-5
    batch_size: int = 2
    max_length: int = 1024
    save_steps: int = 10
    seed: int = 0
    lora: bool = False
    lora_r: int = 16
    use_unsloth: bool | None = None  # None: when CUDA is present and unsloth is installed
    # GRPO
    group_size: int = 4
    max_turns: int = 6
    max_new_tokens: int = 48  # per agent turn in a rollout
    temperature: float = 1.0
    rewards: dict[str, float] = field(default_factory=lambda: {"rule": 1.0})

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
        data: dict[str, Any] = {}
        if path is not None:
            data = _read_config(Path(path))
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown config key(s) {sorted(unknown)}; known: {', '.join(cls.__dataclass_fields__)}.")
        cfg = cls(**{**data, **{k: v for k, v in overrides.items() if v is not None}})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Every mistake we can see without loading a model, with what to do about it."""
        from agentgym.train.policy import resolve_policy_name

        self._check_types()
        if self.method not in ("sft", "grpo"):
            raise ValueError(f"method must be 'sft' or 'grpo', got {self.method!r}.")
        resolve_policy_name(self.model)
        known = {"rule", "judge", *COMPONENTS}
        bad = set(self.rewards) - known
        if bad:
            raise ValueError(f"Unknown reward name(s) {sorted(bad)}; use any of: {', '.join(sorted(known))}.")
        if self.method == "grpo" and self.group_size < 2:
            raise ValueError(f"group_size must be at least 2 for GRPO (advantages compare completions in a group), got {self.group_size}.")
        if self.use_unsloth:
            from agentgym.train.common import cuda_available

            if not cuda_available():
                raise ValueError("use_unsloth=true needs a CUDA GPU and none is visible; set use_unsloth to null (auto) or false.")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive (GRPO samples a group of different episodes), got {self.temperature}.")
        for name in ("max_steps", "batch_size", "max_length", "save_steps", "max_turns", "max_new_tokens", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.max_dialogues is not None and self.max_dialogues < 1:
            raise ValueError(f"max_dialogues must be at least 1 (or null for all), got {self.max_dialogues}.")

    def _check_types(self) -> None:
        """A value of the wrong type (e.g. `--set max_steps=ten`) is named, not a TypeError later."""
        kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
        for f in fields(self):
            value = getattr(self, f.name)
            allowed = [k for k in str(f.type).replace(" ", "").split("|")]
            if value is None and "None" in allowed:
                continue
            if allowed[0].startswith("dict"):
                ok = isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values())
            else:
                types = tuple(t for a in allowed for t in kinds.get(a, ()))
                ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            if not ok:
                raise ValueError(f"{f.name} must be {' or '.join(allowed)}, got {value!r} ({type(value).__name__}).")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_config(path: Path) -> dict[str, Any]:
    """A JSON or YAML file of TrainConfig fields, or an error that names the file and what is wrong with it."""
    if path.is_dir():
        raise ValueError(f"The config {path} is a folder; give a .json or .yaml file of TrainConfig fields.")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise ValueError(f"The config {path} is not valid YAML: {' '.join(str(e).split())}") from None
    else:
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as e:
            raise ValueError(f"The config {path} is not valid JSON ({e}); YAML files need a .yaml suffix.") from None
    if not isinstance(data, dict):
        raise ValueError(f"The config {path} must hold a mapping of TrainConfig fields, got a {type(data).__name__}.")
    return data
