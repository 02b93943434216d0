"""Your own traces: imported row by row (bad rows named, good rows kept), played back as an env with the
recorded user and tool results, and tools nobody recorded simulated by an LLM (consistent, cached, costed)."""
import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from agentgym.agents import NoopAgent
from agentgym.cli import main
from agentgym.domains.traces import TraceTask, import_traces, load_trace_tasks, sample_traces
from agentgym.registration import register_envs
from agentgym.runner import play_episode, run_episodes

SAMPLE = sample_traces()
register_envs()


class ReplayRecordedCalls:
    """Makes the trace's recorded calls in order, then finishes: the oracle of an imported trace."""

    name = "trace-oracle"

    def __init__(self, env):
        self.env = env

    def reset(self, observation, info):
        self.todo = list(self.env.unwrapped.task.calls)

    def act(self, observation, info):
        if self.todo:
            c = self.todo.pop(0)
            return {"name": c.name, "arguments": c.arguments}
        return "[finish]"


def test_the_sample_imports_in_both_formats_with_schemas_inferred_where_missing():
    report = import_traces(SAMPLE)
    assert report.problems == [] and len(report.tasks) == 4
    inferred = next(t for t in report.tasks if t.task_id.endswith("00003"))
    schema = {s["function"]["name"]: s["function"] for s in inferred.tools}
    assert set(schema) == {"get_order", "track_parcel"} and schema["get_order"]["parameters"]["required"] == ["order_id"]
    apigen = report.tasks[3]
    assert apigen.system == "You are an airline assistant." and apigen.calls[0].arguments == {"flight": "LH400"}
    assert apigen.goal.startswith("Is flight LH400 on time")


def test_rows_that_cannot_become_tasks_are_named_and_the_rest_kept(tmp_path):
    good = SAMPLE.read_text().splitlines()[0]
    rows = [good, "{oops", json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}),
            json.dumps({"messages": [{"role": "assistant", "content": "x", "tool_calls": [
                {"id": "a", "function": {"name": "f", "arguments": "{}"}}]}, {"role": "tool", "tool_call_id": "a", "content": "1"}]}),
            json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": "zz", "content": "1"}]}),
            json.dumps({"dialogue": []}), json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant",
                "tool_calls": [{"id": "b", "function": {"name": "f", "arguments": "[1]"}}]}]})]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(rows) + "\n")
    report = import_traces(path)
    assert len(report.tasks) == 1
    reasons = dict(p.split(": ", 1) for p in report.problems)
    assert "not JSON" in reasons["line 2"] and "without tool calls is a chat" in reasons["line 3"]
    assert "no user turn" in reasons["line 4"] and "no assistant message made" in reasons["line 5"]
    assert "neither 'messages'" in reasons["line 6"] and "must be a JSON object" in reasons["line 7"]


def test_recorded_calls_replay_to_success_and_doing_nothing_scores_zero():
    tasks = import_traces(SAMPLE).tasks
    env = gym.make("agentgym/Traces-v0", tasks=tasks)
    oracle = run_episodes(env, ReplayRecordedCalls(env), progress=False)
    assert all(e.success for e in oracle) and all(e.reward_breakdown["calls_matched"] == 1.0 for e in oracle)
    noop = run_episodes(env, NoopAgent(), progress=False)
    assert not any(e.success for e in noop) and all(e.total_reward == 0.0 for e in noop)
    check_env(gym.make("agentgym/Traces-v0", tasks=tasks).unwrapped, skip_render_check=True)


def test_an_unrecorded_call_is_an_error_naming_what_was_recorded_and_the_episode_goes_on():
    env = gym.make("agentgym/Traces-v0", tasks=import_traces(SAMPLE).tasks)
    env.reset(seed=0, options={"task_id": "sample-00001"})
    obs, r, term, trunc, info = env.step({"name": "get_order", "arguments": {"order_id": "ZZZ"}})
    assert "nothing was recorded for get_order" in obs and '{"order_id":"A1043"}' in obs and not term
    assert info["tool_results"][0]["ok"] is False
    obs, *_ = env.step({"name": "get_order", "arguments": {"order_id": "A1043"}})
    assert '"status": "delivered"' in obs


