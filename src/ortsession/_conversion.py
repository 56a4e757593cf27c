"""Checked conversion of Python and numpy data to the numpy form of an element type.

Vectorised numpy operations, no per-element Python loop on numeric data. Values that do not fit
the element type (strings into numbers, 1.5 into an integer, 300 into uint8, 1e6 into float16)
raise :class:`TensorError` instead of being silently changed.
"""

from __future__ import annotations

import array as _array_mod
import math
import numbers
import re
import reprlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from ._errors import TensorError
from ._types import ElementType, element_type_from_dtype

__all__ = ["check_shape", "coerce", "is_scalar", "type_name"]

_STRING: Final = ElementType.STRING
_BOOL: Final = ElementType.BOOL


def check_shape(shape: Any, what: str = "shape") -> tuple[int, ...]:
    """Return ``shape`` as a tuple of non-negative ints (an int is one dimension)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if not isinstance(shape, (Sequence)) or isinstance(shape, (str, bytes)):
        raise TensorError(f"{what}: expected a list of non-negative integers, got {shape!r}")
    dims: list[int] = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            if isinstance(d, float) and d.is_integer() and d >= 0:
                dims.append(int(d))
                continue
            raise TensorError(f"{what}: dimension {d!r} is not an integer (got {list(shape)!r})")
        if d < 0:
            raise TensorError(f"{what}: dimension {d} is negative (got {list(shape)!r})")
        dims.append(int(d))
    return tuple(dims)


def type_name(value: object) -> str:
    """Short description of a value's Python type, for error messages."""
    if isinstance(value, np.ndarray):
        return f"numpy array of {value.dtype}"
    return type(value).__name__


def is_scalar(data: Any) -> bool:
    return isinstance(data, (numbers.Number, str, bytes, np.generic, bool)) or (
        isinstance(data, np.ndarray) and data.ndim == 0)


def coerce(data: Any, et: ElementType, what: str) -> np.ndarray[Any, Any]:
    """Convert ``data`` to an array of ``et.dtype``, refusing values that do not fit."""
    if et is _STRING:
        return _coerce_strings(data, what)
    target = et.dtype
    if isinstance(data, np.ndarray):
        src = data
        if src.dtype is target:
            return src
    elif type(data) is list and et is not _BOOL:
        fast = _flat_numbers(data, et)
        src = _checked_list(data, what) if fast is None else fast
    else:
        src = _checked_list(data, what)
    if src.dtype == target:
        return src if src.dtype.isnative else src.astype(target)
    src_et = _known(src.dtype)
    if src_et is not None and not src_et.is_native:
        # ml_dtypes has no cast between some of its own types (int4 -> uint2, float8 -> e8m0):
        # widen to float64 / int64 first, which hold every value of those types exactly
        src = src.astype(np.float64 if src_et.is_float else np.int64)
        src_et = None
    kind = src.dtype.kind if src_et is None or src_et.is_native else (
        "f" if src_et.is_float else "i")
    if kind == "O" and src.size and all(type(v) is int for v in src.flat):
        src, kind = _big_ints(src, et, what)  # Python ints beyond 64 bits: numpy keeps objects
    if kind not in "biuf":
        odd = _first_non_number(data) if not isinstance(data, np.ndarray) else _NOTHING
        if odd is not _NOTHING:  # numpy made [1, "a"] strings: name "a", not "1"
            raise TensorError(f"{what}: {et.type_name} needs numbers, got "
                              f"{reprlib.repr(odd)} ({type(odd).__name__})")
        raise TensorError(f"{what}: {et.type_name} needs numbers, got "
                          f"{_describe(src)}")
    if et is _BOOL:
        if kind != "b" and not bool(np.all((src == 0) | (src == 1))):
            raise TensorError(f"{what}: bool accepts true/false or 0/1, got {_describe(src)}")
        return src.astype(np.bool_)
    if et.is_integer:
        if kind == "f" and et.bits == 64 and not isinstance(data, np.ndarray):
            exact = _exact_int64(data, src, target)
            if exact is not None:
                return exact
        return _to_integer(src, kind, et, what)
    return _to_float(src, kind, et, what)


def _flat_numbers(data: list[Any], et: ElementType) -> np.ndarray[Any, Any] | None:
    """Read a flat list of Python numbers through :mod:`array` (strict and fast), or ``None``.

    ``array.array`` refuses strings, ``None`` and nested lists with ``TypeError`` and integers
    beyond 64 bits with ``OverflowError``; the caller then takes the general (slower) path.
    """
    try:
        if et.is_integer:
            buf = _array_mod.array("q", data)
            return np.frombuffer(buf, dtype=np.int64) if buf else np.zeros(0, np.int64)
        buf = _array_mod.array("d", data)
        return np.frombuffer(buf, dtype=np.float64) if buf else np.zeros(0, np.float64)
    except (TypeError, OverflowError, ValueError):
        return None


