#!/usr/bin/env python3
"""Benchmark batch inference (``ortsession.batch``) against the plain loop a user would write.

Usage::

    python bench/batch_bench.py            # full pass (a few minutes on 2 cores)
    python bench/batch_bench.py --quick    # fewer rows, no Ray, smaller RSS run

What is measured, in one run, each printed as a ratio (SPEC §11, issue 13):

* ``local`` rows/s against the best plain loop: one ``onnxruntime.InferenceSession`` with its
  default threads, ``sess.run`` over slices of the same in-memory array with the same batch size,
  outputs gathered and concatenated — on a compute-bound model (an MLP, 8 layers of 256x256
  MatMul+Tanh, batch 64; goal >= 1.0x) and an overhead-bound one (``y = 2x`` on 16 floats, batch 8;
  goal >= 1.5x). Both sides read the same array from memory and return outputs in memory.
* scaling of ``local`` from 1 worker (in process, every core as intra-op threads) to 2 workers
  (one process and one intra-op thread per core), compute-bound model;
* ``local`` with 1 worker (in process) against the plain loop on the overhead-bound model: the
  per-run cost of the batch machinery, without parallelism;
* ``ray`` against ``local`` on the compute-bound model, 1M rows (goal >= 0.8x), Ray started
  beforehand (``ray.init`` is not timed: it is paid once per cluster, not per job; starting the
  actors is, once per job);
* RSS (the job's process plus its workers) over a 1M-row Parquet job to a Parquet folder: sampled
  while it runs, printed at 10 % and at 100 % of the rows (goal: flat within 10 %).

Each timed case runs ``--repeat`` times alternating the two sides; the best time of each side is
kept (a shared machine only ever makes things slower). This is a benchmark, not a test: it prints
and exits 0.
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


def ours(path: str, x: np.ndarray, batch_size: int, **kwargs: Any) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        summary = batch.predict(path, {"x": x}, batch_size=batch_size, progress=False, **kwargs)
        assert summary.ok_rows == len(x)
        return time.perf_counter() - start

    return once


def best_of(repeat: int, *sides: Callable[[], float]) -> list[float]:
    best = [float("inf")] * len(sides)
    for r in range(repeat):
        order = range(len(sides)) if r % 2 == 0 else reversed(range(len(sides)))
        for i in order:
            best[i] = min(best[i], sides[i]())
    return best


def row(case: str, rows: int, base: float, mine: float, goal: str, names: tuple[str, str]) -> str:
    ratio = base / mine  # rows/s of ours over rows/s of the baseline
    return (f"| {case} | {names[0]} {rows / base:,.0f} rows/s | {names[1]} {rows / mine:,.0f} "
            f"rows/s | {ratio:.2f}x | {goal} |")


def rss_run(folder: Path, model: str, rows: int) -> tuple[float, float, float]:
    """RSS (MB) at 10 % and 100 % of a Parquet job, and its peak."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder / "big.parquet"
    rng = np.random.default_rng(1)
    with pq.ParquetWriter(data, pa.schema([("x", pa.list_(pa.float32(), 16))])) as writer:
        for start in range(0, rows, 65536):
            n = min(65536, rows - start)
            flat = pa.array(rng.random(n * 16, dtype=np.float32))
            writer.write_table(pa.table({"x": pa.FixedSizeListArray.from_arrays(flat, 16)}))
    out = folder / "out"
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
    summary = batch.predict(model, data, out, batch_size=256, commit_rows=32768, progress=False)
    done.set()
    thread.join()
    assert summary.ok_rows == rows
    final = (me.memory_info().rss + sum(c.memory_info().rss
                                        for c in me.children(recursive=True))) / 2**20
    at10 = next(r for d, r in samples if d >= rows // 10)
    at100 = max([r for d, r in samples if d >= rows * 9 // 10] or [final])
    return at10, at100, max(r for _, r in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    quick = args.quick
    folder = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    lines = ["| case | baseline | ortsession.batch | ratio (rows/s) | goal |",
             "| --- | ---: | ---: | ---: | --- |"]
    try:
        heavy = str(folder / "mlp.onnx")
        Path(heavy).write_bytes(mlp(256, 8))
        light = str(folder / "tiny.onnx")
        Path(light).write_bytes(tiny(16))
        rng = np.random.default_rng(0)
        n_heavy = 4000 if quick else 200_000
        xh = rng.random((n_heavy, 256), dtype=np.float32)
        n_light = 50_000 if quick else 2_000_000
        xl = rng.random((n_light, 16), dtype=np.float32)

        base, mine = best_of(args.repeat, plain_loop(heavy, xh, 64), ours(heavy, xh, 64))
        lines.append(row("compute-bound MLP, batch 64: local (2 workers) vs plain loop", n_heavy,
                         base, mine, ">= 1.0x", ("plain", "local")))
        base, mine = best_of(args.repeat, plain_loop(light, xl, 8), ours(light, xl, 8))
        lines.append(row("overhead-bound y=2x, batch 8: local (2 workers) vs plain loop",
                         n_light, base, mine, ">= 1.5x", ("plain", "local")))
        base, mine = best_of(args.repeat, plain_loop(light, xl, 8), ours(light, xl, 8, workers=1))
        lines.append(row("overhead-bound y=2x, batch 8: local (1 worker, in process) vs plain "
                         "loop", n_light, base, mine, "(per-run cost)", ("plain", "local")))
        one, two = best_of(args.repeat, ours(heavy, xh, 64, workers=1), ours(heavy, xh, 64))
        lines.append(row("compute-bound MLP: local 2 workers vs 1 worker", n_heavy, one, two,
                         "(scaling)", ("1 worker", "2 workers")))
        if not quick:
            import ray

            xr = np.concatenate([xh] * 5)  # a longer job: actors start once per job
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
            try:
                local, remote = best_of(min(2, args.repeat), ours(heavy, xr, 64),
                                        ours(heavy, xr, 64, engine="ray"))
            finally:
                ray.shutdown()
            lines.append(row("compute-bound MLP, 1M rows: ray (2 actors) vs local (2 workers)",
                             len(xr), local, remote, ">= 0.8x", ("local", "ray")))
            del xr
        del xh, xl  # the RSS run measures the job, not the arrays above
        rows = 200_000 if quick else 1_000_000
        at10, at100, peak = rss_run(folder, light, rows)
        print("\n".join(lines))
        print(f"\nRSS over a {rows:,}-row Parquet job (process + workers): "
              f"{at10:.0f} MB at 10 %, "
              f"{at100:.0f} MB at 100 % ({at100 / at10:.2f}x; goal within 10 %), "
              f"peak {peak:.0f} MB")
        print(f"(machine: {os.cpu_count()} CPUs; best of {args.repeat} per side)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
