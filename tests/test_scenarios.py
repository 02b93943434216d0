"""Generated scenarios: every kept task passed its checks and plays in the env; generation is seeded;
families can be held out; broken task-file rows are reported one by one and the valid rows kept."""
import json
import warnings

import gymnasium as gym
import pytest

from agentgym.agents import NoopAgent
from agentgym.cli import main
from agentgym.domains.sgd.agents import ScriptedAgent
from agentgym.domains.sgd.corpus import load_sgd
from agentgym.domains.sgd.scenarios import generate_scenarios
from agentgym.domains.sgd.scenarios.generate import known_values
from agentgym.domains.sgd.scenarios.validate import CHECKS, passed, validate
from agentgym.domains.sgd.taskfile import read_tasks, save_tasks
from agentgym.runner import run_episodes


@pytest.fixture(scope="module")
def generated():
    return generate_scenarios(9, seed=0, progress=False)


def test_every_kept_scenario_passed_every_check_and_plays_as_validated(generated, tmp_path):
    assert len(generated.tasks) == 9 and set(generated.summary()["kept"]) == {"recombine", "change_of_mind", "impatient", "withholding"}
    assert all(passed(t.meta["validation"]) for t in generated.tasks)
    path = save_tasks(tmp_path / "sc.jsonl", generated.tasks)
    env = gym.make("agentgym/SGD-v0", tasks=str(path))
    assert env.unwrapped.task_ids == [t.task_id for t in generated.tasks]
    assert all(e.success for e in run_episodes(env, ScriptedAgent(), progress=False))
    assert not any(e.success for e in run_episodes(env, NoopAgent(), progress=False))


def test_generation_is_deterministic_in_its_seed(generated):
    again = generate_scenarios(9, seed=0, progress=False)
    assert [t.to_dict() for t in again.tasks] == [t.to_dict() for t in generated.tasks]
    other = generate_scenarios(9, seed=1, progress=False)
    assert [t.meta["sources"] for t in other.tasks] != [t.meta["sources"] for t in generated.tasks]


def test_a_change_of_mind_is_spoken_and_the_booking_uses_the_second_value(generated):
    task = next(t for t in generated.tasks if t.meta["family"] == "change_of_mind")
    change = task.meta["changed"]
    goal = next(g for g in task.goal if any(s == change["slot"] for s, _ in g.informed))
    assert [v for s, v in goal.informed if s == change["slot"]] == [change["from"], change["to"]]
    assert all(c.args[change["slot"]] == change["to"] for c in goal.expected_calls)


def test_an_impatient_persona_holds_for_its_own_episode_only(generated):
    impatient = next(t for t in generated.tasks if t.meta["family"] == "impatient")
    plain = next(t for t in generated.tasks if t.meta["family"] != "impatient")
    env = gym.make("agentgym/SGD-v0", tasks=[impatient, plain]).unwrapped
    env.reset(seed=0, options={"task_id": impatient.task_id})
    assert env.user.persona.patience == 0
    env.reset(seed=0, options={"task_id": plain.task_id})
    assert env.user.persona.patience == 3


def test_a_withholding_user_volunteers_nothing_until_asked():
    tasks = generate_scenarios(6, seed=2, families=["withholding"], progress=False).tasks
    plain = [type(t).from_dict({**t.to_dict(), "meta": {}}) for t in tasks]

    def volunteered(task_list):
        env = gym.make("agentgym/SGD-v0", tasks=task_list).unwrapped
        return [sum(a["act"] == "INFORM" for a in env.reset(seed=0, options={"task_id": t.task_id})[1]["user_acts"])
                for t in task_list]

    assert sum(volunteered(tasks)) == 0  # the intent only: details come when the agent asks (the scripted agent does)
    assert sum(volunteered(plain)) > 0  # the same goals with the fitted habit say some details up front


