"""``IOBinding`` and ``Session.run_with_iobinding``: every form of SPEC §6, lifecycle."""

from __future__ import annotations

import gc
from typing import Any

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import helper

import models
import ortsession as ort
from ortsession import (
    ElementTypeError,
    InputError,
    IOBinding,
    NotFoundError,
    OptionError,
    RunError,
    StateError,
    Tensor,
)

TP = onnx.TensorProto
X = np.array([[1.0, 2.0]], np.float32)
BIAS = np.array([[0.5, -0.5]], np.float32)


def _bound(s: ort.Session, x: Any = X, bias: Any = BIAS) -> IOBinding:
    b = s.create_io_binding()
    b.bind_input("x", x)
    b.bind_input("bias", bias)
    return b


# --- bind_output forms ------------------------------------------------------------------------

def test_bind_output_by_name(demo: ort.Session) -> None:
    b = _bound(demo)
    assert b.bind_output("y") is None
    out = demo.run_with_iobinding(b)
    assert out.names() == ["y"]
    assert isinstance(out["y"], Tensor)
    assert out["y"].to_table() == [1.5, 1.5]
    got = b.get_outputs()
    assert got.names() == ["y"]
    assert got["y"].to_table() == [1.5, 1.5]
    assert got["y"].device == "cpu"


@pytest.mark.parametrize("elem_type", [TP.FLOAT, TP.BFLOAT16, TP.FLOAT8E4M3FN, TP.INT4,
                                       TP.INT64, TP.BOOL])
def test_results_of_name_bound_outputs_do_not_change_at_the_next_run(elem_type: int) -> None:
    # ORT reuses the buffers of outputs it allocates; a result once returned must not change
    s = ort.session_from_bytes(models.identity(elem_type))
    data_type = s.input_info("x").data_type
    assert data_type is not None
    b = s.create_io_binding()
    b.bind_output("y")
    b.bind_input("x", ort.tensor(data_type, [2, 3], [1] * 6))
    first = s.run_with_iobinding(b)["y"]
    fetched = b.get_outputs()["y"]
    b.bind_input("x", ort.tensor(data_type, [2, 3], [0] * 6))
    second = s.run_with_iobinding(b)["y"]
    assert [int(v) for v in first.to_table()] == [1] * 6
    assert [int(v) for v in fetched.to_table()] == [1] * 6
    assert [int(v) for v in second.to_table()] == [0] * 6


def test_bind_output_to_an_existing_tensor(demo: ort.Session) -> None:
    b = _bound(demo)
    y = ort.tensor("float32", [1, 2])
    ptr = y.numpy().ctypes.data
    assert b.bind_output("y", y) is y
    out = demo.run_with_iobinding(b)
    assert out["y"] is y
    assert b.get_outputs()["y"] is y
    assert y.to_table() == [1.5, 1.5]
    assert y.numpy().ctypes.data == ptr


def test_bind_output_to_a_numpy_array(demo: ort.Session) -> None:
    b = _bound(demo)
    y = np.zeros((1, 2), np.float32)
    tensor = b.bind_output("y", y)
    assert isinstance(tensor, Tensor)
    assert tensor.numpy() is y
    demo.run_with_iobinding(b)
    np.testing.assert_array_equal(y, [[1.5, 1.5]])


def test_bind_output_spec_creates_and_returns_a_tensor(demo: ort.Session) -> None:
    b = _bound(demo)
    y = b.bind_output("y", {"type": "float32", "shape": [1, 2]})
    assert isinstance(y, Tensor)
    assert y.data_type == "float32"
    assert y.shape == (1, 2)
    assert y.to_table() == [0.0, 0.0]
    out = demo.run_with_iobinding(b)
    assert out["y"] is y
    assert y.to_table() == [1.5, 1.5]
    b2 = _bound(demo)
    assert b2.bind_output("y", {"type": "float", "shape": (1, 2)}).data_type == "float32"


@pytest.mark.parametrize("mode", ["device", "cpu"])
def test_bind_output_mode(demo: ort.Session, mode: str) -> None:
    b = _bound(demo)
    assert b.bind_output("y", {"mode": mode}) is None
    out = demo.run_with_iobinding(b)
    assert out["y"].to_table() == [1.5, 1.5]
    assert out["y"].device == "cpu"  # the session's device: this session runs on the CPU


