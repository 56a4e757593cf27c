"""Conformance runner: the ONNX backend test corpus through ``ortsession``'s public API.

The corpus:

* ``node``: the 1884 node cases that the ``onnx`` wheel generates
  (``onnx.backend.test.case.node.collect_testcases()``): a one-node model and a data set of
  inputs and expected outputs each (numpy arrays and scalars, lists for sequences, ``None`` for
  empty optionals, ``TensorProto`` for the element types numpy lacks, decoded here with
  ``onnx.numpy_helper.to_array`` into ``ml_dtypes`` arrays);
* ``simple``, ``pytorch-converted``, ``pytorch-operator``: the model folders shipped under
  ``onnx/backend/test/data/`` (``model.onnx`` and ``test_data_set_*/{input,output}_*.pb``);
* ``light``: the nine classic CNNs of ``onnx/backend/test/data/light`` (input
  ``arange(n)/n``, as onnx's backend runner feeds them);
* ``extra``: a few ``ai.onnx.ml`` models built here so that maps (in and out) and sequences of
  maps are covered too (the onnx corpus has none).

Each case loads with ``ortsession.session_from_bytes``, its inputs are fed through the public API
(arrays of every dtype, numpy scalars, lists for sequences, dicts for maps, ``ortsession.optional``
for empty optionals) and every output is compared: value kind, element type, shape and values
(floats within the case's ``rtol``/``atol``, NaN equal to NaN; strings, bools and integers
exactly; sequences, maps and optionals recursively). What the ONNX spec leaves undefined is not
compared: a float → fixed-point ``Cast``/``CastLike`` (to any integer type: int8 … uint64, int4,
uint4, int2, uint2) is "undefined if OOR" (Operators.md, Cast), so for those cases only the
elements whose input lies in the target type's range are compared (:func:`defined_elements`);
the report says how many were left out. Each case ends in one status:

=============  ==================================================================================
``pass``       every output matches
``rejected``   ONNX Runtime refused the model at load (``ModelLoadError``: no kernel, bad type)
``mismatch``   it ran, an output differs from the reference
``unsupported``  (raw engine only) ORT's Python binding cannot feed or return a value of the case:
               an element type numpy lacks (bfloat16, float8, int4, float4, …)
``error``      an ``OrtError`` (ours) or ORT exception (raw) while running
``exception``  (ours only) an exception that is not an ``OrtError``: always a bug of ours
``crash``      the worker process died (a crash inside ONNX Runtime)
``timeout``    the case ran past its time limit
=============  ==================================================================================

Cases run in worker subprocesses, so a crash of the engine is caught and classified. The same
runner measures plain ``onnxruntime.InferenceSession`` on the same cases (the ``raw`` engine), so
the report shows both columns. The raw engine gets numpy scalars as 0-d arrays (its binding
refuses numpy scalars outright) and everything else exactly as the corpus stores it.

Usage (from the repository root)::

    python -m tests.conformance.runner                 # the fast sample, ortsession only
    python -m tests.conformance.runner --filter cast   # every case whose id contains "cast"
    python -m tests.conformance.runner --full --write-docs   # everything, both engines, docs
    python -m tests.conformance.runner --full --filter cast --engine both -v
    python -m tests.conformance.runner --raw --full    # plain onnxruntime only
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ENGINES",
    "KNOWN_ORT_LIMITATIONS",
    "SOURCES",
    "STATUSES",
    "Case",
    "Result",
    "collect_cases",
    "compare",
    "defined_elements",
    "main",
    "ort_limitation",
    "run_case",
    "run_cases",
    "sample_cases",
    "write_docs",
]

ENGINES = ("ours", "raw")
"""``ours``: ``ortsession``'s public API. ``raw``: plain ``onnxruntime.InferenceSession``."""

STATUSES = ("pass", "rejected", "mismatch", "unsupported", "error", "exception", "crash",
            "timeout")
"""Every status a case can end in (see the module docstring)."""

SOURCES = ("node", "simple", "pytorch-converted", "pytorch-operator", "light", "extra")
"""Where cases come from (see the module docstring)."""

REPO = Path(__file__).resolve().parents[2]
DOCS_PATH = REPO / "docs" / "conformance.md"

# ONNX TensorProto.DataType numbers → the element type names of ``ortsession.tensor``.
_FLOAT_TYPES = frozenset({1, 10, 11, 16, 17, 18, 19, 20, 23, 24, 27, 28})
_FIXED_POINT_TYPES = frozenset({2, 3, 4, 5, 6, 7, 12, 13, 21, 22, 25, 26})
_CAST_OPS = frozenset({"Cast", "CastLike"})

ELEMENT_TYPE_NAMES: dict[int, str] = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
    18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2", 27: "float6e2m3",
    28: "float6e3m2",
}  # fmt: skip

_DFT_NOISE = ("ORT's DFT/STFT leave rounding noise (~1e-5) where the reference is exactly 0, "
              "beyond atol 1e-7")
_DROPOUT_RNG = ("Dropout in training mode draws a random mask: ORT's generator is not the "
                "reference's numpy generator")
KNOWN_ORT_LIMITATIONS: dict[str, str] = {
    "node/test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask_causal":
        "ORT's Attention writes the lowest float (-3.4e38) where the reference's masked "
        "qk_matmul output has -inf",
    "node/test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal":
        "ORT's Attention writes the lowest float (-3.4e38) where the reference's masked "
        "qk_matmul output has -inf",
    "node/test_attention_4d_causal_fp16":
        "ORT's float16 Attention rounds one value 1.2e-3 away (beyond rtol 1e-3)",
    "node/test_attention_4d_diff_heads_mask4d_padded_kv":
        "ORT's Attention refuses the run: 'inconsistent total_sequence_length (between "
        "attn_mask and past_key...)'",
    "node/test_convinteger_with_padding":
        "ORT's ConvInteger refuses a per-channel w_zero_point at run time ('Non per-tensor "
        "quantization is not supported now')",
    "node/test_reduce_max_empty_set_bool":
        "ORT's ReduceMax refuses an empty bool input at run time ('ReduceMax is not defined "
        "for empty set with bool type')",
    "node/test_maxunpool_export_with_output_shape":
        "ORT's MaxUnpool places the values differently when output_shape is given",
    "node/test_resize_downsample_scales_linear_align_corners":
        "ORT's Resize computes align_corners downsampling differently from the reference",
    "node/test_resize_downsample_scales_cubic_align_corners":
        "ORT's Resize computes align_corners downsampling differently from the reference",
    **dict.fromkeys([f"node/test_{n}" for n in (
        "dft", "dft_axis", "dft_inverse", "dft_rfft", "dft_irfft", "dft_opset19",
        "dft_axis_opset19", "dft_inverse_opset19", "dft_rfft_opset19", "dft_irfft_opset19",
        "stft", "stft_with_window")], _DFT_NOISE),
    **dict.fromkeys([f"node/test_training_dropout{n}" for n in (
        "", "_mask", "_default", "_default_mask")], _DROPOUT_RNG),
}  # fmt: skip
"""Cases that ONNX Runtime 1.32 itself runs but gets wrong or refuses at run time (plain
``onnxruntime`` fails them the same way), by case id, with the ORT limitation. Models that ORT
refuses at load are explained by :func:`ort_limitation` from ORT's own message."""


