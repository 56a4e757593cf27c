"""Arrays from other libraries: any object with ``__dlpack__`` or ``__array__``.

PyTorch CPU tensors, CuPy/JAX arrays on the host, numpy-compatible containers and plain
classes exposing the DLPack protocol all become a numpy array here, sharing memory wherever the
producer allows it: DLPack first (``numpy.from_dlpack`` is zero-copy for host memory), then
``__array__`` (``numpy.asarray``, zero-copy when the producer returns its own buffer). The
result is then checked like any numpy array (exact element type, rank, fixed dimensions).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import TensorError

__all__ = ["foreign_array", "is_foreign_array"]


def is_foreign_array(value: Any) -> bool:
    """Tell whether ``value`` is an array of another library (not numpy, not a scalar)."""
    kind = type(value)
    if kind is np.ndarray or isinstance(value, (np.ndarray, np.generic)):
        return False
    return hasattr(kind, "__dlpack__") or hasattr(kind, "__array__")


def foreign_array(value: Any, what: str) -> np.ndarray[Any, Any]:
    """Return ``value`` (see :func:`is_foreign_array`) as a numpy array, sharing its memory.

    Raises:
        TensorError: the object exports neither a host DLPack capsule nor a numpy array (a
            device tensor, a dtype numpy cannot hold such as a PyTorch bfloat16 tensor, …).
    """
    kind = type(value)
    dlpack_error: BaseException | None = None
    if hasattr(kind, "__dlpack__"):
        try:
            return np.from_dlpack(value)
        except (AttributeError, BufferError, TypeError, ValueError, RuntimeError) as exc:
            dlpack_error = exc
    if hasattr(kind, "__array__"):
        try:
            arr = np.asarray(value)
        except Exception as exc:  # the producer's own refusal (e.g. a GPU tensor)
            raise TensorError(f"{what}: cannot read {kind.__name__} as a host array: "
                              f"{exc}") from None
        if isinstance(arr, np.ndarray):
            return arr
    raise TensorError(f"{what}: cannot read {kind.__name__} through DLPack "
                      f"({dlpack_error}); copy it to host memory (e.g. tensor.cpu()) or pass "
                      f"a numpy array")
