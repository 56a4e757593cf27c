"""Small ONNX models for the test suite, built with the ``onnx`` helper.

Every builder returns the serialized model (``bytes``), ready for ``ortsession.session_from_bytes``
or a file. Each is verified to load, and to run where it takes inputs, in plain ONNX Runtime by
``tests/test_models.py``. Unless stated otherwise a model uses opset 21 of the default domain and
IR version 10.

Element types (:func:`identity`). ONNX Runtime 1.32's CPU provider has no ``Identity`` kernel for
the sub-byte and newest types, so :func:`identity` builds, per element type (see
:data:`IDENTITY_RECIPES`):

* ``Identity`` (opset 21) for float, double, float16, bfloat16, the (u)int8-64 types, bool, string
  and the four float8 types of opset 19 (``FLOAT8E4M3FN``, ``FLOAT8E4M3FNUZ``, ``FLOAT8E5M2``,
  ``FLOAT8E5M2FNUZ``);
* ``Cast`` to a wider type and back (exact for every bit pattern) for ``INT4``/``UINT4`` (via int8,
  opset 21), ``FLOAT8E8M0`` (via float, opset 24) and ``INT2``/``UINT2`` (via int8, opset 25);
* for ``FLOAT4E2M1`` no CPU kernel takes the type at all (not even ``Cast``): the only model that
  runs is a graph with no node whose output *is* its input, so ``identity(FLOAT4E2M1)`` needs
  ``name_out == name_in``;
* ``COMPLEX64``/``COMPLEX128`` and ``FLOAT6E2M3``/``FLOAT6E3M2`` are not supported by ONNX Runtime
  at all: the model is rejected at load ("MLDataType ... is not currently registered or
  supported", or a type error). :func:`unsupported_elem_types` lists them.

The ``onnx`` wheel's backend test data (real models with reference inputs/outputs) is reached with
:func:`backend_data_dir`, :func:`light_model` and :func:`node_test_dirs`.
"""

from __future__ import annotations

import functools
import glob
import itertools
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "BACKEND_KINDS",
    "BACKEND_KNOWN_FAILURES",
    "BACKEND_LOCALE_DEPENDENT",
    "IDENTITY_RECIPES",
    "BackendCase",
    "add",
    "assert_values_close",
    "backend_data_dir",
    "bad_models",
    "custom_op_library_path",
    "custom_op_model",
    "identity",
    "light_model",
    "light_model_names",
    "light_model_tolerance",
    "load_values",
    "make",
    "map_model",
    "mlp",
    "node_test_dirs",
    "optional_model",
    "ort_loads",
    "passthrough_elem_types",
    "sequence_model",
    "sklearn_classifier",
    "slow_model",
    "sparse_initializer_model",
    "string_model",
    "supported_elem_types",
    "symbolic",
    "two_outputs",
    "unsupported_elem_types",
    "with_overridable_initializer",
]

OPSET = 21
"""Default-domain opset of the models here (unless a builder says otherwise)."""

IR_VERSION = 10
"""IR version of the models here (unless a builder says otherwise)."""

TP = TensorProto

# ---------------------------------------------------------------------------------------------
# plumbing


def _ir_for(opset: int) -> int:
    """The IR version that goes with a default-domain *opset* (10 for 21, 11 for 23, ...)."""
    return max(IR_VERSION, helper.find_min_ir_version_for([helper.make_opsetid("", opset)]))


def make(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    *,
    initializers: Sequence[onnx.TensorProto] = (),
    name: str = "test",
    opset: int = OPSET,
    extra_opsets: dict[str, int] | None = None,
    ir_version: int | None = None,
    check: bool = True,
) -> bytes:
    """Build, check and serialize a one-graph model.

    Args:
        nodes: the graph's nodes.
        inputs: graph inputs (``helper.make_tensor_value_info`` and friends).
        outputs: graph outputs.
        initializers: graph initializers.
        name: the graph's name.
        opset: default-domain opset version.
        extra_opsets: more opset imports, ``{domain: version}`` (e.g. ``{"ai.onnx.ml": 3}``).
        ir_version: the model's IR version; default: the one that goes with *opset*.
        check: run ``onnx.checker.check_model(full_check=True)`` on the result.

    Returns:
        The serialized ``ModelProto``.
    """
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items()]
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        ir_version=ir_version if ir_version is not None else _ir_for(opset),
        producer_name="ortsession-tests",
    )
    if check:
        onnx.checker.check_model(model, full_check=True)
    data: bytes = model.SerializeToString()
    return data


def _tensor(name: str, elem_type: int, shape: Sequence[int | str | None]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, list(shape))


# ---------------------------------------------------------------------------------------------
# element types

_PLAIN_IDENTITY = (
    TP.FLOAT, TP.UINT8, TP.INT8, TP.UINT16, TP.INT16, TP.INT32, TP.INT64, TP.STRING, TP.BOOL,
    TP.FLOAT16, TP.DOUBLE, TP.UINT32, TP.UINT64, TP.BFLOAT16,
    TP.FLOAT8E4M3FN, TP.FLOAT8E4M3FNUZ, TP.FLOAT8E5M2, TP.FLOAT8E5M2FNUZ,
)  # fmt: skip