@pytest.mark.parametrize(("spec", "error", "pattern"), [
    ({"type": "float64", "shape": [1, 2]}, InputError, r"'y' is float32.*float64"),
    ({"type": "float32", "shape": [1, 3]}, InputError, r"'y' has shape \[1, 2\].*\[1, 3\]"),
    ({"type": "float32"}, OptionError, r"exactly 'type' and 'shape'.*\['type'\]"),
    ({"type": "float32", "shape": [1, 2], "mode": "device"}, OptionError, "exactly"),
    ({"mode": "gpu"}, OptionError, r"'mode' must be 'device' or 'cpu', got 'gpu'"),
    ({"type": "flaot32", "shape": [1, 2]}, ElementTypeError, r"unknown element type 'flaot32'"),
    ([1, 2], InputError, r"expected a Tensor, a \{type, shape\} spec.*list"),
    (ort.tensor("int32", [1, 2]), InputError, r"'y' is float32.*int32"),
    (np.zeros((1, 4), np.float32)[:, ::2], InputError, "C-contiguous"),
])
def test_bad_bind_output(demo: ort.Session, spec: Any, error: type[Exception],
                         pattern: str) -> None:
    b = _bound(demo)
    with pytest.raises(error, match=pattern):
        b.bind_output("y", spec)


def test_unknown_names(demo: ort.Session) -> None:
    b = demo.create_io_binding()
    with pytest.raises(NotFoundError, match=r"bind_output\(\): unknown output 'z'.*\['y'\]"):
        b.bind_output("z")
    with pytest.raises(NotFoundError, match=r"bind_input\(\): unknown input 'xx'.*'x', 'bias'"):
        b.bind_input("xx", X)


# --- bind_input -------------------------------------------------------------------------------

def test_bind_input_validates_like_run(demo: ort.Session) -> None:
    b = demo.create_io_binding()
    with pytest.raises(InputError, match=r"'x'.*float32.*float64"):
        b.bind_input("x", X.astype(np.float64))
    with pytest.raises(InputError, match=r"'x'.*dimension 1 must be 2"):
        b.bind_input("x", np.zeros((1, 3), np.float32))
    b.bind_input("x", [[1, 2]])  # Python lists are converted (and kept alive by the binding)
    b.bind_input("bias", ort.tensor("float32", [1, 2], [0.5, -0.5]))
    b.bind_output("y")
    gc.collect()
    assert demo.run_with_iobinding(b)["y"].to_table() == [1.5, 1.5]


def test_bind_input_refuses_empty_optionals() -> None:
    s = ort.session_from_bytes(models.optional_model())
    info = s.input_info("opt")
    b = s.create_io_binding()
    with pytest.raises(InputError, match=r"bind_input\(\): input 'opt': empty optionals cannot "
                                         r"be bound"):
        b.bind_input("opt", None)
    with pytest.raises(InputError, match="empty optionals"):
        b.bind_input("opt", ort.optional(None, info))
    # an optional input left unbound is an empty optional; its optional output is None
    b.bind_output("has_element")
    b.bind_output("passthrough")
    out = s.run_with_iobinding(b)
    assert out["has_element"].to_table() == [False]
    assert out["passthrough"] is None
    assert b.get_outputs()["passthrough"] is None
    # with a value
    b.bind_input("opt", ort.optional(np.array([1.0, 2.0], np.float32), info))
    out = s.run_with_iobinding(b)
    assert out["has_element"].to_table() == [True]
    assert out["passthrough"].to_table() == [1.0, 2.0]


def test_bound_inputs_are_read_at_each_run(demo: ort.Session) -> None:
    x = np.zeros((1, 2), np.float32)
    b = _bound(demo, x=x)
    y = b.bind_output("y", {"type": "float32", "shape": [1, 2]})
    assert y is not None
    first = demo.run_with_iobinding(b)
    for i in range(100):
        x[...] = i
        assert demo.run_with_iobinding(b) is first  # pre-validated: the same Outputs
        assert y.to_table() == [i + 0.5, i - 0.5]
    b.bind_input("x", np.full((1, 2), 10, np.float32))  # rebinding takes effect
    assert demo.run_with_iobinding(b)["y"].to_table() == [10.5, 9.5]


