#!/usr/bin/env python3
"""(Re)generate the models bundled with ortsession under ``src/ortsession/models/``.

Run from anywhere::

    python tools/make_models.py              # rewrite the committed models
    python tools/make_models.py --check      # exit 1 if the committed models are out of date
    python tools/make_models.py --out-dir D  # write the models under D instead

The output is deterministic: the same bytes on every run (fixed weights drawn from a legacy
``numpy.random.RandomState``, whose stream numpy keeps stable across releases; no timestamps, no
paths). Needs the ``onnx`` package (a dev dependency only; the package itself never imports it).

Models written (paths relative to the models folder, as ``ortsession.models.path()`` takes them):

``demo/model.onnx``
    The reference's example: inputs ``x`` and ``bias`` (float32 ``[1, 2]``), output
    ``y = x + bias``; ``x = {1, 2}``, ``bias = {0.5, -0.5}`` gives ``y = {1.5, 1.5}``.
``demo/classifier.onnx``
    A tiny multi-layer perceptron: input ``input`` float32 ``[N, 4]`` (``N`` a symbolic batch
    dimension with denotation ``DATA_BATCH``) through MatMul, Add, Relu, MatMul, Add, Softmax to
    ``probabilities`` float32 ``[N, 3]`` (each row sums to 1).
``demo/detector.onnx``
    A YOLOv8-shaped detector of red and blue squares, a fixed function of its input (no
    training): ``images`` float32 ``[1, 3, 320, 320]`` (RGB, 0..1) -> ``output0`` float32
    ``[1, 6, 200]`` (``cx, cy, w, h``, a score per class). The image is cut in 32x32 cells; a
    cell's class scores are ``relu(R - max(G, B))`` (red) and ``relu(B - max(R, G))`` (blue)
    averaged over the cell. Candidates 0..99 are the cells (row-major), 100..199 the same cells
    shifted 4 pixels right with 0.9 times the score: duplicates that NMS removes.
``demo/recognizer.onnx``
    A CTC text recogniser of "ink levels", a fixed function of its input: ``x`` float32
    ``[1, 1, 32, W]`` (gray, 0..1, ``W`` a multiple of 8) -> ``logits`` float32 ``[1, W/8, 11]``.
    Each 8-pixel column band is one time step; its mean darkness ``d`` (1 - mean) gives the
    logits ``-50 (10 d - c)^2`` of class ``c``: white is class 0 (the CTC blank), and darkness
    ``k/10`` reads as class ``k`` (the digit ``k - 1`` with the charset ``"0123456789"``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "src" / "ortsession" / "models"

OPSET = 21
IR_VERSION = 10
PRODUCER_NAME = "ortsession"
PRODUCER_VERSION = "1"  # bump when a bundled model changes, not with the package version
DOMAIN = "org.ortsession.demo"
CLASSIFIER_SEED = 20240611
CLASSIFIER_SIZES = (4, 8, 3)  # features, hidden units, classes


def _finish(
    graph: onnx.GraphProto, *, doc: str, metadata: dict[str, str], model_version: int = 1
) -> onnx.ModelProto:
    """Wrap *graph* in a model with the bundled models' common header and metadata."""
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name=PRODUCER_NAME,
        producer_version=PRODUCER_VERSION,
        domain=DOMAIN,
        model_version=model_version,
        doc_string=doc,
    )
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model