IDENTITY_RECIPES: dict[int, tuple[int, int | Literal["passthrough"] | None]] = {
    **dict.fromkeys(_PLAIN_IDENTITY, (OPSET, None)),
    TP.UINT4: (21, TP.INT8),
    TP.INT4: (21, TP.INT8),
    TP.FLOAT8E8M0: (24, TP.FLOAT),
    TP.UINT2: (25, TP.INT8),
    TP.INT2: (25, TP.INT8),
    TP.FLOAT4E2M1: (23, "passthrough"),
}
"""How :func:`identity` copies each element type in ORT 1.32: ``{type: (opset, via)}`` where
``via`` is ``None`` (one ``Identity`` node), an element type (``Cast`` to it and back) or
``"passthrough"`` (no node; the graph output is the graph input)."""


@functools.cache
def ort_loads(elem_type: int, passthrough: bool = False) -> bool:
    """Tell whether the installed ONNX Runtime loads :func:`identity` of *elem_type* (its
    passthrough form, no node, with *passthrough* or for ``FLOAT4E2M1``). Older versions lack
    some types (int2/uint2, float4e2m1, float8e8m0), the Cast kernels of int4/uint4, opsets
    above 21 and newer IR versions."""
    import onnxruntime  # noqa: TID251 - probes what this engine supports, as plain ORT

    if elem_type not in IDENTITY_RECIPES:
        return False
    passthrough = passthrough or IDENTITY_RECIPES[elem_type][1] == "passthrough"
    model = identity(elem_type, name_out="x" if passthrough else "y")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    try:
        onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception:
        return False
    return True


def supported_elem_types() -> list[int]:
    """The ``TensorProto`` element types for which :func:`identity` (distinct input and output
    names) loads and runs in this ONNX Runtime (CPU), in enum order.

    With ORT 1.32: every type except ``FLOAT4E2M1`` (see :func:`passthrough_elem_types`), the
    complex types and the float6 types (see :func:`unsupported_elem_types`). Older versions
    lack more (:func:`ort_loads`).
    """
    return sorted(t for t, (_, via) in IDENTITY_RECIPES.items()
                  if via != "passthrough" and ort_loads(t) and ort_loads(t, passthrough=True))


def passthrough_elem_types() -> list[int]:
    """Every element type ONNX Runtime can feed and fetch, in enum order: those of
    :func:`supported_elem_types` plus ``FLOAT4E2M1``, which only a node-less graph
    (``identity(FLOAT4E2M1, name_out=<name_in>)``) carries (in ORT versions that know it).
    """
    return sorted(t for t in IDENTITY_RECIPES if ort_loads(t, passthrough=True))


def unsupported_elem_types() -> list[int]:
    """ONNX element types that this ONNX Runtime rejects in any model, in enum order: those this
    ``onnx`` knows beyond :func:`passthrough_elem_types` (with ORT 1.32: ``COMPLEX64``,
    ``COMPLEX128``, ``FLOAT6E2M3``, ``FLOAT6E3M2``)."""
    known = TP.DataType.values()
    return sorted(t for t in known if t not in passthrough_elem_types() and t != TP.UNDEFINED)


def identity(
    elem_type: int,
    shape: Sequence[int | str] = (2, 3),
    name_in: str = "x",
    name_out: str = "y",
) -> bytes:
    """A model copying input *name_in* to output *name_out*, both of *elem_type* and *shape*.

    The copy is exact (bit for bit) for every element type; how it is done depends on the type,
    see :data:`IDENTITY_RECIPES` and the module docstring. If ``name_out == name_in`` the graph has
    no node at all and its output is its input, for any type.

    Args:
        elem_type: a ``onnx.TensorProto`` element type, e.g. ``TensorProto.BFLOAT16``.
        shape: dimensions; ints or names of symbolic dimensions.
        name_in: the input's name.
        name_out: the output's name.

    Raises:
        ValueError: *elem_type* is ``FLOAT4E2M1`` and the names differ (ORT has no kernel that can
            copy it).
    """
    opset, via = IDENTITY_RECIPES.get(elem_type, (OPSET, None))
    inputs = [_tensor(name_in, elem_type, shape)]
    outputs = [_tensor(name_out, elem_type, shape)]
    if name_out == name_in:
        check = elem_type in IDENTITY_RECIPES
        return make([], inputs, outputs, name="passthrough", opset=opset, check=check)
    if via == "passthrough":
        raise ValueError(
            f"ONNX Runtime has no kernel for {TP.DataType.Name(elem_type)}: only a passthrough "
            f"model exists; call identity(..., name_in={name_in!r}, name_out={name_in!r})"
        )
    if via is None:
        nodes = [helper.make_node("Identity", [name_in], [name_out])]
    else:
        nodes = [
            helper.make_node("Cast", [name_in], ["wide"], to=via),
            helper.make_node("Cast", ["wide"], [name_out], to=elem_type),
        ]
    # The checker does not know types that this ORT rejects anyway; let those through unchecked.
    check = elem_type in IDENTITY_RECIPES
    return make(nodes, inputs, outputs, name="identity", opset=opset, check=check)


