"""Tensors that behave like arrays; inputs from any array library (SPEC §10).

Outputs: indexing, ``item()``, scalar conversions and numpy operators on real run outputs.
Inputs: objects that expose only ``__dlpack__``/``__dlpack_device__`` or only ``__array__``
(what PyTorch, CuPy and JAX offer), through ``run``, ``run_into``, IO binding and ``tensor()``,
with zero-copy checked by pointer or by in-place writes. Also the hot path for inputs with
symbolic dimensions, which must validate exactly what the general path does.
"""

from __future__ import annotations

import operator
from typing import Any

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import helper

import models
import ortsession as ort
from ortsession import InputError, TensorError
from ortsession._feeds import convert_input

TP = onnx.TensorProto
X = np.array([[1.0, 2.0]], np.float32)
BIAS = np.array([[0.5, -0.5]], np.float32)


@pytest.fixture(scope="module")
def demo() -> ort.Session:
    return ort.session(ort.models.path("demo/model.onnx"))


class DLPackOnly:
    """Exposes a numpy array through the DLPack protocol only (as a PyTorch CPU tensor can)."""

    def __init__(self, arr: np.ndarray[Any, Any], device: tuple[int, int] = (1, 0)) -> None:
        self._arr = arr
        self._device = device

    def __dlpack__(self, **kwargs: Any) -> Any:
        if self._device != (1, 0):  # what a GPU producer answers a host consumer
            raise BufferError("the tensor lives on a CUDA device")
        return self._arr.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._device


class ArrayOnly:
    """Exposes a numpy array through ``__array__`` only."""

    def __init__(self, arr: np.ndarray[Any, Any]) -> None:
        self._arr = arr

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray[Any, Any]:
        return self._arr if dtype is None else self._arr.astype(dtype)


# --- outputs that behave like arrays --------------------------------------------------------

def test_what_users_reach_for_first_works_on_run_outputs(demo: ort.Session) -> None:
    out = demo.run({"x": X, "bias": BIAS})
    y = out[0]
    assert out[0][0, 0] == pytest.approx(1.5)
    assert isinstance(y[0, 0], np.float32)
    assert y.numpy()[0, 1] == y[0, 1]
    mask = y > 0.5
    assert isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.all()
    one = demo.run({"x": [[1.0, 0.0]], "bias": [[0.25, 0.0]]})["y"][0:1, 0:1]
    assert isinstance(one, np.ndarray)
    t = ort.tensor("float32", [1, 1], [1.25])
    assert t.item() == 1.25 and isinstance(t.item(), float)
    assert float(t) == 1.25 and int(t) == 1 and bool(t) is True
    assert round(t) == 1 and complex(t) == 1.25


def test_indexing_gives_numpy_views_where_numpy_does(demo: ort.Session) -> None:
    y = demo.run({"x": X, "bias": BIAS})["y"]
    row = y[0]
    assert isinstance(row, np.ndarray) and np.shares_memory(row, y.numpy())
    row[1] = 7.0  # a view: writes show through the tensor
    assert y.to_table() == [1.5, 7.0]
    picked = y[[0], [1]]  # fancy indexing copies, as in numpy
    assert not np.shares_memory(picked, y.numpy())
    assert [list(r) for r in y] == [[1.5, 7.0]]
    with pytest.raises(IndexError):
        y[3]


def test_scalar_conversions_follow_numpy_rules() -> None:
    two = ort.tensor("float32", [2], [1.0, 2.0])
    for convert in (float, int, bool, lambda t: t.item()):
        with pytest.raises(TensorError, match=r"shape \[2\] \(2 elements\)"):
            convert(two)
    with pytest.raises(TensorError, match="ambiguous"):
        bool(ort.tensor("float32", [0]))
    assert operator.index(ort.tensor("int64", [], 3)) == 3
    assert list(range(ort.tensor("int32", [], 2))) == [0, 1]
    with pytest.raises(TensorError, match="integer tensor"):
        operator.index(ort.tensor("float32", [], 3.0))
    with pytest.raises(TensorError, match=r"shape \[1\]"):
        operator.index(ort.tensor("int64", [1], [3]))  # numpy: 0-d only
    with pytest.raises(TensorError, match="string"):
        float(ort.tensor("string", [1], ["1.5"]))
    assert ort.tensor("string", [], "hi").item() == "hi"
    assert bool(ort.tensor("bool", [1, 1, 1], [False])) is False
    with pytest.raises(TypeError):  # TensorError is also a ValueError, not a TypeError...
        len(ort.tensor("float32", [], 1.0))  # ...but len() of a 0-d tensor stays a TypeError


