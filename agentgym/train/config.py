"""Training configuration, checked before any compute is spent."""
from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A config field with its help text (TRL's style: `TrainConfig.help()` prints them all)."""
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


# the largest value each whole-number field may take: far past any run on one machine, well short of a typo
BOUNDS = {"max_steps": 10**7, "batch_size": 4096, "max_length": 131_072, "save_steps": 10**7, "max_turns": 1000,
          "max_new_tokens": 32_768, "lora_r": 1024, "max_dialogues": 10**7, "group_size": 1024, "tasks_per_step": 4096,
          "eval_tasks": 10**6, "eval_every": 10**7, "eval_samples": 1000}


@dataclass
class TrainConfig:
    """What every training method shares (the model, where versions go, the data, the optimizer), checked in
    `__post_init__` before any compute is spent. Build a method's own config, as TRL's are: `SFTConfig` or
    `GRPOConfig`; `TrainConfig.load(path)` picks one by the file's `method`."""

    method: ClassVar[str] = ""
    model: str = _f("smollm2-135m", "Starting weights: 'smollm2-135m' (packaged, offline) or a local model folder with any chat template.")
    from_version: str | None = _f(None, "Start from this version of `agent_name` in the store (it becomes the parent).")
    output_dir: str = _f("runs/train", "Where checkpoints and `final/` are written.")
    store: str = _f("agentgym-store", "Experience store (folder, .db file or database URL): versions, rollouts, verdicts.")
    agent_name: str = _f("smollm2-policy", "The agent the trained versions are registered under.")
    version: str | None = _f(None, "Name of the final version (default '<method>-final'); checkpoints add '-step<N>'.")
    parent_version: str | None = _f(None, "Record this version of `agent_name` as the parent.")

    data_dir: str | None = _f(None, "SGD-format folder (None: the embedded sample).")
    split: str = _f("train", "Split to train on: of `data_dir` for SGD, tau2-bench's `train` for tau2 (evaluate on `test`).")
    max_dialogues: int | None = _f(64, "Training tasks/dialogues used (None: all); GRPO's held-out tasks come after them.")
    env_id: str = _f("agentgym/SGD-v0", "Gymnasium id of the training env (any agentgym id: SGD, tau2 domains, Traces).")

    max_steps: int = _f(20, "Optimizer steps.")
    learning_rate: float = _f(5e-5, "Learning rate.")
    max_length: int = _f(1024, "Longest sequence (tokens): an SFT example, or a GRPO episode.")
    save_steps: int = _f(10, "Save (and register as a version) every N steps.")
    seed: int = _f(0, "Seeds the model init, sampling and the episodes.")
    lora: bool = _f(False, "Train LoRA adapters instead of all weights.")
    lora_r: int = _f(16, "LoRA rank.")
    use_unsloth: bool | None = _f(None, "Unsloth's kernels (None: when a CUDA GPU and unsloth are there).")
    report_to: str = _f("none", "Also log to 'tensorboard' or 'trackio' (both offline), or 'none'.")

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def help(cls) -> str:
        """Every field, its default and what it does."""
        return "\n".join(f"{f.name} = {f.default if f.default is not MISSING else f.default_factory()!r}: {f.metadata.get('help', '')}"
                         for f in fields(cls))

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> TrainConfig:
        """A config from a JSON/YAML file of fields and overrides (None values ignored). On `TrainConfig` the
        `method` key (default 'sft') picks `SFTConfig` or `GRPOConfig`; on those, it must name them."""
        data: dict[str, Any] = {}
        if path is not None:
            data = _read_config(Path(path))
        sets = {k: v for k, v in overrides.items() if v is not None}
        in_file = data.pop("method", None)
        method = sets.pop("method", None) or in_file or cls.method or "sft"
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
        if cls.method and method != cls.method:
            raise ValueError(f"{cls.__name__} is method {cls.method!r}, but the config says method={method!r}; "
                             f"use {METHODS[method].__name__}.load or TrainConfig.load (which picks by method).")
        target = METHODS[method]
        for where, keys in ((f" (in {path})", data), (" (given as an override, e.g. --set)", sets)):
            unknown = set(keys) - set(target.__dataclass_fields__)
            if unknown:
                raise ValueError(_unknown_keys(unknown, target, where))
        return target(**{**data, **sets})

    def validate(self) -> None:
        """Every mistake we can see without loading a model, with what to do about it."""
        from agentgym.train.policy import resolve_policy_name

        if type(self) is TrainConfig:
            raise TypeError("TrainConfig holds what the methods share; build SFTConfig(...) or GRPOConfig(...) "
                            "(TrainConfig.load(path) picks one by the file's `method`).")
        self._check_types()
        resolve_policy_name(self.model)
        if self.use_unsloth:
            from agentgym.train.policy import cuda_available

            if not cuda_available():
                raise ValueError("use_unsloth=true needs a CUDA GPU and none is visible; set use_unsloth to null (auto) or false.")
        self._check_ranges()
        self._check_env()
        self._check_method()
        self._check_paths()

    def _check_method(self) -> None:
        """The method's own fields (each method's config adds its checks here)."""

    def _check_ranges(self) -> None:
        """Numbers finite and within what one machine can run (a typo of 10**15 is refused, not started)."""
        from agentgym.safeio import finite_number

        finite_number("learning_rate", self.learning_rate, low=0.0, high=1.0, low_open=True)
        for name, high in BOUNDS.items():
            if name not in self.__dataclass_fields__:
                continue
            value = getattr(self, name)
            if value is None and name in ("max_dialogues",):
                continue
            low = 0 if name in ("eval_tasks", "eval_every") else 1
            finite_number(name, value, low=low, high=high, integer=True)
        finite_number("seed", self.seed, low=0, high=2**32 - 1, integer=True)

    def _check_mappings(self, names: tuple[str, ...]) -> None:
        from agentgym.safeio import depth_of

        for name in names:
            value = getattr(self, name)
            bad = [k for k in value if not isinstance(k, str) or not k]
            if bad:
                raise ValueError(f"{name} keys must be non-empty strings, got {bad[:3]!r}.")
            if depth_of(value, 16) > 16 or len(repr(value)) > 2**20:
                raise ValueError(f"{name} is too deep or too large (over 16 levels or 1 MB); a config holds settings, not data.")

    def _check_paths(self) -> None:
        """output_dir must be a folder this process can write, found out now rather than after the model loaded."""
        import os

        out = Path(self.output_dir)
        if out.exists() and not out.is_dir():
            raise ValueError(f"output_dir {out} is a file; give a folder for the checkpoints.")
        probe = out
        while not probe.exists():
            probe = probe.parent
        if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
            raise ValueError(f"output_dir {out} cannot be written ({probe} is {'not a folder' if not probe.is_dir() else 'not writable'}); "
                             "choose a folder you can write to, e.g. --set output_dir=runs/train.")

    def _check_env(self) -> None:
        """The env id, checked without building the env."""
        import gymnasium as gym

        import agentgym  # noqa: F401  (registers the ids)

        if self.env_id not in gym.registry:
            ids = sorted(k for k in gym.registry if k.startswith("agentgym/"))
            raise ValueError(f"Unknown env_id {self.env_id!r}; agentgym's ids: {', '.join(ids)}.")
        if self.report_to not in ("none", "tensorboard", "trackio"):
            raise ValueError(f"report_to must be 'none', 'tensorboard' or 'trackio', got {self.report_to!r}.")

    def _check_types(self) -> None:
        """A value of the wrong type (e.g. `--set max_steps=ten`) is named, not a TypeError later."""
        kinds = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,)}
        for f in fields(self):
            value = getattr(self, f.name)
            allowed = [k for k in str(f.type).replace(" ", "").split("|")]
            if value is None and "None" in allowed:
                continue
            if allowed[0].startswith("dict"):
                numeric = f.name in ("rewards", "rubric")  # weights; env_kwargs and persona hold any values
                ok = isinstance(value, dict) and (not numeric or all(isinstance(v, (int, float)) for v in value.values()))
            else:
                types = tuple(t for a in allowed for t in kinds.get(a, ()))
                ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
            if not ok:
                raise ValueError(f"{f.name} must be {' or '.join(allowed)}, got {value!r} ({type(value).__name__}).")

    def to_dict(self) -> dict[str, Any]:
        """The fields and `method`: what `TrainConfig.load` reads back."""
        return {"method": self.method, **asdict(self)}