def ort_limitation(case_id: str, detail: str) -> str:
    """The ORT limitation behind a case that does not pass (``""`` when none is known)."""
    import re

    if case_id in KNOWN_ORT_LIMITATIONS:
        return KNOWN_ORT_LIMITATIONS[case_id]
    m = re.search(r"(?:Could not find an implementation for|Failed to find kernel for) "
                  r"(\w+)\((\d+)\)", detail)
    if m:
        return f"no CPU kernel for {m[1]} (opset {m[2]}) with these element types"
    m = re.search(r"([\w.]+):(\w+)\(-1\) is not a registered function/op", detail)
    if m:
        return f"ORT does not implement {m[1]}.{m[2]}"
    if "Failed to construct locale" in detail:
        return ("StringNormalizer changes case with the en_US.UTF-8 locale, which is not "
                "installed on this machine (passes where it is)")
    if "layout_ == 0" in detail:
        return "ORT's RNN/GRU/LSTM kernels do not support layout=1 (batch-major)"
    # what an older ONNX Runtime (before the one the corpus was written for) does not know yet
    m = re.search(r"Unsupported model IR version: (\d+), max supported IR version: (\d+)", detail)
    if m:
        return f"this ORT reads models up to IR version {m[2]} (the case is IR {m[1]})"
    m = re.search(r"Unrecognized attribute: (\w+) for operator (\w+)", detail)
    if m:
        return f"this ORT's {m[2]} predates its attribute {m[1]}"
    m = re.search(r"(?:Invalid tensor data type|is not a registered type|not currently "
                  r"registered or supported)", detail)
    if m:
        return "this ORT does not support an element type of the case"
    m = re.search(r"Opset (\d+) is under development|opset \d+ is not supported|"
                  r"ONNX Runtime only \*guarantees\* support for models stamped with official "
                  r"released onnx opset versions", detail)
    if m:
        return "this ORT predates the case's opset"
    return ""


# ---------------------------------------------------------------------------------------------
# cases


@dataclasses.dataclass
class Case:
    """One model with its data sets, ready to send to a worker (plain picklable data)."""

    id: str
    """``source/name``, e.g. ``node/test_abs``."""
    source: str
    name: str
    model: bytes
    """The serialized ``ModelProto``."""
    data_sets: list[tuple[dict[str, Any], list[Any]]]
    """Per data set: the inputs by name (graph-input order) and the expected outputs."""
    output_names: list[str]
    rtol: float
    atol: float
    element_types: tuple[str, ...] = ()
    """Element types declared by the graph's inputs and outputs (nested types included)."""
    kinds: tuple[str, ...] = ()
    """Value kinds fed or expected: tensor, scalar tensor, numpy scalar, sequence, map,
    optional, empty optional, sparse tensor."""
    defined: list[list[Any]] = dataclasses.field(default_factory=list)
    """Per data set, per output: ``None`` (compare every element) or a boolean mask of the
    elements whose value the ONNX spec defines (see :func:`defined_elements`)."""

    @property
    def undefined_elements(self) -> int:
        """How many expected elements are left out of the comparison as undefined by the spec."""
        return sum(int(mask.size - mask.sum()) for masks in self.defined for mask in masks
                   if mask is not None)

    @property
    def exotic(self) -> bool:
        """True when a value has an element type ORT's Python binding cannot feed or return:
        an ``ml_dtypes`` array or scalar (bfloat16, float8, int4, float4, …)."""
        return any(_exotic(v) for inputs, outputs in self.data_sets
                   for v in [*inputs.values(), *outputs])


@dataclasses.dataclass
class Result:
    """How one case ended on one engine."""

    id: str
    engine: str
    status: str
    detail: str = ""
    seconds: float = 0.0


def _exotic(value: Any) -> bool:
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype.type.__module__ == "ml_dtypes"  # float8_e5m2's kind is "f"
    if isinstance(value, list):
        return any(_exotic(v) for v in value)
    if isinstance(value, dict):
        return any(_exotic(v) for v in value.values())
    return False


def _decode(value: Any) -> Any:
    """Turn the protos of a data set into numpy/ml_dtypes arrays, lists, dicts or ``None``."""
    from onnx import TensorProto, numpy_helper

    if isinstance(value, TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, (list, tuple)):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def _type_features(type_proto: Any, types: set[str], kinds: set[str]) -> None:
    which = type_proto.WhichOneof("value")
    if which == "tensor_type":
        kinds.add("tensor")
        types.add(ELEMENT_TYPE_NAMES.get(type_proto.tensor_type.elem_type,
                                         f"type{type_proto.tensor_type.elem_type}"))
    elif which == "sparse_tensor_type":
        kinds.add("sparse tensor")
        types.add(ELEMENT_TYPE_NAMES.get(type_proto.sparse_tensor_type.elem_type, "?"))
    elif which == "sequence_type":
        kinds.add("sequence")
        _type_features(type_proto.sequence_type.elem_type, types, kinds)
    elif which == "map_type":
        kinds.add("map")
        types.add(ELEMENT_TYPE_NAMES.get(type_proto.map_type.key_type, "?"))
        _type_features(type_proto.map_type.value_type, types, kinds)
    elif which == "optional_type":
        kinds.add("optional")
        _type_features(type_proto.optional_type.elem_type, types, kinds)


