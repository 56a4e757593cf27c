"""``Tensor``: an ONNX tensor of any element type, held in host memory as a numpy array.

Making one from data is in ``_creation``; the checked conversion it relies on in
``_conversion``, sub-byte packing in ``_packing``, the OrtValue boundary in ``_ortvalues``.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from . import _engine
from ._conversion import coerce
from ._errors import TensorError
from ._ortvalues import host_array, ortvalue_from_array
from ._packing import pack_bits, plain
from ._types import ElementType, element_type, element_type_from_dtype

__all__ = ["Tensor"]

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
        return host_array(self._ortvalue, self._etype)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        arr = self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def to_table(self) -> list[Any]:
        """Return the elements as a flat Python list in row-major order.

        Mirrors the flat ``data`` :func:`tensor` takes: ``t.to_table()[0]`` is the first element.
        """
        return plain(self.numpy(), self._etype).ravel().tolist()  # type: ignore[no-any-return]

    def tolist(self) -> Any:
        """Return the elements as nested Python lists (numpy's ``tolist`` convention)."""
        return plain(self.numpy(), self._etype).tolist()

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
        flat = self.to_table() if self.element_count <= 8 else [*plain(
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
        return plain(arr, self._etype).reshape(())

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

