"""The element type table (SPEC §5)."""

from __future__ import annotations

import numpy as np
import pytest

import ortsession as ort
from ortsession import ElementType
from ortsession._types import element_type, element_type_from_dtype


def test_every_type_ort_accepts_is_in_the_table() -> None:
    from ortsession import _engine

    for et in ElementType:
        if et is ElementType.STRING:
            continue
        try:
            ov = _engine.C.OrtValue.ortvalue_from_shape_and_onnx_type([2], int(et),
                                                                      _engine.CPU_DEVICE)
        except RuntimeError:  # "tensor type 25 is not supported": an older ORT
            assert tuple(int(p) for p in _engine.ort_version().split(".")[:2]) < (1, 31), et
            continue
        assert ov.data_type() == f"tensor({et.onnx_name})"
        assert _engine.tensor_size_in_bytes(ov, et.bits) == et.packed_nbytes(2)
        if _engine.has("tensor_size_in_bytes"):
            assert ov.tensor_size_in_bytes() == et.packed_nbytes(2)


def test_enum_values_are_onnx_numbers() -> None:
    assert ElementType.FLOAT32 == 1 and ElementType.BFLOAT16 == 16 and ElementType.INT4 == 22


@pytest.mark.parametrize(("alias", "canonical"), [
    ("float", "float32"), ("FLOAT32", "float32"), ("double", "float64"), ("half", "float16"),
    ("float8_e4m3fn", "float8e4m3fn"), ("float4_e2m1fn", "float4e2m1"), ("boolean", "bool"),
])
def test_aliases(alias: str, canonical: str) -> None:
    assert element_type(alias).type_name == canonical


def test_from_dtype() -> None:
    assert element_type_from_dtype(np.float32) is ElementType.FLOAT32
    assert element_type_from_dtype(np.dtype(">f4")) is ElementType.FLOAT32
    assert element_type_from_dtype(np.dtype("U3")) is ElementType.STRING
    with pytest.raises(ort.ElementTypeError, match="complex64"):
        element_type_from_dtype(np.complex64)


@pytest.mark.parametrize("bad", [0, 14, 99, True, 1.5, None, "flaot"])
def test_unknown_types(bad: object) -> None:
    with pytest.raises(ort.ElementTypeError):
        element_type(bad)  # type: ignore[arg-type]


def test_bits_and_flags() -> None:
    assert ElementType.INT4.bits == 4 and ElementType.INT4.is_packed
    assert ElementType.BFLOAT16.is_float and not ElementType.BFLOAT16.is_native
    assert ElementType.UINT2.is_integer and ElementType.UINT2.packed_nbytes(5) == 2
    assert not ElementType.BOOL.is_integer and not ElementType.STRING.is_float
    assert str(ElementType.FLOAT64) == "float64"