def _value_features(value: Any, kinds: set[str], is_input: bool) -> None:
    if value is None:
        kinds.add("empty optional")
    elif isinstance(value, np.generic):
        kinds.add("numpy scalar" if is_input else "scalar tensor")
    elif isinstance(value, np.ndarray):
        if value.ndim == 0:
            kinds.add("scalar tensor")
    elif isinstance(value, list):
        for v in value:
            _value_features(v, kinds, is_input)
    elif isinstance(value, dict):
        for v in value.values():
            _value_features(v, kinds, is_input)


def _fixed_point_range(elem_type: int) -> tuple[int, int]:
    """``(min, max)`` of an ONNX integer element type."""
    import ml_dtypes

    narrow = {21: ml_dtypes.uint4, 22: ml_dtypes.int4, 25: ml_dtypes.uint2, 26: ml_dtypes.int2}
    if elem_type in narrow:
        info = ml_dtypes.iinfo(narrow[elem_type])
    else:
        from onnx import helper

        info = np.iinfo(helper.tensor_dtype_to_np_dtype(elem_type))
    return int(info.min), int(info.max)


def defined_elements(model: Any, inputs: Sequence[Any]) -> list[Any]:
    """Per graph output of ``model`` fed ``inputs`` (graph-input order): ``None`` when the spec
    defines every element, or a boolean mask of the elements it defines.

    The ONNX Cast spec: "Casting from floating point to fixed point: undefined if OOR" (out of
    range; ``saturate`` covers float8 targets only). For a graph made of ``Cast``/``CastLike``
    nodes from a floating-point input to an integer output (int4/uint4/int2/uint2 included), an
    element is defined when its input is finite and within the target type's ``[min, max]``
    (inclusive, so any rounding of an in-range value stays in range). Any other graph: ``None``.
    """
    graph = model.graph
    if not graph.node or any(n.op_type not in _CAST_OPS or n.domain not in ("", "ai.onnx")
                             for n in graph.node):
        return [None] * len(graph.output)
    initializers = {i.name for i in graph.initializer}
    graph_inputs = [v for v in graph.input if v.name not in initializers]
    if not graph_inputs or graph_inputs[0].type.WhichOneof("value") != "tensor_type":
        return [None] * len(graph.output)
    source = graph_inputs[0].type.tensor_type.elem_type
    masks: list[Any] = []
    for output in graph.output:
        target = (output.type.tensor_type.elem_type
                  if output.type.WhichOneof("value") == "tensor_type" else 0)
        value = inputs[0] if inputs else None
        if source not in _FLOAT_TYPES or target not in _FIXED_POINT_TYPES or value is None:
            masks.append(None)
            continue
        low, high = _fixed_point_range(target)
        with np.errstate(all="ignore"):
            x = np.asarray(value).astype(np.float64)
            masks.append(np.isfinite(x) & (x >= low) & (x <= high))
    return masks


def _make_case(source: str, name: str, model: Any, data_sets: Iterable[tuple[Any, Any]],
               rtol: float, atol: float) -> Case:
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    graph_inputs = [v for v in graph.input if v.name not in initializers]
    types: set[str] = set()
    kinds: set[str] = set()
    for v in [*graph_inputs, *graph.output]:
        _type_features(v.type, types, kinds)
    decoded: list[tuple[dict[str, Any], list[Any]]] = []
    defined: list[list[Any]] = []
    for inputs, outputs in data_sets:
        ins = [_decode(v) for v in inputs]
        outs = [_decode(v) for v in outputs]
        masks = defined_elements(model, ins)
        defined.append(masks if any(m is not None for m in masks) else [])
        for v in ins:
            _value_features(v, kinds, True)
        for v in outs:
            _value_features(v, kinds, False)
        decoded.append(({g.name: v for g, v in zip(graph_inputs, ins)}, outs))
    return Case(id=f"{source}/{name}", source=source, name=name,
                model=model.SerializeToString(), data_sets=decoded,
                output_names=[o.name for o in graph.output], rtol=rtol, atol=atol,
                element_types=tuple(sorted(types)), kinds=tuple(sorted(kinds)),
                defined=defined if any(defined) else [])


def _node_cases() -> list[Case]:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # the case generators overflow on purpose
        testcases = collect_testcases(None)  # (onnx < 1.21 requires the argument)
    return [_make_case("node", tc.name, tc.model, tc.data_sets, tc.rtol, tc.atol)
            for tc in testcases]


def _backend_data_dir() -> Path:
    return _models().backend_data_dir()


def _load_values(folder: Path, prefix: str, values: Sequence[Any]) -> list[Any]:
    return _models().load_values(folder, prefix, values)


def _models() -> Any:
    """The test suite's model library (``tests/models.py``), importable from any entry point."""
    tests_dir = str(Path(__file__).resolve().parents[1])
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import models

    return models


def _folder_cases(kind: str) -> list[Case]:
    import onnx

    cases = []
    root = _backend_data_dir() / kind
    for folder in sorted(root.iterdir()):
        path = folder / "model.onnx"
        if not path.is_file():
            continue
        model = onnx.load(str(path), load_external_data=False)
        rtol, atol = 1e-3, 1e-7
        info = folder / "data.json"
        if info.is_file():
            data = json.loads(info.read_text())
            rtol, atol = float(data.get("rtol", rtol)), float(data.get("atol", atol))
        initializers = {i.name for i in model.graph.initializer}
        graph_inputs = [v for v in model.graph.input if v.name not in initializers]
        data_sets = [(_load_values(ds, "input", graph_inputs),
                      _load_values(ds, "output", list(model.graph.output)))
                     for ds in sorted(folder.glob("test_data_set_*"))]
        cases.append(_make_case(kind, folder.name, model, data_sets, rtol, atol))
    return cases


def _light_cases() -> list[Case]:
    import onnx

    models = _models()
    cases = []
    for name in models.light_model_names():
        path, inputs, outputs = models.light_model(name)
        try:
            rtol, atol = models.light_model_tolerance(name)
        except FileNotFoundError:
            rtol, atol = 1e-3, 1e-7
        model = onnx.load(str(path), load_external_data=False)
        cases.append(_make_case("light", f"light_{name}", model, [(inputs, outputs)], rtol,
                                atol))
    return cases


