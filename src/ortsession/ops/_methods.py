"""Tensor methods and module helpers: indexing, shape changes, arithmetic, reductions, sorting.

Python forms of the Lua module's tensor methods (``t:slice(...)`` is ``ops.slice(t, ...)``):
0-based positions, ``stop`` exclusive, numpy arrays in and out. Functions that change a tensor
(:func:`set`, :func:`fill`, :func:`copy_from_bytes`) change the array given and return it; the
others return new arrays.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ortsession._errors import TensorError

from ._common import Array, as_array, axis_of, dtype_of, index_text, shape_text, show

__all__ = [
    "Sorted", "add", "argmax", "clamp", "clone", "concat", "copy_from_bytes", "div", "dot",
    "exp", "fill", "flatten", "gather", "get", "info", "matmul", "max", "mean", "min", "mul",
    "normalize", "reshape", "select", "set", "sigmoid", "slice", "softmax", "sort", "squeeze",
    "stack", "sub", "sum", "to", "topk", "transpose", "unsqueeze", "where",
]


class Sorted(NamedTuple):
    """Result of :func:`sort` and :func:`topk`: values and their int64 positions on the axis."""

    values: Array
    """The sorted (or top-k) values."""
    indices: Array
    """Their 0-based positions along the axis (int64)."""


def info(t: Any) -> dict[str, Any]:
    """Return ``{"shape", "rank", "size", "type"}`` of a tensor (``type``: element type name)."""
    a = as_array(t, "tensor", numeric=False)
    kind = "string" if a.dtype.kind in "OUS" else _et_name(a.dtype)
    return {"shape": list(a.shape), "rank": a.ndim, "size": int(a.size), "type": kind}


def _et_name(dtype: np.dtype[Any]) -> str:
    from ortsession._types import element_type_from_dtype

    return element_type_from_dtype(dtype).type_name


def _position(a: Array, index: Sequence[Any], what: str) -> tuple[int, ...]:
    if len(index) != a.ndim:
        raise TensorError(f"{what}: expected {a.ndim} indices for a tensor of shape "
                          f"{shape_text(a.shape)}, got {len(index)}")
    out = []
    for d, (raw, n) in enumerate(zip(index, a.shape)):
        i = int(raw) if isinstance(raw, float) and raw.is_integer() else raw
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TensorError(f"{what}: index {d + 1} must be an integer, got {show(i)}")
        if not 0 <= i < n:
            raise TensorError(f"{what}: index {index_text(int(i))} out of range for dimension "
                              f"{d + 1} of size {n} (shape {shape_text(a.shape)})")
        out.append(int(i))
    return tuple(out)


def _fit(value: Any, dtype: np.dtype[Any], what: str) -> None:
    """Refuse values an integer or bool array cannot hold exactly (NaN, 1.5, out of range)."""
    if dtype.kind not in "iub":
        return
    try:
        v = np.asarray(value)
    except ValueError:
        return
    if v.dtype.kind == "f":
        bad = ~np.isfinite(v) | (v != np.trunc(v))
        if dtype.kind != "b":
            info = np.iinfo(dtype)
            bad |= (v < info.min) | (v > info.max)
        else:
            bad |= (v != 0) & (v != 1)
        if bad.any():
            shown = show(v.reshape(-1)[int(np.argmax(bad.reshape(-1)))].item())
            raise TensorError(f"{what}: {shown} does not fit a {_et_name(dtype)} tensor")
    elif v.dtype.kind in "iu" and dtype.kind in "iu":
        info = np.iinfo(dtype)
        if v.size and (v.min() < info.min or v.max() > info.max):
            raise TensorError(f"{what}: a value out of range for a {_et_name(dtype)} tensor")


def get(t: Any, *index: int) -> Any:
    """Return the element at ``index`` (one 0-based index per dimension) as a Python value."""
    a = as_array(t, "tensor", numeric=False)
    value = a[_position(a, index, "get")]
    return value.item() if isinstance(value, np.generic) else value


def set(t: Any, *index_and_value: Any) -> Array:
    """Set the element at the 0-based ``index`` (all but the last argument) to the last one.

    Changes the array in place and returns it.
    """
    a = as_array(t, "tensor", numeric=False)
    if not index_and_value:
        raise TensorError("set: expected indices and a value")
    *index, value = index_and_value
    pos = _position(a, index, "set")
    _fit(value, a.dtype, "set")
    try:
        a[pos] = value
    except (TypeError, ValueError, OverflowError) as exc:
        raise TensorError(f"set: {show(value)} does not fit a {_et_name(a.dtype)} "
                          f"tensor") from exc
    return a


def fill(t: Any, value: Any) -> Array:
    """Fill the array in place with one value or a flat sequence of exactly ``size`` values."""
    a = as_array(t, "tensor", numeric=False)
    _fit(value, a.dtype, "fill")
    try:
        if isinstance(value, (list, tuple, np.ndarray)):
            flat = np.asarray(value, dtype=a.dtype).reshape(-1)
            if flat.size != a.size:
                raise TensorError(f"fill: a table of values must have one value per element "
                                  f"({a.size} for shape {shape_text(a.shape)}), got "
                                  f"{flat.size}")
            a.reshape(-1)[...] = flat
        else:
            a[...] = value
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, TensorError):
            raise
        raise TensorError(f"fill: {show(value)} does not fit a {_et_name(a.dtype)} "
                          f"tensor") from exc
    return a


def clone(t: Any) -> Array:
    """Return a copy."""
    return np.array(as_array(t, "tensor", numeric=False))


def copy_from_bytes(t: Any, data: bytes) -> Array:
    """Overwrite the array's data in place with raw bytes (exactly ``nbytes`` of them)."""
    a = as_array(t, "tensor", numeric=False)
    if a.dtype.kind in "OUS":
        raise TensorError("copy_from_bytes: string tensors have no byte form")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TensorError(f"copy_from_bytes: expected bytes, got {show(data)}")
    if len(data) != a.nbytes:
        raise TensorError(f"copy_from_bytes: expected {a.nbytes} bytes for a "
                          f"{_et_name(a.dtype)} tensor of shape {shape_text(a.shape)}, got "
                          f"{len(data)}")
    a.reshape(-1).view(np.uint8)[...] = np.frombuffer(data, dtype=np.uint8)
    return a


