"""Tensor creation, conversion and round trips for every element type (SPEC §5)."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ortsession as ort
from ortsession import ElementType, TensorError

# Sample values each type represents exactly (6 values, for shape [2, 3]).
SAMPLES: dict[str, list[object]] = {
    "float32": [0.5, -1.0, 2.25, 0.0, 3.0, -7.5],
    "float64": [0.1, -1e300, 2.25, 0.0, 3.0, -7.5],
    "float16": [0.5, -1.0, 2.25, 0.0, 3.0, -7.5],
    "bfloat16": [0.5, -1.0, 2.25, 0.0, 3.0, -7.5],
    "float8e4m3fn": [0.5, -1.0, 2.25, 0.0, 3.0, -7.5],
    "float8e4m3fnuz": [0.5, -1.0, 2.25, 0.0, 3.0, -7.5],
    "float8e5m2": [0.5, -1.0, 2.0, 0.0, 3.0, -8.0],
    "float8e5m2fnuz": [0.5, -1.0, 2.0, 0.0, 3.0, -8.0],
    "float8e8m0": [0.5, 1.0, 2.0, 4.0, 0.25, 8.0],
    "float4e2m1": [0.5, -1.0, 1.5, 0.0, 3.0, -6.0],
    "int8": [-128, 127, 0, 1, -1, 5],
    "int16": [-32768, 32767, 0, 1, -1, 5],
    "int32": [-(2**31), 2**31 - 1, 0, 1, -1, 5],
    "int64": [-(2**63), 2**63 - 1, 0, 1, -1, 5],
    "uint8": [0, 255, 1, 2, 3, 4],
    "uint16": [0, 65535, 1, 2, 3, 4],
    "uint32": [0, 2**32 - 1, 1, 2, 3, 4],
    "uint64": [0, 2**64 - 1, 1, 2, 3, 4],
    "int4": [-8, 7, 0, 1, -1, 5],
    "uint4": [0, 15, 1, 2, 3, 4],
    "int2": [-2, 1, 0, 1, -1, 0],
    "uint2": [0, 3, 1, 2, 3, 0],
    "bool": [True, False, True, True, False, False],
    "string": ["a", "", "héllo", "x y", "日本", "z"],
}


def test_samples_cover_every_element_type() -> None:
    assert set(SAMPLES) == set(ort.element_type_names())


@pytest.mark.parametrize("type_name", sorted(SAMPLES))
def test_round_trip_every_type(type_name: str) -> None:
    data = SAMPLES[type_name]
    t = ort.tensor(type_name, [2, 3], data)
    assert t.shape == (2, 3)
    assert t.data_type == type_name
    assert t.element_count == 6
    assert t.to_table() == data
    assert t.tolist() == [data[:3], data[3:]]
    arr = t.numpy()
    assert arr.shape == (2, 3)
    assert arr.dtype == ElementType[type_name.upper()].dtype if type_name not in (
        "float32", "float64") else True
    # numpy() is the tensor's own buffer
    assert t.numpy() is arr
    again = ort.tensor(type_name, [2, 3], arr)
    assert again == t
    if type_name != "string":
        raw = t.tobytes()
        assert len(raw) == t.nbytes
        assert ort.tensor_from_bytes(type_name, [2, 3], raw) == t
        # through ORT's own OrtValue and back
        from ortsession._creation import tensor_from_ortvalue

        assert tensor_from_ortvalue(t._to_ortvalue()) == t


def test_numpy_dtypes_for_types_numpy_lacks() -> None:
    assert ort.tensor("bfloat16", [1]).numpy().dtype == ml_dtypes.bfloat16
    assert ort.tensor("float8e4m3fn", [1]).numpy().dtype == ml_dtypes.float8_e4m3fn
    assert ort.tensor("int4", [1]).numpy().dtype == ml_dtypes.int4
    assert ort.tensor("string", [2]).numpy().dtype == object


def test_onnx_names_are_aliases() -> None:
    assert ort.tensor("float", [1], [1.0]).data_type == "float32"
    assert ort.tensor("double", [1], [1.0]).data_type == "float64"
    assert ort.tensor(ElementType.INT64, [1], [3]).data_type == "int64"


def test_packed_layout_matches_onnx() -> None:
    # ONNX packs int4 two per byte, first element in the low nibble
    t = ort.tensor("int4", [3], [1, -1, 7])
    assert t.tobytes() == bytes([0xF1, 0x07])
    assert t.nbytes == 2
    u2 = ort.tensor("uint2", [5], [1, 2, 3, 0, 1])
    assert u2.tobytes() == bytes([0b00111001, 0b00000001])


def test_little_endian_bytes() -> None:
    assert ort.tensor("int32", [1], [1]).tobytes() == b"\x01\x00\x00\x00"
    assert ort.tensor("float16", [1], [1.0]).tobytes() == np.float16(1).tobytes()


def test_nested_and_flat_data() -> None:
    nested = ort.tensor("int32", [2, 2], [[1, 2], [3, 4]])
    flat = ort.tensor("int32", [2, 2], [1, 2, 3, 4])
    assert nested == flat
    assert flat.to_table()[0] == 1


@pytest.mark.parametrize(("type_name", "fill", "expected"), [
    ("float32", 7, 7.0), ("int8", -3, -3), ("bool", True, True), ("string", "hi", "hi"),
    ("bfloat16", 1.5, 1.5), ("int4", -2, -2),
])
def test_scalar_fills(type_name: str, fill: object, expected: object) -> None:
    t = ort.tensor(type_name, [2, 3], fill)
    assert t.to_table() == [expected] * 6


def test_omitted_data_is_zero_or_empty() -> None:
    assert ort.tensor("float64", [2]).to_table() == [0.0, 0.0]
    assert ort.tensor("string", [2]).to_table() == ["", ""]
    assert ort.tensor("bool", [1]).to_table() == [False]


def test_scalar_and_empty_shapes() -> None:
    s = ort.tensor("float32", [], 3.5)
    assert s.shape == () and s.to_table() == [3.5] and s.element_count == 1
    e = ort.tensor("float32", [0, 4])
    assert e.shape == (0, 4) and e.to_table() == [] and e.nbytes == 0


def test_numpy_input_is_shared_when_layout_matches() -> None:
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = ort.tensor("float32", [2, 3], arr)
    assert np.shares_memory(t.numpy(), arr)
    # non-contiguous and big-endian arrays are converted
    t2 = ort.tensor("float32", [3, 2], arr.T)
    assert t2.numpy().flags.c_contiguous and t2.tolist() == arr.T.tolist()
    big = np.arange(3, dtype=">i4")
    assert ort.tensor("int32", [3], big).to_table() == [0, 1, 2]


def test_array_protocols() -> None:
    t = ort.tensor("float32", [2], [1.0, 2.0])
    assert np.asarray(t).tolist() == [1.0, 2.0]
    assert np.array(t, dtype=np.float64).dtype == np.float64
    assert np.from_dlpack(t).tolist() == [1.0, 2.0]
    assert t.__dlpack_device__() == (1, 0)
    assert len(t) == 2
    assert "float32" in repr(t) and "[1.0, 2.0]" in repr(t)


def test_dlpack_for_bfloat16_goes_through_ort() -> None:
    capsule = ort.tensor("bfloat16", [2], [1.0, 2.0]).__dlpack__()
    assert "dltensor" in repr(capsule)


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: ort.tensor("float32", [2], [1, "a"]), "needs numbers"),
    (lambda: ort.tensor("float32", [2], ["1.5", "2"]), "needs numbers"),
    (lambda: ort.tensor("float32", [1], [None]), "needs numbers"),
    (lambda: ort.tensor("int32", [2], [1.5, 2]), "whole numbers"),
    (lambda: ort.tensor("int32", [1], [float("nan")]), "whole numbers"),
    (lambda: ort.tensor("uint8", [1], [300]), "out of range for uint8"),
    (lambda: ort.tensor("uint8", [1], [-1]), "out of range for uint8"),
    (lambda: ort.tensor("int4", [1], [8]), "out of range for int4"),
    (lambda: ort.tensor("int64", [1], [2**70]), "int64"),
    (lambda: ort.tensor("float16", [1], [1e6]), "out of range for float16"),
    (lambda: ort.tensor("float8e4m3fn", [1], [1e6]), "out of range for float8e4m3fn"),
    (lambda: ort.tensor("float4e2m1", [1], [7.0]), "out of range for float4e2m1"),
    (lambda: ort.tensor("float8e8m0", [1], [0.0]), "out of range for float8e8m0"),
    (lambda: ort.tensor("bool", [1], [2]), "bool accepts"),
    (lambda: ort.tensor("float32", [2, 2], [[1, 2], [3]]), "ragged"),
    (lambda: ort.tensor("float32", [3], [1, 2]), "needs 3 elements, got 2"),
    (lambda: ort.tensor("float32", [2, 2], [[1, 2, 3, 4]]), "expected [2, 2]"),
    (lambda: ort.tensor("float32", [-1], [1]), "negative"),
    (lambda: ort.tensor("float32", [1.5], [1]), "not an integer"),
    (lambda: ort.tensor("float32", "12", [1]), "list of non-negative integers"),
    (lambda: ort.tensor("string", [1], [1]), "needs strings"),
    (lambda: ort.tensor("string", [1], [b"\xff"]), "UTF-8"),
    (lambda: ort.tensor_from_bytes("float32", [2], b"123"), "needs 8 bytes, got 3"),
    (lambda: ort.tensor_from_bytes("int4", [3], b"1"), "needs 2 bytes, got 1"),
    (lambda: ort.tensor_from_bytes("string", [1], b"a"), "string tensors"),
    (lambda: ort.tensor_from_bytes("float32", [1], "abcd"), "must be bytes"),
    (lambda: ort.tensor("string", [1], "a").tobytes(), "no raw byte layout"),
])
def test_bad_data_raises_tensor_error(call: object, fragment: str) -> None:
    with pytest.raises(TensorError) as info:
        call()  # type: ignore[operator]
    assert fragment in str(info.value)


def test_unknown_type_lists_valid_names() -> None:
    with pytest.raises(ort.ElementTypeError) as info:
        ort.tensor("floot32", [1])
    message = str(info.value)
    assert "did you mean 'float32'" in message and "bfloat16" in message
    assert isinstance(info.value, ValueError)


def test_big_uint64_values_are_exact() -> None:
    t = ort.tensor("uint64", [2], [1, 2**64 - 1])
    assert t.to_table() == [1, 2**64 - 1]


# --- property tests ------------------------------------------------------------------------

NATIVE_NUMERIC = ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                  "uint32", "uint64", "bool"]
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(NATIVE_NUMERIC), shapes, st.data())
def test_property_numpy_round_trip(type_name: str, shape: tuple[int, ...],
                                   data: st.DataObject) -> None:
    dtype = np.dtype(ElementType[type_name.upper()].dtype)
    arr = data.draw(hnp.arrays(dtype, shape, elements=hnp.from_dtype(dtype, allow_nan=False)))
    t = ort.tensor(type_name, list(shape), arr)
    assert t.shape == shape
    assert np.array_equal(t.numpy(), arr)
    assert t.to_table() == arr.ravel().tolist()
    assert ort.tensor_from_bytes(type_name, list(shape), t.tobytes()) == t
    # the flat list form rebuilds the same tensor
    assert ort.tensor(type_name, list(shape), t.to_table()) == t


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["bfloat16", "float8e4m3fn", "float8e5m2", "int4", "uint4", "int2",
                        "float4e2m1", "float16"]), shapes, st.data())
def test_property_exotic_round_trip(type_name: str, shape: tuple[int, ...],
                                    data: st.DataObject) -> None:
    et = ElementType[type_name.upper()]
    storage = np.uint16 if et.bits == 16 else np.uint8
    count = math.prod(shape)
    patterns = data.draw(st.lists(st.integers(0, (1 << et.bits) - 1), min_size=count,
                                  max_size=count))
    typed = np.array(patterns, storage).view(et.dtype).reshape(shape)
    t = ort.tensor(type_name, list(shape), typed)
    assert t.tobytes() == ort.tensor_from_bytes(type_name, list(shape), t.tobytes()).tobytes()
    back = ort.tensor_from_bytes(type_name, list(shape), t.tobytes()).numpy()
    assert back.view(storage).tobytes() == typed.view(storage).tobytes()


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*NATIVE_NUMERIC, "float16", "bfloat16", "int4", "string"]),
       st.lists(st.integers(-3, 3), max_size=4),
       st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=3), st.booleans(),
                 st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=2)),
                          max_size=6)))
def test_property_bad_input_only_raises_ort_errors(type_name: str, shape: list[int],
                                                   data: object) -> None:
    try:
        t = ort.tensor(type_name, shape, data)
    except ort.OrtError:
        return
    assert list(t.shape) == shape


@pytest.mark.parametrize(("type_name", "shape", "data"), [
    ("uint2", [2, 1], b"\x10"), ("int2", [3], b"\xc0"), ("uint4", [1], b"\x10"),
    ("int4", [3], b"\x21\xf3"),
])
def test_tensor_from_bytes_refuses_set_padding_bits(type_name: str, shape: list[int],
                                                    data: bytes) -> None:
    with pytest.raises(ort.TensorError, match="padding bits must be zero"):
        ort.tensor_from_bytes(type_name, shape, data)


def test_tensor_from_bytes_round_trips_packed_types_with_clean_padding() -> None:
    for type_name, shape, data in (("uint2", [2, 1], b"\x0e"), ("int4", [3], b"\x21\x03"),
                                   ("uint4", [2], b"\xff")):
        assert ort.tensor_from_bytes(type_name, shape, data).tobytes() == data