def test_families_can_be_held_out(generated, tmp_path):
    path = save_tasks(tmp_path / "sc.jsonl", generated.tasks)
    train = gym.make("agentgym/SGD-v0", tasks=str(path), families=["recombine", "impatient"]).unwrapped
    held = gym.make("agentgym/SGD-v0", tasks=str(path), families=["change_of_mind"]).unwrapped
    assert {t.meta["family"] for t in train.tasks} == {"recombine", "impatient"}
    assert {t.meta["family"] for t in held.tasks} == {"change_of_mind"}
    assert not set(train.task_ids) & set(held.task_ids)
    with pytest.raises(ValueError, match="No usable task .* for families"):
        gym.make("agentgym/SGD-v0", tasks=str(path), families=["nope"])
    with pytest.raises(ValueError, match="pass tasks=FILE too"):
        gym.make("agentgym/SGD-v0", families=["recombine"])


def test_validation_rejects_unknown_slots_unknown_values_and_unsolvable_tasks(generated):
    corpus, values = load_sgd(), None
    values = known_values(corpus)
    task = generated.tasks[0]
    assert passed(validate(task, corpus, values)) and set(CHECKS) <= set(validate(task, corpus, values))
    bad_slot = type(task).from_dict(task.to_dict())
    bad_slot.goal[0].informed.append(("no_such_slot", "x"))
    assert validate(bad_slot, corpus, values)["schema_valid"] is False
    bad_value = type(task).from_dict(task.to_dict())
    slot = bad_value.goal[0].informed[0][0]
    bad_value.goal[0].informed[0] = (slot, "Zanzibar-on-Thames 9000")
    checks = validate(bad_value, corpus, values)
    assert checks["values_exist"] is False and "Zanzibar" in checks["why"]
    unsolvable = type(task).from_dict(task.to_dict())
    g = next(g for g in unsolvable.goal if g.expected_calls)
    call_slot = next(iter(g.expected_calls[0].args))
    g.expected_calls[0].args[call_slot] = "a value the user never says"
    checks = validate(unsolvable, corpus, values)
    assert checks["scripted_solves"] is False and not passed(checks)


def test_a_task_file_with_broken_rows_keeps_the_valid_rows_and_names_each_broken_one(generated, tmp_path):
    path = tmp_path / "mixed.jsonl"
    good = [t.to_dict() for t in generated.tasks[:2]]
    foreign = dict(good[0], task_id="x-1", services=["Spaceships_9"])
    path.write_text("\n".join([json.dumps(good[0]), "{not json", json.dumps({"task_id": "x-2"}), json.dumps(foreign),
                               json.dumps(good[1]), json.dumps(good[0])]) + "\n")
    tf = read_tasks(path, services=load_sgd().services)
    assert [t.task_id for t in tf.tasks] == [good[0]["task_id"], good[1]["task_id"]]
    assert [p.split(":")[0] for p in tf.problems] == ["line 2", "line 3", "line 4", "line 6"]
    assert "not JSON" in tf.problems[0] and "missing services, goal" in tf.problems[1]
    assert "Spaceships_9" in tf.problems[2] and "appears twice" in tf.problems[3]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make("agentgym/SGD-v0", tasks=str(path))
    assert len(env.unwrapped.tasks) == 2 and any("4 row(s) skipped" in str(w.message) for w in caught)
    with pytest.raises(FileNotFoundError, match="agentgym scenarios --out"):
        gym.make("agentgym/SGD-v0", tasks=str(tmp_path / "none.jsonl"))


def test_cli_scenarios_writes_a_task_file_the_run_command_plays(tmp_path, capsys):
    out = tmp_path / "sc.jsonl"
    assert main(["scenarios", "--n", "3", "--out", str(out), "--family", "recombine", "--quiet"]) == 0
    assert len(out.read_text().splitlines()) == 3 and "written" in capsys.readouterr().out
    assert main(["run", "--tasks", str(out), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    assert "scripted" in capsys.readouterr().out
    assert main(["scenarios", "--n", "3", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
