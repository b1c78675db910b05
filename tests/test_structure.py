"""The package's structure rules (docs/architecture.md), checked on the source with ``ast``.

- no import cycles between zarrconv modules, imports inside functions included (a deferred
  import hides a cycle, it does not remove it);
- no private name (``_x``) imported from another zarrconv module;
- no function over 80 lines of code (docstring, blank and comment lines not counted);
- no ``except Exception``/``BaseException``/bare ``except`` that does not re-raise.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "zarrconv"
MAX_LINES = 80
#: broad handlers that keep an error to re-raise it later, outside the handler
DEFERRED_RERAISE = {("zarrconv.core.io", "_kept")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()
SOURCES = {name: path.read_text() for name, path in MODULES.items()}
TREES = {name: ast.parse(source, str(MODULES[name])) for name, source in SOURCES.items()}


def _imports(name: str, tree: ast.Module):
    """(line, target module, imported name or None) of every zarrconv import in a module."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "zarrconv":
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "zarrconv":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (node.lineno, sub, None) if sub in MODULES else (node.lineno, target, alias.name)


def _module_of(target: str) -> str:
    while target not in MODULES:
        target = target.rpartition(".")[0]
    return target


def test_no_import_cycles_not_even_deferred():
    graph = {name: {_module_of(t) for _, t, _ in _imports(name, tree)} - {name} for name, tree in TREES.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def test_no_private_names_imported_across_modules():
    found = [f"{name}:{line} imports {target}.{imported}"
             for name, tree in TREES.items() for line, target, imported in _imports(name, tree)
             if imported and imported.startswith("_") and not imported.startswith("__")]
    assert found == []


def _code_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> int:
    body = fn.body
    first = body[0]
    start = first.lineno
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        start = first.end_lineno + 1
    return sum(1 for text in lines[start - 1: fn.end_lineno] if text.strip() and not text.strip().startswith("#"))


def test_no_function_over_80_lines_of_code():
    long = []
    for name, tree in TREES.items():
        lines = SOURCES[name].splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _code_lines(node, lines) > MAX_LINES:
                long.append(f"{name}.{node.name}: {_code_lines(node, lines)} lines")
    assert long == []


def _enclosing_function(tree: ast.Module, handler: ast.ExceptHandler) -> str | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(n is handler for n in ast.walk(node)):
            return node.name  # the outermost function: ast.walk visits parents first
    return None


def test_no_broad_except_that_hides_a_bug():
    hidden = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ExceptHandler):
                continue
            types = [] if node.type is None else node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            broad = node.type is None or any(ast.unparse(t) in ("Exception", "BaseException") for t in types)
            if not broad or any(isinstance(n, ast.Raise) for n in ast.walk(node)):
                continue
            if (name, _enclosing_function(tree, node)) not in DEFERRED_RERAISE:
                hidden.append(f"{name}:{node.lineno}")
    assert hidden == []


LONG = "def f():\n" + "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES + 1))
SABOTAGE = {
    "cycles": {"zarrconv.format.fill": "def f():\n    from ..core.api import open_group\n",
               "zarrconv.core.api": "from ..format.fill import x\n"},
    "private": {"zarrconv.core.api": "from ..format.fill import _hidden\n"},
    "long": {"zarrconv.core.api": LONG},
    "broad": {"zarrconv.core.api": "def f():\n    try:\n        g()\n    except Exception:\n        pass\n"},
}
RULES = {"cycles": test_no_import_cycles_not_even_deferred, "private": test_no_private_names_imported_across_modules,
         "long": test_no_function_over_80_lines_of_code, "broad": test_no_broad_except_that_hides_a_bug}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_the_rules_see_what_they_look_for(rule, monkeypatch):
    """Each rule fails on a module that breaks it (so a passing rule is not a blind one)."""
    for name, source in SABOTAGE[rule].items():
        monkeypatch.setitem(SOURCES, name, source)
        monkeypatch.setitem(TREES, name, ast.parse(source))
    with pytest.raises(AssertionError):
        RULES[rule]()
