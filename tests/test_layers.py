"""One way down: the torch-free core, the torch modules, the training loop,
MxDNATokenizer, the estimators; no cycles, and no import hidden in a function to
dodge one.

Reads every module's source with ``ast``, so imports inside functions count too.
Run alone with ``pytest tests/test_layers.py``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dnatok", "estimators")
# a module may import its own layer and the layers before it
LAYERS = ("core", "nn", "training", "tokenizer", "estimators")
# the one import that runs later than its module: `import dnatok` stays torch-free
# and loads MxDNATokenizer (torch, the training loop) when it is first asked for
LAZY_EXPORTS = {("dnatok", "dnatok._mxdna_tokenizer")}
# names a package gives lazily: importing one imports the module behind it
LAZY_NAMES = {("dnatok", "MxDNATokenizer"): "dnatok._mxdna_tokenizer"}


def layer(module):
    """The layer of a first-party module."""
    if module.startswith("estimators"):
        return "estimators"
    if module == "dnatok._mxdna_tokenizer":
        return "tokenizer"
    for name in ("nn", "training"):
        if module == f"dnatok.{name}" or module.startswith(f"dnatok.{name}."):
            return name
    return "core"


def _modules():
    """{module name: source path} of every first-party module."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _imports(module, path):
    """(imported first-party module, inside a function?) for every import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function = True
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import submodule` imports the submodule, a lazy name its module
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES
                       else LAZY_NAMES.get((base, alias.name), base) for alias in node.names]
        for target in targets:
            while target and target not in MODULES:  # `import dnatok.nn._x.y` -> the module file
                target = target.rpartition(".")[0]
            if target and target != module:
                found.append((target, in_function))
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)

    visit(tree, False)
    return found


EDGES = {module: _imports(module, path) for module, path in MODULES.items()}


def test_the_modules_were_found():
    assert {"dnatok", "dnatok.nn", "dnatok.training", "dnatok._mxdna_tokenizer", "estimators"} <= set(MODULES)
    assert any(target == "dnatok.nn" for target, _ in EDGES["dnatok.training._net"])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_only(module):
    upward = [
        target for target, _ in EDGES[module]
        if LAYERS.index(layer(target)) > LAYERS.index(layer(module)) and (module, target) not in LAZY_EXPORTS
    ]
    assert not upward, f"{module} ({layer(module)}) imports a layer above it: {upward}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_first_party_import_inside_a_function(module):
    hidden = [target for target, in_function in EDGES[module] if in_function and (module, target) not in LAZY_EXPORTS]
    assert not hidden, f"{module} imports {hidden} inside a function; import it at the top"


def find_cycle(graph):
    """An import cycle in ``{module: imported modules}`` as a list of modules, or None.

    Importing a module runs its parent packages first, so an edge from a package's
    module to that package counts like any other (``nn/_x.py`` doing ``from . import
    y`` while ``nn/__init__.py`` imports ``_x`` is a cycle).
    """
    done, stack = set(), []

    def visit(module):
        if module in stack:
            return stack[stack.index(module):] + [module]
        if module in done:
            return None
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        stack.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_no_import_cycle():
    graph = {module: {target for target, _ in edges if (module, target) not in LAZY_EXPORTS}
             for module, edges in EDGES.items()}
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_a_cycle_or_an_upward_import_would_be_found(tmp_path):
    """The checks see relative, nested, lazy and function-level imports, and cycles
    through a parent package (not only the easy ones)."""
    path = tmp_path / "_probe.py"
    path.write_text("def f():\n    from ..training import SequenceNet\nfrom .. import MxDNATokenizer\n")
    assert _imports("dnatok.nn._probe", path) == [("dnatok.training", True), ("dnatok._mxdna_tokenizer", False)]
    assert LAYERS.index(layer("dnatok.training")) > LAYERS.index(layer("dnatok.nn._probe"))
    assert find_cycle({"p": {"p._x"}, "p._x": {"p"}}) == ["p", "p._x", "p"]
    assert find_cycle({"p": {"p._x"}, "p._x": {"q"}, "q": set()}) is None
