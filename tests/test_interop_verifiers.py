"""agentgym's tasks as a verifiers 0.4 taskset, run by verifiers' own `vf-eval` (from .venv-verifiers: verifiers pins
mcp==2.0.0, which OpenEnv refuses, so it lives in an environment of its own; `make verifiers`) against the local
model served on loopback; every trace is scored as agentgym scores the same episode."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import gymnasium as gym
import pytest

import agentgym  # noqa: F401
from agentgym.actions import parse_action
from agentgym.agents.make import make_agent
from agentgym.runner import play_episode

ROOT = Path(__file__).resolve().parents[1]
VF_EVAL = ROOT / ".venv-verifiers" / "bin" / "vf-eval"
SGD = "agentgym/SGD-v0"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not VF_EVAL.exists(), reason="needs .venv-verifiers (make verifiers; Python >= 3.11)")]


def _replay(trace_info: dict) -> tuple[float, dict]:
    env = gym.make(trace_info["env"], **trace_info["settings"])
    env.reset(seed=trace_info["seed"], options={"task_id": trace_info["task_id"]})
    total, breakdown = 0.0, {}
    for action in trace_info["actions"]:
        _, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        breakdown = info["reward_breakdown"]
        if terminated or truncated:
            break
    env.close()
    return total, breakdown


def _vf_eval(tmp_path, api_base: str, *args: str, env_id: str = SGD) -> list[dict]:
    """`vf-eval agentgym-tasks` against the model at api_base; the traces it wrote."""
    run = subprocess.run(
        [str(VF_EVAL), "agentgym-tasks", "--env.taskset.env", env_id, *args, "-m", "smollm2-135m",
         "--client.base-url", api_base, "--client.api-key-var", "AGENTGYM_NO_KEY", "--no-push", "-o", str(tmp_path), "-c", "1"],
        capture_output=True, text=True, timeout=900, env=dict(os.environ, AGENTGYM_NO_KEY="none"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [traces] = list(tmp_path.glob("*/traces.jsonl"))
    return [json.loads(line) for line in traces.read_text().splitlines()]


def test_vf_eval_plays_agentgym_tasks_with_the_local_model_and_its_scores_are_agentgyms(tmp_path):
    pytest.importorskip("llama_cpp")
    from agentgym.llm.local import LocalServer

    with LocalServer() as server:
        records = _vf_eval(tmp_path, server.api_base, "--env.taskset.num-tasks", "3")
    assert len(records) == 3
    env = gym.make(SGD)
    for record in records:
        [trace] = record["traces"]
        mine = trace["info"]["agentgym"]
        # the conversation verifiers recorded opens with the env's system prompt and the simulated user's opening
        opening, info = env.reset(seed=mine["seed"], options={"task_id": mine["task_id"]})
        roles = [n["message"]["role"] for n in trace["nodes"]]
        assert roles[:2] == ["system", "user"] and trace["nodes"][1]["message"]["content"] == opening
        # replayed in-process, the actions give the reward agentgym recorded, which is verifiers' weighted total
        total, breakdown = _replay(mine)
        assert total == pytest.approx(mine["total_reward"]) and breakdown == pytest.approx(mine["reward_breakdown"])
        weighted = sum(r["score"] * r["weight"] for r in trace["rewards"].values())
        assert weighted == pytest.approx(breakdown["total"])
        assert set(trace["rewards"]) | set(trace["metrics"]) >= {"success", "slot_recall", "intents_done"}
        assert mine["actions"] and mine["actions"][-1] is not None
        # the toolset listed the task's own tools to the model (its native tool calling)
        assert {t["name"] for t in trace["tools"]} == {t["function"]["name"] for t in info["tools"]}


@pytest.mark.parametrize("env_id,agent", [(SGD, "scripted"), ("agentgym/tau2-mock-v0", "tau2-oracle")])
def test_vf_eval_calls_the_domain_tools_through_the_toolset_and_plays_the_episode_the_env_plays_in_process(
        tmp_path, env_id, agent):
    """An agent's in-process episode, replayed by a model that answers with its actions (tool calls as the API's tool
    calls, messages as text): through verifiers' harness, its MCP toolset and the tool bridge, every tool result the
    model reads and the episode's reward are the in-process ones (on tau2, the oracle's DB write is what scores)."""
    if "tau2" in env_id:
        pytest.importorskip("tau2")
    from fake_llm_server import FakeLLMServer

    env = gym.make(env_id)
    # the first task (in order) the agent completes with tool calls
    for task_id in env.unwrapped.task_ids:
        want = play_episode(env, make_agent(agent), seed=0, task_id=task_id)
        calls = [parse_action(s["action"]) for s in want.steps[1:] if parse_action(s["action"]).kind == "tool_calls"]
        if want.reward_breakdown.get("success", want.total_reward) == 1.0 and calls:
            break
    script, tool_results = [], []
    for step in want.steps[1:]:
        parsed = parse_action(step["action"])
        if parsed.kind == "tool_calls":
            [call] = parsed.calls
            script.append(f"tool:{call.name}:{json.dumps(call.arguments)}")
            tool_results.append(step["observation"])
        else:
            script.append(f"ok:{step['action']}")
    with FakeLLMServer(script) as model:
        [record] = _vf_eval(tmp_path, model.api_base, "--env.taskset.task-ids", json.dumps([task_id]), env_id=env_id)
    [trace] = record["traces"]
    mine = trace["info"]["agentgym"]
    assert mine["task_id"] == task_id and len(mine["actions"]) == len(want.steps) - 1
    assert mine["total_reward"] == pytest.approx(want.total_reward)
    assert mine["reward_breakdown"] == pytest.approx(want.reward_breakdown) and mine["total_reward"] > 0
    # the tool calls reached the env as tool calls, and the model read each one's in-process result as a tool message
    assert [parse_action(a).kind for a in mine["actions"]] == [parse_action(s["action"]).kind for s in want.steps[1:]]
    seen = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert [" ".join(str(c).split()) for c in seen] == [" ".join(r.split()) for r in tool_results]
    assert len(seen) == len(calls) > 0