@dataclass
class SFTConfig(TrainConfig):
    """Supervised warm start: the env's domain's demonstrations (SGD's recorded dialogues), or the store's
    successful episodes, as chat examples for TRL's SFTTrainer."""

    method: ClassVar[str] = "sft"
    batch_size: int = _f(2, "Examples per optimizer step.")
    from_store: bool = _f(False, "Add the store's successful episodes to the demonstrations.")
    min_judge: float | None = _f(None, "With from_store: keep only episodes the judge scored at least this (mean verdict, 0-1).")


    def _check_method(self) -> None:
        if self.min_judge is not None:
            from agentgym.safeio import finite_number

            finite_number("min_judge (a judge score between 0 and 1)", self.min_judge, low=0.0, high=1.0)


@dataclass
class GRPOConfig(TrainConfig):
    """GRPO: groups of episodes played in the env by the policy, scored by the env's rubric (and the judge),
    for TRL's GRPOTrainer; held-out tasks scored before, during and after."""

    method: ClassVar[str] = "grpo"
    env_kwargs: dict = _f({}, "More arguments of the env (e.g. {'tasks': 'scenarios.jsonl', 'service_domain': 'Restaurants'}); checked against its signature.")
    user: str | None = _f(None, "Simulated user of the env's domain (None: the env's own; SGD: goal, llm, hybrid, replay, dspy; tau2: offline, llm).")
    persona: dict = _f({}, "Persona knobs of the goal user, e.g. {'patience': 2, 'withhold': true}.")
    user_llm: str | None = _f(None, "litellm model string for the llm/hybrid user (None: the local model).")
    judge: str | None = _f(None, "LLM judge model: 'local' (the packaged model) or a litellm string; None: no judge.")
    judge_mode: str = _f("episode", "Judge once per episode ('episode') or every agent message ('step').")
    judge_args: dict = _f({}, "Arguments of the judge's LLM client: api_base, temperature, max_tokens, timeout, max_retries...")
    judge_rubric: dict = _f({}, "The judge's criteria {name: what it checks} (empty: agentgym.llm.judge.DEFAULT_RUBRIC).")
    rubric: dict = _f({}, "Weights of the env's rubric criteria, over its defaults (domain_of(env_id).get_rubric().table()); SGD only.")

    group_size: int = _f(4, "Completions (episodes) per task; advantages compare them.")
    tasks_per_step: int = _f(2, "Tasks per optimizer step: a step trains on tasks_per_step x group_size episodes.")
    max_turns: int = _f(6, "Agent turns per episode.")
    max_new_tokens: int = _f(48, "Tokens per agent turn in a rollout.")
    temperature: float = _f(1.0, "Sampling temperature of rollouts.")
    rewards: dict = _f({"rule": 1.0}, "Reward mix: 'rule' (the rubric total), 'judge' (its mean score), or any criterion of the env's rubric.")

    eval_tasks: int = _f(0, "Held-out tasks scored before training, every `eval_every` steps and at the end (0: none).")
    eval_every: int = _f(0, "Evaluate every N steps (0: before and after only).")
    eval_samples: int = _f(2, "Episodes per held-out task (seeded: the same episodes at every evaluation).")
    record_rollouts: bool = _f(True, "Write every rollout and evaluation episode to the store (run, version, step in meta).")


    def _check_method(self) -> None:
        from agentgym.safeio import finite_number

        if self.group_size < 2:
            raise ValueError(f"group_size must be at least 2 for GRPO (advantages compare completions in a group), got {self.group_size}.")
        finite_number("temperature (GRPO samples a group of different episodes)", self.temperature, low=0.0, high=100.0,
                      low_open=True)
        for name in ("rewards", "rubric"):
            for k, w in getattr(self, name).items():
                finite_number(f"{name}[{k!r}] (a weight)", w, low=-1e6, high=1e6)
        self._check_mappings(("env_kwargs", "persona", "judge_args", "judge_rubric"))
        self._check_played_env()

    def _check_played_env(self) -> None:
        if self.judge_mode not in ("episode", "step"):
            raise ValueError(f"judge_mode must be 'episode' or 'step', got {self.judge_mode!r}.")
        if "judge" in self.rewards and self.rewards["judge"] and self.judge is None:
            raise ValueError("rewards has a 'judge' term but no judge model is set: set judge='local' (the packaged model) "
                             "or a litellm model string, or drop 'judge' from rewards.")
        if self.judge == "":
            raise ValueError("judge is empty: use 'local', a litellm model string, or None for no judge.")
        if (self.judge_args or self.judge_rubric) and self.judge is None:
            raise ValueError("judge_args/judge_rubric are set but judge is None: set judge='local' or a litellm model string.")
        bad_args = set(self.judge_args) - {"api_base", "api_key", "temperature", "max_tokens", "seed", "timeout",
                                           "max_retries", "backoff", "cache"}
        if bad_args:
            raise ValueError(f"Unknown judge_args {sorted(bad_args)}; use api_base, api_key, temperature, max_tokens, seed, "
                             "timeout, max_retries, backoff or cache.")
        from agentgym.domain import domain_of

        rubric = domain_of(self.env_id).get_rubric()
        rubric.check_names(self.rewards, f"reward name(s) for {self.env_id}", extra=("rule", "judge"))
        rubric.check_names(self.rubric, f"rubric criterion(s) of {self.env_id}")
        if self.persona:
            from agentgym.domains.sgd.users import Persona

            known = {f.name for f in fields(Persona)}
            if set(self.persona) - known:
                raise ValueError(f"Unknown persona knob(s) {sorted(set(self.persona) - known)}; known: {', '.join(sorted(known))}.")
            Persona(**self.persona)  # each knob of its kind and range

    def env_spec(self) -> tuple[str, dict[str, Any]]:
        """(env id, kwargs) of the training env, as `gymnasium.make` takes them."""
        from agentgym.domain import domain_of

        persona = None
        if self.persona:
            from agentgym.domains.sgd.users import Persona

            persona = Persona(**self.persona)
        domain = domain_of(self.env_id)
        generic = domain.env_kwargs(
            self.env_id, data_dir=self.data_dir, split=self.split if domain.takes("split") else None, user=self.user, persona=persona,
            user_kwargs={"llm": self.user_llm} if self.user_llm else None,
            rubric={**domain.get_rubric().weights, **self.rubric} if self.rubric else None)
        kwargs: dict[str, Any] = generic | dict(self.env_kwargs)  # env_kwargs, the env's own names, win
        if self.judge is not None:
            kwargs.setdefault("judge", self.make_judge())
            kwargs.setdefault("judge_mode", self.judge_mode)
        kwargs.update(domain.env_kwargs(self.env_id, max_turns=self.max_turns))
        return self.env_id, kwargs

    def make_judge(self) -> Any:
        """The configured LLMJudge (a new client each call: every env keeps its own ledger)."""
        from agentgym.llm.client import LLM
        from agentgym.llm.judge import LLMJudge

        model = None if self.judge == "local" else self.judge
        return LLMJudge(LLM(model, **self.judge_args), rubric=self.judge_rubric or None)

    def make_env(self) -> Any:
        """The training env; unknown kwargs or ids are refused with what the env accepts."""
        return make_checked_env(*self.env_spec())


