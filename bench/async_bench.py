#!/usr/bin/env python3
"""Benchmark concurrent callers: asyncio runs and the dynamic batcher, in one process.

Usage::

    python bench/async_bench.py           # full pass (about 1 minute on 2 cores)
    python bench/async_bench.py --quick   # smoke pass (a few seconds)

What is timed (SPEC §10), on models built with ``tests/models.py`` (deterministic weights):

(a) 64 concurrent coroutines on one session, each awaiting single-sample runs one after the
    other: ``await session.run_async(...)`` vs ``await asyncio.to_thread(session.run, ...)`` vs
    raw ONNX Runtime (``onnxruntime.InferenceSession.run_async`` with a callback that completes
    an asyncio future). Time per run (wall clock over all callers), ratios to raw ORT.
(b) 64 concurrent callers (threads, then coroutines) sending single samples, each calling
    ``session.run`` / ``run_async`` directly or going through ``ortsession.Batcher``, on two
    models: a MiniLM-sized MLP (six blocks 384 → 1536 → 384, 7 M weights: compute-bound once
    batched) and a deep narrow MLP (24 layers of 128: per-operator overhead dominates a
    single-sample run). Throughput (requests/s), p50 and p99 latency, and
    the throughput ratio batcher / direct (goal: at least 3x).

Each comparison alternates its sides over several rounds and reports medians. This is a
benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime  # noqa: TID251 - the baseline is plain ONNX Runtime

import ortsession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import models  # the test suite's model builders

CALLERS = 64
MINILM_MLP = (384, *(1536, 384) * 6)
"""A MiniLM-sized stack: six feed-forward blocks 384 → 1536 → 384 (7 M weights, 28 MB)."""
DEEP_MLP = (128,) * 25
"""24 layers of 128 units: many small operators, cheap arithmetic."""


def _sample(rng: np.random.Generator, width: int) -> dict[str, np.ndarray]:
    return {"x": rng.standard_normal((1, width)).astype(np.float32),
            "scale": np.ones((1, 1), np.float32)}


# -- (a) run_async vs to_thread vs raw ORT run_async -----------------------------------------
def _raw_run_async(sess: Any, feed: dict[str, np.ndarray]) -> asyncio.Future[Any]:
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def done(results: Any, _: Any, error: str) -> None:
        loop.call_soon_threadsafe(_settle, future, results, error)

    sess.run_async(None, feed, done, None)
    return future


def _settle(future: asyncio.Future[Any], results: Any, error: str) -> None:
    if not future.done():
        if error:
            future.set_exception(RuntimeError(error))
        else:
            future.set_result(results)


async def _callers(call: Callable[[dict[str, np.ndarray]], Awaitable[Any]],
                   feeds: list[dict[str, np.ndarray]], per_caller: int) -> list[float]:
    """Run CALLERS coroutines, each awaiting ``per_caller`` calls; return each call's latency."""
    latencies: list[float] = []

    async def caller(feed: dict[str, np.ndarray]) -> None:
        for _ in range(per_caller):
            start = time.perf_counter()
            await call(feed)
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(caller(f) for f in feeds))
    return latencies


def _time_async(call: Callable[[dict[str, np.ndarray]], Awaitable[Any]],
                feeds: list[dict[str, np.ndarray]], per_caller: int) -> tuple[float, list[float]]:
    start = time.perf_counter()
    latencies = asyncio.run(_callers(call, feeds, per_caller))
    return time.perf_counter() - start, latencies


