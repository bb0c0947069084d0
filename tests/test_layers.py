"""The import graph of the packages: layers point one way and no two modules import each other.

Every import counts, also the ones inside functions (a lazy import is still an arrow); imports under
``if TYPE_CHECKING:`` count for the cycles (a reader follows them) but not for the layers (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("checks", "saliency", "envs", "agents", "seqjepa", "experiments")
# What each package may import from this project (below it, or beside it where allowed). ``checks`` is the
# ground floor: every package may import it and it imports nothing of the project.
ALLOWED = {
    "checks": set(),
    "saliency": {"checks"},
    "envs": {"checks", "saliency"},
    "agents": {"checks", "envs", "saliency", "seqjepa"},  # the world-model agent (agents/world_model) runs a checkpoint
    "seqjepa": {"checks"},
    "experiments": {"checks", "agents", "envs", "saliency", "seqjepa"},
}
FORBIDDEN_THIRD_PARTY = {"envs": {"torch", "torchvision"}, "saliency": {"torch", "torchvision", "gymnasium"},
                         "seqjepa": {"gymnasium"}, "checks": {"torch", "torchvision", "gymnasium", "numba"}}
# The exceptions, lazy (inside the one function that needs them) and documented: STL-10's download=True goes
# through torchvision's downloader; ap_gym's protocol asks for a torch loss (``loss_fn.torch``).
THIRD_PARTY_EXCEPTIONS = {"envs.datasets.stl10": {"torchvision"}, "envs.wrappers.active_perception": {"torch"}}
# Inside experiments/, bottom up: the shared helpers, the pretraining library, the evaluation (which may import
# pretraining, never the reverse); on top, the commands (every ``cli`` and ``__main__`` module, which wire the
# jobs together, e.g. training with its end-of-training evaluation) and the other jobs (viewer, rl, benchmarks,
# the saliency demo), which import only below them.
# The shared helpers stack too: the help formatter < the CLI library (cliconfig) < the checks of outputs.
EXPERIMENTS_LAYERS = (("experiments", "experiments.helpformat"), ("experiments.cliconfig",), ("experiments.outputs",),
                      ("experiments.pretrain",), ("experiments.evaluate",))
COMMANDS = ("cli", "__main__")
# Inside envs/, bottom up: the Family objects (``envs.families`` itself), the engine and storage, rendering, the
# datasets, the families' worlds and envs, the records and wrappers, and the package (``import envs``).
ENVS_LAYERS = (("envs.families",), ("envs.engine", "envs.storage"), ("envs.render",), ("envs.datasets",),
               ("envs.families.",), ("envs.records", "envs.wrappers"), ("envs",))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, type_checking: bool = False) -> set[str]:
    """Absolute module names ``path`` imports (relative imports resolved), TYPE_CHECKING blocks left out
    unless ``type_checking``."""
    tree = ast.parse(path.read_text(), str(path))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) and not type_checking:
            skip.update(id(n) for n in ast.walk(node))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _graph(type_checking: bool = False) -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, type_checking) if m in modules and m != name}
    return graph


def test_layers_point_one_way() -> None:
    bad = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            for target in _imports(path):
                top = target.split(".")[0]
                if top in PACKAGES and top != pkg and top not in ALLOWED[pkg]:
                    bad.append(f"{_module_name(path)} -> {target}")
                if top in FORBIDDEN_THIRD_PARTY.get(pkg, set()) \
                        and top not in THIRD_PARTY_EXCEPTIONS.get(_module_name(path), set()):
                    bad.append(f"{_module_name(path)} -> {target} (third party)")
    assert not bad, "imports against the layers:\n" + "\n".join(sorted(bad))


def _part(module: str) -> str:
    """The sub-package of experiments/ a module belongs to (a top-level module: itself)."""
    return ".".join(module.split(".")[:2])


def _experiments_layer(module: str) -> int:
    """The layer of a module of experiments/ (:data:`EXPERIMENTS_LAYERS`; commands and other jobs on top)."""
    if module.rpartition(".")[2] in COMMANDS:
        return len(EXPERIMENTS_LAYERS)
    return next((i for i, layer in enumerate(EXPERIMENTS_LAYERS) if module in layer or _part(module) in layer),
                len(EXPERIMENTS_LAYERS))


def test_experiments_sub_packages_point_one_way() -> None:
    """Inside experiments/ an import stays inside its own sub-package or goes down a layer: no cycle between
    sub-packages, evaluate -> pretrain and never pretrain -> evaluate (but for the commands on top)."""
    graph = _graph()
    bad = []
    for a, targets in graph.items():
        if not a.startswith("experiments"):
            continue
        for b in targets:
            if not b.startswith("experiments"):
                continue
            la, lb = _experiments_layer(a), _experiments_layer(b)
            if _part(a) != _part(b) and not lb < la:
                bad.append(f"{a} -> {b}")
    assert not bad, "imports against the layers of experiments/:\n" + "\n".join(sorted(bad))


def _envs_layer(module: str) -> int:
    """The layer of a module of envs/ (:data:`ENVS_LAYERS`): an entry ending in "." holds its submodules, another
    entry the module itself and, but for ``envs.families`` and ``envs``, everything under it."""
    for i, layer in enumerate(ENVS_LAYERS):
        for entry in layer:
            if entry.endswith(".") and module.startswith(entry):
                return i
            if module == entry or (entry not in ("envs", "envs.families") and module.startswith(entry + ".")):
                return i
    raise AssertionError(f"{module} is in no layer of ENVS_LAYERS")


def test_envs_sub_packages_point_one_way() -> None:
    """Inside envs/ an import stays inside its own sub-package or goes down a layer: the engine knows no family
    (only the ``Family`` type), rendering and storage know no world, the records know the families."""
    bad = [f"{a} -> {b}" for a, targets in _graph().items() if a.startswith("envs") for b in targets
           if b.startswith("envs") and _part(a) != _part(b) and not _envs_layer(b) < _envs_layer(a)]
    assert not bad, "imports against the layers of envs/:\n" + "\n".join(sorted(bad))


def test_every_import_of_the_project_names_a_module_that_exists() -> None:
    """A lazy import of a module that moved fails only when its function runs: find it statically."""
    graph_modules = {_module_name(p) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    missing = []
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                missing += [f"{_module_name(path)}: {n}" for n in names
                            if n.split(".")[0] in PACKAGES and n not in graph_modules]
    assert not missing, "imports of project modules that do not exist:\n" + "\n".join(sorted(missing))


def test_no_two_modules_import_each_other() -> None:
    """No cycle in the module graph (strongly connected components of one module only), except a
    package's ``__init__`` re-exporting its own submodules; imports for type checking count too (a
    reader follows them like any other)."""
    graph = _graph(type_checking=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w.startswith(v + "."):  # a package's __init__ importing its own submodule
                continue
            if w not in index:
                strong(w)
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
                cycles.append(sorted(comp))

    import sys

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            strong(v)
    assert not cycles, f"modules that import each other: {cycles}"


@pytest.mark.parametrize("pkg", ["checks", "envs", "saliency"])
def test_low_layers_import_without_torch(pkg: str) -> None:
    import subprocess
    import sys

    code = f"import sys, {pkg}; sys.exit(1 if 'torch' in sys.modules or 'agents' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
