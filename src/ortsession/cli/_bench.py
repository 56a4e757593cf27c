"""``ortsession bench MODEL``: latency percentiles and throughput of runs of one session.

Warm-up runs first, then ``--runs N`` or ``--duration S`` of timed runs in ``--concurrency K``
threads sharing one session. ``--mode`` picks ``Session.run``, ``Session.run_into`` (outputs
preallocated once) or ``Session.run_with_iobinding`` (inputs and outputs bound once).
``--compare-raw`` times the same model through plain ``onnxruntime.InferenceSession`` in the same
process, interleaved call by call with ours (alternating which goes first), and prints the ratio.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

import ortsession as ort
from ortsession._interrupt import on_interrupt
from ortsession._plain import plain_session

from ._common import (
    HelpFormatter,
    UsageError,
    add_session_arguments,
    format_dims,
    open_session,
    session_options,
)
from ._inputs import add_input_arguments, build_inputs
from ._output import Output

__all__ = ["MODES", "SCHEMA", "add_parser", "latency_stats"]

SCHEMA: Final = "ortsession.bench/1"
"""The ``schema`` field of ``bench --json``; bumped on any incompatible change."""

MODES: Final = ("run", "run_into", "iobinding")
"""The values of ``--mode``."""

DEFAULT_RUNS: Final = 100

MAX_CONCURRENCY: Final = 1024
"""Most calling threads ``--concurrency`` accepts (each starts a thread and a binding)."""

Call = Callable[[], Any]


def add_parser(subparsers: Any) -> None:
    """Register ``bench`` on the main parser's subparsers."""
    parser = subparsers.add_parser(
        "bench", help="measure latency (p50/p90/p99) and throughput of a model",
        description="Benchmark a model: warm-up runs, then --runs N (default "
                    f"{DEFAULT_RUNS}) or --duration S of timed runs, in --concurrency threads "
                    "sharing one session. Prints latency min/p50/p90/p99/max/mean and "
                    "throughput; --compare-raw also times plain onnxruntime.InferenceSession "
                    "on the same inputs, interleaved, and prints the ratio. Inputs are random "
                    "(shapes from the model, --dim for free dimensions) unless given.",
        epilog="examples:\n"
               "  ortsession bench model.onnx --runs 1000 --compare-raw\n"
               "  ortsession bench classifier.onnx --dim N=64 --mode run_into --duration 5\n"
               "  ortsession bench resnet50.onnx --threads 4 --concurrency 2 --json",
        formatter_class=HelpFormatter)
    add_session_arguments(parser)
    add_input_arguments(parser, bench=True)
    group = parser.add_argument_group("benchmark")
    group.add_argument("--mode", choices=MODES, default="run",
                       help="what each timed call does (default: run)")
    amount = group.add_mutually_exclusive_group()
    amount.add_argument("--runs", type=int, metavar="N",
                        help=f"timed runs in total, over all threads (default: {DEFAULT_RUNS})")
    amount.add_argument("--duration", type=float, metavar="S",
                        help="time runs for S seconds instead of a number of runs")
    group.add_argument("--warmup", type=int, default=10, metavar="N",
                       help="untimed runs per thread first (default: 10)")
    group.add_argument("--concurrency", type=int, default=1, metavar="K",
                       help="threads calling the one session at once (default: 1)")
    group.add_argument("--threads", type=int, metavar="N",
                       help="ORT intra-op threads (session option intra_op_num_threads)")
    group.add_argument("--compare-raw", action="store_true",
                       help="also time plain onnxruntime.InferenceSession and print the ratio")
    group.add_argument("--json", action="store_true",
                       help=f"print one JSON document (schema {SCHEMA!r}, see docs/cli.md)")
    group.add_argument("--quiet", dest="sub_quiet", action="store_true",
                       help="no progress bar and no notes")
    parser.set_defaults(handler=run_bench)


