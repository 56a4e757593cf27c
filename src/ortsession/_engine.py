"""The one module that talks to ``onnxruntime`` directly.

Everything else in the package reaches ONNX Runtime through the names defined here:

* constructors of ORT's objects, typed by the protocols of ``_protocols``:
  :func:`inference_session`, :func:`session_options`, :func:`run_options`, :func:`io_binding`,
  the OrtValue helpers (:data:`ORTVALUE`, :func:`ortvalue_from_numpy`, :func:`empty_ortvalue`,
  :func:`ortvalue_from_raw`) and :func:`output_device`. No other module touches ORT's pybind
  module (``onnxruntime.capi._pybind_state``).
* :class:`Mapped` — ``with Mapped("run()", RunError): ...`` turns what ORT raises into an
  :class:`~ortsession.OrtError` subclass with a clean message (no C++ file paths, no
  ``[ONNXRuntimeError] : 1 : FAIL :`` prefix), chained to ORT's exception and keeping its status
  code (``OrtError.code``); :func:`translate` is the mapping itself.
* :func:`ensure_environment` — routes ORT's log output into Python :mod:`logging` (logger
  ``"ortsession.ort"``) so that no C++ noise is printed on stderr.

Every ORT distribution that provides the ``onnxruntime`` module (``onnxruntime``,
``onnxruntime-gpu``, vendor builds) from 1.20 on is supported. What an older binding lacks is
detected here, once, by feature (never by version number), and each user of a missing feature gets
a clear :class:`~ortsession.OrtError` from :func:`require` naming it:

* ``set_default_logger_callback`` (1.32+): without it ORT's log cannot be routed to Python, so it
  is silenced instead (every ORT logger at severity 4, fatal: :data:`LOG_FORWARDING`).
* ``set_global_thread_pool_sizes`` (1.23+): the global thread pools of
  ``configure(use_global_thread_pools=True)``.
* ``InferenceSession.input_meminfos`` (1.23+): ``memory_info_for_inputs()`` / ``_outputs()``.
* ``InferenceSession.set_ep_dynamic_options`` (1.24+): ``set_ep_dynamic_options()``.
* ``OrtValue.tensor_size_in_bytes`` (1.23+): computed from shape and element size instead.
* ``OrtValue.to_dlpack`` (1.21+): DLPack export of bfloat16/float8 tensors.
* exception classes added over time (``EPFail``, ``ModelLoadCanceled``, …): only those present
  are matched.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import threading
from typing import Any, Final

from ._devices import ort_device_kind
from ._errors import ModelLoadError, OptionError, OrtError, TerminatedError
from ._messages import clean_message, is_termination, status_in_message
from ._protocols import OrtIOBinding, OrtRunOptions, OrtSession, OrtValue

_EXTRAS_HINT: Final = (
    "ortsession needs ONNX Runtime, and no `onnxruntime` module is installed: install "
    "ortsession with the engine of your machine, `pip install 'ortsession[cpu]'` (the CPU "
    "wheel, onnxruntime) or `pip install 'ortsession[gpu]'` (onnxruntime-gpu), or install "
    "any other ONNX Runtime distribution that provides the `onnxruntime` module (1.20 or newer)"
)

try:
    import onnxruntime as _ort  # the single import of onnxruntime in the package
    from onnxruntime.capi import _pybind_state as C
except ModuleNotFoundError as _exc:  # pragma: no cover - exercised in a subprocess test
    if _exc.name != "onnxruntime":  # a broken install: ORT's own error says more
        raise
    raise ImportError(_EXTRAS_HINT) from None

__all__ = [
    "CPU_DEVICE",
    "ORTVALUE",
    "Mapped",
    "HAS_RUN_ASYNC",
    "available_providers",
    "ensure_environment",
    "logger",
    "has",
    "inference_session",
    "io_binding",
    "ort_version",
    "run_options",
    "session_options",
    "require",
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

PY_LEVELS: Final = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)

LOG_FORWARDING: Final = hasattr(C, "set_default_logger_callback")
"""True when this ORT routes its log to Python (1.32+); else its log is silenced (severity 4)."""

def _version() -> tuple[int, int]:
    parts = re.findall(r"\d+", str(_ort.__version__))[:2]
    return (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, 0)


CHECKS_EXTERNAL_DATA: Final = _version() >= (1, 24)
"""True when ORT itself refuses external data outside the model's folder (a behaviour, not an
API: the one place decided by version); before 1.24 ``_prechecks.check_external_data`` does it."""

SILENT: Final = 4
"""ORT's log severity "fatal": nothing is logged short of an abort."""

