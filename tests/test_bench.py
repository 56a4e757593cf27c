"""Smoke test of ``bench/run.py --quick``: it runs and prints its table (timings are not tested)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_quick_bench_prints_the_table() -> None:
    env = {**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "error"}
    proc = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for needle in ("SPEC §9 target", "tiny demo model: run vs raw run",
                   "tiny demo model: run_into vs raw run",
                   "tiny demo model: run_with_iobinding vs raw IOBinding",
                   "1 thread(s) on one session", "2 thread(s) on one session",
                   "light_squeezenet [1 ORT thread, CPU time]: run vs raw run",
                   "Silero-VAD-like [batch, 512] + state (symbolic dims): run vs raw run",
                   "GRU decoder step [seq, batch, 16] (symbolic dims): run vs raw run",
                   "tensor('float32', [1M], list)",
                   "to_table()", "numpy() zero-copy", "judged rows within target"):
        assert needle in out, f"{needle!r} missing from:\n{out}"
    assert "Traceback" not in proc.stderr


def test_import_bench_prints_the_ratio() -> None:
    script = BENCH.parent / "import_time.py"
    proc = subprocess.run([sys.executable, str(script), "--repeat", "1"], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio ortsession / onnxruntime:" in proc.stdout
    assert "ml_dtypes imported by 'import ortsession': False" in proc.stdout


def test_async_bench_quick_prints_its_ratios() -> None:
    bench = BENCH.parent / "async_bench.py"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    proc = subprocess.run([sys.executable, str(bench), "--quick"], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for needle in ("raw ORT run_async + future", "ortsession run_async",
                   "asyncio.to_thread(session.run)", "ratio to raw ORT", "Batcher.run_async",
                   "throughput ratio batcher / direct", "p99"):
        assert needle in proc.stdout, f"{needle!r} missing from:\n{proc.stdout}"
    assert proc.stderr == ""
