"""The Python half of the Lua module: its functions and the methods of its objects.

Every function the Lua module calls lives on :class:`Bridge`: the module functions and object
methods here, the run paths in :class:`._runs.Runs`, the conversions of Lua values in
:class:`._convert.Converter`. Each takes Lua values as lupa hands them over, converts them, calls
the public ``ortsession`` API, and returns Lua-ready values; a failure the package foresees
returns ``(None, message)``, Lua's ``nil, err``, with the message of the Python exception.

Nothing here re-implements the API's logic: options, inputs and values go through the same
functions as in Python, so the checks and the messages are the same. The Lua-specific rules are
the 1-based indices, the Lua table shapes and ``value, err``. Which function becomes which Lua
method or module function is declared once, in :data:`EXPORTS`; ``onnxruntime.lua`` builds its
objects from it.
"""

from __future__ import annotations

import functools
import os
import warnings
import weakref
from collections.abc import Callable
from typing import Any, Final

import ortsession as ort
from ortsession import (
    CustomOpLibrary,
    IOBinding,
    Optional,
    Outputs,
    RunOptions,
    Session,
    Tensor,
)

from ._api import Exports, lua_table
from ._convert import decoded, error_message, fs_path
from ._runs import Runs

__all__ = ["EXPORTS", "Bridge"]

EXPORTS: Final = Exports(
    classes=(("session_", "session"), ("tensor_", "tensor"), ("run_options_", "run_options"),
             ("binding_", "io_binding"), ("optional_", "optional"),
             ("library_", "custom_op_library")),
    functions=frozenset({"session_from_bytes", "tensor_from_bytes"}),
    # called by name from onnxruntime.lua, which shapes their results itself
    internal=frozenset({"run", "run_plan", "run_into", "run_into_plan", "run_with_iobinding",
                        "tensor_to_table", "binding_get_outputs", "repr"}),
)
"""Where each ``lua_`` function of :class:`Bridge` goes in the Lua module."""


