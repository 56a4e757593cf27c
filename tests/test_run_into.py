"""``Session.run_into``: ORT writes into the caller's tensors, with a cached binding."""

from __future__ import annotations

import threading
from typing import Any

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import helper

import models
import ortsession as ort
from ortsession import InputError, NotFoundError, RunError, StateError, Tensor

TP = onnx.TensorProto
X = np.array([[1.0, 2.0]], np.float32)
BIAS = np.array([[0.5, -0.5]], np.float32)


def _cast_model(to: int, shape: tuple[int, ...] = (2, 3)) -> bytes:
    """``y = Cast(x, to)`` from float32; the output ``y`` has element type *to*."""
    opset = 21 if to not in (TP.INT2, TP.UINT2, TP.FLOAT8E8M0) else 25
    return models.make([helper.make_node("Cast", ["x"], ["y"], to=to)],
                       [helper.make_tensor_value_info("x", TP.FLOAT, list(shape))],
                       [helper.make_tensor_value_info("y", to, list(shape))], opset=opset)


def test_writes_into_the_callers_tensor(demo: ort.Session) -> None:
    y = ort.tensor("float32", [1, 2])
    ptr = y.numpy().ctypes.data
    out = demo.run_into({"x": X, "bias": BIAS}, {"y": y})
    assert out["y"] is y
    assert out[0] is y
    assert out.names() == ["y"]
    assert y.to_table() == [1.5, 1.5]
    assert y.numpy().ctypes.data == ptr


def test_numpy_array_targets(demo: ort.Session) -> None:
    y = np.zeros((1, 2), np.float32)
    out = demo.run_into([X, BIAS], {"y": y})
    assert out["y"] is y
    np.testing.assert_array_equal(y, [[1.5, 1.5]])


def test_only_the_given_outputs_are_computed() -> None:
    s = ort.session_from_bytes(models.two_outputs())
    shape = ort.tensor("int64", [2])
    out = s.run_into({"x": np.zeros((2, 3), np.float32)}, {"shape": shape})
    assert out.names() == ["shape"]
    assert shape.to_table() == [2, 3]
    y = ort.tensor("float32", [2, 3])
    out = s.run_into({"x": np.zeros((2, 3), np.float32)}, {"shape": shape, "y": y})
    assert out.names() == ["shape", "y"]
    assert out["y"] is y
    assert y.to_table() == [1.0] * 6


@pytest.mark.parametrize(("target", "pattern"), [
    (ort.tensor("float64", [1, 2]), r"output 'y' is float32, the preallocated tensor is float64"),
    (ort.tensor("bfloat16", [1, 2]), r"output 'y' is float32.*bfloat16"),
    (np.zeros((1, 2), np.int32), r"output 'y' is float32.*int32"),
    (ort.tensor("float32", [1, 3]), r"output 'y' has shape \[1, 2\].*\[1, 3\]"),
    (ort.tensor("float32", [2]), r"output 'y' has shape \[1, 2\].*\[2\]"),
    (np.zeros((1, 4), np.float32)[:, ::2], r"output 'y'.*C-contiguous"),
    ([[0.0, 0.0]], r"output 'y' needs a preallocated Tensor.*list"),
])
def test_wrong_target_is_refused_before_running(demo: ort.Session, target: Any,
                                                  pattern: str) -> None:
    x = np.array([[1.0, 2.0]], np.float32)
    with pytest.raises(InputError, match=pattern):
        demo.run_into({"x": x, "bias": BIAS}, {"y": target})
    if isinstance(target, Tensor):
        assert not np.asarray(target.numpy(), np.float64).any()  # nothing was written


def test_read_only_target(demo: ort.Session) -> None:
    y = np.zeros((1, 2), np.float32)
    y.flags.writeable = False
    with pytest.raises(InputError, match=r"'y'.*read-only"):
        demo.run_into({"x": X, "bias": BIAS}, {"y": y})


