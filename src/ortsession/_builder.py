"""Session builder: parsed :class:`SessionOptions` in, an initialised ORT session out.

:func:`build_session` is the one place where a session is created: it applies the
process-wide settings (:mod:`._config`), turns every option into ORT's ``SessionOptions``, loads
the model with clear errors, and implements the provider fallback of the reference:

* a provider this ORT build lacks, or whose initialisation fails, with ``fallback_to_cpu=True``:
  the session is created on CPU, a :class:`ProviderFallbackWarning` is issued and
  :attr:`BuiltSession.fallback_reason` says why;
* the same with ``fallback_to_cpu=False``: :class:`~ortsession.ProviderError`.

It drives ORT's binding directly (``InferenceSession`` then ``initialize_session``), so ORT's own
"EP Error" banner is never printed.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import _config, _engine
from ._custom_ops import CustomOpLibrary, load_custom_op_library
from ._errors import CustomOpLibraryError, ModelLoadError, OptionError, ProviderError
from ._messages import clean_message
from ._options import SessionOptions
from ._ortlog import captured_log
from ._prechecks import check_external_data, check_model_bytes
from ._providers import CPU, Provider, short_name

__all__ = ["BuiltSession", "ProviderFallbackWarning", "build_session", "file_identity",
           "ort_session_options",
           "provider_options_for"]


class ProviderFallbackWarning(UserWarning):
    """A session runs on CPU because a requested execution provider is missing or failed."""


@dataclass
class BuiltSession:
    """An initialised ORT session and how it came to be.

    Attributes:
        ort: ORT's ``InferenceSession`` (typed by ``_protocols.OrtSession``).
        providers: the providers in effect, ORT long names (from ``ort.get_providers()``).
        fallback_reason: why the session fell back to CPU, or ``None`` if it did not.
    """

    ort: Any
    providers: tuple[str, ...]
    fallback_reason: str | None


def build_session(
    model: str | os.PathLike[str] | bytes | bytearray | memoryview,
    options: SessionOptions,
    extra_libraries: Sequence[CustomOpLibrary] = (),
    *,
    stacklevel: int = 2,
) -> BuiltSession:
    """Create and initialise an ORT session for ``model`` with ``options``.

    Args:
        model: a model file path, or the model's serialized bytes.
        options: parsed session options (:func:`~ortsession._options.parse_session_options`).
        extra_libraries: custom-op libraries to register besides ``options.custom_op_libraries``
            (used when ``Session.register_custom_op_library`` rebuilds the session).
        stacklevel: passed to :func:`warnings.warn` for the fallback warning, counted from the
            caller of this function (``2`` points at that caller, as in :mod:`warnings`).

    Returns:
        The session, the providers in effect, and the fallback reason if any.

    Raises:
        ModelLoadError: the model file is missing, a directory, empty or unreadable, or ORT
            cannot parse or load the model (the message names the path, or ``<bytes>``, and
            gives ORT's reason).
        ProviderError: a provider is missing or fails to start and ``fallback_to_cpu`` is off.
        CustomOpLibraryError: a custom-op library cannot be loaded or registered.
        OptionError: an option cannot apply here (an output directory that does not exist,
            thread settings that conflict with the process-wide thread pools).
        StateError: ORT refused to create the global thread pools.
    """
    config = _config.before_session()
    _engine.ensure_environment()
    source, label = _model_source(model)
    if options.optimized_model_path is not None and isinstance(source, str):
        _refuse_model_as_output(options.optimized_model_path, source)
    libraries = [load_custom_op_library(path) for path in options.custom_op_libraries]
    libraries += [lib for lib in extra_libraries if lib not in libraries]
    ort_options = ort_session_options(options, config, libraries)

    try:
        return _build(options, source, label, ort_options, libraries, stacklevel + 1)
    except ModelLoadError as exc:
        if libraries and "Domain already set" in str(exc):
            names = ", ".join(repr(lib.path) for lib in libraries)
            raise CustomOpLibraryError(
                f"custom-op libraries {names}: two of them register the same operator domain "
                f"(ONNX Runtime: 'Domain already set in registry'); a library may be loaded "
                f"once per session, and a copy of it under another path is a second library"
            ) from exc
        raise


def _build(options: SessionOptions, source: str | bytes, label: str, ort_options: Any,
           libraries: Sequence[CustomOpLibrary], stacklevel: int) -> BuiltSession:
    """Create the session on the requested providers, falling back to CPU as configured."""
    requested = options.providers
    available = _engine.available_providers()
    missing = [name for name in requested if name not in available]
    if missing:
        names = ", ".join(repr(short_name(name)) for name in missing)
        reason = (f"execution provider {names} is not available in this ONNX Runtime build "
                  f"(available: {', '.join(short_name(name) for name in available)})")
        if not options.fallback_to_cpu:
            raise ProviderError(f"{reason}; pass fallback_to_cpu=True to run on CPU instead")
        session = _create(ort_options, source, label, (CPU,), options)
        return _fell_back(session, reason, stacklevel)

    try:
        with captured_log() as log:
            session = _create(ort_options, source, label, requested, options)
    except _InitError as exc:
        # Tell a provider failure from a model problem: the model must work on CPU alone.
        session = _create(ort_options, source, label, (CPU,), options)
        others = ", ".join(repr(short_name(name)) for name in requested if name != CPU)
        reason = f"execution provider {others} failed to initialise: {exc.message}"
        if not options.fallback_to_cpu:
            raise ProviderError(
                f"{reason}; pass fallback_to_cpu=True to run on CPU instead"
            ) from exc.cause
        return _fell_back(session, reason, stacklevel)
    # Some providers fail to load with a log line only (onnxruntime-gpu without CUDA: "Failed
    # to create CUDAExecutionProvider"), and ORT goes on without them: that is a fallback too.
    dropped = [name for name in requested if name not in session.get_providers()]
    if dropped:
        names = ", ".join(repr(short_name(name)) for name in dropped)
        why = "; ".join(dict.fromkeys(log)) or "ONNX Runtime left it out without saying why"
        reason = f"execution provider {names} failed to initialise: {why}"
        if not options.fallback_to_cpu:
            raise ProviderError(f"{reason}; pass fallback_to_cpu=True to run on CPU instead")
        return _fell_back(session, reason, stacklevel)
    return BuiltSession(session, tuple(session.get_providers()), None)


def _fell_back(session: Any, reason: str, stacklevel: int) -> BuiltSession:
    warnings.warn(f"{reason}; the session runs on CPU", ProviderFallbackWarning,
                  stacklevel=stacklevel + 1)
    return BuiltSession(session, tuple(session.get_providers()), reason)


def _model_source(
    model: str | os.PathLike[str] | bytes | bytearray | memoryview,
) -> tuple[str | bytes, str]:
    """Check the model argument; return what ORT loads and how messages name it."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        if not data:
            raise ModelLoadError("cannot load model <bytes>: the model bytes are empty")
        check_model_bytes(data, "<bytes>")
        return data, "<bytes>"
    if not isinstance(model, (str, os.PathLike)):
        raise ModelLoadError(
            f"cannot load model: expected a path (str or os.PathLike) or bytes, "
            f"got {model!r} ({type(model).__name__})"
        )
    path = os.fspath(model)
    label = repr(path)
    if not os.path.exists(path):
        raise ModelLoadError(f"cannot load model {label}: no such file")
    if os.path.isdir(path):
        raise ModelLoadError(f"cannot load model {label}: is a directory, not a model file")
    if not os.path.isfile(path):  # a FIFO would block forever, a device be read without end
        raise ModelLoadError(f"cannot load model {label}: not a regular file (a FIFO, device "
                             f"or socket); give the model file itself")
    try:
        with open(path, "rb") as stream:
            empty = not stream.read(1)
    except OSError as exc:
        raise ModelLoadError(f"cannot load model {label}: cannot read it: "
                             f"{exc.strerror or exc}") from exc
    if empty:
        raise ModelLoadError(f"cannot load model {label}: the file is empty")
    if not _engine.CHECKS_EXTERNAL_DATA:
        check_external_data(path, label)
    return path, label


def file_identity(model: object) -> tuple[int, ...] | None:
    """Return what identifies a model file's content on disk, or ``None`` for model bytes.

    ``(device, inode, size, mtime, ctime)`` in nanoseconds: replacing the file (a new inode)
    or writing into it (a new mtime/ctime, which no user call can set back) changes it.
    """
    if not isinstance(model, (str, os.PathLike)):
        return None
    try:
        st = os.stat(model)
    except OSError:
        return (-1,)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _refuse_model_as_output(target: str, model: str) -> None:
    """Refuse an ``optimized_model_path`` that is the model file itself (or a link to it)."""
    try:
        same = os.path.exists(target) and os.path.samefile(target, model)
    except OSError:
        same = False
    if same or os.path.realpath(target) == os.path.realpath(model):
        raise OptionError(
            f"session option 'optimized_model_path'={target!r} is the model file {model!r} "
            f"itself (or a link to it): ONNX Runtime would overwrite the model with its "
            f"optimized version; choose another path"
        )


def _check_directory(field: str, path: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OptionError(
            f"session option {field!r}: directory {directory!r} of {path!r} does not exist"
        )
    if not os.access(directory, os.W_OK):
        raise OptionError(
            f"session option {field!r}: directory {directory!r} of {path!r} is not writable"
        )


def ort_session_options(
    options: SessionOptions, config: _config.RuntimeConfig, libraries: Sequence[CustomOpLibrary]
) -> Any:
    """Turn every field of ``options`` into ORT's ``SessionOptions``."""
    so = _engine.session_options()
    so.logid = options.log_id or config.log_id
    if options.session_log_severity_level is not None:
        so.log_severity_level = _engine.log_severity(options.session_log_severity_level)
    so.log_verbosity_level = options.session_log_verbosity_level
    so.graph_optimization_level = _engine.graph_optimization_level(
        options.graph_optimization_level.ort)
    so.execution_mode = _engine.execution_mode(options.execution_mode.ort)
    so.use_deterministic_compute = options.deterministic_compute
    so.enable_cpu_mem_arena = options.enable_cpu_mem_arena
    so.enable_mem_pattern = options.enable_mem_pattern
    _apply_threads(so, options)
    if options.optimized_model_path is not None:
        _check_directory("optimized_model_path", options.optimized_model_path)
        so.optimized_model_filepath = options.optimized_model_path
    if options.profile_file_prefix is not None:
        _check_directory("profile_file_prefix", options.profile_file_prefix)
        so.enable_profiling = True
        so.profile_file_prefix = options.profile_file_prefix
    for override in options.free_dimension_overrides:
        getattr(so, override.by.ort)(override.key, override.value)
    for key, value in options.config_entries.items():
        with _engine.Mapped(f"session option 'config_entries'[{key!r}]={value!r}", OptionError):
            so.add_session_config_entry(key, value)
    if options.external_initializers:
        from ._ortvalues import ortvalue_from_array

        _engine.add_external_initializers(
            so, list(options.external_initializers),
            [ortvalue_from_array(t.numpy(), t.element_type)
             for t in options.external_initializers.values()])
    if options.external_data:
        _engine.add_external_data(so, list(options.external_data),
                                  list(options.external_data.values()))
    for library in libraries:
        with _engine.Mapped(f"cannot register custom-op library {library.path!r}",
                            CustomOpLibraryError):
            so.register_custom_ops_library(library.path)
    return so


def _apply_threads(so: Any, options: SessionOptions) -> None:
    if _config.global_thread_pools_enabled():
        for field in ("intra_op_num_threads", "inter_op_num_threads"):
            if getattr(options, field):
                raise OptionError(
                    f"session option {field!r}={getattr(options, field)!r} cannot apply: this "
                    f"process runs sessions on the global thread pools "
                    f"(configure(use_global_thread_pools=True)); leave it 0 and size the pools "
                    f"with configure(global_{field}=...)"
                )
        so.use_per_session_threads = False
        return
    if options.disable_per_session_threads:
        raise OptionError(
            "session option 'disable_per_session_threads'=True needs the global thread pools: "
            "call ortsession.configure(use_global_thread_pools=True) before creating sessions"
        )
    so.intra_op_num_threads = options.intra_op_num_threads
    so.inter_op_num_threads = options.inter_op_num_threads


def provider_options_for(options: SessionOptions, providers: Sequence[str]) -> list[dict[str, str]]:
    """Return ORT's provider options for each of ``providers`` (CoreML fields resolved)."""
    return [options.coreml_options() if name == Provider.COREML.long_name
            else dict(options.provider_options.get(name, {})) for name in providers]


_LOAD_PREFIX = re.compile(r"^Load model (?:from )?.*? failed:\s*")


class _InitError(Exception):
    """ORT loaded the model but ``initialize_session`` failed (providers, kernels)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.message = clean_message(str(cause))

    def as_model_error(self, label: str) -> ModelLoadError:
        error = ModelLoadError(f"cannot create a session for model {label}: {self.message}")
        error.code = _engine.status_code(self.cause)
        return error


def _create(
    so: Any, source: str | bytes, label: str, providers: Sequence[str], options: SessionOptions
) -> Any:
    """Load the model and initialise it on ``providers``; raise :class:`_InitError` on the latter.

    On CPU alone an initialisation failure is the model's (e.g. a kernel is missing), so it is
    raised as :class:`~ortsession.ModelLoadError` at once.
    """
    try:
        session = _engine.inference_session(so, source)
    except Exception as exc:
        if not _engine.is_ort_exception(exc):
            raise
        # ORT repeats the path ("Load model from X failed:"); the label already names it.
        reason = _LOAD_PREFIX.sub("", clean_message(str(exc)))
        refused = ModelLoadError(f"cannot load model {label}: {reason}")
        refused.code = _engine.status_code(exc)
        raise refused from exc
    try:
        session.initialize_session(list(providers), provider_options_for(options, providers),
                                   set())
    except Exception as exc:
        if not _engine.is_ort_exception(exc):
            raise
        error = _InitError(exc)
        if tuple(providers) == (CPU,):
            raise error.as_model_error(label) from exc
        raise error from exc
    return session