_FEATURES: Final = {  # name: (present in this binding, the first onnxruntime that has it)
    "set_global_thread_pool_sizes": (hasattr(C, "set_global_thread_pool_sizes"), "1.23"),
    "input_meminfos": (hasattr(C.InferenceSession, "input_meminfos"), "1.23"),
    "set_ep_dynamic_options": (hasattr(C.InferenceSession, "set_ep_dynamic_options"), "1.24"),
    "tensor_size_in_bytes": (hasattr(C.OrtValue, "tensor_size_in_bytes"), "1.23"),
    "to_dlpack": (hasattr(C.OrtValue, "to_dlpack"), "1.21"),
}


def has(feature: str) -> bool:
    """Tell whether this ORT's binding has ``feature`` (a key of ``_FEATURES``)."""
    return _FEATURES[feature][0]


def require(feature: str, what: str, error: type[OrtError] = OrtError) -> None:
    """Raise ``error`` saying that ``what`` needs ``feature``, which this ORT's binding lacks."""
    if not has(feature):
        since = _FEATURES[feature][1]
        raise error(f"{what} is not available with onnxruntime {ort_version()}: its Python "
                    f"binding lacks {feature} (added in onnxruntime {since}); upgrade "
                    f"onnxruntime (or the ONNX Runtime distribution in use) to {since} or newer")


ORTVALUE: Final[type[OrtValue]] = C.OrtValue
"""ORT's ``OrtValue`` class (for ``isinstance`` checks on the run path)."""


def inference_session(so: Any, source: str | bytes) -> OrtSession:
    """Load a model (a path or bytes) into ORT's ``InferenceSession``, not yet initialised."""
    session: OrtSession = C.InferenceSession(so, source, isinstance(source, str), False)
    return session


def session_options() -> Any:
    """Return a new ORT ``SessionOptions`` (its fields are set by ``_builder``)."""
    return C.SessionOptions()


def graph_optimization_level(name: str) -> Any:
    """Return ORT's ``GraphOptimizationLevel`` member named ``name`` (``ORT_ENABLE_ALL`` …)."""
    return getattr(C.GraphOptimizationLevel, name)


def execution_mode(name: str) -> Any:
    """Return ORT's ``ExecutionMode`` member named ``name`` (``ORT_SEQUENTIAL`` …)."""
    return getattr(C.ExecutionMode, name)


def run_options() -> OrtRunOptions:
    """Return a new ORT ``RunOptions`` with ORT's defaults, its log silenced where not routed.

    Without it, a run stopped by ``terminate()`` on an ORT before 1.32 prints ORT's
    "Exiting due to terminate flag" error line on stderr.
    """
    ro: OrtRunOptions = C.RunOptions()
    if not LOG_FORWARDING:
        ro.log_severity_level = SILENT
    return ro


def io_binding(session: OrtSession) -> OrtIOBinding:
    """Return a new ORT ``SessionIOBinding`` for ``session``."""
    binding: OrtIOBinding = C.SessionIOBinding(session)
    return binding


def ortvalue_from_numpy(arr: Any) -> OrtValue:
    """Make an OrtValue sharing the memory of a host numpy array of a numpy-native type."""
    ov: OrtValue = C.OrtValue.ortvalue_from_numpy(arr, CPU_DEVICE)
    return ov


def empty_ortvalue(shape: list[int], onnx_type: int) -> OrtValue:
    """Make a host OrtValue of ``shape`` and ONNX element type ``onnx_type``, ORT-allocated."""
    ov: OrtValue = C.OrtValue.ortvalue_from_shape_and_onnx_type(shape, onnx_type, CPU_DEVICE)
    return ov


def ortvalue_from_raw(raw: Any, onnx_type: int) -> OrtValue:
    """Make an OrtValue of ONNX element type ``onnx_type`` over a uint8/uint16 view of its bits."""
    ov: OrtValue = C.OrtValue.ortvalue_from_numpy_with_onnx_type(raw, onnx_type)
    return ov


