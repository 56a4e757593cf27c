"""``Session``: a loaded model, its inspection, lifecycle and runs."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from operator import is_
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from . import _config, _engine
from ._builder import BuiltSession, build_session, file_identity
from ._collections import MemoryInfo, ModelMetadata, Outputs
from ._conversion import type_name
from ._custom_ops import CustomOpLibrary, load_custom_op_library
from ._errors import InputError, ModelLoadError, NotFoundError, OptionError, RunError, StateError
from ._options import SessionOptions, option_string, parse_session_options
from ._providers import short_name
from ._run import (
    InputSpec,
    bind_input_value,
    bind_output_tensor,
    bindable,
    check_output_names,
    check_target_array,
    copy_back,
    copy_into,
    has_c_values,
    has_ortvalues,
    prepare_feed,
    run_feed,
)
from ._run_options import RunOptions
from ._tensor import Tensor
from ._typeinfo import TypeInfo, typeinfo_from_nodearg

if TYPE_CHECKING:
    from ._iobinding import IOBinding

__all__ = ["Session", "session", "session_from_bytes"]

_INT64_MAX: Final = 2**63 - 1
_MEM_TYPES: Final = {-2: "cpu_input", -1: "cpu_output", 0: "default"}
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
        self._ort: Any = None
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
        self._inputs = tuple(typeinfo_from_nodearg(a) for a in sess.inputs_meta)
        self._outputs = tuple(typeinfo_from_nodearg(a) for a in sess.outputs_meta)
        self._initializers = tuple(typeinfo_from_nodearg(a) for a in sess.overridable_initializers)
        in_specs = tuple(InputSpec.from_info(i, True) for i in self._inputs)
        init_specs = tuple(InputSpec.from_info(i, False) for i in self._initializers)
        self._order = in_specs + init_specs
        self._specs = {s.name: s for s in self._order}
        self._required = tuple(s.name for s in in_specs if s.required)
        self._output_names = [o.name or "" for o in self._outputs]
        self._output_index = {n: i for i, n in enumerate(self._output_names)}
        self._exotic_outputs = frozenset(o.name for o in self._outputs
                                         if InputSpec.from_info(o, False).exotic)
        self._default_ro = _engine.run_options()
        self._local = threading.local()
        self._c_session: Any = None  # the C API session (sequences of bfloat16 …), on first use
        self._generation += 1
        self._ort = sess

    @property
    def _sess(self) -> Any:
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
        return list(self._output_names)

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
        if isinstance(key, str):
            for info in infos:
                if info.name == key:
                    return info
            raise NotFoundError(f"no {what} named {key!r}; {what} names: "
                                f"{[i.name for i in infos]}")
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if 0 <= key < len(infos):
                return infos[int(key)]
            raise NotFoundError(f"{what} index {key} out of range: the model has {len(infos)} "
                                f"{what}(s), indices 0..{len(infos) - 1}")
        raise NotFoundError(f"{what} must be given by name (str) or 0-based index (int), got "
                            f"{key!r}")

    def memory_info_for_inputs(self) -> Outputs:
        """Return where ORT expects each input: a collection indexed by position and name."""
        sess = self._sess
        if not _engine.has("input_meminfos"):
            return self._host_memory_infos("memory_info_for_inputs()", self.input_names())
        return self._memory_infos(sess.input_meminfos, self.input_names())

    def memory_info_for_outputs(self) -> Outputs:
        """Return where ORT places each output: a collection indexed by position and name."""
        sess = self._sess
        if not _engine.has("input_meminfos"):
            return self._host_memory_infos("memory_info_for_outputs()", self.output_names())
        return self._memory_infos(sess.output_meminfos, self.output_names())

    def _host_memory_infos(self, what: str, names: list[str]) -> Outputs:
        # onnxruntime < 1.23 cannot say; on the CPU provider alone the answer is known: host
        # memory, from the arena unless enable_cpu_mem_arena is off (what 1.23+ reports)
        if self.providers() != ["cpu"]:
            _engine.require("input_meminfos", f"{what} with providers {self.providers()}")
        info = MemoryInfo(name="Cpu", id=0, mem_type="default",
                          allocator_type="arena" if self._options.enable_cpu_mem_arena
                          else "device", device_type="cpu", device_mem_type="default",
                          vendor_id=0)
        return Outputs(names, [info] * len(names))

    @staticmethod
    def _memory_infos(infos: list[Any], names: list[str]) -> Outputs:
        entries = [MemoryInfo(
            name=str(m.name), id=int(m.device_id), mem_type=_MEM_TYPES.get(int(m.mem_type),
                                                                          str(int(m.mem_type))),
            allocator_type=str(m.allocator_type.name).replace("ORT_", "").replace(
                "_ALLOCATOR", "").lower(),
            device_type=_device_type(m), device_mem_type=str(m.device_mem_type.name).lower(),
            vendor_id=int(m.device_vendor_id)) for m in infos]
        return Outputs(names, entries)

    def metadata(self) -> ModelMetadata:
        """Return the model's :class:`ModelMetadata`."""
        meta = self._sess.model_meta
        version = int(meta.version)
        return ModelMetadata(
            producer_name=str(meta.producer_name), graph_name=str(meta.graph_name),
            graph_description=str(meta.graph_description), domain=str(meta.domain),
            description=str(meta.description), version=0 if version == _INT64_MAX else version,
            custom_metadata=dict(meta.custom_metadata_map))

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
            raise StateError(f"session for {self._source} is closed; create a new session")
        ro = self._default_ro if run_options is None else _ro(run_options)
        local = self._local
        cached = getattr(local, "into", None)
        if cached is not None and cached.matches(inputs, outputs):
            with _RUN_INTO_ERRORS:
                sess.run_with_iobinding(cached.binding, ro)
            result: Outputs = cached.result
            return result
        plan = self._bind_into(sess, inputs, outputs)
        if plan.binding is None:  # string/sequence/map inputs: ORT's binding cannot take them
            local.into = None
            bound = (not self._exotic_outputs.isdisjoint(plan.names)
                     or has_ortvalues(plan.feed))
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
            _ro(run_options)
        from . import _async

        return await _async.run_into(self, inputs, outputs, run_options)

    def _prepare_run(self, inputs: Any, output_names: Any, run_options: Any
                     ) -> tuple[Any, dict[str, Any], list[str], dict[str, int] | None, bool, Any]:
        """Validate a run (for :meth:`run`, :meth:`run_async` and the batcher), in one order.

        Returns:
            ``(ORT session, feed, output names, name index or None, whether the run needs an
            IO binding, ORT's run options)``.
        """
        sess = self._sess
        feed, ortvalues = prepare_feed(self._specs, self._order, self._required, inputs)
        if output_names is None:
            names = self._output_names
            index: dict[str, int] | None = self._output_index
            exotic = bool(self._exotic_outputs)
        else:
            names = check_output_names(output_names, self._output_index)
            index = None
            exotic = not self._exotic_outputs.isdisjoint(names)
        ro = self._default_ro if run_options is None else _ro(run_options)
        return sess, feed, names, index, exotic or ortvalues, ro

    def _bind_into(self, sess: Any, inputs: Any, outputs: Any) -> _IntoPlan:
        if not isinstance(outputs, Mapping) or not outputs:
            raise InputError(f"run_into(): outputs must be a non-empty dict of output name → "
                             f"preallocated Tensor, got {outputs!r}")
        feed, _ = prepare_feed(self._specs, self._order, self._required, inputs)
        names = list(outputs)
        checked = [self._check_target(name, target) for name, target in outputs.items()]
        targets = list(outputs.values())
        if not all(bindable(v) for v in feed.values()):
            return _IntoPlan(None, feed, inputs, outputs, names, targets, [], cacheable=False)
        given = (inputs if isinstance(inputs, Mapping)
                 else {s.name: v for s, v in zip(self._order, inputs)})
        binding = _engine.io_binding(sess)
        # A plan is reusable only when ORT reads every input straight from the caller's own
        # array: then in-place changes are seen, and nothing converted here can go stale.
        by_pointer = True
        for name, value in feed.items():
            bound = bind_input_value(binding, name, value)
            if bound is None:
                by_pointer = False
            else:
                feed[name] = bound  # keep the bound copy alive with the plan
                by_pointer = by_pointer and bound is _array_of(given.get(name))
        staged: list[tuple[int, str, Tensor, Any]] = []
        for i, (name, tensor) in enumerate(zip(names, checked)):
            extra = bind_output_tensor(binding, name, tensor)
            if extra is not None:
                staged.append((i, name, tensor, extra))
        return _IntoPlan(binding, feed, inputs, outputs, names, targets, staged,
                         cacheable=by_pointer and not staged)

    def _check_target(self, name: Any, target: Any, context: str = "run_into()") -> Tensor:
        i = self._output_index.get(name) if isinstance(name, str) else None
        if i is None:
            raise NotFoundError(f"{context}: unknown output {name!r}; the model's outputs are "
                                f"{self._output_names}")
        info = self._outputs[i]
        if isinstance(target, np.ndarray):
            check_target_array(target, name, context)  # before Tensor() would copy it
            target = Tensor(target)
        if not isinstance(target, Tensor):
            raise InputError(f"{context}: output {name!r} needs a preallocated Tensor (or a "
                             f"C-contiguous numpy array), got {type_name(target)}")
        spec = InputSpec.from_info(info, True)
        if spec.element_type is None:
            raise InputError(f"{context}: output {name!r} is a {info.type}, only tensor "
                             f"outputs can be preallocated")
        if target._etype is not spec.element_type:
            raise InputError(f"{context}: output {name!r} is {spec.element_type.type_name}, "
                             f"the preallocated tensor is {target.data_type}")
        shape = target.shape
        if spec.dims is not None and (len(shape) != len(spec.dims) or any(
                d >= 0 and d != s for d, s in zip(spec.dims, shape))):
            raise InputError(f"{context}: output {name!r} has shape {list(spec.dims)}, the "
                             f"preallocated tensor has shape {list(shape)}")
        if target._array is not None:
            check_target_array(target._array, name, context)
        return target

    def create_io_binding(self) -> IOBinding:
        """Return a new :class:`IOBinding` for this session."""
        from ._iobinding import IOBinding

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
            from ._iobinding import IOBinding

            if not isinstance(binding, IOBinding):
                raise InputError(f"run_with_iobinding(): expected an IOBinding (from "
                                 f"session.create_io_binding()), got {type_name(binding)}")
            raise InputError("run_with_iobinding(): the binding belongs to another session; "
                             "create one with this session's create_io_binding()")
        return binding._run(run_options)

    def __repr__(self) -> str:
        state = "closed" if self._ort is None else ", ".join(self.providers())
        return f"<Session {self._source} [{state}]>"