def _extra_cases() -> list[Case]:
    """``ai.onnx.ml`` models with map inputs and outputs (none in the onnx corpus)."""
    from onnx import TensorProto, helper

    def model(nodes: list[Any], inputs: list[Any], outputs: list[Any]) -> Any:
        graph = helper.make_graph(nodes, "extra", inputs, outputs)
        return helper.make_model(graph, ir_version=10, opset_imports=[
            helper.make_opsetid("", 21), helper.make_opsetid("ai.onnx.ml", 3)])

    def seq_map(key: int) -> Any:
        return helper.make_sequence_type_proto(helper.make_map_type_proto(
            key, helper.make_tensor_type_proto(TensorProto.FLOAT, [])))

    cases = []
    probs = np.array([[0.25, 0.75], [0.5, 0.5], [1.0, 0.0]], np.float32)
    zip_int = model(
        [helper.make_node("ZipMap", ["x"], ["y"], domain="ai.onnx.ml",
                          classlabels_int64s=[10, 20])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_value_info("y", seq_map(TensorProto.INT64))])
    expected_int = [{10: float(r[0]), 20: float(r[1])} for r in probs]
    cases.append(_make_case("extra", "zipmap_int64", zip_int, [([probs], [expected_int])],
                            1e-6, 0.0))
    zip_str = model(
        [helper.make_node("ZipMap", ["x"], ["y"], domain="ai.onnx.ml",
                          classlabels_strings=["cat", "dog"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_value_info("y", seq_map(TensorProto.STRING))])
    expected_str = [{"cat": float(r[0]), "dog": float(r[1])} for r in probs]
    cases.append(_make_case("extra", "zipmap_string", zip_str, [([probs], [expected_str])],
                            1e-6, 0.0))
    for key, name, vocab, sample in (
        (TensorProto.STRING, "string", {"string_vocabulary": ["a", "b", "c"]},
         {"a": 1.5, "c": -2.0}),
        (TensorProto.INT64, "int64", {"int64_vocabulary": [7, 8, 9]}, {9: 4.0, 7: 0.5}),
    ):
        dv = model(
            [helper.make_node("DictVectorizer", ["m"], ["y"], domain="ai.onnx.ml", **vocab)],
            [helper.make_value_info("m", helper.make_map_type_proto(
                key, helper.make_tensor_type_proto(TensorProto.FLOAT, [])))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
        keys = next(iter(vocab.values()))
        expected = np.array([[sample.get(k, 0.0) for k in keys]], np.float32)  # type: ignore[call-overload]
        cases.append(_make_case("extra", f"dictvectorizer_{name}", dv,
                                [([sample], [expected])], 1e-6, 0.0))
    cast_map = model(
        [helper.make_node("CastMap", ["m"], ["y"], domain="ai.onnx.ml", cast_to="TO_FLOAT",
                          map_form="DENSE")],
        [helper.make_value_info("m", helper.make_map_type_proto(
            TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, [])))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, None])])
    sample_map = {1: 2.5, 0: -1.0, 2: 4.0}
    cases.append(_make_case("extra", "castmap_dense", cast_map, [(
        [sample_map], [np.array([[-1.0, 2.5, 4.0]], np.float32)])], 1e-6, 0.0))

    # optionals: the corpus' only empty-optional input is in a model ORT 1.32 rejects
    opt_tensor = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2]))
    has = model([helper.make_node("OptionalHasElement", ["o"], ["y"])],
                [helper.make_value_info("o", opt_tensor)],
                [helper.make_tensor_value_info("y", TensorProto.BOOL, [])])
    x = np.array([1.5, -2.0], np.float32)
    cases.append(_make_case("extra", "optional_has_element", has, [
        ([None], [np.array(False)]), ([x], [np.array(True)])], 1e-6, 0.0))
    ident = model([helper.make_node("Identity", ["o"], ["y"])],
                  [helper.make_value_info("o", opt_tensor)],
                  [helper.make_value_info("y", opt_tensor)])
    cases.append(_make_case("extra", "optional_identity", ident, [
        ([None], [None]), ([x], [x])], 1e-6, 0.0))
    opt_seq = helper.make_optional_type_proto(helper.make_sequence_type_proto(
        helper.make_tensor_type_proto(TensorProto.INT64, [None])))
    ident_seq = model([helper.make_node("Identity", ["o"], ["y"])],
                      [helper.make_value_info("o", opt_seq)],
                      [helper.make_value_info("y", opt_seq)])
    seq = [np.array([1, 2, 3], np.int64), np.array([], np.int64)]
    cases.append(_make_case("extra", "optional_sequence_identity", ident_seq, [
        ([None], [None]), ([seq], [seq])], 1e-6, 0.0))
    return cases


def collect_cases(sources: Sequence[str] = SOURCES, name_filter: str | None = None) -> list[Case]:
    """Build the cases of ``sources`` (see :data:`SOURCES`), keeping ids containing
    ``name_filter`` (a substring) when given."""
    makers: dict[str, Callable[[], list[Case]]] = {
        "node": _node_cases,
        "simple": lambda: _folder_cases("simple"),
        "pytorch-converted": lambda: _folder_cases("pytorch-converted"),
        "pytorch-operator": lambda: _folder_cases("pytorch-operator"),
        "light": _light_cases,
        "extra": _extra_cases,
    }
    cases: list[Case] = []
    for source in sources:
        cases.extend(makers[source]())
    if name_filter:
        cases = [c for c in cases if name_filter in c.id]
    return cases


