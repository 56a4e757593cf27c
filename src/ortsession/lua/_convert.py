"""Lua values to Python values and back, for the session module's bridge.

Lupa hands Lua values over as they are (Lua strings as ``bytes``: the runtime has no encoding, so
model bytes stay bytes; tables as lupa tables). :class:`Converter` turns them into what the
public Python API takes and turns results back:

* ``str`` is encoded to UTF-8 ``bytes`` (a Lua string), lists and dicts become Lua tables
  (1-based arrays), ``Tensor``/``Session``/… become their Lua objects (wrapped by the Lua half);
* a table's shape comes from the Lua half's ``classify`` (codes in :mod:`._api`), so that a
  table is walked once;
* :func:`error_message` words a failure for Lua: the API's own message, Python type names
  replaced by Lua's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np

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

from ._api import ARRAY, EMPTY, NUMBERS

__all__ = ["Converter", "decoded", "error_message", "fs_path", "lua_int"]

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

_PY_TYPE_NAMES: Final = (("(list)", "(table)"), ("(dict)", "(table)"), ("(str)", "(string)"),
                         ("(bytes)", "(string)"), ("(NoneType)", "(nil)"), ("(bool)", "(boolean)"),
                         ("(int)", "(number)"), ("(float)", "(number)"))
"""Python type names in the API's messages (``got [1] (list)``) and their Lua names."""


def error_message(exc: BaseException, where: str) -> bytes:
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


def decoded(value: Any) -> Any:
    """Decode a Lua string (``bytes``) to ``str``; leave other values alone."""
    return value.decode("utf-8") if type(value) is bytes else value


def lua_int(value: Any) -> Any:
    """Lua's integer convention: a float with an integral value is taken as that integer."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


def fs_path(value: Any) -> Any:
    """Decode a Lua string naming a file with the file system's rules (any bytes work)."""
    return os.fsdecode(value) if type(value) is bytes else value


class Converter:
    """Conversions between Lua and Python values, bound to one lupa ``LuaRuntime``.

    Args:
        runtime: the runtime (created with ``encoding=None, unpack_returned_tuples=True``).
        lua_type: lupa's ``lua_type`` function (``None`` for Python objects).
    """

    def __init__(self, runtime: Any, lua_type: Callable[[Any], str | None]) -> None:
        """Bind to ``runtime``; :meth:`attach` completes the setup once the Lua half exists."""
        self._table_from = runtime.table_from
        self.type_of = lua_type
        self._wrap_lua: Any = None
        self.classify: Any = None
        self._names: dict[tuple[str, ...], Any] = {}

    def attach(self, internals: Any) -> None:
        """Receive the Lua half's internals (``wrap``, ``classify``)."""
        self._wrap_lua = internals[b"wrap"]
        self.classify = internals[b"classify"]

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
            return lua_int(value) if ints else value
        lt = self.type_of(value)
        if lt is None:
            return value
        if lt != "table":
            raise TensorError(f"a Lua {lt} cannot be converted to a value")
        kind = self.classify(value)
        if type(kind) is not int:
            return kind  # the Python object behind a Lua object
        if kind == EMPTY:
            return {} if mapping else []
        if mapping:
            return {self._key(k): self.from_lua(v, ints=ints) for k, v in value.items()}
        if kind == NUMBERS:
            values = list(value.values())
            return [lua_int(v) for v in values] if ints else values
        if kind == ARRAY:
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
        if self.type_of(value) != "table":
            return self.from_lua(value, ints=True)
        kind = self.classify(value)
        if type(kind) is not int:
            return kind
        return {self._key(k): (self._mapping(v, nested=True) if nested else
                               self.from_lua(v, ints=True)) for k, v in value.items()}

    def options(self, value: Any) -> Any:
        """Convert an options table (session, run or configure options)."""
        if value is None or self.type_of(value) != "table":
            return self.from_lua(value, ints=True)
        kind = self.classify(value)
        if type(kind) is not int:
            return kind
        if kind in (NUMBERS, ARRAY):
            return self.from_lua(value, ints=True)
        result: dict[Any, Any] = {}
        for k, v in value.items():
            key = self._key(k)
            if key == "external_data" and self.type_of(v) == "table":
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
        if self.type_of(value) != "table":
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
        key = lua_int(key)
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
        lt = self.type_of(value)
        if lt is not None:
            return f"a {lt}"
        return "nil" if value is None else f"{type(value).__name__} {value!r}"
