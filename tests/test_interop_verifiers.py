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


def test_vf_eval_plays_agentgym_tasks_with_the_local_model_and_its_scores_are_agentgyms(tmp_path):
    pytest.importorskip("llama_cpp")
    from agentgym.llm.local import LocalServer

    with LocalServer() as server:
        run = subprocess.run(
            [str(VF_EVAL), "agentgym-tasks", "--env.taskset.env", SGD, "--env.taskset.num-tasks", "3", "-m", "smollm2-135m",
             "--client.base-url", server.api_base, "--client.api-key-var", "AGENTGYM_NO_KEY", "--no-push", "-o", str(tmp_path),
             "-c", "1"],
            capture_output=True, text=True, timeout=900, env=dict(os.environ, AGENTGYM_NO_KEY="none"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [traces] = list(tmp_path.glob("*/traces.jsonl"))
    records = [json.loads(line) for line in traces.read_text().splitlines()]
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
