"""``Session``: a loaded model, its inspection, lifecycle and runs."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any, Final

from . import _config, _engine
from ._builder import BuiltSession, build_session, file_identity
from ._conversion import type_name
from ._custom_ops import CustomOpLibrary, load_custom_op_library
from ._errors import InputError, ModelLoadError, OptionError, RunError, StateError
from ._execution import has_c_values, has_ortvalues, ort_run_options, run_feed
from ._feeds import check_output_names, prepare_feed
from ._fields import option_string
from ._iobinding import IOBinding
from ._model_info import ModelMetadata, host_memory_infos, memory_infos, model_metadata
from ._options import SessionOptions, parse_session_options
from ._outputs import Outputs
from ._preallocated import bind_into
from ._protocols import OrtRunOptions, OrtSession
from ._providers import short_name
from ._run_options import RunOptions
from ._signature import Signature
from ._tensor import Tensor
from ._typeinfo import TypeInfo, find_info

__all__ = ["Session", "session", "session_from_bytes"]

_RUN_INTO_ERRORS: Final = _engine.Mapped("run_into()", RunError)


class Session:
    """A model loaded into ONNX Runtime, ready to inspect and run.

    Create one with :func:`ortsession.session` or :func:`ortsession.session_from_bytes`. Runs are
    thread-safe. Use it as a context manager, or call :meth:`close`, to free it.
    """

    def __init__(self, model: str | bytes, options: SessionOptions, source: str) -> None:
        """Load ``model`` (a path or bytes) with parsed ``options``; prefer :func:`session`."""
        self._model = model
        self._source = source
        self._options = options
        self._libraries: list[CustomOpLibrary] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._generation = 0
        self._ort: OrtSession | None = None
        self._built: BuiltSession | None = None
        self._identity = file_identity(model)  # the file's content as it is opened
        built = build_session(model, options, (), stacklevel=4)  # warn at the caller
        if file_identity(model) != self._identity:
            raise ModelLoadError(f"cannot load model {source}: the file changed while it was "
                                 f"being loaded; try again once it is complete")
        self._install(built)
        _config.track(self)

    # -- construction ---------------------------------------------------------------------
    def _install(self, built: BuiltSession) -> None:
        sess = built.ort
        self._built = built
        signature = Signature.of(sess)
        self._signature = signature
        self._inputs = signature.inputs
        self._outputs = signature.outputs
        self._initializers = signature.initializers
        self._default_ro = _engine.run_options()
        self._local = threading.local()
        self._c_session: Any = None  # the C API session (sequences of bfloat16 …), on first use
        self._generation += 1
        self._ort = sess

    @property
    def _sess(self) -> OrtSession:
        sess = self._ort
        if sess is None:
            raise StateError(f"session for {self._source} is closed; create a new session")
        return sess

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._ort is None

    @property
    def fallback_reason(self) -> str | None:
        """Why a requested provider was replaced by CPU, or ``None`` when there was no fallback."""
        return self._built.fallback_reason if self._built is not None else None

    @property
    def options(self) -> SessionOptions:
        """The validated options the session was created with."""
        return self._options

    @property
    def model_path(self) -> str | None:
        """The model file path, or ``None`` for a session created from bytes."""
        return self._model if isinstance(self._model, str) else None

    # -- inspection -----------------------------------------------------------------------
    def input_names(self) -> list[str]:
        """Return the model's input names, in order (overridable initializers excluded)."""
        self._sess  # noqa: B018 — raises StateError when closed
        return [i.name or "" for i in self._inputs]

    def output_names(self) -> list[str]:
        """Return the model's output names, in order."""
        self._sess  # noqa: B018
        return list(self._signature.output_names)

    def overridable_initializer_names(self) -> list[str]:
        """Return the names of initializers that inputs may override."""
        self._sess  # noqa: B018
        return [i.name or "" for i in self._initializers]

    def input_count(self) -> int:
        """Return the number of inputs."""
        self._sess  # noqa: B018
        return len(self._inputs)

    def output_count(self) -> int:
        """Return the number of outputs."""
        self._sess  # noqa: B018
        return len(self._outputs)

    def overridable_initializer_count(self) -> int:
        """Return the number of overridable initializers."""
        self._sess  # noqa: B018
        return len(self._initializers)

    def input_info(self, name_or_index: str | int) -> TypeInfo:
        """Return the :class:`TypeInfo` of an input, by name or 0-based index."""
        return self._info(self._inputs, "input", name_or_index)

    def output_info(self, name_or_index: str | int) -> TypeInfo:
        """Return the :class:`TypeInfo` of an output, by name or 0-based index."""
        return self._info(self._outputs, "output", name_or_index)

    def overridable_initializer_info(self, name_or_index: str | int) -> TypeInfo:
        """Return the :class:`TypeInfo` of an overridable initializer, by name or index."""
        return self._info(self._initializers, "overridable initializer", name_or_index)

    def _info(self, infos: tuple[TypeInfo, ...], what: str, key: str | int) -> TypeInfo:
        self._sess  # noqa: B018
        return find_info(infos, what, key)

    def memory_info_for_inputs(self) -> Outputs:
        """Return where ORT expects each input: a collection indexed by position and name."""
        sess = self._sess
        if not _engine.has("input_meminfos"):
            return host_memory_infos("memory_info_for_inputs()", self.input_names(),
                                     self.providers(), self._options.enable_cpu_mem_arena)
        return memory_infos(sess.input_meminfos, self.input_names())

    def memory_info_for_outputs(self) -> Outputs:
        """Return where ORT places each output: a collection indexed by position and name."""
        sess = self._sess
        if not _engine.has("input_meminfos"):
            return host_memory_infos("memory_info_for_outputs()", self.output_names(),
                                     self.providers(), self._options.enable_cpu_mem_arena)
        return memory_infos(sess.output_meminfos, self.output_names())

    def metadata(self) -> ModelMetadata:
        """Return the model's :class:`ModelMetadata`."""
        return model_metadata(self._sess.model_meta)

    def providers(self) -> list[str]:
        """Return the short names of the execution providers in effect, in priority order."""
        return [short_name(p) for p in self._sess.get_providers()]

    # -- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Release the session. Idempotent; any later use raises :class:`StateError`.

        Runs already in progress on other threads finish normally.
        """
        with self._lock:
            self._ort = None
            self._local = threading.local()
            self._c_session = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def end_profiling(self) -> str | None:
        """Stop profiling and return the JSON trace path (``None`` when profiling is off)."""
        sess = self._sess
        if not self._options.profile_file_prefix:
            return None
        with _engine.Mapped("end_profiling()", StateError):
            path = str(sess.end_profiling())
        if path and not os.path.isfile(path):  # ORT only logs that it could not write the file
            raise StateError(f"end_profiling(): ONNX Runtime could not write the profile file "
                             f"{os.path.abspath(path)!r} (profile_file_prefix="
                             f"{self._options.profile_file_prefix!r})")
        return os.path.abspath(path) if path else None

    def profiling_start_time_ns(self) -> int:
        """Return when profiling started, in nanoseconds since the epoch (0 when off)."""
        return int(self._sess.get_profiling_start_time_ns)

    def set_ep_dynamic_options(self, opts: Mapping[Any, Any]) -> None:
        """Pass dynamic options to the execution providers; keys and values are stringified."""
        if not isinstance(opts, Mapping):
            raise OptionError(f"set_ep_dynamic_options(): expected a dict, got {type_name(opts)}")
        strings = {option_string(f"set_ep_dynamic_options() key {k!r}", k):
                   option_string(f"set_ep_dynamic_options() value of {k!r}", v)
                   for k, v in opts.items()}
        sess = self._sess
        _engine.require("set_ep_dynamic_options", "set_ep_dynamic_options()", OptionError)
        with _engine.Mapped("set_ep_dynamic_options()", OptionError):
            sess.set_ep_dynamic_options(strings)

    def register_custom_op_library(self, path_or_handle: str | os.PathLike[str] |
                                   CustomOpLibrary) -> None:
        """Load a custom-op library and rebuild the session with it.

        The session keeps its options, inputs and outputs; IO bindings made before the
        rebuild raise :class:`StateError` when used. Registering a library the session already
        has (through ``custom_op_libraries`` or an earlier call) changes nothing.

        The rebuild reloads the model file: if it was modified or replaced since the session
        was opened, :class:`StateError` is raised and the session keeps its model.
        """
        self._sess  # noqa: B018
        lib = (path_or_handle if isinstance(path_or_handle, CustomOpLibrary)
               else load_custom_op_library(path_or_handle))
        if lib in self._libraries or lib.path in self._options.custom_op_libraries:
            return
        libraries = [*self._libraries, lib]
        self._check_same_file()
        built = build_session(self._model, self._options, tuple(libraries), stacklevel=3)
        self._check_same_file()
        with self._lock:
            if self._ort is None:
                raise StateError(f"session for {self._source} was closed during the rebuild")
            self._libraries = libraries
            self._install(built)

    def _check_same_file(self) -> None:
        """Refuse a rebuild that would load another model than the one the session opened."""
        if file_identity(self._model) != self._identity:
            raise StateError(
                f"register_custom_op_library(): the model file {self._source} was modified or "
                f"replaced since the session was opened, so a rebuild would load another "
                f"model; the session keeps running the model it opened (create a new session "
                f"to load the file as it is now)")

    @property
    def generation(self) -> int:
        """Incremented by each rebuild (:meth:`register_custom_op_library`)."""
        return self._generation

    # -- running --------------------------------------------------------------------------
    def run(self, inputs: Mapping[str, Any] | list[Any] | tuple[Any, ...],
            output_names: list[str] | tuple[str, ...] | None = None,
            run_options: RunOptions | None = None) -> Outputs:
        """Run the model.

        Args:
            inputs: a dict keyed by input (or overridable initializer) name, or a list/tuple in
                model input order that may continue with overridable initializers. Values:
                ``Tensor``, numpy arrays, Python scalars/lists (converted to the declared element
                type), lists for sequences, dicts for maps, ``optional(...)``/``None`` for
                optional inputs (which may also be left out).
            output_names: outputs to compute, in the order wanted (default: all).
            run_options: :class:`RunOptions` (tag, log levels, terminate).

        Returns:
            :class:`Outputs`, indexed by position and by name.

        Raises:
            InputError: unknown/missing input, too many values, wrong element type, rank or
                fixed dimension (checked before ORT runs).
            NotFoundError: unknown output name.
            RunError: ORT failed during the run; :class:`TerminatedError` after ``terminate()``.
        """
        sess, feed, names, index, bound, ro = self._prepare_run(inputs, output_names,
                                                               run_options)
        if bound and has_c_values(feed):  # a sequence of bfloat16, float8, int4 …
            return Outputs(names, self._c_run(feed, names, run_options), index)
        return Outputs(names, run_feed(sess, feed, names, ro, bound, "run()"), index)

    def _c_run(self, feed: dict[str, Any], names: list[str],
               run_options: RunOptions | None) -> list[Any]:
        """Run through ORT's C API (see ``_capi``): sequences the Python binding cannot build."""
        if run_options is not None:
            raise InputError("run(): run options cannot apply to a run with a sequence of a "
                             "type numpy lacks (it goes through ORT's C API)")
        from ._capi import CSession

        with self._lock:
            c_session = self._c_session
            if c_session is None:
                c_session = CSession(self._model, self._options)
                self._c_session = c_session
        result: list[Any] = c_session.run(feed, names, "run()")
        return result

    def run_into(self, inputs: Mapping[str, Any] | list[Any] | tuple[Any, ...],
                 outputs: Mapping[str, Tensor],
                 run_options: RunOptions | None = None) -> Outputs:
        """Run the model, writing outputs into the caller's preallocated tensors.

        Args:
            inputs: as for :meth:`run`.
            outputs: ``{output name: Tensor}`` of the declared element type and shape. ORT
                writes into these buffers; the returned :class:`Outputs` holds the same objects
                (only the outputs given are computed). Repeating a call with the same input
                and output objects reuses the binding: no allocation, no re-validation.
            run_options: :class:`RunOptions` (tag, log levels, terminate).

        Raises:
            InputError: a preallocated tensor of the wrong type or shape (before running), or
                any input error of :meth:`run`.
        """
        sess = self._ort
        if sess is None:
            sess = self._sess  # raises StateError
        ro = self._default_ro if run_options is None else ort_run_options(run_options)
        local = self._local
        cached = getattr(local, "into", None)
        if cached is not None and cached.matches(inputs, outputs):
            try:  # not a with block: the hot path (see _engine.Mapped)
                sess.run_with_iobinding(cached.binding, ro)
            except Exception as exc:
                raise _RUN_INTO_ERRORS.error(exc) from exc
            result: Outputs = cached.result
            return result
        signature = self._signature
        plan = bind_into(signature, sess, inputs, outputs)
        if plan.binding is None:  # string/sequence/map inputs: ORT's binding cannot take them
            local.into = None
            bound = signature.needs_binding(plan.names, has_ortvalues(plan.feed))
            plan.fill(run_feed(sess, plan.feed, plan.names, ro, bound, "run_into()"))
            return plan.result
        with _RUN_INTO_ERRORS:
            sess.run_with_iobinding(plan.binding, ro)
        plan.finish()
        local.into = plan if plan.cacheable else None
        return plan.result

    # -- asynchronous runs (the machinery is in _async.py) ---------------------------------
    async def run_async(self, inputs: Mapping[str, Any] | list[Any] | tuple[Any, ...],
                        output_names: list[str] | tuple[str, ...] | None = None,
                        run_options: RunOptions | None = None) -> Outputs:
        """Run the model without blocking the event loop: ``await session.run_async(...)``.

        Takes the arguments of :meth:`run`, returns what it returns and raises the same errors
        with the same messages. The run goes to ONNX Runtime's own ``run_async`` where it can
        (else to a thread pool); cancelling the awaiting task terminates the run, and the
        cancellation completes once ORT has stopped. ``terminate()`` on ``run_options`` stops
        the run too; cancelling never changes ``run_options``.
        """
        from . import _async

        return await _async.run(self, inputs, output_names, run_options)

    async def run_into_async(self, inputs: Mapping[str, Any] | list[Any] | tuple[Any, ...],
                             outputs: Mapping[str, Tensor],
                             run_options: RunOptions | None = None) -> Outputs:
        """:meth:`run_into` without blocking the event loop: ``await session.run_into_async(...)``.

        Same arguments, result and errors as :meth:`run_into`; the run takes a worker thread
        (ORT has no asynchronous IO binding). Cancelling the awaiting task terminates the run.
        """
        self._sess  # noqa: B018 — raises StateError when closed
        if run_options is not None:
            ort_run_options(run_options)  # a wrong run_options is refused now
        from . import _async

        return await _async.run_into(self, inputs, outputs, run_options)

    def _prepare_run(self, inputs: Any, output_names: Any, run_options: Any
                     ) -> tuple[OrtSession, dict[str, Any], list[str], dict[str, int] | None,
                                bool, OrtRunOptions]:
        """Validate a run (for :meth:`run`, :meth:`run_async` and the batcher), in one order.

        Returns:
            ``(ORT session, feed, output names, name index or None, whether the run needs an
            IO binding, ORT's run options)``.
        """
        sess = self._sess
        signature = self._signature
        feed, ortvalues = prepare_feed(signature.specs, signature.order, signature.required,
                                       inputs)
        if output_names is None:
            names = signature.output_names
            index: dict[str, int] | None = signature.output_index
            bound = ortvalues or signature.all_outputs_bound
        else:
            names = check_output_names(output_names, signature.output_index)
            index = None
            bound = signature.needs_binding(names, ortvalues)
        ro = self._default_ro if run_options is None else ort_run_options(run_options)
        return sess, feed, names, index, bound, ro

    def create_io_binding(self) -> IOBinding:
        """Return a new :class:`IOBinding` for this session."""
        return IOBinding(self)

    def run_with_iobinding(self, binding: IOBinding, run_options: RunOptions | None = None
                           ) -> Outputs:
        """Run with the inputs and outputs bound in ``binding``; returns its outputs.

        Raises:
            InputError: ``binding`` is not an :class:`IOBinding` of this session, or it lacks
                an output or a required input.
            StateError: the session is closed, or was rebuilt after the binding was made.
            RunError: ORT failed during the run; :class:`TerminatedError` after ``terminate()``.
        """
        if getattr(binding, "_session", None) is not self:
            if not isinstance(binding, IOBinding):
                raise InputError(f"run_with_iobinding(): expected an IOBinding (from "
                                 f"session.create_io_binding()), got {type_name(binding)}")
            raise InputError("run_with_iobinding(): the binding belongs to another session; "
                             "create one with this session's create_io_binding()")
        return binding._run(run_options)

    def __repr__(self) -> str:
        state = "closed" if self._ort is None else ", ".join(self.providers())
        return f"<Session {self._source} [{state}]>"