def to(t: Any, type: str) -> Array:
    """Convert to another element type (numpy's casting; strings convert only to strings)."""
    a = as_array(t, "tensor", numeric=False)
    dt = dtype_of(type)
    is_str, want_str = a.dtype.kind in "OUS", dt.kind in "OUS"
    if is_str != want_str:
        raise TensorError(f"to: cannot convert a {_et_name(a.dtype)} tensor to {type}; "
                          "string tensors convert only to string")
    return a.astype(dt)


def reshape(t: Any, shape: Sequence[int]) -> Array:
    """Return the data with a new shape (one dimension may be -1); same element count."""
    a = as_array(t, "tensor", numeric=False)
    ok = isinstance(shape, (list, tuple)) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in shape)
    dims = [int(d) for d in shape] if ok else None
    if dims is None or any(d < -1 for d in dims) or dims.count(-1) > 1:
        raise TensorError(f"reshape: expected a shape table of sizes (one may be -1), got "
                          f"{show(shape)}")
    known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
    if -1 in dims:
        if known == 0 or a.size % known:
            raise TensorError(f"reshape: cannot infer -1 in {shape_text(dims)} from "
                              f"{a.size} elements")
        dims[dims.index(-1)] = a.size // known
    elif known != a.size:
        raise TensorError(f"reshape: shape {shape_text(dims)} holds {known} elements, the "
                          f"tensor has {a.size} (shape {shape_text(a.shape)})")
    return np.array(a.reshape(dims))


def transpose(t: Any, axes: Sequence[int] | None = None) -> Array:
    """Permute the dimensions (reverse them when ``axes`` is omitted)."""
    a = as_array(t, "tensor", numeric=False)
    if axes is not None:
        if not isinstance(axes, (list, tuple)):
            raise TensorError(f"transpose: axes must be a list of dimensions, got {show(axes)}")
        ax = [axis_of(x, a.ndim, "transpose: axis") for x in axes]
        if sorted(ax) != list(range(a.ndim)):
            raise TensorError(f"transpose: axes must be a permutation of the {a.ndim} "
                              f"dimensions, got {show(list(axes))}")
        return np.ascontiguousarray(a.transpose(ax))
    return np.ascontiguousarray(a.T)


def flatten(t: Any, start_dim: int = 0, end_dim: int = -1) -> Array:
    """Merge dimensions ``start_dim..end_dim`` (inclusive) into one."""
    a = as_array(t, "tensor", numeric=False)
    if a.ndim == 0:
        return np.array(a.reshape(1))
    s = axis_of(start_dim, a.ndim, "flatten: start_dim")
    e = axis_of(end_dim, a.ndim, "flatten: end_dim")
    if e < s:
        raise TensorError(f"flatten: end_dim {index_text(e)} comes before start_dim "
                          f"{index_text(s)}")
    shape = (*a.shape[:s], int(np.prod(a.shape[s:e + 1], dtype=np.int64)), *a.shape[e + 1:])
    return np.array(a.reshape(shape))


