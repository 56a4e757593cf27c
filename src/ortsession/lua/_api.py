"""What the Python and Lua halves of the Lua bridges agree on, declared once, here.

**Where each bridge function goes.** A bridge (:class:`._bridge.Bridge`,
:class:`._ops_bridge.OpsBridge`) offers Lua its methods named ``lua_<name>``. Its
:class:`Exports` says what ``<name>`` is on the Lua side: a method of a Lua class (by prefix:
``session_input_names`` is ``session:input_names()``), a module function, a function of a host
global that the Lua code calls by name (``image_new`` is ``image.new()``), or a helper of the Lua
code. ``onnxruntime.lua`` and ``ops.lua`` build their methods and module functions from
:meth:`Exports.lua_table` when they load, so adding a ``lua_`` method adds the Lua function; the
same declaration spells each function in messages (:meth:`Exports.where`).

**Table shapes.** ``classify`` in ``onnxruntime.lua`` tells the Python side the shape of a plain
Lua table with one of the codes :data:`EMPTY`, :data:`NUMBERS`, :data:`ARRAY`, :data:`OTHER`;
the Lua half receives them from here (:data:`TABLE_SHAPES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["ARRAY", "EMPTY", "NUMBERS", "OTHER", "TABLE_SHAPES", "Exports", "lua_table"]

EMPTY: Final = 0
"""``classify``: an empty table."""
NUMBERS: Final = 1
"""``classify``: an array (keys ``1..n`` in traversal order) of numbers and booleans only."""
ARRAY: Final = 2
"""``classify``: another array (keys ``1..n`` in traversal order)."""
OTHER: Final = 3
"""``classify``: anything else, a dictionary or an array the Python side sorts by key."""

TABLE_SHAPES: Final = {"empty": EMPTY, "numbers": NUMBERS, "array": ARRAY, "other": OTHER}
"""The codes by the names the Lua half uses (``api.shapes.empty`` …)."""


@dataclass(frozen=True)
class Exports:
    """Where a bridge's functions go on the Lua side, and how messages spell them.

    Attributes:
        classes: ``(prefix, class)``: a function named ``prefix + m`` is method ``m`` of that Lua
            class (``("session_", "session")``).
        globals: ``(prefix, spelling)``: a function of a host global, called by name from the
            Lua code (``("image_", "image.")``: ``image_new`` is ``image.new()``).
        functions: module functions whose name starts with one of those prefixes anyway
            (``session_from_bytes``); every other unprefixed name is a module function too.
        internal: helpers the Lua code calls by name (run paths, ``repr``): neither methods nor
            module functions.
        tensor_methods: module functions that are tensor methods too (the tensor first).
    """

    classes: tuple[tuple[str, str], ...]
    globals: tuple[tuple[str, str], ...] = ()
    functions: frozenset[str] = frozenset()
    internal: frozenset[str] = frozenset()
    tensor_methods: tuple[str, ...] = ()

    def _method(self, name: str) -> tuple[str, str] | None:
        """Return ``(class, method)`` for a method's function name, else ``None``."""
        if name in self.functions:
            return None
        for prefix, kind in self.classes:
            if name.startswith(prefix):
                return kind, name[len(prefix):]
        return None

    def _global(self, name: str) -> str | None:
        """Return the Lua spelling of a host global's function name, else ``None``."""
        if name in self.functions:
            return None
        for prefix, spelling in self.globals:
            if name.startswith(prefix):
                return spelling + name[len(prefix):]
        return None

    def where(self, name: str) -> str:
        """Return the Lua spelling of function ``name`` for messages: ``session:run()``.

        >>> Exports((("session_", "session"),)).where("session_input_info")
        'session:input_info()'
        >>> Exports((), (("image_", "image."),)).where("image_new")
        'image.new()'
        >>> Exports(()).where("version")
        'onnxruntime.version()'
        """
        method = self._method(name)
        if method is not None:
            return f"{method[0]}:{method[1]}()"
        spelled = self._global(name)
        if spelled is not None:
            return f"{spelled}()"
        return f"onnxruntime.{name}()"

    def lua_table(self, names: Iterable[str]) -> dict[str, Any]:
        """Return what the Lua half builds itself from, for the bridge functions ``names``.

        ``{"functions": [module function names], "methods": {class: {method: function name}},
        "shapes": TABLE_SHAPES}``.

        >>> api = Exports((("t_", "tensor"),), tensor_methods=("exp",),
        ...               internal=frozenset({"repr"}))
        >>> api.lua_table(["t_rank", "exp", "nms", "repr"])["methods"]
        {'tensor': {'rank': 't_rank', 'exp': 'exp'}}
        """
        functions: list[str] = []
        methods: dict[str, dict[str, str]] = {}
        for name in names:
            if name in self.internal or self._global(name) is not None:
                continue
            method = self._method(name)
            if method is None:
                functions.append(name)
            else:
                methods.setdefault(method[0], {})[method[1]] = name
        for name in self.tensor_methods:
            methods.setdefault("tensor", {})[name] = name
        return {"functions": functions, "methods": methods, "shapes": dict(TABLE_SHAPES)}


def lua_table(table_from: Any, value: Any) -> Any:
    """Convert ``value`` (dicts, lists, str, int) to Lua tables and strings, recursively."""
    if isinstance(value, dict):
        return table_from({k.encode(): lua_table(table_from, v) for k, v in value.items()})
    if isinstance(value, list):
        return table_from([lua_table(table_from, v) for v in value])
    if isinstance(value, str):
        return value.encode()
    return value