@pytest.mark.parametrize(("outputs", "error", "pattern"), [
    ({}, InputError, "non-empty dict"),
    ([ort.tensor("float32", [1, 2])], InputError, "non-empty dict"),
    ({"z": ort.tensor("float32", [1, 2])}, NotFoundError, r"unknown output 'z'.*\['y'\]"),
])
def test_bad_outputs_argument(demo: ort.Session, outputs: Any, error: type[Exception],
                              pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        demo.run_into({"x": X, "bias": BIAS}, outputs)


def test_input_errors_are_those_of_run(demo: ort.Session) -> None:
    y = ort.tensor("float32", [1, 2])
    with pytest.raises(InputError, match=r"'x'.*float32.*float64"):
        demo.run_into({"x": X.astype(np.float64), "bias": BIAS}, {"y": y})
    with pytest.raises(InputError, match=r"missing required input\(s\) \['bias'\]"):
        demo.run_into({"x": X}, {"y": y})


def test_non_tensor_outputs_cannot_be_preallocated() -> None:
    s = ort.session_from_bytes(models.sequence_model())
    with pytest.raises(InputError, match=r"'pair' is a seq.*only tensor outputs"):
        s.run_into({"seq": [], "x": [1.0]}, {"pair": ort.tensor("float32", [1])})


def test_symbolic_output_shape_mismatch_is_a_run_error() -> None:
    s = ort.session_from_bytes(models.symbolic())
    y = ort.tensor("float32", [4, 3])
    s.run_into({"x": np.ones((4, 3), np.float32)}, {"y": y})
    assert y.to_table() == [2.0] * 12
    with pytest.raises(RunError, match=r"^run_into\(\): ") as info:
        s.run_into({"x": np.ones((5, 3), np.float32)}, {"y": y})
    assert ".cc" not in str(info.value)


def test_pointer_is_stable_over_1000_runs_and_inputs_changed_in_place_are_seen(
        demo: ort.Session) -> None:
    x = np.zeros((1, 2), np.float32)
    bias = np.array([[0.5, -0.5]], np.float32)
    y = ort.tensor("float32", [1, 2])
    inputs = {"x": x, "bias": bias}
    outputs = {"y": y}
    ptr = y.numpy().ctypes.data
    first = demo.run_into(inputs, outputs)
    for i in range(1000):
        x[0, 0] = i
        x[0, 1] = -i
        out = demo.run_into(inputs, outputs)
        assert out is first  # the cached plan returns the same Outputs
        assert out["y"] is y
        assert y.numpy().ctypes.data == ptr
        assert y.to_table() == [i + 0.5, -i - 0.5]


def test_positional_inputs_are_cached_too(demo: ort.Session) -> None:
    x = np.zeros((1, 2), np.float32)
    y = np.zeros((1, 2), np.float32)
    inputs = [x, BIAS]
    for i in range(5):
        x[...] = i
        demo.run_into(inputs, {"y": y})
        np.testing.assert_array_equal(y, [[i + 0.5, i - 0.5]])


def test_new_input_objects_are_bound_again(demo: ort.Session) -> None:
    y = ort.tensor("float32", [1, 2])
    for i in range(5):
        demo.run_into({"x": np.full((1, 2), i, np.float32), "bias": BIAS}, {"y": y})
        assert y.to_table() == [i + 0.5, i - 0.5]
    y2 = ort.tensor("float32", [1, 2])
    out = demo.run_into({"x": X, "bias": BIAS}, {"y": y2})
    assert out["y"] is y2
    assert y2.to_table() == [1.5, 1.5]


def test_converted_inputs_are_never_reused_stale(demo: ort.Session) -> None:
    # A Python list is converted to a fresh array each call: changes to the list must show,
    # and the converted array must stay alive while ORT reads it.
    xs = [[1.0, 2.0]]
    y = ort.tensor("float32", [1, 2])
    demo.run_into({"x": xs, "bias": BIAS}, {"y": y})
    assert y.to_table() == [1.5, 1.5]
    xs[0][0] = 100.0
    _garbage = [np.full((1, 2), 7, np.float32) for _ in range(1000)]
    demo.run_into({"x": xs, "bias": BIAS}, {"y": y})
    assert y.to_table() == [100.5, 1.5]
    del _garbage


@pytest.mark.parametrize("make", [
    pytest.param(lambda: np.arange(8, dtype=np.float32).reshape(2, 4)[:, ::2], id="strided"),
    pytest.param(lambda: np.arange(4, dtype=np.float32).reshape(2, 2).T, id="transposed"),
    pytest.param(lambda: np.arange(4, dtype=">f4").reshape(2, 2), id="big-endian"),
])
def test_non_contiguous_inputs(make: Any) -> None:
    s = ort.session_from_bytes(models.add((2, 2)))
    x = make()
    y = ort.tensor("float32", [2, 2])
    for _ in range(3):
        s.run_into({"x": x, "bias": np.zeros((2, 2), np.float32)}, {"y": y})
        np.testing.assert_array_equal(y.numpy(), np.asarray(x, np.float32))


@pytest.mark.parametrize(("to", "dtype"), [
    (TP.BFLOAT16, ml_dtypes.bfloat16),
    (TP.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn),
    (TP.FLOAT8E5M2, ml_dtypes.float8_e5m2),
    (TP.FLOAT16, np.float16),
])
def test_exotic_outputs_in_place(to: int, dtype: Any) -> None:
    s = ort.session_from_bytes(_cast_model(to))
    data_type = s.output_info("y").data_type
    assert data_type is not None
    x = np.zeros((2, 3), np.float32)
    y = ort.tensor(data_type, [2, 3])
    assert y.numpy().dtype == dtype
    ptr = y.numpy().ctypes.data
    first = s.run_into({"x": x}, {"y": y})
    for i in range(1000):
        x[0, 0] = i % 8
        out = s.run_into({"x": x}, {"y": y})
        assert out is first
        assert out["y"] is y
        assert y.numpy().ctypes.data == ptr
        assert float(y.numpy()[0, 0]) == float(np.float32(i % 8).astype(dtype))


@pytest.mark.parametrize("to", [TP.INT4, TP.UINT4, TP.INT2, TP.UINT2])
def test_packed_outputs_are_copied_into_the_callers_tensor(to: int) -> None:
    s = ort.session_from_bytes(_cast_model(to))
    data_type = s.output_info("y").data_type
    assert data_type is not None
    y = ort.tensor(data_type, [2, 3])
    ptr = y.numpy().ctypes.data
    for values in ([0, 1, 1, 0, 1, 0], [1, 0, 0, 1, 1, 1]):
        out = s.run_into({"x": np.array(values, np.float32).reshape(2, 3)}, {"y": y})
        assert out["y"] is y
        assert y.to_table() == values
        assert y.numpy().ctypes.data == ptr


def test_string_outputs_are_copied_into_the_callers_tensor() -> None:
    s = ort.session_from_bytes(models.string_model())
    y = ort.tensor("string", [2])
    upper = ort.tensor("string", [2])
    out = s.run_into({"x": ["abc", "déf"]}, {"upper": upper, "y": y})
    assert out["upper"] is upper
    assert out["y"] is y
    assert y.to_table() == ["abc", "déf"]
    assert upper.to_table() == ["ABC", "DéF"]


def test_exotic_inputs() -> None:
    s = ort.session_from_bytes(models.identity(TP.BFLOAT16))
    x = ort.tensor("bfloat16", [2, 3], [1, 2, 3, 4, 5, 6])
    y = ort.tensor("bfloat16", [2, 3])
    for _ in range(3):
        assert s.run_into({"x": x}, {"y": y})["y"] is y
        assert y.to_table() == [1, 2, 3, 4, 5, 6]


def test_run_options_are_used(demo: ort.Session) -> None:
    ro = ort.run_options(tag="into")
    y = ort.tensor("float32", [1, 2])
    assert demo.run_into({"x": X, "bias": BIAS}, {"y": y}, ro)["y"] is y
    ro.terminate()
    with pytest.raises(ort.TerminatedError):
        demo.run_into({"x": X, "bias": BIAS}, {"y": y}, ro)  # the cached plan checks too
    ro.reset_terminate()
    assert demo.run_into({"x": X, "bias": BIAS}, {"y": y}, ro)["y"] is y


def test_threads_use_their_own_bindings(demo: ort.Session) -> None:
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            x = np.zeros((1, 2), np.float32)
            y = ort.tensor("float32", [1, 2])
            for i in range(300):
                x[...] = k * 1000 + i
                demo.run_into({"x": x, "bias": BIAS}, {"y": y})
                assert y.to_table() == [k * 1000 + i + 0.5, k * 1000 + i - 0.5]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_closed_and_rebuilt_sessions(demo_model_path: str) -> None:
    from onnxruntime_extensions import get_library_path

    s = ort.session(demo_model_path)
    y = ort.tensor("float32", [1, 2])
    inputs = {"x": X, "bias": BIAS}
    s.run_into(inputs, {"y": y})
    s.register_custom_op_library(get_library_path())  # rebuild: the cached plan is dropped
    y.numpy()[...] = 0
    assert s.run_into(inputs, {"y": y})["y"] is y
    assert y.to_table() == [1.5, 1.5]
    s.close()
    with pytest.raises(StateError, match="closed"):
        s.run_into(inputs, {"y": y})