def squeeze(t: Any, dim: int | None = None) -> Array:
    """Drop dimension ``dim`` (it must have size 1), or every size-1 dimension."""
    a = as_array(t, "tensor", numeric=False)
    if dim is None:
        return np.array(np.squeeze(a))
    d = axis_of(dim, a.ndim, "squeeze: dim")
    if a.shape[d] != 1:
        raise TensorError(f"squeeze: dimension {index_text(d)} has size {a.shape[d]}, not 1 "
                          f"(shape {shape_text(a.shape)})")
    return np.array(np.squeeze(a, axis=d))


def unsqueeze(t: Any, dim: int) -> Array:
    """Insert a size-1 dimension at position ``dim`` (0..rank)."""
    a = as_array(t, "tensor", numeric=False)
    d = axis_of(dim, a.ndim + 1, "unsqueeze: dim")
    return np.array(np.expand_dims(a, d))


def slice(t: Any, dim: int, start: int, stop: int, step: int = 1) -> Array:
    """Take ``start:stop:step`` (0-based, ``stop`` exclusive, positive step) along ``dim``."""
    a = as_array(t, "tensor", numeric=False)
    d = axis_of(dim, a.ndim, "slice: dim")
    n = a.shape[d]
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TensorError(f"slice: {name} must be an integer, got {show(v)}")
    if step <= 0:
        raise TensorError(f"slice: step must be positive, got {step}")
    if not 0 <= start < n or not start <= stop <= n:
        raise TensorError(f"slice: range {index_text(start)}..{stop} out of bounds "
                          f"for dimension {index_text(d)} of size {n}")
    index = [builtins.slice(None)] * a.ndim
    index[d] = builtins.slice(start, stop, step)
    return np.ascontiguousarray(a[tuple(index)])


def select(t: Any, dim: int, index: int) -> Array:
    """Take position ``index`` along ``dim``, dropping the dimension."""
    a = as_array(t, "tensor", numeric=False)
    d = axis_of(dim, a.ndim, "select: dim")
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TensorError(f"select: index must be an integer, got {show(index)}")
    if not 0 <= index < a.shape[d]:
        raise TensorError(f"select: index {index_text(int(index))} out of range for dimension "
                          f"{index_text(d)} of size {a.shape[d]}")
    return np.ascontiguousarray(np.take(a, int(index), axis=d))


def gather(t: Any, dim: int, indices: Any) -> Array:
    """Take the positions ``indices`` (a sequence or 1-D array, 0-based) along ``dim``."""
    a = as_array(t, "tensor", numeric=False)
    d = axis_of(dim, a.ndim, "gather: dim")
    idx = as_array(indices, "gather: indices", ndim=(0, 1))
    if idx.dtype.kind not in "iu" and idx.size and (
            idx.dtype.kind != "f" or not np.all(np.mod(idx, 1) == 0)):
        raise TensorError(f"gather: indices must be integers, got {show(idx)}")
    idx = idx.astype(np.int64).reshape(-1)
    bad = (idx < 0) | (idx >= a.shape[d])
    if bad.any():
        first = int(idx[np.argmax(bad)])
        raise TensorError(f"gather: index {index_text(first)} out of range for dimension "
                          f"{index_text(d)} of size {a.shape[d]}")
    return np.ascontiguousarray(np.take(a, idx, axis=d))


def _operand(b: Any, a: Array, what: str) -> Any:
    if isinstance(b, (int, float, np.number)) and not isinstance(b, (bool, np.bool_)):
        return b
    arr = as_array(b, f"{what}: other")
    if arr.shape != a.shape:
        raise TensorError(f"{what}: other must be a number or a tensor of the same shape "
                          f"{shape_text(a.shape)}, got shape {shape_text(arr.shape)}")
    return arr


def _arith(op: Any, t: Any, other: Any, what: str) -> Array:
    a = as_array(t, "tensor")
    b = _operand(other, a, what)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.asarray(op(a, b))


def add(t: Any, other: Any) -> Array:
    """Return ``t + other`` (a number or a same-shape tensor; numpy's type promotion)."""
    return _arith(np.add, t, other, "add")


