"""The Python half of the Lua module: conversions between Lua values and the public Python API.

Every function the Lua module calls lives on :class:`Bridge`. Each takes Lua values as lupa hands
them over (Lua strings arrive as ``bytes``: the runtime has no encoding, so model bytes stay
bytes), converts them, calls the public ``ortsession`` API, and returns Lua-ready values:

* ``str`` is encoded to UTF-8 ``bytes`` (a Lua string), lists and dicts become Lua tables
  (1-based arrays), ``Tensor``/``Session``/… become their Lua objects (wrapped by the Lua half);
* a failure the package foresees returns ``(None, message)``, Lua's ``nil, err``, with the
  message of the Python exception, unchanged.

Nothing here re-implements the API's logic: options, inputs and values go through the same
functions as in Python, so the checks and the messages are the same. The Lua-specific rules are
the 1-based indices, the Lua table shapes and ``value, err``.
"""

from __future__ import annotations

import functools
import os
import warnings
import weakref
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

import ortsession as ort
from ortsession import (
    CustomOpLibrary,
    IOBinding,
    MemoryInfo,
    ModelMetadata,
    NotFoundError,
    Optional,
    OrtError,
    Outputs,
    RunOptions,
    Session,
    Tensor,
    TensorError,
    TypeInfo,
)

__all__ = ["Bridge"]

_DICT_OPTIONS: Final = frozenset({"config_entries", "provider_options", "external_initializers",
                                  "external_data"})
"""Session options whose value is a dictionary (an empty Lua table means ``{}`` there)."""

_KINDS: Final[dict[type, bytes]] = {
    Tensor: b"tensor",
    Session: b"session",
    RunOptions: b"run_options",
    IOBinding: b"io_binding",
    Optional: b"optional",
    CustomOpLibrary: b"custom_op_library",
}

_WHICH: Final = {
    "input": "input",
    "output": "output",
    "overridable_initializer": "overridable initializer",
}

_NAMES_CACHE_SIZE: Final = 256


_LUA_TYPES: Final[dict[type, str]] = {bool: "boolean", int: "number", float: "number",
                                      str: "string", bytes: "string", list: "table",
                                      dict: "table", type(None): "nil"}

_PY_TYPE_NAMES: Final = (("(list)", "(table)"), ("(dict)", "(table)"), ("(str)", "(string)"),
                         ("(bytes)", "(string)"), ("(NoneType)", "(nil)"), ("(bool)", "(boolean)"),
                         ("(int)", "(number)"), ("(float)", "(number)"))
"""Python type names in the API's messages (``got [1] (list)``) and their Lua names."""


