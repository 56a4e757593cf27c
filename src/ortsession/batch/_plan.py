"""What a batch job feeds to the model and how: the plan, decided once from the model's signature.

A :class:`Plan` says, for each model input, which source column feeds it, its element type and the
shape of one row; which outputs are written; and how rows are grouped:

* ``batch == 0``: every input's first dimension is free — rows are stacked along it, up to
  ``batch_size`` at a time, the last batch of a run runs short;
* ``batch == B > 0``: every input has rank 2 or more with its first dimension fixed at ``B``, and
  every output's first dimension is ``B`` or free (typically a model exported with batch 1) —
  batches of exactly ``B`` rows, the last one padded (the padding rows' outputs are dropped);
* ``batch is None``: no batch dimension — one run per row, a row is the whole input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ortsession._errors import OptionError
from ortsession._session import Session
from ortsession._typeinfo import TypeInfo

from ._images import image_options

__all__ = ["InputPlan", "Plan", "SourceError", "make_plan"]


class SourceError(OptionError):
    """The data source cannot be read, or does not fit the model (a missing column, a bad file).

    A subclass of :class:`ortsession.OptionError` (a ``ValueError``): the job cannot start. Bad
    *rows* never raise it; they go to the errors table.
    """


@dataclass(frozen=True)
class InputPlan:
    """One model input: where its rows come from and what one row must look like."""

    name: str
    """The model input's name."""
    column: str
    """The source column that feeds it."""
    data_type: str
    """The input's element type name (``"float32"``)."""
    dtype: np.dtype[Any]
    """The numpy dtype rows are converted to."""
    row_shape: tuple[int, ...]
    """The shape of one row (the input's shape without the batch dimension); ``-1`` is free."""
    image: Mapping[str, Any] | None = None
    """Image options when the column holds image files (see ``_images.image_options``)."""


@dataclass(frozen=True)
class Plan:
    """How the rows of a source are fed to the model; see the module docstring."""

    inputs: tuple[InputPlan, ...]
    """The model inputs, in model order."""
    outputs: tuple[str, ...]
    """The outputs written, in model order."""
    batch: int | None
    """``0``: free batch dimension; ``B``: fixed at ``B`` (padded); ``None``: one row per run."""
    batch_size: int
    """Rows per run (``1`` without a batch dimension, ``B`` when it is fixed)."""
    refuse_nan: frozenset[str]
    """Inputs for which a row holding NaN is a bad row."""

    @property
    def columns(self) -> list[str]:
        """Return the source columns read, without repeats."""
        return list(dict.fromkeys(i.column for i in self.inputs))

    def row_nbytes(self) -> int:
        """Estimate one row's input size in bytes (free dimensions count as 64)."""
        total = 0
        for inp in self.inputs:
            count = int(np.prod([d if d > 0 else 64 for d in inp.row_shape], dtype=np.int64))
            total += count * max(inp.dtype.itemsize, 8 if inp.dtype == object else 1)
        return max(total, 1)


def _batch_of(inputs: Sequence[TypeInfo], outputs: Sequence[TypeInfo]) -> int | None:
    """``0``, ``B`` or ``None``: see :class:`Plan`'s ``batch``."""
    firsts = [i.shape[0] for i in inputs if i.shape]
    if not inputs or len(firsts) != len(inputs):
        return None
    if all(d < 0 for d in firsts):
        return 0
    if len(set(firsts)) == 1 and firsts[0] > 0 and all(len(i.shape or ()) >= 2 for i in inputs):
        size = firsts[0]
        if all(o.shape and o.shape[0] in (size, -1) for o in outputs):
            return size
    return None