def test_operators_go_through_numpy_and_equality_stays_whole_tensor() -> None:
    a = ort.tensor("float32", [2], [1.0, 2.0])
    b = ort.tensor("float32", [2], [3.0, 5.0])
    for result, expected in ((a + b, [4.0, 7.0]), (b - a, [2.0, 3.0]), (a * 2, [2.0, 4.0]),
                             (2 * a, [2.0, 4.0]), (1 - a, [0.0, -1.0]), (b / a, [3.0, 2.5]),
                             (a ** 2, [1.0, 4.0]), (-a, [-1.0, -2.0]), (abs(-a), [1.0, 2.0]),
                             (np.ones(2, np.float32) + a, [2.0, 3.0]),
                             (a @ b, 13.0), (b // a, [3.0, 2.0]), (b % a, [0.0, 1.0])):
        assert isinstance(result, (np.ndarray, np.generic))
        np.testing.assert_array_equal(result, expected)
    assert (a < b).all() and (a <= a).all() and not (a > b).any() and (b >= a).all()
    assert np.sqrt(ort.tensor("float32", [1], [4.0]))[0] == 2.0  # ufuncs take tensors
    i = ort.tensor("int32", [2], [6, 3])
    np.testing.assert_array_equal(i & 2, [2, 2])
    np.testing.assert_array_equal(~ort.tensor("bool", [2], [True, False]), [False, True])
    assert (a == ort.tensor("float32", [2], [1.0, 2.0])) is True  # whole-tensor equality
    assert (a != b) is True


@pytest.mark.parametrize("type_name", ["bfloat16", "float8e4m3fn", "float8e5m2", "int4", "uint4"])
def test_types_numpy_lacks_behave_like_ml_dtypes_arrays(type_name: str) -> None:
    t = ort.tensor(type_name, [2, 2], [1, 2, 3, 4])
    element = t[0, 1]
    assert element.dtype == t.numpy().dtype  # an ml_dtypes scalar
    assert float(element) == 2.0
    assert isinstance(t[1], np.ndarray) and t[1].dtype == t.numpy().dtype
    np.testing.assert_array_equal(t > 2, [[False, False], [True, True]])
    one = ort.tensor(type_name, [1], [3])
    assert one.item() == 3 and float(one) == 3.0 and int(one) == 3 and bool(one)
    value = one.item()
    assert type(value) is (int if type_name in ("int4", "uint4") else float)


def test_bfloat16_run_outputs_are_array_like() -> None:
    s = ort.session_from_bytes(models.identity(TP.BFLOAT16, (2,)))
    y = s.run({"x": ort.tensor("bfloat16", [2], [0.5, 2.0])})["y"]
    assert y[1].dtype == ml_dtypes.bfloat16 and float(y[1]) == 2.0
    np.testing.assert_array_equal(y > 1, [False, True])


# --- inputs from any array library ----------------------------------------------------------

@pytest.mark.parametrize("wrap", [DLPackOnly, ArrayOnly], ids=["dlpack", "array"])
def test_run_accepts_foreign_arrays(demo: ort.Session, wrap: Any) -> None:
    out = demo.run({"x": wrap(X.copy()), "bias": wrap(BIAS.copy())})
    assert out["y"].to_table() == [1.5, 1.5]
    out = demo.run([wrap(X.copy()), BIAS])  # positional, mixed with numpy
    assert out["y"].to_table() == [1.5, 1.5]
    target = ort.tensor("float32", [1, 2])
    demo.run_into({"x": wrap(X.copy()), "bias": wrap(BIAS.copy())}, {"y": target})
    assert target.to_table() == [1.5, 1.5]


@pytest.mark.parametrize("wrap", [DLPackOnly, ArrayOnly], ids=["dlpack", "array"])
def test_foreign_arrays_are_zero_copy(demo: ort.Session, wrap: Any) -> None:
    src = X.copy()
    # tensor(): the tensor's buffer is the producer's buffer
    t = ort.tensor("float32", [1, 2], wrap(src))
    assert t.numpy().ctypes.data == src.ctypes.data
    # run(): the array handed to ORT is the producer's buffer
    fed = convert_input(demo._signature.specs["x"], wrap(src))
    assert fed.ctypes.data == src.ctypes.data
    # IO binding: ORT reads the producer's memory by pointer, so in-place writes are seen
    binding = demo.create_io_binding()
    binding.bind_input("x", wrap(src))
    binding.bind_input("bias", BIAS)
    binding.bind_output("y")
    assert demo.run_with_iobinding(binding)["y"].to_table() == [1.5, 1.5]
    src[0, 0] = 10.0
    assert demo.run_with_iobinding(binding)["y"].to_table() == [10.5, 1.5]


def test_foreign_arrays_are_checked_like_numpy_arrays(demo: ort.Session) -> None:
    with pytest.raises(InputError, match=r"input 'x': expected element type float32, got "
                                         r"numpy array of float64"):
        demo.run({"x": DLPackOnly(X.astype(np.float64)), "bias": BIAS})
    with pytest.raises(InputError, match=r"input 'x': expected rank 2"):
        demo.run({"x": ArrayOnly(np.zeros(2, np.float32)), "bias": BIAS})
    with pytest.raises(InputError, match=r"input 'x': cannot read DLPackOnly through DLPack"):
        demo.run({"x": DLPackOnly(X, device=(2, 0)), "bias": BIAS})  # a "CUDA" tensor
    with pytest.raises(TensorError, match="tensor data: cannot read DLPackOnly"):
        ort.tensor("float32", [1, 2], DLPackOnly(X, device=(2, 0)))
    # numpy scalars keep the converting path of Python scalars
    s = ort.session_from_bytes(models.identity(TP.FLOAT, ()))
    assert s.run({"x": np.float64(2.5)})["y"].item() == 2.5


def test_tensor_from_foreign_arrays_converts_like_numpy() -> None:
    assert ort.tensor("int32", [3], ArrayOnly(np.array([1, 2, 3]))).tolist() == [1, 2, 3]
    with pytest.raises(TensorError, match="out of range for uint8"):
        ort.tensor("uint8", [1], DLPackOnly(np.array([300])))


# --- the hot path for symbolic dimensions ---------------------------------------------------

def _gru() -> bytes:
    rng = np.random.RandomState(0)
    init = [helper.make_tensor(n, TP.FLOAT, s, (rng.standard_normal(s) * 0.1).ravel().tolist())
            for n, s in (("W", [1, 24, 4]), ("R", [1, 24, 8]), ("B", [1, 48]))]
    return models.make(
        [helper.make_node("GRU", ["x", "W", "R", "B", "", "h0"], ["y", "h"], hidden_size=8)],
        [helper.make_tensor_value_info("x", TP.FLOAT, ["seq", "batch", 4]),
         helper.make_tensor_value_info("h0", TP.FLOAT, [1, "batch", 8])],
        [helper.make_tensor_value_info("y", TP.FLOAT, ["seq", 1, "batch", 8]),
         helper.make_tensor_value_info("h", TP.FLOAT, [1, "batch", 8])],
        initializers=init, name="gru")


def test_symbolic_dimensions_take_the_hot_path_with_every_check() -> None:
    s = ort.session_from_bytes(_gru())
    spec = s._signature.specs["h0"]
    assert spec.dynamic and spec.rank == 3 and spec.fixed == (1, 8)
    x = np.random.RandomState(1).standard_normal((5, 2, 4)).astype(np.float32)
    h0 = np.zeros((1, 2, 8), np.float32)
    got = s.run({"x": x, "h0": h0})
    again = s.run({"x": ort.Tensor(x), "h0": h0.tolist()})  # Tensor and list: same answer
    np.testing.assert_array_equal(got["h"].numpy(), again["h"].numpy())
    strided = np.asfortranarray(x)  # not C-contiguous: still computed right
    np.testing.assert_allclose(s.run({"x": strided, "h0": h0})["h"].numpy(), got["h"].numpy(),
                               rtol=1e-6)
    with pytest.raises(InputError, match=r"input 'x': expected rank 3 \(shape \[-1, -1, 4\]\), "
                                         r"got shape \[5, 4\]"):
        s.run({"x": x[:, 0], "h0": h0})
    with pytest.raises(InputError, match=r"input 'x': dimension 2 must be 4"):
        s.run({"x": np.zeros((5, 2, 3), np.float32), "h0": h0})
    with pytest.raises(InputError, match=r"input 'h0': dimension 0 must be 1"):
        s.run({"x": x, "h0": np.zeros((2, 2, 8), np.float32)})
    with pytest.raises(InputError, match=r"input 'h0': dimension 2 must be 8"):
        s.run({"x": x, "h0": np.zeros((1, 2, 7), np.float32)})
    with pytest.raises(InputError, match=r"input 'x': expected element type float32"):
        s.run({"x": x.astype(np.float64), "h0": h0})


def test_one_fixed_dimension_and_all_symbolic_dimensions() -> None:
    s = ort.session_from_bytes(models.symbolic())  # x [N, 3]: one fixed dimension
    assert s._signature.specs["x"].fixed == 3
    assert s.run({"x": np.ones((4, 3), np.float32)})["y"].shape == (4, 3)
    with pytest.raises(InputError, match="dimension 1 must be 3"):
        s.run({"x": np.ones((4, 2), np.float32)})
    free = ort.session_from_bytes(models.identity(TP.INT64, ("a", "b")))
    assert free._signature.specs["x"].pick_fixed is None
    assert free.run({"x": np.arange(6).reshape(2, 3)})["y"].tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(InputError, match="expected rank 2"):
        free.run({"x": np.arange(6)})


def _sequence_model(elem: int) -> ort.Session:
    """Sequence ``q`` of *elem* passed through, and ``y = x * x`` (float32) beside it.

    ONNX gives no operator a ``seq(tensor(bfloat16))`` input (float8, int4 …): graph outputs and
    control flow are where such sequences go, so the model passes ``q`` through.
    """
    seq = helper.make_tensor_sequence_value_info("q", elem, None)
    return ort.session_from_bytes(models.make(
        [helper.make_node("Mul", ["x", "x"], ["y"])],
        [seq, helper.make_tensor_value_info("x", TP.FLOAT, ["n"])],
        [seq, helper.make_tensor_value_info("y", TP.FLOAT, ["n"])], name="seq_exotic",
        check=False))


@pytest.mark.parametrize("elem", [TP.BFLOAT16, TP.FLOAT8E4M3FN, TP.FLOAT8E5M2, TP.INT4,
                                  TP.UINT4])
def test_sequences_of_types_numpy_lacks_go_through_the_c_api(elem: int) -> None:
    s = _sequence_model(elem)
    et = ort.ElementType(elem)
    middle = [3, -1, 0.5] if et.is_float else [3, 1, 2] if et.name.startswith("U") else [3, -1, 2]
    items = [ort.tensor(et, [2], [1, 2]), ort.tensor(et, [1, 3], middle),
             np.array([[4]]).astype(et.dtype), [[0]], ort.tensor(et, [0])]
    out = s.run({"q": items, "x": np.array([3.0, -2.0], np.float32)})
    got = out["q"]
    assert [t.shape for t in got] == [(2,), (1, 3), (1, 1), (1, 1), (0,)]
    for sent, back in zip(items, got):
        assert back.element_type is et
        np.testing.assert_array_equal(np.asarray(sent, dtype=np.float64) if not isinstance(
            sent, ort.Tensor) else sent.numpy().astype(np.float64),
            back.numpy().astype(np.float64))
    assert out["y"].tolist() == [9.0, 4.0]
    assert s.run({"q": items[:1], "x": [2.0]}, output_names=["y"])["y"].tolist() == [4.0]


def test_sequences_of_types_numpy_lacks_are_checked() -> None:
    s = _sequence_model(TP.BFLOAT16)
    x = np.ones(1, np.float32)
    with pytest.raises(InputError, match=r"input 'q': element 1 of the sequence is a float32 "
                                         r"tensor, expected bfloat16"):
        s.run({"q": [ort.tensor("bfloat16", [1], 1), ort.tensor("float32", [1], 1)], "x": x})
    with pytest.raises(InputError, match=r"input 'q': bfloat16 needs numbers.*element 0"):
        s.run({"q": [["a"]], "x": x})
    with pytest.raises(InputError, match=r"only Session\.run"):
        s.run_into({"q": [ort.tensor("bfloat16", [1], 1)], "x": x},
                   {"y": ort.tensor("float32", [1])})
    with pytest.raises(InputError, match="run options cannot apply"):
        s.run({"q": [ort.tensor("bfloat16", [1], 1)], "x": x}, run_options=ort.run_options())
    with pytest.raises(InputError, match=r"input 'q': an empty sequence of bfloat16 cannot be "
                                         r"built"):
        s.run({"q": [], "x": x})
    with pytest.raises(InputError, match=r"expected a list for seq"):
        s.run({"q": ort.tensor("bfloat16", [1], 1), "x": x})