class _IntoPlan:
    """A bound ``run_into`` call, reusable while the caller passes the same objects."""

    __slots__ = ("binding", "cacheable", "feed", "in_dict", "in_keys", "in_len", "in_objs",
                 "in_shapes", "out_items", "out_keys", "out_objs", "result", "staged")

    @property
    def names(self) -> list[str]:
        """The output names, in the caller's order."""
        return self.result.names()

    def __init__(self, binding: Any, feed: dict[str, Any], inputs: Any,
                 outputs: Mapping[str, Any], names: list[str], targets: list[Any],
                 staged: list[tuple[int, str, Tensor, Any]], cacheable: bool) -> None:
        self.binding = binding
        self.feed = feed  # what ORT reads by pointer must live as long as the binding
        self.result = Outputs(names, targets)
        self.staged = staged
        self.cacheable = cacheable
        self.in_dict = isinstance(inputs, dict)
        self.in_keys = frozenset(inputs) if self.in_dict else frozenset()
        self.in_objs = tuple(inputs.values() if isinstance(inputs, Mapping) else inputs)
        self.in_len = len(self.in_objs)
        # ORT reads each bound array with the shape it had when bound: an array reshaped in
        # place since then must be bound again
        arrays = [a for a in map(_array_of, self.in_objs) if a is not None]
        self.in_shapes = tuple((a, a.shape) for a in arrays)
        self.out_items = tuple(outputs.items())
        self.out_keys = frozenset(outputs)
        self.out_objs = tuple(outputs.values())

    def matches(self, inputs: Any, outputs: Any) -> bool:
        """Tell whether ``inputs``/``outputs`` are the very objects this plan bound.

        Hot path of a repeated ``run_into``: C-level identity checks, no Python loop over
        the values.
        """
        kind = type(inputs)
        if kind is dict:
            if not self.in_dict or inputs.keys() != self.in_keys:
                return False
            values = inputs.values()
        elif kind is list or kind is tuple:
            if self.in_dict or len(inputs) != self.in_len:
                return False
            values = inputs
        else:
            return False
        if not all(map(is_, values, self.in_objs)):
            return False
        for arr, shape in self.in_shapes:
            if arr.shape != shape:
                return False
        return (type(outputs) is dict and outputs.keys() == self.out_keys
                and all(map(is_, outputs.values(), self.out_objs)))

    def finish(self) -> None:
        """Copy outputs that ORT could not write in place into the caller's tensors."""
        if self.staged:
            copy_back(self.binding, self.staged, "run_into()")

    def fill(self, values: list[Any]) -> None:
        """Copy the outputs of an unbound run into the caller's tensors."""
        for (name, target), value in zip(self.out_items, values):
            copy_into(target, value, name, "run_into()")


def _array_of(value: Any) -> Any:
    if type(value) is Tensor:
        return value._array
    return value if type(value) is np.ndarray else None


def _ro(run_options: Any) -> Any:
    if not isinstance(run_options, RunOptions):
        raise OptionError(f"run_options must be a RunOptions (from ortsession.run_options()), "
                          f"got {type_name(run_options)}")
    return run_options._ro


def _device_type(m: Any) -> str:
    name = str(m.name).lower()
    if name.startswith(("cpu", "cudapinned")) or "cpu" in name:
        return "cpu"
    return "gpu" if name.startswith(("cuda", "hip", "dml", "webgpu")) else name


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
