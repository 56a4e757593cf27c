"""Rows through one session: decode, check, batch, run, split — the work of every worker.

A source hands out :class:`Chunk` s (consecutive rows, with their position in the source); a
:class:`Runner` turns one into a :class:`Result`: the outputs of the good rows and one message per
bad row. The same code runs in a local worker process and in a Ray actor, so both engines give the
same answer row for row.

A row is bad — recorded, never fatal — when it cannot be read or decoded, has the wrong shape or a
type that does not convert (numpy's ``same_kind`` casting), holds NaN where refused, or when the
model fails on it. A run that fails on a whole batch is retried row by row, so only the rows that
fail alone are recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ortsession._errors import InputError, OrtError, RunError, TensorError, TerminatedError
from ortsession._run_options import RunOptions
from ortsession._session import Session
from ortsession._tensor import Tensor

from ._images import read_image
from ._plan import InputPlan, Plan

__all__ = ["Chunk", "Result", "Runner"]


@dataclass
class Chunk:
    """Consecutive rows of a source, ``start`` to ``start + count - 1``.

    ``columns`` maps a column name to an array whose first dimension is the row, or to a list of
    per-row values (nested lists, arrays, ``None`` for a missing value). ``kind`` says what still
    has to be decoded in the worker: ``"values"`` (nothing), ``"jsonl"`` (``columns["lines"]``
    holds the raw lines) or ``"images"`` (the image column holds file paths).
    """

    start: int
    count: int
    columns: dict[str, Any]
    kind: str = "values"
    errors: dict[int, str] = field(default_factory=dict)
    """Rows already known bad (position in the chunk → message)."""


@dataclass
class Result:
    """What a chunk gave: the good rows' ids and outputs, and the bad rows' messages."""

    start: int
    count: int
    row_ids: np.ndarray[Any, Any]
    """Source positions of the good rows, ascending (int64)."""
    outputs: dict[str, np.ndarray[Any, Any]]
    """Output name → array whose first dimension matches ``row_ids``."""
    errors: list[tuple[int, str]]
    """``(row id, message)`` of each bad row, ascending."""
    node: str = ""
    """The Ray node that computed it (empty for the local engine)."""


_ROW_ERRORS = (InputError, RunError, TensorError)
"""Failures of one run that make its rows bad rows (others stop the job)."""


def _fits(shape: Sequence[int], expected: Sequence[int]) -> bool:
    return len(shape) == len(expected) and all(e < 0 or s == e for s, e in zip(shape, expected))


def _dims(shape: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) if d >= 0 else "?" for d in shape) + "]"


def _reshaped(shape: tuple[int, ...], expected: tuple[int, ...]) -> tuple[int, ...] | None:
    """Return the row shape to use for data of ``shape``, or ``None`` if it does not fit.

    Accepted besides an exact fit: flat data (rank 0 or 1, e.g. a fixed-size list column) with
    as many elements as a fully fixed ``expected``, and one extra leading dimension of 1.
    """
    if _fits(shape, expected):
        return shape
    if len(shape) <= 1 and all(d >= 0 for d in expected) and \
            int(np.prod(shape, dtype=np.int64)) == int(np.prod(expected, dtype=np.int64)):
        return expected
    if len(shape) == len(expected) + 1 and shape[0] == 1 and _fits(shape[1:], expected):
        return shape[1:]
    return None


def _cast(array: np.ndarray[Any, Any], inp: InputPlan) -> np.ndarray[Any, Any]:
    """``array`` as ``inp.dtype``; ``TypeError`` if numpy's ``same_kind`` rule forbids it."""
    if array.dtype == inp.dtype:
        return array
    if inp.dtype == object:
        if array.dtype.kind in "USO":
            return array.astype(object)
    elif np.can_cast(array.dtype, inp.dtype, "same_kind"):
        return array.astype(inp.dtype)
    raise TypeError(f"input {inp.name!r} (column {inp.column!r}): expected {inp.data_type} "
                    f"values, got {array.dtype}")


def _has_nan(array: np.ndarray[Any, Any], rows: int) -> np.ndarray[Any, Any]:
    if array.dtype.kind != "f" or array.size == 0:
        return np.zeros(rows, dtype=bool)
    return np.asarray(np.isnan(array.reshape(rows, -1)).any(axis=1))


