"""The ``local`` engine: worker processes on this machine, one session each, results in order.

Workers start with ``forkserver`` where the platform has it (``spawn`` otherwise), never plain
``fork``: ONNX Runtime's thread pools do not survive a fork, and the parent may hold sessions.
They are started with the parent's ``__main__`` hidden, so a user's script is not imported again
in each worker (no ``if __name__ == "__main__"`` guard needed: the workers run only this module).
Each worker ignores SIGINT (Ctrl-C is the parent's: it stops, commits what came back in order and
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

from ortsession._errors import OrtError
from ortsession._session import Session, session, session_from_bytes

from ._plan import Plan
from ._rows import Chunk, Result, Runner

__all__ = ["local_results", "open_model"]


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

    It leaves on its own when the job's process (``parent``) is gone (killed): forkserver
    children hold the server's liveness pipe, so nothing else would tell them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runner = Runner(open_model(model, options), plan)
    except BaseException as exc:
        results.put((-1, OrtError(f"a batch worker could not open the model: {exc}")))
        return
    threading.Thread(target=_watch, args=(parent,), name="ortsession-watchdog",
                     daemon=True).start()
    while True:
        item = tasks.get()
        if item is None:
            return
        index, chunk = item
        try:
            results.put((index, runner.run_chunk(chunk)))
        except BaseException as exc:
            results.put((index, exc if isinstance(exc, OrtError) else OrtError(str(exc))))


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
    """``workers`` processes fed through one task queue, answering on one result queue."""

    def __init__(self, model: str | bytes, options: Mapping[str, Any], plan: Plan,
                 workers: int) -> None:
        ctx = _context()
        self.tasks = ctx.Queue()
        self.results = ctx.Queue()
        args = (model, options, plan, self.tasks, self.results, os.getpid())
        self.procs = [ctx.Process(target=_serve, args=args, daemon=True)
                      for _ in range(workers)]
        with _main_hidden():
            for proc in self.procs:
                proc.start()

    def get(self) -> tuple[int, Any]:
        """Return the next answer of any worker; raise :class:`OrtError` if a worker died."""
        while True:
            try:
                answer: tuple[int, Any] = self.results.get(timeout=0.5)
                return answer
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


def local_results(chunks: Iterable[Chunk], model: str | bytes, options: Mapping[str, Any],
                  plan: Plan, workers: int) -> Iterator[Result]:
    """Run ``chunks`` on ``workers`` processes; yield their results in source order.

    Raises:
        OrtError: a worker could not open the model, failed, or died.
    """
    pool = _Pool(model, options, plan, workers)
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
                pool.tasks.put((sent, chunk))
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
