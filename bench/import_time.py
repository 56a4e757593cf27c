#!/usr/bin/env python3
"""Time ``import ortsession`` against ``import onnxruntime``, each in fresh subprocesses.

Usage::

    python bench/import_time.py              # 15 repetitions of each, alternating
    python bench/import_time.py --repeat 5   # fewer

Each repetition starts a new interpreter (``python -c``) that times the import alone with
``time.perf_counter`` (interpreter start-up excluded) and reports whether ``ml_dtypes`` was
imported. Both packages are imported from compiled bytecode, as after ``pip install``: the
subprocesses run without ``PYTHONDONTWRITEBYTECODE`` and a first warm-up import of each writes
any missing ``__pycache__`` (compiling ortsession's sources at every import would triple its
cost and measure the compiler, not the package). The two imports alternate (ABBA order) so
that a drifting machine load hits both; the script prints the median of each and the ratio of
the medians (SPEC §10: ≤ 1.3). It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

TARGET = 1.3
_PROBE = ("import sys, time, json; t = time.perf_counter(); import {module}; "
          "d = time.perf_counter() - t; print(json.dumps([d, 'ml_dtypes' in sys.modules]))")


def time_import(module: str) -> tuple[float, bool]:
    """Seconds ``import module`` takes in a fresh interpreter, and whether it loaded ml_dtypes."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-c", _PROBE.format(module=module)], check=True,
                         capture_output=True, text=True, env=env).stdout
    seconds, ml = json.loads(out.strip().splitlines()[-1])
    return float(seconds), bool(ml)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the comparison and print one line per module and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="subprocesses per module")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {"onnxruntime": [], "ortsession": []}
    ml_loaded = False
    time_import("onnxruntime")  # warm the OS file cache for both; write missing bytecode
    time_import("ortsession")
    for i in range(max(1, args.repeat)):
        order = ("onnxruntime", "ortsession") if i % 2 == 0 else ("ortsession", "onnxruntime")
        for module in order:
            seconds, ml = time_import(module)
            times[module].append(seconds)
            ml_loaded = ml_loaded or (module == "ortsession" and ml)
    raw = statistics.median(times["onnxruntime"])
    ours = statistics.median(times["ortsession"])
    ratio = ours / raw
    for module, median in (("onnxruntime", raw), ("ortsession", ours)):
        print(f"import {module:<11}: median {median * 1e3:7.1f} ms  "
              f"(min {min(times[module]) * 1e3:.1f} ms)")
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"ratio ortsession / onnxruntime: {ratio:.3f}  (target <= {TARGET}: {verdict}); "
          f"ml_dtypes imported by 'import ortsession': {ml_loaded}")
    return {"onnxruntime": raw, "ortsession": ours, "ratio": ratio}


if __name__ == "__main__":
    main()
