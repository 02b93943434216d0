"""DSPy user programs: a realizer (acts + goal + history → the user's message) and a full user
(goal + history → the user's message), optimizable against real SGD users and loaded by the env:
`gym.make("agentgym/SGD-v0", user="dspy", user_kwargs={"program": "program.json"})` (no path: the program
shipped in the package).

One declaration drives the prompt and the parsing: the signature's docstring and fields are what
`OneFieldAdapter` writes into the messages, and its one output field is the whole completion —
small models do not keep DSPy's `[[ ## field ## ]]` markers. DSPy talks to models through
`AgentgymLM`, our LLM client (local model by default, any litellm string, disk cache keyed by the
full request including api_base, retries, the ledger). Known traps handled here: llama.cpp in
process is not thread-safe (evaluation is serial), `dspy.configure` from a worker thread raises
(we only use `dspy.context`), DSPy's own cache is off (its key ignores api_base).

Every turn a program writes is checked (`wording.check_wording`) before the agent sees it; a turn
that fails is replaced by the template wording and the reason is reported (`info["user_fallback"]`).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
warnings.filterwarnings("ignore", module=r"dspy(\..*)?")

import dspy  # noqa: E402

from agentgym.domains.sgd.users.base import UserTurn  # noqa: E402
from agentgym.domains.sgd.users.goal_user import GoalDrivenUser, load_user_model  # noqa: E402
from agentgym.domains.sgd.users.llm_user import HybridUser, describe_acts, goal_text  # noqa: E402
from agentgym.llm.client import LLM  # noqa: E402
from agentgym.safeio import loads_json, read_bounded, write_private  # noqa: E402
from agentgym.scrub import scrub  # noqa: E402

FORMAT = "agentgym-user-program"
FORMAT_VERSION = 1
KINDS = ("realizer", "user")
DEFAULT_PROGRAM = Path(__file__).resolve().parent / "programs" / "realizer.json"


class Realize(dspy.Signature):
    """Write the customer's next message to a support agent. Say exactly what the acts say, include
    every value as written, add nothing else. One or two short sentences."""

    acts: str = dspy.InputField(desc="what the customer says this turn")
    goal: str = dspy.InputField(desc="what the customer wants overall")
    history: str = dspy.InputField(desc="the last turns of the conversation")
    message: str = dspy.OutputField(desc="the customer's message")


class Simulate(dspy.Signature):
    """You are a customer talking to a support agent. Write your next message: pursue your goal one
    step at a time, answer what the agent asked, reveal details only when useful. One short sentence."""

    goal: str = dspy.InputField(desc="what you want")
    history: str = dspy.InputField(desc="the conversation so far")
    message: str = dspy.OutputField(desc="your next message")


SIGNATURES = {"realizer": Realize, "user": Simulate}


class OneFieldAdapter(dspy.Adapter):
    """Inputs as 'Name: value' lines, the single output field as the whole reply."""

    def __init__(self) -> None:
        super().__init__(use_native_function_calling=False)

    def format_field_description(self, signature: Any) -> str:
        return ""

    def format_field_structure(self, signature: Any) -> str:
        (name, field), = signature.output_fields.items()
        return f"Reply with {field.json_schema_extra.get('desc', name)} only, no labels."

    def format_task_description(self, signature: Any) -> str:
        return signature.instructions

    def format_system_message(self, signature: Any) -> str:
        return f"{self.format_task_description(signature)}\n{self.format_field_structure(signature)}"

    def format_user_message_content(self, signature: Any, inputs: dict[str, Any], prefix: str = "", suffix: str = "",
                                    main_request: bool = False) -> str:
        lines = [prefix] if prefix else []
        lines += [f"{name.capitalize()}: {inputs[name]}" for name in signature.input_fields if name in inputs]
        return "\n".join(lines + ([suffix] if suffix else []))

    def format_assistant_message_content(self, signature: Any, outputs: dict[str, Any],
                                         missing_field_message: str | None = None) -> str:
        (name, _), = signature.output_fields.items()
        return str(outputs.get(name, missing_field_message or ""))

    def parse(self, signature: Any, completion: str) -> dict[str, Any]:
        (name, _), = signature.output_fields.items()
        text = (completion or "").strip()
        first = next((line for line in text.splitlines() if line.strip()), "")
        for label in ("Message:", "message:", "Customer:", "User:"):
            if first.startswith(label):
                first = first[len(label):]
        return {name: first.strip().strip('"')}


class LLMCallFailed(RuntimeError):
    """The model did not answer after the client's retries."""