# -- statistics ---------------------------------------------------------------------------------
def latency_stats(seconds: list[float]) -> dict[str, float]:
    """``min``, ``p50``, ``p90``, ``p99``, ``max``, ``mean``, ``std`` of latencies, in ms."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        return dict.fromkeys(("min", "p50", "p90", "p99", "max", "mean", "std"), math.nan)
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return {"min": float(ms.min()), "p50": float(p50), "p90": float(p90), "p99": float(p99),
            "max": float(ms.max()), "mean": float(ms.mean()), "std": float(ms.std())}


# -- callables timed ----------------------------------------------------------------------------
def _preallocated(session: ort.Session, inputs: dict[str, Any],
                  ro: ort.RunOptions) -> dict[str, ort.Tensor]:
    """One tensor per output, of the type and shape a run with ``inputs`` produces."""
    outputs = session.run(inputs, None, ro)
    tensors: dict[str, ort.Tensor] = {}
    for name, value in outputs.items():
        if not isinstance(value, ort.Tensor):
            raise UsageError(f"--mode run_into/iobinding needs tensor outputs; output {name!r} "
                             f"is a {session.output_info(name).type}: use --mode run")
        tensors[name] = ort.tensor(value.data_type, value.shape)
    return tensors


def _ours(session: ort.Session, inputs: dict[str, Any], mode: str,
          ro: ort.RunOptions) -> Call:
    """Return a call running ``session`` once in ``mode`` (one per thread: own buffers)."""
    if mode == "run":
        return lambda: session.run(inputs, None, ro)
    outputs = _preallocated(session, inputs, ro)
    if mode == "run_into":
        return lambda: session.run_into(inputs, outputs, ro)
    binding = session.create_io_binding()
    for name, value in inputs.items():
        binding.bind_input(name, value)
    for name, tensor in outputs.items():
        binding.bind_output(name, tensor)
    return lambda: session.run_with_iobinding(binding, ro)


class _Raw:
    """The same model in plain ``onnxruntime.InferenceSession``, for ``--compare-raw``.

    Set up as ``session`` (its options through the library's own mapping, its providers in
    effect): see :mod:`ortsession._plain`.
    """

    def __init__(self, session: ort.Session, model: str, inputs: dict[str, Any]) -> None:
        try:
            plain = plain_session(model, session)
        except ort.OrtError:
            raise
        except Exception as exc:
            raise ort.ModelLoadError(f"--compare-raw: onnxruntime cannot load the model: "
                                     f"{exc}") from None
        self.session = plain.session
        self.run_options = plain.run_options
        self.feed = {name: _raw_value(name, value) for name, value in inputs.items()}
        self._buffers: list[Any] = []

    def terminate(self) -> None:
        """Stop the raw runs in progress (Ctrl-C)."""
        self.run_options.terminate = True

    def call(self, mode: str) -> Call:
        """Return a call running the raw session once (``run``, or IO binding for iobinding)."""
        sess, feed, ro = self.session, self.feed, self.run_options
        if mode != "iobinding":
            return self._checked(lambda: sess.run(None, feed, ro))
        binding = sess.io_binding()
        for name, value in feed.items():
            binding.bind_cpu_input(name, value)
        produced = self._checked(lambda: sess.run(None, feed, ro))()
        for output, value in zip(sess.get_outputs(), produced):
            buffer = np.empty_like(value)
            self._buffers.append(buffer)  # ORT writes into it at each run
            binding.bind_output(output.name, "cpu", 0, buffer.dtype, list(buffer.shape),
                                buffer.ctypes.data)
        return self._checked(lambda: sess.run_with_iobinding(binding, ro))

    def _checked(self, call: Call) -> Call:
        """Wrap a raw call: onnxruntime's exceptions become ortsession's."""
        ro = self.run_options

        def checked() -> Any:
            try:
                return call()
            except Exception as exc:
                if ro.terminate:
                    raise ort.TerminatedError("--compare-raw: the onnxruntime run was "
                                              "terminated") from None
                raise ort.RunError(f"--compare-raw: onnxruntime failed: {exc}") from None

        return checked


def _raw_value(name: str, value: Any) -> Any:
    if isinstance(value, ort.Tensor):
        if not value.element_type.is_native:
            raise UsageError(f"--compare-raw: input {name!r} is {value.data_type}, which "
                             f"onnxruntime's numpy interface cannot take")
        return value.numpy()
    return value


# -- the timing loop ----------------------------------------------------------------------------
@dataclass
class _Worker:
    ours: Call
    raw: Call | None
    ours_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    done: int = 0
    error: BaseException | None = None


def _timed_loop(workers: list[_Worker], runs: int | None, duration: float | None,
                out: Output) -> float:
    """Run the workers' calls until ``runs`` in total or ``duration`` seconds.

    Returns the wall time in seconds.
    """
    counter = itertools.count()
    stop = threading.Event()
    start_line = threading.Barrier(len(workers) + 1)
    deadline = [math.inf]
    perf = time.perf_counter

    def work(w: _Worker) -> None:
        ours, raw = w.ours, w.raw
        ours_s, raw_s = w.ours_s, w.raw_s
        try:
            start_line.wait()
        except threading.BrokenBarrierError:  # another thread could not start
            return
        try:
            while not stop.is_set():
                if runs is not None:
                    i = next(counter)
                    if i >= runs:
                        break
                elif perf() >= deadline[0]:
                    break
                else:
                    i = w.done
                if raw is not None and i % 2:
                    t0 = perf()
                    raw()
                    t1 = perf()
                    ours()
                    t2 = perf()
                    raw_s.append(t1 - t0)
                    ours_s.append(t2 - t1)
                else:
                    t0 = perf()
                    ours()
                    t1 = perf()
                    ours_s.append(t1 - t0)
                    if raw is not None:
                        raw()
                        raw_s.append(perf() - t1)
                w.done += 1
        except BaseException as exc:  # re-raised in the main thread
            w.error = exc
            stop.set()

    threads = [threading.Thread(target=work, args=(w,), name=f"ortsession-bench-{i}",
                                daemon=True) for i, w in enumerate(workers)]
    for i, thread in enumerate(threads):
        try:
            thread.start()
        except RuntimeError as exc:  # "can't start new thread": a process or memory limit
            stop.set()
            start_line.abort()
            for started in threads[:i]:
                started.join()
            raise ort.RunError(f"--concurrency {len(threads)}: cannot start calling thread "
                               f"{i + 1}: {exc}") from None
    if runs is not None:
        progress = out.progress(runs, "benchmark", "runs")
    else:
        progress = out.progress(duration or 0.0, "benchmark", "seconds")
    with progress.shown():
        began = perf()
        if duration is not None:
            deadline[0] = began + duration
        start_line.wait()
        try:
            while any(t.is_alive() for t in threads):
                if runs is not None:
                    progress.set(sum(w.done for w in workers))
                else:
                    progress.set(perf() - began)
                for thread in threads:
                    thread.join(timeout=0.05)
        except KeyboardInterrupt:
            # the runs in progress were terminated (on_interrupt): let every worker leave ONNX
            # Runtime before the interpreter exits, or ORT's threads abort the process
            stop.set()
            for thread in threads:
                thread.join()
            raise
        wall = perf() - began
        progress.set(runs if runs is not None else duration or 0.0)
    for w in workers:
        if w.error is not None:
            raise w.error
    return wall


# -- the command --------------------------------------------------------------------------------
def _check(args: argparse.Namespace) -> None:
    if args.runs is not None and args.runs < 1:
        raise UsageError(f"--runs must be >= 1, got {args.runs}")
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be > 0 seconds, got {args.duration}")
    if args.warmup < 0:
        raise UsageError(f"--warmup must be >= 0, got {args.warmup}")
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be from 1 to {MAX_CONCURRENCY} calling threads, "
                         f"got {args.concurrency}")
    if args.threads is not None and args.threads < 0:
        raise UsageError(f"--threads must be >= 0 (0: ORT's default), got {args.threads}")


def run_bench(args: argparse.Namespace, out: Output) -> int:
    """Run ``bench``; return the exit status."""
    _check(args)
    options = session_options(args)
    if args.threads is not None:
        if "intra_op_num_threads" in options:
            raise UsageError("give --threads or the session option intra_op_num_threads, "
                             "not both")
        options["intra_op_num_threads"] = args.threads
    runs = args.runs if args.runs is not None or args.duration is not None else DEFAULT_RUNS
    with open_session(args.model, options, out) as session:
        inputs = build_inputs(session, args, random_default=True)
        run_options = ort.run_options(log_severity_level=4)
        on_interrupt(run_options.terminate)  # Ctrl-C stops every run in progress at once
        raw = _Raw(session, args.model, inputs) if args.compare_raw else None
        if raw is not None:
            on_interrupt(raw.terminate)
        workers = [_Worker(_ours(session, inputs, args.mode, run_options),
                           raw.call(args.mode) if raw is not None else None)
                   for _ in range(args.concurrency)]
        for w in workers:
            for _ in range(args.warmup):
                w.ours()
                if w.raw is not None:
                    w.raw()
        wall = _timed_loop(workers, runs, args.duration, out)
        providers = session.providers()
    ours_s = [s for w in workers for s in w.ours_s]
    raw_s = [s for w in workers for s in w.raw_s]
    ours_stats = latency_stats(ours_s)
    ratio = None
    raw_doc = None
    if raw is not None:
        raw_stats = latency_stats(raw_s)
        both = sum(ours_s) + sum(raw_s)
        raw_doc = {"runs": len(raw_s), "latency_ms": raw_stats,
                   "throughput_per_s": len(raw_s) / (wall * sum(raw_s) / both) if both else 0.0}
        ratio = {k: ours_stats[k] / raw_stats[k] if raw_stats[k] else math.nan
                 for k in ("p50", "p90", "mean")}
        throughput = len(ours_s) / (wall * sum(ours_s) / both) if both else 0.0
    else:
        throughput = len(ours_s) / wall if wall else 0.0
    document = {
        "schema": SCHEMA,
        "model": os.path.abspath(args.model),
        "mode": args.mode,
        "concurrency": args.concurrency,
        "intra_op_num_threads": session.options.intra_op_num_threads,
        "providers": providers,
        "inputs": [{"name": n, "data_type": getattr(v, "data_type", None),
                    "shape": list(v.shape) if isinstance(v, ort.Tensor) else None}
                   for n, v in inputs.items()],
        "warmup": args.warmup,
        "runs": len(ours_s),
        "wall_s": wall,
        "latency_ms": ours_stats,
        "throughput_per_s": throughput,
        "raw": raw_doc,
        "ratio": ratio,
    }
    if args.json:
        out.json(document)
        return 0
    _print_report(document, out)
    return 0


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4f}" if value < 1 else f"{value:.3f}"


def _print_report(doc: dict[str, Any], out: Output) -> None:
    threads = doc["intra_op_num_threads"] or "ORT default"
    shapes = ", ".join(f"{i['name']} {i['data_type']}{format_dims(i['shape'], None)}"
                       if i["shape"] is not None else i["name"] for i in doc["inputs"])
    out.pairs("Benchmark", [
        ("model", doc["model"]),
        ("mode", doc["mode"]),
        ("providers", ", ".join(doc["providers"])),
        ("threads", f"{doc['concurrency']} calling thread(s), intra-op threads: {threads}"),
        ("inputs", shapes or "-"),
        ("runs", f"{doc['warmup']} warm-up per thread, {doc['runs']} timed in "
                 f"{doc['wall_s']:.3f} s"),
    ])
    out.print()
    rows = [["ortsession", str(doc["runs"]),
             *(_ms(doc["latency_ms"][k]) for k in ("min", "p50", "p90", "p99", "max", "mean")),
             f"{doc['throughput_per_s']:.1f}"]]
    if doc["raw"] is not None:
        raw = doc["raw"]
        rows.append(["onnxruntime", str(raw["runs"]),
                     *(_ms(raw["latency_ms"][k]) for k in ("min", "p50", "p90", "p99", "max",
                                                          "mean")),
                     f"{raw['throughput_per_s']:.1f}"])
    out.table("Latency (ms)", ["engine", "runs", "min", "p50", "p90", "p99", "max", "mean",
                               "runs/s"], rows)
    if doc["ratio"] is not None:
        ratio = doc["ratio"]
        out.print()
        out.print(f"ratio ortsession / onnxruntime: p50 {ratio['p50']:.3f}x, "
                  f"p90 {ratio['p90']:.3f}x, mean {ratio['mean']:.3f}x (lower is faster)")
