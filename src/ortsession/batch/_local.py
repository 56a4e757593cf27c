"""The ``local`` engine: workers on this machine, one session each, results in order.

Workers are threads of the job's process (``_ThreadPool``: no copies, for models whose run
outweighs the Python work around it) or worker processes (``_Pool``: no GIL, rows and outputs
through shared memory, for light models); ``predict`` chooses. Worker processes start with
``forkserver`` where the platform has it (``spawn`` otherwise), never plain ``fork``: ONNX
Runtime's thread pools do not survive a fork, and the parent may hold sessions. They are started
with the parent's ``__main__`` hidden, so a user's script is not imported again in each worker (no
``if __name__ == "__main__"`` guard needed: the workers run only this module). Each worker
process ignores SIGINT (Ctrl-C is the parent's: it stops, commits what came back in order and
raises ``KeyboardInterrupt``), opens one session with its share of the cores as intra-op threads,
and runs the chunks it is sent. At most two chunks per worker are in flight, so memory stays flat
however large the source.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from ortsession._errors import OrtError
from ortsession._interrupt import on_interrupt
from ortsession._run_options import run_options
from ortsession._session import Session, session, session_from_bytes

from . import _shm
from ._plan import Plan
from ._rows import Chunk, Result, Runner

__all__ = ["local_results", "open_model"]

_NO_ROWS = np.empty(0, dtype=np.int64)


def open_model(model: str | bytes, options: Mapping[str, Any]) -> Session:
    """Open a session on ``model`` (a path or the model's bytes).

    Provider fallback warnings are muted: the parent reports them once.
    """
    from ortsession._builder import ProviderFallbackWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProviderFallbackWarning)
        if isinstance(model, bytes):
            return session_from_bytes(model, dict(options))
        return session(model, dict(options))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _watch(parent: int) -> None:
    """End this worker when the job's process is gone, wherever the worker is blocked.

    A task half written to the pipe by a killed parent would block the worker's read forever.
    """
    while _alive(parent):
        time.sleep(0.5)
    os._exit(0)


def _serve(model: str | bytes, options: Mapping[str, Any], plan: Plan, tasks: Any,
           results: Any, parent: int) -> None:
    """Serve as a worker process: open the session, then run chunks until ``None`` arrives.

    A task is ``(index, slot, chunk, input block, output block)``: when the input block is
    given, the chunk's columns lie in it (see ``_shm``); when the output block is given and the
    outputs fit, they are written there and the answer carries only their layout.

    It leaves on its own when the job's process (``parent``) is gone (killed): forkserver
    children hold the server's liveness pipe, so nothing else would tell them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runner = Runner(open_model(model, options), plan)
    except BaseException as exc:
        results.put((-1, OrtError(f"a batch worker could not open the model: {exc}"), None))
        return
    threading.Thread(target=_watch, args=(parent,), name="ortsession-watchdog",
                     daemon=True).start()
    mapped = _shm.Mapped()
    while True:
        item = tasks.get()
        if item is None:
            return
        index, slot, chunk, block_in, block_out = item
        try:
            if block_in is not None:
                chunk.columns = _shm.views(mapped.buffer((slot, "in"), block_in[0]), block_in[1])
            placed: list[tuple[_shm.Layout, dict[str, Any]]] = []

            def alloc(specs: list[tuple[str, tuple[int, ...], Any]], slot: int = slot,
                      block: Any = block_out, placed: Any = placed) -> dict[str, Any] | None:
                layout, size = _shm.layout_of(specs)
                if block is None or size > block[1]:
                    return None
                arrays = _shm.views(mapped.buffer((slot, "out"), block[0]), layout)
                placed.append((layout, arrays))
                return arrays

            result = runner.run_chunk(chunk, alloc)
            layout = None
            if placed and all(result.outputs.get(n) is a for n, a in placed[0][1].items()):
                # every row good (the fast path): the row ids are start, start + 1, ...
                layout, result.outputs, result.row_ids = placed[0][0], {}, _NO_ROWS
            del chunk, placed
            results.put((index, result, layout))
        except BaseException as exc:
            results.put((index, exc if isinstance(exc, OrtError) else OrtError(str(exc)), None))


def _context() -> Any:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])  # workers fork with ortsession already imported
    return ctx


