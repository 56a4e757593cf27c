"""Lua values for the tensor module and the host objects: conversions both ways.

:class:`OpsValues` turns Lua arguments into what :mod:`ortsession.ops` takes (tensors arrive as
``ortsession.Tensor``, tables through the session bridge's ``from_lua``) and results back into
Lua values (arrays become tensors, containers tables). Lua's conventions are applied here:
1-based positions (:func:`zero_based`) and option fields holding a position
(:func:`shift_positions`). :class:`HostImage` is the Python object of the host's Lua ``image``.
"""

from __future__ import annotations

import os
from typing import Any, Final

import numpy as np

from ortsession import OptionError, Tensor, TensorError
from ortsession.ops import _common

from ._bridge import Bridge
from ._convert import lua_int

__all__ = ["HostImage", "OpsValues", "ops", "shift_positions", "zero_based"]

_MAGIC: Final = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")
"""Leading bytes of encoded images: a Lua string starting so is image data, not a path."""

_BIG: Final = 1 << 20
"""Results this large (bytes) make the Lua collector take a step (see :meth:`OpsValues.out`)."""

_SHIFTED_OPTIONS: Final = frozenset({
    "objectness_index", "class_start", "angle_index", "batch_index", "x_index", "y_index",
    "width_index", "height_index", "blank_index",
})
"""Options holding a 1-based position in Lua (0-based in Python); ``class_end`` is inclusive in
Lua and exclusive in Python: the same number."""


def ops() -> Any:
    """Return :mod:`ortsession.ops`, imported on first use (it is not needed to run models)."""
    from ortsession import ops as module

    return module


class HostImage:
    """An image of the desktop host (the Lua ``image`` objects): a Pillow image, RGB or RGBA."""

    __slots__ = ("__weakref__", "pil")

    def __init__(self, pil: Any) -> None:
        if pil.mode not in ("RGB", "RGBA"):
            pil = pil.convert("RGBA" if "A" in pil.getbands() or "transparency" in pil.info
                              else "RGB")
        self.pil = pil

    def __repr__(self) -> str:
        w, h = self.pil.size
        return f"image ({w}x{h}, {self.pil.mode})"


def shift_positions(o: dict[str, Any], by: int = -1) -> dict[str, Any]:
    """Shift the 1-based positions among options ``o`` by ``by`` (Lua to Python: -1)."""
    for key in _SHIFTED_OPTIONS.intersection(o):
        v = o[key]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            o[key] = v + by
    bi = o.get("box_indices")
    if isinstance(bi, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in bi):
        o["box_indices"] = [v + by for v in bi]
    return o


def zero_based(value: Any, what: str) -> int:
    """Return a 1-based Lua position as a 0-based one; negative ones count from the end."""
    v = lua_int(value)
    if type(v) is not int:
        raise TensorError(f"{what} must be an integer, got {_common.show(v)}")
    if v == 0:
        raise TensorError(f"{what} is 0; Lua positions start at 1")
    return v - 1 if v > 0 else v


class OpsValues:
    """Conversions of the tensor module's and host's bridge functions, bound to one runtime."""

    def __init__(self, runtime: Any, bridge: Bridge, internals: Any) -> None:
        """Bind to ``runtime`` and its session bridge (whose ``from_lua`` converts tables)."""
        self._bridge = bridge
        self._from_lua = bridge.from_lua
        self._table_from = runtime.table_from
        self._wrap = internals[b"wrap"]
        self._gc_step = runtime.eval(b'function() collectgarbage("step") end')
        self.screen: str | None = None  # the image file of screen.image() (set_screen)

    # -- conversions --------------------------------------------------------------------
    def _val(self, value: Any) -> Any:
        """Return a Lua argument as the ops functions take it (tables become lists)."""
        t = type(value)
        if t is Tensor or value is None or t is int or t is float or t is bool:
            return value
        if t is bytes:
            return value.decode("utf-8")
        return self._from_lua(value)

    def _opts(self, value: Any, shift: bool = True) -> dict[str, Any]:
        if value is None:
            return {}
        o = self._from_lua(value, mapping=True)
        if not isinstance(o, dict) or any(type(k) is not str for k in o):
            raise OptionError(f"options must be a table of name = value, got "
                                      f"{_common.show(o)}")
        return shift_positions(o) if shift else o

    def out(self, v: Any) -> Any:
        """Convert a result to Lua: arrays become tensors, containers tables, str bytes."""
        t = type(v)
        if t is np.ndarray:
            if v.nbytes >= _BIG:
                # Lua's collector sees a small table, not the memory behind it: a step now frees
                # the big tensors a loop dropped, so their memory is reused (as in Python).
                self._gc_step()
            return self._wrap(b"tensor", Tensor(np.ascontiguousarray(v)))
        if v is None or t is bool or t is int or t is float or t is bytes:
            return v
        if t is str:
            return v.encode("utf-8", "surrogateescape")
        if t is list or t is tuple:
            return self._table_from([self.out(x) for x in v])
        if t is dict:
            return self._table_from({(k.encode() if type(k) is str else k): self.out(x)
                                     for k, x in v.items()})
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, HostImage):
            return self._wrap(b"image", v)
        to_dict = getattr(v, "to_dict", None)
        if callable(to_dict):
            return self.out(to_dict())
        return v

    @staticmethod
    def _plus1(a: Any) -> Any:
        return np.asarray(a, dtype=np.int64) + 1

    def _image_arg(self, value: Any) -> Any:
        if type(value) is bytes:
            if value.startswith(_MAGIC):
                return value
            return os.fsdecode(value)
        if self._bridge.type_of(value) == "table":
            value = self._from_lua(value)
        if isinstance(value, HostImage):
            return value.pil
        return self._val(value)

    def _masks(self, value: Any) -> Any:
        """Mask tables (one, or a list) back to ``Mask`` records; tensors pass through."""
        v = self._val(value)
        mask = ops().Mask

        def rec(m: Any) -> Any:
            bits = m.get("bits")
            arr = bits.numpy() if isinstance(bits, Tensor) else np.asarray(bits)
            return mask(int(m.get("width", arr.shape[-1])), int(m.get("height",
                            arr.shape[0])), arr.astype(bool).reshape(arr.shape[0], -1), 0, None)

        if isinstance(v, dict) and "bits" in v:
            return rec(v)
        if isinstance(v, list) and v and all(isinstance(m, dict) and "bits" in m for m in v):
            return [rec(m) for m in v]
        return v

    def _mask_out(self, masks: list[Any]) -> Any:
        out = []
        for m in masks:
            d = m.to_dict()
            d["bits"] = m.bits.astype(np.uint8)
            out.append(d)
        return self.out(out)
