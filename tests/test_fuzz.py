"""Thousands of random and malformed actions: nothing escapes step(), every bad one is explained."""
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentgym import SGDEnv

ENV = SGDEnv(max_turns=10_000)
TOOLS = ["Weather_1_GetWeather", "Services_4_FindProvider", "Services_4_BookAppointment", "Nope", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
tool_calls = st.builds(
    lambda name, args: {"name": name, "arguments": args},
    st.sampled_from(TOOLS) | st.text(max_size=20),
    st.dictionaries(st.sampled_from(["city", "date", "type", "appointment_time", "x"]) | st.text(max_size=8), json_values, max_size=5) | json_values,
)
actions = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(), min_size=0, max_size=50).map(lambda s: "{" + s),
    tool_calls.map(json.dumps),
    tool_calls,
    st.builds(lambda n, a: f"{n}({a})", st.sampled_from(TOOLS), st.text(max_size=40)),
    st.builds(lambda tag, rest: f"[{tag}] {rest}", st.sampled_from(["search", "action", "answer", "finish", "bogus"]), st.text(max_size=60)),
    st.builds(lambda calls: {"role": "assistant", "content": None, "tool_calls": calls}, st.lists(tool_calls | json_values, max_size=3)),
    json_values,
    st.integers(min_value=1000, max_value=60_000).map(lambda n: "x" * n),
    st.sampled_from(["", "   ", "\x00", "[" * 3000, "{" * 3000, "f(" * 500, "🙂" * 100, "Weather_1_GetWeather('Paris')",
                     "Weather_1_GetWeather(city=open('x'))", "[]", "{}", "null", "[1, 2]"]),
)


@settings(max_examples=int(os.environ.get("AGENTGYM_FUZZ_EXAMPLES", 2500)), deadline=None, suppress_health_check=list(HealthCheck))
@given(action=actions, seed=st.integers(0, 50))
def test_step_never_raises_and_explains_errors(action, seed):
    if ENV.done or ENV.task is None or ENV.turns > 200:
        ENV.reset(seed=seed)
    obs, reward, terminated, truncated, info = ENV.step(action)
    assert isinstance(obs, str) and isinstance(reward, float)
    if info["error"]:
        assert "error" in obs and len(info["error"]) > 10
    if not terminated:
        obs2, *_ = ENV.step("Could you tell me more?")
        assert isinstance(obs2, str)


# ---- every family, one hostile generator ------------------------------------------------------------
# What the SGD fuzz throws, plus what JSON and Python can spell that no encoder takes: lone surrogates (raw
# and as JSON escapes), NUL, huge strings, nesting past the recursion limit, values that contain themselves.

SURROGATE = "\ud800"
hostile_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    [SURROGATE, f"hi {SURROGATE} there", "\udfff\ud800", "a\x00b", "\x00" * 50, "\u202e\u200b", "x" * 25_000])


def _deep(n: int) -> dict:
    d: dict = {}
    for _ in range(n):
        d = {"arguments": d}
    return d


def _cyclic(name: str) -> dict:
    d: dict = {"name": name}
    d["arguments"] = d
    return d


def _hostile_actions(tools: list[str]) -> st.SearchStrategy:
    names = st.sampled_from([*tools, "Nope", "", "done"]) | hostile_text
    values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | hostile_text,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
                          max_leaves=8)
    calls = st.builds(lambda n, a: {"name": n, "arguments": a}, names, st.dictionaries(hostile_text, values, max_size=4) | values)
    return st.one_of(
        actions,
        hostile_text,
        calls,
        calls.map(lambda c: json.dumps(c)),
        calls.map(lambda c: json.dumps(c, ensure_ascii=True).replace("\\\\ud800", "\\ud800")),
        st.builds(lambda n, s: f'{{"name": "{n}", "arguments": {{"x": "{s}"}}}}', st.sampled_from(tools or ["x"]),
                  st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\ud83d"])),
        st.builds(lambda n, s: f"{n}(x='{s}')", st.sampled_from(tools or ["x"]), hostile_text),
        st.builds(lambda s: f"[finish] {s}", hostile_text),
        st.builds(lambda s: f"[action] {s}", hostile_text),
        st.builds(lambda calls: {"role": "assistant", "content": SURROGATE, "tool_calls": calls}, st.lists(calls, max_size=3)),
        st.sampled_from(["deep", "cyclic"]).map(lambda k: _deep(3000) if k == "deep" else _cyclic(tools[0] if tools else "x")),
        st.binary(max_size=30),
    )


def _family_envs() -> dict[str, tuple[str, dict]]:
    import importlib.util
    import tempfile
    from pathlib import Path

    from agentgym.domains.traces import import_traces, sample_traces, save_trace_tasks

    traces = save_trace_tasks(Path(tempfile.mkdtemp()) / "traces.jsonl", import_traces(sample_traces()).tasks)
    out = {"sgd": ("agentgym/SGD-v0", {"max_turns": 10_000}), "traces": ("agentgym/Traces-v0", {"tasks": str(traces), "max_turns": 10_000})}
    if importlib.util.find_spec("tau2") is not None:
        for d in ("airline", "retail", "telecom", "mock"):
            out[f"tau2-{d}"] = (f"agentgym/tau2-{d}-v0", {"max_steps": 10_000})
    return out


FAMILY_ENVS = _family_envs()
_BUILT: dict[str, object] = {}


@pytest.mark.parametrize("family", sorted(FAMILY_ENVS))
def test_no_family_lets_an_exception_escape_step(family):
    import gymnasium as gym

    import agentgym  # noqa: F401

    env_id, kwargs = FAMILY_ENVS[family]
    env = _BUILT.setdefault(family, gym.make(env_id, **kwargs))
    env.reset(seed=0)
    tools = [t["function"]["name"] for t in env.unwrapped._base_info()["tools"]]
    escapes: list[str] = []

    @settings(max_examples=max(50, int(os.environ.get("AGENTGYM_FUZZ_EXAMPLES", 2500)) // 5), deadline=None,
              suppress_health_check=list(HealthCheck), database=None)
    @given(action=_hostile_actions(tools), seed=st.integers(0, 50))
    def fuzz(action, seed):
        u = env.unwrapped
        if u.done or u.turns > 60:
            env.reset(seed=seed)
        try:
            obs, reward, terminated, truncated, info = env.step(action)
            if not (terminated or truncated):
                env.step("[finish]")  # the step that ends it serializes the whole episode (tau2's SimulationRun)
        except Exception as e:  # noqa: BLE001 - counted, then reported all at once
            escapes.append(f"{type(e).__name__}: {str(e)[:200]} <- {repr(action)[:120]}")
            env.reset(seed=seed)
            return
        assert isinstance(obs, str) and isinstance(reward, float) and reward == reward

    fuzz()
    assert escapes == [], f"{len(escapes)} exception(s) escaped step() on {family}: {escapes[:5]}"
