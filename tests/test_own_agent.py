"""Your own agent everywhere: a class in a module of yours, written module:Class[:k=v,...], plays through every CLI
command that takes an agent and through `compare` in every executor (in-process, a spawned process pool, Ray); a
class registered in the parent process reaches spawned workers; one defined where no worker can import it is
refused with the fix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import without_notices

ECHO = textwrap.dedent('''
    class EchoAgent:
        """Greets, asks once, ends: a whole agent (name, reset, act)."""

        name = "echo"

        def __init__(self, greeting: str = "Hello, how can I help?"):
            self.greeting = greeting

        def reset(self, observation, info):
            self.turn = 0

        def act(self, observation, info):
            self.turn += 1
            return self.greeting if self.turn < 3 else "[finish]"
''')
CLI = Path(sys.executable).parent / "agentgym"


@pytest.fixture
def agent_dir(tmp_path):
    (tmp_path / "my_agents.py").write_text(ECHO)
    return tmp_path


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the module is found from the working directory
    return subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def test_the_cli_plays_your_agent_by_module_and_class_with_arguments_and_keeps_two_specs_apart(agent_dir):
    run = _cli(["run", "--agent", "my_agents:EchoAgent", "my_agents:EchoAgent:greeting=Hi there", "noisy:epsilon=0.1",
                "--episodes", "3", "--quiet", "--out", "runs"], agent_dir)
    assert run.returncode == 0, run.stderr
    table = run.stdout
    assert "my_agents:EchoAgent " in table and "my_agents:EchoAgent:greeting=Hi there" in table and "noisy:epsilon=0.1" in table
    first = json.loads((agent_dir / "runs" / "my_agents_EchoAgent_greeting=Hi_there.jsonl").read_text().splitlines()[0])
    assert "Hi there" in json.dumps(first)  # the argument reached the agent
    # by file, from anywhere
    other = agent_dir / "elsewhere"
    other.mkdir()
    run = _cli(["run", "--agent", f"{agent_dir / 'my_agents.py'}:EchoAgent", "--episodes", "1", "--quiet", "--out", "r"], other)
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("spec,message", [
    ("my_pkg:EchoAgent", "'my_pkg' is neither a registered agent (hf, naive"),
    ("my_agents:Nope", "'my_agents' has no 'Nope'"),
    ("my_agents:EchoAgent:colour=red", "does not take colour; it takes: greeting"),
    ("my_agents:textwrap", "is not an agent class"),
    ("my_pkg", "Unknown agent 'my_pkg'. Choose one of:"),
    ("nowhere.py:EchoAgent", "No file 'nowhere.py'"),
])
def test_a_wrong_agent_spec_is_one_error_line_naming_the_fix(agent_dir, spec, message):
    (agent_dir / "my_agents.py").write_text(ECHO + "\nimport textwrap\n")
    for args in (["run", "--agent", spec, "--episodes", "1", "--quiet"], ["compare", "scripted", spec, "--tasks", "2", "--quiet"]):
        run = _cli(args, agent_dir)
        assert run.returncode != 0
        [line] = [x for x in without_notices(run.stderr).splitlines() if x.strip()]
        assert line.startswith("agentgym: error: ") and message in line, run.stderr


def test_compare_plays_your_module_agent_in_spawned_workers_as_in_process(agent_dir):
    rows = {}
    for workers in ("1", "2"):
        run = _cli(["compare", "scripted", "my_agents:EchoAgent:greeting=Hi", "--tasks", "4", "--workers", workers,
                    "--baseline", "", "--json", "--quiet"], agent_dir)
        assert run.returncode == 0, run.stderr
        rows[workers] = json.loads(run.stdout)["means"]
    assert rows["1"] == rows["2"]


def test_a_class_registered_in_the_parent_reaches_pool_and_ray_workers_and_a_notebook_class_is_refused_for_a_pool(agent_dir):
    """A registration made in the parent (as a notebook would) is invisible to a spawned worker's registry; the plan
    carries the class. A class defined in `__main__` without a file (a notebook, `python -c`) cannot be imported by a
    spawned worker: refused with the fix; Ray ships it by value."""
    code = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(agent_dir)!r})
        from agentgym.experiments import compare
        from agentgym.registry import registry
        from my_agents import EchoAgent
        registry.register("agent", "echo-here", EchoAgent)
        serial = compare("scripted", "echo-here:greeting=Hi", tasks=4, baseline=None, progress=False).means
        pooled = compare("scripted", "echo-here:greeting=Hi", tasks=4, baseline=None, workers=2, progress=False).means
        assert serial == pooled, (serial, pooled)
    ''') + ECHO.replace("class EchoAgent", "class NotebookAgent") + textwrap.dedent('''
        registry.register("agent", "nb", NotebookAgent)
        try:
            compare("scripted", "nb", tasks=2, baseline=None, workers=2, progress=False)
        except ValueError as e:
            assert "defined in this notebook or session" in str(e) and "workers=1" in str(e), e
        else:
            raise AssertionError("a notebook class went to spawned workers")
        import ray
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
        on_ray = compare("scripted", "echo-here:greeting=Hi", tasks=4, baseline=None, ray=True, progress=False).means
        nb_ray = compare("scripted", "nb", tasks=2, baseline=None, ray=True, progress=False).means
        ray.shutdown()
        assert on_ray == serial, (on_ray, serial)
        print("ok", nb_ray["B"])
    ''')
    pytest.importorskip("ray")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=agent_dir)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert run.stdout.strip().startswith("ok")
