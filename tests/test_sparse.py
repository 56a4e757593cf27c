"""Sparse tensors (COO, CSR, block-sparse) through the public API (SPEC §10).

Real ORT sessions: ``SparseToDenseMatMul`` (ORT's ``com.microsoft`` domain, CPU) takes a sparse
input; a ``Constant`` with a ``sparse_value`` gives a sparse output. Block-sparse has no CPU
kernel in ORT: it is checked through ORT's own ``SparseTensor`` round trip.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import models
import ortsession as ort
from ortsession import InputError, SparseTensor, TensorError

TP = onnx.TensorProto
DENSE = np.array([[0, 2, 0], [0, 0, 3], [4, 0, 0]], np.float32)
B = np.arange(6, dtype=np.float32).reshape(3, 2)


@pytest.fixture(scope="module")
def matmul() -> ort.Session:
    """``Y = A @ B``: A sparse float32 [3, 3] (symbolic rows), B dense float32 [3, 2]."""
    return ort.session_from_bytes(models.make(
        [helper.make_node("SparseToDenseMatMul", ["A", "B"], ["Y"], domain="com.microsoft")],
        [helper.make_sparse_tensor_value_info("A", TP.FLOAT, ["rows", 3]),
         helper.make_tensor_value_info("B", TP.FLOAT, [3, 2])],
        [helper.make_tensor_value_info("Y", TP.FLOAT, ["rows", 2])],
        extra_opsets={"com.microsoft": 1}, name="sparse_matmul", check=False))


def test_type_info_says_sparse(matmul: ort.Session) -> None:
    info = matmul.input_info("A")
    assert info.onnx_type == "sparse_tensor" and info.is_sparse is True
    assert info.type == "sparse_tensor(float)" and tuple(info.shape or ()) == (-1, 3)
    assert matmul.input_info("B").is_sparse is False


@pytest.mark.parametrize("make", [
    lambda: SparseTensor.from_dense(DENSE),
    lambda: SparseTensor.from_dense(ort.Tensor(DENSE), "csr"),
    lambda: SparseTensor.coo([3, 3], [2, 3, 4], [[0, 1], [1, 2], [2, 0]], data_type="float32"),
    lambda: SparseTensor.csr([3, 3], np.array([2, 3, 4], np.float32), [1, 2, 0], [0, 1, 2, 3]),
], ids=["coo-from-dense", "csr-from-dense", "coo-coordinates", "csr"])
def test_sparse_inputs_run(matmul: ort.Session, make: object) -> None:
    a = make()  # type: ignore[operator]
    np.testing.assert_array_equal(a.to_dense().numpy(), DENSE)
    for run in (lambda: matmul.run({"A": a, "B": B}), lambda: matmul.run([a, B])):
        np.testing.assert_allclose(run()["Y"].numpy(), DENSE @ B)
    target = ort.tensor("float32", [3, 2])
    matmul.run_into({"A": a, "B": B}, {"Y": target})
    np.testing.assert_allclose(target.numpy(), DENSE @ B)
    binding = matmul.create_io_binding()
    binding.bind_input("A", a)
    binding.bind_input("B", B)
    binding.bind_output("Y")
    np.testing.assert_allclose(matmul.run_with_iobinding(binding)["Y"].numpy(), DENSE @ B)


def test_sparse_inputs_are_checked(matmul: ort.Session) -> None:
    with pytest.raises(InputError, match=r"input 'A': expected an ortsession.SparseTensor for "
                                         r"sparse_tensor\(float\), got numpy array of float32"):
        matmul.run({"A": DENSE, "B": B})
    with pytest.raises(InputError, match=r"expected a sparse tensor of sparse_tensor.float., got "
                                         r"one of float64"):
        matmul.run({"A": SparseTensor.from_dense(DENSE.astype(np.float64)), "B": B})
    with pytest.raises(InputError, match=r"input 'A': dimension 1 must be 3"):
        matmul.run({"A": SparseTensor.from_dense(np.eye(4, dtype=np.float32)), "B": B})


def test_sparse_output_from_a_constant() -> None:
    values = helper.make_tensor("v", TP.INT64, [3], [5, 6, 7])
    indices = helper.make_tensor("i", TP.INT64, [3], [1, 4, 11])
    s = ort.session_from_bytes(models.make(
        [helper.make_node("Constant", [], ["y"],
                          sparse_value=helper.make_sparse_tensor(values, indices, [3, 4])),
         helper.make_node("Constant", [], ["z"], value=helper.make_tensor("z", TP.FLOAT, [],
                                                                          [1.5]))],
        [], [helper.make_sparse_tensor_value_info("y", TP.INT64, [3, 4]),
             helper.make_tensor_value_info("z", TP.FLOAT, [])], name="sparse_out", check=False))
    for out in (s.run({}), s.run({}, output_names=["y"])):
        y = out["y"]
        assert isinstance(y, SparseTensor)
        assert (y.format, y.dense_shape, y.data_type) == ("coo", (3, 4), "int64")
        assert y.values.tolist() == [5, 6, 7] and y.indices[0].tolist() == [1, 4, 11]
        expected = np.zeros(12, np.int64)
        expected[[1, 4, 11]] = [5, 6, 7]
        assert y.to_dense().tolist() == expected.reshape(3, 4).tolist()
    binding = s.create_io_binding()
    binding.bind_output("y")
    binding.bind_output("z")
    got = s.run_with_iobinding(binding)
    assert got["y"] == SparseTensor.coo([3, 4], np.array([5, 6, 7]), [1, 4, 11])
    assert got["z"].item() == 1.5


@pytest.mark.parametrize("sparse", [
    SparseTensor.coo([2, 3], np.array([1, 2], np.int32), [[0, 2], [1, 0]]),
    SparseTensor.coo([2, 3], np.array([7, -8], np.int8), [2, 3]),
    SparseTensor.csr([2, 3], np.array([1.5, -2.0], np.float64), [2, 0], [0, 1, 2]),
], ids=["coo", "coo-linear", "csr"])
def test_formats_round_trip_through_orts_sparse_tensor(sparse: SparseTensor) -> None:
    ov = sparse._to_ortvalue()
    assert ov.is_sparse_tensor()
    back = SparseTensor._from_ort(ov.as_sparse_tensor())
    assert back == sparse and back.format == sparse.format


def test_block_sparse_reaches_ort_but_its_binding_cannot_read_it_back() -> None:
    blocks = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    ov = SparseTensor.block_sparse([4, 4], blocks, np.array([[0, 1], [1, 0]], np.int32)
                                   )._to_ortvalue()
    assert ov.is_sparse_tensor()
    st = ov.as_sparse_tensor()
    np.testing.assert_array_equal(st.values(), blocks)
    with pytest.raises(ort.OrtError, match="cannot read the indices of a block-sparse tensor"):
        SparseTensor._from_ort(st)


def test_block_sparse_to_dense() -> None:
    blocks = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    sparse = SparseTensor.block_sparse([4, 4], blocks, [[0, 1], [1, 0]])
    dense = sparse.to_dense().numpy()
    np.testing.assert_array_equal(dense[0:2, 2:4], blocks[0])
    np.testing.assert_array_equal(dense[2:4, 0:2], blocks[1])
    assert dense.sum() == blocks.sum()


@pytest.mark.parametrize(("make", "message"), [
    (lambda: SparseTensor.coo([3], [1.0], [3]), r"linear index 3 is outside \[0, 3\)"),
    (lambda: SparseTensor.coo([3], [1.0, 2.0], [0]), "2 values need 2 linear indices, got 1"),
    (lambda: SparseTensor.coo([2, 2], [1.0], [[0, 5]]), "index of dimension 1 5 is outside"),
    (lambda: SparseTensor.coo([2, 2], [1.0], [[0, 1, 1]]), r"indices must have shape \[1\]"),
    (lambda: SparseTensor.coo([2], ["a"], [0]), "values must be a numeric or bool array"),
    (lambda: SparseTensor.coo([2], [300], [0], data_type="uint8"), "out of range for uint8"),
    (lambda: SparseTensor.coo([2], [1.0], [0.5]), "indices: expected integers"),
    (lambda: SparseTensor.coo([-1], [1.0], [0]), "dimension -1 is negative"),
    (lambda: SparseTensor.csr([2], [1.0], [0], [0, 1]), r"dense_shape must be \[rows, columns\]"),
    (lambda: SparseTensor.csr([2, 2], [1.0], [0], [0, 2, 1]), "non-decreasing offsets"),
    (lambda: SparseTensor.csr([2, 2], [1.0], [2], [0, 1, 1]), "column index 2 is outside"),
    (lambda: SparseTensor.block_sparse([3, 4], np.zeros((1, 2, 2)), [[0], [0]]),
     "multiple of the block shape"),
    (lambda: SparseTensor.block_sparse([4, 4], np.zeros((1, 2, 2)), [[0], [2]]),
     "block column 2 is outside"),
    (lambda: SparseTensor.from_dense(np.ones(3), "csr"), "csr needs a 2-D array"),
    (lambda: SparseTensor.from_dense(np.ones(3), "dense"), "format must be 'coo' or 'csr'"),
])
def test_bad_sparse_tensors_are_refused(make: object, message: str) -> None:
    with pytest.raises(TensorError, match=message):
        make()  # type: ignore[operator]
