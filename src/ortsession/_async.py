"""Asynchronous runs: the machinery under ``Session.run_async`` and ``Session.run_into_async``.

The async twins validate and convert their inputs with the very functions the synchronous forms
use (``Session._prepare_run`` → ``prepare_feed``), then hand the run to ONNX Runtime without
blocking the event loop:

* **ORT's own** ``run_async`` (ORT ≥ 1.16, :data:`~ortsession._engine.HAS_RUN_ASYNC`): the run
  is queued on the session's intra-op thread pool; ORT calls back from one of its threads and the
  callback only posts the result to the loop (``call_soon_threadsafe``).
* **A thread pool** otherwise: when ORT lacks ``run_async``, when the session's intra-op pool has
  no worker thread (``intra_op_num_threads=1``), for runs that go through an IO binding (types
  numpy lacks, ``run_into``), and beyond :data:`MAX_NATIVE_IN_FLIGHT` queued native runs (ORT's
  pool runs a task inline, on the caller's thread, when its queue is full).

Each call runs with its own copy of the run options (``RunOptions._for_call``): cancelling the
awaiting task terminates that copy only, never the caller's options nor the other runs sharing
them, while ``terminate()`` on the caller's options still reaches the copy. A cancelled call waits
for ORT to acknowledge the terminate flag before it re-raises ``CancelledError``, so the inputs
ORT reads are alive until the run has stopped; cancelled again while waiting, it leaves them with
the completion, which drops them on the loop's thread when ORT calls back.

Nothing that owns the ORT session is ever released on one of ORT's own threads: a session
destroyed there would join the thread pool it runs on.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final, Protocol

from . import _engine
from ._errors import RunError
from ._execution import convert_outputs, run_feed
from ._outputs import Outputs
from ._run_options import RunOptions, blank_run_options

if TYPE_CHECKING:
    from ._protocols import OrtRunOptions, OrtSession
    from ._tensor import Tensor


class AsyncHost(Protocol):
    """What the asynchronous runs need of their session (``Session`` is one)."""

    @property
    def generation(self) -> int:
        """Incremented by each rebuild."""

    def _prepare_run(self, inputs: Any, output_names: Any, run_options: Any
                     ) -> tuple[OrtSession, dict[str, Any], list[str], dict[str, int] | None,
                                bool, OrtRunOptions]: ...

    def run_into(self, inputs: Any, outputs: Mapping[str, Tensor],
                 run_options: RunOptions | None = None) -> Outputs:
        """Run, writing outputs into preallocated tensors."""

__all__ = ["MAX_NATIVE_IN_FLIGHT", "run", "run_into"]

MAX_NATIVE_IN_FLIGHT: Final = 256
"""Native runs queued at once (all sessions); more take the thread pool. ORT's pool queues at most
1024 tasks per worker and runs the next one inline, which would block the event loop."""

# ORT run options of the native runs whose callback has not returned yet
_RUN_ERRORS: Final = _engine.Mapped("run()", RunError)
_native_calls: set[Any] = set()
# session → the generation whose intra-op pool refused RunAsync
_no_native: weakref.WeakKeyDictionary[AsyncHost, int] = weakref.WeakKeyDictionary()
# completions whose loop closed while ORT ran: kept, never freed on one of ORT's threads
_orphans: list[Any] = []
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(min(32, (os.cpu_count() or 1) + 4),
                                               thread_name_prefix="ortsession-run")
    return _executor


class _Completion:
    """The outcome of one run, delivered on the event loop's thread."""

    __slots__ = ("call_ro", "finished", "future", "keep", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, call_ro: Any) -> None:
        self.loop = loop
        self.call_ro = call_ro  # ORT's run options of the call
        self.future: asyncio.Future[Any] = loop.create_future()
        self.finished = False
        self.keep: Any = None  # what ORT still reads after the awaiting task gave up waiting

    def finish(self, value: Any, error: BaseException | None) -> None:
        """Record the outcome (on the loop's thread) and wake the awaiting task."""
        self.finished = True
        self.keep = None
        future = self.future
        if future.done():
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def finish_native(self, results: list[Any], message: str) -> None:
        """Finish from what ORT's ``run_async`` callback received."""
        if message:
            self.finish(None, _engine.translate(RuntimeError(message), RunError, "run()"))
            return
        try:
            value = convert_outputs(results)
        except Exception as exc:  # a bug of ours must reach the awaiting task, not vanish
            self.finish(None, exc)
        else:
            self.finish(value, None)

    def finish_thread(self, done: Future[Any]) -> None:
        """Finish from a thread-pool future."""
        if done.cancelled():
            self.finish(None, asyncio.CancelledError())
            return
        error = done.exception()
        self.finish(None if error is not None else done.result(), error)


