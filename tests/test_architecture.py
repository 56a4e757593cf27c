"""The package's layering (ARCHITECTURE.md): no import cycle, no cross-module private import,
only ``_engine`` imports onnxruntime, and no core module much over 450 lines."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "ortsession"

ORT_IMPORT_ALLOWED = {"ortsession._engine"}
MAX_LINES = 480  # "about 450": one concept per core module (src/ortsession/*.py)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """Each import of a module (``(absolute module, imported names, line)``): lazy ones (inside
    functions) and type-only ones (``if TYPE_CHECKING:``) included — a type-only cycle ties two
    modules together as much as a runtime one."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(
        ".", 1)[0]
    found: list[tuple[str, list[str], int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [alias.name for alias in node.names]
            found.append((base, names, node.lineno))
            # "from . import _engine" imports modules, not names
            for name in names:
                if f"{base}.{name}" in MODULES:
                    found.append((f"{base}.{name}", [], node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


FILES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
MODULES = set(FILES)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in FILES.items():
        edges = graph.setdefault(module, set())
        for target, _, _ in _imports(path):
            if target in MODULES and target != module:
                edges.add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return cycles


def test_no_import_cycle_among_the_core_modules() -> None:
    """Modules of ``src/ortsession`` (lazy imports too) form no cycle.

    Packages import their own submodules (``ortsession`` → ``ortsession._session``); an adapter
    package (cli, lua, batch, ops) goes through the public API, so only the core modules —
    ``ortsession._*`` — are held to it.
    """
    core = {m: {t for t in ts if t.count(".") == 1 and t.split(".")[1].startswith("_")}
            for m, ts in _graph().items()
            if m.count(".") == 1 and m.split(".")[1].startswith("_")}
    assert _cycles(core) == []


def test_no_module_imports_another_module_private_name() -> None:
    offenders = []
    for module, path in FILES.items():
        for target, names, line in _imports(path):
            if target not in MODULES or target == module:
                continue
            private = [n for n in names if n.startswith("_") and f"{target}.{n}" not in MODULES
                       and not n.startswith("__")]
            if private:
                offenders.append(f"{module}:{line} imports {private} from {target}")
    assert offenders == []


def test_only_the_engine_imports_onnxruntime() -> None:
    offenders = sorted(f"{module}:{line}" for module, path in FILES.items()
                       for target, _, line in _imports(path)
                       if target.split(".")[0] == "onnxruntime"
                       and module not in ORT_IMPORT_ALLOWED)
    assert offenders == []


def test_no_core_module_is_much_over_450_lines() -> None:
    long = {p.name: n for p in sorted(PACKAGE.glob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"core modules over {MAX_LINES} lines (split by concept): {long}"