def sample_cases(cases: Sequence[Case], per_feature: int = 3, target: int = 200) -> list[Case]:
    """A deterministic sample: ``per_feature`` cases for every element type, value kind and
    source (spread evenly in id order), then an even stride over the rest up to ``target``.

    Light models are left out (they are compute-bound: seconds each).
    """
    pool = sorted((c for c in cases if c.source != "light"), key=lambda c: c.id)
    chosen: dict[str, Case] = {}
    features = sorted({f for c in pool for f in (*c.element_types, *c.kinds, c.source)})
    for feature in features:
        having = [c for c in pool if feature in (*c.element_types, *c.kinds, c.source)]
        for i in range(min(per_feature, len(having))):  # spread over the cases having it
            c = having[i * len(having) // per_feature]
            chosen.setdefault(c.id, c)
    rest = [c for c in pool if c.id not in chosen]
    room = max(target - len(chosen), 0)
    if rest and room:
        step = len(rest) / room
        for i in range(min(room, len(rest))):
            c = rest[int(i * step)]
            chosen.setdefault(c.id, c)
    return sorted(chosen.values(), key=lambda c: c.id)


# ---------------------------------------------------------------------------------------------
# comparing


def _float_dtype(dtype: np.dtype[Any]) -> bool:
    if dtype.kind == "f":
        return True
    if dtype.kind != "V":
        return False
    import ml_dtypes

    try:
        ml_dtypes.finfo(dtype)
    except (ValueError, TypeError):
        return False
    return True


def _describe(value: Any) -> str:
    if value is None:
        return "None (an empty optional)"
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {list(value.shape)}"
    return type(value).__name__


def compare(actual: Any, expected: Any, rtol: float, atol: float, where: str = "output",
            defined: Any = None) -> str:
    """Compare one result with its reference; return ``""`` when they match, else the first
    difference (naming where it is, e.g. ``output 0[1]['a']``).

    ``actual`` holds numpy arrays (tensors), lists (sequences), dicts (maps) and ``None``
    (empty optionals); ``expected`` the same, numpy scalars standing for 0-d tensors.
    ``defined``, for a tensor, is ``None`` or a boolean mask of ``expected``'s shape: only the
    elements it marks are compared (the others are undefined by the spec); kind, element type
    and shape are always compared.
    """
    if expected is None:
        return "" if actual is None else f"{where}: expected None (an empty optional), got " \
                                         f"{_describe(actual)}"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected a map, got {_describe(actual)}"
        if set(actual) != set(expected):
            return f"{where}: map keys {sorted(actual)} != {sorted(expected)}"
        for key in expected:
            problem = compare(actual[key], expected[key], rtol, atol, f"{where}[{key!r}]")
            if problem:
                return problem
        return ""
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, list):
            return f"{where}: expected a sequence, got {_describe(actual)}"
        if len(actual) != len(expected):
            return f"{where}: sequence length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            problem = compare(a, e, rtol, atol, f"{where}[{i}]")
            if problem:
                return problem
        return ""
    if isinstance(expected, (float, int)) and not isinstance(actual, np.ndarray):
        # a map value (ZipMap gives Python floats)
        if not isinstance(actual, (float, int)):
            return f"{where}: expected a number, got {_describe(actual)}"
        ok = bool(np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True))
        return "" if ok else f"{where}: {actual!r} != {expected!r}"
    exp = np.asarray(expected)
    if not isinstance(actual, np.ndarray):
        return f"{where}: expected a tensor, got {_describe(actual)}"
    if actual.shape != exp.shape:
        return f"{where}: shape {list(actual.shape)} != expected {list(exp.shape)}"
    if exp.dtype.kind in "OUS":
        if actual.dtype.kind not in "OUS":
            return f"{where}: expected strings, got {actual.dtype}"
        a_list = [s.decode() if isinstance(s, bytes) else s for s in actual.reshape(-1).tolist()]
        e_list = [s.decode() if isinstance(s, bytes) else s for s in exp.reshape(-1).tolist()]
        if a_list != e_list:
            bad = next(i for i, (a, e) in enumerate(zip(a_list, e_list)) if a != e)
            return f"{where}: element {bad}: {a_list[bad]!r} != {e_list[bad]!r}"
        return ""
    if actual.dtype != exp.dtype:
        return f"{where}: element type {actual.dtype} != expected {exp.dtype}"
    if defined is not None:
        mask = np.asarray(defined, dtype=bool)
        if mask.shape != exp.shape:
            raise ValueError(f"{where}: mask shape {list(mask.shape)} != {list(exp.shape)}")
        if not bool(mask.all()):
            where = f"{where} (in-range elements only)"
            actual, exp = actual[mask], exp[mask]
    if _float_dtype(exp.dtype):
        tol = max(rtol, 2**-6) if exp.dtype.name == "bfloat16" else rtol
        a64 = actual.astype(np.float64)
        e64 = exp.astype(np.float64)
        with np.errstate(all="ignore"):
            close = np.isclose(a64, e64, rtol=tol, atol=atol, equal_nan=True)
        if not bool(close.all()):
            bad = int(np.flatnonzero(~close.reshape(-1))[0])
            count = int((~close).sum())
            return (f"{where}: {count} of {close.size} values differ (rtol={tol}, atol={atol}); "
                    f"first at flat index {bad}: {a64.reshape(-1)[bad]!r} != "
                    f"{e64.reshape(-1)[bad]!r}")
        return ""
    a_int = actual.astype(np.int64) if exp.dtype.kind == "V" else actual
    e_int = exp.astype(np.int64) if exp.dtype.kind == "V" else exp
    if not np.array_equal(a_int, e_int):
        diff = np.flatnonzero((a_int != e_int).reshape(-1))
        bad = int(diff[0])
        return (f"{where}: {diff.size} of {exp.size} values differ; first at flat index {bad}: "
                f"{a_int.reshape(-1)[bad]!r} != {e_int.reshape(-1)[bad]!r}")
    return ""


# ---------------------------------------------------------------------------------------------
# running one case (in a worker)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _plain(value: Any) -> Any:
    """ortsession's result values → numpy arrays, lists, dicts and ``None``."""
    import ortsession as ort

    if isinstance(value, ort.Tensor):
        return value.numpy()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, ort.Optional):
        return _plain(value.value)
    return value


def _run_ours(case: Case) -> Result:
    import ortsession as ort

    start = time.perf_counter()

    def done(status: str, detail: str = "") -> Result:
        return Result(case.id, "ours", status, detail, time.perf_counter() - start)

    try:
        session = ort.session_from_bytes(case.model)
    except ort.ModelLoadError as exc:
        return done("rejected", _short(exc))
    except ort.OrtError as exc:
        return done("error", "at load: " + _short(exc))
    except Exception as exc:  # anything else is a bug of ours: classified
        return done("exception", "at load: " + _short(exc))
    with session:
        for n, (inputs, expected) in enumerate(case.data_sets):
            feed: dict[str, Any] = {}
            for name, value in inputs.items():
                feed[name] = (ort.optional(None, session.input_info(name)) if value is None
                              else value)
            try:
                outputs = session.run(feed)
                actual = [_plain(outputs[name]) for name in case.output_names]
            except ort.OrtError as exc:
                return done("error", f"data set {n}: " + _short(exc))
            except Exception as exc:
                return done("exception", f"data set {n}: " + _short(exc))
            masks = case.defined[n] if case.defined and case.defined[n] else [None] * len(expected)
            for i, (a, e, mask) in enumerate(zip(actual, expected, masks)):
                problem = compare(a, e, case.rtol, case.atol, f"output {i}", mask)
                if problem:
                    return done("mismatch", f"data set {n}: {problem}")
    return done("pass")