# ---------------------------------------------------------------------------------------------
# plain tensor models


def add(shape: Sequence[int | str] = (1, 2)) -> bytes:
    """``y = x + bias``: inputs ``x`` and ``bias`` and output ``y``, float32 of *shape*.

    With the default shape this is the reference's demo model: ``x = [[1, 2]]`` and
    ``bias = [[0.5, -0.5]]`` give ``y = [[1.5, 1.5]]``.
    """
    return make(
        [helper.make_node("Add", ["x", "bias"], ["y"])],
        [_tensor("x", TP.FLOAT, shape), _tensor("bias", TP.FLOAT, shape)],
        [_tensor("y", TP.FLOAT, shape)],
        name="add",
    )


def symbolic(batch: str = "N") -> bytes:
    """``y = 2 * x`` with a named free dimension: ``x`` float32 ``[batch, 3]`` -> ``y`` float32
    ``[batch, 3]``. The batch dimension carries the denotation ``DATA_BATCH`` (for
    ``free_dimension_overrides`` by denotation); its name is *batch* (by name)."""
    x = _tensor("x", TP.FLOAT, [batch, 3])
    x.type.tensor_type.shape.dim[0].denotation = "DATA_BATCH"
    return make(
        [helper.make_node("Mul", ["x", "two"], ["y"])],
        [x],
        [_tensor("y", TP.FLOAT, [batch, 3])],
        initializers=[helper.make_tensor("two", TP.FLOAT, [], [2.0])],
        name="symbolic",
    )


def two_outputs() -> bytes:
    """Input ``x`` float32 ``[2, 3]``; outputs, in this order, ``y = x + 1`` (float32 ``[2, 3]``)
    and ``shape = Shape(x)`` (int64 ``[2]``, always ``[2, 3]``)."""
    return make(
        [
            helper.make_node("Add", ["x", "one"], ["y"]),
            helper.make_node("Shape", ["x"], ["shape"]),
        ],
        [_tensor("x", TP.FLOAT, [2, 3])],
        [_tensor("y", TP.FLOAT, [2, 3]), _tensor("shape", TP.INT64, [2])],
        initializers=[helper.make_tensor("one", TP.FLOAT, [], [1.0])],
        name="two_outputs",
    )


def with_overridable_initializer() -> bytes:
    """``y = x + bias`` where ``bias`` is an initializer (``[[0.5, -0.5]]``) that is also a graph
    input, so ORT lists it among the overridable initializers (IR >= 4), not among the inputs.

    Input ``x`` float32 ``[1, 2]``; output ``y`` float32 ``[1, 2]``. ``x = [[1, 2]]`` gives
    ``[[1.5, 1.5]]``; feeding ``bias`` overrides the default. (With IR version 3 ORT would treat
    ``bias`` as a constant: neither an input nor overridable.)
    """
    return make(
        [helper.make_node("Add", ["x", "bias"], ["y"])],
        [_tensor("x", TP.FLOAT, [1, 2]), _tensor("bias", TP.FLOAT, [1, 2])],
        [_tensor("y", TP.FLOAT, [1, 2])],
        initializers=[helper.make_tensor("bias", TP.FLOAT, [1, 2], [0.5, -0.5])],
        name="overridable",
    )


def string_model() -> bytes:
    """String tensors in and out: input ``x`` string ``[N]``; outputs ``y = x`` (Identity) and
    ``upper`` = ``StringNormalizer(x, case_change_action="UPPER")``, both string ``[N]``.

    ``["abc", "Hello wOrld"]`` gives ``y = ["abc", "Hello wOrld"]``, ``upper = ["ABC",
    "HELLO WORLD"]``. The normalizer uses the ``"C"`` locale (ASCII letters only change case):
    its default, ``en_US.UTF-8``, is missing on many machines, and ORT then refuses to load the
    model ("Failed to construct locale with name:en_US.UTF-8").
    """
    return make(
        [
            helper.make_node("Identity", ["x"], ["y"]),
            helper.make_node(
                "StringNormalizer", ["x"], ["upper"], case_change_action="UPPER", locale="C"
            ),
        ],
        [_tensor("x", TP.STRING, ["N"])],
        [_tensor("y", TP.STRING, ["N"]), _tensor("upper", TP.STRING, ["N"])],
        name="strings",
    )


def sparse_initializer_model() -> bytes:
    """``y = x + s`` where ``s`` is a *sparse* initializer (``graph.sparse_initializer``), float32
    ``[2, 3]`` with two non-zeros: ``s[0, 1] = 5`` and ``s[1, 2] = -1`` (ORT densifies it at load).

    Input ``x`` float32 ``[2, 3]``; output ``y`` float32 ``[2, 3]``; zeros give
    ``[[0, 5, 0], [0, 0, -1]]``.
    """
    values = helper.make_tensor("s", TP.FLOAT, [2], [5.0, -1.0])
    indices = helper.make_tensor("s_indices", TP.INT64, [2], [1, 5])  # linearized row-major
    sparse = helper.make_sparse_tensor(values, indices, [2, 3])
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "s"], ["y"])],
        "sparse_initializer",
        [_tensor("x", TP.FLOAT, [2, 3])],
        [_tensor("y", TP.FLOAT, [2, 3])],
        sparse_initializer=[sparse],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="ortsession-tests",
    )
    # no full_check: onnx's shape inference types ``s`` as sparse_tensor, which Add refuses
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


