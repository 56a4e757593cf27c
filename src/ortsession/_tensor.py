"""``Tensor``: an ONNX tensor of any element type, held in host memory as a numpy array.

Conversions are vectorised numpy operations: no per-element Python loop on numeric data. Values
that do not fit the element type (strings into numbers, 1.5 into an integer, 300 into uint8, 1e6
into float16) raise :class:`TensorError` instead of being silently changed.
"""

from __future__ import annotations

import array as _array_mod
import ctypes
import math
import numbers
import reprlib
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from . import _engine
from ._arraylike import foreign_array, is_foreign_array
from ._errors import ElementTypeError, TensorError
from ._types import ElementType, element_type, element_type_from_dtype, element_type_from_onnx_name

__all__ = ["Tensor", "tensor", "tensor_from_bytes"]

_STRING: Final = ElementType.STRING
_BOOL: Final = ElementType.BOOL
_KDL_CPU: Final = 1


class Tensor:
    """An ONNX tensor: element type, shape and data, in host memory unless bound to a device.

    Create one with :func:`ortsession.tensor` or :func:`ortsession.tensor_from_bytes`; runs return
    them as outputs. ``numpy()`` is zero-copy for host tensors.
    """

    __slots__ = ("__weakref__", "_array", "_etype", "_ortvalue")

    _array: np.ndarray[Any, Any] | None
    _etype: ElementType
    _ortvalue: Any

    def __init__(self, array: np.ndarray[Any, Any], data_type: ElementType | str | None = None):
        """Wrap ``array`` (shared, not copied) as a tensor.

        An array of the element type's dtype is shared as is, even a strided view (fine as an
        input; refused as a ``run_into``/``bind_output`` target, which ORT writes contiguously).
        Other arrays are converted with every value checked, so the tensor is then a copy: a
        big-endian array, another dtype, and string data (each element checked like a list's).

        Args:
            array: a numpy array, ideally C-contiguous of the element type's dtype.
            data_type: the element type; inferred from ``array.dtype`` when omitted.
        """
        et = element_type_from_dtype(array.dtype) if data_type is None else element_type(data_type)
        if array.dtype != et.dtype or not array.flags.c_contiguous or et is _STRING:
            array = coerce(array, et, "tensor data")  # strings: every element is checked
        self._array = array
        self._etype = et
        self._ortvalue = None

    @classmethod
    def _wrap(cls, array: np.ndarray[Any, Any], et: ElementType) -> Tensor:
        """Wrap an array already known to be of ``et.dtype`` (hot path: no checks)."""
        t = object.__new__(cls)
        t._array = array
        t._etype = et
        t._ortvalue = None
        return t

    @classmethod
    def _from_device(cls, ortvalue: Any, et: ElementType) -> Tensor:
        """Wrap an OrtValue living on a non-host device (data is fetched on demand)."""
        t = object.__new__(cls)
        t._array = None
        t._etype = et
        t._ortvalue = ortvalue
        return t

    # -- properties -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Dimensions, outermost first (``()`` for a scalar)."""
        if self._array is not None:
            return tuple(self._array.shape)
        return tuple(int(d) for d in self._ortvalue.shape())

    @property
    def data_type(self) -> str:
        """Element type name, as :func:`ortsession.tensor` takes it (``"float32"``, …)."""
        return self._etype.type_name

    @property
    def element_type(self) -> ElementType:
        """Element type as an :class:`ElementType` member."""
        return self._etype

    @property
    def element_count(self) -> int:
        """Number of elements (the product of the dimensions)."""
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of the data in ONNX raw layout (sub-byte types packed; strings: UTF-8 total)."""
        if self._etype is _STRING:
            return sum(len(s.encode("utf-8")) for s in self.numpy().flat)
        return self._etype.packed_nbytes(self.element_count)

    @property
    def device(self) -> str:
        """Where the data lives: ``"cpu"`` or the ORT device name (e.g. ``"cuda"``)."""
        if self._array is not None:
            return "cpu"
        return str(self._ortvalue.device_name()).lower()

    # -- conversions ----------------------------------------------------------------------
    def numpy(self) -> np.ndarray[Any, Any]:
        """Return the data as a numpy array: the tensor's own buffer (zero-copy) on the host.

        bfloat16, float8, float4 and int4/int2 use ``ml_dtypes`` dtypes; strings are an
        ``object`` array of ``str``. A device tensor is copied to the host.
        """
        if self._array is not None:
            return self._array
        return _host_array(self._ortvalue, self._etype)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        arr = self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def to_table(self) -> list[Any]:
        """Return the elements as a flat Python list in row-major order.

        Mirrors the flat ``data`` :func:`tensor` takes: ``t.to_table()[0]`` is the first element.
        """
        return _plain(self.numpy(), self._etype).ravel().tolist()  # type: ignore[no-any-return]

    def tolist(self) -> Any:
        """Return the elements as nested Python lists (numpy's ``tolist`` convention)."""
        return _plain(self.numpy(), self._etype).tolist()

    def tobytes(self) -> bytes:
        """Return the data in ONNX raw layout: little-endian, sub-byte types packed low bits first.

        Raises:
            TensorError: for string tensors, which have no raw byte layout.
        """
        et = self._etype
        if et is _STRING:
            raise TensorError("tobytes(): string tensors have no raw byte layout; use tolist()")
        arr = self.numpy()
        if et.is_packed:
            return pack_bits(arr, et).tobytes()
        return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()

    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: Any = None, copy: bool | None = None) -> Any:
        """Export the tensor through DLPack (numpy's exporter, or ORT's for ml_dtypes types)."""
        if self._etype.is_native and self._etype is not _STRING and self._array is not None:
            kwargs: dict[str, Any] = {"stream": stream}
            if max_version is not None:
                kwargs["max_version"] = max_version
            if dl_device is not None:
                kwargs["dl_device"] = dl_device
            if copy is not None:
                kwargs["copy"] = copy
            return self._array.__dlpack__(**kwargs)
        if self._etype is _STRING or self._etype.is_packed:
            raise TensorError(f"__dlpack__: DLPack cannot carry {self._etype.type_name} tensors")
        _engine.require("to_dlpack", f"__dlpack__ of a {self._etype.type_name} tensor",
                        TensorError)
        try:
            return self._to_ortvalue().to_dlpack()
        except Exception as exc:  # ORT built without DLPack support
            raise TensorError(f"__dlpack__: {self._etype.type_name}: {exc}") from exc

    def __dlpack_device__(self) -> tuple[int, int]:
        """Return the DLPack device tuple (``(1, 0)``: CPU)."""
        if self._array is not None:
            return (_KDL_CPU, 0)
        dev = self._ortvalue.device_name().lower()
        return (2 if dev == "cuda" else _KDL_CPU, 0)

    def _to_ortvalue(self) -> Any:
        """Return an ORT OrtValue over this tensor's data (shared for host tensors)."""
        if self._array is None:
            return self._ortvalue
        return ortvalue_from_array(self._array, self._etype)

    # -- dunders --------------------------------------------------------------------------
    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __repr__(self) -> str:
        head = f"Tensor({self.data_type}, shape={list(self.shape)}"
        if self._array is None:
            return f"{head}, device={self.device!r})"
        flat = self.to_table() if self.element_count <= 8 else [*_plain(
            self._array.ravel()[:6], self._etype).tolist(), "..."]
        return f"{head}, data={flat})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tensor):
            return NotImplemented
        return (self._etype is other._etype and self.shape == other.shape
                and bool(np.array_equal(self.numpy(), other.numpy())))

    __hash__ = None  # type: ignore[assignment]

    # -- array-like behaviour (numpy semantics; results are numpy values) -------------------
    def __getitem__(self, key: Any) -> Any:
        """Index like ``t.numpy()[key]``: a numpy view (or copy, as numpy decides) or scalar.

        ``t[0, 1]`` is a numpy scalar (an ``ml_dtypes`` scalar for bfloat16, float8 …, a
        ``str`` for strings); ``t[0]`` and slices are numpy arrays sharing the tensor's memory.
        """
        return self.numpy()[key]

    def __iter__(self) -> Any:
        """Iterate over the first dimension, as numpy does (rows are numpy views)."""
        return iter(self.numpy())

    def item(self) -> Any:
        """Return the only element as a Python scalar (``float``, ``int``, ``bool`` or ``str``).

        bfloat16, float8 and float4 give a ``float``; int4/uint4/int2/uint2 an ``int``.

        Raises:
            TensorError: the tensor does not have exactly one element.
        """
        return self._one("item()").item()

    def _one(self, what: str) -> np.ndarray[Any, Any]:
        """Return the data as a plain-typed 0-d array, checked to hold exactly one element."""
        arr = self.numpy()
        if arr.size != 1:
            raise TensorError(f"{what}: only one-element tensors can be converted to a Python "
                              f"scalar; this {self.data_type} tensor has shape "
                              f"{list(arr.shape)} ({arr.size} elements)")
        return _plain(arr, self._etype).reshape(())

    def __float__(self) -> float:
        """``float(t)`` for a one-element numeric or bool tensor."""
        if self._etype is _STRING:
            raise TensorError("float(): a string tensor has no numeric value")
        return float(self._one("float()"))

    def __int__(self) -> int:
        """``int(t)`` for a one-element numeric or bool tensor (truncates floats, as numpy)."""
        if self._etype is _STRING:
            raise TensorError("int(): a string tensor has no numeric value")
        return int(self._one("int()"))

    def __index__(self) -> int:
        """``operator.index(t)`` (``range(t)``, ``lst[t]``): 0-d integer tensors, as numpy."""
        if not self._etype.is_integer or self.shape != ():
            raise TensorError(f"__index__: only a scalar (shape []) integer tensor can be used "
                              f"as an index, got a {self.data_type} tensor of shape "
                              f"{list(self.shape)}")
        return int(self._one("__index__"))

    def __bool__(self) -> bool:
        """Truth of a one-element tensor; numpy's rule: any other size is ambiguous.

        Raises:
            TensorError: the tensor is empty or holds more than one element (use
                ``t.numpy().any()`` or ``.all()``).
        """
        arr = self.numpy()
        if arr.size != 1:
            raise TensorError(f"the truth value of a {self.data_type} tensor of shape "
                              f"{list(arr.shape)} ({arr.size} elements) is ambiguous; use "
                              f"t.numpy().any() or t.numpy().all()")
        return bool(self._one("bool()"))

    def __complex__(self) -> complex:
        """``complex(t)`` for a one-element numeric tensor."""
        return complex(self.__float__())

    def __round__(self, ndigits: int | None = None) -> Any:
        """``round(t)`` of a one-element tensor: a Python number, as ``round(t.item())``."""
        return round(self.item(), ndigits)

    # Comparisons and arithmetic go through numpy and return numpy arrays (or scalars).
    # ``==``/``!=`` stay whole-tensor equality (a bool): tensors are values throughout the
    # package; use ``t.numpy() == x`` for an element-wise mask.
    def __lt__(self, other: Any) -> Any:
        return self.numpy() < _operand(other)

    def __le__(self, other: Any) -> Any:
        return self.numpy() <= _operand(other)

    def __gt__(self, other: Any) -> Any:
        return self.numpy() > _operand(other)

    def __ge__(self, other: Any) -> Any:
        return self.numpy() >= _operand(other)

    def __add__(self, other: Any) -> Any:
        return self.numpy() + _operand(other)

    def __radd__(self, other: Any) -> Any:
        return _operand(other) + self.numpy()

    def __sub__(self, other: Any) -> Any:
        return self.numpy() - _operand(other)

    def __rsub__(self, other: Any) -> Any:
        return _operand(other) - self.numpy()

    def __mul__(self, other: Any) -> Any:
        return self.numpy() * _operand(other)

    def __rmul__(self, other: Any) -> Any:
        return _operand(other) * self.numpy()

    def __truediv__(self, other: Any) -> Any:
        return self.numpy() / _operand(other)

    def __rtruediv__(self, other: Any) -> Any:
        return _operand(other) / self.numpy()

    def __floordiv__(self, other: Any) -> Any:
        return self.numpy() // _operand(other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _operand(other) // self.numpy()

    def __mod__(self, other: Any) -> Any:
        return self.numpy() % _operand(other)

    def __rmod__(self, other: Any) -> Any:
        return _operand(other) % self.numpy()

    def __pow__(self, other: Any) -> Any:
        return self.numpy() ** _operand(other)

    def __rpow__(self, other: Any) -> Any:
        return _operand(other) ** self.numpy()

    def __matmul__(self, other: Any) -> Any:
        return self.numpy() @ _operand(other)

    def __rmatmul__(self, other: Any) -> Any:
        return _operand(other) @ self.numpy()

    def __and__(self, other: Any) -> Any:
        return self.numpy() & _operand(other)

    def __rand__(self, other: Any) -> Any:
        return _operand(other) & self.numpy()

    def __or__(self, other: Any) -> Any:
        return self.numpy() | _operand(other)

    def __ror__(self, other: Any) -> Any:
        return _operand(other) | self.numpy()

    def __xor__(self, other: Any) -> Any:
        return self.numpy() ^ _operand(other)

    def __rxor__(self, other: Any) -> Any:
        return _operand(other) ^ self.numpy()

    def __neg__(self) -> Any:
        return -self.numpy()

    def __pos__(self) -> Any:
        return +self.numpy()

    def __invert__(self) -> Any:
        return ~self.numpy()

    def __abs__(self) -> Any:
        return abs(self.numpy())