def _run_raw(case: Case) -> Result:
    # The comparison needs the raw engine: plain onnxruntime, as a user of its Python API.
    import onnxruntime  # noqa: TID251

    start = time.perf_counter()

    def done(status: str, detail: str = "") -> Result:
        return Result(case.id, "raw", status, detail, time.perf_counter() - start)

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    try:
        session = onnxruntime.InferenceSession(case.model, options,
                                               providers=["CPUExecutionProvider"])
    except Exception as exc:
        return done("rejected", _short(exc))
    for n, (inputs, expected) in enumerate(case.data_sets):
        # ORT's binding refuses numpy scalars ("Unable to handle object of type
        # <class 'numpy.float32'>"): give it 0-d arrays, as any user of it has to.
        feed = {name: np.asarray(value) if isinstance(value, np.generic) else value
                for name, value in inputs.items() if value is not None}
        try:
            actual = session.run(case.output_names, feed)
        except Exception as exc:
            return done("unsupported" if case.exotic else "error", f"data set {n}: "
                        + _short(exc))
        masks = case.defined[n] if case.defined and case.defined[n] else [None] * len(expected)
        for i, (a, e, mask) in enumerate(zip(actual, expected, masks)):
            problem = compare(a, e, case.rtol, case.atol, f"output {i}", mask)
            if problem:
                return done("unsupported" if case.exotic else "mismatch",
                            f"data set {n}: {problem}")
    return done("pass")


def run_case(case: Case, engine: str) -> Result:
    """Run ``case`` on ``engine`` (``"ours"`` or ``"raw"``) in this process."""
    return _run_ours(case) if engine == "ours" else _run_raw(case)


def _quiet_worker() -> None:
    import logging

    warnings.simplefilter("ignore")
    logging.getLogger("ortsession").setLevel(logging.CRITICAL)
    logging.getLogger("ortsession").addHandler(logging.NullHandler())
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: TID251 — the raw engine's own log threshold

        onnxruntime.set_default_logger_severity(4)


def _worker_main(conn: Connection, engine: str) -> None:
    """A worker process: receive cases, send back results, until ``None`` arrives."""
    _quiet_worker()
    if engine == "ours":
        import ortsession  # noqa: F401 — import once, before the first case is timed
    while True:
        try:
            case = conn.recv()
        except EOFError:
            return
        if case is None:
            return
        conn.send(run_case(case, engine))


# ---------------------------------------------------------------------------------------------
# the worker pool


class _Worker:
    def __init__(self, ctx: Any, engine: str) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, engine), daemon=True)
        self.process.start()
        child.close()
        self.case: Case | None = None
        self.started = 0.0
        self.done = 0

    def give(self, case: Case) -> None:
        self.case = case
        self.started = time.monotonic()
        self.conn.send(case)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            with contextlib.suppress(OSError, BrokenPipeError):
                self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker process died"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the worker process was killed by {name}"
    return f"the worker process exited with status {exitcode}"


def run_cases(cases: Sequence[Case], engine: str = "ours", jobs: int = 2,
              timeout: float = 120.0, max_tasks: int = 150,
              progress: Callable[[Result], None] | None = None) -> list[Result]:
    """Run ``cases`` on ``engine`` in ``jobs`` worker processes; return one result per case,
    in the order of ``cases``.

    A worker that dies takes only its current case with it (``crash``); a case that runs
    longer than ``timeout`` seconds is killed (``timeout``). Workers are replaced after
    ``max_tasks`` cases to keep memory bounded.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    ctx = multiprocessing.get_context("spawn")
    pending = collections.deque(range(len(cases)))
    results: list[Result | None] = [None] * len(cases)
    index = {id(c): i for i, c in enumerate(cases)}
    workers = [_Worker(ctx, engine) for _ in range(max(1, min(jobs, len(cases))))]

    def finish(w: _Worker, result: Result) -> None:
        assert w.case is not None
        results[index[id(w.case)]] = result
        w.case = None
        w.done += 1
        if progress is not None:
            progress(result)

    try:
        while pending or any(w.case is not None for w in workers):
            for i in range(len(workers)):
                if workers[i].case is None and workers[i].done >= max_tasks:
                    workers[i].stop()
                    workers[i] = _Worker(ctx, engine)
                if workers[i].case is None and pending:
                    workers[i].give(cases[pending.popleft()])
            busy = [w for w in workers if w.case is not None]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], 0.5)
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.case is None:
                    continue
                case = w.case
                if w.conn in ready or w.process.sentinel in ready:
                    try:
                        if w.conn.poll():
                            finish(w, w.conn.recv())
                            continue
                    except (EOFError, OSError):
                        pass
                    w.process.join(5)
                    finish(w, Result(case.id, engine, "crash", _death(w.process.exitcode),
                                     now - w.started))
                    w.stop(kill=True)
                    workers[i] = _Worker(ctx, engine)
                elif now - w.started > timeout:
                    finish(w, Result(case.id, engine, "timeout",
                                     f"still running after {timeout:.0f} s", now - w.started))
                    w.stop(kill=True)
                    workers[i] = _Worker(ctx, engine)
    finally:
        for w in workers:
            w.stop(kill=w.case is not None)
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------------------------
# reporting


def _counts(results: Iterable[Result]) -> collections.Counter[str]:
    return collections.Counter(r.status for r in results)


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], text: bool = False
           ) -> list[str]:
    """A markdown table: the first column left-aligned, the others right-aligned (numbers) or,
    with ``text``, left-aligned too."""
    rule = ["---" if i == 0 or text else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]
    return lines


def _undefined_paragraph(cases: Sequence[Case]) -> list[str]:
    """The report's note on what the spec leaves undefined and the runner does not compare."""
    partial = [c for c in cases if c.undefined_elements]
    total = sum(c.undefined_elements for c in partial)
    lines = [
        "Only what the ONNX spec defines is compared. A cast from floating point to fixed point",
        "(any integer type, int4 / uint4 / int2 / uint2 included) is \"undefined if OOR\"",
        "(Operators.md, Cast; `saturate` covers float8 targets only), so in `Cast` / `CastLike`",
        "cases from a float input to an integer output, an element whose input is NaN, infinite",
        "or outside the target type's [min, max] is left out of the comparison: the expected",
        "values there are whatever the reference's cast library produced (they changed with",
        "ml_dtypes 0.7), not a spec result. Kind, element type and shape are still compared.",
    ]
    if partial:
        lines += [f"Here {total} elements of {len(partial)} cases are left out: "
                  + ", ".join(f"`{c.name}` ({c.undefined_elements})" for c in partial) + "."]
    return [*lines, ""]


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary(cases: Sequence[Case], results: dict[str, dict[str, Result]]) -> str:
    """A short plain-text summary of the results (per engine, per status)."""
    lines = []
    partial = [c for c in cases if c.undefined_elements]
    if partial:
        lines.append(f"not compared (undefined by the spec: out-of-range float -> fixed-point "
                     f"casts): {sum(c.undefined_elements for c in partial)} elements of "
                     f"{len(partial)} cases")
    for engine, by_id in results.items():
        counts = _counts(by_id.values())
        lines.append(f"{engine:5} " + "  ".join(f"{s}={counts[s]}" for s in STATUSES
                                                 if counts[s]) + f"  (of {len(by_id)})")
    return "\n".join(lines)


