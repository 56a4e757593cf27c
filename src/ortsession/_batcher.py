"""``Batcher``: dynamic batching of concurrent requests over one session.

Callers submit requests from any thread (:meth:`Batcher.run`) or coroutine
(:meth:`Batcher.run_async`). Each request is validated on the caller's side with the code
``Session.run`` uses, then queued in the group of its *shape signature* (input names, dtypes and
non-batch dimensions, requested outputs): requests of different groups are never stacked. One
dispatcher thread takes the oldest group, waits until it holds ``max_batch_size`` rows or its
oldest request is ``max_delay_ms`` old, concatenates the group's inputs along the first axis, runs
the session once and gives each caller its own rows of every output (views of the batch output,
no copy). While a batch runs, the next one fills up.

When a batched run fails (or a model does not keep its batch dimension in an output), each
request of that batch runs again alone, so a sample that makes ORT fail fails only its caller.

``asyncio`` and ``concurrent.futures`` are imported when a batcher is created, not with the
package.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from ._conversion import type_name
from ._errors import InputError, OptionError, RunError, StateError
from ._outputs import Outputs
from ._tensor import Tensor

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ._session import Session
    from ._typeinfo import TypeInfo

__all__ = ["Batcher"]

_SYMBOLIC: Final = -1


class _Request:
    """One caller's validated request, waiting in its group."""

    __slots__ = ("arrival", "feed", "future", "key", "names", "rows")

    def __init__(self, feed: dict[str, Any], names: list[str], key: Any, rows: int,
                 future: Future[Outputs]) -> None:
        self.feed = feed
        self.names = names
        self.key = key
        self.rows = rows
        self.future = future
        self.arrival = time.monotonic()


class _Group:
    """Requests of one shape signature, oldest first."""

    __slots__ = ("requests", "rows")

    def __init__(self) -> None:
        self.requests: deque[_Request] = deque()
        self.rows = 0


