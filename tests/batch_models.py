"""Small models and datasets for the batch inference tests (``tests/test_batch*.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import models


def scale(width: int = 3, batch: str | int = "N", factor: float = 2.0) -> bytes:
    """``y = factor * x`` and ``total = ReduceSum(x, axis 1)``: ``x`` float32 ``[batch, width]``."""
    return models.make(
        [helper.make_node("Mul", ["x", "k"], ["y"]),
         helper.make_node("ReduceSum", ["x", "axes"], ["total"], keepdims=0)],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, width]),
         helper.make_tensor_value_info("total", TensorProto.FLOAT, [batch])],
        initializers=[helper.make_tensor("k", TensorProto.FLOAT, [], [factor]),
                      helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
        name="scale")


def vector() -> bytes:
    """No batch dimension: ``x`` float32 ``[3]`` → ``y = x + 1`` ``[3]``."""
    return models.make(
        [helper.make_node("Add", ["x", "one"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        initializers=[helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
        name="vector")


def mlp(width: int = 64, layers: int = 4, seed: int = 0) -> bytes:
    """``x`` float32 ``[N, width]`` → ``layers`` x (MatMul, Tanh) → ``y`` ``[N, width]``."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    name = "x"
    for i in range(layers):
        w = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("MatMul", [name, f"w{i}"], [f"m{i}"]))
        out = "y" if i == layers - 1 else f"t{i}"
        nodes.append(helper.make_node("Tanh", [f"m{i}"], [out]))
        name = out
    return models.make(
        nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", width])], initializers=inits,
        name="mlp")


def image_model(size: int = 8) -> bytes:
    """``image`` float32 ``[N, 3, size, size]`` → ``mean`` per channel ``[N, 3]``."""
    return models.make(
        [helper.make_node("ReduceMean", ["image", "axes"], ["mean"], keepdims=0)],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["N", 3])],
        initializers=[helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])],
        name="image_mean")


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