def bench_async(hidden: tuple[int, ...], per_caller: int, rounds: int) -> list[str]:
    model = models.mlp(hidden)
    rng = np.random.default_rng(0)
    feeds = [_sample(rng, hidden[0]) for _ in range(CALLERS)]
    raw = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    ours = ortsession.session_from_bytes(model)
    sides: dict[str, Callable[[dict[str, np.ndarray]], Awaitable[Any]]] = {
        "raw ORT run_async + future": lambda f: _raw_run_async(raw, f),
        "ortsession run_async": ours.run_async,
        "asyncio.to_thread(session.run)": lambda f: asyncio.to_thread(ours.run, f),
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for call in sides.values():  # warm-up
        _time_async(call, feeds, 1)
    for r in range(rounds):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for name in order:
            elapsed, _ = _time_async(sides[name], feeds, per_caller)
            times[name].append(elapsed / (CALLERS * per_caller))
    base = times["raw ORT run_async + future"]
    lines = [f"(a) {CALLERS} concurrent coroutines on one session, MLP {hidden}, batch 1, "
             f"{per_caller} runs each, {rounds} rounds (ratio: median of per-round ratios):"]
    for name, values in times.items():
        ratio = statistics.median(v / b for v, b in zip(values, base))
        lines.append(f"    {name:34s} {statistics.median(values) * 1e6:9.1f} µs/run   "
                     f"ratio to raw ORT {ratio:5.2f}")
    return lines


# -- (b) throughput with and without the batcher ---------------------------------------------
def _percentiles(latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return q[49], q[98]


def _threads(call: Callable[[dict[str, np.ndarray]], Any], feeds: list[dict[str, np.ndarray]],
             per_caller: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    barrier = threading.Barrier(len(feeds) + 1)

    def caller(feed: dict[str, np.ndarray]) -> None:
        barrier.wait()
        mine = []
        for _ in range(per_caller):
            start = time.perf_counter()
            call(feed)
            mine.append(time.perf_counter() - start)
        latencies.extend(mine)

    threads = [threading.Thread(target=caller, args=(f,)) for f in feeds]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


def bench_batcher(hidden: tuple[int, ...], per_caller: int, rounds: int,
                  max_batch_size: int, max_delay_ms: float) -> list[str]:
    model = models.mlp(hidden)
    rng = np.random.default_rng(1)
    feeds = [_sample(rng, hidden[0]) for _ in range(CALLERS)]
    session = ortsession.session_from_bytes(model)
    batcher = ortsession.Batcher(session, max_batch_size=max_batch_size,
                                 max_delay_ms=max_delay_ms)
    kinds: dict[str, Callable[..., tuple[float, list[float]]]] = {
        "threads": lambda call: _threads(call, feeds, per_caller),
        "coroutines": lambda call: _time_async(call, feeds, per_caller),
    }
    sides = {
        "threads": {"direct session.run": session.run, "Batcher.run": batcher.run},
        "coroutines": {"direct session.run_async": session.run_async,
                       "Batcher.run_async": batcher.run_async},
    }
    name = "MiniLM-sized MLP" if hidden == MINILM_MLP else f"MLP {len(hidden) - 1} x {hidden[1]}"
    lines = [f"(b) {CALLERS} concurrent callers, single samples, {name} "
             f"(Batcher max_batch_size={max_batch_size}, max_delay_ms={max_delay_ms:g}), "
             f"{per_caller} requests each, {rounds} rounds:"]
    for kind, pair in sides.items():
        for call in pair.values():  # warm-up
            kinds[kind](call)
        results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in pair}
        for r in range(rounds):
            order = list(pair) if r % 2 == 0 else list(pair)[::-1]
            for name in order:
                results[name].append(kinds[kind](pair[name]))
        rates: dict[str, list[float]] = {}
        for name, runs in results.items():
            rates[name] = [CALLERS * per_caller / elapsed for elapsed, _ in runs]
            p50, p99 = _percentiles([x for _, lat in runs for x in lat])
            lines.append(f"    {kind:10s} {name:26s} {statistics.median(rates[name]):9.0f} "
                         f"req/s   p50 {p50 * 1e3:8.2f} ms   p99 {p99 * 1e3:8.2f} ms")
        direct, batched = (rates[n] for n in pair)
        ratio = statistics.median(b / d for b, d in zip(batched, direct))
        lines.append(f"    {kind:10s} throughput ratio batcher / direct: {ratio:5.2f}x"
                     f"   (median of per-round ratios; goal >= 3x)")
    b0, r0 = batcher.batch_count, batcher.request_count
    batcher.close()
    session.close()
    lines.append(f"    mean batch size: {r0 / max(b0, 1):.1f} requests")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke pass")
    args = parser.parse_args(argv)
    quick = args.quick
    print(f"ortsession {ortsession.__version__} on onnxruntime {onnxruntime.__version__}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    for line in bench_async((64, 256, 64), per_caller=5 if quick else 40,
                            rounds=1 if quick else 7):
        print(line, flush=True)
    for hidden in (MINILM_MLP, DEEP_MLP):
        for line in bench_batcher(hidden, per_caller=1 if quick else 4,
                                  rounds=1 if quick else 3, max_batch_size=64,
                                  max_delay_ms=2.0):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