def session(model_path: str | os.PathLike[str], opts: Mapping[str, Any] | None = None, /,
            **fields: Any) -> Session:
    """Load an ONNX model from a file.

    Args:
        model_path: path of the ``.onnx`` file.
        opts: session options as a dict (the reference's table); see ``docs/options.md``.
        **fields: the same options as keyword arguments (a field may not appear in both).

    Raises:
        OptionError: invalid options. ModelLoadError: the model cannot be read or loaded.
        ProviderError: a provider is unavailable and ``fallback_to_cpu`` is false.
    """
    if not isinstance(model_path, (str, os.PathLike)):
        hint = (" (for a model in memory use session_from_bytes(model_bytes))"
                if isinstance(model_path, (bytes, bytearray, memoryview)) else "")
        raise ModelLoadError(f"session(): model_path must be a str or os.PathLike, got "
                             f"{type_name(model_path)}{hint}")
    path = os.fspath(model_path)
    options = parse_session_options(opts, fields)
    return Session(path, options, source=repr(path))


def session_from_bytes(model_bytes: bytes | bytearray | memoryview,
                       opts: Mapping[str, Any] | None = None, /, **fields: Any) -> Session:
    """Load an ONNX model from bytes in memory (``bytes``, ``bytearray`` or ``memoryview``).

    Raises the same errors as :func:`session`.
    """
    if not isinstance(model_bytes, (bytes, bytearray, memoryview)):
        raise ModelLoadError(f"session_from_bytes(): model_bytes must be bytes, bytearray or "
                             f"memoryview, got {type_name(model_bytes)}")
    options = parse_session_options(opts, fields)
    return Session(bytes(model_bytes), options, source="<bytes>")