def output_device(session: OrtSession, index: int) -> Any:
    """Return the ``OrtDevice`` where ``session`` places output ``index`` (host before 1.23)."""
    if not has("input_meminfos"):  # onnxruntime < 1.23: let ORT allocate on the host
        return CPU_DEVICE
    info = session.output_meminfos[index]
    kind = ort_device_kind(str(info.name))
    if kind is None:
        return CPU_DEVICE
    factory = getattr(C.OrtDevice, kind)
    return C.OrtDevice(factory(), C.OrtDevice.default_memory(), int(info.device_id))


def set_global_thread_pool_sizes(intra: int, inter: int) -> None:
    """Create ORT's global thread pools (``configure(use_global_thread_pools=True)``)."""
    C.set_global_thread_pool_sizes(intra, inter)


def tensor_size_in_bytes(ov: Any, bits: int) -> int:
    """Bytes of a tensor OrtValue's data, ``bits`` per element (sub-byte types packed)."""
    if has("tensor_size_in_bytes"):
        return int(ov.tensor_size_in_bytes())
    count = 1
    for dim in ov.shape():
        count *= int(dim)
    return (count * bits + 7) // 8


def log_severity(requested: int) -> int:
    """Return the severity to give ORT for a session or run that asks for ``requested``.

    As asked where ORT's log reaches Python, else 4 (fatal), so that nothing reaches stderr.
    A run's ``-1`` ("the session's") is silenced too there: a session's logger keeps the
    severity it had when it was created, warnings included (see :func:`captured_log`).
    """
    return requested if LOG_FORWARDING else SILENT


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
    level = PY_LEVELS[min(max(severity, 0), 4)]
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
            if LOG_FORWARDING:
                C.set_default_logger_callback(_forward_log, _default_severity)
            else:
                C.set_default_logger_severity(SILENT)
            _env_ready = True


def set_logger_severity(severity: int) -> None:
    """Set the severity of ORT's default logger (without log forwarding: its stderr output)."""
    C.set_default_logger_severity(severity)


def environment_created() -> bool:
    """Tell whether :func:`ensure_environment` has run in this process."""
    return _env_ready


def status_code(exc: BaseException) -> str | None:
    """Return ORT's status code of an exception raised by its binding (``None`` if it has none).

    The name of ORT's ``OrtErrorCode`` without its ``ORT_`` prefix (``"FAIL"``,
    ``"INVALID_ARGUMENT"``, ``"NO_SUCHFILE"`` …), read from the binding's exception class, or from
    the ``[ONNXRuntimeError] : N : CODE :`` prefix of a message that came without one.
    """
    for kind in type(exc).__mro__:
        code = _CODES.get(kind)
        if code is not None:
            return code
    return status_in_message(str(exc))


def translate(exc: BaseException, error: type[OrtError], context: str) -> OrtError:
    """Turn an ORT exception into ``error(context: cleaned ORT message)``, its status code kept.

    A run stopped by ``RunOptions.terminate()`` becomes :class:`TerminatedError` whatever
    ``error`` is; a missing or invalid model file stays a :class:`ModelLoadError`.
    """
    message = clean_message(str(exc))
    if isinstance(exc, _LOAD_ERRORS):
        error = ModelLoadError
    if is_termination(message):
        error = TerminatedError
    mapped_error = error(f"{context}: {message}" if message else context)
    mapped_error.code = status_code(exc)
    return mapped_error


class Mapped:
    """Context manager mapping what ORT's binding raises in its block to an :class:`OrtError`.

    ``with Mapped("run()", RunError): sess.run(...)`` turns an ORT failure into
    ``RunError("run(): <ORT's cleaned message>")`` (see :func:`translate`), chained to the ORT
    exception (``raise … from exc``) and carrying its status code (``OrtError.code``). The
    package's own errors pass through unchanged. Stateless, so one instance may be shared by
    threads; hot paths keep one per call site.

    The run calls themselves, where entering a ``with`` block costs a measurable share of a
    microsecond run, use the same mapping from a plain handler:
    ``try: sess.run(...) except Exception as exc: raise RUN_ERRORS.error(exc) from exc``.
    """

    __slots__ = ("context", "error_class")

    def __init__(self, context: str, error: type[OrtError]) -> None:
        """Map failures to ``error(f"{context}: ...")``."""
        self.context = context
        self.error_class = error

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if exc is not None and isinstance(exc, Exception) and not isinstance(exc, OrtError):
            raise translate(exc, self.error_class, self.context) from exc

    def error(self, exc: BaseException) -> OrtError:
        """Return the :class:`OrtError` that ``exc``, raised by ORT, maps to (to raise from it)."""
        return translate(exc, self.error_class, self.context)


