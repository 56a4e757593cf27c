"""``predict``: one job from a source through a model to a sink, on the chosen engine."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Generator, Iterable, Mapping
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ortsession._errors import ModelLoadError, OptionError, OrtError, TerminatedError
from ortsession._fields import merge_fields
from ortsession._interrupt import on_interrupt, watch
from ortsession._options import parse_session_options
from ortsession._run_options import run_options

from ._local import local_results, open_model
from ._plan import Plan, make_plan
from ._progress import progress_bar, wants_progress
from ._rows import Result, Runner
from ._sinks import MemorySink, State, open_sink
from ._sources import Source, open_source

__all__ = ["BatchSummary", "RowError", "predict", "usable_cpus"]

ENGINES = ("local", "ray")
PARALLEL = ("auto", "threads", "processes")
_THREADS_FROM = 200e-6
"""A run of one batch at least this long (seconds) makes ``auto`` choose threads: the Python
work around it (a few microseconds, holding the GIL) is then a small share."""
_STARTS = {"threads": 0.1, "processes": 0.5}
"""Estimated seconds of work (one session) below which ``auto`` runs in process: starting the
workers (a session each; for processes, the processes too) would cost more than they save."""
_RUN_COST = 4e-6
"""The Python work of one batch (seconds) in a worker, around the model's run."""
_PART_BYTES = 64 << 20
_TASK_BYTES = 8 << 20
_ERRORS_KEPT = 1000


@dataclass(frozen=True)
class RowError:
    """A bad row: its id (position in the source) and what was wrong."""

    row_id: int
    """The row's 0-based position in the source."""
    message: str
    """Why it was not run, or how the run failed."""


@dataclass
class BatchSummary:
    """What a :func:`predict` job did."""

    rows: int
    """Rows handled by this call (good and bad; a resumed job counts only the new ones)."""
    ok_rows: int
    """Rows of the whole output (all calls of a resumed job) that have outputs."""
    error_rows: int
    """Bad rows of the whole job (all calls), each in the errors table."""
    resumed_from: int
    """Rows already done by earlier calls when this one started (``0`` for a fresh job)."""
    seconds: float
    """Wall time of this call."""
    engine: str
    """``"local"`` or ``"ray"``."""
    workers: int
    """Worker processes (local) or actors (ray)."""
    batch_size: int
    """Rows per model run (``1`` for a model without a batch dimension)."""
    output: str | None = None
    """The output path (``None`` in memory)."""
    errors_path: str | None = None
    """The errors table's path (``None`` in memory)."""
    errors: list[RowError] = field(default_factory=list)
    """The bad rows met by this call (the first 1000 when writing to a path: the errors table has
    them all; every one in memory)."""
    outputs: dict[str, np.ndarray[Any, Any]] | None = None
    """In memory only: ``row_id`` and one array per output, rows in source order."""
    nodes: dict[str, int] = field(default_factory=dict)
    """Ray only: rows computed per Ray node id."""
    parallel: str = ""
    """How the workers ran: ``"in process"`` (one session in the calling thread),
    ``"threads"``, ``"processes"`` (local engine) or ``"actors"`` (ray)."""

    @property
    def rows_per_second(self) -> float:
        """Rows handled per second by this call."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        text = (f"{self.rows} rows in {self.seconds:.2f} s ({self.rows_per_second:,.0f} rows/s, "
                f"{self.engine} engine, {self.workers} worker{'s' * (self.workers != 1)}, "
                f"batch {self.batch_size}): {self.ok_rows} ok, {self.error_rows} bad")
        if self.resumed_from:
            text += f"; resumed after {self.resumed_from} rows"
        return text


def usable_cpus() -> int:
    """Return the number of CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"{name}: expected a positive integer, got {value!r}")
    return value


