"""Non-tensor values: ``Optional`` (sequences are lists and maps are dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import TensorError
from ._typeinfo import TypeInfo, parse_type_string

__all__ = ["Optional", "optional"]


class Optional:
    """An ONNX optional value: ``value`` is ``None`` when the optional is empty."""

    __slots__ = ("type_info", "value")

    def __init__(self, value: Any, type_info: TypeInfo) -> None:
        """Wrap ``value`` (``None`` for empty) with the optional's declared ``type_info``."""
        self.value = value
        self.type_info = type_info

    @property
    def is_empty(self) -> bool:
        """True when the optional holds no value."""
        return self.value is None

    def __repr__(self) -> str:
        return f"Optional({self.value!r}, type={self.type_info.type!r})"


def _as_type_info(type_info: Any) -> TypeInfo:
    if isinstance(type_info, TypeInfo):
        return type_info
    if isinstance(type_info, str):
        return parse_type_string(type_info)
    if isinstance(type_info, Mapping) and isinstance(type_info.get("type"), str):
        return parse_type_string(type_info["type"], name=type_info.get("name"),
                                 dims=type_info.get("shape"))
    raise TensorError(f"optional(): type_info must be a TypeInfo (e.g. from "
                      f"session.input_info(...)), a type info dict or an ORT type string such as "
                      f"'optional(tensor(float))', got {type_info!r}")


def optional(value: Any, type_info: TypeInfo | Mapping[str, Any] | str) -> Optional:
    """Wrap ``value`` as an ONNX optional; ``optional(None, info)`` is an empty optional.

    Args:
        value: the contained value (``Tensor``, array, list, dict…) or ``None``.
        type_info: the optional's type, e.g. ``session.input_info("maybe_x")``.
    """
    return Optional(value, _as_type_info(type_info))