def _classes(*names: str) -> tuple[type[BaseException], ...]:
    """ORT's exception classes of these names that this binding has (some are recent)."""
    return tuple(getattr(C, name) for name in names if isinstance(getattr(C, name, None), type))


_LOAD_ERRORS: Final = _classes("NoSuchFile", "InvalidProtobuf", "NoModel")
_CODES: Final = {getattr(C, name): code for name, code in (
    ("Fail", "FAIL"), ("InvalidArgument", "INVALID_ARGUMENT"), ("NoSuchFile", "NO_SUCHFILE"),
    ("NoModel", "NO_MODEL"), ("EngineError", "ENGINE_ERROR"),
    ("RuntimeException", "RUNTIME_EXCEPTION"), ("InvalidProtobuf", "INVALID_PROTOBUF"),
    ("ModelLoaded", "MODEL_LOADED"), ("NotImplemented", "NOT_IMPLEMENTED"),
    ("InvalidGraph", "INVALID_GRAPH"), ("EPFail", "EP_FAIL"),
    ("ModelLoadCanceled", "MODEL_LOAD_CANCELED"),
    ("ModelRequiresCompilation", "MODEL_REQUIRES_COMPILATION"), ("NotFound", "NOT_FOUND"))
    if isinstance(getattr(C, name, None), type)}
"""ORT's exception classes → the status code each stands for (``OrtErrorCode`` less ``ORT_``)."""
_ORT_ERRORS: Final = (
    *_classes("Fail", "InvalidArgument", "NoSuchFile", "NoModel", "EngineError",
              "RuntimeException", "InvalidProtobuf", "ModelLoaded", "NotImplemented",
              "InvalidGraph", "EPFail", "ModelLoadCanceled", "ModelRequiresCompilation",
              "NotFound"),
    RuntimeError,
    # pybind11 turns std::invalid_argument/out_of_range (e.g. a bad config entry),
    # std::bad_alloc and undecodable message bytes into these:
    ValueError, IndexError, OverflowError, MemoryError,
)


def is_ort_exception(exc: BaseException) -> bool:
    """Tell whether ``exc`` was raised by ORT's binding (as opposed to a bug of ours)."""
    return isinstance(exc, _ORT_ERRORS)


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
    # the binding reads ``._ortvalue`` of onnxruntime's Python-level OrtValue wrappers
    with Mapped("session option 'external_initializers'", OptionError):
        add(names, [_ort.OrtValue(v) for v in values])


def add_external_data(so: Any, names: list[str], buffers: list[memoryview]) -> None:
    """Give ORT's ``SessionOptions`` the contents of external data files from memory.

    Raises:
        OptionError: this ORT has no working ``add_external_initializers_from_files_in_memory``
            (it needs a model path before 1.24).
    """
    add = getattr(so, "add_external_initializers_from_files_in_memory", None)
    if add is None or _version() < (1, 24):  # before 1.24 it exists but ORT cannot use it
        raise OptionError(f"session option 'external_data' needs ONNX Runtime's "
                          f"SessionOptions.add_external_initializers_from_files_in_memory of "
                          f"onnxruntime 1.24 or newer (a model from bytes cannot use it before "
                          f"1.24); this is onnxruntime {ort_version()}")
    with Mapped("session option 'external_data'", OptionError):
        add(names, buffers, [b.nbytes for b in buffers])


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


def plain_session(model: str | bytes, session_options: Any, providers: list[str],
                  provider_options: list[dict[str, str]]) -> Any:
    """Return ORT's own Python ``onnxruntime.InferenceSession`` for ``model``.

    Only to time ortsession against plain onnxruntime (``bench --compare-raw``, see
    :mod:`._plain`): everything else drives ORT's binding (``C.InferenceSession``) directly.
    """
    return _ort.InferenceSession(model, session_options, providers=providers,
                                 provider_options=provider_options)