class Batcher:
    """Run concurrent single-sample requests on one session as batches.

    Requests that arrive within ``max_delay_ms`` of each other are concatenated along the model's
    batch dimension (the first dimension of every input and output), run once, and split back:
    each caller gets exactly what its own :meth:`Session.run` would return (same names, element
    types and shapes; values equal up to floating-point rounding). A request is what
    :meth:`Session.run` takes for one sample, *with* its leading batch dimension of 1 (a request
    of ``n`` rows is accepted too and gets its ``n`` rows back).

    The model must be row-independent (each output row depends only on the same input row, as
    in classifiers and encoders): the batcher cannot check that.

    Use it as a context manager (sync or async) or call :meth:`close`. It does not close the
    session.

    Args:
        session: the session to run.
        max_batch_size: most rows in one run (default 32). A model whose batch dimension is
            fixed at 1 runs one request at a time.
        max_delay_ms: how long the oldest waiting request may wait for others (default 2 ms).

    Raises:
        InputError: the model has no batch dimension: an input or output is not a tensor with
            a declared shape whose first dimension is symbolic or 1, or its element type is one
            numpy lacks (bfloat16, float8, int4 …).
        OptionError: ``max_batch_size`` or ``max_delay_ms`` out of range.
    """

    def __init__(self, session: Session, max_batch_size: int = 32,
                 max_delay_ms: float = 2.0) -> None:
        """Check that ``session``'s model can be batched and start the dispatcher thread."""
        from concurrent.futures import Future

        from ._session import Session

        if not isinstance(session, Session):
            raise InputError(f"Batcher(): expected a Session, got {type_name(session)}")
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) \
                or max_batch_size < 1:
            raise OptionError(f"Batcher(): max_batch_size must be an integer >= 1, got "
                              f"{max_batch_size!r}")
        if isinstance(max_delay_ms, bool) or not isinstance(max_delay_ms, (int, float)) \
                or not 0 <= max_delay_ms <= 60_000:
            raise OptionError(f"Batcher(): max_delay_ms must be a number of milliseconds in "
                              f"0..60000, got {max_delay_ms!r}")
        fixed = _batch_dims(session)
        self._future_type = Future
        self._session = session
        self._inputs = frozenset(session.input_names())
        self._max = 1 if fixed else max_batch_size
        self._delay = max_delay_ms / 1000.0
        self._groups: dict[Any, _Group] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._batches = 0
        self._requests = 0
        self._thread = threading.Thread(target=self._serve, name="ortsession-batcher",
                                        daemon=True)
        self._thread.start()

    # -- submitting -----------------------------------------------------------------------
    @property
    def max_batch_size(self) -> int:
        """The most rows one run takes (1 for a model whose batch dimension is fixed at 1)."""
        return self._max

    @property
    def max_delay_ms(self) -> float:
        """How long, in milliseconds, the oldest waiting request waits for others."""
        return self._delay * 1000.0

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    @property
    def batch_count(self) -> int:
        """Number of runs made so far (a batch run again request by request counts once)."""
        return self._batches

    @property
    def request_count(self) -> int:
        """Number of requests answered so far (with a result or an error of the run)."""
        return self._requests

    def run(self, inputs: Mapping[str, Any] | list[Any] | tuple[Any, ...],
            output_names: list[str] | tuple[str, ...] | None = None) -> Outputs:
        """Submit one request and wait for its outputs (from any thread).

        Args:
            inputs: what :meth:`Session.run` takes for this sample: a dict by input name or a
                list in input order, each tensor with its leading batch dimension (usually 1).
            output_names: outputs to compute, in the order wanted (default: all).

        Returns:
            The request's own :class:`Outputs`, as :meth:`Session.run` would return them.

        Raises:
            InputError, NotFoundError: the request does not fit the model (the messages of
                :meth:`Session.run`); nothing was queued.
            StateError: the batcher (or the session) is closed, or was closed with
                ``drain=False`` before the request ran.
            RunError: ORT failed on this request.
        """
        future = self._submit(inputs, output_names)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C while waiting: a request not yet taken is dropped
            raise

    async def run_async(self, inputs: Mapping[str, Any] | list[Any] | tuple[Any, ...],
                        output_names: list[str] | tuple[str, ...] | None = None) -> Outputs:
        """Submit one request and await its outputs without blocking the event loop.

        Same arguments, result and errors as :meth:`run`. Cancelling the awaiting task drops
        the request if it has not started; a request already in a running batch is not
        terminated (other callers share that run), its result is discarded.
        """
        import asyncio

        return await asyncio.wrap_future(self._submit(inputs, output_names))

    def _submit(self, inputs: Any, output_names: Any) -> Future[Outputs]:
        if self._closed:
            raise StateError("Batcher: the batcher is closed; create a new one")
        _, feed, names, _, _, _ = self._session._prepare_run(inputs, output_names, None)
        rows = -1
        signature = []
        for name, value in feed.items():
            if type(value) is not np.ndarray:
                raise InputError(f"Batcher: input {name!r} must be a host tensor or numpy "
                                 f"array to be stacked, got {type_name(value)}")
            if name not in self._inputs:
                raise InputError(f"Batcher: input {name!r} is an overridable initializer; "
                                 f"a batcher takes the model's inputs only "
                                 f"({sorted(self._inputs)})")
            shape = value.shape
            if rows < 0:
                rows = shape[0]
            elif shape[0] != rows:
                raise InputError(f"Batcher: the inputs of one request must have the same "
                                 f"number of rows (first dimension); input {name!r} has "
                                 f"shape {list(shape)}, another has {rows} row(s)")
            signature.append((name, value.dtype.str, shape[1:]))
        key = (tuple(signature), None if output_names is None else tuple(names))
        future: Future[Outputs] = self._future_type()
        request = _Request(feed, names, key, rows, future)
        with self._cond:
            if self._closed:
                raise StateError("Batcher: the batcher is closed; create a new one")
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group()
            group.requests.append(request)
            group.rows += rows
            self._cond.notify()
        return future

    # -- dispatching ----------------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._groups:
                    if self._closed:
                        return
                    self._cond.wait()
                key = min(self._groups, key=lambda k: self._groups[k].requests[0].arrival)
                group = self._groups[key]
                deadline = group.requests[0].arrival + self._delay
                while not self._closed and group.rows < self._max and key in self._groups:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                batch = self._take(key)
            if not batch:  # closed without draining, or every request was cancelled
                continue
            try:
                self._run(batch)
            except BaseException as exc:  # a bug of ours: answer the callers, keep serving
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)

    def _take(self, key: Any) -> list[_Request]:
        """Pop up to ``max_batch_size`` rows of group ``key`` (at least one request)."""
        group = self._groups.get(key)
        batch: list[_Request] = []
        if group is None:
            return batch
        rows = 0
        queue = group.requests
        while queue and (not batch or rows + queue[0].rows <= self._max):
            request = queue.popleft()
            group.rows -= request.rows
            if request.future.set_running_or_notify_cancel():  # False: cancelled meanwhile
                batch.append(request)
                rows += request.rows
        if not queue:
            del self._groups[key]
        return batch

    def _run(self, batch: list[_Request]) -> None:
        self._batches += 1
        first = batch[0]
        if len(batch) == 1:
            self._run_alone(first)
            return
        feed = {name: np.concatenate([r.feed[name] for r in batch])
                for name in first.feed}
        try:
            out = self._session.run(feed, first.names)
            total = sum(r.rows for r in batch)
            for name, value in zip(first.names, out):
                if not isinstance(value, Tensor) or value.shape[:1] != (total,):
                    raise RunError(f"output {name!r} does not keep the batch dimension")
        except StateError as exc:
            for request in batch:
                self._fail(request, exc)
            return
        except Exception:  # one request may be to blame: give each its own run
            for request in batch:
                self._run_alone(request)
            return
        start = 0
        for request in batch:
            stop = start + request.rows
            values = [Tensor._wrap(t.numpy()[start:stop], t._etype) for t in out]
            start = stop
            self._requests += 1
            request.future.set_result(Outputs(request.names, values))

    def _run_alone(self, request: _Request) -> None:
        try:
            out = self._session.run(request.feed, request.names)
        except Exception as exc:
            self._fail(request, exc)
            return
        self._requests += 1
        request.future.set_result(out)

    def _fail(self, request: _Request, exc: BaseException) -> None:
        self._requests += 1
        request.future.set_exception(exc)

    # -- lifecycle ------------------------------------------------------------------------
    def close(self, drain: bool = True) -> None:
        """Stop taking requests and stop the dispatcher thread. Idempotent.

        Args:
            drain: ``True`` (default): run every request already queued, at once (without
                waiting for the delay), and return when they are answered. ``False``: fail
                every queued request that has not started with :class:`StateError`; a batch
                already running finishes.
        """
        with self._cond:
            self._closed = True
            if not drain:
                for group in self._groups.values():
                    for request in group.requests:
                        if request.future.set_running_or_notify_cancel():
                            self._fail(request, StateError(
                                "Batcher: the batcher was closed before this request ran"))
                self._groups.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    async def aclose(self, drain: bool = True) -> None:
        """:meth:`close` without blocking the event loop while queued requests drain."""
        import asyncio

        await asyncio.to_thread(self.close, drain)

    def __enter__(self) -> Batcher:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """Close: drain on a normal exit, fail queued requests when leaving on an exception."""
        self.close(drain=exc_type is None)

    async def __aenter__(self) -> Batcher:
        return self

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        """Close like ``__exit__``, without blocking the event loop."""
        await self.aclose(drain=exc_type is None)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"<Batcher {state} max_batch_size={self._max} max_delay_ms="
                f"{self.max_delay_ms:g} batches={self._batches} requests={self._requests}>")


