"""Session building (``ortsession._builder``): each option reaches ORT, fallback, load errors."""

from __future__ import annotations

import ctypes.util
import inspect
import json
import os
import pathlib
import re
from typing import Any

import numpy as np
import onnx
import onnxruntime_extensions
import pytest
from onnx import TensorProto, helper

from ortsession import (
    CustomOpLibraryError,
    ModelLoadError,
    OptionError,
    ProviderError,
    ProviderFallbackWarning,
    _config,
    _engine,
    load_custom_op_library,
)
from ortsession._builder import BuiltSession, build_session, provider_options_for
from ortsession._options import parse_session_options

C = _engine.C
CPU = "CPUExecutionProvider"
COREML = "CoreMLExecutionProvider"
EXTENSIONS = onnxruntime_extensions.get_library_path()


# --- tiny models ---------------------------------------------------------------------------------


def _model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
           outputs: list[onnx.ValueInfoProto], *, opset: int = 21,
           domains: tuple[str, ...] = ()) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    return helper.make_model(graph, opset_imports=imports, ir_version=10).SerializeToString()


def add_model(dims: tuple[int | str, ...] = ("N", 2), denotation: str | None = None) -> bytes:
    """``y = x + bias``, the reference's demo model, with symbolic dimensions."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(dims))
    bias = helper.make_tensor_value_info("bias", TensorProto.FLOAT, list(dims))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(dims))
    if denotation is not None:
        for info in (x, bias, y):
            info.type.tensor_type.shape.dim[0].denotation = denotation
    return _model([helper.make_node("Add", ["x", "bias"], ["y"])], [x, bias], [y])


def unary_model(op: str, elem: int = TensorProto.FLOAT, *, domain: str = "",
                dims: tuple[int, ...] = (2,), opset: int = 21) -> bytes:
    x = helper.make_tensor_value_info("x", elem, list(dims))
    y = helper.make_tensor_value_info("y", elem, list(dims))
    node = helper.make_node(op, ["x"], ["y"], domain=domain)
    return _model([node], [x], [y], opset=opset, domains=(domain,) if domain else ())


def inverse_model() -> bytes:
    """A model using ``ai.onnx.contrib::Inverse`` from onnxruntime-extensions."""
    return unary_model("Inverse", domain="ai.onnx.contrib", dims=(2, 2))


def build(model: str | bytes | os.PathLike[str] | None = None, opts: dict[str, Any] | None = None,
          **fields: Any) -> BuiltSession:
    return build_session(add_model() if model is None else model,
                         parse_session_options(opts, fields))


@pytest.fixture
def model_path(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "add.onnx"
    path.write_bytes(add_model())
    return path


def run_add(built: BuiltSession, rows: int = 1) -> np.ndarray[Any, Any]:
    x = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
    (y,) = built.ort.run(["y"], {"x": x, "bias": np.ones_like(x)}, None)
    result: np.ndarray[Any, Any] = y
    return result


# --- defaults and each option read back from ORT --------------------------------------------------


def test_defaults(model_path: pathlib.Path) -> None:
    built = build(str(model_path))
    assert built.providers == (CPU,)
    assert built.fallback_reason is None
    so = built.ort.session_options
    assert so.graph_optimization_level == C.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert so.execution_mode == C.ExecutionMode.ORT_SEQUENTIAL
    assert so.enable_profiling is False
    assert getattr(so, "use_per_session_threads", True) is True  # (the attribute is 1.23+)
    np.testing.assert_array_equal(run_add(built), [[1.0, 2.0]])


def test_path_like_and_bytes_like_models(model_path: pathlib.Path) -> None:
    assert build(model_path).providers == (CPU,)
    data = add_model()
    assert build(bytearray(data)).providers == (CPU,)
    assert build(memoryview(data)).providers == (CPU,)


READ_BACK: list[tuple[dict[str, Any], str, Any]] = [
    ({"intra_op_num_threads": 2}, "intra_op_num_threads", 2),
    ({"inter_op_num_threads": 3}, "inter_op_num_threads", 3),
    ({"log_id": "my-session"}, "logid", "my-session"),
    ({"session_log_severity_level": 3}, "log_severity_level", _engine.log_severity(3)),
    ({"session_log_verbosity_level": 1}, "log_verbosity_level", 1),
    ({"graph_optimization_level": "disable"}, "graph_optimization_level",
     C.GraphOptimizationLevel.ORT_DISABLE_ALL),
    ({"graph_optimization_level": "basic"}, "graph_optimization_level",
     C.GraphOptimizationLevel.ORT_ENABLE_BASIC),
    ({"graph_optimization_level": "extended"}, "graph_optimization_level",
     C.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
    ({"graph_optimization_level": "all"}, "graph_optimization_level",
     C.GraphOptimizationLevel.ORT_ENABLE_ALL),
    ({"execution_mode": "parallel"}, "execution_mode", C.ExecutionMode.ORT_PARALLEL),
    ({"execution_mode": "sequential"}, "execution_mode", C.ExecutionMode.ORT_SEQUENTIAL),
    ({"deterministic_compute": True}, "use_deterministic_compute", True),
    ({"enable_cpu_mem_arena": False}, "enable_cpu_mem_arena", False),
    ({"enable_mem_pattern": False}, "enable_mem_pattern", False),
]


@pytest.mark.parametrize(("opts", "attribute", "expected"), READ_BACK,
                         ids=[f"{a}={e}" for _, a, e in READ_BACK])
def test_option_reaches_ort(opts: dict[str, Any], attribute: str, expected: Any) -> None:
    built = build(None, opts)
    assert getattr(built.ort.session_options, attribute) == expected
    np.testing.assert_array_equal(run_add(built), [[1.0, 2.0]])


def test_config_entries_reach_ort() -> None:
    built = build(config_entries={"session.intra_op.allow_spinning": "0",
                                  "session.use_env_allocators": "0"})
    so = built.ort.session_options
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert so.get_session_config_entry("session.use_env_allocators") == "0"


def test_free_dimension_override_by_name_fixes_the_shape() -> None:
    assert build().ort.inputs_meta[0].shape == ["N", 2]
    built = build(free_dimension_overrides=[{"by": "name", "key": "N", "value": 3}])
    assert built.ort.inputs_meta[0].shape == [3, 2]
    assert run_add(built, rows=3).shape == (3, 2)


def test_free_dimension_override_by_denotation_fixes_the_shape() -> None:
    model = add_model(denotation="DATA_BATCH")
    built = build(model, free_dimension_overrides=[{"by": "denotation", "key": "DATA_BATCH",
                                                    "value": 4}])
    assert built.ort.inputs_meta[0].shape == [4, 2]


def test_optimized_model_path_writes_a_loadable_model(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "optimized.onnx"
    build(optimized_model_path=target, graph_optimization_level="basic")
    assert target.stat().st_size > 0
    np.testing.assert_array_equal(run_add(build(str(target))), [[1.0, 2.0]])


def test_profiling_writes_a_json_file(tmp_path: pathlib.Path) -> None:
    prefix = tmp_path / "prof"
    built = build(profile_file_prefix=prefix)
    assert built.ort.session_options.enable_profiling is True
    run_add(built)
    path = pathlib.Path(built.ort.end_profiling())
    assert path.name.startswith("prof") and path.suffix == ".json"
    assert path.parent == tmp_path
    events = json.loads(path.read_text())
    assert any(event.get("cat") == "Session" for event in events)


@pytest.mark.parametrize("field", ["optimized_model_path", "profile_file_prefix"])
def test_output_directory_must_exist(tmp_path: pathlib.Path, field: str) -> None:
    target = tmp_path / "missing" / "out"
    with pytest.raises(OptionError, match=f"session option '{field}': directory .*missing"):
        build(None, {field: target})


def test_disable_per_session_threads_needs_global_pools() -> None:
    if _config.global_thread_pools_enabled():
        pytest.skip("this process runs on global thread pools")
    with pytest.raises(OptionError, match=r"configure\(use_global_thread_pools=True\)"):
        build(disable_per_session_threads=True)


# --- providers -----------------------------------------------------------------------------------


def test_fallback_from_a_missing_provider_warns_and_says_why() -> None:
    if COREML in _engine.available_providers():
        pytest.skip("this build has CoreML")
    options = parse_session_options({"providers": ["coreml", "cpu"], "fallback_to_cpu": True,
                                     "coreml_compute_units": "all"})
    line = inspect.currentframe().f_lineno + 2  # type: ignore[union-attr]
    with pytest.warns(ProviderFallbackWarning, match="'coreml' is not available") as record:
        built = build_session(add_model(), options)
    assert len(record) == 1
    assert (record[0].filename, record[0].lineno) == (__file__, line)
    assert built.providers == (CPU,)
    assert built.fallback_reason is not None
    assert "'coreml' is not available in this ONNX Runtime build" in built.fallback_reason
    assert "available: " in built.fallback_reason
    np.testing.assert_array_equal(run_add(built), [[1.0, 2.0]])


def test_fallback_is_the_default() -> None:
    with pytest.warns(ProviderFallbackWarning, match="'cuda'"):
        built = build(providers="cuda")
    assert built.providers == (CPU,)


def test_missing_provider_without_fallback_is_a_provider_error() -> None:
    if COREML in _engine.available_providers():
        pytest.skip("this build has CoreML")
    with pytest.raises(ProviderError, match="execution provider 'coreml' is not available") as info:
        build(providers=["coreml", "cpu"], fallback_to_cpu=False)
    assert "fallback_to_cpu=True" in str(info.value)


def test_available_provider_is_used_without_warning() -> None:
    if "AzureExecutionProvider" not in _engine.available_providers():
        pytest.skip("this build has no Azure provider")
    built = build(providers=["azure", "cpu"])
    assert built.providers == ("AzureExecutionProvider", CPU)
    assert built.fallback_reason is None


def test_provider_options_for_each_provider() -> None:
    options = parse_session_options(None, {
        "providers": ["coreml", "azure", "cpu"],
        "coreml_flags": 0x010,
        "provider_options": {"coreml": {"SpecializationStrategy": "FastPrediction"},
                             "cpu": {"some_key": 1}},
    })
    assert provider_options_for(options, options.providers) == [
        {"MLComputeUnits": "ALL", "ModelFormat": "MLProgram", "RequireStaticInputShapes": "0",
         "EnableOnSubgraphs": "0", "SpecializationStrategy": "FastPrediction"},
        {},
        {"some_key": "1"},
    ]


def test_cpu_provider_options_reach_ort() -> None:
    built = build(provider_options={"cpu": {"key": "value"}})
    assert CPU in built.ort.get_provider_options()


def test_kernel_missing_on_cpu_is_a_model_error() -> None:
    with pytest.raises(ModelLoadError,
                       match=r"cannot create a session for model <bytes>: Could not find an "
                             r"implementation for Relu"):
        build(unary_model("Relu", TensorProto.INT16))


def test_initialisation_failure_with_another_provider_is_told_apart_from_the_model() -> None:
    if "AzureExecutionProvider" not in _engine.available_providers():
        pytest.skip("this build has no Azure provider")
    # The model itself cannot run on CPU: not a provider failure, so no fallback and no warning.
    for fallback in (True, False):
        with pytest.raises(ModelLoadError, match="Could not find an implementation for Relu"):
            build(unary_model("Relu", TensorProto.INT16), providers=["azure", "cpu"],
                  fallback_to_cpu=fallback)


# --- model loading errors ------------------------------------------------------------------------


def test_missing_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nope.onnx"
    with pytest.raises(ModelLoadError) as info:
        build(str(path))
    assert str(info.value) == f"cannot load model '{path}': no such file"


def test_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ModelLoadError, match="is a directory, not a model file"):
        build(str(tmp_path))


def test_empty_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    with pytest.raises(ModelLoadError) as info:
        build(path)
    assert str(info.value) == f"cannot load model '{path}': the file is empty"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads every file")
def test_unreadable_file(model_path: pathlib.Path) -> None:
    model_path.chmod(0)
    with pytest.raises(ModelLoadError, match="cannot read it"):
        build(model_path)


def test_garbage_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x00\xffnot a model at all")
    with pytest.raises(ModelLoadError) as info:
        build(path)
    assert str(info.value) == f"cannot load model '{path}': Protobuf parsing failed"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "cannot load model <bytes>: the model bytes are empty"),
        (b"\x00\xffgarbage", "cannot load model <bytes>: not a valid ONNX model: field number 0"),
        (add_model()[: len(add_model()) // 2],
         "cannot load model <bytes>: not a valid ONNX model: .*past the end"),
        (unary_model("NoSuchOp"), "cannot load model <bytes>: .*No Op registered for NoSuchOp"),
        (unary_model("Relu", opset=99), "cannot load model <bytes>: .*Opset 99"),
        (inverse_model(), "cannot load model <bytes>: .*ai.onnx.contrib:Inverse"),
    ],
    ids=["empty", "garbage", "truncated", "unknown-op", "unsupported-opset", "custom-op"],
)
def test_bad_model_bytes(data: bytes, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        build(data)


def test_unsupported_ir_version() -> None:
    model = onnx.load_from_string(add_model())
    model.ir_version = 99
    with pytest.raises(ModelLoadError, match="Unsupported model IR version: 99"):
        build(model.SerializeToString())


@pytest.mark.parametrize("model", [42, None, ["a.onnx"]])
def test_model_of_the_wrong_type(model: Any) -> None:
    with pytest.raises(ModelLoadError, match=r"expected a path .* or bytes"):
        build_session(model, parse_session_options(None, {}))


def test_errors_print_nothing(capfd: pytest.CaptureFixture[str], tmp_path: pathlib.Path) -> None:
    with pytest.raises(ModelLoadError):
        build(b"\x00\xffgarbage")
    with pytest.raises(ModelLoadError):
        build(unary_model("Relu", TensorProto.INT16))
    with pytest.warns(ProviderFallbackWarning):
        build(providers=["coreml", "cpu"])
    with pytest.raises(ProviderError):
        build(providers=["coreml", "cpu"], fallback_to_cpu=False)
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


# --- custom-op libraries -------------------------------------------------------------------------


def _run_inverse(built: BuiltSession) -> None:
    x = np.array([[2.0, 0.0], [0.0, 4.0]], dtype=np.float32)
    (y,) = built.ort.run(["y"], {"x": x}, None)
    np.testing.assert_allclose(y, [[0.5, 0.0], [0.0, 0.25]])


def test_custom_op_model_needs_its_library() -> None:
    with pytest.raises(ModelLoadError, match="Inverse"):
        build(inverse_model())


def test_custom_op_library_by_path() -> None:
    _run_inverse(build(inverse_model(), custom_op_libraries=EXTENSIONS))


def test_custom_op_library_by_path_like() -> None:
    _run_inverse(build(inverse_model(), custom_op_libraries=[pathlib.Path(EXTENSIONS)]))


def test_custom_op_library_by_handle() -> None:
    handle = load_custom_op_library(EXTENSIONS)
    _run_inverse(build(inverse_model(), custom_op_libraries=handle))


def test_custom_op_libraries_mixed_list() -> None:
    handle = load_custom_op_library(EXTENSIONS)
    options = parse_session_options(None, {"custom_op_libraries": [handle, EXTENSIONS]})
    assert options.custom_op_libraries == (handle.path,)
    _run_inverse(build_session(inverse_model(), options))


def test_custom_op_library_as_extra_library() -> None:
    handle = load_custom_op_library(EXTENSIONS)
    _run_inverse(build_session(inverse_model(), parse_session_options(None, {}), [handle]))


def test_missing_custom_op_library_fails_when_building(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "libnothing.so"
    with pytest.raises(CustomOpLibraryError) as info:
        build(custom_op_libraries=str(path))
    assert str(info.value) == f"custom-op library '{path}': no such file"


def test_shared_library_that_is_not_a_custom_op_library() -> None:
    with pytest.raises(CustomOpLibraryError, match="not an ONNX Runtime custom-op library"):
        build(custom_op_libraries=_libm())


def _libm() -> str:
    name = ctypes.util.find_library("m")
    if name is None:
        pytest.skip("no libm to test with")
    for directory in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib"):
        candidate = os.path.join(directory, name)
        if os.path.exists(candidate):
            return candidate
    pytest.skip("libm not found on disk")


def test_load_custom_op_library_returns_a_handle(monkeypatch: pytest.MonkeyPatch) -> None:
    directory, name = os.path.split(EXTENSIONS)
    monkeypatch.chdir(directory)
    handle = load_custom_op_library(name)
    assert handle.path == EXTENSIONS
    assert os.path.isabs(handle.path)
    assert repr(handle) == f"CustomOpLibrary({EXTENSIONS!r})"
    assert os.fspath(handle) == EXTENSIONS
    assert handle == load_custom_op_library(pathlib.Path(EXTENSIONS))
    assert len({handle, load_custom_op_library(EXTENSIONS)}) == 1
    assert load_custom_op_library(handle) is handle
    with pytest.raises(AttributeError):
        handle.path = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.so", "no such file"),
        (lambda tmp: tmp, "is a directory, not a library"),
        (lambda tmp: _write(tmp / "text.so", b"not an ELF file" * 20),
         "cannot be loaded: invalid ELF header$"),
        (lambda tmp: _write(tmp / "empty.so", b""), "cannot be loaded: file too short$"),
    ],
    ids=["missing", "directory", "not-elf", "empty"],
)
def test_load_custom_op_library_errors_name_the_path(
    tmp_path: pathlib.Path, make: Any, message: str
) -> None:
    path = make(tmp_path)
    pattern = f"custom-op library {re.escape(repr(str(path)))}: {message}"
    with pytest.raises(CustomOpLibraryError, match=pattern):
        load_custom_op_library(path)


@pytest.mark.parametrize("value", [42, None, b"/lib.so", ""])
def test_load_custom_op_library_wrong_argument(value: Any) -> None:
    with pytest.raises(CustomOpLibraryError, match="custom-op library: expected"):
        load_custom_op_library(value)


def _write(path: pathlib.Path, data: bytes) -> pathlib.Path:
    path.write_bytes(data)
    return path
