"""Sub-byte element types (int4, uint4, int2, uint2, float4): packed bytes ↔ one element a byte.

ONNX packs these types several to a byte, lowest bits first; their numpy (``ml_dtypes``) form
holds one element a byte.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._types import ElementType

__all__ = ["pack_bits", "plain", "unpack_bits"]


def plain(arr: np.ndarray[Any, Any], et: ElementType) -> np.ndarray[Any, Any]:
    """Return a view/copy of ``arr`` whose ``tolist()`` gives plain Python numbers."""
    if et.is_native:
        return arr
    if et.is_float:
        return arr.astype(np.float32)
    return arr.astype(np.int8 if et.name.startswith("INT") else np.uint8)


def pack_bits(arr: np.ndarray[Any, Any], et: ElementType) -> np.ndarray[Any, Any]:
    """Pack the elements of ``arr`` (one a byte) into ONNX's sub-byte layout."""
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
    """Unpack ``count`` elements of ONNX's sub-byte layout, one a byte."""
    bits = et.bits
    per = 8 // bits
    mask = np.uint8((1 << bits) - 1)
    lanes = np.empty((packed.size, per), np.uint8)
    for i in range(per):
        lanes[:, i] = (packed >> np.uint8(i * bits)) & mask
    out: np.ndarray[Any, Any] = lanes.reshape(-1)[:count].copy().view(et.dtype)
    return out
