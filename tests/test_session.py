"""Session inspection and lifecycle through the public API (SPEC §2, §4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import models
import ortsession as ort


def test_names_and_counts(demo: ort.Session) -> None:
    assert demo.input_names() == ["x", "bias"]
    assert demo.output_names() == ["y"]
    assert demo.input_count() == 2
    assert demo.output_count() == 1
    assert demo.overridable_initializer_names() == []
    assert demo.overridable_initializer_count() == 0


def test_session_accepts_pathlike_and_bytes_like(tmp_path: Path) -> None:
    data = models.add()
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    assert ort.session(path).input_names() == ["x", "bias"]
    for blob in (data, bytearray(data), memoryview(data)):
        assert ort.session_from_bytes(blob).output_names() == ["y"]


def test_input_info_by_name_and_index(demo: ort.Session) -> None:
    info = demo.input_info(0)
    assert info == demo.input_info("x")
    assert info.name == "x"
    assert info.onnx_type == "tensor"
    assert info.type == "tensor(float)"
    assert info.data_type == "float32"
    assert info.is_sparse is False
    assert info.has_shape is True
    assert info.shape == (1, 2)
    assert info.symbolic_shape == ("", "")
    assert info.element is None and info.key_type is None and info.value is None
    assert info.to_dict() == {"name": "x", "onnx_type": "tensor", "type": "tensor(float)",
                              "is_sparse": False, "data_type": "float32", "has_shape": True,
                              "shape": [1, 2], "symbolic_shape": ["", ""]}
    assert demo.output_info("y").shape == (1, 2)


@pytest.mark.parametrize("key", [2, -1, "nope", 1.0, None, True])
def test_bad_info_key_is_a_clear_error(demo: ort.Session, key: object) -> None:
    with pytest.raises(ort.NotFoundError) as info:
        demo.input_info(key)  # type: ignore[arg-type]
    assert "input" in str(info.value)


def test_symbolic_dims() -> None:
    s = ort.session_from_bytes(models.symbolic("batch"))
    info = s.input_info("x")
    assert info.shape == (-1, 3)
    assert info.symbolic_shape == ("batch", "")


def test_free_dimension_override_fixes_the_shape() -> None:
    s = ort.session_from_bytes(models.symbolic("N"), free_dimension_overrides=[
        {"by": "name", "key": "N", "value": 4}])
    assert s.input_info("x").shape == (4, 3)
    d = ort.session_from_bytes(models.symbolic("N"), free_dimension_overrides=[
        {"by": "denotation", "key": "DATA_BATCH", "value": 2}])
    assert d.input_info("x").shape == (2, 3)


def test_sequence_map_and_optional_type_info() -> None:
    seq = ort.session_from_bytes(models.sequence_model())
    info = seq.input_info("seq")
    assert info.onnx_type == "sequence"
    assert info.element is not None and info.element.data_type == "float32"
    assert info.data_type is None and info.shape is None

    clf = ort.session_from_bytes(models.sklearn_classifier())
    probs = clf.output_info("output_probability")
    assert probs.onnx_type == "sequence"
    assert probs.element is not None and probs.element.onnx_type == "map"
    assert probs.element.key_type == "int64"
    assert probs.element.value is not None and probs.element.value.data_type == "float32"
    assert probs.to_dict()["element"]["value"]["type"] == "tensor(float)"

    opt = ort.session_from_bytes(models.optional_model())
    oi = opt.input_info("opt")
    assert oi.onnx_type == "optional"
    assert oi.element is not None and oi.element.onnx_type == "tensor"

    mp = ort.session_from_bytes(models.map_model("int64"))
    mi = mp.input_info(0)
    assert mi.onnx_type == "map" and mi.key_type == "int64"


def test_overridable_initializers() -> None:
    s = ort.session_from_bytes(models.with_overridable_initializer())
    assert s.overridable_initializer_names() == ["bias"]
    assert s.overridable_initializer_count() == 1
    assert s.overridable_initializer_info(0).shape == (1, 2)
    assert s.overridable_initializer_info("bias").data_type == "float32"
    with pytest.raises(ort.NotFoundError):
        s.overridable_initializer_info(1)


def test_sparse_initializer_model_loads() -> None:
    s = ort.session_from_bytes(models.sparse_initializer_model())
    assert s.input_info(0).is_sparse is False


def test_memory_info_by_position_and_name(demo: ort.Session) -> None:
    infos = demo.memory_info_for_inputs()
    assert len(infos) == 2
    assert infos[0] == infos["x"]
    entry = infos["bias"]
    assert entry.name == "Cpu"
    assert entry.device_type == "cpu"
    assert entry.id == 0 and entry.vendor_id == 0
    assert entry.mem_type == "default"
    assert entry.allocator_type in ("arena", "device")
    assert entry.device_mem_type == "default"
    outs = demo.memory_info_for_outputs()
    assert outs.names() == ["y"] and outs["y"].device_type == "cpu"


def test_metadata() -> None:
    s = ort.session(ort.models.path("demo/model.onnx"))
    meta = s.metadata()
    assert meta.producer_name == "ortsession"
    assert meta.graph_name
    assert isinstance(meta.custom_metadata, dict) and meta.custom_metadata
    assert meta.to_dict()["producer_name"] == "ortsession"


def test_providers_in_effect(demo: ort.Session) -> None:
    assert demo.providers() == ["cpu"]
    assert demo.fallback_reason is None


def test_coreml_on_linux_falls_back_with_a_warning() -> None:
    with pytest.warns(ort.ProviderFallbackWarning, match="coreml"):
        s = ort.session(ort.models.path("demo/model.onnx"), providers=["coreml", "cpu"],
                        coreml_compute_units="all")
    assert s.providers() == ["cpu"]
    assert s.fallback_reason is not None and "coreml" in s.fallback_reason
    out = s.run({"x": [[1.0, 2.0]], "bias": [[0.5, -0.5]]})
    assert out["y"].to_table()[0] == 1.5


def test_coreml_without_fallback_is_a_provider_error() -> None:
    with pytest.raises(ort.ProviderError, match="coreml"):
        ort.session(ort.models.path("demo/model.onnx"), providers=["coreml"],
                    fallback_to_cpu=False)


def test_close_is_idempotent_and_later_use_is_a_state_error(demo: ort.Session) -> None:
    with demo as s:
        assert not s.closed
    assert demo.closed
    demo.close()
    for call in (demo.input_names, demo.output_names, demo.metadata, demo.providers,
                 demo.memory_info_for_inputs, demo.create_io_binding,
                 lambda: demo.input_info(0),
                 lambda: demo.run({"x": [[1.0, 2.0]], "bias": [[0.0, 0.0]]})):
        with pytest.raises(ort.StateError, match="closed"):
            call()


def test_profiling(tmp_path: Path) -> None:
    prefix = str(tmp_path / "trace")
    s = ort.session(ort.models.path("demo/model.onnx"), profile_file_prefix=prefix)
    assert s.profiling_start_time_ns() > 0
    s.run({"x": [[1.0, 2.0]], "bias": [[0.5, -0.5]]})
    path = s.end_profiling()
    assert path is not None and os.path.exists(path)
    assert path.startswith(prefix)
    events = json.loads(Path(path).read_text())
    assert any(e.get("cat") == "Session" for e in events)


def test_end_profiling_without_profiling_returns_none(demo: ort.Session) -> None:
    assert demo.end_profiling() is None


def test_set_ep_dynamic_options_stringifies(demo: ort.Session) -> None:
    # ORT's CPU provider accepts (and ignores) any key; non-string keys and values reach it
    # stringified, bools as "1"/"0" like every other provider option.
    demo.set_ep_dynamic_options({"ep.dynamic.workload_type": "Efficient", 2: True, "n": 1.5})
    with pytest.raises(ort.OptionError, match="dict"):
        demo.set_ep_dynamic_options(["a"])  # type: ignore[arg-type]
    with pytest.raises(ort.OptionError, match="set_ep_dynamic_options"):
        demo.set_ep_dynamic_options({"k": object()})
    demo.close()
    with pytest.raises(ort.StateError):
        demo.set_ep_dynamic_options({"a": "b"})


def test_register_custom_op_library_rebuilds_in_place() -> None:
    data = models.custom_op_model()
    with pytest.raises(ort.ModelLoadError):
        ort.session_from_bytes(data)
    # a model that loads without the library, then gains it: the same object keeps working
    s = ort.session(ort.models.path("demo/model.onnx"))
    generation = s.generation
    binding = s.create_io_binding()
    s.register_custom_op_library(models.custom_op_library_path())
    assert s.generation == generation + 1
    assert s.run({"x": [[1.0, 2.0]], "bias": [[0.5, -0.5]]})["y"].to_table() == [1.5, 1.5]
    with pytest.raises(ort.StateError, match="rebuilt"):
        binding.bind_input("x", np.zeros((1, 2), np.float32))
    # registering it again (as a path or a handle) is a no-op, not an ORT conflict
    s.register_custom_op_library(models.custom_op_library_path())
    s.register_custom_op_library(ort.load_custom_op_library(models.custom_op_library_path()))
    assert s.generation == generation + 1
    lib_session = ort.session_from_bytes(models.custom_op_model(),
                                         custom_op_libraries=models.custom_op_library_path())
    lib_session.register_custom_op_library(models.custom_op_library_path())
    assert lib_session.run([np.array(["a"], dtype=object)])[0].to_table() == ["A"]


def test_custom_ops_via_options_path_handle_and_mixed_list() -> None:
    data = models.custom_op_model()
    path = models.custom_op_library_path()
    handle = ort.load_custom_op_library(path)
    assert handle.path == os.path.abspath(path)
    for libs in (path, handle, [handle], [path, handle]):
        s = ort.session_from_bytes(data, custom_op_libraries=libs)
        out = s.run([np.array(["abc", "Hi"], dtype=object)])
        assert out[0].to_table() == ["ABC", "HI"]


def test_model_load_errors_name_the_source(tmp_path: Path) -> None:
    missing = tmp_path / "missing.onnx"
    with pytest.raises(ort.ModelLoadError, match=r"missing\.onnx"):
        ort.session(missing)
    with pytest.raises(ort.ModelLoadError):
        ort.session(tmp_path)
    for name, blob in models.bad_models().items():
        with pytest.raises(ort.ModelLoadError) as info:
            ort.session_from_bytes(blob)
        message = str(info.value)
        assert ".cc:" not in message and "onnxruntime::" not in message, (name, message)
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(blob)
        with pytest.raises(ort.ModelLoadError, match=name):
            ort.session(path)
    with pytest.raises(ort.ModelLoadError, match="bytes"):
        ort.session_from_bytes("not bytes")  # type: ignore[arg-type]
    with pytest.raises(ort.ModelLoadError, match=r"str or os\.PathLike"):
        ort.session(42)  # type: ignore[arg-type]


def test_options_as_dict_or_keywords_but_not_both() -> None:
    path = ort.models.path("demo/model.onnx")
    assert ort.session(path, {"intra_op_num_threads": 1}).options.intra_op_num_threads == 1
    assert ort.session(path, intra_op_num_threads=1).options.intra_op_num_threads == 1
    with pytest.raises(ort.OptionError, match="intra_op_num_threads"):
        ort.session(path, {"intra_op_num_threads": 1}, intra_op_num_threads=2)
    with pytest.raises(ort.OptionError, match="did you mean 'intra_op_num_threads'"):
        ort.session(path, intra_op_num_thread=1)


def test_repr(demo: ort.Session) -> None:
    assert "cpu" in repr(demo)
    demo.close()
    assert "closed" in repr(demo)
