"""The local model can never take Python down: a child process probes the llama.cpp build once per
environment, a build that crashes is refused with the fix, and the package works without any LLM extra."""
import subprocess
import sys
import textwrap

import pytest

from agentgym.llm.probe import EngineVerdict, LocalEngineUnavailable, probe_engine, probe_key, record_verdict, run_probe


@pytest.fixture()
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_crashing_child_is_reported_not_inherited(tmp_path):
    segfault = "import ctypes; ctypes.string_at(0)"
    ok, reason = run_probe(tmp_path / "model.gguf", timeout=60, code=segfault)
    assert not ok and "SIGSEGV" in reason  # we are still here to read it
    ok, reason = run_probe(tmp_path / "model.gguf", timeout=60, code="raise SystemExit('no AVX2 here')")
    assert not ok and "no AVX2 here" in reason


def test_an_unsafe_verdict_refuses_the_engine_with_the_fix(own_cache, monkeypatch):
    pytest.importorskip("llama_cpp")
    from agentgym.llm import LLM
    from agentgym.llm.local import LocalEngine, gguf_path

    model = gguf_path()
    record_verdict(EngineVerdict(False, "a test generation in a child process died with SIGILL", probe_key(model)))
    with pytest.raises(LocalEngineUnavailable) as e:
        LocalEngine("smollm2-135m")
    assert "SIGILL" in str(e.value) and "GGML_NATIVE=OFF" in str(e.value) and "LocalServer" in str(e.value)
    monkeypatch.setattr(LocalEngine, "_engines", {})  # nothing loaded in this process yet
    res = LLM("local/smollm2-135m", cache=False).complete([{"role": "user", "content": "Hi"}])
    assert not res.ok and res.attempts == 0 and "GGML_NATIVE=OFF" in res.error  # reported, not retried


def test_the_real_build_passes_the_probe_once_then_from_cache(own_cache):
    pytest.importorskip("llama_cpp")
    first = probe_engine()
    assert first.ok, first.reason
    again = probe_engine()
    assert again.ok and again.cached and again.key == first.key
    assert (own_cache / "engine-probe" / f"{first.key}.json").exists()


def test_package_works_without_any_llm_or_training_extra(tmp_path):
    """env, users, store and the workbench session import and run with litellm, llama.cpp, torch,
    transformers and TRL all unimportable."""
    code = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {{"litellm", "llama_cpp", "torch", "transformers", "trl", "peft", "dspy"}}:
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import gymnasium as gym, agentgym
        from agentgym.domains.sgd.agents import ScriptedAgent
        from agentgym.runner import run_episodes
        from agentgym.store import ExperienceStore, RecordEpisodes
        from agentgym.workbench import StepSession
        store = ExperienceStore({str(tmp_path / "store")!r}, create=True)
        env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store)
        run_episodes(env, ScriptedAgent(), episodes=2, progress=False)
        s = StepSession(store=store)
        s.start(seed=1); s.send("Hello, which city?")
        from agentgym.llm import LLM
        r = LLM("local/smollm2-135m", cache=False).complete([{{"role": "user", "content": "hi"}}])
        assert not r.ok and "agentgym-workbench[llm]" in r.error, r.error
        print("episodes", len(store.episodes()))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "episodes 3" in done.stdout