def write_docs(cases: Sequence[Case], results: dict[str, dict[str, Result]], command: str,
               seconds: float, path: Path = DOCS_PATH) -> None:
    """Write the conformance report (``docs/conformance.md``)."""
    import onnx
    import onnxruntime  # noqa: TID251 — the report names the raw engine's version

    import ortsession

    ours = results.get("ours", {})
    raw = results.get("raw", {})
    engines = [e for e in ("ours", "raw") if e in results]
    titles = {"ours": "ortsession", "raw": "plain onnxruntime"}
    node = [c for c in cases if c.source == "node"]
    out: list[str] = [
        "# Conformance: the ONNX backend test corpus",
        "",
        "Generated by the conformance runner (`tests/conformance/runner.py`); do not edit by hand.",
        "Produced with:",
        "",
        "```",
        command,
        "```",
        "",
        f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, ortsession "
        f"{ortsession.__version__}, numpy {np.__version__}; CPU provider; {len(cases)} cases "
        f"({len(node)} node cases), {seconds:.0f} s.",
        "",
        "Every case loads with `ortsession.session_from_bytes`, its inputs go through the public",
        "API as the corpus stores them (arrays of every dtype, `ml_dtypes` arrays for bfloat16 /",
        "float8 / int4 / float4 / int2, numpy scalars, lists for sequences, dicts for maps,",
        "`ortsession.optional(None, info)` for empty optionals), and every output is compared:",
        "value kind, element type, shape, values (floats within the case's rtol / atol — 1e-3 /",
        "1e-7 for the node cases, two ULPs for bfloat16 — NaN equal to NaN; everything else",
        "exactly; sequences, maps and optionals recursively). The `plain onnxruntime` column runs",
        "the same cases through `onnxruntime.InferenceSession` with the same values, except that",
        "numpy scalars are given to it as 0-d arrays (its binding refuses numpy scalars outright).",
        "",
        "Statuses: **pass**; **rejected**: ONNX Runtime refuses the model at load (no kernel",
        "for the operator/type, unsupported type); **mismatch**: it runs but an output differs;",
        "**unsupported**: ORT's Python binding cannot feed or return a value of the case (an",
        "element type numpy lacks: bfloat16, the float8 family, int4/uint4, int2/uint2);",
        "**error**: the run raised; **exception**: a non-`OrtError` exception escaped",
        "`ortsession` (a bug); **crash**: the worker process died; **timeout**.",
        "",
        *_undefined_paragraph(cases),
    ]
    if "ours" in results:
        node_pass = sum(1 for c in node if c.id in ours and ours[c.id].status == "pass")
        line = f"**ortsession passes {node_pass} of the {len(node)} node cases"
        if "raw" in results:
            raw_pass = sum(1 for c in node if c.id in raw and raw[c.id].status == "pass")
            lost = sum(1 for c in cases if c.id in raw and c.id in ours
                       and raw[c.id].status == "pass" and ours[c.id].status != "pass")
            gained = sum(1 for c in cases if c.id in raw and c.id in ours
                         and raw[c.id].status != "pass" and ours[c.id].status == "pass")
            same = all(raw[c.id].status == ours[c.id].status for c in cases
                       if c.id in ours and c.id in raw and ours[c.id].status != "pass")
            line += (f"** (plain onnxruntime: {raw_pass}). Over all {len(cases)} cases it fails "
                     f"{lost} that plain onnxruntime passes and passes {gained} that plain "
                     f"onnxruntime fails.")
            if same:
                line += (" Every case it does not pass, plain onnxruntime fails the same way: "
                         "an ONNX Runtime limitation, named in the tables at the end.")
        else:
            line += ".**"
        out += [line, ""]
    out += ["## Node cases (`onnx.backend.test.case.node.collect_testcases()`)", ""]

    def status_rows(subset: Sequence[Case]) -> list[list[Any]]:
        rows = []
        for status in STATUSES:
            counts = [sum(1 for c in subset if results[e].get(c.id) and
                          results[e][c.id].status == status) for e in engines]
            if any(counts):
                rows.append([status, *counts])
        rows.append(["**total**", *[sum(1 for c in subset if c.id in results[e])
                                    for e in engines]])
        return rows

    out += _table(["status", *[titles[e] for e in engines]], status_rows(node))
    out += ["", "## All sources", ""]
    rows = []
    for source in SOURCES:
        subset = [c for c in cases if c.source == source]
        if not subset:
            continue
        rows.append([source, len(subset), *[sum(1 for c in subset if c.id in results[e] and
                                                results[e][c.id].status == "pass")
                                            for e in engines]])
    rows.append(["**total**", len(cases), *[sum(1 for r in results[e].values()
                                                if r.status == "pass") for e in engines]])
    out += _table(["source", "cases", *[f"pass: {titles[e]}" for e in engines]], rows)
    out += ["", "Status per source:", ""]
    rows = []
    for source in SOURCES:
        subset = [c for c in cases if c.source == source]
        for e in engines:
            counts = _counts(results[e][c.id] for c in subset if c.id in results[e])
            if subset:
                rows.append([source, titles[e], *[counts[s] for s in STATUSES]])
    out += _table(["source", "engine", *STATUSES], rows)

    if "ours" in results and "raw" in results:
        out += ["", "## ortsession against plain onnxruntime, case by case", "",
                "Rows: the status through ortsession; columns: through plain onnxruntime.", ""]
        cross = collections.Counter((ours[c.id].status, raw[c.id].status) for c in cases
                                    if c.id in ours and c.id in raw)
        raw_statuses = [s for s in STATUSES if any(k[1] == s for k in cross)]
        our_statuses = [s for s in STATUSES if any(k[0] == s for k in cross)]
        out += _table(["ortsession \\ onnxruntime", *raw_statuses],
                      [[s, *[cross[(s, r)] for r in raw_statuses]] for s in our_statuses])

    def feature_rows(attr: str) -> list[list[Any]]:
        rows = []
        values = sorted({f for c in cases for f in getattr(c, attr)})
        for value in values:
            subset = [c for c in cases if value in getattr(c, attr)]
            row: list[Any] = [value, len(subset)]
            for e in engines:
                counts = _counts(results[e][c.id] for c in subset if c.id in results[e])
                row.append(counts["pass"])
                row.append(", ".join(f"{s} {counts[s]}" for s in STATUSES[1:] if counts[s])
                           or "—")
            rows.append(row)
        return rows

    header_tail = [x for e in engines for x in (f"pass: {titles[e]}", f"other: {titles[e]}")]
    out += ["", "## Per element type", "",
            "A case counts for every element type its graph declares (inputs and outputs,",
            "nested types included).", ""]
    out += _table(["element type", "cases", *header_tail], feature_rows("element_types"))
    out += ["", "## Per value kind", "",
            "A case counts for every kind of value it declares, feeds or expects.", ""]
    out += _table(["value kind", "cases", *header_tail], feature_rows("kinds"))

    if "ours" in results:
        failing = [c for c in cases if c.id in ours and ours[c.id].status != "pass"]
        out += ["", "## Cases ortsession does not pass", "",
                f"{len(failing)} cases. `reason` is the ORT limitation behind the status; "
                "`detail` is the first line of the error or difference.", ""]
        rows = []
        for c in failing:
            r = ours[c.id]
            rows.append([f"`{c.id}`", r.status,
                         raw[c.id].status if c.id in raw else "—",
                         _escape(ort_limitation(c.id, r.detail)),
                         _escape(r.detail[:240])])
        out += _table(["case", "ortsession", "onnxruntime", "reason", "detail"], rows, text=True)
    if "raw" in results:
        gained = [c for c in cases if c.id in raw and raw[c.id].status != "pass"
                  and c.id in ours and ours[c.id].status == "pass"]
        out += ["", "## Cases only ortsession passes", "",
                f"{len(gained)} cases that plain onnxruntime fails and ortsession passes "
                "(by plain onnxruntime's status):", ""]
        by_status = collections.defaultdict(list)
        for c in gained:
            by_status[raw[c.id].status].append(c.name)
        for status, names in sorted(by_status.items()):
            out += [f"* **{status}** ({len(names)}): " + ", ".join(f"`{n}`" for n in names)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the conformance cases; return the process exit status.

    The status is 1 when ``ortsession`` raised a non-``OrtError`` exception, crashed, hung,
    or failed a case that plain onnxruntime passes (when both engines ran), else 0.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.conformance.runner",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true",
                        help="every case of every source (default: the fast sample, or every "
                             "case matching --filter)")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"write the report to {DOCS_PATH.relative_to(REPO)}")
    parser.add_argument("--filter", metavar="SUBSTR", help="only case ids containing SUBSTR")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                        help="worker processes (default: the CPU count)")
    parser.add_argument("--engine", choices=["ours", "raw", "both"], default=None,
                        help="ortsession, plain onnxruntime, or both (default: both with "
                             "--full or --write-docs, else ours)")
    parser.add_argument("--raw", action="store_true", help="same as --engine raw")
    parser.add_argument("--source", action="append", choices=SOURCES,
                        help="only these sources (repeatable; default: all)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds per case before it is killed (default: 120)")
    parser.add_argument("--json", metavar="PATH", help="also write every result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every case that does not pass")
    args = parser.parse_args(argv)

    engine = "raw" if args.raw else args.engine or (
        "both" if args.full or args.write_docs else "ours")
    engines = ["ours", "raw"] if engine == "both" else [engine]
    t0 = time.perf_counter()
    cases = collect_cases(args.source or SOURCES, args.filter)
    if not args.full and not args.filter:
        cases = sample_cases(cases)
    print(f"{len(cases)} cases collected in {time.perf_counter() - t0:.1f} s; running on "
          f"{', '.join(engines)} with {args.jobs} worker(s)", flush=True)

    results: dict[str, dict[str, Result]] = {}
    for e in engines:
        done = [0]

        def progress(r: Result, e: str = e, done: list[int] = done) -> None:
            done[0] += 1
            if args.verbose and r.status != "pass":
                print(f"  [{e}] {r.status:11} {r.id}: {r.detail}", flush=True)
            elif done[0] % 250 == 0:
                print(f"  [{e}] {done[0]}/{len(cases)}", flush=True)

        t1 = time.perf_counter()
        res = run_cases(cases, e, jobs=args.jobs, timeout=args.timeout, progress=progress)
        results[e] = {r.id: r for r in res}
        print(f"{e}: {time.perf_counter() - t1:.1f} s", flush=True)
    seconds = time.perf_counter() - t0
    print(summary(cases, results))

    if args.json:
        Path(args.json).write_text(json.dumps(
            {e: [dataclasses.asdict(r) for r in rs.values()] for e, rs in results.items()},
            indent=1))
    if args.write_docs:
        shown = ["python -m tests.conformance.runner", *(argv if argv is not None
                                                         else sys.argv[1:])]
        write_docs(cases, results, " ".join(shown), seconds)
        print(f"wrote {DOCS_PATH}")

    bad = []
    if "ours" in results:
        ours = results["ours"]
        bad += [r for r in ours.values() if r.status in ("exception", "crash", "timeout")]
        if "raw" in results:
            bad += [ours[i] for i, r in results["raw"].items()
                    if r.status == "pass" and ours[i].status != "pass"]
    for r in bad:
        print(f"REGRESSION {r.status}: {r.id}: {r.detail}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
