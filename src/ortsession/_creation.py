"""Creating tensors: from a type, shape and data, from ONNX raw bytes, from ORT's OrtValues."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from ._arraylike import foreign_array, is_foreign_array
from ._conversion import check_shape, coerce, is_scalar, type_name
from ._errors import TensorError
from ._ortvalues import host_array
from ._packing import unpack_bits
from ._protocols import OrtValue
from ._tensor import Tensor
from ._types import ElementType, element_type, element_type_from_onnx_name

__all__ = ["tensor", "tensor_from_bytes", "tensor_from_ortvalue"]

_STRING: Final = ElementType.STRING


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
    if is_scalar(data):
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


def tensor_from_ortvalue(ov: OrtValue) -> Tensor:
    """Wrap a tensor OrtValue produced by ORT as a :class:`Tensor`."""
    type_str = str(ov.data_type())
    inner = type_str[type_str.index("(") + 1:-1]
    et = element_type_from_onnx_name(inner)
    if et is None:
        raise TensorError(f"ORT returned a tensor of unsupported type {type_str}")
    if ov.device_name().lower() != "cpu":
        return Tensor._from_device(ov, et)
    return Tensor._wrap(host_array(ov, et), et)