# ---------------------------------------------------------------------------------------------
# non-tensor values


def sequence_model() -> bytes:
    """Sequences in and out. Inputs: ``seq`` sequence(tensor(float) ``[?]``) and ``x`` float32
    ``[K]``. Outputs, in this order:

    * ``appended`` = ``SequenceInsert(seq, x)`` — *seq* with *x* appended;
    * ``length`` = ``SequenceLength(appended)`` — int64 scalar, ``len(seq) + 1``;
    * ``last`` = ``SequenceAt(appended, -1)`` — float32, equal to *x*;
    * ``pair`` = ``SequenceConstruct(x, x)`` — a sequence of two copies of *x*.

    ``seq`` may be empty (``[]``).
    """
    seq_t = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TP.FLOAT, [None]))
    return make(
        [
            helper.make_node("SequenceInsert", ["seq", "x"], ["appended"]),
            helper.make_node("SequenceLength", ["appended"], ["length"]),
            helper.make_node("SequenceAt", ["appended", "minus_one"], ["last"]),
            helper.make_node("SequenceConstruct", ["x", "x"], ["pair"]),
        ],
        [helper.make_value_info("seq", seq_t), _tensor("x", TP.FLOAT, ["K"])],
        [
            helper.make_value_info("appended", seq_t),
            _tensor("length", TP.INT64, []),
            _tensor("last", TP.FLOAT, [None]),
            helper.make_value_info("pair", seq_t),
        ],
        initializers=[helper.make_tensor("minus_one", TP.INT64, [], [-1])],
        name="sequences",
    )


def map_model(keys: Literal["string", "int64"] = "string") -> bytes:
    """A map input and a sequence-of-maps output (``ai.onnx.ml`` opset 3 operators).

    Input ``features``: map(*keys*, float). With string keys the vocabulary is ``"a", "b", "c"``;
    with int64 keys it is ``10, 20, 30``. Outputs:

    * ``vector`` float32 ``[1, 3]`` = ``DictVectorizer(features)``: the values in vocabulary
      order, 0 for absent keys;
    * ``zipped`` sequence(map(*keys*, float)) = ``ZipMap(vector)``: one map per row, keyed by the
      vocabulary.

    ``{"a": 1.0, "c": 3.0}`` gives ``vector = [[1, 0, 3]]``, ``zipped = [{"a": 1, "b": 0,
    "c": 3}]``.
    """
    if keys == "string":
        key_type = TP.STRING
        vocab: dict[str, Any] = {"string_vocabulary": ["a", "b", "c"]}
        labels: dict[str, Any] = {"classlabels_strings": ["a", "b", "c"]}
    elif keys == "int64":
        key_type = TP.INT64
        vocab = {"int64_vocabulary": [10, 20, 30]}
        labels = {"classlabels_int64s": [10, 20, 30]}
    else:
        raise ValueError(f"keys must be 'string' or 'int64', got {keys!r}")
    map_t = helper.make_map_type_proto(key_type, helper.make_tensor_type_proto(TP.FLOAT, []))
    zipped_t = helper.make_sequence_type_proto(
        helper.make_map_type_proto(key_type, helper.make_tensor_type_proto(TP.FLOAT, []))
    )
    return make(
        [
            helper.make_node(
                "DictVectorizer", ["features"], ["vector"], domain="ai.onnx.ml", **vocab
            ),
            helper.make_node("ZipMap", ["vector"], ["zipped"], domain="ai.onnx.ml", **labels),
        ],
        [helper.make_value_info("features", map_t)],
        [_tensor("vector", TP.FLOAT, [1, 3]), helper.make_value_info("zipped", zipped_t)],
        name="maps",
        extra_opsets={"ai.onnx.ml": 3},
    )


def sklearn_classifier() -> bytes:
    """A real scikit-learn model converted with skl2onnx: ``LogisticRegression`` fitted on the iris
    data set (shipped with scikit-learn, no download).

    Input ``input`` float32 ``[N, 4]``; outputs (skl2onnx's names) ``output_label`` int64 ``[N]``
    and ``output_probability`` sequence(map(int64, float)) (a ZipMap; classes 0, 1, 2). The
    first iris row ``[5.1, 3.5, 1.4, 0.2]`` is class 0; ``[6.7, 3.0, 5.2, 2.3]`` is class 2.
    """
    return _sklearn_classifier_cached()


@functools.cache
def _sklearn_classifier_cached() -> bytes:
    import warnings

    # third-party deprecation noise must not trip pytest's filterwarnings = error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        x, y = load_iris(return_X_y=True)
        clf = LogisticRegression(max_iter=1000).fit(x, y)
        model = to_onnx(
            clf,
            initial_types=[("input", FloatTensorType([None, 4]))],
            target_opset={"": OPSET, "ai.onnx.ml": 3},
            options={id(clf): {"zipmap": True}},
        )
    model.producer_name = "ortsession-tests (skl2onnx)"
    onnx.checker.check_model(model, full_check=True)
    data: bytes = model.SerializeToString()
    return data


