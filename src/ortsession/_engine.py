"""The one module that talks to ``onnxruntime`` directly.

Everything else in the package reaches ONNX Runtime through the names defined here:

* ``C`` — ORT's pybind module (``onnxruntime.capi._pybind_state``), used for its classes
  (``InferenceSession``, ``SessionOptions``, ``RunOptions``, ``OrtValue``, ``SessionIOBinding``).
* :func:`translate` — turns an ORT exception into an :class:`~ortsession.OrtError` subclass with a
  clean message (no C++ file paths, no ``[ONNXRuntimeError] : 1 : FAIL :`` prefix).
* :func:`ensure_environment` — routes ORT's log output into Python :mod:`logging` (logger
  ``"ortsession.ort"``) so that no C++ noise is printed on stderr.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import threading
from typing import Any, Final

import onnxruntime as _ort  # the single import of onnxruntime in the package
from onnxruntime.capi import _pybind_state as C

from ._errors import ModelLoadError, OptionError, OrtError, TerminatedError

__all__ = [
    "C",
    "CPU_DEVICE",
    "available_providers",
    "clean_message",
    "ensure_environment",
    "logger",
    "ort_version",
    "translate",
]

logger: Final = logging.getLogger("ortsession.ort")
"""Logger receiving ONNX Runtime's own log messages (silent unless the application configures
logging: the package logger has a ``NullHandler``, as libraries should)."""
logging.getLogger("ortsession").addHandler(logging.NullHandler())

CPU_DEVICE: Final = C.OrtDevice(C.OrtDevice.cpu(), C.OrtDevice.default_memory(), 0)
"""The host device, as ORT's ``OrtDevice``."""

_PY_LEVELS: Final = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)

_env_lock = threading.Lock()
_env_ready = False
_default_severity = 2


def ort_version() -> str:
    """Return the version string of the ONNX Runtime in use."""
    return str(_ort.__version__)


def available_providers() -> list[str]:
    """Return ORT's long provider names available in this build, in ORT's priority order."""
    return list(C.get_available_providers())


def all_providers() -> list[str]:
    """Return every provider name ORT knows, whether or not this build has it."""
    return list(C.get_all_providers())


def _forward_log(severity: int, category: str, logid: str, location: str, message: str) -> None:
    level = _PY_LEVELS[min(max(severity, 0), 4)]
    if logger.isEnabledFor(level):
        logger.log(level, "[%s] %s", logid or category, clean_message(message))


def ensure_environment(log_severity_level: int | None = None) -> None:
    """Create ORT's environment once, with its log output routed to :data:`logger`.

    Args:
        log_severity_level: ORT's default logger severity (0 verbose … 4 fatal); ``None`` keeps
            the current one (2, warning, until :func:`ortsession.configure` changes it).
    """
    global _env_ready, _default_severity
    with _env_lock:
        if log_severity_level is not None:
            _default_severity = log_severity_level
        if not _env_ready or log_severity_level is not None:
            C.set_default_logger_callback(_forward_log, _default_severity)
            _env_ready = True


def environment_created() -> bool:
    """Tell whether :func:`ensure_environment` has run in this process."""
    return _env_ready


_PREFIX = re.compile(r"^\s*\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*")
_LOCATION = re.compile(r"(?:[A-Za-z]:)?[\w./\\-]+\.(?:cc|cpp|cxx|h|hpp|cu)(?::\d+)?\s*")


def _skip_signature(text: str) -> str:
    """Drop a leading C++ function signature (``void ns::f(const T<U>&) ``, ``<lambda(..)>``)."""
    head = text.split("(", 1)[0]
    if "::" not in head and not head.lstrip().startswith("<lambda"):
        return text
    depth = 0
    seen_call = False
    for i, ch in enumerate(text):
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
            if depth == 0 and ch == ")":
                seen_call = True
        elif ch == " " and depth == 0 and seen_call:
            return text[i + 1:]
    return text


def clean_message(message: str) -> str:
    """Strip ORT's status prefix, C++ source locations and function signatures."""
    text = _PREFIX.sub("", message.strip())
    parts: list[str] = []
    for piece in _LOCATION.split(text):
        parts.append(_skip_signature(piece) if parts else piece)
    text = re.sub(r"\s{2,}", " ", " ".join(p.strip() for p in parts if p.strip())).strip()
    return text.rstrip(".") or message.strip()


_TERMINATED = re.compile(r"terminat", re.IGNORECASE)


def translate(exc: BaseException, error: type[OrtError], context: str) -> OrtError:
    """Turn an ORT exception into ``error(context: cleaned ORT message)``.

    A run stopped by ``RunOptions.terminate()`` becomes :class:`TerminatedError` whatever
    ``error`` is; a missing or invalid model file stays a :class:`ModelLoadError`.
    """
    message = clean_message(str(exc))
    if isinstance(exc, (C.NoSuchFile, C.InvalidProtobuf, C.NoModel)):
        error = ModelLoadError
    if _TERMINATED.search(message) and "exiting due to terminate flag" in message.lower():
        error = TerminatedError
    return error(f"{context}: {message}" if message else context)