def _int_info(et: ElementType) -> Any:
    """Return the integer range of ``et`` (numpy's ``iinfo``, or ``ml_dtypes``' for int4/int2 …)."""
    if et.is_native:
        return np.iinfo(et.dtype)
    import ml_dtypes  # loaded already: et.dtype is one of its types

    return ml_dtypes.iinfo(et.dtype)  # type: ignore[no-untyped-call]


def _big_ints(src: np.ndarray[Any, Any], et: ElementType,
              what: str) -> tuple[np.ndarray[Any, Any], str]:
    """Check an object array of Python ints (some beyond 64 bits) against ``et``'s range.

    Raises the out-of-range error naming the first value that does not fit; returns a float64
    array (kind ``"f"``) for float types, whose range is checked as usual.
    """
    if et.is_integer or et is _BOOL:
        info = None if et is _BOOL else _int_info(et)
        lo, hi = (0, 1) if info is None else (int(info.min), int(info.max))
        worst = next(v for v in src.flat if not lo <= v <= hi)
        raise TensorError(f"{what}: value out of range for {et.type_name} [{lo}, {hi}]: got "
                          f"{worst}")
    try:
        return src.astype(np.float64), "f"
    except OverflowError:
        worst = next(v for v in src.flat if abs(v) > 2**1023)
        raise TensorError(f"{what}: value out of range for {et.type_name}: got "
                          f"{reprlib.repr(worst)}") from None


def _first_non_number(data: Any) -> Any:
    """Return the first element of nested lists that is not a number (``_NOTHING``: none)."""
    stack = [iter([data])]
    while stack:
        item = next(stack[-1], _NOTHING)
        if item is _NOTHING:
            stack.pop()
        elif isinstance(item, (list, tuple)):
            stack.append(iter(item))
        elif not isinstance(item, (numbers.Number, np.generic)) or isinstance(
                item, (complex, np.complexfloating)):
            return item
    return _NOTHING


_MAX_DIMS: Final = re.compile(r"maximum number of dimension of (\d+)")


def _checked_list(data: list[Any], what: str) -> Any:
    try:
        return np.asarray(data)
    except RecursionError:
        raise TensorError(f"{what}: the lists are nested too deeply to be tensor data") from None
    except (ValueError, TypeError, OverflowError) as exc:
        limit = _MAX_DIMS.search(str(exc))
        if limit:  # numpy's limit: 32 dimensions before numpy 2, 64 since
            raise TensorError(f"{what}: the lists are nested more than {limit[1]} deep (a "
                              f"tensor has at most {limit[1]} dimensions)") from None
        raise TensorError(f"{what}: cannot read the data as a regular array of numbers "
                          f"(ragged nesting or mixed values?): {exc}") from None


def _known(dtype: np.dtype[Any]) -> ElementType | None:
    try:
        return element_type_from_dtype(dtype)
    except Exception:
        return None


def _exact_int64(data: Any, approx: np.ndarray[Any, Any],
                 target: np.dtype[Any]) -> np.ndarray[Any, Any] | None:
    """Python ints beyond 2**53 that numpy inferred as float64: convert them exactly."""
    try:
        exact = np.array(data, dtype=target)
    except (OverflowError, ValueError, TypeError):
        return None
    return exact if bool(np.array_equal(exact.astype(np.float64), approx)) else None


def _to_integer(src: np.ndarray[Any, Any], kind: str, et: ElementType,
                what: str) -> np.ndarray[Any, Any]:
    target = et.dtype
    info = _int_info(et)
    if kind == "f":
        as_f = src.astype(np.float64, copy=False)
        if not bool(np.all(np.isfinite(as_f))) or not bool(np.all(as_f == np.trunc(as_f))):
            raise TensorError(f"{what}: {et.type_name} needs whole numbers, got "
                              f"{_describe(src, lambda a: ~np.isfinite(a) | (a != np.trunc(a)))}")
        lo, hi = float(as_f.min(initial=0)), float(as_f.max(initial=0))
        if lo < int(info.min) or hi > int(info.max):
            raise TensorError(f"{what}: value out of range for {et.type_name} "
                              f"[{info.min}, {info.max}]: got {lo if lo < int(info.min) else hi}")
        return as_f.astype(target)
    if kind in "iu" and not np.can_cast(src.dtype, target, "safe"):
        lo_i, hi_i = int(src.min(initial=0)), int(src.max(initial=0))
        if lo_i < int(info.min) or hi_i > int(info.max):
            worst = lo_i if lo_i < int(info.min) else hi_i
            raise TensorError(f"{what}: value out of range for {et.type_name} "
                              f"[{info.min}, {info.max}]: got {worst}")
    return src.astype(target)


