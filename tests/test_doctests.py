"""The ``>>>`` examples of the package's docstrings, run as doctests.

Every module of ``src/ortsession`` whose source holds an example is one test; a module that needs
an extra which is not installed (lupa, pyarrow, Pillow, rich, Ray) is skipped.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import ortsession

_EXTRAS = frozenset({"lupa", "pyarrow", "PIL", "rich", "ray"})
"""Modules of the extras: a module that cannot import one of them is skipped."""


def _modules_with_examples() -> list[str]:
    names = [ortsession.__name__]
    names += [info.name for info in pkgutil.walk_packages(ortsession.__path__, "ortsession.")]
    found = []
    for name in sorted(names):
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(".py") and ">>> " in Path(origin).read_text("utf-8"):
            found.append(name)
    return found


MODULES = _modules_with_examples()


class _Finder(doctest.DocTestFinder):
    """Find the examples of a module's own objects, told by their source file.

    The public objects say ``__module__ == "ortsession"`` (see ``ortsession/__init__.py``), so
    doctest's own test would skip them in the module that defines them.
    """

    def _from_module(self, module: ModuleType, obj: Any) -> bool:
        if inspect.isfunction(obj) or inspect.isclass(obj):
            try:
                return inspect.getsourcefile(obj) == module.__file__
            except TypeError:
                pass
        return bool(super()._from_module(module, obj))  # type: ignore[misc]


def test_the_package_has_examples() -> None:
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] in _EXTRAS:
            pytest.skip(f"{name} needs {exc.name}, not installed")
        raise
    tests = _Finder().find(module)
    examples = sum(len(t.examples) for t in tests)
    assert examples, f"{name}: its '>>> ' text holds no example doctest can run"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