def sub(t: Any, other: Any) -> Array:
    """Return ``t - other``."""
    return _arith(np.subtract, t, other, "sub")


def mul(t: Any, other: Any) -> Array:
    """Return ``t * other``."""
    return _arith(np.multiply, t, other, "mul")


def div(t: Any, other: Any) -> Array:
    """Return ``t / other`` (true division: a floating-point result)."""
    return _arith(np.true_divide, t, other, "div")


def clamp(t: Any, min: float | None = None, max: float | None = None) -> Array:
    """Limit values to ``[min, max]`` (either bound may be omitted); the type is kept."""
    a = as_array(t, "clamp: tensor")
    for name, v in (("min", min), ("max", max)):
        if v is not None and (isinstance(v, (bool, np.bool_))
                              or not isinstance(v, (int, float, np.number)) or np.isnan(v)):
            raise TensorError(f"clamp: {name} must be a number, got {show(v)}")
    if min is not None and max is not None and min > max:
        raise TensorError(f"clamp: min {show(min)} is greater than max {show(max)}")
    return np.asarray(np.clip(a, min, max).astype(a.dtype, copy=False))


def _floating(t: Any, what: str) -> Array:
    a = as_array(t, what)
    return a if a.dtype.kind == "f" else a.astype(np.float32)


def sigmoid(t: Any) -> Array:
    """Return the logistic function of each element (integers promote to float32)."""
    a = _floating(t, "sigmoid: tensor")
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (1.0 + np.exp(-a))).astype(a.dtype, copy=False)


def exp(t: Any) -> Array:
    """Return ``e ** t`` elementwise (integers promote to float32)."""
    a = _floating(t, "exp: tensor")
    with np.errstate(over="ignore"):
        return np.exp(a)


def matmul(a: Any, b: Any) -> Array:
    """Matrix product of rank-1/rank-2 tensors (numpy's ``matmul`` rules for those ranks)."""
    x = as_array(a, "matmul: a", ndim=(1, 2))
    y = as_array(b, "matmul: b", ndim=(1, 2))
    if x.shape[-1] != y.shape[0]:
        raise TensorError(f"matmul: shapes {shape_text(x.shape)} and {shape_text(y.shape)} do "
                          f"not match ({x.shape[-1]} != {y.shape[0]})")
    x = x if x.dtype.kind == "f" else x.astype(np.float32)
    y = y if y.dtype.kind == "f" else y.astype(np.float32)
    return np.asarray(np.matmul(x, y))


def dot(a: Any, b: Any) -> float:
    """Dot product of two tensors with the same element count (flattened)."""
    x = as_array(a, "dot: a")
    y = as_array(b, "dot: b")
    if x.size != y.size:
        raise TensorError(f"dot: element counts differ ({x.size} and {y.size})")
    return float(np.dot(x.reshape(-1).astype(np.float64), y.reshape(-1).astype(np.float64)))


def argmax(t: Any, axis: int | None = None) -> Any:
    """Position of the largest value: one flat 0-based index, or int64 indices along ``axis``."""
    a = as_array(t, "argmax: tensor")
    if a.size == 0:
        raise TensorError("argmax: the tensor is empty")
    if axis is None:
        return int(np.argmax(a))
    return np.argmax(a, axis=axis_of(axis, a.ndim, "argmax: axis")).astype(np.int64)


def _reduce(op: Any, t: Any, axis: int | None, what: str) -> Any:
    a = as_array(t, f"{what}: tensor")
    if a.size == 0 and what in ("max", "min", "mean"):
        raise TensorError(f"{what}: the tensor is empty")
    if axis is None:
        value = op(a)
        return value.item() if isinstance(value, np.generic) else value
    return np.asarray(op(a, axis=axis_of(axis, a.ndim, f"{what}: axis")))


def sum(t: Any, axis: int | None = None) -> Any:
    """Sum of all values (a number), or along ``axis`` (a tensor)."""
    return _reduce(np.sum, t, axis, "sum")


def mean(t: Any, axis: int | None = None) -> Any:
    """Mean of all values, or along ``axis``."""
    return _reduce(np.mean, t, axis, "mean")


def max(t: Any, axis: int | None = None) -> Any:
    """Largest value, or the largest along ``axis``."""
    return _reduce(np.max, t, axis, "max")


def min(t: Any, axis: int | None = None) -> Any:
    """Smallest value, or the smallest along ``axis``."""
    return _reduce(np.min, t, axis, "min")