def is_ort_exception(exc: BaseException) -> bool:
    """Tell whether ``exc`` was raised by ORT's binding (as opposed to a bug of ours)."""
    return isinstance(exc, (C.Fail, C.InvalidArgument, C.NoSuchFile, C.NoModel, C.EngineError,
                            C.RuntimeException, C.InvalidProtobuf, C.ModelLoaded,
                            C.NotImplemented, C.InvalidGraph, C.EPFail, C.ModelLoadCanceled,
                            C.ModelRequiresCompilation, C.NotFound, RuntimeError,
                            # pybind11 turns std::invalid_argument/out_of_range (e.g. a bad
                            # config entry), std::bad_alloc and undecodable message bytes
                            # into these:
                            ValueError, IndexError, OverflowError, MemoryError))


def add_external_initializers(so: Any, names: list[str], values: list[Any]) -> None:
    """Give ORT's ``SessionOptions`` initializers from memory (OrtValues sharing host memory).

    Raises:
        OptionError: this ORT has no ``SessionOptions.add_external_initializers``.
    """
    add = getattr(so, "add_external_initializers", None)
    if add is None:
        raise OptionError(f"session option 'external_initializers' needs ONNX Runtime's "
                          f"SessionOptions.add_external_initializers, which onnxruntime "
                          f"{ort_version()} lacks")
    try:  # the binding reads ``._ortvalue`` of onnxruntime's Python-level OrtValue wrappers
        add(names, [_ort.OrtValue(v) for v in values])
    except Exception as exc:
        raise translate(exc, OptionError, "session option 'external_initializers'") from None


def add_external_data(so: Any, names: list[str], buffers: list[memoryview]) -> None:
    """Give ORT's ``SessionOptions`` the contents of external data files from memory.

    Raises:
        OptionError: this ORT has no ``add_external_initializers_from_files_in_memory``.
    """
    add = getattr(so, "add_external_initializers_from_files_in_memory", None)
    if add is None:
        raise OptionError(f"session option 'external_data' needs ONNX Runtime's "
                          f"SessionOptions.add_external_initializers_from_files_in_memory, "
                          f"which onnxruntime {ort_version()} lacks")
    try:
        add(names, buffers, [b.nbytes for b in buffers])
    except Exception as exc:
        raise translate(exc, OptionError, "session option 'external_data'") from None


_SPARSE_FORMATS: Final = {"ORT_SPARSE_COO": "coo", "ORT_SPARSE_CSRC": "csr",
                          "ORT_SPARSE_BLOCK_SPARSE": "block_sparse"}


def sparse_ortvalue(fmt: str, dense_shape: list[int], values: Any,
                    indices: tuple[Any, ...]) -> Any:
    """Make an OrtValue holding ORT's ``SparseTensor`` (format ``coo``/``csr``/``block_sparse``)."""
    make = {"coo": C.SparseTensor.sparse_coo_from_numpy,
            "csr": C.SparseTensor.sparse_csr_from_numpy,
            "block_sparse": C.SparseTensor.blocksparse_from_numpy}[fmt]
    return C.OrtValue.ort_value_from_sparse_tensor(make(dense_shape, values, *indices,
                                                        CPU_DEVICE))


def sparse_parts(st: Any) -> tuple[str, list[int], Any, tuple[Any, ...]]:
    """Read ORT's ``SparseTensor``: (format, dense shape, values, index arrays)."""
    fmt = _SPARSE_FORMATS.get(st.format.name)
    if fmt == "coo":
        indices: tuple[Any, ...] = (st.get_coo_data().indices(),)
    elif fmt == "csr":
        data = st.get_csrc_data()
        indices = (data.inner(), data.outer())
    elif fmt == "block_sparse":
        try:
            indices = (st.get_blocksparse_data().indices(),)
        except RuntimeError:  # the binding reads the int32 block indices as int64 and fails
            raise OrtError(f"onnxruntime {ort_version()}'s Python binding cannot read the "
                           f"indices of a block-sparse tensor") from None
    else:
        raise OrtError(f"ORT returned a sparse tensor of unknown format {st.format.name}")
    return fmt, list(st.dense_shape()), st.values(), indices


def is_sparse(value: Any) -> bool:
    """Tell whether ``value`` is ORT's ``SparseTensor`` (what ``run`` returns for one)."""
    return isinstance(value, C.SparseTensor)


def c_library_path() -> str | None:
    """Return the path of the ``libonnxruntime`` shared library shipped in the wheel, if any."""
    folder = os.path.dirname(os.path.abspath(C.__file__))
    for pattern in ("libonnxruntime.so*", "libonnxruntime*.dylib", "onnxruntime.dll"):
        found = sorted(glob.glob(os.path.join(folder, pattern)))
        if found:
            return found[-1]
    return None


def version_info() -> dict[str, Any]:
    """Return build facts of the ORT in use (version and build info string)."""
    return {"version": ort_version(), "build_info": str(C.get_build_info())}
