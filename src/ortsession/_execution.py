"""Execution: one run through ORT (its plain ``run``, or an IO binding), outputs converted.

A run takes ORT's plain ``run`` (numpy in, numpy out, the GIL released) unless the feed holds
OrtValues or an output has a type numpy lacks: those go through an IO binding
(:func:`run_bound`). ORT's failures are mapped by ``_engine.Mapped``; the converted outputs are
:class:`Tensor` (cheap wraps of ORT's arrays), lists, dicts or :class:`SparseTensor`.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from . import _engine
from ._capi import CSequence
from ._conversion import type_name
from ._creation import tensor_from_ortvalue
from ._errors import InputError, OptionError, RunError
from ._messages import clean_message
from ._protocols import OrtIOBinding, OrtRunOptions, OrtSession
from ._run_options import RunOptions
from ._tensor import Tensor
from ._types import DTYPE_TO_ELEMENT_TYPE, ElementType, element_type_from_dtype

__all__ = ["bind_input_value", "bindable", "convert_outputs", "copy_into", "has_c_values",
           "has_ortvalues", "ort_run_options", "outputs_from_binding", "run_bound", "run_feed"]

_ORTVALUE: Final = _engine.ORTVALUE
_NDARRAY: Final = np.ndarray
_DTYPE_TO_ET: Final = DTYPE_TO_ELEMENT_TYPE


def ort_run_options(run_options: Any) -> OrtRunOptions:
    """Return ORT's run options of a :class:`RunOptions` given to a call, checked.

    Callers pass ``None`` (the session's default run options) without calling.
    """
    if not isinstance(run_options, RunOptions):
        raise OptionError(f"run_options must be a RunOptions (from ortsession.run_options()), "
                          f"got {type_name(run_options)}")
    ro: OrtRunOptions = run_options._ro
    return ro


def convert_value(value: Any) -> Any:
    """Convert what ORT's ``run`` returned for one output into ortsession values."""
    if type(value) is _NDARRAY:
        et = _DTYPE_TO_ET.get(value.dtype)
        if et is None:
            et = element_type_from_dtype(value.dtype)
            if et is ElementType.STRING and value.dtype.kind != "O":
                return Tensor._wrap(value.astype(object), et)
        return Tensor._wrap(value, et)
    if isinstance(value, list):
        return [convert_value(v) for v in value]
    if isinstance(value, dict):
        return {k: convert_value(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if _engine.is_sparse(value):
        from ._sparse import SparseTensor

        return SparseTensor._from_ort(value)
    return value


def convert_outputs(results: list[Any]) -> list[Any]:
    """Convert the list ORT's ``run`` returned (numpy arrays, lists, dicts, ``None``)."""
    wrap = Tensor._wrap
    ets = _DTYPE_TO_ET
    return [wrap(r, ets[r.dtype]) if type(r) is _NDARRAY and r.dtype in ets
            else convert_value(r) for r in results]


def bindable(value: Any) -> bool:
    """Tell whether ORT's IO binding can take a converted input (non-string tensors only)."""
    if isinstance(value, _NDARRAY):
        return bool(value.dtype.kind != "O")
    return isinstance(value, _ORTVALUE)


def run_bound(sess: OrtSession, feed: dict[str, Any], names: list[str], ro: OrtRunOptions,
              context: str) -> list[Any]:
    """Run through an ORT IO binding (OrtValue inputs, types numpy lacks in outputs)."""
    binding = _engine.io_binding(sess)
    keep = []
    for name, v in feed.items():
        if not bindable(v):
            raise RunError(f"{context}: input {name!r} is a string tensor, sequence or map, "
                           f"which ORT's Python binding cannot pass together with outputs of "
                           f"types numpy lacks (bfloat16, float8, int4 ...); request those "
                           f"outputs in a separate run")
        keep.append(bind_input_value(binding, name, v))
    for name in names:
        binding.bind_output(name, _engine.CPU_DEVICE)
    with _engine.Mapped(context, RunError):
        sess.run_with_iobinding(binding, ro)
    del keep
    return outputs_from_binding(binding)


def has_c_values(feed: dict[str, Any]) -> bool:
    """Tell whether a converted feed holds a sequence only ORT's C API can build."""
    return any(type(v) is CSequence for v in feed.values())


def has_ortvalues(feed: dict[str, Any]) -> bool:
    """Tell whether a converted feed holds an OrtValue (a type numpy lacks, or a device tensor).

    A sequence only ORT's C API can build (:func:`has_c_values`) counts too: neither goes
    through ORT's plain ``run``.
    """
    return any(isinstance(v, (_ORTVALUE, CSequence)) for v in feed.values())


def run_feed(sess: OrtSession, feed: dict[str, Any], names: list[str], ro: OrtRunOptions,
             bound: bool,
             context: str) -> list[Any]:
    """Run with a converted feed: through an IO binding when ``bound``, else ORT's ``run``.

    ``bound`` must be true when the feed holds an OrtValue (:func:`has_ortvalues`) or a
    requested output has a type numpy lacks: ORT's ``run`` handles neither.
    """
    if bound:  # prepare_feed and has_ortvalues flag a C API sequence as an OrtValue
        if has_c_values(feed):
            raise InputError(f"{context}: a sequence of a type numpy lacks is built through "
                             f"ORT's C API, which only Session.run() uses")
        return run_bound(sess, feed, names, ro, context)
    try:  # not a with block: this is the hot path (see _engine.Mapped)
        results = sess.run(names, feed, ro)
    except Exception as exc:
        raise _run_errors(context).error(exc) from exc
    return convert_outputs(results)


_RUN_ERRORS: Final = {context: _engine.Mapped(context, RunError)
                      for context in ("run()", "run_into()", "run_with_iobinding()")}


def _run_errors(context: str) -> _engine.Mapped:
    """Return the error mapping of a run for ``context`` (one shared instance per call name)."""
    return _RUN_ERRORS.get(context) or _engine.Mapped(context, RunError)


def copy_into(target: Any, produced: Any, name: str, context: str) -> None:
    """Copy a produced output into the caller's preallocated tensor or array."""
    arr = target._array if isinstance(target, Tensor) else target
    got = produced.numpy() if isinstance(produced, Tensor) else None
    if got is None or arr is None:
        raise RunError(f"{context}: output {name!r} is not a host tensor and cannot be copied "
                       f"into the preallocated one")
    if got.shape != arr.shape:
        raise RunError(f"{context}: output {name!r} has shape {list(got.shape)}, the "
                       f"preallocated tensor has shape {list(arr.shape)}")
    arr[...] = got


def outputs_from_binding(binding: OrtIOBinding) -> list[Any]:
    """Convert an ORT IO binding's outputs (OrtValues) to ortsession values."""
    ovs = binding.get_outputs()
    values: list[Any] = []
    copied: list[Any] | None = None
    for i in range(len(ovs)):
        ov = ovs[i]
        if not ov.has_value():  # an empty optional (ORT crashes on data_type() of those)
            values.append(None)
            continue
        if ov.is_tensor():
            values.append(tensor_from_ortvalue(ov))
            continue
        if ov.is_sparse_tensor():
            from ._sparse import SparseTensor

            values.append(SparseTensor._from_ort(ov.as_sparse_tensor()))
            continue
        if copied is None:
            try:
                copied = binding.copy_outputs_to_cpu()
            except Exception as exc:
                raise RunError(f"ORT's Python binding cannot return output {i} "
                               f"({ov.data_type()}) together with tensor types numpy lacks: "
                               f"{clean_message(str(exc))}") from None
        values.append(convert_value(copied[i]))
    return values


def bind_input_value(binding: OrtIOBinding, name: str, value: Any) -> Any:
    """Bind a converted input (array, OrtValue, list or dict); arrays are bound by pointer.

    A non-contiguous or misaligned array is first copied into a C-contiguous one (binding the
    original's pointer would make ORT read the wrong elements).

    Returns:
        The array ORT now reads by pointer (the caller must keep it alive as long as the
        binding), or ``None`` when ORT holds its own reference or copy.
    """
    if isinstance(value, _ORTVALUE):
        binding.bind_ortvalue_input(name, value)
        return None
    if not isinstance(value, _NDARRAY) or value.dtype.kind == "O":
        binding.bind_input(name, value)
        return None
    flags = value.flags
    if not (flags.c_contiguous and flags.aligned):
        value = np.array(value, order="C", copy=True)
    binding.bind_input(name, _engine.CPU_DEVICE, value.dtype, list(value.shape),
                       value.ctypes.data)
    return value
