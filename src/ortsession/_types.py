"""Element types: one table mapping every ONNX element type ORT accepts to its names and dtype.

Each :class:`ElementType` member's value is ONNX's ``TensorProto.DataType`` number. Its numpy
representation is a standard numpy dtype or, for the types numpy lacks, an ``ml_dtypes`` dtype
(bfloat16, the float8 family, float4, int4/uint4, int2/uint2). Sub-byte types hold one element
per byte in numpy and are packed (low bits first) only at the ORT boundary and in
:meth:`Tensor.tobytes`.

``ml_dtypes`` costs about half a second to import, so its table entries name the ``ml_dtypes``
attribute and are resolved on first use (:func:`ml_dtypes_loaded`): ``import ortsession`` and
sessions over numpy-native types never import it.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import numpy as np

from ._errors import ElementTypeError

__all__ = ["ElementType", "element_type", "element_type_from_dtype", "element_type_names"]


class ElementType(IntEnum):
    """An ONNX tensor element type; the value is ONNX's ``TensorProto.DataType`` number."""

    FLOAT32 = 1
    UINT8 = 2
    INT8 = 3
    UINT16 = 4
    INT16 = 5
    INT32 = 6
    INT64 = 7
    STRING = 8
    BOOL = 9
    FLOAT16 = 10
    FLOAT64 = 11
    UINT32 = 12
    UINT64 = 13
    BFLOAT16 = 16
    FLOAT8E4M3FN = 17
    FLOAT8E4M3FNUZ = 18
    FLOAT8E5M2 = 19
    FLOAT8E5M2FNUZ = 20
    UINT4 = 21
    INT4 = 22
    FLOAT4E2M1 = 23
    FLOAT8E8M0 = 24
    UINT2 = 25
    INT2 = 26

    @property
    def type_name(self) -> str:
        """The name :func:`ortsession.tensor` takes (``"float32"``, ``"bfloat16"``, …)."""
        return _SPECS[self].name

    @property
    def onnx_name(self) -> str:
        """ONNX's spelling, as in ORT type strings (``"float"`` in ``"tensor(float)"``)."""
        return _SPECS[self].onnx_name

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy (or ``ml_dtypes``) dtype holding one element per array item.

        Reading it for a type numpy lacks imports ``ml_dtypes`` (once).
        """
        found = _DTYPES.get(self)
        if found is None:
            _load_ml_dtypes()
            found = _DTYPES[self]
        return found

    @property
    def bits(self) -> int:
        """Storage bits per element in ONNX raw data (0 for strings)."""
        return _SPECS[self].bits

    @property
    def is_native(self) -> bool:
        """True when ORT's numpy interface handles the type directly (no OrtValue detour)."""
        return _SPECS[self].native

    @property
    def is_packed(self) -> bool:
        """True for sub-byte types (int4, uint4, float4e2m1, int2, uint2)."""
        return 0 < self.bits < 8

    @property
    def is_float(self) -> bool:
        """True for floating-point types (float16/32/64, bfloat16, float8, float4)."""
        return self.name.startswith("FLOAT") or self is ElementType.BFLOAT16

    @property
    def is_integer(self) -> bool:
        """True for signed and unsigned integer types, sub-byte ones included."""
        return not self.is_float and self not in (ElementType.STRING, ElementType.BOOL)

    def packed_nbytes(self, count: int) -> int:
        """Bytes that ``count`` elements take in ONNX raw data."""
        return (count * self.bits + 7) // 8

    def __str__(self) -> str:
        return self.type_name


@dataclass(frozen=True)
class _Spec:
    name: str
    onnx_name: str
    dtype: np.dtype[Any] | str
    """A numpy dtype, or the name of the ``ml_dtypes`` attribute (resolved on first use)."""
    bits: int
    native: bool
    aliases: tuple[str, ...] = ()


def _spec(name: str, onnx: str, dtype: Any, bits: int, native: bool, *aliases: str) -> _Spec:
    return _Spec(name, onnx, dtype if isinstance(dtype, str) else np.dtype(dtype), bits, native,
                 aliases)


_E = ElementType
_SPECS: Final[dict[ElementType, _Spec]] = {
    _E.FLOAT32: _spec("float32", "float", np.float32, 32, True, "float", "f4", "single"),
    _E.FLOAT64: _spec("float64", "double", np.float64, 64, True, "double", "f8"),
    _E.FLOAT16: _spec("float16", "float16", np.float16, 16, True, "half", "f2"),
    _E.BFLOAT16: _spec("bfloat16", "bfloat16", "bfloat16", 16, False),
    _E.INT8: _spec("int8", "int8", np.int8, 8, True),
    _E.INT16: _spec("int16", "int16", np.int16, 16, True),
    _E.INT32: _spec("int32", "int32", np.int32, 32, True),
    _E.INT64: _spec("int64", "int64", np.int64, 64, True),
    _E.UINT8: _spec("uint8", "uint8", np.uint8, 8, True),
    _E.UINT16: _spec("uint16", "uint16", np.uint16, 16, True),
    _E.UINT32: _spec("uint32", "uint32", np.uint32, 32, True),
    _E.UINT64: _spec("uint64", "uint64", np.uint64, 64, True),
    _E.BOOL: _spec("bool", "bool", np.bool_, 8, True, "boolean"),
    _E.STRING: _spec("string", "string", np.object_, 0, True, "str"),
    _E.FLOAT8E4M3FN: _spec("float8e4m3fn", "float8e4m3fn", "float8_e4m3fn", 8, False,
                           "float8_e4m3fn"),
    _E.FLOAT8E4M3FNUZ: _spec("float8e4m3fnuz", "float8e4m3fnuz", "float8_e4m3fnuz", 8,
                             False, "float8_e4m3fnuz"),
    _E.FLOAT8E5M2: _spec("float8e5m2", "float8e5m2", "float8_e5m2", 8, False,
                         "float8_e5m2"),
    _E.FLOAT8E5M2FNUZ: _spec("float8e5m2fnuz", "float8e5m2fnuz", "float8_e5m2fnuz", 8,
                             False, "float8_e5m2fnuz"),
    _E.FLOAT8E8M0: _spec("float8e8m0", "float8e8m0", "float8_e8m0fnu", 8, False,
                         "float8_e8m0fnu", "float8e8m0fnu"),
    _E.FLOAT4E2M1: _spec("float4e2m1", "float4e2m1", "float4_e2m1fn", 4, False,
                         "float4_e2m1fn", "float4e2m1fn"),
    _E.INT4: _spec("int4", "int4", "int4", 4, False),
    _E.UINT4: _spec("uint4", "uint4", "uint4", 4, False),
    _E.INT2: _spec("int2", "int2", "int2", 2, False),
    _E.UINT2: _spec("uint2", "uint2", "uint2", 2, False),
}