def optional_model() -> bytes:
    """An optional input and an optional output.

    Input ``opt``: optional(tensor(float) ``[N]``) — may be omitted or fed empty. Outputs:

    * ``has_element`` bool scalar = ``OptionalHasElement(opt)``;
    * ``value`` float32 = the element if present (``OptionalGetElement`` in an ``If``), else an
      empty ``[0]`` tensor;
    * ``passthrough`` optional(tensor(float)) = ``Identity(opt)``: empty when *opt* is.
    """
    opt_t = helper.make_optional_type_proto(helper.make_tensor_type_proto(TP.FLOAT, ["N"]))
    then_branch = helper.make_graph(
        [helper.make_node("OptionalGetElement", ["opt"], ["element"])],
        "then",
        [],
        [_tensor("element", TP.FLOAT, [None])],
    )
    else_branch = helper.make_graph(
        [
            helper.make_node(
                "Constant", [], ["empty"], value=helper.make_tensor("e", TP.FLOAT, [0], [])
            )
        ],
        "else",
        [],
        [_tensor("empty", TP.FLOAT, [None])],
    )
    return make(
        [
            helper.make_node("OptionalHasElement", ["opt"], ["has_element"]),
            helper.make_node(
                "If", ["has_element"], ["value"], then_branch=then_branch, else_branch=else_branch
            ),
            helper.make_node("Identity", ["opt"], ["passthrough"]),
        ],
        [helper.make_value_info("opt", opt_t)],
        [
            _tensor("has_element", TP.BOOL, []),
            _tensor("value", TP.FLOAT, [None]),
            helper.make_value_info("passthrough", opt_t),
        ],
        name="optionals",
    )


# ---------------------------------------------------------------------------------------------
# behaviour


SLOW_SIZE = 256
"""Side of the square matrices :func:`slow_model` multiplies."""


def _slow_model(iterations: int) -> bytes:
    n = SLOW_SIZE
    rng = np.random.RandomState(0)
    # orthogonal-ish weights scaled so that Tanh keeps the values bounded and non-trivial
    w = (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32)
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["acc_in", "w"], ["prod"]),
            helper.make_node("Tanh", ["prod"], ["acc_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [
            _tensor("i", TP.INT64, []),
            _tensor("cond_in", TP.BOOL, []),
            _tensor("acc_in", TP.FLOAT, [n, n]),
        ],
        [_tensor("cond_out", TP.BOOL, []), _tensor("acc_out", TP.FLOAT, [n, n])],
    )
    return make(
        [helper.make_node("Loop", ["iterations", "", "x"], ["y"], body=body)],
        [_tensor("x", TP.FLOAT, [n, n]), _tensor("iterations", TP.INT64, [])],
        [_tensor("y", TP.FLOAT, [n, n])],
        initializers=[
            helper.make_tensor("iterations", TP.INT64, [], [iterations]),
            numpy_helper.from_array(w, "w"),
        ],
        name="slow",
    )


@functools.cache
def _seconds_per_iteration() -> float:
    import onnxruntime  # noqa: TID251 - calibration needs plain ORT

    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    probe = 40
    sess = onnxruntime.InferenceSession(_slow_model(probe), so, providers=["CPUExecutionProvider"])
    x = np.ones((SLOW_SIZE, SLOW_SIZE), np.float32)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sess.run(None, {"x": x})
        best = min(best, time.perf_counter() - start)
    return best / probe


def slow_model(seconds: float = 2.0) -> bytes:
    """A model that runs for about *seconds* on one CPU core (less with more threads).

    ``y = Loop(iterations) { acc = Tanh(acc @ W) }`` starting from input ``x`` float32
    ``[256, 256]``; output ``y`` float32 ``[256, 256]``. ``iterations`` is an overridable
    initializer (int64 scalar) whose default is calibrated on this machine, once per process, by
    timing a short run of the same model with one thread (about 0.1 s). ORT checks
    ``RunOptions.terminate`` between loop iterations (each well under a millisecond), so a
    terminated run stops at once ("Exiting due to terminate flag being set to true"). Feed
    ``iterations`` to make it shorter or longer.
    """
    iterations = max(1, round(seconds / _seconds_per_iteration()))
    return _slow_model(iterations)


