"""The import graph runs one way: experiments -> numbarl -> numbarl.envs; envs imports only numpy,
numba and the standard library; an algorithm module never imports a sibling algorithm module;
and no numbarl module imports itself back through others (no cycles). Imports are read from the
source (module level and inside functions alike), so a lazy import counts."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Algorithm modules per package: each hosts algorithms, and shares pieces with its siblings only
# through a module named for the piece (numbarl.tabular.episodes, numbarl.deep.rollout, ...).
ALGORITHMS = {
    "numbarl.tabular": {"control", "off_policy", "prediction", "planning", "policy_gradient"},
    "numbarl.deep": {
        "ppo",
        "a2c",
        "trpo",
        "reinforce",
        "offpolicy_pg",
        "dqn",
        "ddpg",
        "td3",
        "sac",
    },
    "numbarl.approx": {"control", "prediction", "baird"},
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "envs":
        parts[0:1] = ["numbarl", "envs"]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


_ALL: set[str] = set()


def sources() -> dict[str, Path]:
    out = {}
    for top in ("numbarl", "envs", "experiments"):
        for path in sorted((ROOT / top).rglob("*.py")):
            out[module_name(path)] = path
    return out


def imports_of(name: str, path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module
            subs = {f"{mod}.{alias.name}" for alias in node.names}
            found.update(subs)
            if not subs <= set(_ALL):
                found.add(mod)
    return found


MODULES = sources()
_ALL = set(MODULES)
GRAPH = {
    name: {m for m in imports_of(name, path) if m in MODULES and m != name}
    for name, path in MODULES.items()
}
RAW = {name: imports_of(name, path) for name, path in MODULES.items()}


def test_envs_import_only_numpy_numba_and_the_standard_library():
    allowed = {"numpy", "numba"} | set(sys.stdlib_module_names)
    bad = []
    for name, mods in RAW.items():
        if not name.startswith("numbarl.envs"):
            continue
        for m in mods:
            top = m.split(".")[0]
            if m.startswith("numbarl.envs") or top in allowed:
                continue
            if top == "numbarl" and m.rpartition(".")[0].startswith("numbarl.envs"):
                continue  # a name imported from an envs module
            bad.append(f"{name} -> {m}")
    assert not bad, bad


def test_numbarl_never_imports_experiments():
    bad = [
        f"{n} -> {m}"
        for n, mods in RAW.items()
        if n.startswith("numbarl")
        for m in mods
        if m.split(".")[0] in ("experiments", "common", "tests")
    ]
    assert not bad, bad


def _sibling_pairs() -> list[tuple[str, str]]:
    pairs = []
    for package, algos in ALGORITHMS.items():
        for a in algos:
            for b in GRAPH.get(f"{package}.{a}", ()):
                if b.rpartition(".")[0] == package and b.rpartition(".")[2] in algos:
                    pairs.append((f"{package}.{a}", b))
    return sorted(pairs)


def test_algorithm_modules_never_import_siblings():
    pairs = _sibling_pairs()
    assert not pairs, pairs


def test_the_graph_sees_imports():
    """The parser finds what the test relies on (so the checks above cannot pass vacuously)."""
    assert "numbarl.tabular.episodes" in GRAPH["numbarl.tabular.control"]
    assert "numbarl.algos" in GRAPH["numbarl.api"]
    assert "numbarl.tabular.control" in GRAPH["numbarl.tabular.train"]  # a family module may
    assert ("numbarl.tabular.control", "numbarl.tabular.off_policy") not in _sibling_pairs()


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, cycles


def test_direction_experiments_numbarl_envs():
    bad = [
        f"{n} -> {m}"
        for n, mods in GRAPH.items()
        for m in mods
        if (n.startswith("numbarl.envs") and not m.startswith("numbarl.envs"))
        or (n.startswith("numbarl") and m.startswith("experiments"))
    ]
    assert not bad, bad