class AgentgymLM(dspy.BaseLM):
    """A DSPy LM over agentgym's LLM client (`model`: any litellm string, or None for the local model)."""

    def __init__(self, model: str | None = None, temperature: float = 0.0, max_tokens: int = 48, **llm_args: Any) -> None:
        self.llm = LLM(model, temperature=temperature, max_tokens=max_tokens, **llm_args)
        super().__init__(model=self.llm.model, temperature=temperature, max_tokens=max_tokens, cache=False)
        self.calls = 0

    def forward(self, prompt: str | None = None, messages: list[dict[str, Any]] | None = None, **kwargs: Any) -> dict[str, Any]:
        msgs = messages or [{"role": "user", "content": prompt or ""}]
        overrides = {k: kwargs[k] for k in ("temperature", "max_tokens") if kwargs.get(k) is not None}
        if "rollout_id" in kwargs and kwargs["rollout_id"] is not None:  # DSPy's way to ask for a fresh sample
            overrides["seed"] = int(kwargs["rollout_id"]) + 1
        res = self.llm.complete(msgs, role="user", **overrides)
        self.calls += 1
        if not res.ok:  # after the client's retries: the user reports it and the template wording stands
            raise LLMCallFailed(res.error or "no text")
        return {"model": self.llm.model, "choices": [{"message": {"role": "assistant", "content": res.text or ""},
                                                      "finish_reason": "stop"}],
                "usage": {"prompt_tokens": res.prompt_tokens, "completion_tokens": res.completion_tokens,
                          "total_tokens": res.prompt_tokens + res.completion_tokens}}


class UserProgram(dspy.Module):
    """The user's words as a DSPy program (`kind`: 'realizer' or 'user').

    With a `knn_pool` (the `knn` optimizer) each call's demos are the `knn_k` pool examples nearest to
    its inputs (DSPy's `KNN` over TF-IDF vectors) — KNNFewShot's retrieval, kept in the saved program
    (DSPy's own KNNFewShot replaces `forward` and cannot be saved)."""

    def __init__(self, kind: str = "realizer") -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"Unknown user program kind {kind!r}; kinds: {', '.join(KINDS)}.")
        self.kind = kind
        self.speak = dspy.Predict(SIGNATURES[kind])
        self.knn_pool: list[dict[str, Any]] = []
        self.knn_k = 0
        self._knn: Any = None

    def forward(self, **inputs: Any) -> Any:
        names = SIGNATURES[self.kind].input_fields
        inputs = {k: v for k, v in inputs.items() if k in names}
        if self.knn_pool and self.knn_k:
            return self.speak(**inputs, demos=self._nearest(inputs))
        return self.speak(**inputs)

    def _nearest(self, inputs: dict[str, Any]) -> list[Any]:
        if self._knn is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            names = list(SIGNATURES[self.kind].input_fields)
            pool = [dspy.Example(**ex).with_inputs(*names) for ex in self.knn_pool]
            texts = [" | ".join(f"{k}: {ex[k]}" for k in names) for ex in pool]
            vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
            self._knn = dspy.KNN(self.knn_k, pool, vectorizer=dspy.Embedder(lambda b: vec.transform(b).toarray()))
        return self._knn(**inputs)


def save_program(program: UserProgram, path: str | os.PathLike[str], **meta: Any) -> Path:
    """Write `program` (instructions and demos) with what made it (`meta`: optimizer, model, scores)."""
    path = Path(path)
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "kind": program.kind, "meta": meta,
           "dspy": json.loads(json.dumps(program.dump_state(), default=str)),
           "knn": {"k": program.knn_k, "pool": program.knn_pool}}
    # meta (model strings, arguments) is scrubbed; the DSPy state is kept as DSPy wrote it ("signature" is a secret-like name)
    return write_private(path, json.dumps({**doc, "meta": scrub(doc["meta"])}, indent=1, sort_keys=True))