METHODS: dict[str, type[TrainConfig]] = {"sft": SFTConfig, "grpo": GRPOConfig}


def _unknown_keys(unknown: set[Any], target: type[TrainConfig], where: str) -> str:
    """What is wrong with keys `target` lacks: a key of another method's config says which, the rest list the known keys."""
    names = sorted(map(str, unknown))
    elsewhere = {k: m for k in names for m, c in METHODS.items() if c is not target and k in c.__dataclass_fields__}
    if elsewhere:
        return (f"{', '.join(f'{k!r} is a {m.upper()} setting' for k, m in elsewhere.items())}{where}, and this config is "
                f"method {target.method!r} ({target.__name__}); drop it or set method: {next(iter(elsewhere.values()))} "
                f"(on the command line: `agentgym train {next(iter(elsewhere.values()))}`).")
    return (f"Unknown config key(s) {names}{where}; known: {', '.join(target.__dataclass_fields__)} "
            f"(`{target.__name__}.help()` says what each does).")


def _read_config(path: Path) -> dict[str, Any]:
    """A JSON or YAML file of TrainConfig fields, or an error that names the file and what is wrong with it."""
    from agentgym.safeio import load_yaml, loads_json, read_bounded

    if path.is_dir():
        raise ValueError(f"The config {path} is a folder; give a .json or .yaml file of TrainConfig fields.")
    text = read_bounded(path, "config", 2**20)
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = load_yaml(text, f"The config {path}") or {}
        except yaml.YAMLError as e:
            raise ValueError(f"The config {path} is not valid YAML: {' '.join(str(e).split())}") from None
    else:
        try:
            data = loads_json(text, f"The config {path}") if text.strip() else {}
        except json.JSONDecodeError as e:
            raise ValueError(f"The config {path} is not valid JSON ({e}); YAML files need a .yaml suffix.") from None
    if not isinstance(data, dict):
        raise ValueError(f"The config {path} must hold a mapping of TrainConfig fields, got a {type(data).__name__}.")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ValueError(f"The config {path} has key(s) that are not names: {bad[:3]!r}; every key is a TrainConfig field.")
    return data


def make_checked_env(env_id: str, kwargs: dict[str, Any]) -> Any:
    """`gymnasium.make` with errors that say what to change: an unknown id lists the ids, an unknown
    argument lists the arguments the env takes."""
    import importlib
    import inspect

    import gymnasium as gym

    import agentgym  # noqa: F401  (registers the ids)

    if env_id not in gym.registry:
        ids = sorted(k for k in gym.registry if k.startswith("agentgym/"))
        raise ValueError(f"Unknown env_id {env_id!r}; agentgym's ids: {', '.join(ids)}.")
    entry = gym.registry[env_id].entry_point
    if isinstance(entry, str):
        module, name = entry.split(":")
        params = inspect.signature(getattr(importlib.import_module(module), name)).parameters
        unknown = set(kwargs) - set(params)
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            raise ValueError(f"{env_id} does not take {sorted(unknown)}; it takes: {', '.join(p for p in params if p != 'self')}.")
    return gym.make(env_id, **kwargs).unwrapped
