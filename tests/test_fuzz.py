"""Thousands of random and malformed actions: nothing escapes step(), every bad one is explained."""
import json
import os

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