def _operand(value: Any) -> Any:
    return value.numpy() if isinstance(value, Tensor) else value


# --- creation ------------------------------------------------------------------------------

def check_shape(shape: Any, what: str = "shape") -> tuple[int, ...]:
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


def tensor(type: ElementType | str, shape: Sequence[int], data: Any = None) -> Tensor:
    """Create a tensor of element type ``type`` and dimensions ``shape``.

    Args:
        type: an element type name (``"float32"``, ``"float"``, ``"bfloat16"``, ``"int4"``,
            ``"string"``, …) or :class:`ElementType`.
        shape: the dimensions, e.g. ``[1, 2]``; ``[]`` is a scalar.
        data: a flat or nested sequence (row-major), a numpy array, an array of another
            library (any object with ``__dlpack__`` or ``__array__``: PyTorch CPU tensors,
            CuPy/JAX host arrays …), a scalar that fills the whole tensor (a single string for
            string tensors), or ``None`` for zeros / empty strings. An array of the right dtype
            and layout is shared, not copied.

    Raises:
        ElementTypeError: unknown element type.
        TensorError: bad shape, wrong element count, ragged nesting, non-numeric data for a
            numeric type, or a value out of range for the type.

    >>> tensor("float32", [1, 2], [1.0, 2.0]).to_table()
    [1.0, 2.0]
    """
    et = element_type(type)
    dims = check_shape(shape)
    if data is None:
        return Tensor._wrap(_filled(dims, et, "" if et is _STRING else None), et)
    if isinstance(data, Tensor):
        data = data.numpy()
    elif is_foreign_array(data):  # PyTorch, CuPy, JAX, DLPack or __array__ objects: shared
        data = foreign_array(data, "tensor data")
    if _is_scalar(data):
        value = coerce(np.asarray(data) if et is not _STRING else data, et, "tensor data")
        return Tensor._wrap(_filled(dims, et, value.reshape(()) if et is not _STRING else value),
                            et)
    arr = coerce(data, et, "tensor data")
    return Tensor._wrap(_fit_shape(arr, dims, "tensor data"), et)


