#!/usr/bin/env python3
"""Benchmark batch inference (``ortsession.batch``) against the plain loop a user would write.

Usage::

    python bench/batch_bench.py            # full pass (a few minutes on 2 cores)
    python bench/batch_bench.py --quick    # fewer rows, no Ray, smaller RSS run
    python bench/batch_bench.py --ray      # the ray rows only (about 2 minutes)

What is measured, in one run, each printed as a ratio (SPEC §11, issue 13):

* ``local`` with its defaults (the worker count and threads-or-processes chosen by
  ``parallel="auto"``, named in the row) against the best plain loop: one
  ``onnxruntime.InferenceSession`` with its default threads, ``sess.run`` over slices of the same
  in-memory array with the same batch size, outputs gathered and concatenated — on a
  compute-bound model (an MLP, 8 layers of 256x256 MatMul+Tanh, batch 64; goal >= 1.0x) and an
  overhead-bound one (``y = 2x`` on 16 floats, batch 8; goal >= 1.5x). Both sides read the same
  array from memory and return outputs in memory; ``local`` starts its workers (threads or
  processes, one session each) inside the timed call.
* ``local`` with 1 worker (in process) against the plain loop on the overhead-bound model: the
  per-run cost of the batch machinery, without parallelism;
* scaling of ``local`` from 1 worker (in process, every core as intra-op threads) to 2 workers
  (one session and one intra-op thread per core), as threads and as processes;
* ``ray`` against ``local`` (defaults) on the compute-bound model, 1M rows (goal >= 0.8x), Ray
  started beforehand (``ray.init`` is not timed: it is paid once per cluster, not per job;
  starting the actors and putting the array in the object store are, once per job); and the
  same with what each job pays once taken out: the marginal rows/s of the second 500k rows (the
  1M-row job's time minus a 500k-row job's);
* RSS (the job's process plus its workers) over a 1M-row Parquet job to a Parquet folder, run
  first (so the process holds nothing else): sampled while it runs, printed at 10 % and at 100 %
  of the rows (goal: flat within 10 %).

Each timed case runs ``--repeat`` times alternating the two sides; the table gives the best
rows/s of each side with its range, the ratio of the bests (a shared machine only ever makes things
slower) and the range of the ratios of runs done side by side. The load average is printed at the
start and the end. This is a benchmark, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import psutil
from onnx import TensorProto, helper, numpy_helper

from ortsession import batch


def mlp(width: int, layers: int) -> bytes:
    rng = np.random.default_rng(0)
    nodes, inits, name = [], [], "x"
    for i in range(layers):
        w = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        out = "y" if i == layers - 1 else f"t{i}"
        nodes += [helper.make_node("MatMul", [name, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Tanh", [f"m{i}"], [out])]
        name = out
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    return model.SerializeToString()


def tiny(width: int) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "k"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor("k", TensorProto.FLOAT, [], [2.0])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def plain_loop(path: str, x: np.ndarray, batch_size: int) -> Callable[[], float]:
    """The loop a user writes with raw onnxruntime; returns the time of one pass."""
    import onnxruntime  # noqa: TID251 - the baseline is plain ONNX Runtime

    so = onnxruntime.SessionOptions()
    so.log_severity_level = 3
    sess = onnxruntime.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def once() -> float:
        start = time.perf_counter()
        outs = [sess.run(None, {"x": x[i:i + batch_size]})[0]
                for i in range(0, len(x), batch_size)]
        np.concatenate(outs)
        return time.perf_counter() - start

    return once


def ours(path: str, x: np.ndarray, batch_size: int, modes: list[str] | None = None,
         **kwargs: Any) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        summary = batch.predict(path, {"x": x}, batch_size=batch_size, progress=False, **kwargs)
        took = time.perf_counter() - start
        assert summary.ok_rows == len(x)
        if modes is not None:
            modes.append(f"{summary.workers} {summary.parallel}")
        return took

    return once


def alternate(repeat: int, *sides: Callable[[], float]) -> list[list[float]]:
    """Time each side ``repeat`` times, alternating the order; return every time per side."""
    times: list[list[float]] = [[] for _ in sides]
    for r in range(repeat):
        order = range(len(sides)) if r % 2 == 0 else reversed(range(len(sides)))
        for i in order:
            times[i].append(sides[i]())
    return times


def row(case: str, rows: int, times: list[list[float]], goal: str,
        names: tuple[str, str]) -> str:
    """A table row: best rows/s of each side (and its range), the ratio of the bests (and the
    range of the ratios of the runs done side by side)."""
    base, mine = times
    ratios = sorted(b / m for b, m in zip(base, mine))

    def rate(t: list[float]) -> str:
        return f"{rows / min(t):,.0f} ({rows / max(t):,.0f}-{rows / min(t):,.0f})"

    return (f"| {case} | {names[0]} {rate(base)} | {names[1]} {rate(mine)} | "
            f"{min(base) / min(mine):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}) | {goal} |")


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def rss_run(folder: Path, model: str, rows: int, **kwargs: Any) -> tuple[float, float, float, str]:
    """RSS (MB) at 10 % and 100 % of a Parquet job, its peak, and how its workers ran."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder / "big.parquet"
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    rng = np.random.default_rng(1)
    with pq.ParquetWriter(data, pa.schema([("x", pa.list_(pa.float32(), 16))])) as writer:
        for start in range(0, rows, 65536):
            n = min(65536, rows - start)
            flat = pa.array(rng.random(n * 16, dtype=np.float32))
            writer.write_table(pa.table({"x": pa.FixedSizeListArray.from_arrays(flat, 16)}))
    del flat
    pa.default_memory_pool().release_unused()  # what writing the input kept is not the job's
    samples: list[tuple[int, float]] = []
    done = threading.Event()
    me = psutil.Process()

    def sample() -> None:
        while not done.wait(0.05):
            try:
                rss = me.memory_info().rss + sum(
                    c.memory_info().rss for c in me.children(recursive=True))
                state = json.loads((out / "_manifest.json").read_text())
            except (OSError, ValueError, psutil.Error):
                continue
            samples.append((state["rows_done"], rss / 2**20))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    summary = batch.predict(model, data, out, batch_size=256, commit_rows=32768, progress=False,
                            **kwargs)
    done.set()
    thread.join()
    assert summary.ok_rows == rows
    final = (me.memory_info().rss + sum(c.memory_info().rss
                                        for c in me.children(recursive=True))) / 2**20
    at10 = next(r for d, r in samples if d >= rows // 10)
    at100 = max([r for d, r in samples if d >= rows * 9 // 10] or [final])
    return at10, at100, max(r for _, r in samples), f"{summary.workers} {summary.parallel}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ray", action="store_true", help="run the ray rows only")
    args = parser.parse_args()
    quick = args.quick
    if args.ray and quick:
        parser.error("--ray and --quick exclude each other (--quick runs no Ray)")
    folder = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    lines = ["| case | baseline rows/s (range) | ortsession.batch rows/s (range) | ratio (range) "
             "| goal |", "| --- | ---: | ---: | ---: | --- |"]
    print(f"start: {load()}")
    try:
        heavy = str(folder / "mlp.onnx")
        Path(heavy).write_bytes(mlp(256, 8))
        light = str(folder / "tiny.onnx")
        Path(light).write_bytes(tiny(16))
        # first, while this process holds nothing else: the RSS measured is the job's
        rows = 200_000 if quick else 1_000_000
        rss = [] if args.ray else [rss_run(folder, light, rows),
                                   rss_run(folder, light, rows, workers=2, parallel="processes")]
        rng = np.random.default_rng(0)
        n_heavy = 4000 if quick else 200_000
        xh = rng.random((n_heavy, 256), dtype=np.float32)
        n_light = 50_000 if quick else 2_000_000
        xl = rng.random((n_light, 16), dtype=np.float32)
        rep = args.repeat

        if not args.ray:
            modes: list[str] = []
            times = alternate(rep, plain_loop(heavy, xh, 64), ours(heavy, xh, 64, modes))
            lines.append(row(f"compute-bound MLP, batch 64: local default ({modes[0]}) vs plain "
                             f"loop", n_heavy, times, ">= 1.0x", ("plain", "local")))
            modes = []
            times = alternate(rep, plain_loop(light, xl, 8), ours(light, xl, 8, modes))
            lines.append(row(f"overhead-bound y=2x, batch 8: local default ({modes[0]}) vs plain "
                             f"loop", n_light, times, ">= 1.5x", ("plain", "local")))
            times = alternate(rep, plain_loop(light, xl, 8), ours(light, xl, 8, workers=1))
            lines.append(row("overhead-bound y=2x, batch 8: local 1 worker (in process) vs plain "
                             "loop", n_light, times, "(per-run cost)", ("plain", "local")))
            scaling = (("compute-bound MLP", heavy, xh, 64, n_heavy),
                       ("overhead-bound y=2x", light, xl, 8, n_light))
            for label, model, x, size, n in scaling:
                for kind in ("threads", "processes"):
                    times = alternate(rep, ours(model, x, size, workers=1),
                                      ours(model, x, size, workers=2, parallel=kind))
                    lines.append(row(f"{label}: local 1 worker (in process) -> 2 workers "
                                     f"({kind})", n, times, "(scaling)",
                                     ("1 worker", "2 workers")))
        if not quick:
            import ray

            xr = np.concatenate([xh] * 5)  # a longer job: actors start once per job
            half = xr[:len(xr) // 2]
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            try:
                times = alternate(min(2, rep), ours(heavy, xr, 64),
                                  ours(heavy, xr, 64, engine="ray"))
                lines.append(row("compute-bound MLP, 1M rows: ray (2 actors) vs local default",
                                 len(xr), times, ">= 0.8x", ("local", "ray")))
                halves = alternate(min(2, rep), ours(heavy, half, 64),
                                   ours(heavy, half, 64, engine="ray"))
                # rows/s of the second 500k rows: the 1M-row job's time minus the 500k-row
                # job's, so that what each job pays once (workers, actors, the object store)
                # drops out
                extra = [[full - part for full, part in zip(times[i], halves[i])]
                         for i in range(2)]
                lines.append(row("the same, marginal rows/s (1M-row job minus 500k-row job)",
                                 len(xr) - len(half), extra, "(steady state)",
                                 ("local", "ray")))
            finally:
                ray.shutdown()
        print("\n".join(lines))
        for at10, at100, peak, mode in rss:
            print(f"\nRSS over a {rows:,}-row Parquet job, {mode} (process + workers): "
                  f"{at10:.0f} MB at 10 %, "
                  f"{at100:.0f} MB at 100 % ({at100 / at10:.2f}x; goal within 10 %), "
                  f"peak {peak:.0f} MB")
        print(f"(machine: {os.cpu_count()} CPUs; {rep} runs per side, alternating; ratio of "
              f"the best runs, in brackets the range of the side-by-side ratios; end: {load()})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
