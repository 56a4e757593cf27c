"""Type information of model inputs, outputs and overridable initializers."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ._errors import ModelLoadError, NotFoundError, TensorError
from ._types import ElementType, element_type_from_onnx_name

__all__ = ["TypeInfo", "find_info", "parse_type_string"]


@dataclass(frozen=True)
class TypeInfo:
    """What a model declares for one value (or, nested, for a sequence element / map value).

    Fields that do not apply to the value's kind are ``None``.
    """

    name: str | None
    """Input/output/initializer name; ``None`` for nested types."""
    onnx_type: str
    """One of ``tensor``, ``sparse_tensor``, ``sequence``, ``map``, ``optional``, ``opaque``."""
    type: str
    """ORT's type string at this level, e.g. ``"tensor(float)"`` or ``"seq(tensor(float))"``."""
    is_sparse: bool | None = None
    """For tensors: whether it is a sparse tensor."""
    data_type: str | None = None
    """For tensors: the element type name as :func:`ortsession.tensor` takes it."""
    has_shape: bool | None = None
    """For tensors: whether the model declares a shape."""
    shape: tuple[int, ...] | None = None
    """For tensors: dimensions, ``-1`` where a dimension is not fixed."""
    symbolic_shape: tuple[str, ...] | None = None
    """For tensors: each dimension's symbolic name, ``""`` where it has none."""
    element: TypeInfo | None = None
    """For sequences and optionals: the type of the elements / contained value."""
    key_type: str | None = None
    """For maps: the key element type name."""
    value: TypeInfo | None = None
    """For maps: the type of the values."""

    @property
    def element_type(self) -> ElementType | None:
        """The tensor element type as an :class:`ElementType`, or ``None``."""
        return element_type_from_onnx_name(_inner(self.type)) if self.data_type else None

    @property
    def rank(self) -> int | None:
        """Number of dimensions of a tensor with a declared shape, else ``None``."""
        return len(self.shape) if self.shape is not None and self.has_shape else None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields that apply as a plain dict (nested types as dicts, shapes as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if isinstance(v, TypeInfo):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out


def _inner(type_string: str) -> str:
    start, end = type_string.find("("), type_string.rfind(")")
    if start < 0 or end < start:
        raise TensorError(f"cannot parse type string {type_string!r}: expected a form such as "
                          f"'tensor(float)', 'seq(tensor(int64))' or 'optional(tensor(float))'")
    return type_string[start + 1:end]


def _split_top(text: str) -> list[str]:
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _elem_name(onnx_name: str) -> str:
    et = element_type_from_onnx_name(onnx_name)
    return et.type_name if et is not None else onnx_name


def parse_type_string(type_string: str, name: str | None = None,
                      dims: list[Any] | None = None) -> TypeInfo:
    """Build a :class:`TypeInfo` from ORT's type string and (for top-level tensors) its dims."""
    ts = type_string.strip()
    head = ts.split("(", 1)[0]
    if head in ("tensor", "sparse_tensor"):
        sparse = head == "sparse_tensor"
        has_shape = dims is not None
        shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (dims or ()))
        sym = tuple(d if isinstance(d, str) else "" for d in (dims or ()))
        return TypeInfo(name=name, onnx_type=head, type=ts, is_sparse=sparse,
                        data_type=_elem_name(_inner(ts)), has_shape=has_shape,
                        shape=shape if has_shape else None,
                        symbolic_shape=sym if has_shape else None)
    if head in ("seq", "sequence"):
        return TypeInfo(name=name, onnx_type="sequence", type=ts,
                        element=parse_type_string(_inner(ts)))
    if head == "optional":
        return TypeInfo(name=name, onnx_type="optional", type=ts,
                        element=parse_type_string(_inner(ts)))
    if head == "map":
        parts = _split_top(_inner(ts))
        if len(parts) != 2:
            raise TensorError(f"cannot parse map type {ts!r}: expected 'map(KEY,VALUE)'")
        return TypeInfo(name=name, onnx_type="map", type=ts, key_type=_elem_name(parts[0]),
                        value=parse_type_string(parts[1]))
    return TypeInfo(name=name, onnx_type="opaque", type=ts)


def typeinfo_from_nodearg(arg: Any) -> TypeInfo:
    """Build a :class:`TypeInfo` from ORT's ``NodeArg`` (name, type string, shape).

    Raises:
        ModelLoadError: the model names the value or a dimension with bytes that are not UTF-8
            (ORT's binding cannot turn them into ``str``).
    """
    try:
        ts = str(arg.type)
        # ORT's NodeArg reports ``[]`` both for a scalar and a tensor without a declared shape.
        dims = list(arg.shape) if ts.startswith(("tensor(", "sparse_tensor(")) else None
        name = str(arg.name)
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"the model declares an input or output whose name or dimension "
                             f"names are not valid UTF-8: {exc}") from None
    return parse_type_string(ts, name=name, dims=dims)


def find_info(infos: tuple[TypeInfo, ...], what: str, key: Any) -> TypeInfo:
    """Return the info named ``key`` (str) or at 0-based index ``key`` (int) among ``infos``."""
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