def _filled(dims: tuple[int, ...], et: ElementType, value: Any) -> np.ndarray[Any, Any]:
    """Return ``np.zeros`` (``value`` None) or ``np.full`` of ``dims``.

    A shape too big to allocate raises TensorError, not numpy's ``MemoryError`` or
    ``ValueError("array is too big")``.
    """
    try:
        if value is None:
            return np.zeros(dims, dtype=et.dtype)
        return np.full(dims, value, dtype=et.dtype)
    except (MemoryError, ValueError) as exc:
        raise TensorError(f"tensor(): cannot allocate a {et.type_name} tensor of shape "
                          f"{list(dims)} ({math.prod(dims)} elements): {exc}") from None


def _fit_shape(arr: np.ndarray[Any, Any], dims: tuple[int, ...], what: str) -> np.ndarray[Any, Any]:
    if arr.shape == dims:
        return np.asarray(arr, order="C")  # not ascontiguousarray: it turns 0-d into 1-d
    count = math.prod(dims)
    if arr.size == count and (arr.ndim == 1 or count == 1):
        return np.ascontiguousarray(arr).reshape(dims)
    if arr.ndim == 1:
        raise TensorError(f"{what}: shape {list(dims)} needs {count} elements, got {arr.size}")
    raise TensorError(f"{what}: data has shape {list(arr.shape)}, expected {list(dims)} "
                      f"(or a flat sequence of {count} elements)")


