import json
import subprocess
import sys


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


def test_bad_split_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agentgym.cli", "run", "--split", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "No SGD split 'nope'" in proc.stderr and "dev" in proc.stderr