class _Column:
    """One input's rows, checked: a dense array (fast path) or a list of per-row arrays."""

    def __init__(self, inp: InputPlan, values: Any, count: int, refuse_nan: bool,
                 errors: dict[int, str]) -> None:
        self.dense: np.ndarray[Any, Any] | None = None
        self.rows: list[np.ndarray[Any, Any] | None] = []
        if isinstance(values, np.ndarray) and values.dtype != object and values.ndim >= 1:
            self._dense(inp, values, count, refuse_nan, errors)
        else:
            self._rows(inp, values, count, refuse_nan, errors)

    def _dense(self, inp: InputPlan, values: np.ndarray[Any, Any], count: int, refuse_nan: bool,
               errors: dict[int, str]) -> None:
        try:
            values = _cast(values, inp)
        except TypeError as exc:
            for i in range(count):
                errors.setdefault(i, str(exc))
            return
        shape = _reshaped(tuple(values.shape[1:]), inp.row_shape)
        if shape is None:
            message = (f"input {inp.name!r} (column {inp.column!r}): expected a row of shape "
                       f"{_dims(inp.row_shape)}, got {list(values.shape[1:])}")
            for i in range(count):
                errors.setdefault(i, message)
            return
        self.dense = values.reshape((count, *shape))
        if refuse_nan:
            for row in np.flatnonzero(_has_nan(self.dense, count)):
                errors.setdefault(int(row), f"input {inp.name!r} (column {inp.column!r}): NaN "
                                          f"refused")

    def _rows(self, inp: InputPlan, values: Any, count: int, refuse_nan: bool,
              errors: dict[int, str]) -> None:
        rows: list[np.ndarray[Any, Any] | None] = [None] * count
        for i, value in enumerate(values):
            if i in errors:
                continue
            try:
                if value is None:
                    raise ValueError("missing value")
                array = np.asarray(value)
                if array.dtype == object and inp.dtype != object:
                    array = np.asarray(value, dtype=inp.dtype)
                array = _cast(array, inp)
                shape = _reshaped(tuple(array.shape), inp.row_shape)
                if shape is None:
                    raise ValueError(f"expected a row of shape {_dims(inp.row_shape)}, got "
                                     f"{list(array.shape)}")
                array = array.reshape(shape)
                if refuse_nan and _has_nan(array, 1)[0]:
                    raise ValueError("NaN refused")
            except (TypeError, ValueError, OverflowError) as exc:
                text = str(exc)
                if not text.startswith("input "):
                    text = f"input {inp.name!r} (column {inp.column!r}): {text}"
                errors[i] = text
                continue
            rows[i] = array
        self.rows = rows

    def shape(self, i: int) -> tuple[int, ...]:
        if self.dense is not None:
            return tuple(self.dense.shape[1:])
        row = self.rows[i]
        return () if row is None else tuple(row.shape)

    def take(self, idx: Sequence[int]) -> np.ndarray[Any, Any]:
        """Return the rows ``idx`` stacked along a new first dimension."""
        if self.dense is not None:
            if isinstance(idx, range):
                return self.dense[idx.start:idx.stop]
            return self.dense[list(idx)]
        return np.stack([self.rows[i] for i in idx])  # type: ignore[misc]


def _decode(chunk: Chunk, plan: Plan) -> dict[str, Any]:
    """Return the chunk's columns, JSON lines parsed and images decoded (failures recorded)."""
    if chunk.kind == "jsonl":
        columns: dict[str, list[Any]] = {c: [None] * chunk.count for c in plan.columns}
        for i, line in enumerate(chunk.columns["lines"]):
            try:
                record = json.loads(line)
            except ValueError as exc:
                chunk.errors[i] = f"line is not valid JSON: {exc}"
                continue
            if not isinstance(record, dict):
                chunk.errors[i] = f"line is not a JSON object: {type(record).__name__}"
                continue
            for column in plan.columns:
                if column not in record:
                    chunk.errors.setdefault(i, f"row has no field {column!r}")
                columns[column][i] = record.get(column)
        return columns
    if chunk.kind == "images":
        decoded = dict(chunk.columns)
        for inp in plan.inputs:
            if inp.image is None:
                continue
            images: list[Any] = [None] * chunk.count
            for i, path in enumerate(chunk.columns[inp.column]):
                try:
                    images[i] = read_image(path, inp.image)
                except (OSError, ValueError, SyntaxError) as exc:
                    chunk.errors[i] = f"cannot decode image {path!r}: {exc}"
            decoded[inp.column] = images
        return decoded
    return chunk.columns


Alloc = Callable[[list[tuple[str, tuple[int, ...], np.dtype[Any]]]],
                 "dict[str, np.ndarray[Any, Any]] | None"]
"""Where a chunk's outputs go: given ``(name, shape, dtype)`` of each output (the whole chunk's
rows), the arrays to write them to, or ``None`` for new arrays (see :meth:`Runner.run_chunk`)."""

