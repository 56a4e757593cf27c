"""A fast, deterministic sample of the conformance corpus (``runner.sample_cases``), run through
``ortsession`` and through plain onnxruntime, in worker processes.

The full run (every case, ``docs/conformance.md``) is ``make conformance``.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from . import runner


@dataclass
class Sample:
    corpus: list[runner.Case]
    cases: list[runner.Case]
    ours: dict[str, runner.Result]
    raw: dict[str, runner.Result]


@pytest.fixture(scope="module")
def corpus() -> list[runner.Case]:
    return runner.collect_cases()


@pytest.fixture(scope="module")
def sample(corpus: list[runner.Case]) -> Sample:
    cases = runner.sample_cases(corpus)
    ours = runner.run_cases(cases, "ours", jobs=2, timeout=60)
    raw = runner.run_cases(cases, "raw", jobs=2, timeout=60)
    return Sample(corpus, cases, {r.id: r for r in ours}, {r.id: r for r in raw})


def test_the_corpus_is_complete(sample: Sample) -> None:
    from onnx.backend.test.case.node import collect_testcases

    node = [c for c in sample.corpus if c.source == "node"]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = [tc.name for tc in collect_testcases(None)]
    assert [c.name for c in node] == names  # every case of this onnx (1884 in onnx 1.23.2)
    assert {c.source for c in sample.corpus} == set(runner.SOURCES)


def test_the_sample_covers_every_element_type_and_value_kind(sample: Sample) -> None:
    assert 150 <= len(sample.cases) <= 250
    assert {c.source for c in sample.cases} >= set(runner.SOURCES) - {"light"}
    for attr in ("element_types", "kinds"):
        everywhere = {f for c in sample.corpus for f in getattr(c, attr)}
        sampled = {f for c in sample.cases for f in getattr(c, attr)}
        assert sampled == everywhere, f"{attr} missing from the sample: {everywhere - sampled}"
    assert runner.sample_cases(sample.corpus) == sample.cases  # deterministic


def test_every_case_has_a_result_on_both_engines(sample: Sample) -> None:
    ids = [c.id for c in sample.cases]
    assert list(sample.ours) == ids
    assert list(sample.raw) == ids


def test_nothing_but_orterror_escapes_and_nothing_crashes(sample: Sample) -> None:
    bad = {i: f"{r.status}: {r.detail}" for i, r in sample.ours.items()
           if r.status in ("exception", "crash", "timeout")}
    assert not bad


def test_ortsession_passes_wherever_plain_onnxruntime_passes(sample: Sample) -> None:
    lost = {i: f"{sample.ours[i].status}: {sample.ours[i].detail}"
            for i, r in sample.raw.items() if r.status == "pass" and sample.ours[i].status != "pass"}
    assert not lost


def test_ortsession_passes_what_the_raw_binding_cannot_feed_or_return(sample: Sample) -> None:
    unsupported = [i for i, r in sample.raw.items() if r.status == "unsupported"]
    if not unsupported and _older_ort():
        pytest.skip("this onnxruntime rejects every exotic case of the sample at load")
    assert unsupported, "the sample should hold bfloat16/float8/int4 cases"
    failed = {i: f"{sample.ours[i].status}: {sample.ours[i].detail}" for i in unsupported
              if sample.ours[i].status != "pass"}
    assert not failed


def test_every_failure_is_an_onnxruntime_limitation(sample: Sample) -> None:
    for case_id, result in sample.ours.items():
        if result.status == "pass":
            continue
        assert result.status in ("rejected", "mismatch", "error"), (case_id, result)
        assert sample.raw[case_id].status == result.status, (case_id, result,
                                                            sample.raw[case_id])
        assert runner.ort_limitation(case_id, result.detail), (
            f"{case_id} fails ({result.status}: {result.detail}) with no known ORT limitation")


def test_compare_reports_the_first_difference() -> None:
    import numpy as np

    f = np.array([1.0, np.nan, np.inf], np.float32)
    assert runner.compare(f, f.copy(), 1e-3, 1e-7) == ""
    assert "element type" in runner.compare(f, f.astype(np.float64), 1e-3, 1e-7)
    assert "shape" in runner.compare(f[:2], f, 1e-3, 1e-7)
    g = f.copy()
    g[0] = 1.01
    assert "1 of 3 values differ" in runner.compare(g, f, 1e-3, 1e-7)
    assert runner.compare([f, None], [f, None], 1e-3, 1e-7) == ""
    assert "sequence length" in runner.compare([f], [f, f], 1e-3, 1e-7)
    assert "output[1]" in runner.compare([f, f], [f, None], 1e-3, 1e-7)
    assert "map keys" in runner.compare({"a": 1.0}, {"b": 1.0}, 1e-3, 1e-7)
    strings = np.array(["a", "é"], dtype=object)
    assert runner.compare(strings, strings.copy(), 0, 0) == ""
    assert "element 1" in runner.compare(strings, np.array(["a", "e"], dtype=object), 0, 0)


def test_the_model_guard_accepts_every_corpus_model(sample: Sample) -> None:
    from ortsession._prechecks import check_model_bytes

    for case in sample.corpus:
        check_model_bytes(case.model, case.id)


def _older_ort() -> bool:
    from ortsession import _engine

    return tuple(int(p) for p in _engine.ort_version().split(".")[:2]) < (1, 32)


def _cast_model(source: str, target: str, like: bool = False) -> Any:
    from onnx import TensorProto, helper

    source_type, target_type = getattr(TensorProto, source), getattr(TensorProto, target)

    x = helper.make_tensor_value_info("x", source_type, [None])
    y = helper.make_tensor_value_info("y", target_type, [None])
    if like:
        node = helper.make_node("CastLike", ["x", "like"], ["y"])
        inputs = [x, helper.make_tensor_value_info("like", target_type, [1])]
    else:
        node = helper.make_node("Cast", ["x"], ["y"], to=target_type)
        inputs = [x]
    graph = helper.make_graph([node], "cast", inputs, [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)


_PROBE = [0.0, 1.0, -1.0, 1.9, 2.0, 3.0, 3.5, 7.0, 7.5, 8.0, -8.0, -8.5, 15.0, 16.0,
          127.0, 128.0, -129.0, 255.0, 256.0, 1e30, np.nan, np.inf, -np.inf]


@pytest.mark.parametrize(("target", "low", "high"), [
    ("INT4", -8, 7), ("UINT4", 0, 15), ("INT2", -2, 1), ("UINT2", 0, 3), ("INT8", -128, 127),
    ("UINT8", 0, 255), ("INT32", -2**31, 2**31 - 1), ("UINT64", 0, 2**64 - 1),
])
@pytest.mark.parametrize("source", ["FLOAT", "FLOAT16", "DOUBLE", "BFLOAT16"])
@pytest.mark.parametrize("like", [False, True])
def test_float_to_fixed_point_casts_compare_only_in_range_elements(
        target: str, low: int, high: int, source: str, like: bool) -> None:
    import ml_dtypes

    dtypes = {"FLOAT": np.float32, "FLOAT16": np.float16, "DOUBLE": np.float64,
              "BFLOAT16": ml_dtypes.bfloat16}
    model = _cast_model(source, target, like)
    with np.errstate(over="ignore"):
        x = np.array(_PROBE, np.float64).astype(dtypes[source])
    (mask,) = runner.defined_elements(model, [x])
    x64 = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        want = np.isfinite(x64) & (x64 >= low) & (x64 <= high)
    assert mask.tolist() == want.tolist()
    assert mask[0] and mask[1]  # 0 and 1 are in every target's range
    assert not mask[-3:].any()  # NaN and ±inf never are


@pytest.mark.parametrize(("source", "target"), [
    ("FLOAT", "FLOAT16"), ("FLOAT", "FLOAT8E4M3FN"), ("FLOAT", "BOOL"), ("INT32", "INT4"),
    ("INT64", "INT8"), ("UINT8", "INT2"), ("FLOAT4E2M1", "FLOAT"),
])
def test_defined_casts_compare_every_element(source: str, target: str) -> None:
    model = _cast_model(source, target)
    assert runner.defined_elements(model, [np.zeros(3)]) == [None]


def test_other_graphs_compare_every_element() -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])
    y = helper.make_tensor_value_info("y", TensorProto.INT8, [None])
    graph = helper.make_graph([helper.make_node("Cast", ["x"], ["c"], to=TensorProto.INT8),
                               helper.make_node("Neg", ["c"], ["y"])], "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    assert runner.defined_elements(model, [np.array([1e9], np.float32)]) == [None]


def test_compare_with_a_mask_skips_only_the_undefined_elements() -> None:
    import ml_dtypes

    mask = np.array([True, True, False, False])
    ref = np.array([1, 7, -8, 0], ml_dtypes.int4)
    other = np.array([1, 7, 0, 7], ml_dtypes.int4)  # differs only where undefined
    assert runner.compare(other, ref, 0, 0, "output 0", mask) == ""
    assert "values differ" in runner.compare(other, ref, 0, 0, "output 0")
    wrong = np.array([1, 6, 0, 7], ml_dtypes.int4)  # differs where defined too
    assert "in-range elements only" in runner.compare(wrong, ref, 0, 0, "output 0", mask)
    assert "element type" in runner.compare(other.astype(np.int8), ref, 0, 0, "o", mask)
    assert "shape" in runner.compare(other[:3], ref, 0, 0, "o", mask)
    with pytest.raises(ValueError, match="mask shape"):
        runner.compare(other, ref, 0, 0, "o", mask[:3])


def _wrap(x: np.ndarray, low: int, high: int) -> np.ndarray:
    span = high - low + 1
    t = np.trunc(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)).astype(np.int64)
    return (t - low) % span + low


@pytest.mark.parametrize("name", [
    "test_cast_FLOAT_to_INT4", "test_cast_FLOAT16_to_UINT4", "test_cast_FLOAT_to_INT2",
    "test_castlike_FLOAT_to_UINT2_expanded", "test_castlike_FLOAT16_to_INT4",
])
@pytest.mark.parametrize("reference", ["wraps", "zero", "saturates"])
def test_corpus_casts_pass_whatever_the_reference_puts_out_of_range(
        corpus: list[runner.Case], name: str, reference: str) -> None:
    """The corpus' expected values out of range changed with ml_dtypes 0.7 (0.6 wraps, 0.7
    gives 0): any such choice passes, and a changed in-range value still fails."""
    (case,) = [c for c in corpus if c.id == f"node/{name}"]
    assert case.undefined_elements > 0
    as_is = runner.run_case(case, "ours")
    if as_is.status == "rejected" and runner.ort_limitation(case.id, as_is.detail):
        pytest.skip(f"this onnxruntime rejects the case: {as_is.detail}")
    inputs, expected = case.data_sets[0]
    (mask,) = case.defined[0]
    ref = expected[0]
    low, high = runner._fixed_point_range(
        {"int4": 22, "uint4": 21, "int2": 26, "uint2": 25}[ref.dtype.name])
    x = np.asarray(next(iter(inputs.values())), np.float64)
    fake = {"wraps": _wrap(x, low, high), "zero": np.zeros(x.shape, np.int64),
            "saturates": np.clip(np.nan_to_num(x, nan=0.0), low, high)}[reference]
    changed = ref.astype(np.int64)
    changed[~mask] = fake[~mask].astype(np.int64)
    result = runner.run_case(dataclasses.replace(
        case, data_sets=[(inputs, [changed.astype(ref.dtype)])]), "ours")
    assert result.status == "pass", result.detail
    broken = changed.copy()
    first = int(np.flatnonzero(mask)[0])
    broken.flat[first] = low if broken.flat[first] != low else high
    result = runner.run_case(dataclasses.replace(
        case, data_sets=[(inputs, [broken.astype(ref.dtype)])]), "ours")
    assert result.status == "mismatch"
    assert "in-range elements only" in result.detail
