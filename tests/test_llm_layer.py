"""The LLM access layer against a misbehaving OpenAI-compatible server on loopback."""
import time

import pytest

pytest.importorskip("litellm")

from fake_llm_server import FakeLLMServer  # noqa: E402

from agentgym.llm import LLM, Ledger  # noqa: E402

MSG = [{"role": "user", "content": "hi"}]


def llm(server, tmp_path, **kw):
    return LLM("openai/gpt-4o-mini", api_base=server.api_base, api_key="sk-test-not-a-real-key-123456789",
               cache=kw.pop("cache", tmp_path / "cache.sqlite"), backoff=0.01, timeout=kw.pop("timeout", 5), **kw)


def test_retries_rate_limits_and_server_errors_then_succeeds(tmp_path):
    with FakeLLMServer([429, 500, "ok"]) as srv:
        res = llm(srv, tmp_path).complete(MSG, role="judge")
    assert res.ok and res.attempts == 3 and srv.hits == 3
    assert res.prompt_tokens == 12 and res.completion_tokens == 5


@pytest.mark.parametrize("failure", [500, 429, "malformed", "empty"])
def test_failure_after_retries_is_reported_not_raised(tmp_path, failure):
    with FakeLLMServer([failure]) as srv:
        res = llm(srv, tmp_path, max_retries=2, timeout=1).complete(MSG, role="user")
    assert not res.ok and res.text is None and res.attempts == 3
    assert "failed after 3 attempt(s)" in res.error


def test_a_hung_server_is_tried_twice_then_skipped_at_once(tmp_path):
    with FakeLLMServer(["timeout"]) as srv:
        client = llm(srv, tmp_path, max_retries=5, timeout=1)
        first = client.complete(MSG, role="judge")
        hits = srv.hits
        t0 = time.perf_counter()
        second = client.complete([{"role": "user", "content": "again"}], role="judge")
        skipped_in = time.perf_counter() - t0
    assert not first.ok and first.attempts == 2 and hits == 2  # not max_retries + 1 = 6 waits
    assert "Timeout" in first.error
    assert not second.ok and "skipped" in second.error and "raise timeout=" in second.error
    assert srv.hits == hits and skipped_in < 0.5
    assert LLM("openai/x").timeout <= 30 and LLM("openai/x").max_retries <= 3  # bounded defaults


def test_client_errors_are_not_retried(tmp_path):
    with FakeLLMServer([400]) as srv:
        res = llm(srv, tmp_path).complete(MSG)
    assert not res.ok and res.attempts == 1 and srv.hits == 1


def test_cache_replays_exactly_and_for_free(tmp_path):
    with FakeLLMServer(["ok:first", "ok:second"]) as srv:
        model = llm(srv, tmp_path)
        a = model.complete(MSG)
        b = model.complete(MSG)
        c = model.complete(MSG, temperature=0.5)  # another request, another key
    assert a.text == b.text == "first" and b.cached and not a.cached and srv.hits == 2 and c.text == "second"
    assert b.cost == 0.0


def test_ledger_rolls_up_tokens_and_cost_per_role(tmp_path):
    ledger = Ledger()
    with FakeLLMServer(["ok"]) as srv:
        model = llm(srv, tmp_path, cache=False, ledger=ledger)
        model.complete(MSG, role="user")
        model.complete(MSG, role="judge")
        model.complete(MSG, role="judge")
    roles = ledger.by_role()
    assert roles["judge"]["calls"] == 2 and roles["user"]["calls"] == 1
    assert roles["judge"]["prompt_tokens"] == 24 and roles["judge"]["cost"] > 0  # gpt-4o-mini has a price
    assert len(ledger.frame()) == 3


def test_config_never_holds_the_key(tmp_path):
    with FakeLLMServer(["ok"]) as srv:
        cfg = llm(srv, tmp_path).config()
    assert "sk-test" not in str(cfg) and cfg["model"] == "openai/gpt-4o-mini"


def test_concurrent_requests(tmp_path):
    with FakeLLMServer(["ok"], delay=0.3) as srv:
        model = llm(srv, tmp_path, cache=False)
        t = time.perf_counter()
        out = model.map([[{"role": "user", "content": str(i)}] for i in range(8)], role="agent", max_workers=8)
        elapsed = time.perf_counter() - t
    assert all(r.ok for r in out) and srv.hits == 8
    assert elapsed < 8 * 0.3  # they overlapped (not a timing claim, just that map is concurrent)


def test_the_local_engine_sees_a_busy_process_beside_it():
    """What LocalEngine fits its thread count to (each call): threads runnable outside this process."""
    import subprocess
    import sys

    from agentgym.llm.local import busy_elsewhere

    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert busy_elsewhere(samples=3) >= 1
    finally:
        burner.kill()
        burner.wait()


def test_the_local_engine_says_the_same_at_any_thread_count(monkeypatch):
    """Fitting threads to the load must not change what the model says (same seed, greedy)."""
    pytest.importorskip("llama_cpp")
    from agentgym.llm.local import LocalEngine

    engine = LocalEngine.get("smollm2-135m")
    messages = [{"role": "user", "content": "Tell me about the weather in Paris in spring."}]
    # a first call evaluates the whole prompt in one batch, a repeat reuses llama.cpp's cached prefix, which can
    # change a near-tie (a property of llama-cpp-python's prompt cache, at any thread count): compare repeats
    engine.chat(messages, max_tokens=60)
    said = []
    for threads in ("2", "1", "2"):
        monkeypatch.setenv("AGENTGYM_LLM_THREADS", threads)
        said.append(engine.chat(messages, max_tokens=60)["choices"][0]["message"]["content"])
        assert engine.threads == int(threads)
    assert said[0] == said[1] == said[2] and said[0]
