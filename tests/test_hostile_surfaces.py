"""The attack suite, second round: the surfaces added lately — tau2, traces, task files, compare, the router,
training configs — meet hostile input with a clear error, bounded memory and nothing lost (README, "What the
workbench promises"). Each test is one promise; a traceback, a silent coercion or a hang fails it."""
import json
import math
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest
from conftest import without_notices

from agentgym.cli import main
from agentgym.registration import register_envs
from agentgym.store import ExperienceStore, RecordEpisodes

register_envs()
HAS_TAU2 = __import__("importlib").util.find_spec("tau2") is not None
needs_tau2 = pytest.mark.skipif(not HAS_TAU2, reason="tau2 extra not installed (make tau2)")


def _cli(argv, capsys):
    rc = main(argv)
    err = without_notices(capsys.readouterr().err)
    assert "Traceback" not in err, (argv, err)
    return rc, err


# ---- training configs: refused before any compute ----------------------------------------------------

def _config_cases(tmp: Path) -> list[tuple[list[str], str]]:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    (tmp / "bomb.yaml").write_text(bomb + "env_kwargs: {x: *i}\n")
    (tmp / "persona-bomb.yaml").write_text(bomb + "persona: {patience: *i}\n")
    (tmp / "mixed.yaml").write_text("1: 2\nmax_steps: 3\n")
    (tmp / "afile").write_text("x")
    return [
        (["--config", str(tmp / "bomb.yaml")], "expands to more than"),
        (["--config", str(tmp / "persona-bomb.yaml")], "expands to more than"),
        (["--config", "/dev/zero"], "larger than"),
        (["--config", str(tmp / "mixed.yaml")], "not names"),
        (["--set", "max_length=1000000000000000"], "max_length must be at most"),
        (["--set", "max_steps=1000000000000000000000000000000"], "max_steps must be at most"),
        (["--set", "env_id=agentgym/Nope-v0"], "Unknown env_id 'agentgym/Nope-v0'"),
        (["--set", "bogus=1"], "Unknown config key(s) ['bogus']"),
        (["--set", "=5"], "has no key before '='"),
        (["--set", "method=grpo"], "cannot change the method"),
        (["--set", "learning_rate=-1"], "learning_rate must be above 0"),
        (["--set", "temperature=NaN"], "must be finite"),
        (["--set", f"output_dir={tmp / 'afile' / 'sub'}"], "cannot be written"),
        (["--set", "rewards={\"rule\": \"1\"}"], "rewards"),
        (["--set", "persona={\"patience\": \"x\"}"], "persona patience must be a whole number"),
    ]


@pytest.mark.parametrize("method", ["sft", "grpo"])
def test_every_bad_training_config_is_refused_before_a_model_loads(tmp_path, capsys, method):
    import resource

    from agentgym.train.config import GRPOConfig, SFTConfig

    grpo_only = set(GRPOConfig.__dataclass_fields__) - set(SFTConfig.__dataclass_fields__)
    for argv, message in _config_cases(tmp_path):
        key = argv[1].split("=", 1)[0] if argv[0] == "--set" else None
        if method == "sft" and key in grpo_only:
            message = f"'{key}' is a GRPO setting"  # an SFT run refuses it by name, before its value is read
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rc, err = _cli(["train", method, *argv, "--quiet"], capsys)
        assert rc == 2 and "agentgym: error: " in err and message in err, (argv, err)
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000, argv  # KiB: nothing was expanded


# ---- task and trace files -------------------------------------------------------------------------------

def _task_row(**over):
    row = {"task_id": "t1", "split": "generated", "services": ["Restaurants_2"],
           "goal": [{"service": "Restaurants_2", "intent": "FindRestaurants", "transactional": False,
                     "informed": [["location", "San Jose"], ["category", "Mexican"]], "requested": ["phone_number"],
                     "alternatives": 0}]}
    row.update(over)
    return row


def _goal(**over):
    g = dict(_task_row()["goal"][0])
    g.update(over)
    return [g]


