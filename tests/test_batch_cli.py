"""``ortsession batch`` as a subprocess: outputs, exit statuses, one-line errors, progress only on a
terminal, and the fault paths for real — a SIGKILL mid-way then ``--resume`` (no lost and no
duplicated rows), and Ctrl-C (SIGINT) exiting 130 with a resumable state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest

import batch_models


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ortsession", "batch", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "scale.onnx").write_bytes(batch_models.scale())
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    x[4, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    return tmp_path


def test_batch_writes_parquet_and_a_summary(job: Path) -> None:
    proc = _cli("scale.onnx", "--input", "x.npy", "--output", "out", "--refuse-nan",
                "-O", "intra_op_num_threads=1", "--workers", "1", cwd=job)
    assert proc.returncode == 0, proc.stderr
    assert "ok      9" in proc.stdout and "bad     1" in proc.stdout
    assert proc.stderr.startswith("ortsession: note: bad row 4: input 'x'")
    assert "\x1b[" not in proc.stderr  # piped: no progress bar
    table = pq.read_table(job / "out")
    assert sorted(table["row_id"].to_pylist()) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert pq.read_table(job / "out" / "_errors.parquet")["row_id"].to_pylist() == [4]


def test_batch_json_summary_and_quiet(job: Path) -> None:
    proc = _cli("scale.onnx", "-i", "x.npy", "-o", "y.npz", "--json", "-q", "--workers", "1",
                cwd=job)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    summary = json.loads(proc.stdout)
    assert summary["schema"] == "ortsession.batch/1"
    assert (summary["rows"], summary["ok_rows"], summary["error_rows"]) == (10, 10, 0)
    assert (summary["workers"], summary["parallel"]) == (1, "in process")


@pytest.mark.parametrize(("args", "status", "message"), [
    (("--input", "nope.npy", "--output", "o"), 2, "input 'nope.npy' does not exist"),
    (("--input", "x.npy", "--output", "o", "-O", "intra_op_num_thread=1"), 2,
     "did you mean 'intra_op_num_threads'"),
    (("--input", "x.npy", "--output", "o", "--batch-size", "0"), 2,
     "expected a positive integer"),
    (("--input", "x.npy", "--output", "o", "--map", "x"), 2, "--map expects KEY=VALUE"),
    (("--input", "x.npy", "--output", "o", "--options", "missing.json"), 2, "cannot read it"),
    (("--input", "x.npy"), 2, "the following arguments are required: --output"),
])
def test_batch_usage_errors_are_one_line(job: Path, args: tuple[str, ...], status: int,
                                         message: str) -> None:
    proc = _cli("scale.onnx", *args, cwd=job)
    assert proc.returncode == status, proc
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ortsession: error: "), proc.stderr
    assert message in lines[0]


def test_existing_output_is_refused_without_resume(job: Path) -> None:
    assert _cli("scale.onnx", "-i", "x.npy", "-o", "out", "-q", "--workers", "1",
                cwd=job).returncode == 0
    proc = _cli("scale.onnx", "-i", "x.npy", "-o", "out", "--workers", "1", cwd=job)
    assert proc.returncode == 2
    assert "already exists" in proc.stderr and "--resume" in proc.stderr


_WITH_SIGINT = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "sys.argv[0] = 'ortsession'; runpy.run_module('ortsession', run_name='__main__')")


def _slow_job(tmp_path: Path, rows: int) -> tuple[list[str], np.ndarray]:
    (tmp_path / "mlp.onnx").write_bytes(batch_models.mlp(256, 12))
    x = np.random.default_rng(3).random((rows, 256), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    args = [sys.executable, "-m", "ortsession", "batch", "mlp.onnx", "-i", "x.npy", "-o", "out",
            "--batch-size", "16", "--commit-rows", "64", "-O", "intra_op_num_threads=1"]
    return args, x


def _wait_for_parts(manifest: Path, parts: int, proc: subprocess.Popen[str]) -> dict[str, int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the job ended before it could be interrupted"
        try:
            state = json.loads(manifest.read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("next_part", 0) >= parts:
            return state
        time.sleep(0.01)
    raise AssertionError("no parts committed in time")


def _check_complete(out: Path, x: np.ndarray) -> None:
    table = pq.read_table(out)
    ids = np.asarray(table["row_id"].to_pylist())
    assert len(ids) == len(x), "lost or duplicated rows"
    assert np.array_equal(np.sort(ids), np.arange(len(x)))
    order = np.argsort(ids)
    y = table["y"].combine_chunks().to_numpy_ndarray()[order]
    import ortsession as ort

    with ort.session(str(out.parent / "mlp.onnx"), intra_op_num_threads=1) as session:
        expected = session.run({"x": x})["y"].numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_sigkill_mid_way_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    args, x = _slow_job(tmp_path, 1280)
    proc = subprocess.Popen([*args, "--workers", "2", "--parallel", "processes"], cwd=tmp_path,
                            text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        state = _wait_for_parts(tmp_path / "out" / "_manifest.json", 2, proc)
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        assert proc.stderr is not None
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert 0 < state["rows_done"] < len(x)
    _, alive = psutil.wait_procs(workers, timeout=15)  # orphaned workers notice and leave
    assert not alive
    resumed = subprocess.run([*args, "--workers", "2", "--resume", "--json"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_from"] >= state["rows_done"]
    assert summary["resumed_from"] + summary["rows"] == len(x)
    assert summary["ok_rows"] == len(x)
    _check_complete(tmp_path / "out", x)


@pytest.mark.parametrize("workers", [("--workers", "1"), ("--workers", "2", "--parallel", "threads")],
                         ids=["in-process", "threads"])
def test_ctrl_c_exits_130_and_leaves_a_resumable_job(tmp_path: Path,
                                                     workers: tuple[str, ...]) -> None:
    args, x = _slow_job(tmp_path, 1280)
    # A shell without job control starts background commands with SIGINT ignored, and children
    # inherit that: give the job the handler a terminal's foreground Python has.
    command = [sys.executable, "-c", _WITH_SIGINT, *args[3:], *workers]
    proc = subprocess.Popen(command, cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        _wait_for_parts(tmp_path / "out" / "_manifest.json", 2, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.splitlines() == ["ortsession: error: interrupted; the rows done so far are "
                                "committed: rerun with --resume to continue"]
    state = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert not state["complete"] and 0 < state["rows_done"] < len(x)
    resumed = subprocess.run([*args, "--resume", "--json", "--workers", "1"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["resumed_from"] == state["rows_done"]
    _check_complete(tmp_path / "out", x)


@pytest.mark.parametrize("workers", [("--workers", "1"), ("--workers", "2", "--parallel", "threads")],
                         ids=["in-process", "threads"])
def test_ctrl_c_stops_long_runs_at_once(tmp_path: Path, workers: tuple[str, ...]) -> None:
    # a fixed batch of 256 rows, each batch a run of about 2 s: Ctrl-C must not wait for the
    # runs in progress to end
    import models

    size = models.SLOW_SIZE
    (tmp_path / "slow.onnx").write_bytes(models.slow_model(2.0))
    x = np.random.default_rng(5).random((3 * size, size), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ["slow.onnx", "-i", "x.npy", "-o", "out", "--commit-rows", str(size),
            "-O", "intra_op_num_threads=1", *workers]
    proc = subprocess.Popen([sys.executable, "-c", _WITH_SIGINT, "batch", *args], cwd=tmp_path,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_parts(tmp_path / "out" / "_manifest.json", 1, proc)
        time.sleep(0.3)  # the next runs are well under way
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted; the rows done so far are committed" in err
    assert took < 1.0, f"Ctrl-C took {took:.2f} s to stop the job"
    state = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert not state["complete"] and 0 < state["rows_done"] < len(x)
    resumed = subprocess.run([sys.executable, "-m", "ortsession", "batch", *args, "--resume",
                              "--json"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed_from"] == state["rows_done"]
    assert (summary["ok_rows"], summary["error_rows"]) == (len(x), 0)
    table = pq.read_table(tmp_path / "out")
    assert sorted(table["row_id"].to_pylist()) == list(range(len(x)))  # none lost, none twice
