"""The house rules, checked: layers point one way, no import cycles, no private names imported
across packages, one registry whose every entry resolves."""
import ast
import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "agentgym"
# what each layer may import, at module level and inside functions alike
LOWER = {
    "types": set(), "spaces": set(), "registry": set(), "cache": set(), "safeio": set(), "scrub": set(), "prompt": {"types"},
    "llm": {"store", "cache", "safeio", "scrub"},
    "store": {"safeio", "scrub"},
    # experiments sit on the env and the store; the env, the store and training never reach up into them
    "experiments": {"store", "types", "registry", "cache", "safeio", "scrub", "domain", "registration", "agents", "runner",
                    "train"},
}


def test_nothing_below_experiments_imports_them():
    for name, path in _modules().items():
        if name.startswith(("agentgym.store", "agentgym.episode", "agentgym.domains", "agentgym.agents",
                            "agentgym.train", "agentgym.runner", "agentgym.llm")):
            assert "agentgym.experiments" not in path.read_text(), f"{name} reaches up into agentgym.experiments"


def _modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = p.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def _top_imports(path: Path) -> list[tuple[str, list[str]]]:
    """The agentgym imports at module level."""
    return _imports(ast.parse(path.read_text()).body)


def _all_imports(path: Path) -> list[tuple[str, list[str]]]:
    """The agentgym imports anywhere in the module: a deferred import inside a function still makes a circle."""
    return _imports(ast.walk(ast.parse(path.read_text())))


def _imports(nodes) -> list[tuple[str, list[str]]]:
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agentgym"):
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.startswith("agentgym")]
    return out


def _graph(read=_all_imports) -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        for target, names in read(path):
            targets = [f"{target}.{n}" if f"{target}.{n}" in mods else target for n in names] or [target]
            for t in targets:  # `from agentgym.train import versions` is an import of the module agentgym.train.versions
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t != name:
                    graph[name].add(t)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> list[str] | None:
        state[n] = 1
        for m in graph.get(n, ()):
            if state.get(m) == 1:
                return path + [m]
            if m not in state:
                found = visit(m, path + [m])
                if found:
                    return found
        state[n] = 2
        return None
    for n in list(graph):
        if n not in state:
            found = visit(n, [n])
            if found:
                return found
    return None


def test_no_import_cycles_between_packages_or_modules_even_through_imports_inside_functions():
    graph = _graph()
    pkg = defaultdict(set)
    for a, bs in graph.items():
        for b in bs:
            pa, pb = a.split(".")[1] if "." in a else a, b.split(".")[1] if "." in b else b
            if pa != pb and b != "agentgym":
                pkg[pa].add(pb)
    assert _cycle(pkg) is None, f"package cycle: {_cycle(pkg)}"
    modules = {a: {b for b in bs if b != "agentgym"} for a, bs in graph.items()}
    assert _cycle(modules) is None, f"module cycle: {_cycle(modules)}"


def test_lower_layers_import_only_lower_layers():
    for name, path in _modules().items():
        layer = name.split(".")[1] if "." in name else None
        if layer not in LOWER:
            continue
        for target, _ in _all_imports(path):
            tl = target.split(".")[1] if "." in target else None
            assert tl is None or tl == layer or tl in LOWER[layer], f"{name} (layer {layer}) imports {target}"


def test_agents_do_not_depend_on_training():
    for name, path in _modules().items():
        if name.startswith("agentgym.agents"):
            text = path.read_text()
            assert "agentgym.train" not in text, f"{name} reaches into agentgym.train"


def test_no_private_names_imported_across_packages():
    for name, path in _modules().items():
        own = name.split(".")[1] if "." in name else ""
        for target, names in _top_imports(path):
            other = target.split(".")[1] if "." in target else ""
            if other != own:
                private = [n for n in names if n.startswith("_")]
                assert not private, f"{name} imports private {private} from {target}"


def test_the_cycle_finder_sees_a_circle_closed_inside_a_function(tmp_path):
    a = tmp_path / "a.py"
    a.write_text("from agentgym.b import x\n")
    b = tmp_path / "b.py"
    b.write_text("def f():\n    from agentgym.a import y\n    return y\n")
    graph = {"agentgym.a": {t for t, _ in _all_imports(a)}, "agentgym.b": {t for t, _ in _all_imports(b)}}
    assert _cycle(graph) == ["agentgym.a", "agentgym.b", "agentgym.a"]
    assert _cycle({"agentgym.a": {t for t, _ in _top_imports(a)}, "agentgym.b": {t for t, _ in _top_imports(b)}}) is None


def test_every_registry_entry_resolves():
    from agentgym.registry import KINDS, registry

    assert {"sgd", "tau2", "traces"} <= set(registry.names("domain"))
    for kind in KINDS:
        for name in registry.names(kind):
            target = registry.entry(kind, name).target
            module = target.split(":")[0] if isinstance(target, str) else None
            if module and ("tau2" in module or module.endswith("train.agent")) and importlib.util.find_spec("tau2") is None:
                continue
            assert registry.get(kind, name) is not None, (kind, name)
    with pytest.raises(KeyError, match="registered: .*scripted"):
        registry.get("agent", "nope")