def softmax(t: Any, axis: int = -1) -> Array:
    """Softmax along ``axis`` (default: the last), computed stably (max subtracted)."""
    a = _floating(t, "softmax: tensor")
    ax = axis_of(axis, a.ndim, "softmax: axis")
    if a.size == 0:
        raise TensorError("softmax: the tensor is empty")
    e = np.exp(a - np.max(a, axis=ax, keepdims=True))
    return np.asarray(e / np.sum(e, axis=ax, keepdims=True))


def normalize(t: Any, axis: int = -1) -> Array:
    """Divide by the L2 norm along ``axis`` (a zero vector stays zero)."""
    a = _floating(t, "normalize: tensor")
    ax = axis_of(axis, a.ndim, "normalize: axis")
    norm = np.sqrt(np.sum(a * a, axis=ax, keepdims=True))
    return np.asarray(a / np.where(norm == 0, 1, norm))


def sort(t: Any, axis: int = -1, descending: bool = False) -> Sorted:
    """Sort along ``axis``; returns values and int64 positions (stable)."""
    a = as_array(t, "sort: tensor")
    ax = axis_of(axis, a.ndim, "sort: axis")
    if not isinstance(descending, (bool, np.bool_)):
        raise TensorError(f"sort: descending must be a boolean, got {show(descending)}")
    idx = np.argsort(-a if descending and a.dtype.kind != "u" else a, axis=ax, kind="stable")
    if descending and a.dtype.kind == "u":
        idx = np.flip(np.argsort(a, axis=ax, kind="stable"), axis=ax)
    return Sorted(np.take_along_axis(a, idx, axis=ax), idx.astype(np.int64))


def topk(t: Any, k: int, axis: int = -1) -> Sorted:
    """Return the ``k`` largest values along ``axis``, largest first, with their positions."""
    a = as_array(t, "topk: tensor")
    ax = axis_of(axis, a.ndim, "topk: axis")
    n = a.shape[ax]
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 0 < k <= n:
        raise TensorError(f"topk: k must be an integer in 1..{n} (the size of the axis), got "
                          f"{show(k)}")
    if k < n:
        part = np.argpartition(-a.astype(np.float64), k - 1, axis=ax)
        part = np.take(part, np.arange(k), axis=ax)
        vals = np.take_along_axis(a, part, axis=ax)
        order = np.argsort(-vals.astype(np.float64), axis=ax, kind="stable")
        idx = np.take_along_axis(part, order, axis=ax)
    else:
        idx = np.argsort(-a.astype(np.float64), axis=ax, kind="stable")
    return Sorted(np.take_along_axis(a, idx, axis=ax), idx.astype(np.int64))


def where(cond: Any, x: Any, y: Any) -> Array:
    """Elementwise ``x if cond else y``; numbers, booleans and tensors mix and broadcast."""
    c = as_array(cond, "where: cond", numeric=False)
    if c.dtype != np.bool_:
        c = c != 0
    xs = as_array(x, "where: x")
    ys = as_array(y, "where: y")
    try:
        return np.asarray(np.where(c, xs, ys))
    except ValueError as exc:
        raise TensorError(f"where: shapes {shape_text(c.shape)}, {shape_text(xs.shape)} and "
                          f"{shape_text(ys.shape)} do not broadcast") from exc


def _many(tensors: Any, what: str) -> list[Array]:
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TensorError(f"{what}: expected a non-empty list of tensors, got {show(tensors)}")
    return [as_array(x, f"{what}: tensor {index_text(i)}", numeric=False)
            for i, x in enumerate(tensors)]


def concat(tensors: Sequence[Any], axis: int = 0) -> Array:
    """Join tensors along an existing ``axis``; the other dimensions must match."""
    arrs = _many(tensors, "concat")
    ax = axis_of(axis, arrs[0].ndim, "concat: axis")
    try:
        return np.concatenate(arrs, axis=ax)
    except ValueError as exc:
        shapes = ", ".join(shape_text(a.shape) for a in arrs)
        raise TensorError(f"concat: shapes {shapes} differ outside axis "
                          f"{index_text(ax)}") from exc


def stack(tensors: Sequence[Any], axis: int = 0) -> Array:
    """Join same-shape tensors along a new ``axis``."""
    arrs = _many(tensors, "stack")
    ax = axis_of(axis, arrs[0].ndim + 1, "stack: axis")
    if any(a.shape != arrs[0].shape for a in arrs):
        shapes = ", ".join(shape_text(a.shape) for a in arrs)
        raise TensorError(f"stack: tensors must have the same shape, got {shapes}")
    return np.stack(arrs, axis=ax)
