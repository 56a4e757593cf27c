"""Which ONNX Runtime is installed, and how ortsession copes with it (docs/compatibility.md).

* Without any ``onnxruntime`` module, ``import ortsession`` fails with a hint naming the extras.
* Features an older binding lacks raise a clear ``OrtError`` naming the feature and the version
  that has it, only when used (checked against the real binding in use, whatever its version).
* ORT's C++ log never reaches stderr, on every version: with ``set_default_logger_callback``
  (1.32+) it goes to the ``ortsession.ort`` logger, without it ORT's log is kept silent.
* With ``onnxruntime-gpu`` installed on a machine where CUDA cannot load (no GPU, no CUDA
  libraries), ``providers=["cuda", "cpu"]`` exercises ORT's real CUDA load failure: the session
  falls back to CPU with a ``ProviderFallbackWarning`` and ``fallback_reason``, stderr stays clean.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ortsession as ort
from ortsession import _engine

SRC = Path(__file__).resolve().parents[1] / "src"


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, check=False,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})


def _distributions() -> set[str]:
    return {(d.metadata["Name"] or "").lower() for d in importlib.metadata.distributions()}


@pytest.mark.parametrize("how", ["blocked", "absent"])
def test_without_onnxruntime_the_import_error_names_the_extras(how: str) -> None:
    # "absent": a path where only ortsession's own dependencies are importable
    block = ('sys.modules["onnxruntime"] = None' if how == "blocked" else
             'import importlib.machinery as m\n'
             'class NoOrt(m.PathFinder):\n'
             '    @classmethod\n'
             '    def find_spec(cls, name, path=None, target=None):\n'
             '        return None if name == "onnxruntime" else super().find_spec(name, path, target)\n'
             'sys.meta_path = [f for f in sys.meta_path if f is not m.PathFinder] + [NoOrt]')
    proc = _python("import sys\n" + block + textwrap.dedent("""
        try:
            import ortsession
        except ImportError as exc:
            print(type(exc).__name__, exc)
        else:
            print("imported")
    """))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("ImportError "), out
    assert "ortsession[cpu]" in out and "ortsession[gpu]" in out and "onnxruntime-gpu" in out
    assert "Traceback" not in proc.stderr


def test_an_import_error_inside_onnxruntime_is_not_hidden() -> None:
    # a broken install (onnxruntime present, one of its own imports failing) keeps ORT's error
    proc = _python("""
        import sys
        sys.modules["onnxruntime.capi._pybind_state"] = None
        try:
            import ortsession
        except ImportError as exc:
            print("ImportError", exc)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ImportError"), proc.stdout
    assert "_pybind_state" in proc.stdout and "ortsession[cpu]" not in proc.stdout


@pytest.mark.parametrize(("feature", "use"), [
    ("set_ep_dynamic_options", lambda s: s.set_ep_dynamic_options({"a": "b"})),
])
def test_a_missing_binding_feature_is_named_when_used(feature: str, use: object) -> None:
    from ortsession import models

    with ort.session(models.path("demo/model.onnx")) as session:
        present, since = _engine._FEATURES[feature]
        if present:
            refusal = ""
            try:
                use(session)  # type: ignore[operator]
            except ort.OrtError as exc:  # an ORT refusal of the option, not a missing feature
                refusal = str(exc)
            assert "is not available with onnxruntime" not in refusal
            return
        with pytest.raises(ort.OrtError, match=rf"not available with onnxruntime "
                                               rf"{_engine.ort_version()}.*{feature}.*{since}"):
            use(session)  # type: ignore[operator]


@pytest.mark.parametrize("arena", [True, False])
def test_memory_info_on_cpu_with_any_binding(arena: bool) -> None:
    # onnxruntime < 1.23 has no input_meminfos: on the CPU provider alone the answer is known
    from ortsession import models

    with ort.session(models.path("demo/model.onnx"), {"enable_cpu_mem_arena": arena}) as s:
        for infos, names in ((s.memory_info_for_inputs(), ["x", "bias"]),
                             (s.memory_info_for_outputs(), ["y"])):
            assert list(infos.keys()) == names
            for info in infos.values():
                assert (info.name, info.id, info.mem_type, info.device_type,
                        info.device_mem_type, info.vendor_id) == ("Cpu", 0, "default", "cpu",
                                                                   "default", 0)
                assert info.allocator_type == ("arena" if arena else "device")