def _on_native_done(results: list[Any], completion: _Completion, message: str) -> None:
    """ORT's ``run_async`` callback, on one of ORT's threads: post the outcome to the loop."""
    try:
        completion.loop.call_soon_threadsafe(completion.finish_native, results, message)
    except BaseException:  # the loop is closed: never raise into ORT's thread, never free here
        _orphans.append(completion)
    finally:
        _native_calls.discard(completion.call_ro)


@atexit.register
def _wait_for_native_runs() -> None:
    """Let ORT's threads leave their callbacks before the interpreter finalizes.

    A thread that needs the GIL once finalization has begun is ended by CPython; inside ORT's
    callback wrapper that aborts the process ("FATAL: exception not rethrown"). Runs still in
    progress at exit are terminated first.
    """
    for ro in tuple(_native_calls):
        ro.terminate = True
    deadline = time.monotonic() + 10.0
    while _native_calls and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.01)  # the callback wrapper's own clean-up, after our callback returned


def _on_thread_done(completion: _Completion, done: Future[Any]) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits the outcome
        completion.loop.call_soon_threadsafe(completion.finish_thread, done)


async def _outcome(completion: _Completion, call: RunOptions, work: Future[Any] | None,
                   keep: Any) -> Any:
    """Await ``completion``; on cancellation terminate the run and wait for ORT to stop."""
    try:
        return await completion.future
    except asyncio.CancelledError:
        call.terminate()
        if not completion.finished and not (work is not None and work.cancel()):
            completion.future = completion.loop.create_future()
            try:
                await completion.future
            except asyncio.CancelledError:  # cancelled again: stop waiting, keep the buffers
                completion.keep = keep
                completion.future.add_done_callback(_retrieve)
                raise
            except BaseException:  # the run's own end (TerminatedError) is expected
                pass
        raise


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # nobody awaits it: mark the exception as seen


def _call_options(run_options: RunOptions | None) -> RunOptions:
    return blank_run_options() if run_options is None else run_options._for_call()


async def run(session: AsyncHost, inputs: Any, output_names: Any,
              run_options: RunOptions | None) -> Outputs:
    """Validate like ``Session.run``, then run without blocking the event loop."""
    sess, feed, names, index, bound, _ = session._prepare_run(inputs, output_names, run_options)
    loop = asyncio.get_running_loop()
    call = _call_options(run_options)
    try:
        generation = session.generation
        native = (_engine.HAS_RUN_ASYNC and not bound
                  and len(_native_calls) < MAX_NATIVE_IN_FLIGHT
                  and _no_native.get(session) != generation)
        completion = _Completion(loop, call._ro)
        work: Future[Any] | None = None
        if native:
            if call._ro.log_severity_level < 0:
                # ORT's threads write their log to stderr, not to our logger: keep it quiet
                # (a failed run raises anyway)
                call._ro.log_severity_level = 4
            _native_calls.add(call._ro)
            try:
                with _RUN_ERRORS:
                    sess.run_async(names, feed, _on_native_done, completion, call._ro)
            except RunError as exc:
                _native_calls.discard(call._ro)
                if "thread pool" not in str(exc):
                    raise
                _no_native[session] = generation  # intra_op_num_threads=1: no ORT worker
                native = False
        if not native:
            work = _pool().submit(run_feed, sess, feed, names, call._ro, bound, "run()")
            work.add_done_callback(lambda done: _on_thread_done(completion, done))
        values = await _outcome(completion, call, work, (sess, feed, call))
    finally:
        if run_options is not None:
            run_options._end_call(call)
    return Outputs(names, values, index)


async def run_into(session: AsyncHost, inputs: Any, outputs: Mapping[str, Tensor],
                   run_options: RunOptions | None) -> Outputs:
    """Run ``Session.run_into`` itself on the thread pool (ORT has no asynchronous IO binding)."""
    loop = asyncio.get_running_loop()
    call = _call_options(run_options)
    try:
        completion = _Completion(loop, call._ro)
        work = _pool().submit(session.run_into, inputs, outputs, call)
        work.add_done_callback(lambda done: _on_thread_done(completion, done))
        result: Outputs = await _outcome(completion, call, work, None)
    finally:
        if run_options is not None:
            run_options._end_call(call)
    return result
