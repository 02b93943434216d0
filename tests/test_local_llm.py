"""The real local model: SmolLM2-135M on llama.cpp, in-process and as a loopback server."""
import importlib.util
import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("litellm") is None or importlib.util.find_spec("llama_cpp") is None,
                                                    reason="needs the llm extra")]


from agentgym import SGDEnv  # noqa: E402
from agentgym.domains.sgd.agents import ScriptedAgent  # noqa: E402
from agentgym.domains.sgd.users.wording import realized  # noqa: E402
from agentgym.llm import LLM, LocalServer, gguf_path  # noqa: E402
from agentgym.runner import play_episode  # noqa: E402

MSG = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Say hello in three words."}]


def test_local_model_answers_offline_through_litellm(tmp_path):
    assert gguf_path().stat().st_size > 50_000_000
    model = LLM(cache=False, max_tokens=20)
    a, b = model.complete(MSG, role="agent"), model.complete(MSG, role="agent")
    assert a.ok and a.text.strip() and a.prompt_tokens > 5 and a.completion_tokens > 0
    assert a.text == b.text  # temperature 0, fixed seed: the same answer
    assert model.ledger.by_role()["agent"]["calls"] == 2


def test_local_model_as_a_loopback_openai_server(tmp_path):
    with LocalServer() as srv:
        model = LLM("openai/smollm2-135m", api_base=srv.api_base, api_key="none", cache=False, max_tokens=16)
        res = model.complete(MSG)
        port = srv.port
    assert res.ok and res.text.strip() and port
    assert srv.proc is None  # stopped


def test_llm_user_plays_an_episode(tmp_path):
    env = SGDEnv(user="llm", max_turns=6, user_kwargs={"llm_args": {"cache": tmp_path / "u.sqlite", "max_tokens": 40}})
    ep = play_episode(env, ScriptedAgent(), seed=0, task_id="11_00061")
    users = [s["observation"] for s in ep.steps if s["observation"].startswith("user: ")]
    assert users and all(len(u) > len("user: ") for u in users)
    assert env.ledger.by_role()["user"]["calls"] >= 1 and ep.turns <= 6


def test_hybrid_user_keeps_every_value(tmp_path):
    env = SGDEnv(user="hybrid", max_turns=8, user_kwargs={"llm_args": {"cache": tmp_path / "h.sqlite", "max_tokens": 40}})
    ep = play_episode(env, ScriptedAgent(), seed=0, task_id="11_00061")
    for step in ep.steps:
        text = step["observation"].split("user: ", 1)[-1]
        for act in step["user_acts"] or []:
            if act["act"] == "INFORM" and act["values"]:
                assert realized(text, act["slot"], act["values"][0]), (text, act)


def test_eval_judge_cli_runs_on_the_local_model(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentgym.cli", "eval-judge", "--pairs", "4", "--json", "--quiet"],
                          capture_output=True, text=True, timeout=900, env={**__import__("os").environ, "AGENTGYM_CACHE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    assert m["pairs"] == 4 and m["judge"] == "local/smollm2-135m" and m["rule_prefers_real"] is not None