def load_program(path: str | os.PathLike[str] | None = None) -> tuple[UserProgram, dict[str, Any]]:
    """A saved user program and its meta (no path: the program shipped with agentgym)."""
    path = Path(path) if path is not None else DEFAULT_PROGRAM
    expected = f"a JSON file written by `agentgym optimize-user` (\"format\": \"{FORMAT}\", kinds {', '.join(KINDS)})"
    try:
        doc = loads_json(read_bounded(path, "user program", 16 * 2**20), f"The user program {path}")
    except FileNotFoundError:
        raise FileNotFoundError(f"No user program at {path}; expected {expected}.") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"Cannot read user program {path} ({e}); expected {expected}.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path} is not an agentgym user program; expected {expected}. (A file saved with DSPy's "
                         "own program.save() holds no kind or provenance: re-save it with agentgym.domains.sgd.users.dspy_user.save_program.)")
    if doc.get("version") != FORMAT_VERSION or doc.get("kind") not in KINDS or not isinstance(doc.get("dspy"), dict):
        raise ValueError(f"{path}: unsupported user program (version {doc.get('version')!r}, kind {doc.get('kind')!r}); "
                         f"expected {expected}, version {FORMAT_VERSION}.")
    program = UserProgram(doc["kind"])
    try:
        program.load_state(doc["dspy"])
        knn = doc.get("knn") or {}
        program.knn_k, program.knn_pool = int(knn.get("k") or 0), [dict(ex) for ex in knn.get("pool") or []]
    except Exception as e:  # noqa: BLE001 - any malformed state is the same problem for the user
        raise ValueError(f"{path}: the program's DSPy state does not load ({type(e).__name__}: {e}); expected {expected}.") from None
    return program, dict(doc.get("meta") or {})


def history_text(turns: list[tuple[str, str]], last: int = 4) -> str:
    """The last turns as 'Agent: … / Customer: …' lines."""
    return "\n".join(f"{who}: {text}" for who, text in turns[-last:]) or "(start of the conversation)"


class DSPyUser(HybridUser):
    """The offline policy picks the acts; a DSPy program words them (realizer) or writes the turn from
    the goal and history alone (full user). Every wording is checked; the template wording stands in."""

    name = "dspy"

    @classmethod
    def from_env(cls, env: Any, persona: Any = None) -> DSPyUser:  # type: ignore[override]
        program, meta = load_program(getattr(env, "user_program", None))
        lm = AgentgymLM(env.user_llm, **({"temperature": 0.0, "max_tokens": 48} | env.user_llm_args))
        return cls(program=program, lm=lm, program_meta=meta, model=load_user_model(env.user_train_dir, "train"),
                   persona=persona, services=env.corpus.services)

    def __init__(self, program: UserProgram | None = None, lm: AgentgymLM | None = None,
                 program_meta: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.lm = lm or AgentgymLM()
        super().__init__(llm=self.lm.llm, **kwargs)
        self.program, self.program_meta = (program, program_meta or {}) if program is not None else load_program()
        self.adapter = OneFieldAdapter()
        self.turns_said: list[tuple[str, str]] = []

    def reset(self, task: Any, seed: int) -> UserTurn:
        self.turns_said = []
        return super().reset(task, seed)

    def respond(self, agent_message: str, context: Any) -> UserTurn:
        self.turns_said.append(("Agent", str(agent_message)[:500]))
        return super().respond(agent_message, context)

    def _say(self, acts: list[Any], prefix: str = "") -> UserTurn:
        turn = GoalDrivenUser._say(self, acts, prefix)  # state, acts and the template wording (the fallback)
        assert self.state is not None
        inputs = {"acts": describe_acts(acts), "goal": goal_text(self.state.task), "history": history_text(self.turns_said)}
        with dspy.context(lm=self.lm, adapter=self.adapter):
            try:
                text = self.program(**inputs).message
            except Exception as e:  # noqa: BLE001 - a failed call is reported, the template wording stands
                self.llm_failures += 1
                self.worded += 1
                self.fallbacks += 1
                turn.error, turn.fallback = f"{type(e).__name__}: {e}", "the program failed"
                text = None
        if text is not None:
            instructions = SIGNATURES[self.program.kind].instructions
            turn = self.checked(turn, (prefix + text).strip(), instructions, acts if self.program.kind == "realizer" else [])
        self.turns_said.append(("Customer", turn.text))
        return turn

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "program_kind": self.program.kind, "program": self.program_meta,
                "user_llm": self.lm.llm.model, "persona": getattr(self.persona, "__dict__", str(self.persona))}


def program_realizer(program: UserProgram | None = None, lm: AgentgymLM | None = None) -> Any:
    """A user program's wording as a function, for `audit_user(realize=...)` (no program: the shipped one)."""
    program = program if program is not None else load_program()[0]
    lm, adapter = lm or AgentgymLM(), OneFieldAdapter()

    def realize(acts: list[Any], task: Any, history: list[tuple[str, str]], template: str) -> str | None:
        inputs = {"acts": describe_acts(acts), "goal": goal_text(task), "history": history_text(history)}
        with dspy.context(lm=lm, adapter=adapter):
            try:
                return str(program(**inputs).message)
            except Exception:  # noqa: BLE001 - a failed call: the template stands, counted as a fallback
                return None
    return realize