def tensor_from_bytes(type: ElementType | str, shape: Sequence[int],
                      data: bytes | bytearray | memoryview) -> Tensor:
    """Create a numeric or bool tensor from ONNX raw bytes (little-endian, sub-byte packed).

    Raises:
        TensorError: string type, or ``len(data)`` differs from what ``shape`` needs.
    """
    et = element_type(type)
    dims = check_shape(shape)
    if et is _STRING:
        raise TensorError("tensor_from_bytes(): string tensors cannot be made from raw bytes; "
                          "use tensor('string', shape, [...])")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TensorError(f"tensor_from_bytes(): data must be bytes, bytearray or memoryview, "
                          f"got {type_name(data)}")
    buf = memoryview(data).cast("B")
    count = math.prod(dims)
    need = et.packed_nbytes(count)
    if buf.nbytes != need:
        raise TensorError(f"tensor_from_bytes(): {et.type_name} shape {list(dims)} needs "
                          f"{need} bytes, got {buf.nbytes}")
    if et.is_packed:
        packed = np.frombuffer(buf, np.uint8)
        used = count * et.bits % 8  # bits of the last byte that hold elements (0: all of them)
        if used and packed[-1] >> used:
            raise TensorError(f"tensor_from_bytes(): {et.type_name} shape {list(dims)} uses the "
                              f"low {used} bits of the last byte; its padding bits must be zero, "
                              f"got {packed[-1]:#04x}")
        return Tensor._wrap(unpack_bits(packed, count, et).reshape(dims), et)
    arr = np.frombuffer(buf, dtype=et.dtype.newbyteorder("<")).astype(et.dtype, copy=True)
    return Tensor._wrap(arr.reshape(dims), et)


