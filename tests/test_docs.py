"""The documentation's examples run: every ```python block of README.md and docs/*.md, and every
```lua block through the Lua host when lupa is installed.

Rules (also stated in docs/index.md for authors):

* The blocks of one file run in order in one namespace, in a fresh Python process whose current
  directory is an empty temporary folder; Lua blocks of one file share one Lua runtime
  (``XXT_HOME_PATH`` is the package folder, so ``XXT_HOME_PATH.."/models/demo/model.onnx"`` is the
  bundled demo model).
* A block whose first line is ``# doctest: skip`` (``-- doctest: skip`` in Lua) is not run; use it
  only for examples that need hardware this machine may lack (a GPU, CoreML).
* A block whose first line is ``# doctest: needs onnxruntime X.Y`` (``--`` in Lua) runs only on
  onnxruntime X.Y or newer (a feature older ORTs lack; ``make matrix`` runs the older ones).
* Warnings are errors, except ``ProviderFallbackWarning`` (examples may show a fallback) and
  deprecation warnings raised while importing third-party packages.

Besides, the README must hold the quick start (``make demo``, ``make test``) and link to every
page of docs/, and relative links between pages must point to files that exist.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
SKIP = {"python": "# doctest: skip", "lua": "-- doctest: skip"}
_NEEDS = re.compile(r"^(?:#|--) doctest: needs onnxruntime (\d+)\.(\d+)\s*$")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\s`]*)[^\n]*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    """1-based line number of the first line of code (after the opening fence)."""
    language: str
    code: str

    @property
    def label(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def skipped(self) -> bool:
        """Marked ``doctest: skip``, or needing a newer onnxruntime than the installed one."""
        first = self.code.lstrip().splitlines()[0] if self.code.strip() else ""
        needs = _NEEDS.match(first)
        if needs:
            return _ort_version() < (int(needs[1]), int(needs[2]))
        return first.startswith(SKIP.get(self.language, "\0"))


def _ort_version() -> tuple[int, int]:
    import ortsession

    major, minor = ortsession.version().split(".")[:2]
    return int(major), int(minor)


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` (``python``/``py``/``lua`` and others), in order."""
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], match["indent"]
        language = {"py": "python", "python3": "python"}.get(match["info"].lower(),
                                                             match["info"].lower())
        start = i + 1
        i = start
        while i < len(lines) and not lines[i].strip().startswith(fence[0] * len(fence)):
            i += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip()
                for line in lines[start:i]]
        found.append(Block(path, start + 1, language, textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return found


def _pages_with(language: str) -> list[Path]:
    return [p for p in PAGES if p.exists() and any(b.language == language for b in blocks(p))]


# The runner executed in a fresh interpreter: blocks arrive as JSON on stdin.
_PYTHON_RUNNER = r"""
import json, sys, traceback, warnings
warnings.simplefilter("error")
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
import ortsession
warnings.filterwarnings("default", category=ortsession.ProviderFallbackWarning)
namespace = {"__name__": "__docs__"}
for block in json.load(sys.stdin):
    try:
        exec(compile(block["code"], block["label"], "exec"), namespace)
    except BaseException:
        print(f"\nFAILED: the block at {block['label']}:", file=sys.stderr)
        print(block["code"], file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""

_LUA_RUNNER = r"""
import io, json, sys
from ortsession.lua import new_runtime, run_source
runtime = new_runtime(stdout=sys.stdout, stderr=sys.stderr)
for block in json.load(sys.stdin):
    code = run_source(block["code"], [], name="=" + block["label"], runtime=runtime,
                      stderr=sys.stderr)
    if code != 0:
        print(f"\nFAILED (exit code {code}): the block at {block['label']}:", file=sys.stderr)
        print(block["code"], file=sys.stderr)
        sys.exit(1)
"""


def _run_blocks(runner: str, path: Path, language: str, tmp_path: Path) -> None:
    todo = [{"label": b.label, "code": b.code} for b in blocks(path)
            if b.language == language and not b.skipped]
    if not todo:
        pytest.skip(f"every {language} block of {path.name} is marked '{SKIP[language]}'")
    proc = subprocess.run([sys.executable, "-c", runner], input=json.dumps(todo), text=True,
                          capture_output=True, cwd=tmp_path, timeout=300, check=False)
    assert proc.returncode == 0, f"{path.name}:\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("path", _pages_with("python"), ids=lambda p: p.name)
def test_python_examples(path: Path, tmp_path: Path) -> None:
    _run_blocks(_PYTHON_RUNNER, path, "python", tmp_path)


def _lua_available() -> bool:
    try:
        import lupa  # noqa: F401

        from ortsession.lua import run_source  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _lua_available(), reason="the Lua front end (lupa) is not installed")
@pytest.mark.parametrize("path", _pages_with("lua"), ids=lambda p: p.name)
def test_lua_examples(path: Path, tmp_path: Path) -> None:
    _run_blocks(_LUA_RUNNER, path, "lua", tmp_path)


# -- the README and the links between pages ------------------------------------------------------
def test_readme_quick_start_and_links() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    console = [b.code for b in blocks(ROOT / "README.md") if b.language in ("console", "sh",
                                                                             "shell", "bash")]
    assert any("make demo" in c and "make test" in c for c in console), \
        "the README's quick start must be the two commands 'make demo' and 'make test'"
    for page in ("index", "sessions", "options", "tensors", "running", "lua", "cli",
                 "performance", "conformance", "robustness"):
        assert f"(docs/{page}.md)" in readme, f"README.md does not link to docs/{page}.md"
    assert any(b.language == "python" for b in blocks(ROOT / "README.md"))
    assert any(b.language == "lua" for b in blocks(ROOT / "README.md"))


_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)\s#]+)(?:#[^)\s]*)?\)")


@pytest.mark.parametrize("path", [p for p in PAGES if p.exists()], ids=lambda p: p.name)
def test_relative_links_resolve(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for code in blocks(path):  # links inside code blocks are not links
        text = text.replace(code.code.rstrip("\n"), "")
    missing = [target for target in _LINK.findall(text)
               if not (path.parent / target).exists()]
    assert not missing, f"{path.name} links to missing files: {missing}"


def test_block_extraction() -> None:
    sample = ROOT / "docs" / "cli.md"
    found = blocks(sample)
    assert any(b.language == "python" for b in found)
    assert all(b.code.endswith("\n") for b in found)


def test_needs_marks_a_block_for_newer_onnxruntimes() -> None:
    def block(first: str) -> Block:
        return Block(ROOT / "x.md", 1, "python", first + "\nprint(1)\n")

    major, minor = _ort_version()
    assert not block(f"# doctest: needs onnxruntime {major}.{minor}").skipped
    assert block(f"# doctest: needs onnxruntime {major}.{minor + 1}").skipped
    assert block(f"# doctest: needs onnxruntime {major + 1}.0").skipped
    assert not block("# a comment").skipped
