"""Shared plumbing of the tensor module: argument conversion, option parsing, error wording.

Every helper takes numpy-like values and raises :class:`~ortsession.TensorError` (a value does not
fit), :class:`~ortsession.OptionError` (an option is unknown or invalid) or
:class:`~ortsession.InputError` (an image or another input cannot be read). Messages name the
argument or option, the value received and what is expected.

The Lua module calls the same functions; while it does (:func:`speaking_lua`), messages show
values the way Lua writes them (``nil``, ``true``, 1-based positions) instead of Python's.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import numpy as np

from ortsession._errors import OptionError, TensorError
from ortsession._types import element_type

__all__ = [
    "LUA_CALLER",
    "Array",
    "as_array",
    "axis_of",
    "float_array",
    "index_text",
    "merge_options",
    "number",
    "opt_bool",
    "opt_choice",
    "opt_float",
    "opt_int",
    "show",
    "speaking_lua",
]

Array = np.ndarray[Any, Any]
"""The numpy array type the helpers take and return."""

LUA_CALLER: Final[ContextVar[bool]] = ContextVar("ortsession_ops_lua", default=False)
"""True while the caller is Lua: messages then say ``nil`` and count positions from 1."""


@contextmanager
def speaking_lua() -> Iterator[None]:
    """Word error messages for a Lua caller while the block runs (``nil``, 1-based positions)."""
    token = LUA_CALLER.set(True)
    try:
        yield
    finally:
        LUA_CALLER.reset(token)


def index_text(index: int) -> str:
    """Return a 0-based position as the caller counts it (1-based for Lua)."""
    return str(index + 1 if LUA_CALLER.get() else index)


def show(value: Any) -> str:
    """Describe ``value`` for an error message, in the caller's language (no Python reprs)."""
    lua = LUA_CALLER.get()
    if value is None:
        return "nil" if lua else "None"
    if isinstance(value, (bool, np.bool_)):
        return ("true" if value else "false") if lua else str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return str(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        if lua:  # a Lua string
            return '"' + value.decode("utf-8", "replace").replace('"', '\\"') + '"'
        return f"{len(value)} bytes"
    numpy = getattr(value, "numpy", None)
    if callable(numpy) and not isinstance(value, np.ndarray):
        try:
            value = numpy()
        except Exception:  # a device tensor: named without its data
            return "a tensor"
    if isinstance(value, np.ndarray):
        kind = "tensor" if lua else "array"
        return f"a {_type_name(value.dtype)} {kind} of shape {shape_text(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"a table of {len(value)} values" if lua else f"a list of {len(value)} values"
    if isinstance(value, Mapping):
        return "a table" if lua else "a dict"
    name = type(value).__name__
    if name.startswith("_Lua"):  # a Lua value (lupa's _LuaTable, _LuaFunction...)
        return f"a {name[4:].lower()}"
    return f"a {name}"


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    """Return a shape as ``[2, 3]`` (the same in Lua and Python)."""
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _type_name(dtype: np.dtype[Any]) -> str:
    if dtype.kind in "OUS":
        return "string"
    if dtype == np.bool_:
        return "bool"
    return str(dtype)


def as_array(value: Any, name: str, *, numeric: bool = True,
             ndim: Collection[int] | None = None) -> Array:
    """Convert a tensor, numpy array, number or (nested) list to an array.

    Args:
        value: the value (an ``ortsession.Tensor`` is read zero-copy).
        name: the argument's name, for messages.
        numeric: refuse string tensors.
        ndim: the accepted ranks (``None``: any).

    Raises:
        TensorError: the value is not array-like, holds strings where numbers are needed, has a
            ragged shape or a rank outside ``ndim``.
    """
    if isinstance(value, np.ndarray):
        arr = value
    else:
        numpy = getattr(value, "numpy", None)
        if callable(numpy):
            arr = numpy()
        elif isinstance(value, (list, tuple, int, float, bool, np.generic)):
            try:
                arr = np.asarray(value)
            except ValueError as exc:
                raise TensorError(f"{name}: expected a tensor or a rectangular table of "
                                  f"numbers, got a ragged table") from exc
        else:
            raise TensorError(f"{name}: expected a tensor, got {show(value)}")
    if numeric and (arr.dtype.kind in "OUS"):
        raise TensorError(f"{name}: expected a numeric tensor, got a string tensor")
    if ndim is not None and arr.ndim not in ndim:
        ranks = " or ".join(str(n) for n in sorted(ndim))
        raise TensorError(f"{name}: expected a tensor of rank {ranks}, got "
                          f"{show(arr)}")
    return arr


def number(value: Any, name: str) -> float:
    """Check that ``value`` is a real number (not a bool) and return it as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TensorError(f"{name} must be a number, got {show(value)}")
    return float(value)


def float_array(value: Any, name: str, *, ndim: Collection[int] | None = None) -> Array:
    """Like :func:`as_array`, as float32 (float64 stays float64)."""
    arr = as_array(value, name, ndim=ndim)
    if arr.dtype in (np.float64, np.float32):
        return arr
    return arr.astype(np.float32)


def axis_of(axis: Any, ndim: int, name: str = "axis") -> int:
    """Check an axis (0-based; negative counts from the end) and return it non-negative."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TensorError(f"{name}: expected an integer, got {show(axis)}")
    a = int(axis)
    if not -ndim <= a < ndim:
        first, last = (1, ndim) if LUA_CALLER.get() else (0, ndim - 1)
        valid = f"{first}..{last}" if ndim else "none (the tensor is a scalar)"
        raise TensorError(f"{name} {index_text(a) if a >= 0 else a} out of range for a tensor "
                          f"of rank {ndim}; valid: {valid}")
    return a % ndim if ndim else 0


def dtype_of(type_name: Any, name: str = "type") -> np.dtype[Any]:
    """Return the numpy dtype of an element type name (``"float32"``, ``"float"``…)."""
    if not isinstance(type_name, str):
        raise OptionError(f"{name}: expected an element type name such as \"float32\", got "
                          f"{show(type_name)}")
    dt: np.dtype[Any] = element_type(type_name).dtype
    return dt


def merge_options(opts: Mapping[str, Any] | None, fields: Mapping[str, Any], where: str,
                  known: Collection[str]) -> dict[str, Any]:
    """Merge an options mapping and keyword fields; refuse unknown and doubly given names.

    Returns a dict without ``None`` values (an absent option and ``None``/``nil`` are the same).

    Raises:
        OptionError: ``opts`` is not a mapping, a name is unknown (the closest known name is
            suggested) or given both ways.
    """
    if opts is None:
        merged: dict[str, Any] = {}
    elif isinstance(opts, Mapping):
        merged = dict(opts)
    elif isinstance(opts, (list, tuple)) and not opts:
        merged = {}
    else:
        raise OptionError(f"{where}: options must be a table of name = value, got {show(opts)}"
                          if LUA_CALLER.get() else
                          f"{where}: options must be a dict, got {show(opts)}")
    for key, value in fields.items():
        if key in merged:
            raise OptionError(f"{where}: option {key} given twice (in the options and as a "
                              f"keyword)")
        merged[key] = value
    for key in merged:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise OptionError(f"{where}: unknown option {show(key)}{hint}; known options: "
                              f"{', '.join(sorted(known))}")
    return {k: v for k, v in merged.items() if v is not None}


def opt_float(o: Mapping[str, Any], key: str, default: float, where: str, *,
              low: float | None = None, high: float | None = None,
              low_open: bool = False) -> float:
    """Read a number option, checking ``low <= value <= high`` (``low < value`` if open)."""
    value = o.get(key, default)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise OptionError(f"{where}: option {key} must be a number, got {show(value)}")
    v = float(value)
    bad = (np.isnan(v) or (low is not None and (v <= low if low_open else v < low))
           or (high is not None and v > high))
    if bad:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        rng = " and ".join(x for x in (lo, hi) if x)
        raise OptionError(f"{where}: option {key} must be {rng}, got {show(value)}")
    return v


def opt_int(o: Mapping[str, Any], key: str, default: int | None, where: str, *,
            low: int | None = None) -> int | None:
    """Read an integer option (an integral float is accepted), checking ``value >= low``."""
    value = o.get(key, default)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise OptionError(f"{where}: option {key} must be an integer, got {show(value)}")
    if low is not None and value < low:
        raise OptionError(f"{where}: option {key} must be >= {low}, got {show(value)}")
    return int(value)


def opt_bool(o: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    """Read a boolean option."""
    value = o.get(key, default)
    if not isinstance(value, (bool, np.bool_)):
        raise OptionError(f"{where}: option {key} must be true or false, got {show(value)}"
                          if LUA_CALLER.get() else
                          f"{where}: option {key} must be True or False, got {show(value)}")
    return bool(value)


def opt_choice(o: Mapping[str, Any], key: str, default: str, where: str,
               choices: Mapping[str, str]) -> str:
    """Read a string option among ``choices`` (spelling -> canonical value; case-insensitive)."""
    value = o.get(key, default)
    if isinstance(value, str):
        found = choices.get(value.lower())
        if found is not None:
            return found
    names = ", ".join(f'"{c}"' for c in dict.fromkeys(choices.values()))
    raise OptionError(f"{where}: option {key} must be one of {names}, got {show(value)}")
