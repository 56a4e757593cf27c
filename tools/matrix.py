"""The compatibility matrix: the whole suite against several ONNX Runtimes (``make matrix``).

Each entry gets its own venv, ``.venv-matrix/<name>``, where the checkout is installed (editable)
with the ``lua``, ``cli``, ``image``, ``batch``, ``ray`` and ``test`` extras plus the entry's
engine, pinned by the lock (``constraints-dev.txt``) except for the packages the entry chooses
itself. Then it runs ``mypy --strict src/ortsession`` and ``pytest`` (as ``make test`` does) and
records the counts.
With ``--write-docs`` the table between the markers of ``docs/compatibility.md`` is rewritten
from every entry's latest result (``.venv-matrix/<name>/result.json``).

Usage: ``python tools/matrix.py [--only NAME ...] [--write-docs]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "constraints-dev.txt"
DOC = REPO / "docs" / "compatibility.md"
BEGIN, END = "<!-- matrix:begin -->", "<!-- matrix:end -->"


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    what: str
    extra: str
    """The engine extra: ``cpu`` (onnxruntime) or ``gpu`` (onnxruntime-gpu)."""
    pins: tuple[str, ...] = ()
    """Requirements that replace the lock's pins of the same packages."""


# The oldest entry pins every library dependency at its declared lower bound too (numpy,
# ml_dtypes, and onnx of the test extra), so that pyproject.toml's ranges are measured.
ENTRIES = (
    Entry("oldest", "oldest supported: onnxruntime and the library lower bounds", "cpu",
          ("onnxruntime==1.20.1", "numpy==1.26.4", "ml_dtypes==0.5.0", "onnx==1.20.1",
           "scipy<1.16", "scikit-learn<1.8", "pyarrow==14.0.2", "Pillow==10.0.0",
           "ray[data]==2.40.0", "pandas<3")),
    Entry("newest", "newest onnxruntime (the lock's)", "cpu"),
    Entry("gpu", "newest onnxruntime-gpu, on a machine without a GPU", "gpu",
          ("onnxruntime-gpu==1.31.1",)),
)


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def constraints_for(entry: Entry, folder: Path) -> Path:
    """The lock less the packages ``entry`` pins itself (and less the other engine)."""
    replaced = {_name(p) for p in entry.pins} | {"onnxruntime-gpu"}
    if entry.extra == "gpu":
        replaced.add("onnxruntime")
    lines = [line for line in LOCK.read_text().splitlines()
             if not line.strip() or line.lstrip().startswith("#")
             or _name(line) not in replaced]
    path = folder / "constraints.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> int:
    with log.open("a") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        return subprocess.call(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)


_VERSIONS = """
import importlib.metadata as m, ml_dtypes, numpy, onnx, onnxruntime
names = {d.metadata["Name"].lower() for d in m.distributions()}
dist = "onnxruntime-gpu" if "onnxruntime-gpu" in names else "onnxruntime"
print(f"{dist} {onnxruntime.__version__}, numpy {numpy.__version__}, "
      f"ml_dtypes {ml_dtypes.__version__}, onnx {onnx.__version__}")
"""


def run_entry(entry: Entry) -> dict[str, str]:
    folder = REPO / ".venv-matrix" / entry.name
    log = REPO / ".venv-matrix" / f"{entry.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    py = folder / "bin" / "python"
    start = time.monotonic()
    if not py.exists():
        _run([sys.executable, "-m", "venv", str(folder)], log)
    folder.mkdir(parents=True, exist_ok=True)
    constraints = constraints_for(entry, folder)
    extras = f"{entry.extra},lua,cli,image,batch,ray,test"
    status = _run([str(py), "-m", "pip", "install", "--quiet", "-c", str(constraints), "-e",
                   f".[{extras}]", "ruff", "mypy", *entry.pins], log)
    installed = time.monotonic() - start
    row = {"entry": entry.name, "what": entry.what}
    if status:
        row = {**row, "result": f"install failed (see .venv-matrix/{entry.name}.log)"}
        (folder / "result.json").write_text(json.dumps(row))
        return row
    versions = subprocess.run([str(py), "-c", _VERSIONS], check=False, cwd=REPO,
                              capture_output=True, text=True).stdout.strip()
    mypy = _run([str(py), "-m", "mypy", "--strict", "src/ortsession"], log)
    t0 = time.monotonic()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    _run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider"], log, env)
    seconds = time.monotonic() - t0
    tail = log.read_text().splitlines()[-1:]
    counts = dict.fromkeys(("passed", "failed", "skipped", "error"), 0)
    for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", tail[0] if tail else ""):
        counts["error" if word.startswith("error") else word] = int(n)
    row = {**row, "versions": versions, "mypy": "clean" if mypy == 0 else "errors",
           **{k: str(v) for k, v in counts.items()}, "seconds": f"{seconds:.0f}",
           "install": f"{installed:.0f}"}
    (folder / "result.json").write_text(json.dumps(row))
    return row


def table(rows: list[dict[str, str]]) -> list[str]:
    lines = ["| entry | versions | mypy --strict | passed | failed | errors | skipped | "
             "suite time (s) |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if "result" in r:
            lines.append(f"| {r['entry']} | {r['result']} | | | | | | |")
            continue
        lines.append(f"| {r['entry']} | {r['versions']} | {r['mypy']} | {r['passed']} | "
                     f"{r['failed']} | {r['error']} | {r['skipped']} | {r['seconds']} |")
    return lines


def write_docs(rows: list[dict[str, str]]) -> None:
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    body = [BEGIN, "", f"Measured {stamp} with `make matrix` (Python "
            f"{sys.version.split()[0]}, 2 cores, no GPU):", "", *table(rows), "", END]
    DOC.write_text(head + "\n".join(body) + tail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=[e.name for e in ENTRIES])
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    rows = []
    for entry in ENTRIES:
        if args.only and entry.name not in args.only:
            continue
        print(f"matrix: {entry.name} ...", flush=True)
        row = run_entry(entry)
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "what"), flush=True)
        rows.append(row)
    print("\n".join(table(rows)))
    if args.write_docs:  # every entry's latest result, in ENTRIES order
        results = [REPO / ".venv-matrix" / e.name / "result.json" for e in ENTRIES]
        write_docs([json.loads(p.read_text()) for p in results if p.is_file()])
    failed = [r for r in rows if "result" in r or r.get("failed") != "0" or r.get("error") != "0"
              or r.get("mypy") != "clean"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
