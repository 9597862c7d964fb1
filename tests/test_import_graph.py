"""The packages' import structure, read from the sources with ``ast``.

* No import cycle among project modules (edges: the module-level imports
  of each module, resolved to the project module they name).
* No project module imported inside a function or class: every dependency
  is visible at the top of its module.
* ``experiment_spec`` imports nothing but the standard library (the
  scripts check their flags with it before TensorFlow loads);
  ``general_tools`` stays below ``deep_learning``; the subpackages of
  ``deep_learning`` have light ``__init__`` files (imports go to concrete
  modules, and the root package alone imports everything to register it).
"""

import ast
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("experiment_spec", "general_tools", "deep_learning")


def _modules():
    """``{dotted name: path}`` of every module of the project packages."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for file in files:
                if not file.endswith(".py"):
                    continue
                path = os.path.join(folder, file)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(node, name):
    """The project module an import names, or None."""
    if isinstance(node, ast.Import):
        candidates = [name]
    else:
        candidates = [f"{node.module}.{name}", node.module]
    for candidate in candidates:
        while candidate:
            if candidate in MODULES:
                return candidate
            candidate = candidate.rpartition(".")[0]
    return None


def _imports(path):
    """``([(line, target)] at module level, [(line, target)] nested)``."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), filename=path)
    top, nested = [], []

    def visit(node, inside):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if isinstance(child, ast.ImportFrom) and child.level:
                    raise AssertionError(
                        f"{path}:{child.lineno}: relative import")
                for alias in child.names:
                    target = _target(child, alias.name)
                    if target is not None:
                        (nested if inside else top).append(
                            (child.lineno, target))
            scope = isinstance(child, (ast.FunctionDef, ast.ClassDef,
                                       ast.AsyncFunctionDef, ast.Lambda))
            visit(child, inside or scope)

    visit(tree, False)
    return top, nested


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def test_the_packages_are_found():
    assert {"deep_learning", "deep_learning.models.gan",
            "deep_learning.engine.training", "general_tools.losses",
            "general_tools.data.loader"} <= set(MODULES)


def test_no_function_level_import_of_a_project_module():
    found = [f"{MODULES[name]}:{line} imports {target}"
             for name, (_, nested) in GRAPH.items()
             for line, target in nested]
    assert not found, "\n".join(found)


def test_no_import_cycle():
    edges = {name: sorted({t for _, t in top if t != name})
             for name, (top, _) in GRAPH.items()}
    state, stack = {}, []

    def walk(node):
        state[node] = "open"
        stack.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            walk(name)


def test_general_tools_does_not_import_deep_learning():
    found = [f"{name} imports {target}"
             for name, (top, nested) in GRAPH.items()
             if name.startswith("general_tools")
             for _, target in top + nested
             if target.startswith("deep_learning")]
    assert not found, found


def test_experiment_spec_imports_only_the_standard_library():
    found = []
    for name, path in MODULES.items():
        if not name.startswith("experiment_spec"):
            continue
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                roots = [node.module.split(".")[0]]
            else:
                continue
            found += [f"{path}:{node.lineno} imports {root}" for root in roots
                      if root not in sys.stdlib_module_names
                      and root not in ("experiment_spec", "__future__")]
    assert not found, found


def test_deep_learning_subpackage_inits_import_nothing():
    inits = [name for name in MODULES if name.startswith("deep_learning.")
             and MODULES[name].endswith("__init__.py")]
    assert len(inits) >= 5
    for name in inits:
        assert GRAPH[name] == ([], []), name


def test_the_checker_sees_cycles_and_nested_imports(tmp_path):
    """The helpers above on a made-up module: a nested import is found."""
    path = tmp_path / "mod.py"
    path.write_text("import os\n\ndef f():\n"
                    "    from deep_learning.models import gan\n")
    top, nested = _imports(str(path))
    assert top == [] and nested == [(4, "deep_learning.models.gan")]