@contextmanager
def _main_hidden() -> Iterator[None]:
    """Hide ``__main__``'s file and spec while workers start, so they do not import it."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if hasattr(main, k)}
    try:
        if "__file__" in saved:
            delattr(main, "__file__")
        if "__spec__" in saved:
            main.__spec__ = None  # type: ignore[union-attr]
        yield
    finally:
        for key, value in saved.items():
            setattr(main, key, value)


class _Pool:
    """``workers`` processes fed through one task queue, answering on one result queue.

    Numeric columns go to the workers, and outputs come back, through shared memory slots
    (``_shm``), one per chunk in flight; other chunks (strings, lists, lines, image paths) and
    outputs that do not fit are pickled.
    """

    def __init__(self, model: str | bytes, options: Mapping[str, Any], plan: Plan,
                 workers: int) -> None:
        ctx = _context()
        self.tasks = ctx.Queue()
        self.results = ctx.Queue()
        self.slots = [(_shm.Block(), _shm.Block()) for _ in range(2 * workers)]
        self.free = list(range(len(self.slots)))
        self.busy: dict[int, int] = {}
        self.out_row_bytes = 0
        args = (model, options, plan, self.tasks, self.results, os.getpid())
        self.procs = [ctx.Process(target=_serve, args=args, daemon=True)
                      for _ in range(workers)]
        with _main_hidden():
            for proc in self.procs:
                proc.start()

    def put(self, index: int, chunk: Chunk) -> None:
        """Send a chunk to the workers (at most one per slot in flight)."""
        slot = self.free.pop()
        block_in, block_out = self.slots[slot]
        sent_in = sent_out = None
        if chunk.kind == "values" and _shm.shareable(chunk.columns):
            layout, size = _shm.layout_of([(c, a.shape, a.dtype)
                                           for c, a in chunk.columns.items()])
            name, buf = block_in.reserve(size)
            _shm.write(buf, chunk.columns, layout)
            chunk = Chunk(chunk.start, chunk.count, {}, chunk.kind, chunk.errors)
            sent_in = (name, layout)
        if self.out_row_bytes:
            need = chunk.count * self.out_row_bytes + 4096
            name, _ = block_out.reserve(need + need // 4)
            sent_out = (name, block_out.size)
        self.busy[index] = slot
        self.tasks.put((index, slot, chunk, sent_in, sent_out))

    def _answer(self, index: int, answer: Any, layout: _shm.Layout | None) -> Any:
        """Free the chunk's slot, copying its outputs out of shared memory first."""
        slot = self.busy.pop(index, None)
        if slot is None:
            return answer
        if layout is not None:
            arrays = _shm.views(self.slots[slot][1].buffer, layout)
            answer.outputs = {name: np.array(a) for name, a in arrays.items()}
            answer.row_ids = np.arange(answer.start, answer.start + answer.count, dtype=np.int64)
        self.free.append(slot)
        if isinstance(answer, Result) and len(answer.row_ids):
            size = sum(a.nbytes for a in answer.outputs.values())
            self.out_row_bytes = max(self.out_row_bytes, -(-size // len(answer.row_ids)))
        return answer

    def get(self) -> tuple[int, Any]:
        """Return the next answer of any worker; raise :class:`OrtError` if a worker died."""
        while True:
            try:
                index, answer, layout = self.results.get(timeout=0.5)
                return index, self._answer(index, answer, layout)
            except queue.Empty:
                dead = [p.exitcode for p in self.procs if p.exitcode not in (None, 0)]
                if dead:
                    raise OrtError(f"a batch worker process died (exit code {dead[0]}: out of "
                                   f"memory, or killed); the rows committed so far are kept: "
                                   f"rerun with resume to continue") from None

    def close(self, graceful: bool) -> None:
        """Stop the workers: let them finish (``graceful``) or terminate them."""
        if graceful:
            for _ in self.procs:
                self.tasks.put(None)
            for proc in self.procs:
                proc.join(timeout=30)
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()
        for blocks in self.slots:
            for block in blocks:
                block.release()


class _ThreadPool:
    """``workers`` threads of this process, one session each, with the interface of ``_Pool``.

    ONNX Runtime releases the GIL while it runs, so threads run the model in parallel while
    sharing the chunks' memory: nothing is copied to a worker or back. They pay off when the
    model's run outweighs the Python work around it (a compute-bound model).

    Their runs share one ``RunOptions``: Ctrl-C (while a watch is active, see ``_interrupt``)
    and closing on a failure terminate the runs in progress, instead of waiting for each
    thread's chunk in hand.
    """

    def __init__(self, model: str | bytes, options: Mapping[str, Any], plan: Plan,
                 workers: int) -> None:
        self.tasks: queue.SimpleQueue[tuple[int, Chunk] | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()
        self.stop = False
        self.run_options = run_options()
        on_interrupt(self.run_options.terminate)
        self.threads = [threading.Thread(target=self._serve, args=(model, options, plan),
                                         name=f"ortsession-batch-{i}", daemon=True)
                        for i in range(workers)]
        for thread in self.threads:
            thread.start()

    def _serve(self, model: str | bytes, options: Mapping[str, Any], plan: Plan) -> None:
        try:
            runner = Runner(open_model(model, options), plan, self.run_options)
        except BaseException as exc:
            self.results.put((-1, OrtError(f"a batch worker could not open the model: {exc}")))
            return
        with runner.session:
            while (item := self.tasks.get()) is not None and not self.stop:
                index, chunk = item
                try:
                    self.results.put((index, runner.run_chunk(chunk)))
                except BaseException as exc:
                    self.results.put((index, exc if isinstance(exc, OrtError)
                                      else OrtError(str(exc))))

    def get(self) -> tuple[int, Any]:
        """Return the next answer of any worker (waking up for Ctrl-C twice a second)."""
        while True:
            try:
                return self.results.get(timeout=0.5)
            except queue.Empty:
                continue

    def put(self, index: int, chunk: Chunk) -> None:
        """Send a chunk to the workers."""
        self.tasks.put((index, chunk))

    def close(self, graceful: bool) -> None:
        """Stop the workers: after the chunks sent (``graceful``), or at once (runs terminated)."""
        self.stop = not graceful
        if not graceful:
            self.run_options.terminate()
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join()


def local_results(chunks: Iterable[Chunk], model: str | bytes, options: Mapping[str, Any],
                  plan: Plan, workers: int, threads: bool = False) -> Iterator[Result]:
    """Run ``chunks`` on ``workers`` processes (or ``threads``); yield results in source order.

    Raises:
        OrtError: a worker could not open the model, failed, or died.
    """
    pool: _Pool | _ThreadPool = (_ThreadPool if threads else _Pool)(model, options, plan,
                                                                     workers)
    done: dict[int, Result] = {}
    sent = received = 0
    graceful = False
    try:
        source = iter(chunks)
        exhausted = False
        while True:
            while not exhausted and sent - received < 2 * workers:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                pool.put(sent, chunk)
                sent += 1
            if received == sent:
                break
            while received not in done:
                index, answer = pool.get()
                if isinstance(answer, BaseException):
                    raise answer
                done[index] = answer
            yield done.pop(received)
            received += 1
        graceful = True
    finally:
        pool.close(graceful)
