"""A wheel built from the checkout installs into a clean venv and runs ``ortsession demo``.

About 30 s (a venv and an install), so it is part of ``make test``; ``make wheel-test`` runs it
alone. The install uses pip's cache and the lock (``constraints-dev.txt``), and runs outside the
checkout, so nothing of the source tree can stand in for what the wheel lacks (bundled models,
Lua files, ``py.typed``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out),
                 str(REPO)], cwd=out)
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("ortsession-*.whl")
    return path


def test_the_wheel_holds_the_models_and_lua_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("ortsession/__init__.py", "ortsession/py.typed",
                   "ortsession/models/demo/model.onnx", "ortsession/lua/onnxruntime.lua",
                   "ortsession/lua/reference_example.lua", "ortsession/cli/__init__.py"):
        assert needed in names, f"{needed} missing from {wheel.name}"
    assert not [n for n in names if n.startswith(("tests/", "src/"))]


def test_the_wheel_runs_the_demo_in_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path).returncode == 0
    py = venv / "bin" / "python"
    proc = _run([str(py), "-m", "pip", "install", "--quiet", "-c", str(REPO / "constraints-dev.txt"),
                 f"{wheel}[cpu,lua,cli]"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = _run([str(venv / "bin" / "ortsession"), "demo"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("1.5"), proc.stdout
    assert proc.stderr == ""
    where = _run([str(py), "-c", "import ortsession; print(ortsession.__file__)"], cwd=tmp_path)
    assert str(venv) in where.stdout and str(REPO) not in where.stdout
