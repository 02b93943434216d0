import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pandas as pd
import pytest

from agentgym.domains.sgd.agents import NaiveAgent, ScriptedAgent
from agentgym.runner import run_episodes
from agentgym.store import (
    EpisodeRecorder,
    ExperienceStore,
    RecordEpisodes,
    export_chat_jsonl,
    human_vs_judge,
    preference_pairs,
    rater_vs_rater,
    sft_examples,
)
from agentgym.store import schema as S


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = ExperienceStore(tmp_path / "proj", create=True)
    else:
        s = ExperienceStore(request.getfixturevalue("pg_database"))
    yield s
    s.close()


@pytest.fixture()
def filled(store):
    v1 = store.register_agent("scripted", "v1", {"temperature": 0})
    v2 = store.register_agent("naive", "v1")
    env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store, agent_version_id=v1)
    tasks = [t.task_id for t in env.unwrapped.tasks[::20]]
    run_episodes(env, ScriptedAgent(), task_ids=tasks, progress=False)
    env.agent_version_id = v2
    run_episodes(env, NaiveAgent(), task_ids=tasks, progress=False)
    return store, tasks


def test_file_is_sqlite_in_wal_mode_with_a_schema_version(tmp_path):
    store = ExperienceStore(tmp_path / "proj", create=True)
    assert store.url.endswith("proj/experience.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert store.schema_version == S.LATEST


def test_newer_schema_is_refused_and_pending_migrations_run(tmp_path, monkeypatch):
    s = ExperienceStore(tmp_path / "a.db", create=True)
    applied = []
    monkeypatch.setattr(S, "MIGRATIONS", S.MIGRATIONS + [(S.LATEST + 1, lambda conn: applied.append(1))])
    monkeypatch.setattr(S, "LATEST", S.LATEST + 1)
    s2 = ExperienceStore(tmp_path / "a.db")
    assert applied == [1] and s2.schema_version == S.LATEST
    ExperienceStore(tmp_path / "a.db")
    assert applied == [1]  # not twice
    monkeypatch.setattr(S, "LATEST", 1)
    monkeypatch.setattr(S, "MIGRATIONS", S.MIGRATIONS[:1])
    with pytest.raises(RuntimeError, match="newer than this agentgym"):
        ExperienceStore(tmp_path / "a.db")
    s.close()
    s2.close()


def test_wrapper_records_every_episode_and_step(filled):
    store, tasks = filled
    eps = store.episodes()
    assert len(eps) == 2 * len(tasks)
    assert set(eps["status"]) <= {"terminated", "truncated"}
    one = eps.iloc[0]
    steps = store.steps(one["id"])
    assert len(steps) == one["n_steps"] and list(steps["idx"]) == list(range(len(steps)))
    assert steps.iloc[0]["observation"].startswith("user: ")
    assert any(isinstance(t, list) and t for t in steps["tool_results"])
    calls = [c for cs in steps["tool_calls"] if isinstance(cs, list) for c in cs]
    assert calls and {"name", "arguments"} <= set(calls[0]) and isinstance(calls[0]["arguments"], dict)
    from agentgym.domains.sgd.reward import COMPONENTS

    breakdown = eps["reward_breakdown"].iloc[0]
    assert set(COMPONENTS) <= set(breakdown) and isinstance(breakdown["total"], float)  # the rule's named parts, stored


def test_filters(filled):
    store, tasks = filled
    assert set(store.episodes(agent="naive")["agent"]) == {"naive"}
    assert len(store.episodes(task_id=tasks[0])) == 2
    rewards = store.episodes()["total_reward"]
    kept = store.episodes(min_reward=0.5)["total_reward"]
    assert 0 < len(kept) < len(rewards)  # the fixture holds episodes on both sides of the cut, so the filter is tested
    assert (kept >= 0.5).all() and len(kept) == int((rewards >= 0.5).sum())
    svc = store.episodes().iloc[0]["services"][0]
    assert all(svc in s for s in store.episodes(service=svc)["services"])
    first = store.episodes().iloc[0]["id"]
    store.rate(first, 1, rater="ann")
    assert list(store.episodes(rated=True)["id"]) == [first]
    assert first not in set(store.episodes(rated=False)["id"])
    assert len(store.episodes(since="2000-01-01", until="2999-01-01")) == 2 * len(tasks)
    assert store.episodes(until="2000-01-01").empty


def test_versions_with_parents_and_secrets_scrubbed(store, tmp_path):
    v1 = store.register_agent("bot", "v1", {"model": "local/smollm2-135m", "api_key": "sk-live-1234567890abcdefghij"})
    v2 = store.register_agent("bot", "v2", {"llm": {"OPENAI_API_KEY": "x", "note": "token sk-abcdefghijklmnopqrstu"}}, parent="v1")
    assert store.register_agent("bot", "v1") == v1  # idempotent
    av = store.agent_versions().set_index("id")
    assert av.loc[v2, "parent_id"] == v1
    dumped = json.dumps(av["config"].tolist())
    assert "sk-live" not in dumped and "sk-abc" not in dumped and "***" in dumped
    with pytest.raises(ValueError, match="no version 'v9'"):
        store.register_agent("bot", "v3", parent="v9")
    if store.is_sqlite:
        raw = b"".join(p.read_bytes() for p in (tmp_path / "proj").iterdir())
        assert b"sk-live" not in raw


def test_ratings_are_parameterized_and_byte_identical(store):
    nasty = "Robert'); DROP TABLE ratings;--"
    vid = store.register_agent(nasty, "1'; DELETE FROM agents;--")
    ep = store.start_episode("agentgym/SGD-v0", "t1", agent_version_id=vid)
    comment = "line1\nline2 \u00e9\u4e2d\u6587 \U0001F642 <script>alert(1)</script> \\ ' \" " + "x" * (1024 * 1024)
    rid = store.rate(ep, 4, scale="1-5", rater=nasty, tags=["rude", "wrong-slot"], comment=comment)
    r = store.ratings(episode_id=ep)
    assert r.iloc[0]["id"] == rid and r.iloc[0]["comment"] == comment and r.iloc[0]["rater"] == nasty
    assert r.iloc[0]["comment"].encode() == comment.encode()
    assert r.iloc[0]["tags"] == ["rude", "wrong-slot"] and r.iloc[0]["normalized"] == 0.75
    assert store.agent_versions().iloc[0]["agent"] == nasty
    assert store.integrity_check() == "ok"


def test_bad_ratings_are_refused_clearly(store):
    ep = store.start_episode("x")
    with pytest.raises(ValueError, match="between 1 and 5"):
        store.rate(ep, 7, scale="1-5")
    with pytest.raises(ValueError, match="Unknown rating scale"):
        store.rate(ep, 1, scale="stars")
    with pytest.raises(KeyError, match="No episode"):
        store.rate("nope", 1)


def test_external_agent_recording(store):
    out, ep = store.execute_with_feedback(lambda q, ctx: f"answer to {q} with {ctx['k']}", "question?", {"k": "v"})
    assert out == "answer to question? with v"
    step = store.steps(ep).iloc[0]
    assert step["observation"] == "question?" and step["action"] == out and step["context"] == {"k": "v"}
    with pytest.raises(ZeroDivisionError):
        store.execute_with_feedback(lambda q: 1 / 0, "boom")
    assert "error" in set(store.episodes()["status"])
    with EpisodeRecorder(store, "my-bot", "task-9") as rec:
        rec.step("hi", "hello, how can I help?", reward=0.5)
        rec.finish(success=True)
    row = store.episodes(env_id="my-bot").iloc[0]
    assert row["success"] and row["total_reward"] == 0.5 and row["n_steps"] == 1


def test_exports(filled, tmp_path):
    store, tasks = filled
    n = export_chat_jsonl(store, tmp_path / "chat.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "chat.jsonl").read_text().splitlines()]
    assert n == len(lines) == 2 * len(tasks)
    roles = {m["role"] for rec in lines for m in rec["messages"]}
    assert {"system", "user", "assistant", "tool"} <= roles
    call = next(m for rec in lines for m in rec["messages"] if m.get("tool_calls"))
    assert call["tool_calls"][0]["type"] == "function" and isinstance(call["tool_calls"][0]["function"]["arguments"], str)
    sft = sft_examples(store)
    ok = store.episodes()
    assert len(sft) == int(ok["success"].sum()) > 0
    pairs = preference_pairs(store)
    assert pairs and all(p["source"] == "reward" for p in pairs)
    p = pairs[0]
    chosen_reward = ok.set_index("id").loc[p["chosen_episode"], "total_reward"]
    rejected_reward = ok.set_index("id").loc[p["rejected_episode"], "total_reward"]
    assert chosen_reward > rejected_reward and p["prompt"][0]["role"] == "system"
    # human ratings take precedence over reward
    naive_ep = ok[(ok["agent"] == "naive") & (ok["task_id"] == p["task_id"])]["id"].iloc[0]
    scripted_ep = ok[(ok["agent"] == "scripted") & (ok["task_id"] == p["task_id"])]["id"].iloc[0]
    store.rate(naive_ep, 1, rater="ann")
    store.rate(scripted_ep, 0, rater="ann")
    rated = [q for q in preference_pairs(store) if q["task_id"] == p["task_id"]]
    assert rated[0]["source"] == "rating" and rated[0]["chosen_episode"] == naive_ep
    assert any(e["episode_id"] == naive_ep for e in sft_examples(store, success_only=False, min_rating=0.9))
    # the judge as an SFT filter: only episodes it scored high enough (an unscored verdict does not count)
    store.add_verdict(scripted_ep, "judge", 0.9, reasoning="fine")
    store.add_verdict(naive_ep, "judge", 0.2, reasoning="wrong value")
    store.add_verdict(naive_ep, "judge", None, reasoning="could not read a score")
    judged = sft_examples(store, success_only=False, min_judge=0.5)
    assert [e["episode_id"] for e in judged] == [scripted_ep]


def test_agreement(store):
    ep = store.start_episode("x")
    for i in [*range(4), 9]:
        store.add_step(ep, i, observation=f"turn {i}")
    for i, (h, j, other) in enumerate([(1, 0.9, 1), (0, 0.2, 0), (1, 0.4, 1), (0, 0.1, 1)]):
        store.rate(ep, h, step_idx=i, rater="ann")
        store.rate(ep, other, step_idx=i, rater="bob")
        store.add_verdict(ep, "local/smollm2-135m", j, step_idx=i, reasoning="because", prompt="p")
    store.add_verdict(ep, "judge", None, step_idx=9, reasoning="could not parse a score")
    res = human_vs_judge(store)
    assert res["n"] == 4 and res["agreement"] == 0.5  # human = mean of raters per target
    assert res["confusion"].values.sum() == 4
    assert res["note"] == "4 pairs: too few to trust any of these numbers; rate more."
    rr = rater_vs_rater(store)
    assert rr.iloc[0]["n"] == 4 and rr.iloc[0]["agreement"] == 0.75


def test_agreement_says_why_a_correlation_is_undefined(tmp_path):
    with ExperienceStore(tmp_path / "s", create=True) as store:
        ep = store.start_episode("x")
        for i in range(3):
            store.add_step(ep, i, observation=f"turn {i}")
            store.rate(ep, i % 2, step_idx=i, rater="ann")
            store.add_verdict(ep, "judge", 0.7, step_idx=i)  # one score everywhere
        res = human_vs_judge(store)
    assert res["pearson"] != res["pearson"] and res["agreement"] == 1 / 3
    assert res["note"].startswith("Every judge score is 0.7, so correlations are undefined (NaN)")


WRITER = r"""
import sys, os
from agentgym.store import ExperienceStore
store = ExperienceStore(sys.argv[1])
ep, tag = sys.argv[2], sys.argv[3]
print("READY", flush=True)
i = 0
while True:
    comment = f"{tag}-{i}-" + "\u00e9" * (i % 50)
    rid = store.rate(ep, i % 2, rater=tag, comment=comment, tags=[tag])
    store.add_step(ep, 1000 * int(tag.split('-')[1]) + i, observation=comment) if i < 900 else None
    print(f"{rid}\t{comment}\tSAVED", flush=True)
    i += 1
"""


def test_sigkill_mid_stream_loses_nothing_reported_as_saved(tmp_path):
    path = tmp_path / "kill"
    store = ExperienceStore(path, create=True)
    ep = store.start_episode("agentgym/SGD-v0", "t")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = []
    reported: list[tuple[int, str]] = []

    def spawn(k):  # the kill clock starts once the writer has imported and opened the store (slow on a loaded machine)
        p = subprocess.Popen([sys.executable, "-c", WRITER, str(path), ep, f"w-{k}"], stdout=subprocess.PIPE, text=True, env=env)
        assert p.stdout is not None and p.stdout.readline() == "READY\n"
        return p

    def kill_and_collect(p):
        time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        out, _ = p.communicate()
        for line in out.splitlines():
            if line.endswith("\tSAVED"):  # a line cut by the kill was never reported
                rid, comment, _ = line.split("\t")
                reported.append((int(rid), comment))

    procs = [spawn(k) for k in range(3)]
    k = 3
    for round_ in range(5):
        time.sleep(0.6 + 0.2 * round_)
        victim = procs.pop(0)
        kill_and_collect(victim)
        procs.append(spawn(k))
        k += 1
    time.sleep(0.5)
    for p in procs:
        kill_and_collect(p)
    assert len(reported) > 50
    saved = store.ratings().set_index("id")["comment"].to_dict()
    missing = [(rid, c) for rid, c in reported if saved.get(rid) != c]
    assert not missing, missing[:5]
    assert store.integrity_check() == "ok"
    assert len(store.steps(ep)) > 0
    store.close()


def test_hugging_face_dataset_export(filled):
    from agentgym.store import to_dataset
    store, _ = filled
    sft = to_dataset(sft_examples(store))
    assert len(sft) > 0 and set(sft.column_names) >= {"messages", "tools", "episode_id"}
    assert sft[0]["messages"][0]["role"] == "system"
    pairs = to_dataset(preference_pairs(store))
    assert set(pairs.column_names) >= {"prompt", "chosen", "rejected"}


def test_batched_recording_writes_whole_episodes_identical_to_per_step_recording(tmp_path):
    per_step = ExperienceStore(tmp_path / "step", create=True)
    batched = ExperienceStore(tmp_path / "batch", create=True)
    a = RecordEpisodes(gym.make("agentgym/SGD-v0"), per_step)
    b = RecordEpisodes(gym.make("agentgym/SGD-v0"), batched, flush="episode", batch=3)
    tasks = [t.task_id for t in a.unwrapped.tasks[:5]]
    run_episodes(a, ScriptedAgent(), task_ids=tasks[:2], progress=False)
    run_episodes(b, ScriptedAgent(), task_ids=tasks[:2], progress=False)
    assert len(batched.episodes()) == 0  # two finished episodes wait for the third: one transaction for three
    run_episodes(a, ScriptedAgent(), task_ids=tasks[2:], progress=False)
    run_episodes(b, ScriptedAgent(), task_ids=tasks[2:], progress=False)
    assert len(batched.episodes()) == 3
    b.close()
    assert len(batched.episodes()) == 5 and len(b.written_ids) == 5
    cols = ["task_id", "status", "n_steps", "total_reward", "success", "reward_breakdown"]
    pd.testing.assert_frame_equal(per_step.episodes()[cols], batched.episodes()[cols])
    step_cols = ["idx", "action", "action_format", "observation", "user_acts", "reward", "tool_calls", "error"]
    for ea, eb in zip(per_step.episodes()["id"], batched.episodes()["id"], strict=True):
        pd.testing.assert_frame_equal(per_step.steps(ea)[step_cols].reset_index(drop=True),
                                      batched.steps(eb)[step_cols].reset_index(drop=True))
    with pytest.raises(ValueError, match="batch must be"):
        RecordEpisodes(gym.make("agentgym/SGD-v0"), batched, batch=4)
    per_step.close()
    batched.close()


@pytest.mark.parametrize("flush", ["step", "episode"])
def test_the_judges_llm_calls_land_with_their_episode_and_runs_filter_by_step(tmp_path, flush):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.llm.client import LLM
    from agentgym.llm.judge import LLMJudge

    reply = '{"helpfulness": 1, "correctness": 1, "policy": 0.5, "tone": 1, "reasoning": "Polite, nothing invented."}'
    store = ExperienceStore(tmp_path / "s", create=True)
    with FakeLLMServer([f"ok:{reply}"]) as srv:
        judge = LLMJudge(LLM("openai/fake", api_base=srv.api_base, api_key="x", cache=False, max_retries=0))
        env = RecordEpisodes(SGDEnv(judge=judge, max_turns=2), store, flush=flush,
                             meta={"run": "r1", "phase": "train", "step": 3})
        env.reset(seed=0)
        env.step("[finish]")
        env.close()
    eid = env.episode_id if flush == "episode" else store.episodes()["id"].iloc[0]
    calls = store.llm_calls(episode_id=eid)
    assert list(calls["role"]) == ["judge"] and "Polite" in calls["response"].iloc[0]
    assert calls["prompt"].iloc[0][0]["role"] == "system" and calls["prompt_tokens"].iloc[0] == 12
    assert len(store.episodes(run="r1", step=3, phase="train")) == 1
    assert store.episodes(run="r1", step=4).empty and store.episodes(run="r2").empty