def type_name(value: object) -> str:
    """Short description of a value's Python type, for error messages."""
    if isinstance(value, np.ndarray):
        return f"numpy array of {value.dtype}"
    return type(value).__name__


def _is_scalar(data: Any) -> bool:
    return isinstance(data, (numbers.Number, str, bytes, np.generic, bool)) or (
        isinstance(data, np.ndarray) and data.ndim == 0)


# --- checked conversion -----------------------------------------------------------------------

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


def _checked_list(data: list[Any], what: str) -> Any:
    try:
        return np.asarray(data)
    except RecursionError:
        raise TensorError(f"{what}: the lists are nested too deeply to be tensor data") from None
    except (ValueError, TypeError, OverflowError) as exc:
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


# --- layouts --------------------------------------------------------------------------------

def _plain(arr: np.ndarray[Any, Any], et: ElementType) -> np.ndarray[Any, Any]:
    """Return a view/copy of ``arr`` whose ``tolist()`` gives plain Python numbers."""
    if et.is_native:
        return arr
    if et.is_float:
        return arr.astype(np.float32)
    return arr.astype(np.int8 if et.name.startswith("INT") else np.uint8)


def pack_bits(arr: np.ndarray[Any, Any], et: ElementType) -> np.ndarray[Any, Any]:
    bits = et.bits
    per = 8 // bits
    mask = (1 << bits) - 1
    raw = np.ascontiguousarray(arr).reshape(-1).view(np.uint8) & mask
    pad = (-raw.size) % per
    if pad:
        raw = np.concatenate([raw, np.zeros(pad, np.uint8)])
    lanes = raw.reshape(-1, per)
    out = np.zeros(lanes.shape[0], np.uint8)
    for i in range(per):
        np.bitwise_or(out, lanes[:, i] << np.uint8(i * bits), out=out)
    return out