def test_global_thread_pools_need_a_binding_that_has_them() -> None:
    present, since = _engine._FEATURES["set_global_thread_pool_sizes"]
    proc = _python("""
        import ortsession as ort
        try:
            ort.configure(use_global_thread_pools=True, global_intra_op_num_threads=1)
        except ort.OptionError as exc:
            print("refused:", exc)
        else:
            print("accepted")
    """)
    assert proc.returncode == 0, proc.stderr
    if present:
        assert proc.stdout.strip() == "accepted"
    else:
        assert proc.stdout.startswith("refused:") and since in proc.stdout


def test_tensor_size_is_right_with_or_without_the_binding_helper() -> None:
    ov = _engine.C.OrtValue.ortvalue_from_shape_and_onnx_type([3, 5], 22, _engine.CPU_DEVICE)
    assert _engine.tensor_size_in_bytes(ov, 4) == 8  # 15 int4 values, two per byte
    if _engine._FEATURES["tensor_size_in_bytes"][0]:
        assert int(ov.tensor_size_in_bytes()) == 8


_NOISY_MODEL = """
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])
unused = helper.make_tensor("unused", TensorProto.FLOAT, [1], [1.0])
graph = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"])], "g", [
    x, helper.make_tensor_value_info("s", TensorProto.INT64, [1])], [y], [unused])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)],
                          ir_version=10).SerializeToString()
"""


def test_plain_onnxruntime_prints_its_log_on_stderr() -> None:
    # the control of the next test: the same model and runs, through plain onnxruntime
    proc = _python(_NOISY_MODEL + textwrap.dedent("""
        import numpy as np
        import onnxruntime
        s = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
        try:
            s.run(None, {"x": np.ones(4, np.float32), "s": np.array([3], np.int64)})
        except Exception:
            print("refused")
    """))
    assert proc.returncode == 0, proc.stderr
    assert "refused" in proc.stdout
    assert "[E:onnxruntime:" in proc.stderr and "[W:onnxruntime:" in proc.stderr


def test_no_cpp_log_reaches_stderr_on_any_version() -> None:
    # Failures ORT logs at error level (a failing run) and warnings (an unused initializer
    # removed at load), at the most verbose settings a user can ask for.
    proc = _python(_NOISY_MODEL + textwrap.dedent("""
        import logging, warnings
        import numpy as np
        import ortsession as ort

        records = []
        class Keep(logging.Handler):
            def emit(self, record):
                records.append(record.getMessage())
        logging.getLogger("ortsession.ort").addHandler(Keep())
        logging.getLogger("ortsession.ort").setLevel(logging.DEBUG)
        # (configure(log_severity_level=0) is left out: ORT 1.32 prints one verbose line of its
        # thread pool, "pthread_setaffinity_np succeed", past the callback; see compatibility.md)
        ort.configure(log_severity_level=1)
        with ort.session_from_bytes(model, {"session_log_severity_level": 0}) as s:
            s.run({"x": np.ones(4, np.float32), "s": np.array([4], np.int64)})
            for level in (-1, 0):
                try:
                    s.run({"x": np.ones(4, np.float32), "s": np.array([3], np.int64)},
                          run_options=ort.run_options(log_severity_level=level))
                except ort.RunError as exc:
                    print("refused")
        print("forwarded", len(records))
    """))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("refused") == 2
    assert proc.stderr == ""
    forwarded = int(proc.stdout.split("forwarded")[1])
    assert (forwarded > 0) == _engine.LOG_FORWARDING


def _gpu_engine() -> bool:
    return "onnxruntime-gpu" in _distributions()


@pytest.mark.skipif(not _gpu_engine(), reason="needs onnxruntime-gpu as the installed engine "
                                              "(make matrix runs it)")