_BY_NAME: Final[dict[str, ElementType]] = {}
for _member, _s in _SPECS.items():
    for _key in (_s.name, _s.onnx_name, *_s.aliases):
        _BY_NAME[_key] = _member
_BY_ONNX_NAME: Final[dict[str, ElementType]] = {s.onnx_name: m for m, s in _SPECS.items()}
_DTYPES: Final[dict[ElementType, np.dtype[Any]]] = {
    m: s.dtype for m, s in _SPECS.items() if not isinstance(s.dtype, str)}
DTYPE_TO_ELEMENT_TYPE: Final[dict[np.dtype[Any], ElementType]] = {
    dt: m for m, dt in _DTYPES.items()}
"""Each element type's (native byte order) dtype to its member: the hot paths' lookup.

Holds the ``ml_dtypes`` entries once :func:`ml_dtypes_loaded` has run (an array of those types
cannot exist before ``ml_dtypes`` is imported, so a miss before that is a true miss)."""


def _load_ml_dtypes() -> None:
    """Import ``ml_dtypes`` and complete the dtype tables with the types numpy lacks."""
    if len(_DTYPES) == len(_SPECS):
        return
    import ml_dtypes

    for member, s in _SPECS.items():
        if isinstance(s.dtype, str):
            dt = np.dtype(getattr(ml_dtypes, s.dtype))
            DTYPE_TO_ELEMENT_TYPE.setdefault(dt, member)
            _DTYPES[member] = dt


def ml_dtypes_loaded() -> bool:
    """Tell whether ``ml_dtypes`` is imported (by the caller or by ortsession) and tabled.

    When the caller imported it, its entries are added to the tables now.
    """
    if len(_DTYPES) == len(_SPECS):
        return True
    if "ml_dtypes" in sys.modules:
        _load_ml_dtypes()
        return True
    return False


def element_type_names() -> list[str]:
    """Return the canonical element type names, in ONNX enum order."""
    return [_SPECS[m].name for m in sorted(_SPECS)]


def element_type(value: ElementType | str | int) -> ElementType:
    """Resolve a name (canonical, ONNX or alias; case-insensitive), enum number or member.

    Raises:
        ElementTypeError: the value names no element type ORT accepts; the message lists them.
    """
    if isinstance(value, ElementType):
        return value
    if isinstance(value, str):
        found = _BY_NAME.get(value) or _BY_NAME.get(value.strip().lower())
        if found is not None:
            return found
        names = element_type_names()
        close = difflib.get_close_matches(value.lower(), list(_BY_NAME), n=1)
        hint = f" (did you mean {_SPECS[_BY_NAME[close[0]]].name!r}?)" if close else ""
        raise ElementTypeError(
            f"unknown element type {value!r}{hint}; expected one of: {', '.join(names)}"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return ElementType(value)
        except ValueError:
            pass
    raise ElementTypeError(
        f"unknown element type {value!r}; expected a name such as 'float32' "
        f"(one of: {', '.join(element_type_names())})"
    )


def element_type_from_onnx_name(name: str) -> ElementType | None:
    """Map ONNX's spelling in an ORT type string (``"float"``) to a member, or ``None``."""
    return _BY_ONNX_NAME.get(name)


def element_type_from_dtype(dtype: Any) -> ElementType:
    """Map a numpy/ml_dtypes dtype (any byte order; ``U``/``S``/``O`` mean string) to a member.

    Raises:
        ElementTypeError: no element type matches the dtype.
    """
    dt = np.dtype(dtype)
    found = DTYPE_TO_ELEMENT_TYPE.get(dt)
    if found is not None:
        return found
    if ml_dtypes_loaded():  # an ml_dtypes dtype imported by the caller since the last look
        found = DTYPE_TO_ELEMENT_TYPE.get(dt)
        if found is not None:
            return found
    if dt.kind in "USO":
        return ElementType.STRING
    if not dt.isnative:
        found = DTYPE_TO_ELEMENT_TYPE.get(dt.newbyteorder("="))
        if found is not None:
            return found
    raise ElementTypeError(
        f"numpy dtype {dt} has no ONNX element type; supported: {', '.join(element_type_names())}"
    )