@pytest.mark.parametrize("row,why", [
    (_task_row(goal=[]), "goal must be a non-empty list"),
    (_task_row(goal=_goal(alternatives=-1)), "alternatives"),
    (_task_row(goal=_goal(alternatives=10**9)), "alternatives"),
    (_task_row(goal=_goal(informed=[["no_such_slot", "x"]])), "slot 'no_such_slot'"),
    (_task_row(goal=_goal(requested=["no_such_slot"])), "slot 'no_such_slot'"),
    (_task_row(goal=_goal(intent="NoSuchIntent")), "no intent 'NoSuchIntent'"),
    (_task_row(task_id=""), "task_id must be a non-empty string"),
    (_task_row(task_id="x" * 1_000_000), "ids are at most"),
    (_task_row(task_id="a\x00b"), "control characters"),
])
def test_a_task_file_refuses_rows_that_cannot_be_played_and_names_them(tmp_path, row, why):
    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.domains.sgd.taskfile import read_tasks

    good = _task_row(task_id="good")
    p = tmp_path / "tasks.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps(row) + "\n")
    env = SGDEnv()
    tf = read_tasks(p, services=env.corpus.services)
    assert [t.task_id for t in tf.tasks] == ["good"] and len(tf.problems) == 1 and why in tf.problems[0], tf.problems
    assert tf.problems[0].startswith("line 2:")
    p.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="No usable task"):
        SGDEnv(tasks=p)


def test_duplicate_task_ids_are_refused_in_files_and_lists(tmp_path):
    from agentgym.domains.sgd.env import SGDEnv
    from agentgym.domains.sgd.tasks import Task

    p = tmp_path / "dup.jsonl"
    p.write_text(json.dumps(_task_row()) + "\n" + json.dumps(_task_row()) + "\n")
    with pytest.warns(UserWarning, match="appears twice"):
        env = SGDEnv(tasks=p)
    assert env.task_ids == ["t1"]
    t = Task.from_dict(_task_row())
    with pytest.raises(ValueError, match="more than once"):
        SGDEnv(tasks=[t, t])


def test_an_informed_slot_outside_the_schema_no_longer_scores_success(tmp_path):
    from agentgym.domains.sgd.env import SGDEnv

    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps(_task_row(goal=_goal(informed=[["location", "San Jose"], ["made_up", "1"]]))) + "\n")
    with pytest.raises(ValueError, match="made_up"):
        SGDEnv(tasks=p)


@pytest.mark.parametrize("tools,why", [(7, "'tools' must be a list"), (True, "'tools' must be a list"),
                                       (["a", "b"], "of non-objects"), ([{"function": "x"}], "has no name"),
                                       ("[1,", "not JSON")])
def test_trace_import_reports_bad_tools_per_row(tmp_path, tools, why, capsys):
    from agentgym.domains.traces import import_traces

    good = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "ok"}]}
    p = tmp_path / "t.jsonl"
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "tools": tools}) + "\n")
    report = import_traces(p)
    assert len(report.tasks) == 1 and len(report.problems) == 1 and report.problems[0].startswith("line 2:"), report.problems
    assert why in report.problems[0] or "JSON" in report.problems[0], report.problems
    rc, err = _cli(["import-traces", str(p), "--out", str(tmp_path / "out.jsonl")], capsys)
    assert rc == 0