def _message(exc: BaseException, where: str) -> bytes:
    """Return the Lua error message for ``exc``: the API's own message for foreseen failures.

    Python type names in parentheses become Lua's (``(list)`` → ``(table)``).
    """
    if isinstance(exc, OrtError):
        text = str(exc)
        for python, lua in _PY_TYPE_NAMES:
            text = text.replace(python, lua)
    elif isinstance(exc, UnicodeDecodeError):
        text = (f"{where}: a Lua string is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                f"names, options and string data must be UTF-8")
    else:
        text = f"{where}: {exc}"
    return text.encode("utf-8", "replace")


def _dec(value: Any) -> Any:
    """Decode a Lua string (``bytes``) to ``str``; leave other values alone."""
    return value.decode("utf-8") if type(value) is bytes else value


def _int(value: Any) -> Any:
    """Lua's integer convention: a float with an integral value is taken as that integer."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def _path(value: Any) -> Any:
    """Decode a Lua string naming a file with the file system's rules (any bytes work)."""
    return os.fsdecode(value) if type(value) is bytes else value


class _RunPlan:
    """A converted ``run``/``run_into`` call whose shape the Lua side repeats.

    The Lua side passes only the values, positionally: the input values (then, for
    ``run_into``, the preallocated outputs), or nothing when they are those of the last call;
    ``keys`` names the inputs (``None``: positional), ``out_keys`` the outputs of ``run_into``.
    ``tensors`` tells that every output of the first run was a ``Tensor`` (or an empty
    optional).
    """

    __slots__ = ("inputs", "keys", "method", "names", "out_keys", "outputs", "ro", "tensors")

    def __init__(self, method: Callable[..., Any], keys: tuple[Any, ...] | None, names: Any,
                 ro: Any, inputs: Any, *, tensors: bool = False, out_keys: tuple[Any, ...] = (),
                 outputs: Any = None) -> None:
        self.method = method
        self.keys = keys
        self.names = names
        self.ro = ro
        self.inputs = inputs  # the last call's converted inputs, reused when no values come
        self.outputs = outputs
        self.tensors = tensors
        self.out_keys = out_keys


class Bridge:
    """The functions the Lua module calls, bound to one lupa ``LuaRuntime``.

    Args:
        runtime: the runtime (created with ``encoding=None, unpack_returned_tuples=True``).
        lua_type: lupa's ``lua_type`` function (``None`` for Python objects).
    """

    def __init__(self, runtime: Any, lua_type: Callable[[Any], str | None]) -> None:
        """Bind to ``runtime``; :meth:`attach` completes the setup once the Lua half exists."""
        self._table_from = runtime.table_from
        self._lua_type = lua_type
        self._wrap_lua: Any = None
        self._classify: Any = None
        self._warn: Any = None
        self._names: dict[tuple[str, ...], Any] = {}
        self._binding_sessions: weakref.WeakKeyDictionary[IOBinding, Session] = (
            weakref.WeakKeyDictionary())
        self._last_outputs: tuple[Outputs, tuple[Any, ...]] | None = None
        # runs without run options use these, so that Ctrl-C can stop them (terminate_runs)
        self._ro = RunOptions()
        self._run_options: weakref.WeakSet[RunOptions] = weakref.WeakSet()

    def terminate_runs(self) -> None:
        """Stop every run in progress in this runtime (Ctrl-C): they end with TerminatedError."""
        self._ro.terminate()
        for ro in list(self._run_options):
            ro.terminate()

    def attach(self, internals: Any) -> None:
        """Receive the Lua half's internals (``wrap``, ``classify``, ``warn``)."""
        self._wrap_lua = internals[b"wrap"]
        self._classify = internals[b"classify"]
        self._warn = internals[b"warn"]

    def table(self) -> Any:
        """Return the Lua table of bridge functions that ``onnxruntime.lua`` receives."""
        functions: dict[bytes, Any] = {}
        for name in dir(self):
            if name.startswith("lua_"):
                functions[name[4:].encode()] = getattr(self, name)
        return self._table_from(functions)

    # -- Python -> Lua --------------------------------------------------------------------
    def to_lua(self, value: Any) -> Any:
        """Convert a Python value to a Lua value (tables, strings, wrapped objects)."""
        t = type(value)
        if value is None or t is bool or t is int or t is float or t is bytes:
            return value
        if t is str:
            return value.encode("utf-8", "surrogateescape")
        kind = _KINDS.get(t)
        if kind is not None:
            return self._wrap_lua(kind, value)
        if isinstance(value, (list, tuple)):
            return self._table_from([self.to_lua(v) for v in value])
        if isinstance(value, Mapping):
            return self._table_from({self.to_lua(k): self.to_lua(v) for k, v in value.items()})
        if isinstance(value, (TypeInfo, MemoryInfo, ModelMetadata)):
            return self.to_lua(value.to_dict())
        if isinstance(value, np.generic):
            return self.to_lua(value.item())
        if isinstance(value, os.PathLike):
            return os.fsencode(value)
        for base, kind in _KINDS.items():
            if isinstance(value, base):
                return self._wrap_lua(kind, value)
        return value

    def _names_table(self, names: list[str]) -> Any:
        """Return a Lua array of ``names``, cached (the Lua side never changes it)."""
        key = tuple(names)
        table = self._names.get(key)
        if table is None:
            if len(self._names) >= _NAMES_CACHE_SIZE:
                self._names.clear()
            table = self._table_from([n.encode("utf-8") for n in names])
            self._names[key] = table
        return table

    def _outputs(self, out: Outputs) -> tuple[Any, ...]:
        """Return ``(all_tensors, names, *values)`` for the Lua ``named_outputs`` helper."""
        values = out.values()
        names = self._names_table(out.names())
        for v in values:
            if type(v) is not Tensor and v is not None:
                return (False, names, *[self.to_lua(x) for x in values])
        return (True, names, *values)

    # -- Lua -> Python --------------------------------------------------------------------
    def from_lua(self, value: Any, *, ints: bool = False, mapping: bool = False) -> Any:
        """Convert a Lua value to Python.

        Strings become ``str``; arrays (keys ``1..n``) become lists and other tables dicts
        (``mapping=True``: always a dict); an empty table is ``[]`` (``{}`` with ``mapping``);
        Lua objects become their Python objects. ``ints``: integral floats become ``int``.
        """
        t = type(value)
        if t is bytes:
            return value.decode("utf-8")
        if t is float:
            return _int(value) if ints else value
        lt = self._lua_type(value)
        if lt is None:
            return value
        if lt != "table":
            raise TensorError(f"a Lua {lt} cannot be converted to a value")
        kind = self._classify(value)
        if type(kind) is not int:
            return kind  # the Python object behind a Lua object
        if kind == 0:
            return {} if mapping else []
        if mapping:
            return {self._key(k): self.from_lua(v, ints=ints) for k, v in value.items()}
        if kind == 1:
            values = list(value.values())
            return [_int(v) for v in values] if ints else values
        if kind == 2:
            return [self.from_lua(v, ints=ints) for v in value.values()]
        items = list(value.items())
        keys = [k for k, _ in items]
        if all(type(k) is int for k in keys):
            keys.sort()
            if keys == list(range(1, len(keys) + 1)):
                items.sort(key=lambda kv: kv[0])
                return [self.from_lua(v, ints=ints) for _, v in items]
            if keys[0] >= 1:  # an array with a nil inside: say so in Lua's terms
                hole = next(i for i, k in enumerate(keys, 1) if i != k)
                raise TensorError(f"the array has a hole: index {hole} is nil (an array needs "
                                  f"a value at every index 1..{keys[-1]}; nil cannot be an "
                                  f"element)")
        return {self._key(k): self.from_lua(v, ints=ints) for k, v in items}

    @staticmethod
    def _key(key: Any) -> Any:
        return key.decode("utf-8") if type(key) is bytes else key

    def _mapping(self, value: Any, *, nested: bool) -> Any:
        """Convert a dictionary (``config_entries``, a spec…): ``{}`` when empty."""
        if self._lua_type(value) != "table":
            return self.from_lua(value, ints=True)
        kind = self._classify(value)
        if type(kind) is not int:
            return kind
        return {self._key(k): (self._mapping(v, nested=True) if nested else
                               self.from_lua(v, ints=True)) for k, v in value.items()}

    def options(self, value: Any) -> Any:
        """Convert an options table (session, run or configure options)."""
        if value is None or self._lua_type(value) != "table":
            return self.from_lua(value, ints=True)
        kind = self._classify(value)
        if type(kind) is not int:
            return kind
        if kind in (1, 2):
            return self.from_lua(value, ints=True)
        result: dict[Any, Any] = {}
        for k, v in value.items():
            key = self._key(k)
            if key == "external_data" and self._lua_type(v) == "table":
                # file contents are binary: Lua strings stay bytes here
                result[key] = {self._key(name): data for name, data in v.items()}
            elif key in _DICT_OPTIONS:
                result[key] = self._mapping(v, nested=key == "provider_options")
            else:
                result[key] = self.from_lua(v, ints=True)
        return result

    def _input_value(self, sess: Session, key: Any, value: Any) -> Any:
        """Convert an input value; ``key`` is its name or 0-based position (tables only)."""
        if type(value) is bytes:
            return value.decode("utf-8")
        if self._lua_type(value) != "table":
            return value
        info = self._input_info(sess, key)
        kind = info.onnx_type if info is not None else None
        if kind == "optional" and info is not None and info.element is not None:
            kind = info.element.onnx_type
        return self.from_lua(value, mapping=kind == "map")

    @staticmethod
    def _input_info(sess: Session, key: Any) -> TypeInfo | None:
        if type(key) is int:
            order = sess.input_names() + sess.overridable_initializer_names()
            if not 0 <= key < len(order):
                return None
            key = order[key]
        try:
            return sess.input_info(key)
        except NotFoundError:
            pass
        try:
            return sess.overridable_initializer_info(key)
        except NotFoundError:
            return None

    def _inputs(self, sess: Session, positional: bool, n: int, args: tuple[Any, ...]) -> Any:
        if positional:
            return [v if type(v) is Tensor else self._input_value(sess, i, v)
                    for i, v in enumerate(args[:n])]
        inputs: dict[Any, Any] = {}
        for j in range(0, 2 * n, 2):
            k = args[j]
            if type(k) is bytes:
                k = k.decode("utf-8")
            v = args[j + 1]
            inputs[k] = v if type(v) is Tensor else self._input_value(sess, k, v)
        return inputs

    def _index(self, sess: Session, which: str, key: Any) -> Any:
        """Convert a 1-based index or a name to what the Python API takes (0-based or name)."""
        key = _int(key)
        what = _WHICH[which]
        if type(key) is int:
            count: int = getattr(sess, f"{which}_count")()
            if not 1 <= key <= count:
                have = (f"indices 1..{count}" if count else f"it has no {what}")
                raise NotFoundError(f"{what} index {key} out of range: the model has {count} "
                                    f"{what}(s), {have}")
            return key - 1
        if type(key) is bytes:
            return key.decode("utf-8")
        raise NotFoundError(f"{what} must be given by name (a string) or 1-based index (an "
                            f"integer), got {self._describe(key)}")

    def _describe(self, value: Any) -> str:
        lt = self._lua_type(value)
        if lt is not None:
            return f"a {lt}"
        return "nil" if value is None else f"{type(value).__name__} {value!r}"

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
        path = _path(model_path)
        options = self.options(opts)
        return self.to_lua(self._session(lambda: ort.session(path, options)))

    def lua_session_from_bytes(self, model_bytes: Any = None, opts: Any = None) -> Any:
        data = model_bytes if type(model_bytes) is bytes else self.from_lua(model_bytes)
        options = self.options(opts)
        return self.to_lua(self._session(lambda: ort.session_from_bytes(data, options)))

    def lua_tensor(self, type_: Any = None, shape: Any = None, data: Any = None) -> Any:
        return self.to_lua(ort.tensor(_dec(type_), self.from_lua(shape, ints=True),
                                      self.from_lua(data)))

    def lua_tensor_from_bytes(self, type_: Any = None, shape: Any = None,
                              data: Any = None) -> Any:
        raw = data if type(data) is bytes else self.from_lua(data)
        return self.to_lua(ort.tensor_from_bytes(_dec(type_), self.from_lua(shape, ints=True),
                                                 raw))

    def lua_optional(self, value: Any = None, type_info: Any = None) -> Any:
        info = (self._mapping(type_info, nested=False)
                if self._lua_type(type_info) == "table" else self.from_lua(type_info))
        return self.to_lua(ort.optional(self.from_lua(value), info))

    def lua_run_options(self, opts: Any = None) -> Any:
        ro = ort.run_options(self.options(opts))
        self._run_options.add(ro)
        return self.to_lua(ro)

    def lua_load_custom_op_library(self, path: Any = None) -> Any:
        lib = _path(path) if type(path) is bytes else self.from_lua(path)
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
        lib = _path(library) if type(library) is bytes else self.from_lua(library)
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

    def lua_run(self, s: Session, ro: Any, positional: bool, n: int, nn: int, want_plan: bool,
                *args: Any) -> Any:
        """Run ``s``; return ``(all_tensors, plan or None, *outputs)`` or ``(None, message)``."""
        ro = self._ro if ro is None else ro
        try:
            if positional:
                inputs: Any = list(args[:n])
                for i, v in enumerate(inputs):
                    if type(v) is not Tensor:
                        inputs[i] = self._input_value(s, i, v)
            else:
                inputs = {}
                for j in range(0, 2 * n, 2):
                    k, v = args[j], args[j + 1]
                    if type(k) is bytes:
                        k = k.decode("utf-8")
                    inputs[k] = v if type(v) is Tensor else self._input_value(s, k, v)
            if nn < 0:
                names = None
            else:
                start = n if positional else 2 * n
                names = [x.decode("utf-8") if type(x) is bytes else x
                         for x in args[start:start + nn]]
                for i, x in enumerate(names, 1):
                    if type(x) is not str:
                        kind = self._lua_type(x) or _LUA_TYPES.get(type(x), "value")
                        known = ", ".join(f'"{o}"' for o in s.output_names())
                        raise ort.InputError(
                            f"output_names: entry {i} is a {kind}, expected an output name "
                            f"(a string); the model's outputs are {{{known}}}")
            out = s.run(inputs, names, ro)
        except Exception as exc:
            return None, _message(exc, "session:run()")
        values = out.values()
        tensors = True
        for v in values:
            if type(v) is not Tensor and v is not None:
                tensors = False
                break
        plan = None
        if want_plan:  # all outputs in model order: None lets the session use its own index
            plan = _RunPlan(s.run, None if positional else tuple(inputs),
                            None if names == s.output_names() else names, ro, inputs,
                            tensors=tensors)
        if tensors:
            return (True, plan, *values)
        return (False, plan, *[self.to_lua(x) for x in values])

    def lua_run_plan(self, plan: _RunPlan, *values: Any) -> Any:
        """Repeat a planned run with new values: ``(all_tensors, *outputs)`` or failure."""
        try:
            if values:
                keys = plan.keys
                plan.inputs = list(values) if keys is None else dict(zip(keys, values))
            out = plan.method(plan.inputs, plan.names, plan.ro)
        except Exception as exc:
            return None, _message(exc, "session:run()")
        values = out.values()
        if plan.tensors:  # every output a Tensor (or None, an empty optional) at the first run
            return (True, *values)
        return (False, *[self.to_lua(x) for x in values])

    def lua_run_into(self, s: Session, ro: Any, positional: bool, n: int, no: int,
                     want_plan: bool, *args: Any) -> Any:
        ro = self._ro if ro is None else ro
        try:
            inputs = self._inputs(s, positional, n, args)
            start = n if positional else 2 * n
            outputs: dict[Any, Any] = {}
            for j in range(start, start + 2 * no, 2):
                v = args[j + 1]
                outputs[_dec(args[j])] = v if type(v) is Tensor else self.from_lua(v)
            s.run_into(inputs, outputs, ro)
        except Exception as exc:
            return None, _message(exc, "session:run_into()")
        if want_plan:
            return True, _RunPlan(s.run_into, None if positional else tuple(inputs), None, ro,
                                  inputs, out_keys=tuple(outputs), outputs=outputs)
        return True

    def lua_run_into_plan(self, plan: _RunPlan, *values: Any) -> Any:
        """Repeat a planned ``run_into`` with new values: ``True`` or failure."""
        try:
            if values:
                keys, n = plan.keys, len(values) - len(plan.out_keys)
                plan.inputs = list(values[:n]) if keys is None else dict(zip(keys, values[:n]))
                plan.outputs = dict(zip(plan.out_keys, values[n:]))
            plan.method(plan.inputs, plan.outputs, plan.ro)
        except Exception as exc:
            return None, _message(exc, "session:run_into()")
        return True

    def lua_run_with_iobinding(self, s: Session, binding: IOBinding, ro: Any) -> Any:
        ro = self._ro if ro is None else ro
        try:
            out = s.run_with_iobinding(binding, ro)
        except Exception as exc:
            return None, _message(exc, "session:run_with_iobinding()")
        last = self._last_outputs
        if last is not None and last[0] is out:
            return last[1]
        result = self._outputs(out)
        self._last_outputs = (out, result)
        return result

    # -- tensor ---------------------------------------------------------------------------
    def lua_tensor_to_table(self, t: Tensor) -> Any:
        try:
            values = t.to_table()
        except Exception as exc:
            return None, _message(exc, "tensor:to_table()")
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
        key = _dec(name)
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
                if self._lua_type(spec_or_tensor) == "table" else spec_or_tensor)
        result = b.bind_output(_dec(name), spec)
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
            return None, _message(exc, "io_binding:get_outputs()")
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
    where = _lua_name(name)

    @functools.wraps(fn)
    def guarded(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            return None, _message(exc, where)

    return guarded


def _lua_name(name: str) -> str:
    """Return the Lua spelling of a bridge function, for messages: ``session:run()``."""
    for prefix, lua in (("session_", "session:"), ("tensor_", "tensor:"),
                        ("run_options_", "run_options:"), ("binding_", "io_binding:"),
                        ("optional_", "optional:"), ("library_", "custom_op_library:")):
        if name.startswith(prefix) and name not in {"session_from_bytes",
                                                     "tensor_from_bytes"}:
            return f"{lua}{name[len(prefix):]}()"
    return f"onnxruntime.{name}()"


_UNGUARDED: Final = frozenset({"lua_run", "lua_run_plan", "lua_run_into", "lua_run_into_plan",
                               "lua_run_with_iobinding", "lua_tensor_to_table",
                               "lua_binding_get_outputs"})


def _install_guards() -> None:
    for name in list(vars(Bridge)):
        if name.startswith("lua_") and name not in _UNGUARDED:
            setattr(Bridge, name, _guard(name[4:], getattr(Bridge, name)))


_install_guards()
