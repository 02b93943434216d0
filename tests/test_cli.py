import json
import subprocess
import sys

import pytest


def test_agentgym_run_writes_trajectories_and_prints_a_summary(tmp_path):
    out = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "run", "--agent", "scripted", "naive", "--episodes", "5", "--quiet", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "success_rate" in proc.stdout and "scripted" in proc.stdout and "naive" in proc.stdout
    lines = (out / "scripted.jsonl").read_text().splitlines()
    assert len(lines) == 5
    ep = json.loads(lines[0])
    assert {"task_id", "steps", "messages", "reward_breakdown", "success"} <= set(ep)


def test_show_reads_a_trajectory_file_as_a_table_and_one_episode_in_full(tmp_path):
    out = tmp_path / "runs"
    cli = [sys.executable, "-m", "agentgym.cli"]
    subprocess.run([*cli, "run", "--agent", "scripted", "--episodes", "3", "--quiet", "--out", str(out)], check=True,
                   capture_output=True, timeout=300)
    rows = [json.loads(line) for line in (out / "scripted.jsonl").read_text().splitlines()]
    table = subprocess.run([*cli, "show", str(out / "scripted.jsonl")], capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    for r in rows:  # every episode is a row: its task, seed and reward as written
        assert any(r["task_id"] in line and f"{r['total_reward']:.3f}" in line for line in table.stdout.splitlines()), (r, table.stdout)
    assert f"3 episode(s), success {sum(r['success'] for r in rows) / 3:.3f}" in table.stderr
    one = subprocess.run([*cli, "show", str(out / "scripted.jsonl"), "--episode", "1"], capture_output=True, text=True, timeout=120)
    assert one.returncode == 0 and one.stdout.startswith(f"episode 1: task {rows[1]['task_id']}")
    first_user = next(m["content"] for m in rows[1]["messages"] if m["role"] == "user")
    assert first_user.splitlines()[0] in one.stdout and "reward: " in one.stdout
    by_task = subprocess.run([*cli, "show", str(out / "scripted.jsonl"), "--task", rows[2]["task_id"]], capture_output=True, text=True, timeout=120)
    assert by_task.stdout.startswith(f"episode 2: task {rows[2]['task_id']}")
    (tmp_path / "bad.jsonl").write_text('{"task_id": "x", "seed": 0, "agent": "a"}\n{"not": "a trajectory"}\n')
    for argv, message in ((["show", str(out / "scripted.jsonl"), "--episode", "9"], "--episode must be 0..2"),
                          (["show", str(tmp_path / "bad.jsonl")], "bad.jsonl:2: not a trajectory"),
                          (["show", str(out / "typo.jsonl")], "scripted.jsonl")):
        bad = subprocess.run([*cli, *argv], capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and bad.stderr.startswith("agentgym: error: ") and message in bad.stderr, bad.stderr


def test_bad_split_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentgym.cli", "run", "--split", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "No SGD split 'nope'" in proc.stderr and "dev" in proc.stderr


@pytest.mark.parametrize("argv,message", [
    (["eval-judge", "--pairs", "0"], "--pairs must be at least 1"),
    (["eval-user", "--max-dialogues", "0"], "--max-dialogues must be at least 1"),
    (["eval-user", "--data-dir", "/no/such/dir"], "No SGD split"),
    (["run", "--episodes", "0", "--quiet"], "episodes must be at least 1"),
])
def test_bad_arguments_are_clear_errors(argv, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentgym.cli", *argv], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-500:]


def test_an_interrupted_run_keeps_the_last_results_and_its_own(tmp_path):
    import gymnasium as gym
    import pytest

    from agentgym.domains.sgd.agents import ScriptedAgent
    from agentgym.runner import run_episodes

    env = gym.make("agentgym/SGD-v0")
    out = tmp_path / "runs" / "scripted.jsonl"
    run_episodes(env, ScriptedAgent(), episodes=3, progress=False, out=out)
    before = out.read_text()
    assert before.count("\n") == 3

    class Breaks(ScriptedAgent):
        played = 0

        def reset(self, obs, info):
            Breaks.played += 1
            if Breaks.played == 3:
                raise KeyboardInterrupt  # the person stops the run during episode 3
            super().reset(obs, info)

    with pytest.raises(KeyboardInterrupt):
        run_episodes(env, Breaks(), episodes=5, progress=False, out=out)
    assert out.read_text() == before  # the last complete run is intact
    partial = out.with_name(out.name + ".partial").read_text()
    assert partial.count("\n") == 2  # and this run's two finished episodes are readable
    with pytest.raises(ValueError, match="is a folder"):
        run_episodes(env, ScriptedAgent(), episodes=1, progress=False, out=tmp_path)


def test_every_option_of_every_command_has_help_and_its_default_shows():
    import argparse

    from agentgym.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"agentgym {name} {action.option_strings[0]} has no help"
        text = command.format_help()
        for action in command._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and action.dest != "help":
                assert "default" in action.help or f"(default: {action.default})" in " ".join(text.split()), \
                    f"agentgym {name} --help hides the default of {action.option_strings[0]}"