def _to_float(src: np.ndarray[Any, Any], kind: str, et: ElementType,
              what: str) -> np.ndarray[Any, Any]:
    """Convert to a float type; refuse every value the type cannot hold (rounding aside).

    Out of range (a finite value that would become inf/NaN, or saturate in float4e2m1), and
    non-finite values the type lacks: ±inf in the float8 types without infinity (they would
    become NaN) and NaN in float4e2m1 (it would become -0.0).
    """
    target = et.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        out = src.astype(target)
    if np.can_cast(src.dtype, target, "safe"):
        return out
    wide = src.astype(np.float64, copy=False)
    back = out.astype(np.float64, copy=False)
    finite = np.isfinite(wide)
    bad = finite & ~np.isfinite(back)
    if et is ElementType.FLOAT4E2M1:  # no inf/NaN: ml_dtypes saturates instead
        bad |= finite & (np.abs(wide) > _FLOAT4_MAX)
    if not bool(finite.all()):  # inf must stay inf (same sign), NaN must stay NaN
        nan = np.isnan(wide)
        bad |= ~finite & ~((nan & np.isnan(back)) | (~nan & (wide == back)))
    if bool(bad.any()):
        value = wide.reshape(-1)[int(np.argmax(bad.reshape(-1)))].item()
        if math.isnan(value):
            raise TensorError(f"{what}: {et.type_name} has no NaN: got nan")
        if math.isinf(value):
            raise TensorError(f"{what}: {et.type_name} has no infinity: got {value!r}")
        raise TensorError(f"{what}: value out of range for {et.type_name}: got "
                          f"{src.reshape(-1)[int(np.argmax(bad.reshape(-1)))].item()!r}")
    return out


def _coerce_strings(data: Any, what: str) -> np.ndarray[Any, Any]:
    if isinstance(data, (str, bytes)):
        data = [data]
    try:
        arr = np.array(data, dtype=object) if not isinstance(data, np.ndarray) else data
    except ValueError as exc:
        raise TensorError(f"{what}: ragged nesting: {exc}") from None
    except RecursionError:
        raise TensorError(f"{what}: the lists are nested too deeply to be tensor data") from None
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    if arr.dtype.kind != "O":
        raise TensorError(f"{what}: string tensor needs strings, got {_describe(arr)}")
    out = np.empty(arr.shape, dtype=object)
    flat_in, flat_out = arr.reshape(-1), out.reshape(-1)
    for i, s in enumerate(flat_in):
        if type(s) is str:
            flat_out[i] = s
        elif isinstance(s, (bytes, np.bytes_)):
            try:
                flat_out[i] = bytes(s).decode("utf-8")
            except UnicodeDecodeError:
                raise TensorError(f"{what}: element {i} is not valid UTF-8: {s!r}") from None
        elif isinstance(s, str):
            flat_out[i] = str(s)
        else:
            raise TensorError(f"{what}: string tensor needs strings, element {i} is "
                              f"{type(s).__name__} {reprlib.repr(s)}")
    return out


def _describe(arr: np.ndarray[Any, Any], bad: Any = None) -> str:
    flat = arr.reshape(-1)
    sample: Any = _NOTHING
    if flat.size:
        if bad is not None:
            idx = np.flatnonzero(bad(flat.astype(np.float64)))
            sample = flat[int(idx[0])] if idx.size else flat[0]
        elif arr.dtype.kind == "O":
            sample = next((v for v in flat if not isinstance(v, (int, float, bool))), flat[0])
        else:
            sample = flat[0]
    kind = {"U": "strings", "S": "bytes", "O": "mixed Python objects", "c": "complex numbers",
            "M": "datetimes", "m": "timedeltas", "V": "raw records"}.get(arr.dtype.kind,
                                                                         str(arr.dtype))
    if sample is _NOTHING:
        return kind
    value = sample.item() if isinstance(sample, np.generic) else sample
    return f"{kind} (e.g. {reprlib.repr(value)})"


_NOTHING: Final = object()
_FLOAT4_MAX: Final = 6.0