def test_trace_import_survives_deep_nesting_and_huge_lines(tmp_path):
    from agentgym.domains.traces import import_traces

    p = tmp_path / "deep.jsonl"
    with p.open("w") as fh:
        fh.write("[" * 100_000 + "]" * 100_000 + "\n")
        fh.write('{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
        fh.write('{"tools": "' + "x" * (9 * 2**20) + '"}\n')
    report = import_traces(p)
    assert report.tasks == [] and len(report.problems) == 3, report.problems
    assert "deeper" in report.problems[0] and "longer than" in report.problems[2]


# ---- compare, scenarios, agents --------------------------------------------------------------------

@pytest.mark.parametrize("spec,message", [("noisy:foo=1", "does not take foo"), ("scripted:x=1", "does not take x")])
def test_agent_arguments_a_class_does_not_take_are_refused_by_name(capsys, spec, message):
    rc, err = _cli(["compare", "scripted", spec, "--tasks", "2", "--quiet"], capsys)
    assert rc == 2 and message in err and "it takes:" in err


def test_scenarios_beyond_what_one_run_makes_are_refused_at_once(capsys, tmp_path):
    rc, err = _cli(["scenarios", "--n", "100000", "--out", str(tmp_path / "s.jsonl"), "--quiet"], capsys)
    assert rc == 2 and "more than one run makes" in err


def test_scenario_generation_stops_when_the_corpus_is_spent():
    from agentgym.domains.sgd.scenarios import STALL_ATTEMPTS, generate_scenarios

    gen = generate_scenarios(10_000, families=["change_of_mind"], progress=False, max_attempts=10**9)
    assert gen.exhausted and len(gen.tasks) < 10_000
    assert gen.attempts < len(gen.tasks) * 30 + STALL_ATTEMPTS + 1  # it gave up once nothing new came, not at 30 × n


# ---- the router and execute_with_feedback ---------------------------------------------------------

@pytest.mark.parametrize("weights,message", [
    ({"v1": 2.0, "v2": 2.0}, "at most 1"), ({"v1": 0.2, "v2": 0.2}, "must sum to 1"), ({"v1": 0.0, "v2": 0.0}, "must not all be 0"),
    ({}, "non-empty dict"), ({"v1": True, "v2": False}, "must be a number"), ({"v1": 5e-324, "v2": 1.0}, "too small"),
    ({"v1": math.nan, "v2": 1.0}, "must be finite"), ({"v1": math.inf, "v2": 0.0}, "must be finite"),
])
def test_router_weights_are_validated_not_silently_renormalized(tmp_path, weights, message):
    from agentgym.experiments import Router

    with ExperienceStore(tmp_path / "s", create=True) as store:
        with pytest.raises(ValueError, match=message):
            Router(store, {"v1": (str, None), "v2": (str, None)}, weights=weights)
        r = Router(store, {"v1": (str, None), "v2": (str, None)}, weights={"v1": 3.0, "v2": 1.0}, normalize=True)
        assert r.weights == {"v1": 0.75, "v2": 0.25}


@pytest.mark.parametrize("session", [None, {"a": 1}, "x" * (50 * 2**20), "a\x00b", "", 7])
def test_router_session_ids_are_non_empty_printable_strings(tmp_path, session):
    from agentgym.experiments import Router

    with ExperienceStore(tmp_path / "s", create=True) as store:
        with pytest.raises(ValueError, match="session_id"):
            Router(store, {"v1": (str, None)})("hi", session_id=session)
        assert store.episodes().empty


@pytest.mark.parametrize("output", [object(), {"a", "b"}, b"bytes"])
def test_an_agent_output_the_store_cannot_keep_is_an_error_not_a_repr(tmp_path, output):
    with ExperienceStore(tmp_path / "s", create=True) as store:
        with pytest.raises(TypeError, match="return text"):
            store.execute_with_feedback(lambda x: output, "hi")
        eps = store.episodes()
        assert list(eps["status"]) == ["error"]


def test_an_agent_interrupted_in_execute_with_feedback_leaves_no_running_episode(tmp_path):
    def agent(x):
        raise KeyboardInterrupt

    with ExperienceStore(tmp_path / "s", create=True) as store:
        with pytest.raises(KeyboardInterrupt):
            store.execute_with_feedback(agent, "hi")
        assert list(store.episodes()["status"]) == ["abandoned"]


# ---- silent coercions --------------------------------------------------------------------------------

def test_sgd_refuses_strings_where_booleans_and_numbers_belong():
    with pytest.raises(ValueError, match="reward weight 'success' must be a number"):
        gym.make("agentgym/SGD-v0", reward={"weights": {"success": "1"}})
    with pytest.raises(ValueError, match="must be finite"):
        gym.make("agentgym/SGD-v0", reward={"weights": {"success": math.nan}})
    env = gym.make("agentgym/SGD-v0")
    for bad in ("", False, 0, "x" * 300, "a\x00"):
        with pytest.raises(ValueError, match="task_id"):
            env.reset(seed=0, options={"task_id": bad})
    with pytest.raises(ValueError, match="reveal_goal"):
        env.reset(seed=0, options={"reveal_goal": "no"})
    env.reset(seed=0)  # still usable


@needs_tau2
@pytest.mark.parametrize("kwargs,name", [({"solo_mode": "false"}, "solo_mode"), ({"normalize_rewards": "no"}, "normalize_rewards"),
                                         ({"all_messages_as_observation": "no"}, "all_messages_as_observation"),
                                         ({"include_history": 1}, "include_history")])
def test_tau2_refuses_strings_where_booleans_belong(kwargs, name):
    with pytest.raises(ValueError, match=f"{name} must be true or false"):
        gym.make("agentgym/tau2-airline-v0", **kwargs)


def test_store_filters_are_checked(tmp_path):
    with ExperienceStore(tmp_path / "s", create=True) as store:
        for kwargs in ({"min_reward": "abc"}, {"max_reward": math.nan}, {"rated": "yes"}, {"step": -1}):
            with pytest.raises(ValueError, match=next(iter(kwargs))):
                store.episodes(**kwargs)


def test_a_store_from_a_newer_version_is_a_cli_error(tmp_path, capsys):
    import sqlalchemy as sa

    folder = tmp_path / "s"
    ExperienceStore(folder, create=True).close()
    eng = sa.create_engine(f"sqlite:///{folder / 'experience.db'}")
    with eng.begin() as c:
        c.execute(sa.text("INSERT INTO schema_version (version, applied_at) VALUES (999, '2030-01-01')"))
    eng.dispose()
    for argv in (["versions", "--store", str(folder)], ["compare", "scripted", "naive@v1", "--store", str(folder), "--quiet"]):
        rc, err = _cli(argv, capsys)
        assert rc == 2 and "newer than this agentgym understands" in err, err


def test_knob_and_program_files_are_read_bounded_and_checked(tmp_path, capsys):
    from agentgym.domains.sgd.users.optimize import tuned_user

    p = tmp_path / "knobs.json"
    p.write_text(json.dumps({"format": "agentgym-goal-user-knobs", "knobs": {"patience": "x"}}))
    with pytest.raises(ValueError, match="patience must be a whole number"):
        tuned_user(p)
    p.write_text(json.dumps({"format": "agentgym-goal-user-knobs", "knobs": {"bogus": 1}}))
    with pytest.raises(ValueError, match="unknown knob"):
        tuned_user(p)
    with pytest.raises(ValueError, match="larger than"):
        tuned_user("/dev/zero")
    if __import__("importlib").util.find_spec("dspy") is not None:
        rc, err = _cli(["eval-user", "--user", "dspy", "--user-program", "/dev/zero", "--max-dialogues", "1",
                        "--agent-episodes", "0", "--quiet"], capsys)
        assert rc == 2 and "larger than" in err


@pytest.fixture(scope="module")
def trace_tasks(tmp_path_factory):
    from agentgym.domains.traces import import_traces, sample_traces, save_trace_tasks

    return str(save_trace_tasks(tmp_path_factory.mktemp("traces") / "tasks.jsonl", import_traces(sample_traces()).tasks))


# ---- hostile tools and shared info ---------------------------------------------------------------------

@needs_tau2
def test_a_hostile_calculate_expression_is_refused_at_once_and_valid_ones_still_answer():
    env = gym.make("agentgym/tau2-airline-v0")
    env.reset(seed=0)
    for expr in ("9**9**9**9", "9**9**7", "(9**999)**999", "(" * 600 + "1" + ")" * 600):
        obs, *_ , info = env.step({"name": "calculate", "arguments": {"expression": expr}})
        assert obs.startswith("tool: Error:") and info["tool_results"][0]["ok"] is False, (expr, obs[:200])
    obs, *_ = env.step({"name": "calculate", "arguments": {"expression": "(2 + 3) * 4 / 8"}})
    assert obs == "tool: 2.5"


def _mutate(value, depth=0):
    """Everything an agent could do to its info: clear containers, overwrite attributes."""
    if depth > 6:
        return
    if isinstance(value, dict):
        for v in list(value.values()):
            _mutate(v, depth + 1)
        value.clear()
        value["hacked"] = True
    elif isinstance(value, list):
        for v in value:
            _mutate(v, depth + 1)
        value.clear()
    elif hasattr(value, "evaluation_criteria") and value.evaluation_criteria is not None:
        value.evaluation_criteria.reward_basis = []
        value.evaluation_criteria.actions = []


def _play(env_id, kwargs, actions, mutate, task_id):
    env = gym.make(env_id, **kwargs)
    obs, info = env.reset(seed=3, options={"task_id": task_id})
    trace = [obs]
    for a in actions:
        if mutate:
            for v in list(info.values()):
                _mutate(v)
            info.clear()
        obs, reward, term, trunc, info = env.step(a)
        trace.append((obs, reward, term, trunc))
        if term or trunc:
            break
    return trace


FAMILY_PLAYS = [
    ("agentgym/SGD-v0", {}, None, ["Hi, what city?", {"name": "Restaurants_2_FindRestaurants", "arguments": {"location": "San Jose",
                                                                                                    "category": "Mexican"}},
                                   "Anything else?", "[finish]"]),
    ("agentgym/Traces-v0", {"tasks": "TRACES"}, None, ["Hello", "Go on", "[finish]"]),
]
if HAS_TAU2:
    FAMILY_PLAYS.append(("agentgym/tau2-airline-v0", {}, "2", ["Hello, how can I help?", "[finish]"]))


@pytest.mark.parametrize("env_id,kwargs,task_id,actions", FAMILY_PLAYS)
def test_info_never_aliases_the_env_state(env_id, kwargs, task_id, actions, trace_tasks):
    kwargs = {k: trace_tasks if v == "TRACES" else v for k, v in kwargs.items()}
    if task_id is None:
        task_id = gym.make(env_id, **kwargs).unwrapped.task_ids[0]
    clean = _play(env_id, kwargs, actions, False, task_id)
    hacked = _play(env_id, kwargs, actions, True, task_id)
    assert hacked == clean


@needs_tau2
def test_no_agent_can_rewrite_tau2_grading_through_info():
    from agentgym.agents import NoopAgent
    from agentgym.runner import play_episode

    class Hacker(NoopAgent):
        def act(self, observation, info):
            if info.get("task") is not None:
                info["task"].evaluation_criteria.reward_basis = []
            return super().act(observation, info)

    env = gym.make("agentgym/tau2-airline-v0")
    honest = play_episode(gym.make("agentgym/tau2-airline-v0"), NoopAgent(), 0, "2")
    hacked = play_episode(env, Hacker(), 0, "2")
    assert hacked.total_reward == honest.total_reward == 0.0


# ---- every LLM call on record, bounded --------------------------------------------------------------

@pytest.fixture
def fake_server():
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    with FakeLLMServer(["ok:Sure, my reservation id is ABC123. ###STOP###"]) as srv:
        yield srv


def _llm_calls_recorded(tmp_path, env, actions, task_id=None):
    with ExperienceStore(tmp_path / "s", create=True) as store:
        rec = RecordEpisodes(env, store)
        rec.reset(seed=0, options={"task_id": task_id} if task_id else None)
        for a in actions:
            *_, term, trunc, _ = rec.step(a)
            if term or trunc:
                break
        rec.close()
        return store.llm_calls() if hasattr(store, "llm_calls") else None


@pytest.mark.skipif(__import__("importlib").util.find_spec("litellm") is None, reason="llm extra not installed")
def test_traces_tool_simulator_calls_reach_the_store(tmp_path, fake_server, trace_tasks):
    from agentgym.llm import LLM
    from agentgym.llm.toolsim import LLMToolSimulator

    sim = LLMToolSimulator(LLM("openai/fake", api_base=fake_server.api_base, api_key="x", cache=False))
    env = gym.make("agentgym/Traces-v0", tasks=trace_tasks, tool_simulator=sim)
    task = env.unwrapped.all_tasks[env.unwrapped.task_ids[0]]
    tool = task.tools[0]["function"]["name"]
    calls = _llm_calls_recorded(tmp_path, env, [{"name": tool, "arguments": {"never": "recorded"}}, "[finish]"], task.task_id)
    assert calls is not None and len(calls) >= 1 and set(calls["role"]) == {"tool"}


@pytest.mark.skipif(not HAS_TAU2 or __import__("importlib").util.find_spec("litellm") is None, reason="tau2 and llm extras")
def test_tau2_llm_user_calls_reach_the_store(tmp_path, fake_server):
    env = gym.make("agentgym/tau2-airline-v0", user="llm", user_llm="openai/fake",
                   user_llm_args={"api_base": fake_server.api_base, "api_key": "x", "cache": False})
    calls = _llm_calls_recorded(tmp_path, env, ["How can I help?", "[finish]"])
    assert calls is not None and len(calls) >= 2 and set(calls["role"]) == {"user"}


@pytest.mark.skipif(__import__("importlib").util.find_spec("litellm") is None, reason="llm extra not installed")
def test_an_enormous_completion_is_cut_not_kept(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    from agentgym.llm import LLM
    from agentgym.llm.client import MAX_REPLY_CHARS

    with FakeLLMServer(["ok:" + "word " * 2_000_000]) as srv:
        llm = LLM("openai/fake", api_base=srv.api_base, api_key="x", cache=tmp_path / "c.sqlite")
        res = llm.complete([{"role": "user", "content": "hi"}])
    assert res.ok and len(res.text) <= MAX_REPLY_CHARS + 100 and res.text.endswith("agentgym keeps]")
    assert sum(p.stat().st_size for p in tmp_path.glob("c.sqlite*")) < 4 * MAX_REPLY_CHARS + 2**20


# ---- commands that did nothing exit non-zero -----------------------------------------------------------

def test_optimize_user_with_no_training_turns_is_refused(capsys):
    rc, err = _cli(["optimize-user", "--train-turns", "0", "--quiet"], capsys)
    assert rc == 2 and "--train-turns must be at least 1" in err


@pytest.mark.skipif(__import__("importlib").util.find_spec("dspy") is None, reason="llm extra not installed")
def test_optimize_user_whose_every_call_failed_exits_1(tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    with FakeLLMServer([400]) as srv:
        os.environ["OPENAI_API_BASE"] = srv.api_base
        try:
            rc, err = _cli(["optimize-user", "--model", "openai/bogus", "--optimizer", "none", "--train-turns", "2",
                            "--eval-turns", "2", "--out", str(tmp_path / "p.json"), "--quiet"], capsys)
        finally:
            os.environ.pop("OPENAI_API_BASE", None)
    assert rc == 1 and "every one of the" in err and "LLM calls failed" in err


# ---- every subcommand: Ctrl-C is a one-line summary, exit 130 ---------------------------------------------

SUBCOMMANDS = {
    "run": (["run", "--quiet"], "agentgym.cli.run_episodes"),
    "eval-user": (["eval-user", "--agent-episodes", "0", "--quiet"], "agentgym.domains.sgd.users.load_user_model"),
    "optimize-user": (["optimize-user", "--quiet"], "agentgym.domains.sgd.users.optimize.optimize_program"),
    "eval-judge": (["eval-judge", "--quiet"], "agentgym.domains.sgd.judge_eval.build_pairs"),
    "train": (["train", "sft", "--quiet"], "agentgym.train.train"),
    "eval": (["eval", "--version", "v", "--quiet"], "agentgym.train.evaluate_version"),
    "compare": (["compare", "scripted", "naive", "--quiet"], "agentgym.experiments.compare"),
    "scenarios": (["scenarios", "--out", "s.jsonl", "--quiet"], "agentgym.domains.sgd.scenarios.generate_scenarios"),
    "import-traces": (["import-traces", "t.jsonl", "--out", "o.jsonl"], "agentgym.domains.traces.import_traces"),
    "versions": (["versions"], "agentgym.store.ExperienceStore"),
    "serve": (["serve", "--env", "agentgym/SGD-v0"], "agentgym.interop.openenv_server.serve"),
    "show": (["show", "t.jsonl"], "agentgym.runner.read_trajectories"),
    "export-app": (["export-app", "--app", "app.py", "--quiet"], "agentgym.workbench.export.export_app"),
}


def test_every_subcommand_is_covered_here():
    from agentgym.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(SUBCOMMANDS)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_ctrl_c_in_any_subcommand_is_one_line_and_exit_130(name, monkeypatch, capsys, tmp_path):
    import importlib

    argv, target = SUBCOMMANDS[name]
    module, attr = target.rsplit(".", 1)
    if importlib.util.find_spec(module.split(".")[0]) is None:
        pytest.skip(module)
    try:
        mod = importlib.import_module(module)
    except ImportError:
        pytest.skip(f"{module} needs an extra")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, attr, interrupted)
    monkeypatch.chdir(tmp_path)
    if name in ("import-traces", "show"):
        (tmp_path / "t.jsonl").write_text("{}\n")
    if name == "export-app":
        (tmp_path / "app.py").write_text("import marimo\n")
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 130 and "Traceback" not in err, err
    lines = [ln for ln in without_notices(err).splitlines() if ln.startswith("agentgym:")]
    assert len(lines) == 1 and lines[0].startswith("agentgym: interrupted: "), err


@pytest.mark.parametrize("argv", [["run", "--agent", "scripted", "naive", "--episodes", "100000", "--out", "runs"],
                                  ["compare", "scripted", "naive", "--tasks", "100", "--trials", "50", "--workers", "2"]])
def test_a_real_sigint_keeps_what_finished_and_says_so(tmp_path, argv):
    # SIGINT back to its default in the child: a test run started in the background (`make test &`) inherits it
    # ignored, and Python then installs no KeyboardInterrupt handler
    proc = subprocess.Popen([sys.executable, "-m", "agentgym.cli", *argv, "--quiet"], cwd=tmp_path, stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(12 if argv[0] == "compare" else 8)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("agentgym: interrupted: "), err[-2000:]
    if argv[0] == "run":
        partial = tmp_path / "runs" / "scripted.jsonl.partial"
        assert partial.exists() and len(partial.read_text().splitlines()) >= 1
        assert "finished episode(s) kept in" in err
        assert stat.S_IMODE(partial.stat().st_mode) == 0o600 and stat.S_IMODE((tmp_path / "runs").stat().st_mode) == 0o700


# ---- secrets: nothing the package writes holds one in clear --------------------------------------------

PLANTED = {
    "tau2-api-key": "tau2KeyValue01", "tau2-json-text": "jsonTextPass02", "tau2-fn-token": "fnTokenValue03",
    "trace-arg": "traceAuthTok04", "trace-result": "sessionCookie05", "pin": "pinnumber0606", "passphrase": "phraseWord07",
    "spec": "specPassphrase08", "router": "sk-proj-RouterSession09xx", "scenario-meta": "sk-ant-scenarioMeta10",
    "scenario-persona": "ghp_scenarioPersona11abcdef", "run-key": "sk-runsFileKey12", "run-password": "runsPassword13",
}


class _SecretAgent:
    """An agent that says what a careless one would (for the runs/*.jsonl check)."""

    name = "leaky"

    def __init__(self, passphrase: str = "") -> None:
        self.passphrase = passphrase

    def reset(self, observation, info):
        pass

    def act(self, observation, info):
        return f"use {PLANTED['run-key']}; my password is {PLANTED['run-password']}. [finish]"


def test_planted_secrets_never_reach_any_file_the_package_writes(tmp_path, capsys):
    from agentgym.domains.sgd.scenarios import generate_scenarios
    from agentgym.domains.sgd.taskfile import save_tasks
    from agentgym.domains.traces import import_traces
    from agentgym.experiments import CompareConfig, Router, compare
    from agentgym.llm.probe import EngineVerdict, _verdict_path, record_verdict
    from agentgym.registry import registry
    from agentgym.runner import run_episodes

    s = PLANTED
    store = ExperienceStore(tmp_path / "store", create=True)
    if HAS_TAU2:
        env = RecordEpisodes(gym.make("agentgym/tau2-airline-v0"), store)
        env.reset(seed=0)
        env.step({"name": "get_user_details", "arguments": {"user_id": "mia_li_3668", "api_key": s["tau2-api-key"]}})
        env.step({"name": "calculate", "arguments": {"expression": json.dumps({"password": s["tau2-json-text"]})}})
        env.step(f"get_user_details(user_id='mia_li_3668', token='{s['tau2-fn-token']}')")
        env.step("[finish]")
    trace = {"messages": [{"role": "user", "content": "log me in"},
                          {"role": "assistant", "tool_calls": [{"id": "c1", "function": {
                              "name": "login", "arguments": json.dumps({"user": "bo", "auth_token": s["trace-arg"]})}}]},
                          {"role": "tool", "tool_call_id": "c1", "content": f"ok session_cookie={s['trace-result']}"}]}
    (tmp_path / "raw.jsonl").write_text(json.dumps(trace) + "\n")
    assert main(["import-traces", str(tmp_path / "raw.jsonl"), "--out", str(tmp_path / "traces.jsonl")]) == 0
    env = RecordEpisodes(gym.make("agentgym/Traces-v0", tasks=[t for t in import_traces(tmp_path / "raw.jsonl").tasks]), store)
    env.reset(seed=0)
    env.step({"name": "login", "arguments": {"user": "bo", "auth_token": s["trace-arg"]}})
    env.step("[finish]")
    env = RecordEpisodes(gym.make("agentgym/SGD-v0"), store)
    env.reset(seed=0)
    env.step(f"my pin is {s['pin']} and the passphrase: {s['passphrase']}")
    env.close()
    registry.register("agent", "leaky", _SecretAgent, replace=True)
    compare("scripted", f"leaky:passphrase={s['spec']}", CompareConfig(tasks=2, baseline=None, store=str(tmp_path / "store")),
            progress=False)
    Router(store, {"v1": (str, None)})("hello", session_id=s["router"])
    gen = generate_scenarios(1, families=["change_of_mind"], progress=False)
    gen.tasks[0].meta["api_key"] = s["scenario-meta"]
    gen.tasks[0].meta["persona"] = {"patience": 2, "note": s["scenario-persona"]}
    save_tasks(tmp_path / "scenarios.jsonl", gen.tasks)
    run_episodes(gym.make("agentgym/SGD-v0"), _SecretAgent(), episodes=1, out=tmp_path / "runs" / "leaky.jsonl", progress=False)
    record_verdict(EngineVerdict(True, "ok", "test-private-verdict"))
    verdict = _verdict_path("test-private-verdict")
    try:
        assert stat.S_IMODE(verdict.stat().st_mode) == 0o600
    finally:
        verdict.unlink()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "raw.jsonl"]  # raw.jsonl: the user's own input
    planted = {k: v for k, v in s.items() if HAS_TAU2 or not k.startswith("tau2")}
    leaked = [f"{name} in {p.relative_to(tmp_path)}" for name, secret in planted.items() for p in files
              if secret.encode() in p.read_bytes()]
    assert leaked == []
    for p in [tmp_path / "runs" / "leaky.jsonl", tmp_path / "traces.jsonl", tmp_path / "scenarios.jsonl",
              *(tmp_path / "store").iterdir()]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    for d in (tmp_path / "runs", tmp_path / "store"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    store.close()
    registry._entries["agent"].pop("leaky")


@pytest.mark.skipif(__import__("importlib").util.find_spec("litellm") is None, reason="llm extra not installed")
def test_eval_judge_whose_every_answer_is_unreadable_exits_1(capsys):
    sys.path.insert(0, str(Path(__file__).parent))
    from fake_llm_server import FakeLLMServer

    with FakeLLMServer(["ok:I like turtles."]) as srv:
        rc, err = _cli(["eval-judge", "--model", "openai/fake", "--api-base", srv.api_base, "--api-key", "x", "--pairs", "2",
                        "--quiet"], capsys)
    assert rc == 1 and "none of its" in err and "could be read as a score" in err


# every subcommand, one bad input each: an `agentgym: error`, exit 2 (test_attacks.py walks run/train/versions/eval further)
BAD_INPUT = {
    "run": ["run", "--env", "agentgym/Traces-v0", "--tasks", "/nonexistent.jsonl", "--quiet"],
    "eval-user": ["eval-user", "--max-dialogues", "0", "--quiet"],
    "optimize-user": ["optimize-user", "--budget", "0", "--quiet"],
    "eval-judge": ["eval-judge", "--pairs", "0", "--quiet"],
    "train": ["train", "grpo", "--set", "group_size=1", "--quiet"],
    "eval": ["eval", "--store", "/nonexistent/store", "--version", "v", "--quiet"],
    "compare": ["compare", "scripted", "nope", "--quiet"],
    "scenarios": ["scenarios", "--n", "0", "--out", "s.jsonl", "--quiet"],
    "import-traces": ["import-traces", "/nonexistent.jsonl", "--out", "o.jsonl"],
    "versions": ["versions", "--store", "/nonexistent/store"],
    "serve": ["serve", "--env", "agentgym/SGD-v0", "--host", "0.0.0.0"],  # reachable from outside, no token
    "show": ["show", "runs/nope.jsonl"],
    "export-app": ["export-app", "--app", "/nonexistent/app.py", "--quiet"],
}


def test_bad_input_covers_every_subcommand():
    assert set(BAD_INPUT) == set(SUBCOMMANDS)


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_every_subcommand_refuses_bad_input_with_a_message(name, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, err = _cli(BAD_INPUT[name], capsys)
    assert rc == 2 and err.startswith("agentgym: error: ") and len(err) > 40, (name, err)