def _model_identity(model: str | bytes) -> str:
    digest = hashlib.sha256()
    if isinstance(model, bytes):
        digest.update(model)
        return f"bytes sha256:{digest.hexdigest()[:16]}"
    try:
        with open(model, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ModelLoadError(f"model {model!r}: cannot read it: {exc.strerror or exc}") from None
    return f"{Path(model).name} sha256:{digest.hexdigest()[:16]}"


@contextmanager
def _ctrl_c_held() -> Generator[None, None, None]:
    """Hold Ctrl-C while results are gathered or committed; it lands when the block is done.

    A ``KeyboardInterrupt`` between a part's files and the bookkeeping that follows would have
    the final commit write those rows a second time. In the main thread only (where Python runs
    signal handlers); the held signal goes to the handler that was in place.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            if callable(previous):
                previous(signal.SIGINT, held[0])
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt


class _Parts:
    """Results gathered in source order until a part is big enough to commit."""

    def __init__(self, sink: Any, state: State, summary: BatchSummary, commit_rows: int) -> None:
        self.sink = sink
        self.commit_rows = commit_rows
        self.rows_done = state.rows_done
        self.summary = summary
        self.ids: list[np.ndarray[Any, Any]] = []
        self.outputs: list[dict[str, np.ndarray[Any, Any]]] = []
        self.errors: list[tuple[int, str]] = []
        self.nbytes = 0
        self.committed = state.rows_done

    def add(self, result: Result) -> None:
        with _ctrl_c_held():
            self._add(result)

    def _add(self, result: Result) -> None:
        if result.start != self.rows_done:
            raise RuntimeError(f"results out of order: {result.start} after {self.rows_done}")
        self.rows_done = result.start + result.count
        self.summary.rows += result.count
        if result.node:
            self.summary.nodes[result.node] = self.summary.nodes.get(result.node, 0) + result.count
        if len(result.row_ids):
            self.ids.append(result.row_ids)
            self.outputs.append(result.outputs)
            self.nbytes += sum(a.nbytes for a in result.outputs.values())
        self.errors.extend(result.errors)
        room = _ERRORS_KEPT - len(self.summary.errors)
        if room > 0:
            self.summary.errors.extend(RowError(r, m) for r, m in result.errors[:room])
        if self.nbytes >= _PART_BYTES or self.rows_done - self.committed >= self.commit_rows:
            self._commit()

    def commit(self) -> None:
        with _ctrl_c_held():
            self._commit()

    def _commit(self) -> None:
        if self.rows_done == self.committed:
            return
        self.sink.commit_parts(self.ids, self.outputs, self.errors, self.rows_done)
        self.summary.ok_rows += sum(len(ids) for ids in self.ids)
        self.summary.error_rows += len(self.errors)
        self.ids, self.outputs, self.errors, self.nbytes = [], [], [], 0
        self.committed = self.rows_done


def predict(model: str | os.PathLike[str] | bytes, source: Any, sink: str | os.PathLike[str] |
            None = None, options: Mapping[str, Any] | None = None, *, engine: str = "local",
            batch_size: int | None = None, workers: int | None = None, resume: bool = False,
            overwrite: bool = False, progress: bool | None = None,
            input_map: Mapping[str, str] | None = None, outputs: Iterable[str] | None = None,
            image: Mapping[str, Any] | None = None, refuse_nan: bool | Iterable[str] = False,
            ray_address: str | None = None, num_cpus: float | None = None,
            num_gpus: float | None = None, ship_model: bool = True, commit_rows: int = 100_000,
            parallel: str = "auto", **fields: Any) -> BatchSummary:
    """Run every row of ``source`` through ``model`` and write the outputs to ``sink``.

    Args:
        model: the ``.onnx`` path, or the model's bytes.
        source: a dict of arrays (one per column, rows first), an array (one column), or a path:
            ``.npy``, ``.npz``, ``.parquet`` (or a folder of them), ``.jsonl``, or a folder of
            images.
        sink: a folder for Parquet output, a path ending ``.npz``, or ``None`` for the results in
            memory (:attr:`BatchSummary.outputs`).
        options: session options as for :func:`ortsession.session` (a dict); ``**fields`` takes
            them as keyword arguments. ``intra_op_num_threads`` defaults to the worker's share of
            the cores.
        engine: ``"local"`` (worker processes on this machine) or ``"ray"`` (a Ray Data
            pipeline, on a local Ray or the cluster at ``ray_address``).
        batch_size: rows per run when the model's batch dimension is free (default 64).
        workers: sessions run in parallel (local; default: one per core, or one for a job
            too short to repay starting more) or Ray actors (default: the cluster's CPUs divided
            by ``num_cpus``). ``workers=1`` runs in this process, with every core as intra-op
            threads.
        resume: continue the job whose partial output is at ``sink``.
        overwrite: replace an existing output.
        progress: show a progress bar on stderr (default: when stderr is a terminal).
        input_map: model input name → source column, where names differ.
        outputs: the outputs to write (default: every tensor output).
        image: image options for an image folder (``width``, ``height``, ``layout``,
            ``channel_order``, ``scale``, ``mean``, ``std``, ``resize_mode``, ``data_type``).
        refuse_nan: ``True`` (every input) or input names: a row holding NaN there is a bad row.
        ray_address: the Ray cluster to join (default: the running one, or a new local one).
        num_cpus: CPUs reserved per Ray actor (default 1); also its intra-op threads.
        num_gpus: GPUs reserved per Ray actor (default 0).
        ship_model: ray: send the model's bytes through the object store (default), or let each
            actor read the path (shared storage).
        commit_rows: commit a part at least every this many source rows (also every 64 MB of
            outputs): what a killed job may have to redo.
        parallel: local engine, several workers: ``"threads"`` (threads of this process, sharing
            its memory; best when the model's run outweighs the Python work per batch),
            ``"processes"`` (worker processes, data through shared memory; best for light
            models) or ``"auto"`` (default: chosen by timing the model on one batch).
        **fields: session options as keyword arguments.

    Returns:
        A :class:`BatchSummary`.

    Raises:
        OptionError: a bad argument or session option. SourceError (an ``OptionError``): the
            source cannot be read or has no column for an input. StateError: the output exists
            (use ``resume`` or ``overwrite``) or belongs to another job. ModelLoadError: the model
            cannot be loaded. KeyboardInterrupt: after committing what was done (resumable).
    """
    started = time.perf_counter()
    if engine not in ENGINES:
        raise OptionError(f"engine: expected 'local' or 'ray', got {engine!r}")
    given = merge_fields(options, fields, what="session option")
    parse_session_options(given)
    if workers is not None:
        _positive("workers", workers)
    _positive("commit_rows", commit_rows)
    if isinstance(model, (str, os.PathLike)):
        model_ref: str | bytes = os.fspath(model)
    elif isinstance(model, (bytes, bytearray, memoryview)):
        model_ref = bytes(model)
    else:
        raise ModelLoadError(f"predict(): model must be a path or bytes, got "
                             f"{type(model).__name__}")
    src = open_source(source)
    out = open_sink(sink)
    if resume and isinstance(out, MemorySink):
        raise OptionError("resume=True needs an output path (a Parquet folder or .npz file)")
    if parallel not in PARALLEL:
        raise OptionError(f"parallel: expected 'auto', 'threads' or 'processes', got "
                          f"{parallel!r}")
    cpus = usable_cpus()
    count = (workers or cpus) if engine == "local" else (workers or 0)
    planning_options = {**given, "intra_op_num_threads": 1}
    with ExitStack() as stack:
        planning = stack.enter_context(open_model(model_ref, planning_options))
        plan = make_plan(planning, src.columns, image_column=src.image_column, image=image,
                         input_map=input_map, outputs=outputs, batch_size=batch_size,
                         refuse_nan=refuse_nan)
        if engine == "local":
            count, mode = _choose_parallel(planning, plan, src, parallel, workers, cpus)
            threads = max(1, cpus // count)
        else:
            mode = "actors"
            threads = max(1, int(num_cpus or 1))
        worker_options = {"intra_op_num_threads": threads, **given}
        if count == 1 and worker_options != planning_options:  # the session that runs it all
            planning = stack.enter_context(open_model(model_ref, worker_options))
        job = {"model": _model_identity(model_ref), "source": src.description, "rows": src.total,
               "outputs": list(plan.outputs),
               "inputs": {i.name: i.column for i in plan.inputs}}
        state = out.start(job, resume, overwrite)
        summary = BatchSummary(0, state.ok_rows, state.error_rows, state.rows_done, 0.0, engine,
                               count, plan.batch_size, out.path, out.errors_path, parallel=mode)
        if state.complete:
            summary.seconds = time.perf_counter() - started
            return summary
        rows = _task_rows(plan, commit_rows)
        parts = _Parts(out, state, summary, commit_rows)
        # Ctrl-C terminates the runs of this process (in process, threads) at once: the job
        # stops with TerminatedError, turned into KeyboardInterrupt once the done rows are in
        interrupt = stack.enter_context(watch())
        results = _results(engine, src, plan, rows, state.rows_done, model_ref, worker_options,
                           count, mode, planning, ray_address, num_cpus, num_gpus, ship_model,
                           summary)
        try:
            with closing(results), progress_bar(src.total, state.rows_done,
                                                wants_progress(progress)) as bar:
                for result in results:
                    parts.add(result)
                    bar.advance(result.count)
        except TerminatedError:
            if not interrupt.interrupted:
                raise
            raise KeyboardInterrupt from None
        finally:
            parts.commit()
    out.finish()
    if isinstance(out, MemorySink):
        summary.outputs = out.outputs
        summary.errors = [RowError(r, m) for r, m in out.errors]
    summary.seconds = time.perf_counter() - started
    return summary


def _probe(session: Any, plan: Plan) -> float | None:
    """Time a run of a batch of zeros (seconds), or ``None`` if it fails.

    The best of up to 11 runs, stopping once 50 ms are spent: a heavy model runs once.
    """
    if plan.batch is None or any(d < 0 for i in plan.inputs for d in i.row_shape) or \
            any(i.dtype.kind not in "biuf" for i in plan.inputs):
        return None
    feeds = {i.name: np.zeros((plan.batch_size, *i.row_shape), i.dtype) for i in plan.inputs}
    names = list(plan.outputs)
    try:
        start = time.perf_counter()
        session.run(feeds, names)
        best = spent = time.perf_counter() - start
        for _ in range(10):
            if spent >= 0.05:
                break
            start = time.perf_counter()
            session.run(feeds, names)
            took = time.perf_counter() - start
            best, spent = min(best, took), spent + took
    except OrtError:
        return None
    return best


def _choose_parallel(session: Any, plan: Plan, src: Source, parallel: str, workers: int | None,
                     cpus: int) -> tuple[int, str]:
    """Return the local engine's worker count and how they run (see ``predict``'s ``parallel``).

    ``auto`` times a batch on the (one-thread) planning session: a model whose batch takes
    ``_THREADS_FROM`` or more runs on threads, the others (light models, and sources decoded row
    by row in Python: JSON Lines, images) on processes; a job estimated to take one session less
    than what starting those workers would save (``_STARTS``) runs in process, unless
    ``workers`` is given.
    """
    count = workers or cpus
    if count == 1:
        return 1, "in process"
    if parallel != "auto":
        return count, parallel
    took = _probe(session, plan) if src.kind == "values" else None
    kind = "threads" if took is not None and took >= _THREADS_FROM else "processes"
    if took is not None and workers is None and \
            src.total / plan.batch_size * (took + _RUN_COST) < _STARTS[kind]:
        return 1, "in process"
    return count, kind


def _task_rows(plan: Plan, commit_rows: int) -> int:
    """Return the rows sent to a worker at a time.

    About 8 MB of input, at most 16384 rows (enough to make a task's messages cheap next to its
    work) and at most a commit's worth, a multiple of the batch size.
    """
    rows = max(1, min(16384, commit_rows, _TASK_BYTES // plan.row_nbytes()))
    return max(plan.batch_size, rows // plan.batch_size * plan.batch_size)


def _results(engine: str, src: Source, plan: Plan, rows: int, start: int, model: str | bytes,
             options: dict[str, Any], count: int, mode: str, planning: Any,
             ray_address: str | None,
             num_cpus: float | None, num_gpus: float | None, ship_model: bool,
             summary: BatchSummary) -> Generator[Result, None, None]:
    columns = plan.columns if src.kind == "values" else src.columns
    if engine == "ray":
        from ._ray import ray_results

        yield from ray_results(src, plan, rows, start, columns, model, options, count,
                               ray_address, num_cpus, num_gpus, ship_model, summary)
        return
    chunks = src.chunks(start, rows, columns)
    if count == 1:
        stop = run_options()
        on_interrupt(stop.terminate)
        runner = Runner(planning, plan, stop)
        for chunk in chunks:
            yield runner.run_chunk(chunk)
        return
    yield from local_results(chunks, model, options, plan, count, threads=mode == "threads")