@pytest.mark.parametrize("make", [
    pytest.param(lambda: np.arange(8, dtype=np.float32).reshape(2, 4)[:, ::2], id="strided"),
    pytest.param(lambda: np.arange(4, dtype=np.float32).reshape(2, 2).T, id="transposed"),
    pytest.param(lambda: np.arange(4, dtype=">f4").reshape(2, 2), id="big-endian"),
])
def test_bind_input_any_layout(make: Any) -> None:
    s = ort.session_from_bytes(models.add((2, 2)))
    x = make()
    b = _bound(s, x=x, bias=np.zeros((2, 2), np.float32))
    b.bind_output("y")
    np.testing.assert_array_equal(s.run_with_iobinding(b)["y"].numpy(), np.asarray(x, np.float32))


def test_overridable_initializers_can_be_bound() -> None:
    s = ort.session_from_bytes(models.with_overridable_initializer())
    b = s.create_io_binding()
    b.bind_input("x", X)
    b.bind_output("y")
    assert s.run_with_iobinding(b)["y"].to_table() == [1.5, 1.5]
    b.bind_input("bias", np.array([[10, 20]], np.float32))
    assert s.run_with_iobinding(b)["y"].to_table() == [11.0, 22.0]


# --- clear, synchronize, get_outputs ----------------------------------------------------------

def test_clear_and_synchronize(demo: ort.Session) -> None:
    b = _bound(demo)
    b.bind_output("y")
    b.synchronize_inputs()
    b.synchronize_outputs()
    assert demo.run_with_iobinding(b)["y"].to_table() == [1.5, 1.5]
    b.clear_outputs()
    with pytest.raises(StateError, match=r"get_outputs\(\): the binding has not been run"):
        b.get_outputs()
    with pytest.raises(InputError, match="no output is bound"):
        demo.run_with_iobinding(b)
    b.bind_output("y")
    b.clear_inputs()
    with pytest.raises(InputError, match=r"required input\(s\) \['x', 'bias'\] are not bound"):
        demo.run_with_iobinding(b)
    b.bind_input("x", X)
    b.bind_input("bias", X)
    assert demo.run_with_iobinding(b)["y"].to_table() == [2.0, 4.0]


def test_get_outputs_before_a_run(demo: ort.Session) -> None:
    b = _bound(demo)
    b.bind_output("y")
    with pytest.raises(StateError, match="not been run"):
        b.get_outputs()


def test_several_outputs_mixing_forms() -> None:
    s = ort.session_from_bytes(models.two_outputs())
    b = s.create_io_binding()
    b.bind_input("x", np.zeros((2, 3), np.float32))
    shape = b.bind_output("shape", {"type": "int64", "shape": [2]})
    b.bind_output("y")
    out = s.run_with_iobinding(b)
    assert out.names() == ["shape", "y"]
    assert out["shape"] is shape
    assert shape is not None
    assert shape.to_table() == [2, 3]
    assert out["y"].to_table() == [1.0] * 6
    assert b.get_outputs().names() == ["shape", "y"]


# --- run_with_iobinding -----------------------------------------------------------------------

def test_run_with_iobinding_run_options(demo: ort.Session) -> None:
    b = _bound(demo)
    b.bind_output("y", ort.tensor("float32", [1, 2]))
    ro = ort.run_options(tag="binding")
    assert demo.run_with_iobinding(b, ro)["y"].to_table() == [1.5, 1.5]
    ro.terminate()
    with pytest.raises(ort.TerminatedError):
        demo.run_with_iobinding(b, ro)
    ro.reset_terminate()
    assert demo.run_with_iobinding(b, ro)["y"].to_table() == [1.5, 1.5]
    with pytest.raises(OptionError, match="run_options must be a RunOptions"):
        demo.run_with_iobinding(b, "fast")  # type: ignore[arg-type]