def custom_op_library_path() -> str:
    """Path of onnxruntime-extensions' custom-op library (``get_library_path()``)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from onnxruntime_extensions import get_library_path

    path: str = get_library_path()
    return path


def custom_op_model() -> bytes:
    """A model using a custom operator from onnxruntime-extensions: ``ai.onnx.contrib`` opset 1,
    op ``StringUpper``. Input ``x`` string ``[N]``, output ``y`` string ``[N]`` (upper-cased).

    Plain ORT fails to load it ("ai.onnx.contrib:StringUpper(-1) is not a registered
    function/op"); after ``SessionOptions.register_custom_ops_library(custom_op_library_path())``
    it loads, and ``["abc", "Hello wOrld"]`` gives ``["ABC", "HELLO WORLD"]``.
    """
    return make(
        [helper.make_node("StringUpper", ["x"], ["y"], domain="ai.onnx.contrib")],
        [_tensor("x", TP.STRING, ["N"])],
        [_tensor("y", TP.STRING, ["N"])],
        name="custom_op",
        extra_opsets={"ai.onnx.contrib": 1},
        check=False,  # the checker does not know the contrib domain
    )


def bad_models() -> dict[str, bytes]:
    """Models that ONNX Runtime refuses to load, by name:

    * ``empty``: zero bytes;
    * ``garbage``: bytes that are not a protobuf message;
    * ``truncated``: the first half of a valid model (cut inside an initializer);
    * ``unknown_op``: a node ``NoSuchOp`` in the default domain;
    * ``unsupported_opset``: a default-domain opset far beyond what ORT knows (1000);
    * ``unsupported_ir_version``: IR version 1000;
    * ``invalid_graph``: a node reading a value that nothing defines.
    """
    x = _tensor("x", TP.FLOAT, [64])
    y = _tensor("y", TP.FLOAT, [64])
    weights = numpy_helper.from_array(np.arange(64, dtype=np.float32), "weights")
    valid = make(
        [helper.make_node("Add", ["x", "weights"], ["y"])], [x], [y], initializers=[weights]
    )
    return {
        "empty": b"",
        "garbage": bytes(range(256)) * 4,
        "truncated": valid[: len(valid) // 2],
        "unknown_op": make([helper.make_node("NoSuchOp", ["x"], ["y"])], [x], [y], check=False),
        "unsupported_opset": make(
            [helper.make_node("Identity", ["x"], ["y"])],
            [x],
            [y],
            opset=1000,
            ir_version=10,
            check=False,
        ),
        "unsupported_ir_version": _with_ir_version(valid, 1000),
        "invalid_graph": make(
            [helper.make_node("Add", ["x", "nowhere"], ["y"])], [x], [y], check=False
        ),
    }


def _with_ir_version(model_bytes: bytes, ir_version: int) -> bytes:
    model = onnx.load_from_string(model_bytes)
    model.ir_version = ir_version
    data: bytes = model.SerializeToString()
    return data


# ---------------------------------------------------------------------------------------------
# the onnx wheel's backend test data

BACKEND_KINDS = ("simple", "pytorch-converted", "pytorch-operator")
"""The case folders under :func:`backend_data_dir` that :func:`node_test_dirs` walks."""


_OLD_OPSET = (
    "opset 6 or older: ORT 1.32's CPU kernels for this operator start at a later version "
    "(NOT_IMPLEMENTED: Could not find an implementation for ...)"
)
_LOCALE = (
    "StringNormalizer with case change and the default locale en_US.UTF-8: ORT refuses to load "
    "it where that locale is not installed (passes where it is)"
)

BACKEND_KNOWN_FAILURES: dict[str, str] = {
    "test_gradient_of_add": "ai.onnx.preview.training Gradient is not an ORT operator",
    "test_gradient_of_add_and_mul": "ai.onnx.preview.training Gradient is not an ORT operator",
    **dict.fromkeys(
        [
            "test_strnorm_model_monday_casesensintive_lower",
            "test_strnorm_model_monday_casesensintive_upper",
            "test_strnorm_model_monday_empty_output",
            "test_strnorm_model_monday_insensintive_upper_twodim",
        ],
        _LOCALE,
    ),
    **dict.fromkeys(
        [
            "test_AvgPool1d", "test_AvgPool1d_stride", "test_AvgPool2d", "test_AvgPool2d_stride",
            "test_AvgPool3d", "test_AvgPool3d_stride", "test_AvgPool3d_stride1_pad0_gpu_input",
            "test_BatchNorm1d_3d_input_eval", "test_BatchNorm2d_eval",
            "test_BatchNorm2d_momentum_eval", "test_BatchNorm3d_eval",
            "test_BatchNorm3d_momentum_eval", "test_GLU", "test_GLU_dim", "test_Linear",
            "test_PReLU_1d", "test_PReLU_1d_multiparam", "test_PReLU_2d",
            "test_PReLU_2d_multiparam", "test_PReLU_3d", "test_PReLU_3d_multiparam",
            "test_PoissonNLLLLoss_no_reduce", "test_Softsign",
            "test_operator_add_broadcast", "test_operator_add_size1_broadcast",
            "test_operator_add_size1_right_broadcast",
            "test_operator_add_size1_singleton_broadcast", "test_operator_addconstant",
            "test_operator_addmm", "test_operator_basic", "test_operator_mm",
            "test_operator_non_float_params", "test_operator_params", "test_operator_pow",
        ],
        _OLD_OPSET,
    ),
}  # fmt: skip
"""Backend cases (:func:`node_test_dirs`) that plain ONNX Runtime 1.32 (CPU) cannot load, by case
name, with the reason. Every other case loads, runs and matches its expected outputs."""

BACKEND_LOCALE_DEPENDENT = frozenset(k for k, v in BACKEND_KNOWN_FAILURES.items() if v == _LOCALE)
"""The known failures that pass on a machine with the ``en_US.UTF-8`` locale installed."""


def assert_values_close(
    actual: Any, expected: Any, *, rtol: float = 1e-3, atol: float = 1e-7, where: str = "value"
) -> None:
    """Assert that two run results match: numpy arrays (numbers within *rtol*/*atol*, strings and
    bools exactly), lists (sequences) element by element, dicts (maps) key by key, ``None``.

    Raises:
        AssertionError: naming *where* the first mismatch is (e.g. ``value[1]['a']``).
    """
    if expected is None:
        assert actual is None, f"{where}: expected None, got {type(actual).__name__}"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a dict, got {type(actual).__name__}"
        assert set(actual) == set(expected), f"{where}: keys {set(actual)} != {set(expected)}"
        for key in expected:
            where_key = f"{where}[{key!r}]"
            assert_values_close(actual[key], expected[key], rtol=rtol, atol=atol, where=where_key)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {type(actual).__name__}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_values_close(a, e, rtol=rtol, atol=atol, where=f"{where}[{i}]")
    else:
        exp = np.asarray(expected)
        act = np.asarray(actual)
        assert act.shape == exp.shape, f"{where}: shape {act.shape} != {exp.shape}"
        if exp.dtype.kind in "OUSb":
            assert act.tolist() == exp.tolist(), f"{where}: {act!r} != {exp!r}"
        else:
            np.testing.assert_allclose(act, exp, rtol=rtol, atol=atol, err_msg=where)


def backend_data_dir() -> Path:
    """``onnx/backend/test/data`` inside the installed ``onnx`` wheel.

    It holds ``light/`` (nine small-weight versions of classic CNNs: ``light_<name>.onnx`` and the
    reference output ``light_<name>_output_0.pb``), ``real/`` (their tolerances in
    ``test_<name>/data.json``), and the case folders of :data:`BACKEND_KINDS`.
    """
    return Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"


def light_model_names() -> list[str]:
    """Names :func:`light_model` accepts: ``bvlc_alexnet``, ``densenet121``, ``resnet50``, ..."""
    light = backend_data_dir() / "light"
    return sorted(p.name[len("light_") : -len(".onnx")] for p in light.glob("light_*.onnx"))


def light_model_tolerance(name: str) -> tuple[float, float]:
    """``(rtol, atol)`` the onnx backend tests compare :func:`light_model` outputs with."""
    info = backend_data_dir() / "real" / f"test_{_light_name(name)}" / "data.json"
    data = json.loads(info.read_text())
    return float(data["rtol"]), float(data["atol"])


def _light_name(name: str) -> str:
    name = name.removeprefix("light_")
    if name not in light_model_names():
        raise ValueError(f"no light model {name!r}; known: {', '.join(light_model_names())}")
    return name


def light_model(name: str) -> tuple[Path, list[np.ndarray], list[np.ndarray]]:
    """A light model of the onnx wheel with its reference input and expected outputs.

    The light models (``resnet50``, ``densenet121``, ``vgg19``, ... — see
    :func:`light_model_names`; a ``light_`` prefix is accepted) are the classic CNNs with their
    weights replaced by ``ConstantOfShape`` nodes: full-size compute (``[1, 3, 224, 224]`` in), a
    few kB on disk, IR version 3 / opset 9. The wheel ships no input file: like onnx's backend
    runner, the input is ``arange(n).reshape(shape) / n`` in float32 (free dimensions set to 1),
    and the expected output is ``light_<name>_output_0.pb``. Compare with
    :func:`light_model_tolerance`.

    Returns:
        ``(model_path, inputs, expected_outputs)``, inputs in graph-input order (initializers
        excluded), outputs in graph-output order.
    """
    name = _light_name(name)
    light = backend_data_dir() / "light"
    model_path = light / f"light_{name}.onnx"
    model = onnx.load(str(model_path), load_external_data=False)
    initializer_names = {i.name for i in model.graph.initializer}
    inputs = []
    for value in model.graph.input:
        if value.name in initializer_names:
            continue
        dims = value.type.tensor_type.shape.dim
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
        n = int(np.prod(shape))
        inputs.append((np.arange(n).reshape(shape) / n).astype(np.float32))
    outputs = [
        numpy_helper.to_array(onnx.load_tensor(str(light / f"light_{name}_output_{i}.pb")))
        for i in range(len(model.graph.output))
    ]
    return model_path, inputs, outputs


@dataclass(frozen=True)
class BackendCase:
    """One case folder of the onnx backend test data: ``model.onnx`` and ``test_data_set_*/``."""

    kind: str
    """The folder it lives in, one of :data:`BACKEND_KINDS`."""
    name: str
    """The case folder's name, e.g. ``"test_sequence_model1"``."""
    path: Path
    """The case folder."""

    @property
    def model_path(self) -> Path:
        """The case's ``model.onnx``."""
        return self.path / "model.onnx"

    def data_sets(self) -> list[tuple[list[Any], list[Any]]]:
        """Load every ``test_data_set_*`` as ``(inputs, expected_outputs)``, each a list in
        graph-input / graph-output order.

        Values are decoded by the declared graph type, as onnx's backend runner does: tensors
        become numpy arrays, sequences lists of arrays, optionals an array, a list or ``None``.
        """
        model = onnx.load(str(self.model_path), load_external_data=False)
        initializer_names = {i.name for i in model.graph.initializer}
        graph_inputs = [v for v in model.graph.input if v.name not in initializer_names]
        result = []
        for folder in sorted(glob.glob(os.path.join(self.path, "test_data_set_*"))):
            inputs = load_values(folder, "input", graph_inputs)
            outputs = load_values(folder, "output", list(model.graph.output))
            result.append((inputs, outputs))
        return result


def load_values(folder: str | Path, prefix: str, values: Sequence[onnx.ValueInfoProto]) -> list[Any]:
    """Read ``<prefix>_<i>.pb`` files of a backend ``test_data_set_*`` folder as Python values.

    Tensors become numpy (or ``ml_dtypes``) arrays, sequences lists, maps dicts and optionals
    their value or ``None``; ``values`` (the graph's inputs or outputs) tells which is which.
    """
    count = len(glob.glob(os.path.join(folder, f"{prefix}_*.pb")))
    loaded: list[Any] = []
    for i in range(count):
        data = Path(folder, f"{prefix}_{i}.pb").read_bytes()
        type_proto = values[i].type
        if type_proto.HasField("sequence_type"):
            seq = onnx.SequenceProto()
            seq.ParseFromString(data)
            loaded.append(numpy_helper.to_list(seq))
        elif type_proto.HasField("optional_type"):
            opt = onnx.OptionalProto()
            opt.ParseFromString(data)
            loaded.append(numpy_helper.to_optional(opt))
        elif type_proto.HasField("map_type"):
            map_proto = onnx.MapProto()
            map_proto.ParseFromString(data)
            loaded.append(numpy_helper.to_dict(map_proto))
        else:
            tensor = onnx.TensorProto()
            tensor.ParseFromString(data)
            loaded.append(numpy_helper.to_array(tensor))
    return loaded


def node_test_dirs(kind: str) -> Iterator[BackendCase]:
    """Iterate the case folders of one *kind* of the onnx wheel's backend test data, sorted.

    Args:
        kind: ``"simple"`` (23 small models: sequences, string normalizer, expand, ...),
            ``"pytorch-converted"`` (82 torch.nn modules) or ``"pytorch-operator"`` (35 torch
            operators). The ``node/`` cases of the onnx repository are not in the wheel.

    Yields:
        One :class:`BackendCase` per folder holding a ``model.onnx``.
    """
    if kind not in BACKEND_KINDS:
        raise ValueError(f"kind must be one of {', '.join(BACKEND_KINDS)}, got {kind!r}")
    root = backend_data_dir() / kind
    for folder in sorted(root.iterdir()):
        if (folder / "model.onnx").is_file():
            yield BackendCase(kind=kind, name=folder.name, path=folder)


def mlp(hidden: Sequence[int] = (64, 256, 64), batch: str | int = "N", seed: int = 0) -> bytes:
    """A row-independent MLP with a batch dimension, for batching and concurrency tests.

    Inputs ``x`` float32 ``[batch, hidden[0]]`` and ``scale`` float32 ``[batch, 1]``; outputs
    ``y = mlp(x) * scale`` float32 ``[batch, hidden[-1]]`` (``MatMul`` + bias, ``Relu`` between
    layers, deterministic weights from *seed*), ``label = ArgMax(y, axis=1)`` int64 ``[batch]``
    and ``norm = ReduceSumSquare(y, axis=1, keepdims)`` float32 ``[batch, 1]``. With the default
    sizes a run is overhead-bound; ``hidden=(384, 1536, 1536, 384)`` is MiniLM-sized (batching
    pays off).
    """
    rng = np.random.RandomState(seed)
    nodes = []
    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    current = "x"
    for i, (n_in, n_out) in enumerate(itertools.pairwise(hidden)):
        w = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        b = (rng.standard_normal(n_out) * 0.1).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [helper.make_node("MatMul", [current, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        current = f"a{i}"
        if i < len(hidden) - 2:
            nodes.append(helper.make_node("Relu", [current], [f"r{i}"]))
            current = f"r{i}"
    nodes += [
        helper.make_node("Mul", [current, "scale"], ["y"]),
        helper.make_node("ArgMax", ["y"], ["label"], axis=1, keepdims=0),
        helper.make_node("ReduceSumSquare", ["y", "axis1"], ["norm"], keepdims=1),
    ]
    return make(
        nodes,
        [_tensor("x", TP.FLOAT, [batch, hidden[0]]), _tensor("scale", TP.FLOAT, [batch, 1])],
        [_tensor("y", TP.FLOAT, [batch, hidden[-1]]), _tensor("label", TP.INT64, [batch]),
         _tensor("norm", TP.FLOAT, [batch, 1])],
        initializers=inits,
        name="mlp",
    )