_STAGE_BYTES = 16 << 10
"""Batches of at most this many input bytes are copied into buffers bound once to the session
(``Session.run_into``): cheaper than a ``run`` call for small batches, dearer for big ones."""


class _FallbackError(Exception):
    """The fast path met something only the general path handles (it reruns the chunk)."""


class Runner:
    """Runs chunks through one session with one plan.

    Every run uses ``run_options`` when given: terminating them (Ctrl-C) stops the chunk in
    hand with :class:`~ortsession.TerminatedError` (never a bad row).
    """

    def __init__(self, session: Session, plan: Plan, run_options: RunOptions | None = None,
                 ) -> None:
        self.session = session
        self.plan = plan
        self.run_options = run_options
        everything = list(plan.outputs) == session.output_names()
        self._names = None if everything else list(plan.outputs)
        self._stage: tuple[list[np.ndarray[Any, Any]], dict[str, Any], dict[str, Tensor],
                           list[np.ndarray[Any, Any]]] | None = None
        self._stage_tried = False

    def run_chunk(self, chunk: Chunk, alloc: Alloc | None = None) -> Result:
        """Check, batch and run the rows of ``chunk``; see the module docstring.

        ``alloc`` may provide the arrays the outputs are written to (shared memory); it is
        called at most once, with the shapes of the whole chunk's outputs, when every row is
        good and dense. Otherwise the result holds new arrays.
        """
        plan = self.plan
        count = chunk.count
        errors = dict(chunk.errors)
        values = _decode(chunk, plan)
        errors.update(chunk.errors)
        columns = [_Column(inp, values[inp.column], count, inp.name in plan.refuse_nan, errors)
                   for inp in plan.inputs]
        if not errors and plan.batch is not None and count and \
                all(c.dense is not None for c in columns):
            try:
                dense = self._run_dense(count, columns, alloc)
            except TerminatedError:
                raise  # Ctrl-C: the job stops, the rows are not bad
            except (_FallbackError, *_ROW_ERRORS):
                pass  # the general path below isolates the failing rows
            else:
                return Result(chunk.start, count,
                              np.arange(chunk.start, chunk.start + count, dtype=np.int64),
                              dense, [])
        good = [i for i in range(count) if i not in errors] if errors else range(count)
        done: list[Sequence[int]] = []
        parts: dict[str, list[np.ndarray[Any, Any]]] = {name: [] for name in plan.outputs}
        for group in self._groups(good, columns):
            for idx, outputs in self._run_group(group, columns, errors):
                done.append(idx)
                for name, array in zip(plan.outputs, outputs):
                    parts[name].append(array)
        if not errors:
            row_ids = np.arange(chunk.start, chunk.start + count, dtype=np.int64)
        else:
            ids = [np.asarray(idx, dtype=np.int64) for idx in done]
            row_ids = chunk.start + (np.concatenate(ids) if ids else np.empty(0, dtype=np.int64))
        result = {name: self._join(name, arrays, plan.batch is None) if arrays else np.empty((0,))
                  for name, arrays in parts.items()}
        return Result(chunk.start, count, row_ids, result,
                      [(chunk.start + i, errors[i]) for i in sorted(errors)])

    def _run_dense(self, count: int, columns: list[_Column], alloc: Alloc | None,
                   ) -> dict[str, np.ndarray[Any, Any]]:
        """Run a chunk of good dense rows, writing each batch's outputs into the chunk's arrays.

        Full batches go through :meth:`_run_staged` once the first one has shown the outputs'
        shapes (when the batch is small); the others through :meth:`_run`. Raises
        :class:`_FallbackError` (or a row error) for the general path to take over.
        """
        step = self.plan.batch_size
        names = self.plan.outputs
        outs: list[np.ndarray[Any, Any]] = []
        for at in range(0, count, step):
            n = min(step, count - at)
            if n == step and self._stage is not None:
                arrays = self._run_staged(columns, at, n)
            else:
                arrays = self._run(range(at, at + n), columns)
                if n == step and not self._stage_tried:
                    self._stage_tried = True
                    self._make_stage(columns, arrays)
            if not outs:
                wanted = [(name, (count, *a.shape[1:]), a.dtype) for name, a in zip(names, arrays)]
                given = alloc(wanted) if alloc is not None else None
                outs = ([given[name] for name in names] if given is not None
                        else [np.empty(shape, dtype) for _, shape, dtype in wanted])
            for out, array in zip(outs, arrays):
                if out.shape[1:] != array.shape[1:] or out.dtype != array.dtype:
                    raise _FallbackError  # rows of other shapes: the general path says which
                out[at:at + n] = array
        return dict(zip(names, outs))

    def _make_stage(self, columns: list[_Column], arrays: list[np.ndarray[Any, Any]]) -> None:
        """Bind input and output buffers of one full batch to the session, if it pays."""
        step = self.plan.batch_size
        dense = [c.dense for c in columns]
        if sum(d[:step].nbytes for d in dense if d is not None) > _STAGE_BYTES:
            return
        if any(a.dtype.kind not in "biuf" for a in arrays) or \
                any(d is None or d.dtype.kind not in "biuf" for d in dense):
            return
        inputs = [np.array(d[:step]) for d in dense if d is not None]  # a real batch
        outputs = [np.empty(a.shape, a.dtype) for a in arrays]
        feeds = {inp.name: buf for inp, buf in zip(self.plan.inputs, inputs)}
        bound = {name: Tensor(buf) for name, buf in zip(self.plan.outputs, outputs)}
        try:
            self.session.run_into(feeds, bound, self.run_options)
        except TerminatedError:
            raise
        except OrtError:
            return  # not bindable: keep running batches with run()
        self._stage = (inputs, feeds, bound, outputs)

    def _run_staged(self, columns: list[_Column], at: int, n: int) -> list[np.ndarray[Any, Any]]:
        """Copy rows ``at`` to ``at + n`` into the bound buffers and run; return the outputs.

        The arrays returned are the bound output buffers: read them before the next run.
        """
        assert self._stage is not None
        inputs, feeds, bound, outputs = self._stage
        for buf, column in zip(inputs, columns):
            np.copyto(buf, column.dense[at:at + n])  # type: ignore[index]
        self.session.run_into(feeds, bound, self.run_options)
        return outputs

    @staticmethod
    def _join(name: str, arrays: list[np.ndarray[Any, Any]], per_row: bool) -> np.ndarray[Any, Any]:
        try:
            return np.stack(arrays) if per_row else np.concatenate(arrays)
        except ValueError:
            shapes = sorted({str(list(a.shape[0 if per_row else 1:])) for a in arrays})
            raise OrtError(f"output {name!r} has rows of different shapes ({', '.join(shapes)}): "
                           f"batch inference writes outputs of one shape per row") from None

    @staticmethod
    def _groups(good: Sequence[int], columns: list[_Column]) -> Iterator[Sequence[int]]:
        """Yield runs of good rows that can share a batch.

        Dense columns: runs of consecutive rows, as ranges. Row lists: runs of rows whose inputs
        have the same shapes.
        """
        if isinstance(good, range):
            if good:
                yield good
            return
        dense = all(c.dense is not None for c in columns)
        group: list[int] = []
        key: Any = None
        for i in good:
            k = i if dense else tuple(c.shape(i) for c in columns)
            if group and (k != key + 1 if dense else k != key):
                yield range(group[0], group[-1] + 1) if dense else group
                group = []
            group.append(i)
            key = k
        if group:
            yield range(group[0], group[-1] + 1) if dense else group

    def _run_group(self, group: Sequence[int], columns: list[_Column], errors: dict[int, str],
                   ) -> Iterator[tuple[Sequence[int], list[np.ndarray[Any, Any]]]]:
        step = self.plan.batch_size
        for at in range(0, len(group), step):
            idx = group[at:at + step]
            try:
                yield idx, self._run(idx, columns)
            except TerminatedError:
                raise
            except _ROW_ERRORS as exc:
                if len(idx) == 1:
                    errors[idx[0]] = str(exc)
                    continue
                for i in idx:  # find the rows that fail on their own
                    try:
                        yield [i], self._run([i], columns)
                    except TerminatedError:
                        raise
                    except _ROW_ERRORS as one:
                        errors[i] = str(one)

    def _run(self, idx: Sequence[int], columns: list[_Column]) -> list[np.ndarray[Any, Any]]:
        plan = self.plan
        rows = len(idx)
        feeds = {}
        for inp, column in zip(plan.inputs, columns):
            batch = column.take(idx)
            if plan.batch is None:
                batch = batch[0]
            elif plan.batch > rows:
                pad = np.repeat(batch[-1:], plan.batch - rows, axis=0)
                batch = np.concatenate([batch, pad])
            feeds[inp.name] = batch
        outputs = self.session.run(feeds, self._names, self.run_options)
        if plan.batch is None:
            return [value.numpy() for value in outputs]
        expected = max(plan.batch, rows)
        arrays = []
        for name, value in zip(plan.outputs, outputs):
            array = value.numpy()
            if array.ndim == 0 or array.shape[0] != expected:
                raise OrtError(f"output {name!r} has shape {list(array.shape)}: expected the "
                               f"batch dimension first ({expected} rows)")
            arrays.append(array if expected == rows else array[:rows])
        return arrays
