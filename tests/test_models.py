"""The test-suite model builders (``tests/models.py``), the bundled models and their generator.

Everything here runs in *plain* ONNX Runtime, so that a failure points at a model, not at
ortsession.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort  # noqa: TID251 - the builders are checked against plain ORT
import pytest
from onnx import TensorProto
from onnxruntime.capi import _pybind_state as C  # noqa: TID251

import models
from ortsession import NotFoundError, _engine
from ortsession import models as bundled
from ortsession._types import element_type

REPO_ROOT = Path(__file__).resolve().parents[1]
MAKE_MODELS = REPO_ROOT / "tools" / "make_models.py"
TP = TensorProto
CPU = C.OrtDevice(C.OrtDevice.cpu(), C.OrtDevice.default_memory(), 0)


def session(model: bytes | str | Path, **options: Any) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    for key, value in options.items():
        setattr(so, key, value)
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])


def type_name(elem_type: int) -> str:
    return TP.DataType.Name(elem_type)


# --------------------------------------------------------------------------------------------
# element types


def _pattern(elem_type: int, nbytes: int) -> bytes:
    if elem_type == TP.BOOL:
        return bytes(i % 2 for i in range(nbytes))
    return bytes(i % 256 for i in range(nbytes))


@pytest.mark.parametrize(
    "elem_type", [t for t in models.passthrough_elem_types() if t != TP.STRING], ids=type_name
)
def test_identity_copies_every_bit_pattern(elem_type: int) -> None:
    name_out = "x" if elem_type == TP.FLOAT4E2M1 else "y"
    if name_out == "y" and not models.ort_loads(elem_type):  # e.g. no Cast of int4 before 1.2x
        pytest.skip(f"onnxruntime {ort.__version__} has no kernel to copy {type_name(elem_type)}")
    sess = session(models.identity(elem_type, shape=(16, 16), name_out=name_out))
    value = C.OrtValue.ortvalue_from_shape_and_onnx_type([16, 16], elem_type, CPU)
    bits = element_type(elem_type).bits
    nbytes = _engine.tensor_size_in_bytes(value, bits)  # OrtValue's own method is 1.23+
    data = _pattern(elem_type, nbytes)
    ctypes.memmove(value.data_ptr(), data, nbytes)
    (out,) = sess._sess.run_with_ort_values({"x": value}, [name_out], ort.RunOptions())
    assert out.shape() == [16, 16]
    assert out.data_type() == value.data_type()
    assert ctypes.string_at(out.data_ptr(), _engine.tensor_size_in_bytes(out, bits)) == data


def test_identity_strings() -> None:
    sess = session(models.identity(TP.STRING))
    x = np.array([["a", "", "é"], ["long " * 20, "\x00?", "z"]], dtype=object)
    (y,) = sess.run(["y"], {"x": x})
    assert y.tolist() == x.tolist()


@pytest.mark.parametrize("elem_type", [TP.FLOAT, TP.INT4, TP.FLOAT8E8M0, TP.INT2], ids=type_name)
def test_identity_signature(elem_type: int) -> None:
    if not models.ort_loads(elem_type):
        pytest.skip(f"onnxruntime {ort.__version__} does not know {type_name(elem_type)}")
    sess = session(models.identity(elem_type, shape=("B", 5), name_in="in", name_out="out"))
    (inp,) = sess.get_inputs()
    (out,) = sess.get_outputs()
    assert (inp.name, inp.shape) == ("in", ["B", 5])
    assert (out.name, out.shape) == ("out", ["B", 5])
    assert inp.type == out.type == f"tensor({type_name(elem_type).lower()})"


def test_supported_types_are_all_but_float4_complex_float6() -> None:
    supported = set(models.supported_elem_types())
    passthrough = set(models.passthrough_elem_types())
    unsupported = set(models.unsupported_elem_types())
    assert not [t for t in passthrough - supported
                if models.IDENTITY_RECIPES[t][1] != "passthrough" and models.ort_loads(t)]
    never = {getattr(TP, n) for n in ("COMPLEX64", "COMPLEX128", "FLOAT6E2M3", "FLOAT6E3M2")
             if hasattr(TP, n)}  # (the float6 types are onnx 1.23+)
    assert unsupported >= never
    assert passthrough | unsupported == set(TP.DataType.values()) - {TP.UNDEFINED}
    if tuple(int(p) for p in ort.__version__.split(".")[:2]) >= (1, 32):  # exactly, in 1.32
        assert passthrough - supported == {TP.FLOAT4E2M1}
        assert unsupported == never


def test_float4_needs_a_passthrough() -> None:
    with pytest.raises(ValueError, match="passthrough"):
        models.identity(TP.FLOAT4E2M1)


@pytest.mark.parametrize("elem_type", models.unsupported_elem_types(), ids=type_name)
def test_unsupported_types_are_rejected_by_ort(elem_type: int) -> None:
    # (onnxruntime before 1.32 says "Invalid tensor data type 27", and older ones lack kernels
    # or IR versions for int4/int2/float4/float8e8m0)
    rejected = (r"(?i)not currently registered|invalid|Type Error|could not find an "
                r"implementation|no kernel for|unsupported model IR version")
    with pytest.raises(Exception, match=rejected):
        session(models.identity(elem_type))
    with pytest.raises(Exception, match=rejected):
        session(models.identity(elem_type, name_out="x"))


# --------------------------------------------------------------------------------------------
# tensor models


def test_add() -> None:
    sess = session(models.add())
    assert [i.name for i in sess.get_inputs()] == ["x", "bias"]
    assert [(o.name, o.shape) for o in sess.get_outputs()] == [("y", [1, 2])]
    x = np.array([[1.0, 2.0]], np.float32)
    bias = np.array([[0.5, -0.5]], np.float32)
    (y,) = sess.run(None, {"x": x, "bias": bias})
    assert y.tolist() == [[1.5, 1.5]]
    (y,) = session(models.add((3,))).run(
        None, {"x": np.ones(3, np.float32), "bias": np.ones(3, np.float32)}
    )
    assert y.tolist() == [2.0, 2.0, 2.0]


def test_symbolic() -> None:
    sess = session(models.symbolic("batch"))
    assert sess.get_inputs()[0].shape == ["batch", 3]
    assert sess.get_outputs()[0].shape == ["batch", 3]
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    (y,) = sess.run(None, {"x": x})
    np.testing.assert_array_equal(y, 2 * x)


def test_symbolic_dimension_has_a_denotation() -> None:
    so = ort.SessionOptions()
    so.add_free_dimension_override_by_denotation("DATA_BATCH", 5)
    sess = ort.InferenceSession(models.symbolic(), so, providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [5, 3]


def test_two_outputs() -> None:
    sess = session(models.two_outputs())
    assert [(o.name, o.type) for o in sess.get_outputs()] == [
        ("y", "tensor(float)"),
        ("shape", "tensor(int64)"),
    ]
    y, shape = sess.run(None, {"x": np.zeros((2, 3), np.float32)})
    assert y.tolist() == [[1.0] * 3] * 2
    assert shape.tolist() == [2, 3]


def test_with_overridable_initializer() -> None:
    sess = session(models.with_overridable_initializer())
    assert [i.name for i in sess.get_inputs()] == ["x"]
    assert [(i.name, i.shape) for i in sess.get_overridable_initializers()] == [("bias", [1, 2])]
    x = np.array([[1.0, 2.0]], np.float32)
    assert sess.run(None, {"x": x})[0].tolist() == [[1.5, 1.5]]
    bias = np.full((1, 2), 10.0, np.float32)
    assert sess.run(None, {"x": x, "bias": bias})[0].tolist() == [[11.0, 12.0]]


def test_string_model() -> None:
    sess = session(models.string_model())
    y, upper = sess.run(None, {"x": np.array(["abc", "Hello wOrld"], dtype=object)})
    assert y.tolist() == ["abc", "Hello wOrld"]
    assert upper.tolist() == ["ABC", "HELLO WORLD"]


def test_sparse_initializer_model() -> None:
    assert (
        len(onnx.load_from_string(models.sparse_initializer_model()).graph.sparse_initializer) == 1
    )
    sess = session(models.sparse_initializer_model())
    (y,) = sess.run(None, {"x": np.ones((2, 3), np.float32)})
    assert y.tolist() == [[1.0, 6.0, 1.0], [1.0, 1.0, 0.0]]


# --------------------------------------------------------------------------------------------
# non-tensor values


def test_sequence_model() -> None:
    sess = session(models.sequence_model())
    assert [i.type for i in sess.get_inputs()] == ["seq(tensor(float))", "tensor(float)"]
    assert [o.name for o in sess.get_outputs()] == ["appended", "length", "last", "pair"]
    x = np.array([3.0, 4.0, 5.0], np.float32)
    first = np.array([1.0, 2.0], np.float32)
    appended, length, last, pair = sess.run(None, {"seq": [first], "x": x})
    models.assert_values_close(appended, [first, x])
    assert int(length) == 2
    models.assert_values_close(last, x)
    models.assert_values_close(pair, [x, x])
    appended, length, _, _ = sess.run(None, {"seq": [], "x": x})
    models.assert_values_close(appended, [x])
    assert int(length) == 1


@pytest.mark.parametrize(
    ("keys", "features", "zipped"),
    [
        ("string", {"a": 1.0, "c": 3.0}, {"a": 1.0, "b": 0.0, "c": 3.0}),
        ("int64", {10: 1.0, 30: 3.0}, {10: 1.0, 20: 0.0, 30: 3.0}),
    ],
)
def test_map_model(keys: str, features: dict[Any, float], zipped: dict[Any, float]) -> None:
    sess = session(models.map_model(keys))  # type: ignore[arg-type]
    key = "string" if keys == "string" else "int64"
    assert sess.get_inputs()[0].type == f"map({key},tensor(float))"
    assert sess.get_outputs()[1].type == f"seq(map({key},tensor(float)))"
    vector, maps = sess.run(None, {"features": features})
    assert vector.tolist() == [[1.0, 0.0, 3.0]]
    assert maps == [zipped]


def test_map_model_rejects_other_keys() -> None:
    with pytest.raises(ValueError, match="keys"):
        models.map_model("float")  # type: ignore[arg-type]


def test_sklearn_classifier() -> None:
    sess = session(models.sklearn_classifier())
    assert [(i.name, i.shape) for i in sess.get_inputs()] == [("input", [None, 4])]
    assert [(o.name, o.type) for o in sess.get_outputs()] == [
        ("output_label", "tensor(int64)"),
        ("output_probability", "seq(map(int64,tensor(float)))"),
    ]
    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], np.float32)
    labels, probabilities = sess.run(None, {"input": x})
    assert labels.tolist() == [0, 2]
    assert [sorted(p) for p in probabilities] == [[0, 1, 2], [0, 1, 2]]
    assert [max(p, key=p.__getitem__) for p in probabilities] == [0, 2]
    assert all(abs(sum(p.values()) - 1.0) < 1e-5 for p in probabilities)


def test_optional_model() -> None:
    sess = session(models.optional_model())
    assert sess.get_inputs()[0].type == "optional(tensor(float))"
    assert sess.get_outputs()[2].type == "optional(tensor(float))"
    x = np.array([1.0, 2.0], np.float32)
    has_element, value, passthrough = sess.run(None, {"opt": x})
    assert bool(has_element) is True
    assert value.tolist() == [1.0, 2.0]
    assert passthrough.tolist() == [1.0, 2.0]
    for feeds in ({}, {"opt": None}):
        has_element, value, passthrough = sess.run(None, feeds)
        assert bool(has_element) is False
        assert value.shape == (0,)
        assert passthrough is None


# --------------------------------------------------------------------------------------------
# behaviour


def test_slow_model_small_iteration_count_matches_numpy() -> None:
    sess = session(models.slow_model(0.5), intra_op_num_threads=1)
    assert [i.name for i in sess.get_overridable_initializers()] == ["iterations"]
    w = onnx.numpy_helper.to_array(
        next(
            i
            for i in onnx.load_from_string(models.slow_model(0.5)).graph.initializer
            if i.name == "w"
        )
    )
    x = np.eye(models.SLOW_SIZE, dtype=np.float32)
    (y,) = sess.run(None, {"x": x, "iterations": np.array(3, np.int64)})
    expected = x
    for _ in range(3):
        expected = np.tanh(expected @ w)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


def test_slow_model_takes_seconds_and_terminates_promptly() -> None:
    sess = session(models.slow_model(2.0), intra_op_num_threads=1)
    x = np.ones((models.SLOW_SIZE, models.SLOW_SIZE), np.float32)
    start = time.perf_counter()
    sess.run(None, {"x": x})
    elapsed = time.perf_counter() - start
    assert 0.4 < elapsed < 12, elapsed

    run_options = ort.RunOptions()
    timer = threading.Timer(0.2, lambda: setattr(run_options, "terminate", True))
    timer.start()
    start = time.perf_counter()
    with pytest.raises(Exception, match="terminate"):
        sess.run(None, {"x": x}, run_options)
    timer.join()
    assert time.perf_counter() - start < min(1.5, elapsed / 2)


def test_custom_op_model_needs_the_library() -> None:
    data = models.custom_op_model()
    with pytest.raises(Exception, match="StringUpper"):
        session(data)
    so = ort.SessionOptions()
    so.register_custom_ops_library(models.custom_op_library_path())
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"x": np.array(["abc", "Hello wOrld"], dtype=object)})
    assert y.tolist() == ["ABC", "HELLO WORLD"]


BAD_MODEL_MESSAGES = {
    "empty": "No graph was found",
    "garbage": "protobuf parsing failed",
    "truncated": "protobuf parsing failed",
    "unknown_op": "NoSuchOp",
    "unsupported_opset": "opset",
    "unsupported_ir_version": "IR version|ir_version|Unsupported model",
    "invalid_graph": "nowhere",
}


def test_bad_models_names() -> None:
    assert set(models.bad_models()) == set(BAD_MODEL_MESSAGES)


@pytest.mark.parametrize("name", sorted(BAD_MODEL_MESSAGES))
def test_bad_models_are_rejected(name: str) -> None:
    with pytest.raises(Exception, match=BAD_MODEL_MESSAGES[name]):
        session(models.bad_models()[name])


def test_builders_are_deterministic() -> None:
    for build in (models.add, models.sequence_model, models.optional_model, models.bad_models):
        assert build() == build()


# --------------------------------------------------------------------------------------------
# onnx backend test data


def test_backend_data_dir() -> None:
    root = models.backend_data_dir()
    assert (root / "light").is_dir()
    assert all((root / kind).is_dir() for kind in models.BACKEND_KINDS)


@pytest.mark.parametrize("name", models.light_model_names())
def test_light_model(name: str) -> None:
    path, inputs, expected = models.light_model(name)
    assert path.is_file()
    sess = session(path)
    feeds = {i.name: value for i, value in zip(sess.get_inputs(), inputs, strict=True)}
    rtol, atol = models.light_model_tolerance(name)
    for got, want in zip(sess.run(None, feeds), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def test_light_models_include_the_benchmark_ones() -> None:
    assert {"resnet50", "densenet121"} <= set(models.light_model_names())
    path, inputs, outputs = models.light_model("light_resnet50")
    assert path.name == "light_resnet50.onnx"
    assert [i.shape for i in inputs] == [(1, 3, 224, 224)]
    assert [o.shape for o in outputs] == [(1, 1000)]
    with pytest.raises(ValueError, match="no light model"):
        models.light_model("nope")


@pytest.mark.parametrize("kind", models.BACKEND_KINDS)
def test_node_test_dirs(kind: str) -> None:
    cases = list(models.node_test_dirs(kind))
    assert len(cases) > 20
    for case in cases:
        known = models.BACKEND_KNOWN_FAILURES.get(case.name)
        data_sets = case.data_sets()
        assert data_sets, case.name
        try:
            sess = session(case.model_path)
        except Exception:
            assert known, f"{case.name} should load"
            continue
        assert not known or case.name in models.BACKEND_LOCALE_DEPENDENT, (
            f"{case.name} now loads: drop it from BACKEND_KNOWN_FAILURES"
        )
        names = [i.name for i in sess.get_inputs()]
        for inputs, expected in data_sets:
            try:
                got = sess.run(None, dict(zip(names, inputs, strict=True)))
            except Exception as exc:  # older ORTs meet the missing locale at run, not at load
                if "Failed to construct locale" in str(exc):  # (even without a case change)
                    break
                raise
            models.assert_values_close(got, expected, rtol=1e-3, atol=1e-5, where=case.name)


def test_node_test_dirs_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        next(models.node_test_dirs("node"))


def test_assert_values_close() -> None:
    models.assert_values_close([{"a": np.float32(1)}, None], [{"a": 1.0}, None])
    with pytest.raises(AssertionError, match=r"v\[0\]\['a'\]"):
        models.assert_values_close([{"a": 2.0}], [{"a": 1.0}], where="v")
    with pytest.raises(AssertionError, match="shape"):
        models.assert_values_close(np.zeros(2), np.zeros(3))


# --------------------------------------------------------------------------------------------
# bundled models


def test_bundled_names_and_paths() -> None:
    assert bundled.names() == ["demo/classifier.onnx", "demo/detector.onnx", "demo/model.onnx",
                              "demo/recognizer.onnx"]
    for name in bundled.names():
        path = Path(bundled.path(name))
        assert path.is_absolute()
        assert path.is_file()
    with pytest.raises(NotFoundError, match=r"demo/model\.onnx"):
        bundled.path("demo/nope.onnx")
    with pytest.raises(KeyError):
        bundled.path("../models/demo/model.onnx")


def test_bundled_demo_model(demo_model_path: str) -> None:
    sess = session(demo_model_path)
    assert [(i.name, i.type, i.shape) for i in sess.get_inputs()] == [
        ("x", "tensor(float)", [1, 2]),
        ("bias", "tensor(float)", [1, 2]),
    ]
    assert [(o.name, o.shape) for o in sess.get_outputs()] == [("y", [1, 2])]
    x = np.array([[1.0, 2.0]], np.float32)
    bias = np.array([[0.5, -0.5]], np.float32)
    assert sess.run(["y"], {"x": x, "bias": bias})[0].tolist() == [[1.5, 1.5]]
    meta = sess.get_modelmeta()
    assert meta.producer_name == "ortsession"
    assert meta.graph_name == "demo_add"
    assert meta.graph_description
    assert meta.description
    assert meta.domain == "org.ortsession.demo"
    assert meta.version == 1
    assert meta.custom_metadata_map["author"] == "ortsession developers"


def test_bundled_classifier() -> None:
    path = bundled.path("demo/classifier.onnx")
    sess = session(path)
    (inp,) = sess.get_inputs()
    (out,) = sess.get_outputs()
    assert (inp.name, inp.type, inp.shape) == ("input", "tensor(float)", ["N", 4])
    assert (out.name, out.type, out.shape) == ("probabilities", "tensor(float)", ["N", 3])
    x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [-1, 2, -3, 4]], np.float32)
    (p,) = sess.run(None, {"input": x})
    assert p.shape == (3, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert len(set(p.argmax(axis=1).tolist())) > 1, "the classifier should not be constant"
    so = ort.SessionOptions()
    so.add_free_dimension_override_by_denotation("DATA_BATCH", 7)
    fixed = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    assert fixed.get_inputs()[0].shape == [7, 4]
    meta = sess.get_modelmeta()
    assert meta.producer_name == "ortsession"
    assert meta.graph_name == "tiny_mlp"
    assert meta.custom_metadata_map["classes"] == "0,1,2"


def test_bundled_models_use_ir10_opset21() -> None:
    for name in bundled.names():
        model = onnx.load(bundled.path(name))
        assert model.ir_version == 10
        assert [(o.domain, o.version) for o in model.opset_import] == [("", 21)]
        onnx.checker.check_model(model, full_check=True)


def _make_models(out_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAKE_MODELS), "--out-dir", str(out_dir), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_make_models_is_deterministic_and_matches_the_committed_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = _make_models(out)
        assert result.returncode == 0, result.stderr
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*.onnx"))
    assert names == bundled.names()
    for name in names:
        data = (first / name).read_bytes()
        assert data == (second / name).read_bytes(), name
        assert data == Path(bundled.path(name)).read_bytes(), (
            f"{name} is stale: run python tools/make_models.py"
        )
    assert _make_models(first, "--check").returncode == 0
    (first / "demo" / "model.onnx").write_bytes(b"stale")
    stale = _make_models(first, "--check")
    assert stale.returncode == 1
    assert "demo/model.onnx" in stale.stderr