def unpack_bits(packed: np.ndarray[Any, Any], count: int, et: ElementType) -> np.ndarray[Any, Any]:
    bits = et.bits
    per = 8 // bits
    mask = np.uint8((1 << bits) - 1)
    lanes = np.empty((packed.size, per), np.uint8)
    for i in range(per):
        lanes[:, i] = (packed >> np.uint8(i * bits)) & mask
    out: np.ndarray[Any, Any] = lanes.reshape(-1)[:count].copy().view(et.dtype)
    return out


# --- OrtValue boundary ----------------------------------------------------------------------

def ortvalue_from_array(arr: np.ndarray[Any, Any], et: ElementType) -> Any:
    """Make an ORT OrtValue for a host array (memory shared except for sub-byte types)."""
    if et.is_native:
        return _engine.ortvalue_from_numpy(arr)
    try:
        if et.is_packed:
            ov = _engine.empty_ortvalue(list(arr.shape), int(et))
            packed = pack_bits(arr, et)
            if packed.size:
                ctypes.memmove(ov.data_ptr(), packed.ctypes.data, packed.size)
            return ov
        # np.asarray, not np.ascontiguousarray: the latter makes a 0-d array 1-d (shape [1])
        raw = np.asarray(arr, order="C").view(np.uint16 if et.bits == 16 else np.uint8)
        return _engine.ortvalue_from_raw(raw, int(et))
    except RuntimeError as exc:  # an older ORT that does not know the type (e.g. int2 < 1.24)
        raise ElementTypeError(
            f"{et.type_name} tensors cannot be handed to onnxruntime {_engine.ort_version()}: "
            f"its binding does not know the element type ({_engine.clean_message(str(exc))}); "
            f"newer onnxruntime versions do") from None


def _host_array(ov: Any, et: ElementType) -> np.ndarray[Any, Any]:
    """Read a tensor OrtValue as a numpy array (zero-copy for host non-native types)."""
    shape = tuple(int(d) for d in ov.shape())
    if et.is_native:
        return np.asarray(ov.numpy())
    nbytes = _engine.tensor_size_in_bytes(ov, et.bits)
    if nbytes == 0:
        return np.zeros(shape, dtype=et.dtype)
    if ov.device_name().lower() != "cpu":
        raise TensorError(f"{et.type_name} tensor on device {ov.device_name()!r} cannot be "
                          f"read by the host")
    buf = (ctypes.c_uint8 * nbytes).from_address(ov.data_ptr())
    buf._owner = ov  # type: ignore[attr-defined]  # keeps ORT's buffer alive with the view
    raw: np.ndarray[Any, Any] = np.frombuffer(memoryview(buf), dtype=np.uint8)
    if et.is_packed:
        return unpack_bits(raw, math.prod(shape), et).reshape(shape)
    view: np.ndarray[Any, Any] = raw.view(et.dtype).reshape(shape)
    return view


def tensor_from_ortvalue(ov: Any) -> Tensor:
    """Wrap a tensor OrtValue produced by ORT as a :class:`Tensor`."""
    type_str = str(ov.data_type())
    inner = type_str[type_str.index("(") + 1:-1]
    et = element_type_from_onnx_name(inner)
    if et is None:
        raise TensorError(f"ORT returned a tensor of unsupported type {type_str}")
    if ov.device_name().lower() != "cpu":
        return Tensor._from_device(ov, et)
    return Tensor._wrap(_host_array(ov, et), et)
