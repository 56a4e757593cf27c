"""ortsession.ops tensor methods and module helpers, against numpy (the independent reference)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ortsession as ort
import ortsession.ops as ops

T = np.array([[1, 9, 3], [8, 2, 7]], dtype=np.float32)

finite = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
                    elements=st.floats(-50, 50, width=32))


def test_spec_example() -> None:
    assert ops.slice(T, 1, 1, 2)[0, 0] == 9
    top = ops.topk(T, 2, 1)
    assert top.values[0, 0] == 9 and top.indices[0, 0] == 1
    assert top.values.tolist() == [[9, 3], [8, 7]]


def test_accepts_ortsession_tensors_zero_copy() -> None:
    t = ort.tensor("float32", [2, 3], T.reshape(-1).tolist())
    ops.set(t, 0, 0, 5.0)
    assert t.to_table()[0] == 5.0
    ops.fill(t, 1.5)
    assert t.to_table() == [1.5] * 6
    ops.copy_from_bytes(t, T.tobytes())
    assert t.numpy().tolist() == T.tolist()


def test_get_set_fill_errors() -> None:
    a = T.copy()
    assert ops.get(a, 1, 2) == 7
    with pytest.raises(ort.TensorError, match="index 2 out of range for dimension 1"):
        ops.get(a, 2, 0)
    with pytest.raises(ort.TensorError, match="expected 2 indices"):
        ops.get(a, 1)
    with pytest.raises(ort.TensorError, match="one value per element"):
        ops.fill(a, [1, 2, 3])
    ops.fill(a, [1, 2, 3, 4, 5, 6])
    assert a.reshape(-1).tolist() == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ort.TensorError, match="expected 24 bytes"):
        ops.copy_from_bytes(a, b"\0" * 3)


def test_info_clone_to() -> None:
    assert ops.info(T) == {"shape": [2, 3], "rank": 2, "size": 6, "type": "float32"}
    c = ops.clone(T)
    c[0, 0] = 0
    assert T[0, 0] == 1
    assert ops.to(T, "int32").dtype == np.int32
    assert ops.to(T, "float16").dtype == np.float16
    with pytest.raises(ort.TensorError, match="string"):
        ops.to(T, "string")
    with pytest.raises(ort.ElementTypeError):
        ops.to(T, "float33")


def test_shapes() -> None:
    assert ops.reshape(T, [3, -1]).shape == (3, 2)
    with pytest.raises(ort.TensorError, match="holds 4 elements"):
        ops.reshape(T, [2, 2])
    assert np.array_equal(ops.transpose(T), T.T)
    x = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(ops.transpose(x, [1, 0, 2]), x.transpose(1, 0, 2))
    with pytest.raises(ort.TensorError, match="permutation"):
        ops.transpose(x, [0, 0, 1])
    assert ops.flatten(x).shape == (24,)
    assert ops.flatten(x, 1).shape == (2, 12)
    assert ops.flatten(x, 0, 1).shape == (6, 4)
    assert ops.squeeze(np.zeros((1, 3, 1))).shape == (3,)
    assert ops.squeeze(np.zeros((1, 3, 1)), 2).shape == (1, 3)
    with pytest.raises(ort.TensorError, match="size 3, not 1"):
        ops.squeeze(np.zeros((1, 3, 1)), 1)
    assert ops.unsqueeze(T, 0).shape == (1, 2, 3)
    assert ops.unsqueeze(T, 2).shape == (2, 3, 1)


def test_slice_select_gather() -> None:
    x = np.arange(20).reshape(4, 5)
    assert np.array_equal(ops.slice(x, 1, 1, 5, 2), x[:, 1:5:2])
    with pytest.raises(ort.TensorError, match="step must be positive"):
        ops.slice(x, 0, 0, 2, 0)
    with pytest.raises(ort.TensorError, match="out of bounds"):
        ops.slice(x, 0, 3, 9)
    assert np.array_equal(ops.select(x, 0, 2), x[2])
    assert np.array_equal(ops.gather(x, 1, [4, 0]), x[:, [4, 0]])
    assert np.array_equal(ops.gather(x, 0, np.array([3, 3])), x[[3, 3]])
    with pytest.raises(ort.TensorError, match="index 7 out of range"):
        ops.gather(x, 0, [7])


def test_arithmetic() -> None:
    assert np.array_equal(ops.add(T, 1), T + 1)
    assert np.array_equal(ops.sub(T, T), np.zeros_like(T))
    assert np.array_equal(ops.mul(T, 2.0), T * 2)
    assert np.allclose(ops.div(T, T), 1)
    with pytest.raises(ort.TensorError, match="same shape"):
        ops.add(T, np.ones(3))
    assert np.array_equal(ops.clamp(T, 2, 8), np.clip(T, 2, 8))
    assert ops.clamp(np.array([1, 5], dtype=np.int32), 2).dtype == np.int32
    with pytest.raises(ort.TensorError, match="greater than max"):
        ops.clamp(T, 5, 1)
    assert np.allclose(ops.sigmoid(np.array([0.0, 100, -100])), [0.5, 1, 0])
    assert ops.sigmoid(np.array([1, 2], dtype=np.int64)).dtype == np.float32
    assert np.allclose(ops.exp(T), np.exp(T))
    assert np.allclose(ops.matmul(T, T.T), T @ T.T)
    assert ops.matmul(np.ones(3), np.ones((3, 2))).shape == (2,)
    with pytest.raises(ort.TensorError, match="do not match"):
        ops.matmul(T, T)
    assert ops.dot(np.array([1, 2]), np.array([3, 4])) == 11


def test_reductions() -> None:
    assert ops.argmax(T) == 1
    assert ops.argmax(T, 1).tolist() == [1, 0]
    assert ops.argmax(T, 1).dtype == np.int64
    assert ops.sum(T) == 30
    assert ops.mean(T, 0).tolist() == [4.5, 5.5, 5.0]
    assert ops.max(T) == 9 and ops.min(T) == 1
    assert ops.max(T, 0).tolist() == [8, 9, 7]
    with pytest.raises(ort.TensorError, match="axis 2 out of range"):
        ops.sum(T, 2)
    assert np.allclose(ops.normalize(np.array([[3.0, 4.0], [0, 0]])), [[0.6, 0.8], [0, 0]])


def test_where_concat_stack() -> None:
    assert ops.where(T > 4, T, 0).tolist() == [[0, 9, 0], [8, 0, 7]]
    assert ops.where(True, 1, np.zeros(2)).tolist() == [1, 1]
    assert ops.concat([T, T], 1).shape == (2, 6)
    assert ops.stack([T, T]).shape == (2, 2, 3)
    with pytest.raises(ort.TensorError, match="same shape"):
        ops.stack([T, T.T])
    with pytest.raises(ort.TensorError, match="differ outside axis"):
        ops.concat([T, T.T])


@settings(max_examples=40, deadline=None)
@given(finite)
def test_softmax_matches_numpy(x: np.ndarray) -> None:
    e = np.exp(x.astype(np.float64) - x.max(axis=-1, keepdims=True))
    assert np.allclose(ops.softmax(x), e / e.sum(axis=-1, keepdims=True), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(finite, st.booleans())
def test_sort_matches_numpy(x: np.ndarray, descending: bool) -> None:
    r = ops.sort(x, -1, descending)
    ref = np.sort(x, axis=-1)
    assert np.array_equal(r.values, ref[..., ::-1] if descending else ref)
    assert np.array_equal(np.take_along_axis(x, r.indices, axis=-1), r.values)


@settings(max_examples=40, deadline=None)
@given(finite, st.data())
def test_topk_matches_numpy(x: np.ndarray, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, x.shape[-1]))
    r = ops.topk(x, k)
    assert np.array_equal(r.values, np.sort(x, axis=-1)[..., ::-1][..., :k])
    assert np.array_equal(np.take_along_axis(x, r.indices, axis=-1), r.values)
    with pytest.raises(ort.TensorError, match="k must be an integer"):
        ops.topk(x, x.shape[-1] + 1)


def test_values_that_do_not_fit_are_refused() -> None:
    a = np.zeros(3, dtype=np.int32)
    for bad in (np.nan, 1.5, 2.0**40):
        with pytest.raises(ort.TensorError, match="does not fit a int32 tensor"):
            ops.fill(a, bad)
        with pytest.raises(ort.TensorError, match="does not fit"):
            ops.set(a, 0, bad)
    ops.fill(a, 2.0)  # an integral float fits
    assert a.tolist() == [2, 2, 2]
    with pytest.raises(ort.TensorError, match="max must be a number"):
        ops.clamp(a, 0, np.nan)
    with pytest.raises(ort.TensorError, match="empty"):
        ops.mean(np.zeros(0))
    with pytest.raises(ort.TensorError, match="empty"):
        ops.softmax(np.zeros(0))
    with pytest.raises(ort.TensorError, match="descending must be a boolean"):
        ops.sort(T, 1, np.ones(2))
    with pytest.raises(ort.TensorError, match="axes must be a list"):
        ops.transpose(T, 1)
