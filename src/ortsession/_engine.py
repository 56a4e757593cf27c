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

import logging
import re
import threading
from typing import Any, Final

import onnxruntime as _ort  # the single import of onnxruntime in the package
from onnxruntime.capi import _pybind_state as C

from ._errors import ModelLoadError, OrtError, TerminatedError

__all__ = [
    "C",
    "CPU_DEVICE",
    "HAS_RUN_ASYNC",
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

HAS_RUN_ASYNC: Final = hasattr(C.InferenceSession, "run_async")
"""Whether ORT's binding has ``InferenceSession.run_async`` (a run on ORT's intra-op thread pool
that calls back when done; ORT 1.16 and later)."""

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


def version_info() -> dict[str, Any]:
    """Return build facts of the ORT in use (version and build info string)."""
    return {"version": ort_version(), "build_info": str(C.get_build_info())}
