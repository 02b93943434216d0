"""The front door and the docs: a short README whose links resolve, no build-machine paths, its quickstart
runs as written, and every docstring example in the package runs as a doctest."""
import doctest
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "agentgym" / "domains" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_a_front_door_and_every_link_in_the_docs_resolves():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    for page in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text()):
            if not target.startswith(("http://", "https://")):
                assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_no_user_facing_text_names_a_build_machine_path():
    for page in DOCS:
        text = page.read_text()
        for bad in ("../shared", "/work/", "/root/"):
            assert bad not in text, f"{page.relative_to(ROOT)} mentions {bad}"


def test_the_readme_quickstart_runs_as_written():
    pytest.importorskip("tau2")
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    scope: dict = {}
    exec(compile(code, "README.md quickstart", "exec"), scope)  # noqa: S102 - the README's own example
    assert scope["info"]["reward_breakdown"]["total"] >= 0 and "valid_tool_calls" in scope["info"]["reward_breakdown"]
    assert len(scope["tau2"].unwrapped.task_ids) == 30  # tau2-bench's airline train split


def _modules_with_examples() -> list[str]:
    out = []
    for p in sorted((ROOT / "agentgym").rglob("*.py")):
        if ">>> " in p.read_text():
            parts = p.relative_to(ROOT).with_suffix("").parts
            out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


@pytest.mark.parametrize("module", _modules_with_examples())
def test_docstring_examples_run(module):
    if module.startswith("agentgym.domain") and importlib.util.find_spec("tau2") is None:
        pytest.skip("the example plays a tau2 id")
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