def test_a_simulated_tool_is_consistent_cached_costed_and_says_when_it_cannot_answer(tmp_path):
    pytest.importorskip("litellm")
    from fake_llm_server import FakeLLMServer

    from agentgym.llm import LLM
    from agentgym.llm.toolsim import LLMToolSimulator

    tasks = import_traces(SAMPLE).tasks
    with FakeLLMServer(["ok:Sure! {\"location\": \"Berlin hub\", \"eta\": \"2026-11-30\"}"]) as srv:
        llm = LLM("openai/fake", api_base=srv.api_base, api_key="x", cache=tmp_path / "c.sqlite")
        env = gym.make("agentgym/Traces-v0", tasks=tasks, tool_simulator=LLMToolSimulator(llm))
        env.reset(seed=3, options={"task_id": "sample-00002"})
        call = {"name": "track_parcel", "arguments": {"tracking_number": "NEW-1"}}
        obs1, _, _, _, info = env.step(call)
        obs2, *_ = env.step(call)
        assert '"location": "Berlin hub"' in obs1 and obs1 == obs2 and srv.hits == 1 and info["simulated"] == 1
        first = env.unwrapped.ledger.by_role()["tool"]  # each episode has its own ledger (what the store records)
        env.reset(seed=3, options={"task_id": "sample-00002"})
        assert env.step(call)[0] == obs1 and srv.hits == 1  # same seed, same request: the disk cache answers
        second = env.unwrapped.ledger.by_role()["tool"]
        assert first["calls"] == 1 and first["cached"] == 0 and first["prompt_tokens"] == 12  # tokens recorded
        assert second["calls"] == 1 and second["cached"] == 1 and second["prompt_tokens"] == 12  # ... the second for free
    with FakeLLMServer(["ok:I think it is somewhere in Germany."]) as srv:
        llm = LLM("openai/fake", api_base=srv.api_base, api_key="x", cache=False)
        env = gym.make("agentgym/Traces-v0", tasks=tasks, tool_simulator=LLMToolSimulator(llm))
        env.reset(seed=0, options={"task_id": "sample-00002"})
        obs, _, term, _, info = env.step({"name": "track_parcel", "arguments": {"tracking_number": "NEW-2"}})
        assert "returned output that is not JSON" in obs and not term and info["tool_results"][0]["ok"] is False


def test_cli_import_traces_writes_tasks_and_refuses_a_file_with_none(tmp_path, capsys):
    out = tmp_path / "tasks.jsonl"
    assert main(["import-traces", str(SAMPLE), "--out", str(out)]) == 0
    assert [t.task_id for t in load_trace_tasks(out)] == [t.task_id for t in import_traces(SAMPLE).tasks]
    assert isinstance(load_trace_tasks(out)[0], TraceTask)
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    assert main(["import-traces", str(chat), "--out", str(tmp_path / "x.jsonl")]) == 1
    assert "nothing in" in capsys.readouterr().err and not (tmp_path / "x.jsonl").exists()


def test_imported_traces_play_and_compare_from_the_cli(tmp_path, capsys):
    """import-traces -> run -> compare, each through the CLI, on the file's own tasks."""
    tasks = tmp_path / "tasks.jsonl"
    assert main(["import-traces", str(SAMPLE), "--out", str(tasks)]) == 0
    ids = [t.task_id for t in load_trace_tasks(tasks)]
    capsys.readouterr()
    assert main(["run", "--env", "agentgym/Traces-v0", "--tasks", str(tasks), "--agent", "scripted", "noop", "--quiet",
                 "--out", str(tmp_path / "runs")]) == 0
    played = [json.loads(line)["task_id"] for line in (tmp_path / "runs" / "noop.jsonl").read_text().splitlines()]
    assert played == ids
    capsys.readouterr()
    assert main(["compare", "noop", "scripted", "--env", "agentgym/Traces-v0", "--task-file", str(tasks), "--tasks",
                 str(len(ids)), "--baseline", "", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_tasks"] == len(ids) and result["means"]["A"] == 0.0  # the no-op solves no trace
    # a task file is the env's only source of tasks: a split next to it is refused by name
    assert main(["compare", "noop", "scripted", "--env", "agentgym/Traces-v0", "--task-file", str(tasks), "--split", "dev",
                 "--tasks", "2", "--quiet"]) != 0
    assert "does not take split" in capsys.readouterr().err


def test_the_same_seed_and_actions_give_the_same_episode():
    tasks = import_traces(SAMPLE).tasks
    a = gym.make("agentgym/Traces-v0", tasks=tasks)
    b = gym.make("agentgym/Traces-v0", tasks=tasks)
    ea, eb = play_episode(a, ReplayRecordedCalls(a), 7), play_episode(b, ReplayRecordedCalls(b), 7)
    assert ea.to_json() .replace(f'"seconds": {ea.seconds}', "") == eb.to_json().replace(f'"seconds": {eb.seconds}', "")


def test_sgd_searches_no_recorded_row_agrees_with_are_simulated_when_asked(tmp_path):
    pytest.importorskip("litellm")
    from fake_llm_server import FakeLLMServer

    from agentgym.llm import LLM
    from agentgym.llm.toolsim import LLMToolSimulator

    with FakeLLMServer(['ok:{"results": [{"city": "Atlantis", "precipitation": "10", "temperature": "21"}]}']) as srv:
        sim = LLMToolSimulator(LLM("openai/fake", api_base=srv.api_base, api_key="x", cache=False))
        env = gym.make("agentgym/SGD-v0", tool_simulator=sim).unwrapped
        env.reset(seed=0, options={"task_id": "11_00061"})
        name = next(t["function"]["name"] for t in env._base_info()["tools"] if "Weather" in t["function"]["name"])
        obs, *_, info = env.step({"name": name, "arguments": {"city": "Atlantis"}})
        assert "Atlantis" in obs and info["tool_results"][0]["simulated"] is True and srv.hits == 1
        plain = gym.make("agentgym/SGD-v0").unwrapped  # the rule mocker stays the default: relabelled rows, no LLM
        plain.reset(seed=0, options={"task_id": "11_00061"})
        assert "simulated" not in plain.step({"name": name, "arguments": {"city": "Atlantis"}})[4]["tool_results"][0]
        assert srv.hits == 1