def build_demo() -> onnx.ModelProto:
    """The reference's example model: ``y = x + bias`` on float32 ``[1, 2]`` tensors."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "bias"], ["y"], name="add")],
        "demo_add",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2], doc_string="a value"),
            helper.make_tensor_value_info(
                "bias", TensorProto.FLOAT, [1, 2], doc_string="added to x"
            ),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2], doc_string="x + bias")],
        doc_string="Adds bias to x, element by element.",
    )
    return _finish(
        graph,
        doc="ortsession demo model: y = x + bias (float32 [1, 2]), the reference module's example.",
        metadata={
            "author": "ortsession developers",
            "license": "MIT",
            "example": "x = {1, 2}, bias = {0.5, -0.5} -> y = {1.5, 1.5}",
        },
    )


def _weights(rng: np.random.RandomState, shape: tuple[int, ...], scale: float) -> np.ndarray:
    """Fixed pseudo-random float32 weights, rounded to 4 decimals so the model reads well."""
    return np.round(rng.standard_normal(shape) * scale, 4).astype(np.float32)


def build_classifier() -> onnx.ModelProto:
    """A tiny MLP: ``input`` float32 ``[N, 4]`` -> ``probabilities`` float32 ``[N, 3]``."""
    features, hidden, classes = CLASSIFIER_SIZES
    rng = np.random.RandomState(CLASSIFIER_SEED)
    w1 = _weights(rng, (features, hidden), 0.5)
    b1 = _weights(rng, (hidden,), 0.1)
    w2 = _weights(rng, (hidden, classes), 0.5)
    b2 = _weights(rng, (classes,), 0.1)
    initializers = [
        numpy_helper.from_array(w1, "fc1.weight"),
        numpy_helper.from_array(b1, "fc1.bias"),
        numpy_helper.from_array(w2, "fc2.weight"),
        numpy_helper.from_array(b2, "fc2.bias"),
    ]
    nodes = [
        helper.make_node("MatMul", ["input", "fc1.weight"], ["fc1.matmul"], name="fc1/MatMul"),
        helper.make_node("Add", ["fc1.matmul", "fc1.bias"], ["fc1.out"], name="fc1/Add"),
        helper.make_node("Relu", ["fc1.out"], ["relu.out"], name="relu"),
        helper.make_node("MatMul", ["relu.out", "fc2.weight"], ["fc2.matmul"], name="fc2/MatMul"),
        helper.make_node("Add", ["fc2.matmul", "fc2.bias"], ["logits"], name="fc2/Add"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    inp = helper.make_tensor_value_info(
        "input", TensorProto.FLOAT, ["N", features], doc_string="a batch of feature rows"
    )
    inp.type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
    out = helper.make_tensor_value_info(
        "probabilities", TensorProto.FLOAT, ["N", classes], doc_string="class probabilities"
    )
    graph = helper.make_graph(
        nodes,
        "tiny_mlp",
        [inp],
        [out],
        initializer=initializers,
        doc_string="4 features -> 8 hidden units (ReLU) -> 3 classes (softmax).",
    )
    return _finish(
        graph,
        doc="ortsession demo classifier: a tiny MLP with fixed pseudo-random weights.",
        metadata={
            "author": "ortsession developers",
            "license": "MIT",
            "classes": "0,1,2",
            "seed": str(CLASSIFIER_SEED),
        },
    )


DETECTOR_SIZE = 320
DETECTOR_CELL = 32
DETECTOR_SHIFT = 4


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def build_detector() -> onnx.ModelProto:
    """A YOLOv8-shaped detector of red and blue squares (see the module docstring)."""
    cells = DETECTOR_SIZE // DETECTOR_CELL
    gy, gx = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    cx = (gx.reshape(-1) + 0.5) * DETECTOR_CELL
    cy = (gy.reshape(-1) + 0.5) * DETECTOR_CELL
    size = np.full(cells * cells, DETECTOR_CELL, dtype=np.float64)
    anchors = np.stack([cx, cy, size, size])
    shifted = anchors + np.array([[DETECTOR_SHIFT], [0], [0], [0]])
    boxes = np.concatenate([anchors, shifted], axis=1)[None].astype(np.float32)  # [1, 4, 200]
    initializers = [
        _const("boxes", boxes),
        _const("split3", np.array([1, 1, 1], dtype=np.int64)),
        _const("scores_shape", np.array([1, 2, cells * cells], dtype=np.int64)),
        _const("duplicate_weight", np.array(0.9, dtype=np.float32)),
    ]
    nodes = [
        helper.make_node("AveragePool", ["images"], ["cells"], name="cells",
                         kernel_shape=[DETECTOR_CELL, DETECTOR_CELL],
                         strides=[DETECTOR_CELL, DETECTOR_CELL]),
        helper.make_node("Split", ["cells", "split3"], ["r", "g", "b"], name="channels", axis=1),
        helper.make_node("Max", ["g", "b"], ["gb"], name="max_gb"),
        helper.make_node("Max", ["r", "g"], ["rg"], name="max_rg"),
        helper.make_node("Sub", ["r", "gb"], ["red_raw"], name="red_sub"),
        helper.make_node("Sub", ["b", "rg"], ["blue_raw"], name="blue_sub"),
        helper.make_node("Relu", ["red_raw"], ["red"], name="red"),
        helper.make_node("Relu", ["blue_raw"], ["blue"], name="blue"),
        helper.make_node("Concat", ["red", "blue"], ["class_maps"], name="classes", axis=1),
        helper.make_node("Reshape", ["class_maps", "scores_shape"], ["scores"], name="flat"),
        helper.make_node("Mul", ["scores", "duplicate_weight"], ["dup_scores"], name="dup"),
        helper.make_node("Concat", ["scores", "dup_scores"], ["all_scores"], name="candidates",
                         axis=2),
        helper.make_node("Concat", ["boxes", "all_scores"], ["output0"], name="output", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "square_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                       [1, 3, DETECTOR_SIZE, DETECTOR_SIZE],
                                       doc_string="RGB image, values 0..1")],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6, 2 * cells * cells],
                                       doc_string="cx, cy, w, h, red score, blue score")],
        initializer=initializers,
        doc_string="Finds red and blue 32x32 squares on a 32-pixel grid (YOLOv8 output layout).",
    )
    return _finish(
        graph,
        doc="ortsession demo detector: red/blue squares, YOLOv8-shaped output [1, 6, 200].",
        metadata={"author": "ortsession developers", "license": "MIT",
                  "names": "red,blue", "stride": str(DETECTOR_CELL)},
    )


RECOGNIZER_BAND = 8
RECOGNIZER_CLASSES = 11


def build_recognizer() -> onnx.ModelProto:
    """A CTC recogniser of ink levels (see the module docstring)."""
    levels = np.arange(RECOGNIZER_CLASSES, dtype=np.float32).reshape(1, 1, 1, -1)
    initializers = [
        _const("one", np.array(1.0, dtype=np.float32)),
        _const("ten", np.array(10.0, dtype=np.float32)),
        _const("levels", levels),
        _const("sharpness", np.array(-50.0, dtype=np.float32)),
        _const("squeeze_axes", np.array([1], dtype=np.int64)),
    ]
    nodes = [
        helper.make_node("AveragePool", ["x"], ["bands"], name="bands",
                         kernel_shape=[32, RECOGNIZER_BAND], strides=[32, RECOGNIZER_BAND]),
        helper.make_node("Sub", ["one", "bands"], ["darkness"], name="darkness"),
        helper.make_node("Mul", ["darkness", "ten"], ["level"], name="level"),
        helper.make_node("Transpose", ["level"], ["steps"], name="steps", perm=[0, 2, 3, 1]),
        helper.make_node("Sub", ["steps", "levels"], ["distance"], name="distance"),
        helper.make_node("Mul", ["distance", "distance"], ["squared"], name="squared"),
        helper.make_node("Mul", ["squared", "sharpness"], ["scaled"], name="scaled"),
        helper.make_node("Squeeze", ["scaled", "squeeze_axes"], ["logits"], name="logits"),
    ]
    graph = helper.make_graph(
        nodes,
        "ink_level_recognizer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 32, "W"],
                                       doc_string="gray text line, values 0..1")],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [1, "T", RECOGNIZER_CLASSES],
                                       doc_string="CTC logits, class 0 the blank")],
        initializer=initializers,
        doc_string="Reads 8-pixel bands' darkness as CTC classes (0 = white = blank).",
    )
    return _finish(
        graph,
        doc="ortsession demo recognizer: CTC logits [1, W/8, 11] from a gray [1, 1, 32, W] line.",
        metadata={"author": "ortsession developers", "license": "MIT",
                  "charset": "0123456789", "blank_index": "0"},
    )


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "demo/model.onnx": build_demo,
    "demo/classifier.onnx": build_classifier,
    "demo/detector.onnx": build_detector,
    "demo/recognizer.onnx": build_recognizer,
}
"""Every bundled model: its path under the models folder, and its builder."""


def serialized() -> dict[str, bytes]:
    """Build every bundled model and return ``{relative path: serialized bytes}``."""
    return {name: build().SerializeToString(deterministic=True) for name, build in MODELS.items()}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help=f"folder to write the models under (default: {DEFAULT_OUT_DIR})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the models under --out-dir differ from a fresh build",
    )
    args = parser.parse_args(argv)
    out_dir: Path = args.out_dir
    stale = []
    for name, data in serialized().items():
        target = out_dir / name
        if args.check:
            if not target.is_file() or target.read_bytes() != data:
                stale.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
            print(f"wrote {target} ({len(data)} bytes)")
        else:
            print(f"unchanged {target}")
    if stale:
        print(
            "out of date: " + ", ".join(stale) + " (run: python tools/make_models.py)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
