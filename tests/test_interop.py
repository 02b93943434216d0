"""agentgym's envs served where researchers already train, each proven with that project's own client: OpenEnv's
WebSocket client against a real `agentgym serve` process, OpenEnv's validator on the package, SkyRL-gym's
`make`, and Gymnasium's `module:id` form in a fresh interpreter."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import gymnasium as gym
import pytest

import agentgym  # noqa: F401  (registers the gym ids)
from agentgym.agents.make import make_agent
from agentgym.runner import play_episode

pytest.importorskip("openenv")
from agentgym.interop.openenv_server import (  # noqa: E402
    MAX_TEXT,
    AgentgymClient,
    TextAction,
    action_text,
    play_served,
    wait_ready,
)

BIN = Path(sys.executable).parent
SGD = "agentgym/SGD-v0"
MOCK = "agentgym/tau2-mock-v0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(*args: str, token: str | None = None):
    """`agentgym serve ARGS` as a real process on a free loopback port; yields its base URL."""
    port = _free_port()
    env = dict(os.environ, AGENTGYM_SERVE_TOKEN=token or "")
    proc = subprocess.Popen([str(BIN / "agentgym"), "serve", *args, "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(url, proc=proc)
        except RuntimeError as e:
            raise AssertionError(f"{e}: {proc.stdout.read()}") from e
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _in_process(env_id: str, agent_name: str, task_id: str, seed: int, **kwargs) -> dict:
    env = gym.make(env_id, **kwargs)
    try:
        ep = play_episode(env, make_agent(agent_name), seed=seed, task_id=task_id)
    finally:
        env.close()
    return {"task_id": ep.task_id, "actions": [action_text(s["action"]) for s in ep.steps[1:]],
            "observations": [s["observation"] for s in ep.steps], "total_reward": ep.total_reward,
            "reward_breakdown": ep.reward_breakdown}


def _interleaved(url: str, plays: list[tuple[str, str, int]]) -> list[dict]:
    """Each (agent, task, seed) in its own WebSocket session, all open at once, stepped round-robin."""
    clients = [AgentgymClient(base_url=url).sync() for _ in plays]
    for c in clients:
        c.connect()
    try:
        runs = []
        for client, (agent_name, task_id, seed) in zip(clients, plays, strict=True):
            r = client.reset(seed=seed, task_id=task_id)
            agent = make_agent(agent_name)
            info = dict(r.observation.info)
            agent.reset(r.observation.text, info)
            runs.append({"client": client, "agent": agent, "obs": r.observation.text, "info": info, "done": False,
                         "kept": {k: info[k] for k in ("tools", "tool_meta", "policy", "task") if k in info},
                         "ep": {"task_id": r.observation.task_id, "actions": [], "observations": [r.observation.text],
                                "total_reward": 0.0}})
        while not all(run["done"] for run in runs):
            for run in runs:
                if run["done"]:
                    continue
                action = action_text(run["agent"].act(run["obs"], run["info"]))
                r = run["client"].step(TextAction(text=action))
                run["obs"], run["info"], run["done"] = r.observation.text, {**run["kept"], **r.observation.info}, r.done
                run["ep"]["actions"].append(action)
                run["ep"]["observations"].append(r.observation.text)
                run["ep"]["total_reward"] += float(r.reward or 0.0)
                run["ep"]["reward_breakdown"] = run["info"].get("reward_breakdown")
        return [run["ep"] for run in runs]
    finally:
        for c in clients:
            c.close()


def test_many_interleaved_sgd_sessions_play_exactly_what_in_process_play_does():
    with served("--env", SGD) as url:
        with AgentgymClient(base_url=url).sync() as probe:
            splits = probe.splits()
            tasks = [t["id"] for t in probe.tasks("dev")]
        assert "dev" in splits and "train" in splits
        assert tasks == list(gym.make(SGD).unwrapped.task_ids)
        plays = [(agent, tasks[i % len(tasks)], seed) for i, (agent, seed) in
                 enumerate([("scripted", 0), ("scripted", 1), ("naive", 0), ("scripted", 2), ("noop", 3), ("naive", 7),
                            ("scripted", 0), ("scripted", 5)])]
        plays[6] = ("scripted", plays[0][1], 0)  # the same episode twice, at the same time, in two sessions
        remote = _interleaved(url, plays)
    for (agent, task_id, seed), got in zip(plays, remote, strict=True):
        want = _in_process(SGD, agent, task_id, seed)
        assert got["actions"] == want["actions"], (agent, task_id, seed)
        assert got["observations"] == want["observations"], (agent, task_id, seed)
        assert got["total_reward"] == pytest.approx(want["total_reward"], abs=1e-12)
        assert got["reward_breakdown"] == pytest.approx(want["reward_breakdown"])
    assert remote[0] == remote[6]
    assert len({r["total_reward"] for r in remote}) > 1  # different agents score differently: the check can fail


def test_tau2_sessions_never_see_each_others_database_writes():
    pytest.importorskip("tau2")
    with served("--env", MOCK) as url:
        with AgentgymClient(base_url=url).sync() as probe:
            tasks = [t["id"] for t in probe.tasks("base")]
        # the oracle writes the gold actions to its DB while, on the same task, the no-op and another oracle play
        task = next(t for t in tasks if _in_process(MOCK, "tau2-oracle", t, 0)["total_reward"] == 1.0
                    and _in_process(MOCK, "tau2-noop", t, 0)["total_reward"] == 0.0)
        plays = [("tau2-oracle", task, 0), ("tau2-noop", task, 0), ("tau2-oracle", task, 1), ("tau2-noop", task, 1)]
        remote = _interleaved(url, plays)
    assert [r["total_reward"] for r in remote] == [1.0, 0.0, 1.0, 0.0]
    for (agent, task_id, seed), got in zip(plays, remote, strict=True):
        want = _in_process(MOCK, agent, task_id, seed)
        assert got["observations"] == want["observations"] and got["reward_breakdown"] == want["reward_breakdown"]


def test_bad_requests_are_refused_with_a_message_and_the_session_goes_on():
    with served("--env", SGD, "--max-sessions", "2") as url:
        with AgentgymClient(base_url=url).sync() as env:
            with pytest.raises(RuntimeError, match="No episode is running"):
                env.step(TextAction(text="hello"))
            with pytest.raises(RuntimeError, match="nope"):
                env.reset(seed=0, task_id="nope")
            with pytest.raises(RuntimeError, match="unknown: colour"):
                env.reset(seed=0, colour="red")
            with pytest.raises(RuntimeError, match="out of range"):
                env.reset(split="dev", index=10_000)
            with pytest.raises(RuntimeError, match="Unknown split 'tset'"):
                env.reset(split="tset", index=0)
            r = env.reset(seed=0, split="dev", index=0)
            assert r.observation.task_id and r.observation.text
            # an oversized action is refused before it reaches the env; a malformed one is an error observation
            with pytest.raises(RuntimeError):
                env.step(TextAction.model_construct(text="x" * (MAX_TEXT + 1)))
            r = env.step(TextAction(text='{"name": "FindRestaurants", "arguments": '))
            assert r.observation.info["error"] and not r.done
            assert env.state().step_count == 1
            # a second session fits, a third is refused (max_sessions=2)
            with AgentgymClient(base_url=url).sync() as second:
                second.reset(seed=1)
                with pytest.raises(RuntimeError, match="CAPACITY|capacity"):
                    with AgentgymClient(base_url=url).sync() as third:
                        third.reset(seed=2)
            # a client process killed mid-episode frees its place
            code = ("import sys, time\nfrom agentgym.interop.openenv_server import AgentgymClient\n"
                    f"c = AgentgymClient(base_url={url!r}).sync(); c.connect(); c.reset(seed=3)\n"
                    "print('ready', flush=True); time.sleep(600)\n")
            gone = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            assert gone.stdout.readline().strip() == "ready"
            gone.kill()
            gone.wait()
            deadline = time.monotonic() + 20
            while True:
                try:
                    with AgentgymClient(base_url=url).sync() as again:
                        assert again.reset(seed=4).observation.text
                    break
                except RuntimeError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
        import requests
        bad = requests.post(f"{url}/SGD-v0/num_tasks", json={"split": "tset"}, timeout=30)
        assert bad.status_code == 400 and "Unknown split" in bad.text


def test_a_token_guards_every_route_but_health():
    import requests
    with served("--env", SGD, token="s3cret") as url:
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
        assert requests.get(f"{url}/SGD-v0/splits", timeout=5).status_code == 401
        with pytest.raises(ConnectionError, match="rejected WebSocket connection: HTTP 403"):
            with AgentgymClient(base_url=url).sync() as env:
                env.reset(seed=0)
        with AgentgymClient(base_url=url, headers={"Authorization": "Bearer s3cret"}).sync() as env:
            assert env.reset(seed=0).observation.text
            assert "dev" in env.splits()


def test_serve_refuses_an_open_address_without_a_token_and_a_setting_its_env_does_not_take():
    out = subprocess.run([str(BIN / "agentgym"), "serve", "--env", SGD, "--host", "0.0.0.0"], capture_output=True, text=True,
                         env=dict(os.environ, AGENTGYM_SERVE_TOKEN=""), timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("agentgym: error:") and "--token" in out.stderr
    out = subprocess.run([str(BIN / "agentgym"), "serve", "--env", MOCK, "--data-dir", "/tmp"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "agentgym: error:" in out.stderr and "data_dir" in out.stderr


def test_two_server_processes_behind_one_address_share_the_sessions():
    with served("--env", SGD, "--workers", "2") as url:
        clients, pids = [], []
        try:
            deadline = time.monotonic() + 120  # the second process may still be starting when the first answers
            while len(set(pids)) < 2 and time.monotonic() < deadline:
                client = AgentgymClient(base_url=url).sync()
                client.connect()
                client.reset(seed=len(clients))
                clients.append(client)
                pids.append(client.state().server_pid)
                if len(clients) >= 8:  # hold at most 8 sessions; hand the oldest back
                    clients.pop(0).close()
            ep = play_served(clients[-1], make_agent("scripted"), seed=0, split="dev", index=0)
        finally:
            for c in clients:
                c.close()
    assert len(set(pids)) == 2, pids
    want = _in_process(SGD, "scripted", ep["task_id"], 0)
    assert ep["actions"] == want["actions"] and ep["total_reward"] == pytest.approx(want["total_reward"])


def test_the_openenv_package_passes_openenvs_validator_and_its_oracle_and_floor_hold(tmp_path):
    pytest.importorskip("tau2")
    served_env = ("--env", "agentgym/tau2-airline-v0", "--split", "test")
    out = subprocess.run([str(BIN / "agentgym"), "serve", *served_env, "--write-package", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import yaml
    doc = yaml.safe_load((tmp_path / "openenv.yaml").read_text())
    assert doc["validation"]["capabilities"]["oracle"] == {"form": "script", "location": "oracle.py"}
    assert doc["validation"]["capabilities"]["declared_task_count"] == {"base": 50, "train": 30, "test": 20}
    static = subprocess.run([str(BIN / "openenv"), "validate", str(tmp_path), "--level", "static", "--skip-build", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert static.returncode == 0, static.stdout + static.stderr
    report = json.loads(static.stdout)
    assert report["verdict"] in ("pass", "warn"), report
    assert [(c["check_id"], c["status"]) for c in report["results"]] == [("static.manifest", "pass")], report
    # a broken declaration fails the same validator: the check can fail
    broken = dict(doc, validation={**doc["validation"], "reward": {**doc["validation"]["reward"], "oracle_tolerance": 0.5}})
    (tmp_path / "openenv.yaml").write_text(yaml.safe_dump(broken))
    bad = subprocess.run([str(BIN / "openenv"), "validate", str(tmp_path), "--level", "static", "--skip-build"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stdout
    with served(*served_env) as url:
        probe = subprocess.run([str(BIN / "openenv"), "validate", "--url", url, "--json"], capture_output=True, text=True,
                               timeout=300)
        assert probe.returncode == 0, probe.stdout + probe.stderr
        assert json.loads(probe.stdout)["passed"] is True
        oracle = subprocess.run([sys.executable, str(tmp_path / "oracle.py"), "--url", url, "--tasks", "0"],
                                capture_output=True, text=True, timeout=600)
    assert oracle.returncode == 0, oracle.stdout + oracle.stderr
    measured = json.loads(oracle.stdout)
    assert measured["oracle"]["episodes"] == 20 and measured["oracle"]["mean"] >= measured["top"] - 0.1
    assert measured["top"] - measured["floor"]["mean"] >= 0.1 and measured["floor"]["mean"] > 0  # noop solves some
    assert measured["oracle_short"] == []


def test_skyrl_gym_plays_an_agentgym_episode_as_in_process_play_does():
    skyrl_gym = pytest.importorskip("skyrl_gym")
    from agentgym.interop.skyrl import register, skyrl_dataset
    register()
    rows = skyrl_dataset(SGD, seeds=[0, 3])[:4]
    assert {r["env_class"] for r in rows} == {"agentgym"} and rows[0]["prompt"][0]["role"] == "system"
    for row in rows:
        env = skyrl_gym.make("agentgym", env_config={}, extras=row)
        prompt, _ = env.init(row["prompt"])
        assert prompt == row["prompt"]
        # the scripted agent's actions, fed to SkyRL's env as text, give the in-process episode's reward
        want = _in_process(SGD, "scripted", row["task_id"], row["seed"])
        total, out = 0.0, None
        for action in want["actions"]:
            out = env.step(action)
            total += out["reward"]
        assert out is not None and out["done"] and total == pytest.approx(want["total_reward"])
        assert env.get_metrics()["return"] == pytest.approx(want["total_reward"])
        env.close()
    with pytest.raises(ValueError, match="env_id"):
        skyrl_gym.make("agentgym", env_config={}, extras={})


def test_outside_code_gets_the_env_from_gymnasiums_module_id_form_alone():
    code = ("import gymnasium as gym\n"
            "env = gym.make('agentgym:agentgym/SGD-v0')\n"
            "obs, info = env.reset(seed=0)\n"
            "print(type(env.unwrapped).__name__, bool(obs), info['task_id'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    name, has_obs, task = out.stdout.split()
    assert name == "SGDEnv" and has_obs == "True" and task