def _batch_dims(session: Session) -> bool:
    """Check every input and output for a batch dimension; tell whether one is fixed at 1."""
    infos: list[tuple[str, TypeInfo]] = (
        [("input", session.input_info(i)) for i in range(session.input_count())]
        + [("output", session.output_info(i)) for i in range(session.output_count())])
    if not session.input_count():
        raise InputError("Batcher: the model has no inputs, so nothing to batch")
    fixed = False
    for what, info in infos:
        need = ("a batcher stacks requests along the first dimension of every input and "
                "output, which must be symbolic or 1")
        if info.onnx_type != "tensor" or info.element_type is None:
            raise InputError(f"Batcher: {what} {info.name!r} is a {info.type}, not a tensor; "
                             f"{need}")
        if not info.element_type.is_native:
            raise InputError(f"Batcher: {what} {info.name!r} is {info.element_type.type_name}, "
                             f"a type numpy lacks, which a batcher cannot stack")
        shape = info.shape if info.has_shape else None
        if not shape:
            raise InputError(f"Batcher: {what} {info.name!r} has "
                             f"{'no declared shape' if shape is None else 'rank 0 (a scalar)'}; "
                             f"{need}")
        if shape[0] not in (_SYMBOLIC, 1):
            raise InputError(f"Batcher: {what} {info.name!r} has shape {list(shape)}, its "
                             f"first dimension is fixed at {shape[0]}; {need}")
        fixed = fixed or shape[0] == 1
    return fixed
