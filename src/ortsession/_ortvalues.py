"""The OrtValue boundary of host tensors: numpy arrays into ORT OrtValues and back.

Memory is shared both ways except for sub-byte types, whose packed form differs from numpy's.
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np

from . import _engine
from ._errors import ElementTypeError, TensorError
from ._messages import clean_message
from ._packing import pack_bits, unpack_bits
from ._protocols import OrtValue
from ._types import ElementType

__all__ = ["host_array", "ortvalue_from_array"]


def ortvalue_from_array(arr: np.ndarray[Any, Any], et: ElementType) -> OrtValue:
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
            f"its binding does not know the element type ({clean_message(str(exc))}); "
            f"newer onnxruntime versions do") from None


def host_array(ov: OrtValue, et: ElementType) -> np.ndarray[Any, Any]:
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