class Bridge(Runs):
    """The functions the Lua module calls, bound to one lupa ``LuaRuntime``.

    Args:
        runtime: the runtime (created with ``encoding=None, unpack_returned_tuples=True``).
        lua_type: lupa's ``lua_type`` function (``None`` for Python objects).
    """

    def __init__(self, runtime: Any, lua_type: Callable[[Any], str | None]) -> None:
        """Bind to ``runtime``; :meth:`attach` completes the setup once the Lua half exists."""
        super().__init__(runtime, lua_type)
        self._warn: Any = None
        self._binding_sessions: weakref.WeakKeyDictionary[IOBinding, Session] = (
            weakref.WeakKeyDictionary())

    def attach(self, internals: Any) -> None:
        """Receive the Lua half's internals (``wrap``, ``classify``, ``warn``)."""
        super().attach(internals)
        self._warn = internals[b"warn"]

    def table(self) -> Any:
        """Return the Lua table of bridge functions that ``onnxruntime.lua`` receives.

        Its ``api`` entry says which are methods and module functions (:data:`EXPORTS`).
        """
        functions: dict[bytes, Any] = {}
        for name in dir(self):
            if name.startswith("lua_"):
                functions[name[4:].encode()] = getattr(self, name)
        names = [name[4:] for name in dir(self) if name.startswith("lua_")]
        functions[b"api"] = lua_table(self._table_from, EXPORTS.lua_table(names))
        return self._table_from(functions)

    def _session(self, create: Callable[[], Session]) -> Session:
        """Create a session; a provider fallback becomes a Lua warning (see ``warn``)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ort.ProviderFallbackWarning)
            session = create()
        for w in caught:
            if issubclass(w.category, ort.ProviderFallbackWarning):
                self._warn(str(w.message).encode("utf-8", "replace"))
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return session

    # -- module functions -----------------------------------------------------------------
    def lua_configure(self, opts: Any = None) -> Any:
        ort.configure(self.options(opts))
        return True

    def lua_session(self, model_path: Any = None, opts: Any = None) -> Any:
        path = fs_path(model_path)
        options = self.options(opts)
        return self.to_lua(self._session(lambda: ort.session(path, options)))

    def lua_session_from_bytes(self, model_bytes: Any = None, opts: Any = None) -> Any:
        data = model_bytes if type(model_bytes) is bytes else self.from_lua(model_bytes)
        options = self.options(opts)
        return self.to_lua(self._session(lambda: ort.session_from_bytes(data, options)))

    def lua_tensor(self, type_: Any = None, shape: Any = None, data: Any = None) -> Any:
        return self.to_lua(ort.tensor(decoded(type_), self.from_lua(shape, ints=True),
                                      self.from_lua(data)))

    def lua_tensor_from_bytes(self, type_: Any = None, shape: Any = None,
                              data: Any = None) -> Any:
        raw = data if type(data) is bytes else self.from_lua(data)
        return self.to_lua(ort.tensor_from_bytes(decoded(type_), self.from_lua(shape, ints=True),
                                                 raw))

    def lua_optional(self, value: Any = None, type_info: Any = None) -> Any:
        info = (self._mapping(type_info, nested=False)
                if self.type_of(type_info) == "table" else self.from_lua(type_info))
        return self.to_lua(ort.optional(self.from_lua(value), info))

    def lua_run_options(self, opts: Any = None) -> Any:
        ro = ort.run_options(self.options(opts))
        self._run_options.add(ro)
        return self.to_lua(ro)

    def lua_load_custom_op_library(self, path: Any = None) -> Any:
        lib = fs_path(path) if type(path) is bytes else self.from_lua(path)
        return self.to_lua(ort.load_custom_op_library(lib))

    def lua_version(self) -> Any:
        return ort.version().encode("utf-8")

    def lua_providers(self) -> Any:
        return self.to_lua(ort.providers())

    # -- session --------------------------------------------------------------------------
    def lua_session_input_names(self, s: Session) -> Any:
        return self.to_lua(s.input_names())

    def lua_session_output_names(self, s: Session) -> Any:
        return self.to_lua(s.output_names())

    def lua_session_overridable_initializer_names(self, s: Session) -> Any:
        return self.to_lua(s.overridable_initializer_names())

    def lua_session_input_count(self, s: Session) -> Any:
        return s.input_count()

    def lua_session_output_count(self, s: Session) -> Any:
        return s.output_count()

    def lua_session_overridable_initializer_count(self, s: Session) -> Any:
        return s.overridable_initializer_count()

    def lua_session_input_info(self, s: Session, key: Any = None) -> Any:
        return self.to_lua(s.input_info(self._index(s, "input", key)))

    def lua_session_output_info(self, s: Session, key: Any = None) -> Any:
        return self.to_lua(s.output_info(self._index(s, "output", key)))

    def lua_session_overridable_initializer_info(self, s: Session, key: Any = None) -> Any:
        return self.to_lua(s.overridable_initializer_info(
            self._index(s, "overridable_initializer", key)))

    def _memory_info(self, infos: Outputs) -> Any:
        table = self._table_from()
        for i, (name, info) in enumerate(infos.items(), 1):
            entry = self.to_lua(info.to_dict())
            table[i] = entry
            table[name.encode("utf-8")] = entry
        return table

    def lua_session_memory_info_for_inputs(self, s: Session) -> Any:
        return self._memory_info(s.memory_info_for_inputs())

    def lua_session_memory_info_for_outputs(self, s: Session) -> Any:
        return self._memory_info(s.memory_info_for_outputs())

    def lua_session_metadata(self, s: Session) -> Any:
        return self.to_lua(s.metadata().to_dict())

    def lua_session_providers(self, s: Session) -> Any:
        return self.to_lua(s.providers())

    def lua_session_close(self, s: Session) -> Any:
        s.close()
        return True

    def lua_session_end_profiling(self, s: Session) -> Any:
        path = s.end_profiling()
        if path is None:
            return None, (b"session:end_profiling(): profiling is off; turn it on with the "
                          b"session option profile_file_prefix")
        return os.fsencode(path)

    def lua_session_profiling_start_time_ns(self, s: Session) -> Any:
        return s.profiling_start_time_ns()

    def lua_session_set_ep_dynamic_options(self, s: Session, opts: Any = None) -> Any:
        s.set_ep_dynamic_options(self._mapping(opts, nested=False))
        return True

    def lua_session_register_custom_op_library(self, s: Session, library: Any = None) -> Any:
        lib = fs_path(library) if type(library) is bytes else self.from_lua(library)
        def rebuild() -> Session:
            s.register_custom_op_library(lib)
            return s

        self._session(rebuild)
        return True

    def lua_session_create_io_binding(self, s: Session) -> Any:
        binding = s.create_io_binding()
        self._binding_sessions[binding] = s
        return self.to_lua(binding)

    def lua_session_fallback_reason(self, s: Session) -> Any:
        s.providers()  # raises StateError when closed
        return self.to_lua(s.fallback_reason)

    # -- tensor ---------------------------------------------------------------------------
    def lua_tensor_to_table(self, t: Tensor) -> Any:
        try:
            values = t.to_table()
        except Exception as exc:
            return None, error_message(exc, "tensor:to_table()")
        if t.data_type == "string":
            values = [v.encode("utf-8", "surrogateescape") for v in values]
        return self._table_from(values)

    def _nested(self, value: Any) -> Any:
        if type(value) is list:
            return self._table_from([self._nested(v) for v in value])
        return self.to_lua(value)

    def lua_tensor_tolist(self, t: Tensor) -> Any:
        return self._nested(t.tolist())

    def lua_tensor_tobytes(self, t: Tensor) -> Any:
        return t.tobytes()

    def lua_tensor_shape(self, t: Tensor) -> Any:
        return self._table_from(list(t.shape))

    def lua_tensor_data_type(self, t: Tensor) -> Any:
        return t.data_type.encode("utf-8")

    def lua_tensor_element_count(self, t: Tensor) -> Any:
        return t.element_count

    def lua_tensor_nbytes(self, t: Tensor) -> Any:
        return t.nbytes

    def lua_tensor_device(self, t: Tensor) -> Any:
        return t.device.encode("utf-8")

    # -- run options ----------------------------------------------------------------------
    def lua_run_options_tag(self, ro: RunOptions, value: Any = None) -> Any:
        return self.to_lua(ro.tag(self.from_lua(value)))

    def lua_run_options_log_severity_level(self, ro: RunOptions, value: Any = None) -> Any:
        return ro.log_severity_level(self.from_lua(value, ints=True))

    def lua_run_options_log_verbosity_level(self, ro: RunOptions, value: Any = None) -> Any:
        return ro.log_verbosity_level(self.from_lua(value, ints=True))

    def lua_run_options_terminate(self, ro: RunOptions) -> Any:
        ro.terminate()
        return True

    def lua_run_options_reset_terminate(self, ro: RunOptions) -> Any:
        ro.reset_terminate()
        return True

    def lua_run_options_terminated(self, ro: RunOptions) -> Any:
        return ro.terminated

    # -- IO binding -----------------------------------------------------------------------
    def lua_binding_bind_input(self, b: IOBinding, name: Any = None, value: Any = None) -> Any:
        key = decoded(name)
        s = self._binding_sessions.get(b)
        if type(value) is not Tensor and s is not None:
            value = self._input_value(s, key, value)
        else:
            value = self.from_lua(value)
        b.bind_input(key, value)
        return True

    def lua_binding_bind_output(self, b: IOBinding, name: Any = None,
                                spec_or_tensor: Any = None) -> Any:
        spec = (self._mapping(spec_or_tensor, nested=False)
                if self.type_of(spec_or_tensor) == "table" else spec_or_tensor)
        result = b.bind_output(decoded(name), spec)
        return True if result is None else self.to_lua(result)

    def lua_binding_clear_inputs(self, b: IOBinding) -> Any:
        b.clear_inputs()
        return True

    def lua_binding_clear_outputs(self, b: IOBinding) -> Any:
        b.clear_outputs()
        return True

    def lua_binding_synchronize_inputs(self, b: IOBinding) -> Any:
        b.synchronize_inputs()
        return True

    def lua_binding_synchronize_outputs(self, b: IOBinding) -> Any:
        b.synchronize_outputs()
        return True

    def lua_binding_get_outputs(self, b: IOBinding) -> Any:
        try:
            out = b.get_outputs()
        except Exception as exc:
            return None, error_message(exc, "io_binding:get_outputs()")
        return self._outputs(out)

    # -- optional, custom-op library, repr ------------------------------------------------
    def lua_optional_is_empty(self, o: Optional) -> Any:
        return o.is_empty

    def lua_optional_value(self, o: Optional) -> Any:
        return self.to_lua(o.value)

    def lua_optional_type_info(self, o: Optional) -> Any:
        return self.to_lua(o.type_info.to_dict())

    def lua_library_path(self, lib: CustomOpLibrary) -> Any:
        return os.fsencode(lib.path)

    def lua_repr(self, obj: Any) -> Any:
        try:
            text = repr(obj)
        except Exception as exc:  # tostring() must return a string
            text = f"<{type(obj).__name__}: {exc}>"
        return text.encode("utf-8", "replace")


def _guard(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a bridge function: a raised exception becomes ``(None, message)``."""
    where = EXPORTS.where(name)

    @functools.wraps(fn)
    def guarded(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            return None, error_message(exc, where)

    return guarded


_UNGUARDED: Final = frozenset({"lua_tensor_to_table", "lua_binding_get_outputs"})
"""Functions that return ``(None, message)`` themselves (the run paths of :class:`Runs` too)."""


def _install_guards() -> None:
    for name in list(vars(Bridge)):
        if name.startswith("lua_") and name not in _UNGUARDED:
            setattr(Bridge, name, _guard(name[4:], getattr(Bridge, name)))


_install_guards()
