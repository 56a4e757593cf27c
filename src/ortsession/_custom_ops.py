"""Custom-op libraries: :func:`load_custom_op_library` checks a library once and returns a handle.

A handle (:class:`CustomOpLibrary`) is usable anywhere a library path is: in the session option
``custom_op_libraries`` (alone or in a list mixed with paths) and in
``Session.register_custom_op_library``.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Final

from ._errors import CustomOpLibraryError
from ._prechecks import check_library_file

__all__ = ["CustomOpLibrary", "load_custom_op_library"]

_ENTRY_POINT: Final = "RegisterCustomOps"
"""The symbol ORT calls in every custom-op library (``OrtStatus* RegisterCustomOps(...)``)."""


@dataclass(frozen=True)
class CustomOpLibrary:
    """A custom-op shared library that was found, loaded and checked.

    Create it with :func:`load_custom_op_library`. Handles compare equal when their paths do.

    Attributes:
        path: absolute path of the shared library.
    """

    path: str

    def __repr__(self) -> str:
        return f"CustomOpLibrary({self.path!r})"

    def __fspath__(self) -> str:
        """Return :attr:`path`, so a handle works wherever a path does."""
        return self.path


def load_custom_op_library(path: str | os.PathLike[str] | CustomOpLibrary) -> CustomOpLibrary:
    """Check that ``path`` is a loadable ONNX Runtime custom-op library and return its handle.

    The library is loaded here (with :mod:`ctypes`), so a missing or broken file fails now rather
    than when a session is created.

    Args:
        path: the shared library (``.so``, ``.dylib``, ``.dll``); relative paths are resolved
            against the current directory. A handle is returned as is.

    Returns:
        A handle holding the library's absolute path.

    Raises:
        CustomOpLibraryError: ``path`` is not a path, does not exist, is a directory, cannot be
            read or loaded, or does not export ``RegisterCustomOps`` (the message names the path
            and the reason).
    """
    if isinstance(path, CustomOpLibrary):
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise CustomOpLibraryError(
            f"custom-op library: expected a path (str or os.PathLike) or a CustomOpLibrary, "
            f"got {path!r} ({type(path).__name__})"
        )
    raw = os.fspath(path)
    if not isinstance(raw, str) or not raw:
        raise CustomOpLibraryError(f"custom-op library: expected a non-empty path, got {path!r}")
    full = os.path.abspath(raw)
    if not os.path.exists(full):
        raise CustomOpLibraryError(f"custom-op library {full!r}: no such file")
    if os.path.isdir(full):
        raise CustomOpLibraryError(f"custom-op library {full!r}: is a directory, not a library")
    if not os.access(full, os.R_OK):
        raise CustomOpLibraryError(f"custom-op library {full!r}: not readable (permission denied)")
    check_library_file(full)  # a truncated ELF would kill the process with SIGBUS in dlopen
    try:
        library = ctypes.CDLL(full)
    except OSError as exc:
        reason = str(exc).removeprefix(f"{full}: ")  # dlerror() repeats the path
        raise CustomOpLibraryError(
            f"custom-op library {full!r}: cannot be loaded: {reason}"
        ) from exc
    if not hasattr(library, _ENTRY_POINT):
        raise CustomOpLibraryError(
            f"custom-op library {full!r}: does not export {_ENTRY_POINT}, so it is not an "
            f"ONNX Runtime custom-op library"
        )
    return CustomOpLibrary(full)