def test_gpu_wheel_cuda_fallback_is_reported_and_quiet() -> None:
    """On a machine without CUDA, the CUDA provider of onnxruntime-gpu fails to load (a real
    dlopen failure inside ORT); the session must fall back to CPU, say why, and print nothing."""
    assert "cuda" in ort.providers()
    proc = _python("""
        import warnings
        import ortsession as ort
        from ortsession import models

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with ort.session(models.path("demo/model.onnx"), {"providers": ["cuda", "cpu"]}) as s:
                x = ort.tensor("float32", [1, 2], [1.0, 2.0])
                b = ort.tensor("float32", [1, 2], [0.5, -0.5])
                y = s.run({"x": x, "bias": b})["y"].to_table()[0]
                print("providers", s.providers())
                print("reason", s.fallback_reason)
                print("result", y)
        for w in caught:
            print("warning", w.category.__name__, str(w.message).splitlines()[0])
    """, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    out = proc.stdout
    assert "result 1.5" in out
    if "providers ['cuda'" in out:  # a machine where CUDA works: no fallback
        assert "reason None" in out and "ProviderFallbackWarning" not in out
        return
    assert "providers ['cpu']" in out
    assert "reason None" not in out and "cuda" in out.split("reason", 1)[1].lower()
    assert "warning ProviderFallbackWarning" in out


# --- checks ortsession makes itself because ONNX Runtime before 1.24 / 1.31 does not -------------

def _model_with_initializer(raw: bytes, dims: list[int], elem_type: int = 1) -> bytes:
    from onnx import helper

    init = helper.make_tensor("w", elem_type, [0], b"", raw=True)
    del init.dims[:]
    init.dims.extend(dims)
    init.raw_data = raw  # as a hostile or broken writer would leave it
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", elem_type, None)], [init])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)],
                             ir_version=10).SerializeToString()


@pytest.mark.parametrize(("raw", "dims", "elem_type", "ok"), [
    (bytes(16), [2, 2], 1, True), (bytes(15), [2, 2], 1, False), (bytes(17), [2, 2], 1, False),
    (b"", [0, 3], 1, True), (bytes(4), [], 1, True), (bytes(3), [], 1, False),
    (bytes(2), [3], 22, True), (bytes(1), [3], 22, False),  # int4: two per byte
    (bytes(1), [3], 26, True), (bytes(2), [5], 26, True), (bytes(1), [5], 26, False),  # int2
    (bytes(16), [2], 11, True), (bytes(8), [2], 11, False),
], ids=lambda v: str(len(v)) if isinstance(v, bytes) else str(v))
def test_initializer_raw_data_must_match_its_dims(raw: bytes, dims: list[int], elem_type: int,
                                                   ok: bool) -> None:
    # ONNX Runtime before 1.31 reads past a short raw_data (SIGSEGV): refused before it loads
    from ortsession._prechecks import check_model_bytes

    model = _model_with_initializer(raw, dims, elem_type)
    if ok:
        check_model_bytes(model, "<bytes>")
        return
    with pytest.raises(ort.ModelLoadError, match=r"raw_data holds \d+ bytes, but dims"):
        check_model_bytes(model, "<bytes>")
    with pytest.raises(ort.ModelLoadError, match="raw_data holds"):
        ort.session_from_bytes(model)


@pytest.mark.parametrize(("location", "ok"), [
    ("weights.bin", True), ("sub/weights.bin", True), ("../outside.bin", False),
    ("/abs/outside.bin", False), ("sub/../../outside.bin", False),
])
def test_external_data_must_stay_in_the_model_folder(tmp_path: Path, location: str,
                                                     ok: bool) -> None:
    from onnx import TensorProto, helper

    from ortsession._prechecks import check_external_data

    init = helper.make_tensor("w", TensorProto.FLOAT, [2], [0.0, 0.0])
    init.ClearField("float_data")
    init.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "8")):
        entry = init.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])], [init])
    path = tmp_path / "model.onnx"
    path.write_bytes(helper.make_model(graph, ir_version=10, opset_imports=[
        helper.make_opsetid("", 21)]).SerializeToString())
    if ok:
        check_external_data(str(path), repr(str(path)))
        return
    with pytest.raises(ort.ModelLoadError, match="outside the model's folder"):
        check_external_data(str(path), repr(str(path)))