def _normal(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _map_columns(inputs: Sequence[str], columns: Sequence[str],
                 given: Mapping[str, str] | None) -> dict[str, str]:
    """Map each input name to a column.

    ``given`` first, then equal names, equal names ignoring case and punctuation, and finally
    the one input left with the one column left.
    """
    mapping: dict[str, str] = {}
    for name, column in (given or {}).items():
        if name not in inputs:
            raise OptionError(f"input_map: the model has no input {name!r}; its inputs are "
                              f"{', '.join(inputs)}")
        if column not in columns:
            raise SourceError(f"input_map: input {name!r} is mapped to column {column!r}, which "
                              f"the source does not have; its columns are "
                              f"{', '.join(columns) or '(none)'}")
        mapping[name] = column
    free = [c for c in columns if c not in mapping.values()]
    for name in inputs:
        if name in mapping:
            continue
        if name in free:
            mapping[name] = name
        else:
            close = [c for c in free if _normal(c) == _normal(name)]
            if len(close) == 1:
                mapping[name] = close[0]
        if name in mapping:
            free.remove(mapping[name])
    missing = [n for n in inputs if n not in mapping]
    if len(missing) == 1 and len(free) == 1:
        mapping[missing[0]] = free[0]
        missing = []
    if missing:
        raise SourceError(
            f"no source column for model input{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}; the source's columns are "
            f"{', '.join(map(repr, columns)) or '(none)'}: name a column after the input, or "
            f"give input_map={{{missing[0]!r}: 'column'}} (CLI: --map {missing[0]}=COLUMN)")
    return mapping


def make_plan(session: Session, columns: Sequence[str], *, image_column: str | None = None,
              image: Mapping[str, Any] | None = None, input_map: Mapping[str, str] | None = None,
              outputs: Iterable[str] | None = None, batch_size: int | None = None,
              refuse_nan: bool | Iterable[str] = False) -> Plan:
    """Decide the plan of a job over a source with ``columns``.

    Raises:
        OptionError: a bad argument (unknown output or input name, a batch size the model's
            fixed batch dimension contradicts, non-tensor inputs or outputs).
        SourceError: a model input has no column.
    """
    input_infos = [session.input_info(n) for n in session.input_names()]
    output_infos = [session.output_info(n) for n in session.output_names()]
    for info in input_infos:
        if info.onnx_type != "tensor":
            raise OptionError(f"model input {info.name!r} is a {info.type}: batch inference "
                              f"feeds dense tensors only")
    tensor_outputs = [o.name for o in output_infos if o.onnx_type == "tensor" and o.name]
    if outputs is None:
        chosen = tensor_outputs
        if not chosen:
            raise OptionError("the model has no tensor output: batch inference writes tensors")
    else:
        wanted = list(outputs)
        for name in wanted:
            if name not in session.output_names():
                raise OptionError(f"outputs: the model has no output {name!r}; its outputs are "
                                  f"{', '.join(session.output_names())}")
            if name not in tensor_outputs:
                raise OptionError(f"outputs: output {name!r} is a "
                                  f"{session.output_info(name).type}, not a tensor")
        chosen = [n for n in tensor_outputs if n in wanted]
    batch = _batch_of(input_infos, [session.output_info(n) for n in chosen])
    if batch is None:
        size = 1
    elif batch > 0:
        if batch_size is not None and batch_size != batch:
            raise OptionError(f"batch_size={batch_size}: the model fixes its batch dimension at "
                              f"{batch}; leave batch_size out")
        size = batch
    else:
        size = 64 if batch_size is None else batch_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise OptionError(f"batch_size: expected a positive integer, got {batch_size!r}")
    names = [str(i.name) for i in input_infos]
    mapping = _map_columns(names, columns, input_map)
    if refuse_nan is True:
        nan = frozenset(names)
    elif refuse_nan is False:
        nan = frozenset()
    else:
        nan = frozenset(refuse_nan)
        for name in nan:
            if name not in names:
                raise OptionError(f"refuse_nan: the model has no input {name!r}; its inputs are "
                                  f"{', '.join(names)}")
    plans = []
    for info in input_infos:
        shape = tuple(info.shape or ()) if info.has_shape else ()
        row_shape = shape[1:] if batch is not None else shape
        element = info.element_type
        if element is None:
            raise OptionError(f"model input {info.name!r}: unknown element type {info.type}")
        column = mapping[str(info.name)]
        opts = image_options(image, shape, str(info.data_type)) if column == image_column else None
        plans.append(InputPlan(str(info.name), column, str(info.data_type), element.dtype,
                               row_shape, opts))
    return Plan(tuple(plans), tuple(chosen), batch, size, nan)