def test_foreign_bindings_are_refused(demo: ort.Session, demo_model_path: str) -> None:
    other = ort.session(demo_model_path)
    b = _bound(other)
    b.bind_output("y")
    with pytest.raises(InputError, match="belongs to another session"):
        demo.run_with_iobinding(b)
    with pytest.raises(InputError, match=r"expected an IOBinding.*str"):
        demo.run_with_iobinding("binding")  # type: ignore[arg-type]


def test_run_failure_is_a_clean_run_error() -> None:
    m = models.make([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                    [helper.make_tensor_value_info("x", TP.FLOAT, [2, 3]),
                     helper.make_tensor_value_info("shape", TP.INT64, [2])],
                    [helper.make_tensor_value_info("y", TP.FLOAT, [None, None])])
    s = ort.session_from_bytes(m)
    b = s.create_io_binding()
    b.bind_input("x", np.zeros((2, 3), np.float32))
    b.bind_input("shape", [4, 4])
    b.bind_output("y")
    with pytest.raises(RunError, match=r"^run_with_iobinding\(\): .*Reshape.*\{4,4\}") as info:
        s.run_with_iobinding(b)
    assert ".cc" not in str(info.value)
    assert "onnxruntime_src" not in str(info.value)


# --- element types, strings, sequences, maps ---------------------------------------------------

@pytest.mark.parametrize(("elem_type", "dtype"), [
    (TP.BFLOAT16, ml_dtypes.bfloat16),
    (TP.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn),
    (TP.FLOAT8E5M2FNUZ, ml_dtypes.float8_e5m2fnuz),
    (TP.INT4, ml_dtypes.int4),
    (TP.UINT4, ml_dtypes.uint4),
    (TP.INT2, ml_dtypes.int2),
    (TP.FLOAT16, np.float16),
    (TP.UINT64, np.uint64),
])
def test_element_types_in_every_output_form(elem_type: int, dtype: Any) -> None:
    s = ort.session_from_bytes(models.identity(elem_type))
    data_type = s.input_info("x").data_type
    assert data_type is not None
    values = [1, 0, 1, 1, 0, 1]
    x = ort.tensor(data_type, [2, 3], values)
    b = s.create_io_binding()
    b.bind_input("x", x)
    b.bind_output("y")
    out = s.run_with_iobinding(b)
    assert out["y"].data_type == data_type
    assert out["y"].numpy().dtype == dtype
    assert out["y"].to_table() == values
    b.clear_outputs()
    y = b.bind_output("y", {"type": data_type, "shape": [2, 3]})
    assert s.run_with_iobinding(b)["y"] is y
    assert y is not None
    assert y.to_table() == values
    b.clear_outputs()
    y2 = ort.tensor(data_type, [2, 3])
    b.bind_output("y", y2)
    b.bind_input("x", x.numpy())  # an ml_dtypes / numpy array instead of a Tensor
    assert s.run_with_iobinding(b)["y"] is y2
    assert y2.to_table() == values


def test_float4e2m1_binding() -> None:
    s = ort.session_from_bytes(models.identity(TP.FLOAT4E2M1, (2, 3), name_out="x"))
    values = [0.5, 1.0, 1.5, -2.0, 3.0, 6.0]
    b = s.create_io_binding()
    b.bind_input("x", ort.tensor("float4e2m1", [2, 3], values))
    b.bind_output("x")
    assert s.run_with_iobinding(b)["x"].to_table() == values


def test_strings_are_held_and_copied() -> None:
    s = ort.session_from_bytes(models.string_model())
    b = s.create_io_binding()
    b.bind_input("x", ["abc", "Hello wOrld"])
    b.bind_output("y")
    upper = b.bind_output("upper", {"type": "string", "shape": [2]})
    out = s.run_with_iobinding(b)
    assert out["y"].to_table() == ["abc", "Hello wOrld"]
    assert out["upper"] is upper
    assert upper is not None
    assert upper.to_table() == ["ABC", "HELLO WORLD"]
    assert b.get_outputs()["upper"] is upper
    b.bind_input("x", np.array(["x", "y"]))
    assert s.run_with_iobinding(b)["upper"].to_table() == ["X", "Y"]


def test_string_outputs_with_numeric_inputs() -> None:
    m = models.make([helper.make_node("Cast", ["x"], ["y"], to=TP.STRING)],
                    [helper.make_tensor_value_info("x", TP.INT64, [3])],
                    [helper.make_tensor_value_info("y", TP.STRING, [3])])
    s = ort.session_from_bytes(m)
    b = s.create_io_binding()
    b.bind_input("x", [1, 22, 333])
    y = b.bind_output("y", ort.tensor("string", [3]))
    assert s.run_with_iobinding(b)["y"] is y
    assert y is not None
    assert y.to_table() == ["1", "22", "333"]
    b.clear_outputs()
    b.bind_output("y")
    assert s.run_with_iobinding(b)["y"].to_table() == ["1", "22", "333"]


def test_sequences_and_maps() -> None:
    s = ort.session_from_bytes(models.sequence_model())
    b = s.create_io_binding()
    b.bind_input("seq", [np.ones(2, np.float32)])
    b.bind_input("x", np.array([3.0, 4.0], np.float32))
    b.bind_output("appended")
    length = b.bind_output("length", ort.tensor("int64", []))
    out = s.run_with_iobinding(b)
    assert [t.to_table() for t in out["appended"]] == [[1.0, 1.0], [3.0, 4.0]]
    assert out["length"] is length
    assert length is not None
    assert length.to_table() == [2]

    m = ort.session_from_bytes(models.map_model())
    b = m.create_io_binding()
    b.bind_input("features", {"a": 1.0, "c": 3.0})
    b.bind_output("zipped")
    b.bind_output("vector")
    out = m.run_with_iobinding(b)
    assert out["zipped"] == [{"a": 1.0, "b": 0.0, "c": 3.0}]
    assert out["vector"].to_table() == [1.0, 0.0, 3.0]
    with pytest.raises(InputError, match="map key must be string"):
        b.bind_input("features", {1: 1.0})


def test_sequence_and_map_outputs_with_bound_tensor_inputs() -> None:
    s = ort.session_from_bytes(models.sklearn_classifier())
    b = s.create_io_binding()
    b.bind_input("input", np.array([[5.1, 3.5, 1.4, 0.2]], np.float32))
    b.bind_output("output_label")
    b.bind_output("output_probability")
    out = s.run_with_iobinding(b)
    assert out["output_label"].to_table() == [0]
    assert isinstance(out["output_probability"], list)
    assert sorted(out["output_probability"][0]) == [0, 1, 2]


# --- lifecycle --------------------------------------------------------------------------------

def _all_binding_calls(b: IOBinding, s: ort.Session) -> list[Any]:
    return [lambda: b.bind_input("x", X), lambda: b.bind_output("y"), b.clear_inputs,
            b.clear_outputs, b.synchronize_inputs, b.synchronize_outputs, b.get_outputs,
            lambda: s.run_with_iobinding(b)]


def test_binding_after_close(demo_model_path: str) -> None:
    s = ort.session(demo_model_path)
    b = _bound(s)
    b.bind_output("y", ort.tensor("float32", [1, 2]))
    out = s.run_with_iobinding(b)
    s.close()
    for call in _all_binding_calls(b, s):
        with pytest.raises(StateError, match="closed"):
            call()
    assert out["y"].to_table() == [1.5, 1.5]  # results stay readable
    del s
    gc.collect()
    del b
    gc.collect()


def test_binding_after_rebuild(demo_model_path: str) -> None:
    from onnxruntime_extensions import get_library_path

    s = ort.session(demo_model_path)
    b = _bound(s)
    b.bind_output("y", ort.tensor("float32", [1, 2]))
    s.run_with_iobinding(b)  # the pre-validated fast path is armed
    s.register_custom_op_library(get_library_path())
    for call in _all_binding_calls(b, s):
        with pytest.raises(StateError, match="rebuilt"):
            call()
    fresh = _bound(s)
    fresh.bind_output("y")
    assert s.run_with_iobinding(fresh)["y"].to_table() == [1.5, 1.5]
    assert s.run({"x": X, "bias": BIAS})["y"].to_table() == [1.5, 1.5]


def test_repr(demo: ort.Session) -> None:
    b = _bound(demo)
    b.bind_output("y")
    assert repr(b).startswith("<IOBinding inputs=['x', 'bias'] outputs=['y'] of <Session")
